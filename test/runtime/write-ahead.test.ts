/**
 * SQLite's write-ahead file under steady load (issue 22 item 13): checkpointed every 1,000
 * pages, so no more than a few MiB of committed history live only in the `-wal` file.
 */
import { describe, expect, it } from "@effect/vitest"
import Sqlite from "better-sqlite3"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as fs from "node:fs"
import { workflow } from "../../core"
import { Engine, EngineLive } from "../../runtime"
import { tempDb } from "../support/engine-harness"

const measure = workflow("measure", { input: Schema.String }, function* (text) {
  return text.length
})

const sizeOf = (file: string) => fs.statSync(file, { throwIfNoEntry: false })?.size ?? 0

describe("the write-ahead file", () => {
  it.scoped(
    "stays under 8 MiB while 24 MiB of history are written, and the .db file holds it all once closed",
    () => {
      const { dbPath } = tempDb("wal")
      let largest = 0
      return Effect.gen(function* () {
        yield* Effect.gen(function* () {
          const engine = yield* Engine
          const text = "w".repeat(80 * 1024)
          // Four at a time: a steady stream of commits of about 640 KiB (input and event).
          yield* Effect.forEach(
            Array.from({ length: 150 }, (_, i) => `m${i}`),
            (id) =>
              Effect.tap(engine.start("measure", text, { id }), () =>
                Effect.sync(() => (largest = Math.max(largest, sizeOf(`${dbPath}-wal`))))
              ),
            { concurrency: 4 }
          )
        }).pipe(Effect.provide(EngineLive({ dbPath, workflows: [measure], activities: [] })))
        expect(largest).toBeGreaterThan(0)
        expect(largest).toBeLessThanOrEqual(8 * 2 ** 20)
        expect(sizeOf(`${dbPath}-wal`)).toBe(0)
        const db = new Sqlite(dbPath, { readonly: true })
        expect(db.prepare("SELECT count(*) AS n FROM runs").get()).toEqual({ n: 150 })
        db.close()
      })
    }
  )
})
