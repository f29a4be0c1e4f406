/**
 * Source Map v3 decoding (our own, no dependency): maps a position in generated code (the
 * bundled chunk the browser runs) back to the original source, and parses stack frames.
 *
 * Lines and columns are 1-based at this module's surface (as stack traces print them);
 * the map's segments are 0-based inside.
 */

/**
 * The global that a bundle's `<bundle>.js.map.js` script (written by the build beside the
 * `.map`) fills with the map, keyed by the bundle's file name: how a page opened from file://,
 * which cannot fetch, reads its maps.
 */
export const SOURCE_MAPS_GLOBAL = "__temporalLiteSourceMaps"

export interface RawSourceMap {
  readonly version: number
  readonly sources: ReadonlyArray<string | null>
  readonly sourcesContent?: ReadonlyArray<string | null>
  readonly names?: ReadonlyArray<string>
  readonly mappings: string
  readonly sourceRoot?: string
}

export interface OriginalPosition {
  /** The source as the map names it, resolved against the map's URL when one is given. */
  readonly source: string
  readonly line: number
  readonly column: number
}

/** One mapping segment: generated column, then source index, original line and column (0-based). */
type Segment = readonly [number, number, number, number]

const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
const DIGIT = new Int8Array(128).fill(-1)
for (let i = 0; i < BASE64.length; i++) DIGIT[BASE64.charCodeAt(i)] = i

/**
 * Decodes the `mappings` string into segments per generated line. Segments without a source
 * (length 1) are dropped; a malformed string throws an Error naming the offset.
 */
export const decodeMappings = (mappings: string): Array<Array<Segment>> => {
  const lines: Array<Array<Segment>> = [[]]
  let source = 0
  let origLine = 0
  let origColumn = 0
  let genColumn = 0
  let fields: Array<number> = []
  let value = 0
  let shift = 0
  const endSegment = () => {
    if (fields.length === 0) return
    genColumn += fields[0]!
    if (fields.length >= 4) {
      source += fields[1]!
      origLine += fields[2]!
      origColumn += fields[3]!
      lines[lines.length - 1]!.push([genColumn, source, origLine, origColumn])
    }
    fields = []
  }
  for (let i = 0; i < mappings.length; i++) {
    const c = mappings.charCodeAt(i)
    if (c === 44 /* , */ || c === 59 /* ; */) {
      if (shift !== 0) throw new Error(`bad source map: truncated VLQ value at offset ${i}`)
      endSegment()
      if (c === 59) {
        lines.push([])
        genColumn = 0
      }
      continue
    }
    const digit = c < 128 ? DIGIT[c]! : -1
    if (digit < 0)
      throw new Error(`bad source map: unexpected character ${JSON.stringify(mappings[i])} at offset ${i}`)
    value += (digit & 31) * 2 ** shift
    if (digit & 32) {
      shift += 5
      continue
    }
    fields.push(value & 1 ? -Math.floor(value / 2) : Math.floor(value / 2))
    value = 0
    shift = 0
  }
  endSegment()
  for (const line of lines) line.sort((a, b) => a[0] - b[0])
  return lines
}

export interface SourceMap {
  /** The original position of generated `line`:`column` (1-based), or undefined when unmapped. */
  originalPositionFor(line: number, column: number): OriginalPosition | undefined
  /** The original text of `source` when the map embeds it. */
  sourceContent(source: string): string | undefined
  readonly sources: ReadonlyArray<string>
}

/** Reads a parsed map; `mapUrl` (the map's own URL) resolves relative source paths. */
export const parseSourceMap = (raw: RawSourceMap, mapUrl?: string): SourceMap => {
  if (raw.version !== 3 || typeof raw.mappings !== "string" || !Array.isArray(raw.sources)) {
    throw new Error("bad source map: expected version 3 with sources and mappings")
  }
  const root = raw.sourceRoot ? raw.sourceRoot.replace(/\/?$/, "/") : ""
  const sources = raw.sources.map((s) => resolveUrl(`${root}${s ?? ""}`, mapUrl))
  const lines = decodeMappings(raw.mappings)
  return {
    sources,
    originalPositionFor(line, column) {
      const segments = lines[line - 1]
      if (!segments || segments.length === 0) return undefined
      // the last segment starting at or before the column (binary search)
      let lo = 0
      let hi = segments.length - 1
      let found = -1
      while (lo <= hi) {
        const mid = (lo + hi) >> 1
        if (segments[mid]![0] <= column - 1) {
          found = mid
          lo = mid + 1
        } else hi = mid - 1
      }
      const segment = segments[found === -1 ? 0 : found]!
      const source = sources[segment[1]]
      if (source === undefined) return undefined
      return { source, line: segment[2] + 1, column: segment[3] + 1 }
    },
    sourceContent(source) {
      const index = sources.indexOf(source)
      return index === -1 ? undefined : (raw.sourcesContent?.[index] ?? undefined)
    }
  }
}

const resolveUrl = (path: string, base: string | undefined): string => {
  if (!base) return path
  try {
    return new URL(path, base).href
  } catch {
    return path
  }
}

export interface StackFrame {
  readonly functionName: string | undefined
  readonly file: string
  readonly line: number
  readonly column: number
  /** The frame's text as the stack printed it. */
  readonly text: string
}

const V8_FRAME = /^\s*at (?:(.*?) \()?(?:async )?(.+?):(\d+):(\d+)\)?\s*$/
const GECKO_FRAME = /^\s*(.*?)@(.+?):(\d+):(\d+)\s*$/

/** The frames of a V8 (Node, Chromium) or Gecko/WebKit stack; lines that are not frames are skipped. */
export const parseStack = (stack: string): Array<StackFrame> => {
  const frames: Array<StackFrame> = []
  for (const text of stack.split("\n")) {
    const match = V8_FRAME.exec(text) ?? GECKO_FRAME.exec(text)
    if (!match) continue
    const [, fn, file, line, column] = match
    frames.push({
      functionName: fn || undefined,
      file: file!,
      line: Number(line),
      column: Number(column),
      text: text.trim()
    })
  }
  return frames
}

/** Splits `file:line:column` (the form divergence sides carry) into its parts. */
export const parseLocationString = (
  s: string
): { file: string; line: number; column: number } | undefined => {
  const match = /^(.*?):(\d+):(\d+)$/.exec(s.trim())
  return match ? { file: match[1]!, line: Number(match[2]), column: Number(match[3]) } : undefined
}
