/** A small DOM builder and the formatting the panels share. */

type Child = Node | string | number | false | null | undefined | ReadonlyArray<Child>
type Attrs = Record<string, string | number | boolean | undefined | ((event: any) => void)>

/** `h("div", { class: "x", onclick: f }, "text", child)`: attributes, `on*` listeners, children. */
export const h = <K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Array<Child>
) => {
  const el = document.createElement(tag)
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue
    if (typeof value === "function") el.addEventListener(key.slice(2), value)
    else if (key === "value" && "value" in el) (el as HTMLInputElement).value = String(value)
    else el.setAttribute(key, value === true ? "" : String(value))
  }
  append(el, children)
  return el
}

const append = (el: Node, children: ReadonlyArray<Child>) => {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue
    if (Array.isArray(child)) append(el, child)
    else el.appendChild(typeof child === "object" ? (child as Node) : document.createTextNode(String(child)))
  }
}

/** Replaces an element's children. */
export const render = (el: Element, ...children: Array<Child>) => {
  el.replaceChildren()
  append(el, children)
}

/** JSON for display: indented, `undefined` shown as such, never throws. */
export const json = (value: unknown): string => {
  if (value === undefined) return "undefined"
  try {
    return JSON.stringify(value, null, 2) ?? String(value)
  } catch {
    return String(value)
  }
}

/** A time relative to the start of the history: `+0.000s`, `+2m 03.120s`, `+3d 4h`. */
export const relativeTime = (ms: number): string => {
  if (ms < 0) return `-${relativeTime(-ms)}`
  const s = ms / 1000
  if (s < 60) return `+${s.toFixed(3)}s`
  const m = Math.floor(s / 60)
  if (m < 60) return `+${m}m ${(s - m * 60).toFixed(3).padStart(6, "0")}s`
  const hrs = Math.floor(m / 60)
  if (hrs < 48) return `+${hrs}h ${m % 60}m`
  return `+${Math.floor(hrs / 24)}d ${hrs % 24}h`
}

export const dateTime = (ms: number | undefined): string =>
  ms === undefined ? "" : new Date(ms).toLocaleString()

/** The colour family of an event type, used as a CSS class. */
export const eventCategory = (type: string): string => {
  if (/Failed$|AttemptFailed/.test(type)) return "ev-failure"
  if (type.startsWith("Workflow")) return "ev-workflow"
  if (type.startsWith("Activity")) return "ev-activity"
  if (type.startsWith("Timer")) return "ev-timer"
  if (type.startsWith("Signal")) return "ev-signal"
  if (type.startsWith("ChildWorkflow")) return "ev-child"
  if (type.startsWith("Cancel")) return "ev-cancel"
  return "ev-marker"
}
