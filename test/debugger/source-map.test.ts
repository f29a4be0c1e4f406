/**
 * The debugger's own source-map decoder against maps esbuild writes (minified, several
 * files), and the stack and path helpers it relies on.
 */
import { buildSync } from "esbuild"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { createSourceLocator } from "../../debugger/src/source-locator"
import {
  decodeMappings,
  parseLocationString,
  parseSourceMap,
  parseStack
} from "../../debugger/src/source-map"
import { normalisePath, samePath } from "../../debugger/src/sources"

const workflowSource = `import { step } from "./helper"

export function* review(code: string) {
  const a = yield* step("first")
  // a comment line
  const b = yield* step("second")
  return a + b + code
}
`
const helperSource = `export const step = (name: string) => ({
  *[Symbol.iterator]() {
    return (yield name) as string
  }
})
`

const bundle = () => {
  const dir = mkdtempSync(join(tmpdir(), "tl-sourcemap-"))
  writeFileSync(join(dir, "review.ts"), workflowSource)
  writeFileSync(join(dir, "helper.ts"), helperSource)
  const out = buildSync({
    entryPoints: [join(dir, "review.ts")],
    bundle: true,
    minify: true,
    sourcemap: "external",
    format: "esm",
    write: false,
    outfile: join(dir, "out.js")
  })
  const js = out.outputFiles.find((f) => f.path.endsWith(".js"))!.text
  const map = JSON.parse(out.outputFiles.find((f) => f.path.endsWith(".map"))!.text)
  return { js, map }
}

/** 1-based line and column of the n-th occurrence of `needle` in `text`. */
const positionOf = (text: string, needle: string) => {
  const index = text.indexOf(needle)
  expect(index).toBeGreaterThanOrEqual(0)
  const before = text.slice(0, index).split("\n")
  return { line: before.length, column: before[before.length - 1]!.length + 1 }
}

describe("source-map decoder", () => {
  it("decodes VLQ: known segments", () => {
    // "AAAA" = [0,0,0,0]; "SAAQ" = [9,0,0,8]; ";" starts line 2 and resets only the generated
    // column, so "AACA" (+0,+0,+1,+0) is original line 1, column 8
    expect(decodeMappings("AAAA,SAAQ;AACA")).toEqual([
      [
        [0, 0, 0, 0],
        [9, 0, 0, 8]
      ],
      [[0, 0, 1, 8]]
    ])
    // negative and multi-digit values: "gBAAhB" → [16, 0, 0, -16] ("gB" = 32 → +16, "hB" = 33 → -16)
    expect(decodeMappings("gBAAhB")[0]).toEqual([[16, 0, 0, -16]])
  })

  it("names a malformed mappings string's offset", () => {
    expect(() => decodeMappings("AA!A")).toThrow(/unexpected character "!" at offset 2/)
  })

  it("maps positions in minified esbuild output back to the original lines of each file", () => {
    const { js, map } = bundle()
    const sm = parseSourceMap(map, "http://127.0.0.1/assets/out.js.map")
    const first = positionOf(js, '"first"')
    const second = positionOf(js, '"second"')
    expect(sm.originalPositionFor(first.line, first.column)).toMatchObject({ line: 4 })
    expect(sm.originalPositionFor(second.line, second.column)).toMatchObject({ line: 6 })
    expect(sm.originalPositionFor(second.line, second.column)!.source).toMatch(/review\.ts$/)
    const yieldName = positionOf(js, "yield ")
    const inHelper = sm.originalPositionFor(yieldName.line, yieldName.column)!
    expect(inHelper.source).toMatch(/helper\.ts$/)
    expect(inHelper.line).toBe(3)
    expect(sm.sourceContent(inHelper.source)).toBe(helperSource)
  })

  it("the locator follows sourceMappingURL comments and inline data: maps, and maps unknown files to themselves", async () => {
    const { js, map } = bundle()
    const files: Record<string, string> = {
      "http://h/a/out.js": `${js}\n//# sourceMappingURL=out.js.map\n`,
      "http://h/a/out.js.map": JSON.stringify(map),
      "http://h/b/inline.js": `${js}\n//# sourceMappingURL=data:application/json;base64,${Buffer.from(JSON.stringify(map)).toString("base64")}\n`
    }
    const locator = createSourceLocator(async (url) => files[url])
    const second = positionOf(js, '"second"')
    for (const file of ["http://h/a/out.js", "http://h/b/inline.js"]) {
      const located = await locator.locate({ file, ...second })
      expect(located).toMatchObject({ line: 6, mapped: true })
      expect(located.source).toMatch(/review\.ts$/)
    }
    const node = await locator.locate({ file: "file:///srv/app/examples/review.ts", line: 12, column: 3 })
    expect(node).toEqual({ source: "file:///srv/app/examples/review.ts", line: 12, column: 3, mapped: false })
  })
})

describe("stack and path helpers", () => {
  it("parses V8 and Gecko frames", () => {
    const stack = [
      "Error: boom",
      "    at review (http://127.0.0.1:8233/debugger/assets/examples/index-abc.js:1:2345)",
      "    at Generator.next (<anonymous>)",
      "    at file:///work/main/examples/review.ts:42:11",
      "review@http://h/x.js:3:4"
    ].join("\n")
    expect(parseStack(stack).map((f) => [f.functionName, f.file, f.line, f.column])).toEqual([
      ["review", "http://127.0.0.1:8233/debugger/assets/examples/index-abc.js", 1, 2345],
      [undefined, "file:///work/main/examples/review.ts", 42, 11],
      ["review", "http://h/x.js", 3, 4]
    ])
    expect(parseLocationString("http://h/a.js:10:2")).toEqual({ file: "http://h/a.js", line: 10, column: 2 })
  })

  it("compares paths by whole trailing segments", () => {
    expect(normalisePath("http://127.0.0.1:8233/debugger/assets/../../examples/review.ts?t=1")).toBe(
      "examples/review.ts"
    )
    expect(samePath("file:///srv/app/examples/review.ts", "examples/review.ts")).toBe(true)
    expect(samePath("examples/review.ts", "http://h/examples/review.ts")).toBe(true)
    expect(samePath("examples/preview.ts", "examples/review.ts")).toBe(false)
    expect(samePath("a/review.ts", "b/review.ts")).toBe(false)
  })
})
