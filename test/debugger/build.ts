/**
 * A fresh build of the debugger for browser tests: reused when debugger/dist is newer than
 * every source it is built from (`staleness` in server/debugger-build.ts, the rule `npm start`
 * uses), rebuilt otherwise. Concurrent test files share one build through a lock directory.
 */
import { execFile } from "node:child_process"
import { existsSync, mkdirSync, rmSync, statSync } from "node:fs"
import { join } from "node:path"
import { staleness } from "../../server/debugger-build"
import { repoRoot } from "../../server/registry"

export { repoRoot }
export const distDir = join(repoRoot, "debugger", "dist")
const lockDir = join(repoRoot, "test", ".artifacts", "debugger-build.lock")

/**
 * The time limit of a hook that may build: a cold build takes 112 s on a loaded 2-core
 * machine, and a file may first wait for another's (up to the lock's 180 s).
 */
export const buildHookTimeout = 300_000

/** True when debugger/dist exists and is newer than its sources (`npm start`'s rule). */
export const buildIsFresh = (): boolean => staleness(distDir) === undefined

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
    // Built in a child without blocking this worker: a synchronous wait of a minute or two
    // starves vitest's RPC with its worker ("Timeout calling onTaskUpdate").
    await new Promise<void>((resolve, reject) =>
      execFile(
        process.execPath,
        [
          join(repoRoot, "node_modules", "vite", "bin", "vite.js"),
          "build",
          "--config",
          "debugger/vite.config.ts",
          "--logLevel",
          "warn"
        ],
        { cwd: repoRoot, encoding: "utf8", maxBuffer: 16 * 1024 * 1024 },
        (error, stdout, stderr) =>
          error ? reject(new Error(`debugger build failed:\n${stdout}\n${stderr}`)) : resolve()
      )
    )
    return { builtMs: Date.now() - started }
  } finally {
    rmSync(lockDir, { recursive: true, force: true })
  }
}
