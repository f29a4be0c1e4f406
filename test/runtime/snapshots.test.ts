/**
 * Snapshots cost what changed since the last one (issue 22 item 10): each is the events since
 * the previous, compacted, so bytes written per snapshot stay bounded as a history grows
 * (counted in bytes, not time); a run rebuilds from them after a restart; older formats are
 * still read, or ignored for a full replay.
 */
import { describe, expect, it } from "@effect/vitest"
import Sqlite from "better-sqlite3"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Schema from "effect/Schema"
import { defineSignal, waitForSignal, workflow } from "../../core"
import { Engine, EngineLive } from "../../runtime"
import { decodeSnapshot } from "../../runtime/snapshot"
import { engineOnWrappedStore, settle, tempDb } from "../support/engine-harness"

const Tick = defineSignal("tick", Schema.Number)
/** Counts ticks until a negative one. */
const counter = workflow("counter", { input: Schema.Null, signals: [Tick] }, function* () {
  let count = 0
  for (;;) {
    const tick = yield* waitForSignal(Tick)
    if (tick < 0) return count
    count += tick
  }
})

/** The real store, counting the bytes of each event and of each snapshot it commits. */
const countingEngine = (dbPath: string, snapshotEvery: number) => {
  const written = {
    events: new Map<number, number>(),
    snapshots: [] as Array<{ readonly seq: number; readonly bytes: number }>
  }
  const layer = engineOnWrappedStore(
    { workflows: [counter], activities: [], snapshotEvery },
    { filename: dbPath },
    (real) => ({
      commit: (writes) =>
        Effect.tap(real.commit(writes), () => {
          for (const e of writes.events) written.events.set(e.seq, Buffer.byteLength(e.body))
          for (const s of writes.snapshots)
            written.snapshots.push({ seq: s.seq, bytes: Buffer.byteLength(s.body) })
        })
    })
  )
  return { written, layer }
}

const tick = (times: number, value = 1, id = "c") =>
  Effect.flatMap(Engine, (engine) =>
    Effect.forEach(
      Array.from({ length: times }, () => value),
      (n) => engine.signal(id, "tick", n),
      { concurrency: 20 }
    )
  )

const engineOn = (dbPath: string, snapshotEvery: number) =>
  EngineLive({ dbPath, workflows: [counter], activities: [], snapshotEvery })

/** A compact event as 0.1 wrote it into a snapshot of format 2. */
const compactV2 = (event: Record<string, unknown>) =>
  event["type"] === "ActivityAttemptFailed"
    ? []
    : event["type"] === "ActivityScheduled"
      ? [{ ...event, input: null, options: {} }]
      : event["type"] === "ChildWorkflowStarted"
        ? [{ ...event, input: null }]
        : [event]

