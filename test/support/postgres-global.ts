/**
 * vitest globalSetup for the PostgreSQL suites. `DATABASE_URL`, when set, names the server
 * they create their databases on; it is handed to them (inject) and taken out of the
 * environment of the test workers, so every other suite stays on SQLite as it would without
 * it. Without it, the suites share one throwaway server that the first of them starts
 * (postgres.ts); this stops it when the run ends. Nothing starts when no PostgreSQL suite runs.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import type { TestProject } from "vitest/node"
import { stopServer, type ServerRecord } from "./postgres-server"

declare module "vitest" {
  export interface ProvidedContext {
    /** The server the PostgreSQL suites create databases on, from DATABASE_URL. */
    readonly postgresUrl: string | undefined
    /** Where the run's throwaway server is recorded once a suite has started it. */
    readonly postgresRunDir: string
  }
}

/** The file in the run's folder that names the throwaway server, once started. */
export const serverFile = (runDir: string) => path.join(runDir, "server.json")

export default function setup(project: TestProject) {
  const url = process.env["DATABASE_URL"]?.trim() || undefined
  delete process.env["DATABASE_URL"]
  project.provide("postgresUrl", url)
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), "tl-pg-run-"))
  project.provide("postgresRunDir", runDir)
  return () => {
    if (fs.existsSync(serverFile(runDir)))
      stopServer(JSON.parse(fs.readFileSync(serverFile(runDir), "utf8")) as ServerRecord)
    fs.rmSync(runDir, { recursive: true, force: true })
  }
}
