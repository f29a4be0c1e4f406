/**
 * The folders are the architecture (DESIGN §1, STYLE item 1), and this test enforces it:
 * core/ bundles for the browser with nothing from Node, and no file imports "up" the chain
 * core ← runtime ← server, nor does the debugger reach past core/.
 */
import * as esbuild from "esbuild"
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs"
import { builtinModules } from "node:module"
import { dirname, join, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { runInNewContext } from "node:vm"
import ts from "typescript"
import { describe, expect, it } from "vitest"

const root = fileURLToPath(new URL("../..", import.meta.url))
const builtins = new Set(builtinModules)
const isNodeBuiltin = (specifier: string) =>
  specifier.startsWith("node:") || builtins.has(specifier) || builtins.has(specifier.split("/")[0]!)

const sourceFile = /\.(ts|tsx|mts|js|mjs)$/
const listSources = (dir: string): Array<string> => {
  const abs = join(root, dir)
  if (!existsSync(abs)) return []
  return readdirSync(abs).flatMap((name) => {
    const path = join(abs, name)
    if (name === "node_modules" || name === "dist") return []
    if (statSync(path).isDirectory()) return listSources(relative(root, path))
    return sourceFile.test(name) && !name.endsWith(".d.ts") ? [path] : []
  })
}

const importsOf = (file: string): Array<string> =>
  ts.preProcessFile(readFileSync(file, "utf8"), true, true).importedFiles.map((f) => f.fileName)

/** The file a relative import names, as the bundler resolves it; undefined for packages. */
const resolveRelative = (from: string, specifier: string): string | undefined => {
  if (!specifier.startsWith(".")) return undefined
  const base = resolve(dirname(from), specifier.replace(/\?.*$/, ""))
  const candidates = [
    base,
    base.replace(/\.js$/, ".ts"),
    `${base}.ts`,
    `${base}.tsx`,
    `${base}.js`,
    join(base, "index.ts"),
    join(base, "index.js")
  ]
  return candidates.find((c) => existsSync(c) && statSync(c).isFile()) ?? base
}

const folderOf = (file: string) => relative(root, file).split("/")[0]!

interface Violation {
  readonly file: string
  readonly imports: string
}

/** Every import of the files in `dirs` that `allowed` refuses. */
const violations = (
  dirs: ReadonlyArray<string>,
  allowed: (specifier: string, resolved: string | undefined) => boolean,
  include: (file: string) => boolean = () => true
): Array<Violation> =>
  dirs
    .flatMap(listSources)
    .filter(include)
    .flatMap((file) =>
      importsOf(file)
        .filter((specifier) => !allowed(specifier, resolveRelative(file, specifier)))
        .map((specifier) => ({ file: relative(root, file), imports: specifier }))
    )

/** Debugger app files: everything under debugger/ but its build tooling (which runs in Node). */
const isDebuggerApp = (file: string) => !/\.config\.[mc]?[jt]s$/.test(file)

describe("imports follow DESIGN §1", () => {
  it("core/ imports only `effect` and other core/ files", () => {
    expect(listSources("core").length).toBeGreaterThan(5)
    expect(
      violations(["core"], (specifier, resolved) =>
        resolved === undefined
          ? specifier === "effect" || specifier.startsWith("effect/")
          : folderOf(resolved) === "core"
      )
    ).toEqual([])
  })

  it("api/ imports only `effect`, `@effect/platform` and core/ (it is browser-safe)", () => {
    expect(listSources("api").length).toBeGreaterThan(3)
    expect(
      violations(["api"], (specifier, resolved) =>
        resolved === undefined
          ? specifier === "effect" ||
            specifier.startsWith("effect/") ||
            specifier === "@effect/platform" ||
            specifier.startsWith("@effect/platform/")
          : ["core", "api"].includes(folderOf(resolved))
      )
    ).toEqual([])
  })

  it("core/ never imports api/; nothing in core/, api/ or runtime/ imports server/ (or the debugger)", () => {
    expect(
      violations(["core"], (_, resolved) => resolved === undefined || folderOf(resolved) !== "api")
    ).toEqual([])
    expect(
      violations(
        ["api"],
        (_, resolved) =>
          resolved === undefined || !["server", "debugger", "runtime"].includes(folderOf(resolved))
      )
    ).toEqual([])
  })

  it("nothing in core/ or runtime/ imports server/ (or the debugger)", () => {
    expect(
      violations(
        ["core", "runtime"],
        (_, resolved) => resolved === undefined || !["server", "debugger"].includes(folderOf(resolved))
      )
    ).toEqual([])
  })

  it("runtime/ and server/ never import the debugger's code", () => {
    expect(
      violations(
        ["runtime", "server"],
        (_, resolved) => resolved === undefined || folderOf(resolved) !== "debugger"
      )
    ).toEqual([])
  })

  it("runtime/engine/ is reached through its index: nothing else in runtime/ or server/ imports its parts", () => {
    const inEngine = (file: string) => relative(root, file).startsWith("runtime/engine/")
    expect(listSources("runtime/engine").length).toBeGreaterThan(8)
    expect(
      violations(
        ["runtime", "server"],
        (_, resolved) =>
          resolved === undefined ||
          !inEngine(resolved) ||
          relative(root, resolved) === "runtime/engine/index.ts",
        (file) => !inEngine(file)
      )
    ).toEqual([])
  })

  it("the debugger's imports never reach runtime/, server/ or a Node built-in, however indirectly", () => {
    const reached = new Map<string, string>()
    const queue = listSources("debugger").filter(isDebuggerApp)
    for (const file of queue) reached.set(file, "(entry)")
    const bad: Array<Violation & { readonly via: string }> = []
    while (queue.length > 0) {
      const file = queue.shift()!
      for (const specifier of importsOf(file)) {
        const resolved = resolveRelative(file, specifier)
        const via = relative(root, file)
        if (resolved === undefined) {
          if (isNodeBuiltin(specifier)) bad.push({ file: via, imports: specifier, via: reached.get(file)! })
          continue
        }
        if (["runtime", "server"].includes(folderOf(resolved))) {
          bad.push({ file: via, imports: specifier, via: reached.get(file)! })
          continue
        }
        if (!reached.has(resolved) && sourceFile.test(resolved)) {
          reached.set(resolved, via)
          queue.push(resolved)
        }
      }
    }
    expect(bad).toEqual([])
  })

  it("runtime/store/ is the engine's store, reached through its index: it imports no engine file, and its implementations (sqlite/, postgres/) not each other", () => {
    const inStore = (file: string) => relative(root, file).startsWith("runtime/store/")
    const storeDir = join(root, "runtime/store")
    const implementationOf = (file: string) => relative(storeDir, file).split("/")[0]!
    expect(listSources("runtime/store").length).toBeGreaterThan(5)
    expect(
      violations(
        ["runtime/store"],
        (_, resolved) =>
          resolved === undefined ||
          folderOf(resolved) === "core" ||
          inStore(resolved) ||
          ["runtime/errors.ts", "runtime/engine-api.ts"].includes(relative(root, resolved))
      )
    ).toEqual([])
    const crossing = listSources("runtime/store").flatMap((file) =>
      importsOf(file)
        .map((specifier) => resolveRelative(file, specifier))
        .filter(
          (resolved): resolved is string =>
            resolved !== undefined &&
            inStore(resolved) &&
            ["sqlite", "postgres"].includes(implementationOf(resolved)) &&
            implementationOf(resolved) !== implementationOf(file) &&
            ["sqlite", "postgres"].includes(implementationOf(file))
        )
        .map((resolved) => `${relative(root, file)} -> ${relative(root, resolved)}`)
    )
    expect(crossing).toEqual([])
    expect(
      violations(
        ["runtime"],
        (_, resolved) =>
          resolved === undefined ||
          !inStore(resolved) ||
          relative(root, resolved) === "runtime/store/index.ts",
        (file) => !inStore(file)
      )
    ).toEqual([])
  })

  it("the import scanner sees every kind of import (so the rules above can fail)", () => {
    const source = [
      'import a from "./a"',
      'import type { B } from "../runtime/b"',
      "import {\n  c\n} from 'node:fs'",
      'export * from "./d"',
      'import "./side-effect"',
      'const e = await import("node:path")'
    ].join("\n")
    expect(ts.preProcessFile(source, true, true).importedFiles.map((f) => f.fileName)).toEqual([
      "./a",
      "../runtime/b",
      "node:fs",
      "./d",
      "./side-effect",
      "node:path"
    ])
  })
})

/** The relative imports of `file` that stay at run time (an `import type` or `export type` is erased). */
const runtimeImportsOf = (file: string): Array<string> => {
  const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest)
  return source.statements.flatMap((statement) => {
    if (ts.isImportDeclaration(statement) && !statement.importClause?.isTypeOnly)
      return [(statement.moduleSpecifier as ts.StringLiteral).text]
    if (ts.isExportDeclaration(statement) && !statement.isTypeOnly && statement.moduleSpecifier)
      return [(statement.moduleSpecifier as ts.StringLiteral).text]
    return []
  })
}

