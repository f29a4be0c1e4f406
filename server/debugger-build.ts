/**
 * `npm start` serves the debugger's build; this makes sure it exists and is not older than
 * the sources it is built from (debugger/, core/, examples/ and the agents/ code the examples
 * use; not docs or tests, which the build never reads), building it with
 * `npm run build` when needed. A failed or impossible build is reported and the server
 * starts anyway: the API does not need the debugger.
 */
import * as Effect from "effect/Effect"
import { spawnSync } from "node:child_process"
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs"
import * as path from "node:path"
import { repoRoot } from "./registry"

const newestMtime = (file: string): number => {
  if (!existsSync(file)) return 0
  const stat = statSync(file)
  if (!stat.isDirectory()) return stat.mtimeMs
  let newest = 0
  for (const entry of readdirSync(file)) {
    if (entry === "dist" || entry === "node_modules" || entry.startsWith(".")) continue
    if (entry.endsWith(".md") || entry.endsWith(".test.ts")) continue
    newest = Math.max(newest, newestMtime(path.join(file, entry)))
  }
  return newest
}

export type DebuggerBuildState =
  | { readonly _tag: "Fresh" }
  | { readonly _tag: "Built"; readonly ms: number }
  | { readonly _tag: "Skipped"; readonly reason: string }
  | { readonly _tag: "Failed"; readonly reason: string }

const sources = ["debugger", "core", "examples", "agents"].map((dir) => path.join(repoRoot, dir))

/** Why `distDir` needs a build, or undefined when it is fresh. */
export const staleness = (distDir: string): string | undefined => {
  const index = path.join(distDir, "index.html")
  if (!existsSync(index)) return `${path.relative(process.cwd(), distDir) || distDir} is missing`
  const built = statSync(index).mtimeMs
  const newest = Math.max(...sources.map(newestMtime))
  return newest > built ? "its sources changed since the last build" : undefined
}

const hasBuildScript = (): boolean => {
  try {
    const pkg = JSON.parse(readFileSync(path.join(repoRoot, "package.json"), "utf8")) as {
      scripts?: Record<string, string>
    }
    return typeof pkg.scripts?.["build"] === "string"
  } catch {
    return false
  }
}

/** Builds the debugger into `distDir` when it is missing or stale, saying so through `log`. */
export const ensureDebuggerBuild = (
  distDir: string,
  log: (line: string) => void
): Effect.Effect<DebuggerBuildState> =>
  Effect.sync(() => {
    const why = staleness(distDir)
    if (why === undefined) return { _tag: "Fresh" } as const
    if (!hasBuildScript()) {
      const reason = `the debugger needs a build (${why}) but package.json has no "build" script yet; serving the API without it`
      log(reason)
      return { _tag: "Skipped", reason } as const
    }
    log(`building the debugger (${why}): npm run build …`)
    const started = Date.now()
    const result = spawnSync("npm", ["run", "--silent", "build"], {
      cwd: repoRoot,
      stdio: ["ignore", "inherit", "inherit"]
    })
    if (result.status !== 0) {
      const reason = `the debugger build failed (exit ${result.status ?? result.signal}); serving the API without it`
      log(reason)
      return { _tag: "Failed", reason } as const
    }
    const ms = Date.now() - started
    log(`debugger built in ${(ms / 1000).toFixed(1)} s`)
    return { _tag: "Built", ms } as const
  })
