/**
 * The crash test (crash-scenario.ts) on a SQLite file, read back with better-sqlite3 once the
 * child is dead (SQLite's exclusive lock goes with it).
 */
import Database from "better-sqlite3"
import * as path from "node:path"
import { describe } from "vitest"
import { crashScenario, type CrashRows } from "./crash-scenario"

const read = (dbPath: string): CrashRows => {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true })
  try {
    const events = db
      .prepare(
        `SELECT r.workflow_id AS workflowId, json_extract(e.body, '$.type') AS type, json_extract(e.body, '$.cmd') AS cmd
         FROM events e JOIN runs r ON r.run_id = e.run_id
         WHERE json_extract(e.body, '$.type') IN ('ActivityCompleted', 'ActivityScheduled')`
      )
      .all() as CrashRows["events"]
    const runs = db.prepare(`SELECT workflow_id, status, result FROM runs`).all() as CrashRows["runs"]
    return { events, runs }
  } finally {
    db.close()
  }
}

describe("crash recovery with real processes", () =>
  crashScenario(async (dir) => {
    const dbPath = path.join(dir, "engine.db")
    return { dbPath, env: process.env, read: async () => read(dbPath) }
  }))
