/**
 * The store conformance suite (contract.ts) on the SQLite store, each test on a fresh file.
 */
import Sqlite from "better-sqlite3"
import * as Effect from "effect/Effect"
import { SqliteStore } from "../../../runtime"
import { tempDb } from "../../support/engine-harness"
import { storeContract } from "./contract"

/** Runs `f` on the file with better-sqlite3 (the store that wrote it is closed). */
const onFile = <A>(filename: string, f: (db: Sqlite.Database) => A) =>
  Effect.sync(() => {
    const db = new Sqlite(filename)
    try {
      return f(db)
    } finally {
      db.close()
    }
  })

storeContract({
  name: "SQLite",
  fresh: Effect.sync(() => tempDb("contract").dbPath),
  open: (filename) => SqliteStore({ filename }),
  named: (filename) => filename,
  stampSchemaVersion: (filename, version) =>
    onFile(filename, (db) =>
      db.prepare("UPDATE temporal_lite_meta SET value = ? WHERE key = 'schema_version'").run(String(version))
    ),
  schemaVersion: (filename) =>
    onFile(filename, (db) =>
      Number(
        (
          db.prepare("SELECT value FROM temporal_lite_meta WHERE key = 'schema_version'").get() as {
            value: string
          }
        ).value
      )
    ),
  currentVersion: 3
})
