/**
 * The last resort for "which line yields this?": when the server reports a divergence
 * without a source location (its replay did not record one) and the page cannot replay the
 * server's code itself, the line is looked up by name in the server's source file. The page
 * says so when it shows a line found this way.
 *
 * Only `yield*` lines outside comments count; the first one that matches wins.
 */

export interface YieldSide {
  readonly kind: string
  readonly name?: string
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
const isIdentifier = (s: string) => /^[A-Za-z_$][\w$]*$/.test(s)

/** The names `text` binds to `factory("name"` (e.g. `const review = activity("llm.review"`). */
const boundTo = (text: string, factory: string, name: string): Array<string> => {
  const pattern = new RegExp(
    `(?:const|let|var)\\s+([A-Za-z_$][\\w$]*)\\s*=\\s*${factory}\\s*(?:<[^>]*>)?\\(\\s*["'\`]${escape(name)}["'\`]`,
    "g"
  )
  return [...text.matchAll(pattern)].map((m) => m[1]!)
}

/** Patterns of a call that yields `side`, most specific first. */
const callsFor = (text: string, side: YieldSide): Array<RegExp> => {
  const name = side.name ?? ""
  const call = (callee: string) => new RegExp(`yield\\*\\s*${escape(callee)}\\s*\\(`)
  switch (side.kind) {
    case "Activity": {
      const vars = boundTo(text, "activity", name)
      return [...vars, ...(isIdentifier(name) ? [name] : [])].map(call)
    }
    case "WaitForSignal": {
      const vars = boundTo(text, "defineSignal", name)
      return [
        ...vars.map((v) => new RegExp(`yield\\*\\s*waitForSignal\\s*\\(\\s*${escape(v)}\\b`)),
        call("waitForSignal")
      ]
    }
    case "OnQuery": {
      const vars = boundTo(text, "defineQuery", name)
      return [
        ...vars.map((v) => new RegExp(`yield\\*\\s*onQuery\\s*\\(\\s*${escape(v)}\\b`)),
        call("onQuery")
      ]
    }
    case "Sleep":
      return [call("sleep")]
    case "SideEffect":
      return name ? [call(name)] : []
    case "Patched":
      return [new RegExp(`yield\\*\\s*patched\\s*\\(\\s*["'\`]${escape(name)}["'\`]`)]
    case "ContinueAsNew":
      return [call("continueAsNew")]
    case "Info":
      return [call("workflowInfo")]
    default:
      return []
  }
}

/** The 1-based line (and column of `yield*`) in `text` that yields `side`, if one is found by name. */
export const findYieldByName = (
  text: string,
  side: YieldSide
): { readonly line: number; readonly column: number } | undefined => {
  const lines = text.split("\n")
  for (const pattern of callsFor(text, side)) {
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!
      const trimmed = line.trimStart()
      if (trimmed.startsWith("//") || trimmed.startsWith("*") || trimmed.startsWith("/*")) continue
      const match = pattern.exec(line)
      if (match) return { line: i + 1, column: match.index + 1 }
    }
  }
  return undefined
}

/**
 * The `return` a body left by after its last yield: the first line at or after `line`
 * (1-based) whose code (not a comment) has a `return`, if there is one. A guess from the text,
 * like `findYieldByName`: a body that falls off its end has no `return` of its own.
 */
export const findReturnFrom = (
  text: string,
  line: number
): { readonly line: number; readonly column: number } | undefined => {
  const lines = text.split("\n")
  for (let i = Math.max(0, line - 1); i < lines.length; i++) {
    const code = lines[i]!.replace(/\/\/.*$/, "")
    if (/^\s*(\*|\/\*)/.test(code)) continue
    const match = /\breturn\b/.exec(code)
    if (match) return { line: i + 1, column: match.index + 1 }
  }
  return undefined
}
