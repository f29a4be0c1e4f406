/**
 * The source pane: a read-only Monaco editor showing the workflow's source, with the line of
 * the current yield highlighted, a gutter mark on every line that yielded in this history,
 * breakpoints toggled by clicking the gutter, and a failure or divergence line marked.
 *
 * Monaco comes from the bundle (editor API + the TypeScript tokenizer); its editor worker is
 * bundled by Vite (`?worker`), nothing loads from a CDN. The current line is also mirrored
 * on the host element (`data-current-line`, `data-source`) so tests and tools can read it.
 */
import * as monaco from "monaco-editor/editor/editor.api"
import "monaco-editor/languages/definitions/typescript/register"
import EditorWorker from "monaco-editor/editor/editor.worker?worker&inline"

declare global {
  interface Window {
    MonacoEnvironment?: monaco.Environment
  }
}

self.MonacoEnvironment = {
  getWorker: () => new EditorWorker()
}

export type LineMark = "current" | "failure" | "divergence"

export interface SourceView {
  /** Shows `text` (or a placeholder when undefined); `path` labels it. */
  setSource(path: string | undefined, text: string | undefined): void
  /** Highlights `line` (1-based) and scrolls to it; undefined clears the highlight. */
  setCurrentLine(line: number | undefined, mark?: LineMark): void
  setYieldLines(lines: ReadonlySet<number>): void
  setBreakpoints(lines: ReadonlySet<number>): void
  /** A second mark that stays while stepping: where the workflow failed or diverged. */
  setProblemLine(line: number | undefined, mark?: Exclude<LineMark, "current">): void
  /** Called with the 1-based line when the user clicks the gutter (glyph margin or line number). */
  onGutterClick(listener: (line: number) => void): void
}

export const createSourceView = (host: HTMLElement): SourceView => {
  const editor = monaco.editor.create(host, {
    value: "",
    language: "typescript",
    readOnly: true,
    domReadOnly: true,
    automaticLayout: true,
    glyphMargin: true,
    minimap: { enabled: false },
    scrollBeyondLastLine: false,
    fontSize: 13,
    lineNumbersMinChars: 3,
    renderLineHighlight: "none",
    theme: "vs",
    contextmenu: false,
    occurrencesHighlight: "off",
    selectionHighlight: false
  })
  let path: string | undefined
  let current: { line: number; mark: LineMark } | undefined
  let problem: { line: number; mark: Exclude<LineMark, "current"> } | undefined
  let yieldLines: ReadonlySet<number> = new Set()
  let breakpoints: ReadonlySet<number> = new Set()
  const decorations = editor.createDecorationsCollection()

  const lineCount = () => editor.getModel()?.getLineCount() ?? 0
  const valid = (line: number) => line >= 1 && line <= lineCount()

  const render = () => {
    const all: monaco.editor.IModelDeltaDecoration[] = []
    const lines = new Set([...yieldLines, ...breakpoints])
    for (const line of lines) {
      if (!valid(line)) continue
      const glyph = breakpoints.has(line) ? "glyph-breakpoint" : "glyph-yield"
      all.push({
        range: new monaco.Range(line, 1, line, 1),
        options: {
          glyphMarginClassName: yieldLines.has(line) ? `${glyph} glyph-yielded` : glyph,
          glyphMarginHoverMessage: {
            value: `${yieldLines.has(line) ? "yields in this history" : "no yield recorded here"}${breakpoints.has(line) ? " · breakpoint" : ""}`
          }
        }
      })
    }
    for (const mark of [problem, current]) {
      if (!mark || !valid(mark.line)) continue
      all.push({
        range: new monaco.Range(mark.line, 1, mark.line, 1),
        options: {
          isWholeLine: true,
          className: `line-${mark.mark}`,
          linesDecorationsClassName: `line-deco-${mark.mark}`
        }
      })
    }
    decorations.set(all)
    host.dataset.currentLine = current ? String(current.line) : ""
    host.dataset.currentMark = current?.mark ?? ""
    host.dataset.problemLine = problem ? String(problem.line) : ""
    host.dataset.breakpoints = [...breakpoints].sort((a, b) => a - b).join(",")
    host.dataset.yieldLines = [...yieldLines].sort((a, b) => a - b).join(",")
  }

  const gutterListeners: Array<(line: number) => void> = []
  editor.onMouseDown((e) => {
    const t = e.target.type
    if (
      (t === monaco.editor.MouseTargetType.GUTTER_GLYPH_MARGIN ||
        t === monaco.editor.MouseTargetType.GUTTER_LINE_NUMBERS) &&
      e.target.position
    ) {
      for (const l of gutterListeners) l(e.target.position.lineNumber)
    }
  })

  return {
    setSource(nextPath, text) {
      if (path === nextPath && editor.getValue() === (text ?? "")) return
      path = nextPath
      host.dataset.source = nextPath ?? ""
      editor.setValue(
        text ?? "// No source for this workflow: it is not bundled and the server did not provide it."
      )
      render()
    },
    setCurrentLine(line, mark = "current") {
      current = line === undefined ? undefined : { line, mark }
      render()
      if (line !== undefined && valid(line)) {
        // measure first: the panels above may have just changed the editor's height
        editor.layout()
        editor.revealLineInCenterIfOutsideViewport(line)
      }
    },
    setProblemLine(line, mark = "failure") {
      problem = line === undefined ? undefined : { line, mark }
      render()
    },
    setYieldLines(lines) {
      yieldLines = lines
      render()
    },
    setBreakpoints(lines) {
      breakpoints = lines
      render()
    },
    onGutterClick(listener) {
      gutterListeners.push(listener)
    }
  }
}