describe("snapshots", () => {
  it.scoped(
    "each snapshot costs the bytes of the events since the previous one, however long the history; a restart rebuilds from them",
    () => {
      const { dbPath } = tempDb("snapshots")
      const counting = countingEngine(dbPath, 50)
      return Effect.gen(function* () {
        yield* Effect.gen(function* () {
          yield* Effect.flatMap(Engine, (engine) => engine.start("counter", null, { id: "c" }))
          yield* tick(1500)
          yield* settle
        }).pipe(Effect.provide(counting.layer))
        const { events, snapshots } = counting.written
        expect(snapshots.length).toBeGreaterThanOrEqual(25)
        let previous = 0
        for (const { seq, bytes } of snapshots) {
          let since = 0
          for (let s = previous + 1; s <= seq; s++) since += events.get(s)!
          // The envelope ({"version":…,"from":…,"seq":…,"events":[…]}) and one comma per event.
          expect(bytes, `the snapshot at seq ${seq}`).toBeLessThanOrEqual(since + (seq - previous) + 64)
          previous = seq
        }
        // Recovery rebuilds the run from its snapshots and the events after the last one.
        const result = yield* Effect.gen(function* () {
          const engine = yield* Engine
          yield* tick(1, -1)
          yield* settle
          return (yield* engine.describe("c")).result
        }).pipe(Effect.provide(engineOn(dbPath, 50)))
        expect(result).toBe(1500)
        // A closed run's snapshots are of no more use: they are gone.
        const db = new Sqlite(dbPath, { readonly: true })
        expect(db.prepare("SELECT count(*) AS n FROM snapshots").get()).toEqual({ n: 0 })
        db.close()
      })
    },
    60_000
  )
  it.scoped("a run's last segment and its close committed in one batch leave no segment behind", () => {
    const { dbPath } = tempDb("last-segment")
    const gate = Effect.runSync(Effect.makeLatch(true))
    const layer = engineOnWrappedStore(
      { workflows: [counter], activities: [], snapshotEvery: 3 },
      { filename: dbPath },
      (real) => ({ commit: (writes) => Effect.zipRight(gate.await, real.commit(writes)) })
    )
    return Effect.gen(function* () {
      yield* Effect.gen(function* () {
        const engine = yield* Engine
        yield* engine.start("counter", null, { id: "c" })
        yield* gate.close
        // A task each, held back: the third takes a segment, the last closes the run.
        const sent = []
        for (const n of [1, 1, 1, -1]) {
          sent.push(yield* Effect.fork(engine.signal("c", "tick", n)))
          yield* settle
        }
        yield* gate.open
        yield* Effect.forEach(sent, Fiber.join)
        yield* settle
        expect((yield* engine.describe("c")).result).toBe(3)
      }).pipe(Effect.provide(layer))
      const db = new Sqlite(dbPath, { readonly: true })
      expect(db.prepare("SELECT count(*) AS n FROM snapshots").get()).toEqual({ n: 0 })
      db.close()
    })
  })

  it.scoped(
    "invariant 3: a snapshot of before 0.2 (format 2) is still read and chained onto; one of format 1 is ignored for a full replay",
    () => {
      const { dbPath } = tempDb("old-snapshots")
      return Effect.gen(function* () {
        yield* Effect.gen(function* () {
          const engine = yield* Engine
          yield* engine.start("counter", null, { id: "v2" })
          yield* engine.start("counter", null, { id: "v1" })
          yield* tick(30, 1, "v2")
          yield* tick(30, 1, "v1")
          yield* settle
        }).pipe(Effect.provide(engineOn(dbPath, 0)))
        // The file as 0.1 left it: one snapshot row per run, the schema stamp 2.
        const db = new Sqlite(dbPath)
        const runOf = (id: string) =>
          (db.prepare("SELECT run_id FROM runs WHERE workflow_id = ?").get(id) as { run_id: string }).run_id
        const historyOf = (runId: string) =>
          (
            db.prepare("SELECT body FROM events WHERE run_id = ? ORDER BY seq").all(runId) as Array<{
              body: string
            }>
          ).map((r) => JSON.parse(r.body) as Record<string, unknown>)
        db.exec("DROP TABLE snapshots")
        db.exec("CREATE TABLE snapshots (run_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, body TEXT NOT NULL)")
        for (const [id, version] of [
          ["v2", 2],
          ["v1", 1]
        ] as const) {
          const runId = runOf(id)
          const events = historyOf(runId)
          const seq = events.length
          const body =
            version === 2
              ? { version, seq, events: events.flatMap(compactV2), open: [] }
              : { version, seq, events: events.flatMap(compactV2) }
          db.prepare("INSERT INTO snapshots (run_id, seq, body) VALUES (?, ?, ?)").run(
            runId,
            seq,
            JSON.stringify(body)
          )
          // History that disagrees with the snapshot: a rebuild that reads the snapshot counts
          // 1 per tick, one that replays the events 100.
          db.prepare(
            "UPDATE events SET body = json_set(body, '$.payload', 100) WHERE run_id = ? AND json_extract(body, '$.type') = 'SignalReceived'"
          ).run(runId)
        }
        db.exec("UPDATE temporal_lite_meta SET value = '2' WHERE key = 'schema_version'")
        db.exec("DELETE FROM effect_sql_migrations WHERE migration_id >= 3")
        db.close()

        // Upgraded: 60 more ticks put a segment after the old snapshot...
        yield* Effect.gen(function* () {
          yield* tick(60, 1, "v2")
          yield* settle
        }).pipe(Effect.provide(engineOn(dbPath, 50)))
        // ...which a restart reads chained onto it: the events it covers are disagreed with too.
        const upgraded = new Sqlite(dbPath)
        const runId = (
          upgraded.prepare("SELECT run_id FROM runs WHERE workflow_id = 'v2'").get() as { run_id: string }
        ).run_id
        const { chained } = upgraded
          .prepare("SELECT max(seq) AS chained FROM snapshots WHERE run_id = ?")
          .get(runId) as {
          chained: number
        }
        const { last } = upgraded
          .prepare("SELECT max(seq) AS last FROM events WHERE run_id = ?")
          .get(runId) as {
          last: number
        }
        upgraded
          .prepare(
            "UPDATE events SET body = json_set(body, '$.payload', 100) WHERE run_id = ? AND seq > 31 AND json_extract(body, '$.type') = 'SignalReceived'"
          )
          .run(runId)
        upgraded.close()
        expect([last, chained > 31]).toEqual([91, true])
        const results = yield* Effect.gen(function* () {
          const engine = yield* Engine
          yield* tick(1, -1, "v2")
          yield* tick(1, -1, "v1")
          yield* settle
          return [(yield* engine.describe("v2")).result, (yield* engine.describe("v1")).result]
        }).pipe(Effect.provide(engineOn(dbPath, 50)))
        // v2: 30 from the old snapshot, 1 per tick its new segment covers, 100 per tick after.
        expect(results).toEqual([30 + (chained - 31) + 100 * (last - chained), 3000])
      })
    },
    60_000
  )

  it("invariant 3: segments chain from seq 1 without a gap; one that does not decode or follow on is skipped", () => {
    const started = {
      type: "WorkflowStarted",
      seq: 1,
      at: 0,
      workflowType: "counter",
      workflowId: "c",
      runId: "r",
      input: null,
      randomSeed: "r"
    }
    const signal = (seq: number) => ({ type: "SignalReceived", seq, at: 0, name: "tick", payload: seq })
    const segment = (from: number, seq: number) => ({
      seq,
      body: JSON.stringify({
        version: 3,
        from,
        seq,
        events: Array.from({ length: seq - from + 1 }, (_, i) =>
          from + i === 1 ? started : signal(from + i)
        )
      })
    })
    const seqsOf = (segments: Parameters<typeof decodeSnapshot>[0]) => {
      const chain = decodeSnapshot(segments)
      return chain && [chain.seq, chain.events.map((e) => e.seq)]
    }
    expect(seqsOf([segment(1, 3), { seq: 5, body: "{not json" }, segment(4, 6)])).toEqual([
      6,
      [1, 2, 3, 4, 5, 6]
    ])
    expect(seqsOf([segment(1, 3), segment(5, 6)])).toEqual([3, [1, 2, 3]])
    expect(seqsOf([segment(2, 3)])).toBeUndefined()
    expect(
      seqsOf([{ seq: 3, body: JSON.stringify({ version: 1, seq: 3, events: [started] }) }])
    ).toBeUndefined()
  })
})