describe("core/ stays in small parts", () => {
  it("no core/ module is over 400 lines", () => {
    const long = listSources("core")
      .map((file) => ({ file: relative(root, file), lines: readFileSync(file, "utf8").split("\n").length }))
      .filter(({ lines }) => lines > 400)
    expect(long).toEqual([])
  })

  it("core/ modules import each other without a cycle at run time (the interpreter's parts meet in machine.ts)", () => {
    const files = listSources("core")
    const edges = new Map(
      files.map((file) => [
        file,
        runtimeImportsOf(file).flatMap((specifier) => resolveRelative(file, specifier) ?? [])
      ])
    )
    const cycles: Array<string> = []
    const state = new Map<string, "visiting" | "done">()
    const visit = (file: string, path: Array<string>) => {
      if (state.get(file) === "done") return
      if (state.get(file) === "visiting") {
        cycles.push([...path.slice(path.indexOf(file)), file].map((f) => relative(root, f)).join(" → "))
        return
      }
      state.set(file, "visiting")
      for (const next of edges.get(file) ?? []) visit(next, [...path, file])
      state.set(file, "done")
    }
    for (const file of files) visit(file, [])
    expect(cycles).toEqual([])
  })
})

/** Bundles `entry` for the browser, recording every import the bundler resolves. */
const browserBundle = async (
  entry: string,
  options: { readonly format: "esm" | "iife"; readonly globalName?: string }
) => {
  const resolvedImports: Array<string> = []
  const result = await esbuild.build({
    entryPoints: [join(root, entry)],
    bundle: true,
    platform: "browser",
    ...options,
    write: false,
    metafile: true,
    logLevel: "silent",
    plugins: [
      {
        name: "record-imports",
        setup(build) {
          build.onResolve({ filter: /.*/ }, (args) => {
            if (args.kind !== "entry-point") resolvedImports.push(args.path)
            return undefined
          })
        }
      }
    ]
  })
  return { result, resolvedImports }
}

