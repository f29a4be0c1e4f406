/**
 * What the debugger knows about workflow code without a server: the example workflow
 * definitions (bundled, so the interpreter can replay them in the page) and the text of
 * their source files (bundled with Vite's `?raw`, so offline files open with source).
 *
 * Paths are compared by their trailing segments: a map may name a source
 * `http://host/examples/review.ts`, a Node stack `file:///srv/app/examples/review.ts`, the
 * bundle `examples/review.ts`; all three are the same file.
 */
import type { WorkflowDefinition } from "../../core"
import { workflows } from "../../examples/index"

const rawSources = import.meta.glob<string>(["../../examples/**/*.ts", "!../../examples/**/*.test.ts"], {
  query: "?raw",
  import: "default",
  eager: true
})

export interface SourceFile {
  /** Repository-relative when known (`examples/code-review.ts`), otherwise as named. */
  readonly path: string
  readonly text: string
}

/** Normalises a file name to a slash path without scheme, host, query, `.` or `..` segments. */
export const normalisePath = (file: string): string => {
  let path = file.replace(/[?#].*$/, "")
  path = path.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, "")
  const out: Array<string> = []
  for (const segment of path.split("/")) {
    if (segment === "" || segment === ".") continue
    if (segment === "..") out.pop()
    else out.push(segment)
  }
  return out.join("/")
}

/** True when `a` and `b` name the same file: one's path ends with the other's (whole segments). */
export const samePath = (a: string, b: string): boolean => {
  const x = normalisePath(a)
  const y = normalisePath(b)
  if (x === y) return true
  const [short, long] = x.length <= y.length ? [x, y] : [y, x]
  return short.includes("/") && long.endsWith(`/${short}`)
}

const bundled: ReadonlyArray<SourceFile> = Object.entries(rawSources).map(([key, text]) => ({
  path: normalisePath(key),
  text
}))

/** The bundled source file matching `file` (any of the spellings above), if any. */
export const bundledSource = (file: string): SourceFile | undefined =>
  bundled.find((s) => samePath(s.path, file))

export const bundledSources = (): ReadonlyArray<SourceFile> => bundled

/** The workflow definitions bundled with the page, by type name. */
export const bundledWorkflows = (): ReadonlyMap<string, WorkflowDefinition<any, any>> =>
  new Map(workflows.map((definition) => [definition.name, definition]))
