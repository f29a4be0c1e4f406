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
import { defineSignal, waitForSignal, workflow, type HistoryEvent } from "../../core"
import { Engine, EngineLive } from "../../runtime"
import { OpenActivities } from "../../runtime/activities/open-activities"
import { decodeSnapshot, SnapshotTrail } from "../../runtime/snapshot"
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

describe("snapshot segments, without a store", () => {
  const at = 0
  const history = [
    {
      type: "WorkflowStarted",
      seq: 1,
      at,
      workflowType: "w",
      workflowId: "w",
      runId: "r",
      input: { big: "input" },
      randomSeed: "r"
    },
    {
      type: "ActivityScheduled",
      seq: 2,
      at,
      cmd: 1,
      name: "done",
      input: "x".repeat(100),
      options: { timeoutMs: 5 }
    },
    { type: "ActivityScheduled", seq: 3, at, cmd: 2, name: "open", input: "kept", options: { timeoutMs: 7 } },
    {
      type: "ActivityAttemptFailed",
      seq: 4,
      at,
      cmd: 1,
      attempt: 1,
      error: { name: "E", message: "1" },
      nextRetryAt: 10
    },
    {
      type: "ActivityAttemptFailed",
      seq: 5,
      at,
      cmd: 2,
      attempt: 1,
      error: { name: "E", message: "2" },
      nextRetryAt: 11
    },
    {
      type: "ActivityAttemptFailed",
      seq: 6,
      at,
      cmd: 2,
      attempt: 2,
      error: { name: "E", message: "3" },
      nextRetryAt: 12,
      heartbeat: { at: 3 }
    },
    { type: "ActivityCompleted", seq: 7, at, cmd: 1, attempt: 2, result: "r" },
    {
      type: "ChildWorkflowStarted",
      seq: 8,
      at,
      cmd: 3,
      workflowType: "k",
      workflowId: "k",
      input: { big: "child input" }
    },
    { type: "SignalReceived", seq: 9, at, name: "tick", payload: 1 },
    { type: "SignalReceived", seq: 10, at, name: "tick", payload: 2 }
  ] as unknown as ReadonlyArray<HistoryEvent>

  /** The segments a trail writes at these seqs. */
  const segmentsAt = (...seqs: ReadonlyArray<number>) => {
    const trail = new SnapshotTrail()
    const segments: Array<{ seq: number; body: string }> = []
    for (const event of history) {
      trail.add(event)
      if (seqs.includes(event.seq)) segments.push({ seq: event.seq, body: trail.encode(event.seq) })
    }
    return { trail, segments }
  }

  it("invariant 1: each segment holds the events after the previous one up to its seq, never what an earlier one holds", () => {
    const { segments } = segmentsAt(3, 9, 10)
    expect(
      segments.map((s) => {
        const body = JSON.parse(s.body) as { from: number; seq: number; events: Array<{ seq: number }> }
        return [body.from, body.seq, body.events.map((e) => e.seq)]
      })
    ).toEqual([
      [1, 3, [1, 2, 3]],
      [4, 9, [6, 7, 8, 9]],
      [10, 10, [10]]
    ])
  })

  it("invariant 2: compacting drops attempt failures and empties inputs never read on replay, but an open activity keeps its scheduling and last failure whole", () => {
    const { trail, segments } = segmentsAt(10)
    const snapshot = decodeSnapshot(segments)!
    const bySeq = new Map(snapshot.events.map((e) => [e.seq, e]))
    expect(snapshot.events.map((e) => e.seq)).toEqual([1, 2, 3, 6, 7, 8, 9, 10])
    expect(bySeq.get(2)).toMatchObject({ cmd: 1, input: null, options: {} })
    expect(bySeq.get(3)).toMatchObject({ cmd: 2, input: "kept", options: { timeoutMs: 7 } })
    expect(bySeq.get(6)).toMatchObject({ attempt: 2, nextRetryAt: 12, heartbeat: { at: 3 } })
    expect(bySeq.get(8)).toMatchObject({ workflowId: "k", input: null })
    // The same activities to dispatch again as the whole history gives.
    const ids = { workflowId: "w", runId: "r" }
    const fromHistory = new OpenActivities(history).tasks(ids)
    expect(new OpenActivities(snapshot.events).tasks(ids)).toEqual(fromHistory)
    expect(trail.open.tasks(ids)).toEqual(fromHistory)
    expect(fromHistory.map((t) => [t.cmd, t.failedAttempts, t.notBefore, t.lastHeartbeat])).toEqual([
      [2, 2, 12, { at: 3 }]
    ])
  })
})
