/**
 * Getting an exported history into the page: the file picker and dropping a file anywhere
 * on the window. Reads the text and hands it on; decoding is the caller's.
 */

/**
 * Wires `input` (a file picker) and drops on `window` to `onFile`; `zone` gets the
 * `dragging` class while a file is held over the window.
 */
export const acceptHistoryFiles = (
  input: HTMLInputElement,
  zone: HTMLElement,
  onFile: (file: File) => void
) => {
  input.addEventListener("change", () => {
    const file = input.files?.[0]
    if (file) onFile(file)
    input.value = ""
  })
  let depth = 0
  const hasFiles = (e: DragEvent) => [...(e.dataTransfer?.types ?? [])].includes("Files")
  window.addEventListener("dragenter", (e) => {
    if (!hasFiles(e)) return
    depth++
    zone.classList.add("dragging")
  })
  window.addEventListener("dragleave", () => {
    depth = Math.max(0, depth - 1)
    if (depth === 0) zone.classList.remove("dragging")
  })
  window.addEventListener("dragover", (e) => {
    if (hasFiles(e)) e.preventDefault()
  })
  window.addEventListener("drop", (e) => {
    const file = e.dataTransfer?.files[0]
    depth = 0
    zone.classList.remove("dragging")
    if (!file) return
    e.preventDefault()
    onFile(file)
  })
}
