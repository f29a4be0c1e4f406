/**
 * `npm start` (server/main.ts) that cannot start says why in one line and exits 1 (issue 22
 * item 5): a `DB_PATH` whose folder cannot be created, under a file or on a read-only file
 * system (root only: a real read-only tmpfs; skipped with a line saying so otherwise).
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import { spawn } from "node:child_process"
import { writeFileSync } from "node:fs"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { smallDisk } from "../support/small-disk"
import { REGISTRY, repoRoot, tempDir } from "./support"

const scope = Effect.runSync(Scope.make())
afterAll(() => Effect.runPromise(Scope.close(scope, Exit.void)))

/** Runs `npm start`'s entry with `env`; its exit code and what it printed. */
const start = (env: Record<string, string>) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", path.join(repoRoot, "server", "main.ts")], {
      cwd: repoRoot,
      env: { PATH: process.env["PATH"] ?? "", PORT: "0", TEMPORAL_LITE_REGISTRY: REGISTRY, ...env }
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk) => (stdout += chunk))
    child.stderr.on("data", (chunk) => (stderr += chunk))
    child.on("exit", (code) => resolve({ code, stdout, stderr }))
  })

describe("a database folder that cannot be created", () => {
  it("under a file: one line naming the path and the cause, exit code 1", async () => {
    const file = path.join(tempDir("db-under-file"), "a-file")
    writeFileSync(file, "not a folder")
    const dbPath = path.join(file, "data", "temporal-lite.db")
    expect(await start({ DB_PATH: dbPath })).toEqual({
      code: 1,
      stdout: "",
      stderr: `temporal-lite: cannot open the database (Io): cannot create the folder ${path.dirname(dbPath)} of the database ${dbPath}: ENOTDIR: not a directory, mkdir '${path.dirname(dbPath)}'\n`
    })
  })

  it("on a read-only file system: one line naming the path and the cause, exit code 1", async () => {
    const disk = await Effect.runPromise(Scope.extend(smallDisk("64k"), scope))
    disk.makeReadOnly()
    const dbPath = path.join(disk.dir, "data", "temporal-lite.db")
    expect(await start({ DB_PATH: dbPath })).toEqual({
      code: 1,
      stdout: "",
      stderr: `temporal-lite: cannot open the database (ReadOnly): cannot create the folder ${path.dirname(dbPath)} of the database ${dbPath}: read-only (EROFS: read-only file system, mkdir '${path.dirname(dbPath)}')\n`
    })
  })
})
