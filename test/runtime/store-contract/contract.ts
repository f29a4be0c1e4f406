/**
 * The store conformance suite: the guarantees of runtime/store/contract.ts, written once and
 * run unchanged against every `WorkflowStore` (sqlite.test.ts, postgres.test.ts). Titles name
 * the contract's invariants. Each test opens a fresh, empty database; the last section runs
 * the engine itself on the store, through the gated store (test/support/gated-store.ts).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { activity, defineSignal, waitForSignal, workflow, type HistoryEvent } from "../../../core"
import { Engine, EngineOnStore, implement, type StoreError } from "../../../runtime"
import { WorkflowStore, type RunRow, type WriteSet } from "../../../runtime/store"
import { awaitClosed, awaitingSignal, settle } from "../../support/engine-harness"
import { onGatedEngine as onGatedEngineOn } from "../../support/gated-store"
import { event, run, started, starting, T0, writes } from "../../support/store-rows"

/** A store implementation under test. */
export interface StoreSubject {
  readonly name: string
  /** A new, empty database: what `open` takes. */
  readonly fresh: Effect.Effect<string>
  readonly open: (location: string) => Layer.Layer<WorkflowStore, StoreError>
  /** How the store's messages name the database at `location`. */
  readonly named: (location: string) => string
  /** Stamps the (already opened once) database with a schema version, as a newer engine would. */
  readonly stampSchemaVersion: (location: string, version: number) => Effect.Effect<void>
  readonly schemaVersion: (location: string) => Effect.Effect<number>
  /** The schema version this engine writes. */
  readonly currentVersion: number
}

const closed = (row: RunRow, status: RunRow["status"], at: number): RunRow => ({
  ...row,
  status,
  closedAt: at,
  updatedAt: at,
  resultJson: status === "completed" ? '"done"' : undefined
})

const completedEvent = (row: RunRow, seq: number, at: number) =>
  event(row.runId, seq, { type: "WorkflowCompleted", result: "done" }, at)

const store = WorkflowStore
const commit = (w: WriteSet) => Effect.flatMap(store, (s) => s.commit(w))
const rowOf = (runId: string) =>
  Effect.flatMap(store, (s) => s.runsByIds([runId])).pipe(Effect.map((rows) => rows[0]))
const currentOf = (workflowId: string) => Effect.flatMap(store, (s) => s.currentRun(workflowId))
const eventsOf = (runId: string, afterSeq?: number) =>
  Effect.flatMap(store, (s) => s.events(runId, afterSeq)).pipe(
    Effect.map((events) => events.map((e) => e.seq))
  )
/** Contract invariant 4 as it reads: one run holds the id, the other stays, closed and retired. */
const currentAndRetired = (workflowId: string, currentRunId: string, retiredRunId: string) =>
  Effect.gen(function* () {
    expect(yield* currentOf(workflowId)).toMatchObject({
      runId: currentRunId,
      current: true,
      status: "running"
    })
    expect(yield* rowOf(retiredRunId)).toMatchObject({ current: false, status: "completed" })
  })
const timersNow = Effect.flatMap(store, (s) => s.timers).pipe(
  Effect.map((timers) => [...timers].sort((a, b) => a.runId.localeCompare(b.runId) || a.cmd - b.cmd))
)

// ---- the engine on the store -------------------------------------------------------------

const Go = defineSignal("go")
const waitsForGo = workflow("waitsForGo", { signals: [Go] }, function* () {
  yield* waitForSignal(Go)
  return "went"
})
const quick = workflow("quick", {}, function* () {
  return "done"
})
const step = activity("contract.step", { input: Schema.Number, output: Schema.Number })
const twoSteps = workflow("twoSteps", { input: Schema.Number }, function* (n) {
  const a = yield* step(n)
  const b = yield* step(a)
  return b
})

