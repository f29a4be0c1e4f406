/**
 * The import rules of agents/ and examples/: workflow code is bundled into the browser
 * debugger, so it may import `effect`, core/ and agents/ only, never runtime/ or node:*.
 *
 * core ← agents ← runtime/agents; examples → core + agents; only the Node side of the
 * examples (`activities.ts`, `registry.ts`, which the server loads) may reach runtime/.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"

const repo = path.resolve(import.meta.dirname, "../..")

const specifiers = (file: string): Array<string> => {
  const text = fs.readFileSync(file, "utf8")
  const found = [
    ...text.matchAll(/^\s*(?:import|export)\s[^"']*?from\s+["']([^"']+)["']/gm),
    ...text.matchAll(/^\s*import\s+["']([^"']+)["']/gm),
    ...text.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g)
  ]
  return found.map((m) => m[1]!)
}

const sources = (folder: string) =>
  fs
    .readdirSync(path.join(repo, folder))
    .filter((f) => f.endsWith(".ts"))
    .map((f) => path.join(folder, f))

/** Every module `entry` reaches through relative imports, as repository paths. */
const closure = (entry: string): Map<string, Array<string>> => {
  const seen = new Map<string, Array<string>>()
  const visit = (file: string) => {
    if (seen.has(file)) return
    const imports = specifiers(path.join(repo, file))
    seen.set(file, imports)
    for (const spec of imports) {
      if (!spec.startsWith(".")) continue
      const target = path.normalize(path.join(path.dirname(file), spec))
      const candidates = [`${target}.ts`, path.join(target, "index.ts")]
      const found = candidates.find((c) => fs.existsSync(path.join(repo, c)))
      if (found) visit(found)
    }
  }
  visit(entry)
  return seen
}

/** The Node side of the examples: what the server loads, never the debugger. */
const nodeSide = new Set(["examples/activities.ts", "examples/registry.ts"])
const isEffect = (spec: string) => spec === "effect" || spec.startsWith("effect/")

describe("layering", () => {
  it("agents/ imports only effect, core/ and itself", () => {
    const files = sources("agents")
    expect(files).toContain("agents/index.ts")
    for (const file of files)
      for (const spec of specifiers(path.join(repo, file)))
        expect(
          isEffect(spec) || spec === "../core" || /^\.\/[\w-]+$/.test(spec),
          `${file} imports ${spec}`
        ).toBe(true)
  })

  it("examples/ (but its Node side) imports only effect, core/, agents/ and itself", () => {
    for (const file of sources("examples").filter((f) => !nodeSide.has(f)))
      for (const spec of specifiers(path.join(repo, file)))
        expect(
          isEffect(spec) ||
            spec === "../core" ||
            spec === "../agents" ||
            (/^\.\/[\w-]+$/.test(spec) && !nodeSide.has(`examples/${spec.slice(2)}.ts`)),
          `${file} imports ${spec}`
        ).toBe(true)
  })

  it("what the debugger bundles (examples/index.ts and all it reaches) never reaches runtime/ or node:*", () => {
    const reached = closure("examples/index.ts")
    expect([...reached.keys()]).toContain("agents/definitions.ts")
    for (const [file, imports] of reached) {
      expect(file.startsWith("runtime/") || nodeSide.has(file), `${file} is reached`).toBe(false)
      for (const spec of imports) expect(spec.startsWith("node:"), `${file} imports ${spec}`).toBe(false)
    }
  })

  it("runtime/agents imports the pure definitions from agents/, not copies", () => {
    for (const file of ["definitions.ts", "prompts.ts", "usage.ts"])
      expect(fs.existsSync(path.join(repo, "runtime/agents", file)), `runtime/agents/${file}`).toBe(false)
  })
})
