/**
 * Store invariant 4: a file that is not ours, or that a newer engine wrote, is refused before
 * anything is written, with a message naming the file and what is wrong.
 */
import { describe, expect, it } from "@effect/vitest"
import Sqlite from "better-sqlite3"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as fs from "node:fs"
import { EngineLive } from "../../runtime"
import { tempDb } from "../support/engine-harness"

const openEngine = (dbPath: string) =>
  Effect.flip(Layer.build(EngineLive({ dbPath, workflows: [], activities: [] })))

const fileBytes = (file: string) => fs.readFileSync(file)

describe("store refusals", () => {
  it.scoped("a SQLite file of another application is refused and left untouched", () =>
    Effect.gen(function* () {
      const { dbPath } = tempDb("foreign")
      const db = new Sqlite(dbPath)
      db.exec(
        "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO customers VALUES (1, 'Ada')"
      )
      db.close()
      const before = fileBytes(dbPath)
      const error = yield* openEngine(dbPath)
      expect(error.reason).toBe("NotOurs")
      expect(error.message).toBe(
        `${dbPath} is a SQLite database but not a Temporal Lite one (tables: customers); refusing to touch it`
      )
      expect(fileBytes(dbPath).equals(before)).toBe(true)
    })
  )

  it.scoped("a database from a newer schema version is refused, naming both versions", () =>
    Effect.gen(function* () {
      const { dbPath } = tempDb("newer")
      yield* Effect.scoped(Layer.build(EngineLive({ dbPath, workflows: [], activities: [] })))
      const db = new Sqlite(dbPath)
      db.prepare("UPDATE temporal_lite_meta SET value = '99' WHERE key = 'schema_version'").run()
      db.close()
      const error = yield* openEngine(dbPath)
      expect(error.reason).toBe("NewerSchema")
      expect(error.message).toBe(
        `${dbPath} has schema version 99, newer than this engine's 3; upgrade Temporal Lite to open it (nothing was changed)`
      )
      const check = new Sqlite(dbPath, { readonly: true })
      expect(
        check.prepare("SELECT value FROM temporal_lite_meta WHERE key = 'schema_version'").get()
      ).toEqual({ value: "99" })
      check.close()
    })
  )

  it.scoped("a file that is not a database at all is refused with the file named", () =>
    Effect.gen(function* () {
      const { dbPath } = tempDb("garbage")
      fs.writeFileSync(dbPath, "this is a text file, not a database".repeat(200))
      const before = fileBytes(dbPath)
      const error = yield* openEngine(dbPath)
      expect(error.message).toContain(dbPath)
      expect(fileBytes(dbPath).equals(before)).toBe(true)
    })
  )
})