export const storeContract = (subject: StoreSubject) => {
  /** A test on a store over a fresh database (given its location, when it needs it). */
  const onStore = <A, E>(
    title: string,
    test: Effect.Effect<A, E, WorkflowStore> | ((location: string) => Effect.Effect<A, E, WorkflowStore>)
  ) =>
    it.live(title, () =>
      Effect.flatMap(subject.fresh, (location) =>
        Effect.provide(typeof test === "function" ? test(location) : test, subject.open(location))
      )
    )

  describe(`${subject.name} store: the WorkflowStore contract`, () => {
    onStore(
      "invariant 3: a run's events read back in seq order, across commits and beside other runs'",
      Effect.gen(function* () {
        const a = run({ runId: "run-a", workflowId: "a" })
        const b = run({ runId: "run-b", workflowId: "b" })
        const text = "ünïcödé ✓ 🚀 \u0000 \\ \" '\n"
        yield* commit(
          writes({
            ...starting(a, b),
            events: [
              started(a),
              started(b),
              event("run-a", 2, { type: "SignalReceived", name: "s", payload: text }),
              event("run-b", 2, { type: "SignalReceived", name: "s", payload: 1 }),
              event("run-a", 3, { type: "SignalReceived", name: "s", payload: 2 })
            ]
          })
        )
        yield* commit(
          writes({
            events: [4, 5].map((seq) =>
              event("run-a", seq, { type: "SignalReceived", name: "s", payload: seq })
            )
          })
        )
        expect(yield* eventsOf("run-a")).toEqual([1, 2, 3, 4, 5])
        expect(yield* eventsOf("run-a", 3)).toEqual([4, 5])
        expect(yield* eventsOf("run-b")).toEqual([1, 2])
        expect(yield* eventsOf("nobody")).toEqual([])
        const s = yield* store
        const second = (yield* s.events("run-a"))[1] as Extract<HistoryEvent, { type: "SignalReceived" }>
        expect(second).toEqual({ type: "SignalReceived", name: "s", payload: text, seq: 2, at: T0 + 2 })
        const histories = yield* s.historiesOf([
          { runId: "run-a", afterSeq: 2 },
          { runId: "run-b", afterSeq: 0 },
          { runId: "nobody", afterSeq: 0 }
        ])
        expect([...histories.keys()].sort()).toEqual(["run-a", "run-b"])
        expect(histories.get("run-a")!.map((e) => e.seq)).toEqual([3, 4, 5])
        expect(histories.get("run-b")!.map((e) => e.seq)).toEqual([1, 2])
      })
    )

    onStore(
      "invariants 1 and 2: a commit with a seq written twice fails whole, leaving nothing of it; the store goes on",
      Effect.gen(function* () {
        const a = run({ runId: "run-a", workflowId: "a" })
        yield* commit(
          writes({
            ...starting(a),
            timersAdd: [{ runId: "run-a", cmd: 1, fireAt: T0 + 100 }]
          })
        )
        const b = run({ runId: "run-b", workflowId: "b" })
        const failed = yield* Effect.flip(
          commit(
            writes({
              ...starting(b),
              runsChanged: [{ ...a, status: "stuck", divergenceJson: "{}" }],
              events: [started(b), event("run-a", 1, { type: "WorkflowStarted" })],
              timersAdd: [{ runId: "run-b", cmd: 1, fireAt: T0 + 5 }],
              timersDelete: [{ runId: "run-a", cmd: 1 }],
              snapshots: [{ runId: "run-a", seq: 1, body: "snapshot" }],
              flags: [{ runId: "run-a", cancelRequested: 2 }]
            })
          )
        )
        expect(failed._tag).toBe("StoreError")
        expect(yield* rowOf("run-b")).toBeUndefined()
        expect(yield* currentOf("b")).toBeUndefined()
        expect(yield* eventsOf("run-b")).toEqual([])
        expect(yield* rowOf("run-a")).toMatchObject({ status: "running", cancelRequested: 0 })
        expect(yield* timersNow).toEqual([{ runId: "run-a", cmd: 1, fireAt: T0 + 100 }])
        expect((yield* (yield* store).snapshotsOf(["run-a"])).size).toBe(0)
        // The same writes without the duplicate go through.
        yield* commit(writes({ ...starting(b), timersAdd: [{ runId: "run-b", cmd: 1, fireAt: T0 + 5 }] }))
        expect((yield* currentOf("b"))?.runId).toBe("run-b")
      })
    )

    onStore(
      "invariant 2: a write set whose data breaks a constraint fails with Rejected naming the cause, again when retried; the store goes on",
      (location) =>
        Effect.gen(function* () {
          const a = run({ runId: "run-a", workflowId: "a" })
          yield* commit(starting(a))
          // A seq stored already, and a second open run under a's id.
          const repeated = writes({ events: [event("run-a", 1, { type: "WorkflowStarted" })] })
          const second = starting(run({ runId: "run-a2", workflowId: "a" }))
          for (const refused of [repeated, repeated, second]) {
            const failed = yield* Effect.flip(commit(refused))
            expect(failed.reason).toBe("Rejected")
            expect(failed.message).toContain("write refused (")
            expect(failed.message).toContain(subject.named(location))
          }
          expect(yield* eventsOf("run-a")).toEqual([1])
          expect(yield* rowOf("run-a2")).toBeUndefined()
          yield* commit(
            writes({ events: [event("run-a", 2, { type: "SignalReceived", name: "s", payload: 1 })] })
          )
          expect(yield* eventsOf("run-a")).toEqual([1, 2])
        })
    )

    onStore(
      "invariant 1: one commit writes the rows, events, timers, snapshots and flags of several runs together",
      Effect.gen(function* () {
        const parent = run({ runId: "run-p", workflowId: "p" })
        const child = run({
          runId: "run-c",
          workflowId: "c",
          parent: { workflowId: "p", runId: "run-p", cmd: 1 }
        })
        yield* commit(starting(parent))
        yield* commit(
          writes({
            ...starting(child),
            events: [
              event("run-p", 2, { type: "ChildWorkflowStarted", cmd: 1, workflowId: "c" }),
              event("run-p", 3, { type: "TimerStarted", cmd: 2, fireAt: T0 + 60_000 }),
              started(child)
            ],
            timersAdd: [{ runId: "run-p", cmd: 2, fireAt: T0 + 60_000 }],
            snapshots: [{ runId: "run-p", seq: 3, body: "p@3" }],
            flags: [{ runId: "run-c", cancelRequested: 1 }]
          })
        )
        const s = yield* store
        expect(yield* eventsOf("run-p")).toEqual([1, 2, 3])
        expect(yield* eventsOf("run-c")).toEqual([1])
        expect(yield* timersNow).toEqual([{ runId: "run-p", cmd: 2, fireAt: T0 + 60_000 }])
        expect(yield* s.snapshotsOf(["run-p"])).toEqual(new Map([["run-p", [{ seq: 3, body: "p@3" }]]]))
        expect(yield* rowOf("run-c")).toMatchObject({ cancelRequested: 1, parent: child.parent })
      })
    )

    onStore(
      "invariant 4: a new run under a closed run's id becomes current; the old one stays, retired",
      Effect.gen(function* () {
        const first = run({ runId: "run-1", workflowId: "x" })
        yield* commit(starting(first))
        yield* commit(
          writes({
            runsChanged: [closed(first, "completed", T0 + 10)],
            events: [completedEvent(first, 2, T0 + 10)]
          })
        )
        expect((yield* currentOf("x"))?.runId).toBe("run-1")
        const second = run({ runId: "run-2", workflowId: "x", createdAt: T0 + 20, updatedAt: T0 + 20 })
        yield* commit(starting(second))
        yield* currentAndRetired("x", "run-2", "run-1")
        expect(yield* rowOf("run-1")).toMatchObject({ resultJson: '"done"' })
        const listed = yield* (yield* store).listRuns({ limit: 10 })
        expect(listed.map((r) => r.runId)).toEqual(["run-2"])
      })
    )

    onStore(
      "invariant 4: a run that closes and a new run under its id in one commit leave the new one current (a7f194a)",
      Effect.gen(function* () {
        const first = run({ runId: "run-1", workflowId: "x" })
        yield* commit(starting(first))
        const second = run({ runId: "run-2", workflowId: "x", createdAt: T0 + 5, updatedAt: T0 + 5 })
        yield* commit(
          writes({
            retire: ["x"],
            runsChanged: [closed(first, "completed", T0 + 5)],
            runsAdded: [second],
            events: [completedEvent(first, 2, T0 + 5), started(second)]
          })
        )
        yield* currentAndRetired("x", "run-2", "run-1")
      })
    )

    onStore(
      "invariant 4: two runs added under one id in one commit, the first already closed, leave the second current (95a5e11)",
      Effect.gen(function* () {
        const first = closed(run({ runId: "run-1", workflowId: "q" }), "completed", T0)
        const second = run({ runId: "run-2", workflowId: "q", createdAt: T0 + 1, updatedAt: T0 + 1 })
        yield* commit(
          writes({
            retire: ["q", "q"],
            runsAdded: [first, second],
            events: [started(first), completedEvent(first, 2, T0), started(second)]
          })
        )
        yield* currentAndRetired("q", "run-2", "run-1")
      })
    )

    onStore(
      "invariant 4: retiring leaves an open run current, so a second open run under its id fails the whole commit",
      Effect.gen(function* () {
        const first = run({ runId: "run-1", workflowId: "x" })
        const other = run({ runId: "run-o", workflowId: "o" })
        yield* commit(starting(first))
        const stuck = { ...first, status: "stuck" as const, divergenceJson: '{"cmd":1}' }
        yield* commit(writes({ runsChanged: [stuck] }))
        const failed = yield* Effect.flip(commit(starting(run({ runId: "run-2", workflowId: "x" }), other)))
        expect(failed._tag).toBe("StoreError")
        expect(yield* currentOf("x")).toMatchObject({ runId: "run-1", status: "stuck", current: true })
        expect(yield* rowOf("run-2")).toBeUndefined()
        expect(yield* rowOf("run-o")).toBeUndefined()
      })
    )

    onStore(
      "invariant 5: a row reads back as written, its last seq, event type and time taken from its last event",
      Effect.gen(function* () {
        const row = run({
          runId: "run-1",
          workflowId: "x",
          type: "child type",
          inputJson: '{"n":1,"s":"é"}',
          parent: { workflowId: "p", runId: "run-p", cmd: 7 },
          createdAt: T0 + 1
        })
        yield* commit(starting(row))
        expect(yield* rowOf("run-1")).toEqual({ ...row, updatedAt: T0 + 1 })
        // Steps alone write no row: the row reads its progress from the last event.
        yield* commit(writes({ events: [event("run-1", 2, { type: "TimerStarted", cmd: 1 }, T0 + 50)] }))
        yield* commit(writes({ events: [event("run-1", 3, { type: "TimerFired", cmd: 1 }, T0 + 90)] }))
        const progressed = { ...row, lastSeq: 3, lastEventType: "TimerFired", updatedAt: T0 + 90 }
        const s = yield* store
        expect(yield* rowOf("run-1")).toEqual(progressed)
        expect(yield* currentOf("x")).toEqual(progressed)
        expect(yield* s.openRuns).toEqual([progressed])
        expect(yield* s.listRuns({ limit: 5 })).toEqual([progressed])
        const failed = {
          ...progressed,
          status: "failed" as const,
          error: { name: "Boom", message: "it broke", details: { code: 3 } },
          closedAt: T0 + 99,
          lastSeq: 4,
          lastEventType: "WorkflowFailed",
          updatedAt: T0 + 99
        }
        yield* commit(
          writes({
            runsChanged: [failed],
            events: [event("run-1", 4, { type: "WorkflowFailed", error: failed.error }, T0 + 99)]
          })
        )
        expect(yield* rowOf("run-1")).toEqual(failed)
        expect(yield* s.openRuns).toEqual([])
      })
    )

    onStore(
      "invariant 5: a run added and changed in one commit is stored as it ends up, as is one changed twice",
      Effect.gen(function* () {
        const a = run({ runId: "run-a", workflowId: "a" })
        const b = run({ runId: "run-b", workflowId: "b" })
        yield* commit(starting(b))
        yield* commit(
          writes({
            ...starting(a),
            runsChanged: [
              closed(a, "completed", T0 + 3),
              { ...b, status: "stuck", divergenceJson: "first" },
              { ...b, status: "stuck", divergenceJson: "second" }
            ]
          })
        )
        expect(yield* rowOf("run-a")).toMatchObject({
          status: "completed",
          closedAt: T0 + 3,
          current: true
        })
        expect(yield* rowOf("run-b")).toMatchObject({ status: "stuck", divergenceJson: "second" })
      })
    )

    onStore(
      "invariant 5: a changed row never steps a flag back; a flag write only raises the cancel state",
      Effect.gen(function* () {
        const child = run({
          runId: "run-c",
          workflowId: "c",
          parent: { workflowId: "p", runId: "run-p", cmd: 1 }
        })
        yield* commit(starting(child))
        yield* commit(writes({ flags: [{ runId: "run-c", cancelRequested: 1 }] }))
        expect(yield* rowOf("run-c")).toMatchObject({ cancelRequested: 1, parentNotified: false })
        // A row of the child built before the parent's request arrived does not undo it.
        yield* commit(writes({ runsChanged: [{ ...child, status: "stuck" }] }))
        expect(yield* rowOf("run-c")).toMatchObject({ status: "stuck", cancelRequested: 1 })
        yield* commit(writes({ runsChanged: [{ ...child, cancelRequested: 2 }] }))
        yield* commit(writes({ flags: [{ runId: "run-c", cancelRequested: 1, parentNotified: true }] }))
        expect(yield* rowOf("run-c")).toMatchObject({ cancelRequested: 2, parentNotified: true })
        yield* commit(
          writes({ runsChanged: [{ ...closed(child, "cancelled", T0 + 9), cancelRequested: 0 }] })
        )
        expect(yield* rowOf("run-c")).toMatchObject({
          status: "cancelled",
          cancelRequested: 2,
          parentNotified: true
        })
      })
    )

    onStore(
      "pending timers: added, replaced (the last kept), deleted, read back all at once",
      Effect.gen(function* () {
        const a = run({ runId: "run-a", workflowId: "a" })
        yield* commit(
          writes({
            ...starting(a),
            timersAdd: [
              { runId: "run-a", cmd: 1, fireAt: T0 + 10 },
              { runId: "run-a", cmd: 2, fireAt: T0 + 20 },
              { runId: "run-a", cmd: 2, fireAt: T0 + 25 },
              { runId: "run-a", cmd: 3, fireAt: T0 + 30 }
            ],
            timersDelete: [{ runId: "run-a", cmd: 3 }]
          })
        )
        expect(yield* timersNow).toEqual([
          { runId: "run-a", cmd: 1, fireAt: T0 + 10 },
          { runId: "run-a", cmd: 2, fireAt: T0 + 25 }
        ])
        yield* commit(
          writes({
            timersDelete: [{ runId: "run-a", cmd: 1 }],
            timersAdd: [{ runId: "run-a", cmd: 2, fireAt: T0 + 40 }]
          })
        )
        expect(yield* timersNow).toEqual([{ runId: "run-a", cmd: 2, fireAt: T0 + 40 }])
      })
    )

    onStore(
      "invariant 5: a run's snapshot segments read back in seq order, several runs at once; a segment written twice keeps the last",
      Effect.gen(function* () {
        const a = run({ runId: "run-a", workflowId: "a" })
        const b = run({ runId: "run-b", workflowId: "b" })
        yield* commit(writes({ ...starting(a, b), snapshots: [{ runId: "run-a", seq: 1, body: "a@1" }] }))
        yield* commit(
          writes({
            snapshots: [
              { runId: "run-b", seq: 200, body: "b@200" },
              { runId: "run-a", seq: 100, body: "a@100, first" },
              { runId: "run-b", seq: 100, body: "b@100" },
              { runId: "run-a", seq: 100, body: "a@100" }
            ]
          })
        )
        yield* commit(writes({ snapshots: [{ runId: "run-a", seq: 50, body: "a@50" }] }))
        const snapshots = yield* (yield* store).snapshotsOf(["run-a", "run-b", "nobody"])
        expect(snapshots).toEqual(
          new Map([
            [
              "run-a",
              [
                { seq: 1, body: "a@1" },
                { seq: 50, body: "a@50" },
                { seq: 100, body: "a@100" }
              ]
            ],
            [
              "run-b",
              [
                { seq: 100, body: "b@100" },
                { seq: 200, body: "b@200" }
              ]
            ]
          ])
        )
      })
    )

    onStore(
      "invariant 5: a run in snapshotsDropped keeps no segment, also when its last one is in the same commit; other runs keep theirs",
      Effect.gen(function* () {
        const a = run({ runId: "run-a", workflowId: "a" })
        const b = run({ runId: "run-b", workflowId: "b" })
        const c = run({ runId: "run-c", workflowId: "c" })
        yield* commit(
          writes({
            ...starting(a, b, c),
            snapshots: [
              { runId: "run-a", seq: 1, body: "a@1" },
              { runId: "run-b", seq: 1, body: "b@1" },
              { runId: "run-c", seq: 1, body: "c@1" }
            ]
          })
        )
        // a closes alone; b's last segment and its close share one commit.
        yield* commit(
          writes({
            runsChanged: [closed(a, "completed", T0 + 2), closed(b, "completed", T0 + 2)],
            events: [completedEvent(a, 2, T0 + 2), completedEvent(b, 2, T0 + 2)],
            snapshots: [{ runId: "run-b", seq: 2, body: "b@2" }],
            snapshotsDropped: ["run-a", "run-b"]
          })
        )
        expect(yield* (yield* store).snapshotsOf(["run-a", "run-b", "run-c"])).toEqual(
          new Map([["run-c", [{ seq: 1, body: "c@1" }]]])
        )
      })
    )

    onStore(
      "history facts: LLM calls are completions reporting usage.totalTokens as a number; failed attempts, the highest per cmd",
      Effect.gen(function* () {
        const a = run({ runId: "run-a", workflowId: "a" })
        const completed = (seq: number, cmd: number, result: unknown) =>
          event("run-a", seq, { type: "ActivityCompleted", cmd, attempt: 1, result })
        const attemptFailed = (seq: number, cmd: number, attempt: number) =>
          event("run-a", seq, {
            type: "ActivityAttemptFailed",
            cmd,
            attempt,
            error: { name: "E", message: "m" }
          })
        yield* commit(
          writes({
            ...starting(a),
            events: [
              started(a),
              completed(2, 1, { usage: { totalTokens: 120 } }),
              completed(3, 2, { usage: { totalTokens: 30.5 } }),
              completed(4, 3, { usage: { totalTokens: "many" } }),
              completed(5, 4, 42),
              attemptFailed(6, 5, 1),
              attemptFailed(7, 5, 2),
              attemptFailed(8, 6, 1),
              event("run-a", 9, {
                type: "SignalReceived",
                name: "usage",
                payload: { usage: { totalTokens: 5 } }
              })
            ]
          })
        )
        const s = yield* store
        const facts = yield* s.historyFacts("run-a")
        expect(facts.llmUsage).toEqual({ calls: 2, totalTokens: 150.5 })
        expect(facts.failedAttempts).toEqual(
          new Map([
            [5, 2],
            [6, 1]
          ])
        )
        const none = yield* s.historyFacts("nobody")
        expect(none.llmUsage).toEqual({ calls: 0, totalTokens: 0 })
        expect(none.failedAttempts.size).toBe(0)
      })
    )

    onStore(
      "listing: current runs newest first (creation time, then run id in byte order), filtered (id prefix, close time too), paged by a cursor",
      Effect.gen(function* () {
        // Ties on creation time are broken by run id, compared as bytes ("B" < "_" < "a").
        const rows = [
          run({ runId: "r-1", workflowId: "w1", createdAt: T0 + 1, type: "alpha" }),
          run({ runId: "r-B", workflowId: "w2", createdAt: T0 + 2, type: "beta" }),
          run({ runId: "r-_", workflowId: "w3", createdAt: T0 + 2, type: "alpha" }),
          run({ runId: "r-a", workflowId: "w4", createdAt: T0 + 2, type: "alpha" }),
          run({ runId: "r-5", workflowId: "w5", createdAt: T0 + 3, type: "beta" }),
          run({ runId: "r-6", workflowId: "w6", createdAt: T0 + 4, type: "alpha" })
        ]
        yield* commit(starting(...rows))
        yield* commit(
          writes({
            runsChanged: [closed(rows[4]!, "completed", T0 + 9), closed(rows[2]!, "failed", T0 + 9)]
          })
        )
        // A retired run is not listed.
        const retired = closed(
          run({ runId: "r-0", workflowId: "w6-old", createdAt: T0 + 5 }),
          "completed",
          T0 + 5
        )
        yield* commit(starting(retired))
        yield* commit(starting(run({ runId: "r-7", workflowId: "w6-old", createdAt: T0 + 6, type: "alpha" })))
        const s = yield* store
        const ids = (list: ReadonlyArray<RunRow>) => list.map((r) => r.runId)
        expect(ids(yield* s.listRuns({ limit: 100 }))).toEqual([
          "r-7",
          "r-6",
          "r-5",
          "r-a",
          "r-_",
          "r-B",
          "r-1"
        ])
        const page1 = yield* s.listRuns({ limit: 3 })
        expect(ids(page1)).toEqual(["r-7", "r-6", "r-5"])
        const page2 = yield* s.listRuns({ limit: 3, before: page1[2] })
        expect(ids(page2)).toEqual(["r-a", "r-_", "r-B"])
        const page3 = yield* s.listRuns({ limit: 3, before: page2[2] })
        expect(ids(page3)).toEqual(["r-1"])
        expect(ids(yield* s.listRuns({ limit: 100, status: "running" }))).toEqual([
          "r-7",
          "r-6",
          "r-a",
          "r-B",
          "r-1"
        ])
        expect(ids(yield* s.listRuns({ limit: 100, type: "alpha", status: "running" }))).toEqual([
          "r-7",
          "r-6",
          "r-a",
          "r-1"
        ])
        expect(
          ids(yield* s.listRuns({ limit: 2, type: "beta", before: { createdAt: T0 + 3, runId: "r-5" } }))
        ).toEqual(["r-B"])
        // Search: an id prefix taken byte for byte (no wildcards), a close-time range.
        expect(ids(yield* s.listRuns({ limit: 100, idPrefix: "w6" }))).toEqual(["r-7", "r-6"])
        expect(ids(yield* s.listRuns({ limit: 100, idPrefix: "w_" }))).toEqual([])
        expect(ids(yield* s.listRuns({ limit: 100, closedAfter: T0 + 9 }))).toEqual(["r-5", "r-_"])
        expect(ids(yield* s.listRuns({ limit: 100, closedAfter: T0 + 9, closedBefore: T0 + 9 }))).toEqual([])
        expect(ids(yield* s.listRuns({ limit: 100, closedBefore: T0 + 10, type: "beta" }))).toEqual(["r-5"])
      })
    )

    onStore(
      "recovery's reads: open runs, unnotified closed children, orphans, and cancels a continued run inherited",
      Effect.gen(function* () {
        const ofParent = (
          runId: string,
          workflowId: string,
          parentRunId: string,
          over: Partial<RunRow> = {}
        ) =>
          run({
            runId,
            workflowId,
            parent: { workflowId: `wf-${parentRunId}`, runId: parentRunId, cmd: 1 },
            ...over
          })
        const rows: Array<RunRow> = [
          run({ runId: "p-open", workflowId: "wf-p-open" }),
          closed(run({ runId: "p-closed", workflowId: "wf-p-closed" }), "completed", T0),
          run({ runId: "stuck", workflowId: "stuck", status: "stuck" }),
          // Children of the open parent.
          closed(ofParent("c-done", "c-done", "p-open"), "failed", T0),
          { ...closed(ofParent("c-told", "c-told", "p-open"), "completed", T0), parentNotified: true },
          // A chain continued as new: its first run was asked to cancel after it continued.
          {
            ...closed(ofParent("c-chain-1", "c-chain", "p-open"), "continued-as-new", T0),
            current: false,
            cancelRequested: 1 as const
          },
          ofParent("c-chain-2", "c-chain", "p-open"),
          // The same, but the new run recorded the cancel.
          {
            ...closed(ofParent("c-seen-1", "c-seen", "p-open"), "continued-as-new", T0),
            current: false,
            cancelRequested: 1 as const
          },
          ofParent("c-seen-2", "c-seen", "p-open", { cancelRequested: 2 }),
          // A child of the closed parent, still open: an orphan.
          ofParent("c-orphan", "c-orphan", "p-closed"),
          closed(ofParent("c-closed-orphan", "c-closed-orphan", "p-closed"), "cancelled", T0)
        ]
        yield* commit(
          writes({
            runsAdded: rows,
            events: rows.map(started)
          })
        )
        const s = yield* store
        expect((yield* s.openRuns).map((r) => r.runId).sort()).toEqual(
          ["c-chain-2", "c-orphan", "c-seen-2", "p-open", "stuck"].sort()
        )
        expect((yield* s.unnotifiedChildren).map((r) => r.runId).sort()).toEqual([
          "c-closed-orphan",
          "c-done"
        ])
        expect(yield* s.orphans).toEqual(["c-orphan"])
        expect(yield* s.inheritedCancels).toEqual(["c-chain-2"])
      })
    )

    it.live(
      "invariant 6: a second store on a held database is refused with Locked, naming it; released, it opens",
      () =>
        Effect.gen(function* () {
          const location = yield* subject.fresh
          yield* Effect.scoped(
            Effect.gen(function* () {
              const held = yield* Layer.build(subject.open(location))
              const refused = yield* Effect.flip(Effect.scoped(Layer.build(subject.open(location))))
              expect(refused.reason).toBe("Locked")
              expect(refused.message).toContain(subject.named(location))
              expect(refused.message).toContain("in use by another Temporal Lite engine")
              // The holder still writes.
              yield* Effect.provide(commit(starting(run({ runId: "run-a", workflowId: "a" }))), held)
            })
          )
          // Released: a new store opens and finds what the first wrote.
          const reopened = yield* Effect.provide(currentOf("a"), subject.open(location))
          expect(reopened?.runId).toBe("run-a")
        })
    )

    it.live(
      "invariant 7: a database a newer engine stamped is refused naming both versions, and left as it was",
      () =>
        Effect.gen(function* () {
          const location = yield* subject.fresh
          yield* Effect.provide(
            commit(starting(run({ runId: "run-a", workflowId: "a" }))),
            subject.open(location)
          )
          yield* subject.stampSchemaVersion(location, 99)
          const refused = yield* Effect.flip(Effect.scoped(Layer.build(subject.open(location))))
          expect(refused.reason).toBe("NewerSchema")
          expect(refused.message).toContain(subject.named(location))
          expect(refused.message).toContain(
            `schema version 99, newer than this engine's ${subject.currentVersion}`
          )
          expect(yield* subject.schemaVersion(location)).toBe(99)
          yield* subject.stampSchemaVersion(location, subject.currentVersion)
          const reopened = yield* Effect.provide(currentOf("a"), subject.open(location))
          expect(reopened?.runId).toBe("run-a")
        })
    )
  })

  describe(`${subject.name} store: the engine on it`, () => {
    // The shared harness on a fresh database of this store.
    const onGatedEngine = <A, E>(
      ...[workflows, activities, test]: Parameters<typeof onGatedEngineOn<A, E>>
    ) =>
      Effect.flatMap(subject.fresh, (location) =>
        onGatedEngineOn(workflows, activities, test, subject.open(location))
      )

    it.live("a run that closes and a new run under its id, in one commit: the old one is retired first", () =>
      onGatedEngine([waitsForGo], [], (control) =>
        Effect.gen(function* () {
          const engine = yield* Engine
          yield* engine.start("waitsForGo", undefined, { id: "other" })
          const first = yield* engine.start("waitsForGo", undefined, { id: "again" })
          yield* awaitingSignal("again")
          yield* control.gate.close
          // Another run's commit holds the gate: what follows gathers into the next one.
          const held = yield* Effect.fork(engine.signal("other", "go", undefined))
          yield* settle
          const went = yield* Effect.fork(engine.signal("again", "go", undefined))
          yield* settle
          // Closed in memory, not yet in the store: the id is free for a new run.
          const second = yield* Effect.fork(engine.start("waitsForGo", undefined, { id: "again" }))
          yield* settle
          yield* control.gate.open
          yield* Effect.all([Fiber.join(held), Fiber.join(went)])
          const started = yield* Fiber.join(second)
          expect(started.runId).not.toBe(first.runId)
          expect((yield* engine.describe("again")).runId).toBe(started.runId)
        })
      )
    )

    it.live(
      "a run started and closed, and a new start under its id, in one commit: the first is retired",
      () =>
        onGatedEngine([waitsForGo, quick], [], (control) =>
          Effect.gen(function* () {
            const engine = yield* Engine
            yield* engine.start("waitsForGo", undefined, { id: "other" })
            yield* awaitingSignal("other")
            yield* control.gate.close
            // Another run's commit holds the gate: what follows gathers into the next one.
            const held = yield* Effect.fork(engine.signal("other", "go", undefined))
            yield* settle
            // Completed in its first task: closed in memory, so the id is free for the next start.
            const first = yield* Effect.fork(engine.start("quick", undefined, { id: "q" }))
            yield* settle
            const second = yield* Effect.fork(engine.start("quick", undefined, { id: "q" }))
            yield* settle
            yield* control.gate.open
            yield* Fiber.join(held)
            yield* Fiber.join(first)
            const started = yield* Fiber.join(second)
            expect((yield* engine.describe("q")).runId).toBe(started.runId)
          })
        )
    )

    it.live(
      "failure injection: a completion whose commit fails is recorded once when it comes again; the run finishes",
      () => {
        let calls = 0
        const stepImpl = implement(step, (n) => {
          calls++
          return n + 1
        })
        return onGatedEngine([twoSteps], [stepImpl], (control) =>
          Effect.gen(function* () {
            const engine = yield* Engine
            control.failEventMatching = '"type":"ActivityCompleted"'
            yield* engine.start("twoSteps", 1, { id: "steps" })
            expect(yield* awaitClosed("steps")).toBe("completed")
            expect((yield* engine.describe("steps")).result).toBe(3)
            const history = (yield* engine.history("steps")).events as ReadonlyArray<HistoryEvent>
            expect(history.map((e) => e.type)).toEqual([
              "WorkflowStarted",
              "ActivityScheduled",
              "ActivityCompleted",
              "ActivityScheduled",
              "ActivityCompleted",
              "WorkflowCompleted"
            ])
            // The failed commit's completion came back from memory: the activity did not run again.
            expect(calls).toBe(2)
          })
        )
      }
    )

    it.live(
      "a second engine on the store, after the first is released, resumes what the first left waiting",
      () =>
        Effect.gen(function* () {
          const location = yield* subject.fresh
          const engineOn = () =>
            EngineOnStore({ workflows: [waitsForGo], activities: [] }).pipe(
              Layer.provide(subject.open(location))
            )
          yield* Effect.provide(
            Effect.gen(function* () {
              const engine = yield* Engine
              yield* engine.start("waitsForGo", undefined, { id: "later" })
              yield* awaitingSignal("later")
            }),
            engineOn()
          )
          yield* Effect.provide(
            Effect.gen(function* () {
              const engine = yield* Engine
              yield* awaitingSignal("later")
              yield* engine.signal("later", "go", undefined)
              expect(yield* awaitClosed("later")).toBe("completed")
              expect((yield* engine.describe("later")).result).toBe("went")
            }),
            engineOn()
          )
        })
    )
  })
}
