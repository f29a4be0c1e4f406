/**
 * Durability in one process, on the real engine and a real SQLite file: an engine released and
 * built again on the same file resumes what was open (engine invariants 3 and 4), upgrades an
 * old file, keeps one current run per id, and refuses a second engine. Time is TestClock's.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/TestClock"
import { activity, all, child, defineSignal, waitForSignal, workflow } from "../../core"
import { Engine, implement } from "../../runtime"
import {
  awaitClosed,
  awaitEvents,
  awaitingSignal,
  engineLayer,
  eventsOfType,
  historyOf,
  runUntilClosed,
  settle,
  tempDb
} from "../support/engine-harness"

describe("durability in one process", () => {
  const Go = defineSignal("go")
  const add = activity("add", { input: Schema.Number, output: Schema.Number })
  const steps = workflow("steps", { input: Schema.Number, signals: [Go] }, function* (n) {
    let total = 0
    for (let i = 0; i < n; i++) total += yield* add(i)
    yield* waitForSignal(Go)
    return total
  })

  it.scoped(
    "recovery: an engine restarted on the same file resumes open runs; a corrupt snapshot falls back to full replay",
    () =>
      Effect.gen(function* () {
        const { dbPath } = tempDb("recovery")
        const layer = engineLayer([steps], [implement(add, (i) => i)], {
          dbPath,
          snapshotEvery: 5,
          cacheSize: 1
        })
        yield* Effect.gen(function* () {
          const engine = yield* Engine
          yield* engine.start("steps", 20, { id: "long" })
          yield* engine.start("steps", 3, { id: "short" })
          yield* awaitingSignal("long")
        }).pipe(Effect.provide(layer), Effect.scoped)

        const Sqlite = (yield* Effect.promise(() => import("better-sqlite3"))).default
        const db = new Sqlite(dbPath)
        const snapshot = db
          .prepare(
            "SELECT max(s.seq) AS seq FROM snapshots s JOIN runs r ON r.run_id = s.run_id WHERE r.workflow_id = 'long'"
          )
          .get() as { seq: number } | undefined
        // Its last segment ends at its last event: 1 start, then 20 activities scheduled and completed.
        expect(snapshot?.seq).toBe(41)
        db.prepare(
          'UPDATE snapshots SET body = \'{"version":1,"seq":\' || seq || \',"events":[{"type":"Nope"}]}\''
        ).run()
        db.close()

        yield* Effect.gen(function* () {
          const engine = yield* Engine
          yield* engine.signal("long", "go", undefined)
          yield* engine.signal("short", "go", undefined)
          expect(yield* awaitClosed("long")).toBe("completed")
          expect(yield* awaitClosed("short")).toBe("completed")
          expect((yield* engine.describe("long")).result).toBe(190)
          expect((yield* engine.describe("short")).result).toBe(3)
        }).pipe(Effect.provide(layer), Effect.scoped)
      })
  )

  const patient = activity("patient", { output: Schema.Unknown, retry: { initialInterval: "1 minute" } })
  const quick = activity("quick", { input: Schema.Number, output: Schema.Number })
  const resumable = workflow("resumable", {}, function* () {
    const [resumed, ...sums] = yield* all([patient(), quick(1), quick(2), quick(3)])
    return { resumed, sums }
  })

  /**
   * An engine on `dbPath` whose `patient` heartbeats and fails while `failing`, noting each
   * attempt; a snapshot every 2 events unless told otherwise.
   */
  const resumableEngine = (
    dbPath: string,
    failing: boolean,
    attempts: Array<[number, unknown]>,
    snapshotEvery = 2
  ) =>
    engineLayer(
      [resumable],
      [
        implement(quick, (n) => n * 10),
        implement(patient, (_, ctx) => {
          attempts.push([ctx.attempt, ctx.lastHeartbeat])
          if (!failing) return { attempt: ctx.attempt, from: ctx.lastHeartbeat }
          ctx.heartbeat({ page: ctx.attempt })
          throw new Error(`down ${ctx.attempt}`)
        })
      ],
      // The compact history empties the activity's input and drops its failures.
      { dbPath, snapshotEvery }
    )

  for (const [snapshotEvery, title] of [
    [2, "an activity scheduled before a snapshot"],
    [0, "an activity (snapshots off)"]
  ] as const)
    it.scoped(
      `invariant 4: recovery dispatches ${title} from the history alone, with its attempt count and last heartbeat`,
      () => {
        const { dbPath } = tempDb("open-activity")
        const attempts: Array<[number, unknown]> = []
        return Effect.gen(function* () {
          yield* Effect.gen(function* () {
            const engine = yield* Engine
            yield* engine.start("resumable", undefined, { id: "o1" })
            yield* awaitEvents("o1", "ActivityAttemptFailed", 1)
            yield* TestClock.adjust("1 minute")
            yield* awaitEvents("o1", "ActivityAttemptFailed", 2)
          }).pipe(Effect.provide(resumableEngine(dbPath, true, attempts, snapshotEvery)), Effect.scoped)

          yield* Effect.gen(function* () {
            const engine = yield* Engine
            expect(yield* runUntilClosed("o1", "1 minute")).toBe("completed")
            expect((yield* engine.describe("o1")).result).toEqual({
              resumed: { attempt: 3, from: { page: 2 } },
              sums: [10, 20, 30]
            })
            const events = yield* historyOf("o1")
            expect(eventsOfType(events, "ActivityAttemptFailed").map((e) => e.heartbeat)).toEqual([
              { page: 1 },
              { page: 2 }
            ])
          }).pipe(Effect.provide(resumableEngine(dbPath, false, attempts, snapshotEvery)), Effect.scoped)
          expect(attempts).toEqual([
            [1, undefined],
            [2, { page: 1 }],
            [3, { page: 2 }]
          ])
        })
      }
    )

  it.scoped(
    "a version-1 file is upgraded: its tasks table goes, and its open activity resumes from the history",
    () => {
      const { dbPath } = tempDb("upgrade")
      const attempts: Array<[number, unknown]> = []
      return Effect.gen(function* () {
        yield* Effect.gen(function* () {
          const engine = yield* Engine
          yield* engine.start("resumable", undefined, { id: "u1" })
          yield* awaitEvents("u1", "ActivityAttemptFailed", 1)
        }).pipe(Effect.provide(resumableEngine(dbPath, true, attempts)), Effect.scoped)

        // What version 1 left: the open activity in `tasks` (its heartbeat there, not in the
        // history), snapshots of format 1 in a table of one row per run, the schema stamp.
        const Sqlite = (yield* Effect.promise(() => import("better-sqlite3"))).default
        const db = new Sqlite(dbPath)
        db.exec(`CREATE TABLE tasks (
          run_id TEXT NOT NULL, workflow_id TEXT NOT NULL, cmd INTEGER NOT NULL, name TEXT NOT NULL,
          input TEXT NOT NULL, options TEXT NOT NULL, attempt INTEGER NOT NULL,
          next_attempt_at INTEGER NOT NULL, heartbeat TEXT, PRIMARY KEY (run_id, cmd)) WITHOUT ROWID`)
        db.exec(
          `INSERT INTO tasks SELECT run_id, 'u1', 2, 'patient', 'null', '{}', 1, 0, '{"page":1}' FROM runs`
        )
        db.exec(`UPDATE events SET body = json_remove(body, '$.heartbeat')`)
        db.exec(`UPDATE snapshots SET body = json_set(body, '$.version', 1)`)
        db.exec(`ALTER TABLE snapshots RENAME TO segments`)
        db.exec(`CREATE TABLE snapshots (run_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, body TEXT NOT NULL)`)
        db.exec(`INSERT INTO snapshots SELECT run_id, max(seq), body FROM segments GROUP BY run_id`)
        db.exec(`DROP TABLE segments`)
        db.exec(`UPDATE temporal_lite_meta SET value = '1' WHERE key = 'schema_version'`)
        db.exec(`DELETE FROM effect_sql_migrations WHERE migration_id >= 2`)
        db.close()

        yield* Effect.gen(function* () {
          const engine = yield* Engine
          expect(yield* runUntilClosed("u1", "1 minute")).toBe("completed")
          expect((yield* engine.describe("u1")).result).toEqual({
            resumed: { attempt: 2 },
            sums: [10, 20, 30]
          })
        }).pipe(Effect.provide(resumableEngine(dbPath, false, attempts)), Effect.scoped)
        // The heartbeat only version 1's table held is the one thing the upgrade loses.
        expect(attempts).toEqual([
          [1, undefined],
          [2, undefined]
        ])
        const check = new Sqlite(dbPath, { readonly: true })
        expect(check.prepare(`SELECT name FROM sqlite_master WHERE name = 'tasks'`).all()).toEqual([])
        expect(
          check.prepare(`SELECT value FROM temporal_lite_meta WHERE key = 'schema_version'`).get()
        ).toEqual({ value: "3" })
        check.close()
      })
    }
  )

  it.scoped(
    "a running workflow's listing and description show its last event, before and after a restart",
    () =>
      Effect.gen(function* () {
        const { dbPath } = tempDb("progress")
        const layer = engineLayer([steps], [implement(add, (i) => i)], { dbPath })
        const progress = Effect.gen(function* () {
          const engine = yield* Engine
          const listed = (yield* engine.list({})).workflows.find((w) => w.id === "p")!
          const described = yield* engine.describe("p")
          return {
            listed: [listed.lastEventType, listed.updatedAt],
            described: [described.lastEventType, described.updatedAt, described.historyLength]
          }
        })
        const before = yield* Effect.gen(function* () {
          const engine = yield* Engine
          yield* engine.start("steps", 3, { id: "p" })
          yield* awaitingSignal("p")
          const seen = yield* progress
          const events = yield* historyOf("p")
          const last = events[events.length - 1]!
          expect(seen.listed).toEqual([last.type, last.at])
          expect(seen.described).toEqual([last.type, last.at, last.seq])
          expect(last.type).toBe("ActivityCompleted")
          return seen
        }).pipe(Effect.provide(layer), Effect.scoped)
        expect(yield* progress.pipe(Effect.provide(layer), Effect.scoped)).toEqual(before)
      })
  )

  const echo = workflow("echo", { input: Schema.Number }, function* (n) {
    return n
  })

  it.scoped(
    "starting 300 closed ids again at once: each id's new run is its current one, in memory and in the store",
    () =>
      Effect.gen(function* () {
        const { dbPath } = tempDb("restart-ids")
        const layer = engineLayer([echo], [], { dbPath })
        const ids = Array.from({ length: 300 }, (_, i) => `echo-${i}`)
        const runOf = (id: string, n: number) =>
          Effect.gen(function* () {
            const engine = yield* Engine
            const { runId } = yield* engine.start("echo", n, { id })
            expect(yield* awaitClosed(id)).toBe("completed")
            return runId
          })
        const second = yield* Effect.gen(function* () {
          yield* Effect.forEach(ids, (id) => runOf(id, 1), { concurrency: "unbounded" })
          // One batch retires more than a statement's chunk of previous runs.
          return yield* Effect.forEach(ids, (id) => runOf(id, 2), { concurrency: "unbounded" })
        }).pipe(Effect.provide(layer), Effect.scoped)

        yield* Effect.gen(function* () {
          const engine = yield* Engine
          for (const [i, id] of ids.entries()) {
            const described = yield* engine.describe(id)
            expect([described.runId, described.result]).toEqual([second[i], 2])
          }
          const page = yield* engine.list({ type: "echo", limit: 1000 })
          expect(page.workflows.length).toBe(300)
          expect(new Set(page.workflows.map((w) => w.runId))).toEqual(new Set(second))
        }).pipe(Effect.provide(layer), Effect.scoped)
      }),
    30_000
  )

  const Never = defineSignal("never")
  const Finish = defineSignal("finish")
  const tidyKid = workflow("tidyKid", { signals: [Never, Finish] }, function* () {
    try {
      yield* waitForSignal(Never)
    } finally {
      // Cleanup that outlives the cancel, so the child is still open when the engine restarts.
      yield* waitForSignal(Finish)
    }
    return "never"
  })
  const tidyParent = workflow("tidyParent", {}, function* () {
    return yield* child(tidyKid, undefined, { id: "tidy-kid" })
  })

  it.scoped("a child cancelled by its parent records the cancel once, across a restart", () =>
    Effect.gen(function* () {
      const { dbPath } = tempDb("child-cancel")
      const layer = engineLayer([tidyParent, tidyKid], [], { dbPath })
      const cancelsOfKid = historyOf("tidy-kid").pipe(
        Effect.map((events) => eventsOfType(events, "CancelRequested").length)
      )
      yield* Effect.gen(function* () {
        const engine = yield* Engine
        yield* engine.start("tidyParent", undefined, { id: "tp" })
        yield* awaitingSignal("tidy-kid")
        yield* engine.cancel("tp")
        expect(yield* awaitClosed("tp")).toBe("cancelled")
        yield* awaitEvents("tidy-kid", "CancelRequested")
      }).pipe(Effect.provide(layer), Effect.scoped)

      yield* Effect.gen(function* () {
        const engine = yield* Engine
        yield* settle
        expect(yield* cancelsOfKid).toBe(1)
        yield* engine.signal("tidy-kid", "finish", undefined)
        expect(yield* awaitClosed("tidy-kid")).toBe("cancelled")
        expect(yield* cancelsOfKid).toBe(1)
      }).pipe(Effect.provide(layer), Effect.scoped)
    })
  )

  // Live: the second engine's open waits out SQLite's busy timeout (5 s, inside better-sqlite3,
  // not on Effect's clock) before it is refused; no TestClock moves it.
  it.live(
    "two engines on one file: the second refuses, naming the file and the holder's pid; the first keeps working",
    () =>
      Effect.gen(function* () {
        const { dbPath } = tempDb("lock")
        const first = engineLayer([steps], [implement(add, (i) => i)], { dbPath })
        yield* Effect.gen(function* () {
          const engine = yield* Engine
          const second = yield* Effect.flip(Layer.build(engineLayer([steps], [], { dbPath })))
          expect(second._tag).toBe("StoreError")
          expect(second.message).toContain(dbPath)
          expect(second.message).toContain(`pid ${process.pid}`)
          yield* engine.start("steps", 2, { id: "still-works" })
          yield* engine.signal("still-works", "go", undefined)
          expect(yield* awaitClosed("still-works")).toBe("completed")
        }).pipe(Effect.provide(first), Effect.scoped)
      }),
    30_000
  )
})
