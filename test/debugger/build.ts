/**
 * A fresh build of the debugger for browser tests: reused when debugger/dist is newer than
 * every source it is built from (debugger/, core/, examples/, agents/; not docs or tests: the
 * same rule as `npm start`'s, server/debugger-build.ts), rebuilt otherwise. Concurrent test
 * files share one build through a lock directory.
 */
import { spawnSync } from "node:child_process"
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs"
import { join } from "node:path"

export const repoRoot = join(import.meta.dirname, "..", "..")
export const distDir = join(repoRoot, "debugger", "dist")
const inputs = ["debugger", "core", "examples", "agents"].map((dir) => join(repoRoot, dir))
const lockDir = join(repoRoot, "test", ".artifacts", "debugger-build.lock")

const newestMtime = (path: string): number => {
  if (!existsSync(path)) return 0
  const stat = statSync(path)
  if (!stat.isDirectory()) return stat.mtimeMs
  let newest = 0
  for (const entry of readdirSync(path)) {
    // the build output, and what the build never reads (docs, tests)
    if (entry === "dist" || entry === "node_modules" || entry.startsWith(".")) continue
    if (entry.endsWith(".md") || entry.endsWith(".test.ts")) continue
    newest = Math.max(newest, newestMtime(join(path, entry)))
  }
  return newest
}

/** True when debugger/dist exists and is newer than its sources. */
export const buildIsFresh = (): boolean => {
  const built = join(distDir, "index.html")
  return existsSync(built) && statSync(built).mtimeMs >= Math.max(...inputs.map(newestMtime))
}

/** Builds the debugger unless a fresh build exists; returns how long it took (0 when reused). */
export const ensureDebuggerBuild = async (): Promise<{ builtMs: number }> => {
  if (buildIsFresh()) return { builtMs: 0 }
  mkdirSync(join(lockDir, ".."), { recursive: true })
  const deadline = Date.now() + 180_000
  for (;;) {
    try {
      mkdirSync(lockDir)
      break
    } catch {
      // a lock older than any build is left over from a killed run
      if (existsSync(lockDir) && Date.now() - statSync(lockDir).mtimeMs > 120_000)
        rmSync(lockDir, { recursive: true, force: true })
      if (Date.now() > deadline) throw new Error(`debugger build lock held too long: ${lockDir}`)
      await new Promise((r) => setTimeout(r, 250))
    }
  }
  try {
    if (buildIsFresh()) return { builtMs: 0 }
    const started = Date.now()
    const result = spawnSync(
      process.execPath,
      [
        join(repoRoot, "node_modules", "vite", "bin", "vite.js"),
        "build",
        "--config",
        "debugger/vite.config.ts",
        "--logLevel",
        "warn"
      ],
      { cwd: repoRoot, encoding: "utf8" }
    )
    if (result.status !== 0) throw new Error(`debugger build failed:\n${result.stdout}\n${result.stderr}`)
    return { builtMs: Date.now() - started }
  } finally {
    rmSync(lockDir, { recursive: true, force: true })
  }
}
