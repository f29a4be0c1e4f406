/**
 * The crash test (crash-scenario.ts) on PostgreSQL: the same child, with DATABASE_URL set to a
 * fresh database of the run's server; read back past any store once the child is dead.
 */
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { expect } from "vitest"
import { describePostgres, freshDatabase, queryDatabase } from "../support/postgres"
import { crashScenario, type CrashRows } from "./crash-scenario"

const read = (url: string): Promise<CrashRows> =>
  Effect.runPromise(
    Effect.all({
      events: queryDatabase<CrashRows["events"][number]>(
        url,
        `SELECT r.workflow_id AS "workflowId", e.body::json ->> 'type' AS type, (e.body::json ->> 'cmd')::int AS cmd
         FROM temporal_lite.events e JOIN temporal_lite.runs r ON r.run_id = e.run_id
         WHERE e.body::json ->> 'type' IN ('ActivityCompleted', 'ActivityScheduled')`
      ),
      runs: queryDatabase<CrashRows["runs"][number]>(
        url,
        `SELECT workflow_id, status, result FROM temporal_lite.runs`
      )
    })
  )

describePostgres("crash recovery with real processes, on PostgreSQL", () =>
  crashScenario(async (dir) => {
    const url = await Effect.runPromise(freshDatabase("crash"))
    const dbPath = path.join(dir, "engine.db")
    return {
      dbPath,
      env: { ...process.env, DATABASE_URL: url },
      read: async () => {
        // The engine ran on PostgreSQL: its SQLite file was never made.
        expect(fs.existsSync(dbPath)).toBe(false)
        return read(url)
      }
    }
  })
)