describe("api/ in the browser", () => {
  it("bundles api/index.ts for the browser with no Node built-in", async () => {
    const { result, resolvedImports } = await browserBundle("api/index.ts", { format: "esm" })
    expect(result.errors).toEqual([])
    expect(resolvedImports.filter(isNodeBuiltin)).toEqual([])
    const inputs = Object.keys(result.metafile.inputs)
    expect(
      inputs.filter(
        (path) =>
          !path.startsWith("api/") &&
          !path.startsWith("core/") &&
          !path.startsWith("node_modules/effect/") &&
          !path.startsWith("node_modules/@effect/platform/") &&
          // @effect/platform's own dependencies (multipart parsing, the router, msgpack)
          !/^node_modules\/(multipasta|find-my-way-ts|msgpackr|fast-check|@standard-schema)\//.test(path)
      )
    ).toEqual([])
  })
})

describe("core/ in the browser", () => {
  let built: ReturnType<typeof build> | undefined
  const bundle = () => (built ??= build())
  const build = () => browserBundle("core/index.ts", { format: "iife", globalName: "TemporalLiteCore" })

  it("bundles core/index.ts for the browser with no node: import and no Node built-in", async () => {
    const { result, resolvedImports } = await bundle()
    expect(result.errors).toEqual([])
    expect(resolvedImports.filter(isNodeBuiltin)).toEqual([])
    const inputs = Object.keys(result.metafile.inputs)
    expect(
      inputs.filter((path) => !path.startsWith("core/") && !path.startsWith("node_modules/effect/"))
    ).toEqual([])
    expect(result.outputFiles[0]!.text).not.toMatch(
      /\brequire\(\s*["'](node:)?(fs|path|crypto|os|child_process|module|url|util)["']\s*\)/
    )
  })

  it("the bundle runs in a bare JavaScript context (no process, no require) and replays a history", async () => {
    const { result } = await bundle()
    const code = `${result.outputFiles[0]!.text}
      const core = TemporalLiteCore
      const step = core.activity("step")
      const wf = core.workflow("inBrowser", {}, function* () {
        const value = yield* step("x")
        return { value, at: Date.now() }
      })
      const history = [
        { type: "WorkflowStarted", seq: 1, at: 1000, workflowType: "inBrowser", workflowId: "w", runId: "r", input: null, randomSeed: "s" },
        { type: "ActivityScheduled", seq: 2, at: 1000, cmd: 1, name: "step", input: "x", options: {} },
        { type: "ActivityCompleted", seq: 3, at: 2000, cmd: 1, attempt: 1, result: 42 }
      ]
      const outcome = core.replay(wf, history)
      JSON.stringify({ status: outcome.status, commands: outcome.commands, hasProcess: typeof process, hasRequire: typeof require })`
    // What every browser has; nothing of Node's.
    const sandbox = {
      console,
      URL,
      URLSearchParams,
      TextEncoder,
      TextDecoder,
      queueMicrotask,
      setTimeout,
      clearTimeout
    }
    expect(JSON.parse(runInNewContext(code, sandbox))).toEqual({
      status: "completed",
      commands: [{ type: "WorkflowCompleted", result: { value: 42, at: 2000 } }],
      hasProcess: "undefined",
      hasRequire: "undefined"
    })
  })
})
