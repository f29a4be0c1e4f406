// The compiled CLI: server/cli.ts and what it imports, bundled once into server/dist/cli.mjs, so
// a CLI call loads one file instead of compiling TypeScript (1–3 s a call before). Built at
// install (`npm install` runs `prepare`) or on first use, and again whenever a source is newer
// than the bundle. Nothing is downloaded: esbuild is a dependency of the repository.
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as vm from "node:vm"

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
export const CLI_BUNDLE = path.join(repoRoot, "server", "dist", "cli.cjs")
/** V8's compiled code for the bundle, so a call skips most of parsing and compiling it. */
const CODE_CACHE = `${CLI_BUNDLE}.v8cache`
const SOURCES = ["api", "core", "server/cli.ts", "server/cli-output.ts", "package-lock.json"]

const newest = (file) => {
  if (!existsSync(file)) return 0
  const stat = statSync(file)
  if (!stat.isDirectory()) return stat.mtimeMs
  return Math.max(0, ...readdirSync(file).map((entry) => newest(path.join(file, entry))))
}

/** Whether the bundle exists and no source is newer than it. */
export const fresh = () =>
  existsSync(CLI_BUNDLE) &&
  statSync(CLI_BUNDLE).mtimeMs >= Math.max(...SOURCES.map((s) => newest(path.join(repoRoot, s))))

/** Builds the bundle; the commands that load TypeScript at run time (serve, replay) stay out of it. */
export const buildCli = async () => {
  const esbuild = await import("esbuild")
  await esbuild.build({
    entryPoints: [path.join(repoRoot, "server", "cli.ts")],
    outfile: CLI_BUNDLE,
    bundle: true,
    platform: "node",
    // CommonJS: run through vm.Script, which takes and makes V8's code cache (Node 20 has no
    // module compile cache).
    format: "cjs",
    target: "node20",
    // Smaller text, less to parse on every call.
    minify: true,
    logLevel: "error",
    // serve and replay run through tsx (bin.js): the registry they load is TypeScript.
    plugins: [
      {
        name: "leave-out-server",
        setup: (build) =>
          build.onResolve({ filter: /^\.\/(serve|config|replay)$/ }, (args) => ({
            path: args.path,
            external: true
          }))
      }
    ]
  })
  rmSync(CODE_CACHE, { force: true })
  return CLI_BUNDLE
}

/**
 * Runs the bundle and returns its exports, with V8's code cache: read when it fits this Node,
 * written (once) when it does not.
 */
export const loadCli = (bundle) => {
  const code = readFileSync(bundle, "utf8")
  const cachedData = existsSync(CODE_CACHE) ? readFileSync(CODE_CACHE) : undefined
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${code}\n})`, {
    filename: bundle,
    cachedData
  })
  const module = { exports: {} }
  script.runInThisContext()(module.exports, createRequire(bundle), module, bundle, path.dirname(bundle))
  if (cachedData === undefined || script.cachedDataRejected) {
    try {
      writeFileSync(CODE_CACHE, script.createCachedData())
    } catch {
      // A read-only install runs without the cache.
    }
  }
  return module.exports
}

/** The bundle's path, built first if needed; undefined when it cannot be built (no esbuild). */
export const ensureCliBuild = async () => {
  if (fresh()) return CLI_BUNDLE
  try {
    return await buildCli()
  } catch {
    return undefined
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await buildCli()
