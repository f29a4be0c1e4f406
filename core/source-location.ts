/**
 * Source locations of yields, read from a V8 stack captured inside the descriptor's
 * iterator: the frame right below it is the generator that executed `yield*`.
 */

export interface SourceLocation {
  /** The module as the JS engine names it: a file:// URL in Node, the chunk URL in a browser. */
  readonly file: string
  readonly line: number
  readonly column: number
  readonly functionName?: string
}

const FRAME = /^\s*at (?:(.*?) \()?(.+?):(\d+):(\d+)\)?\s*$/

/** The location of the frame that called the descriptor's iterator, if the stack names one. */
export const parseLocation = (stack: string): SourceLocation | undefined => {
  const frames = stack.split("\n").filter((line) => line.trimStart().startsWith("at "))
  const frame = frames[1]
  if (frame === undefined) return undefined
  const match = FRAME.exec(frame)
  if (!match) return undefined
  const [, fn, file, line, column] = match
  return {
    file: file!,
    line: Number(line),
    column: Number(column),
    ...(fn && fn !== "Generator.next" ? { functionName: fn } : {})
  }
}
