/**
 * Group commit (runtime/store/group-commit.ts): on a scripted store, what reaches the store, in
 * which batches and order, and when each submission hears of it; on the engine, one refused
 * write among others (issue 22 item 2). Titles name the module's invariants.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import { defineSignal, waitForSignal, workflow } from "../../core"
import { Engine, StoreError } from "../../runtime"
import {
  emptyWriteSet,
  makeGroupCommitter,
  WorkflowStore,
  type Submission,
  type WriteSet
} from "../../runtime/store"
import { capturedLogs } from "../support/captured-logs"
import { engineOnWrappedStore, settle, tempDb } from "../support/engine-harness"

/** A store whose commits are recorded and answered by `answer` (every other operation is a bug here). */
const scriptedStore = (answer: (writes: WriteSet) => Effect.Effect<void, StoreError>) => {
  const commits: Array<ReadonlyArray<string>> = []
  const unused = Effect.dieMessage("not used by the group commit")
  const store = WorkflowStore.of({
    commit: (writes) =>
      Effect.suspend(() => {
        commits.push(writes.events.map((e) => e.body))
        return answer(writes)
      }),
    currentRun: () => unused,
    runsByIds: () => unused,
    snapshotsOf: () => unused,
    historiesOf: () => unused,
    openRuns: unused,
    events: () => unused,
    historyFacts: () => unused,
    timers: unused,
    listRuns: () => unused,
    unnotifiedChildren: unused,
    orphans: unused,
    inheritedCancels: unused
  })
  return { store, commits }
}

/** A submission of one event (body `name`) that logs what happens to it. */
const submission = (name: string, log: Array<string>, valid = true): Submission => ({
  writes: { ...emptyWriteSet(), events: [{ runId: "r", seq: 1, body: name }] },
  acks: [(exit) => log.push(`${name} ack ${Exit.isSuccess(exit) ? "ok" : (exit.cause as any).error.reason}`)],
  afterCommit: () => log.push(`${name} after`),
  onFailure: (error) => log.push(`${name} failed ${error.reason}`),
  isValid: () => valid
})

const committer = (answer: (writes: WriteSet) => Effect.Effect<void, StoreError>) =>
  Effect.gen(function* () {
    const { store, commits } = scriptedStore(answer)
    const { submit, flush } = yield* makeGroupCommitter.pipe(Effect.provideService(WorkflowStore, store))
    return { submit, flush, commits }
  })

const Note = defineSignal("note", Schema.String)
const inbox = workflow("inbox", { input: Schema.Null, signals: [Note] }, function* () {
  return yield* waitForSignal(Note)
})

/**
 * The real store, its commits held while `gate` is closed, refusing (as SQLite refuses a
 * write that breaks a constraint) every commit holding an event of workflow `refused`;
 * `attempts` lists the workflow ids of each commit tried, and whether it went through.
 */
const refusingEngine = (refused: string) => {
  const control = {
    gate: Effect.runSync(Effect.makeLatch(true)),
    attempts: [] as Array<readonly [ReadonlyArray<string>, "committed" | "refused"]>
  }
  const idsOf = (events: ReadonlyArray<{ readonly body: string }>) => [
    ...new Set(events.map((e) => (JSON.parse(e.body) as { workflowId: string }).workflowId))
  ]
  const layer = engineOnWrappedStore(
    { workflows: [inbox], activities: [] },
    { filename: tempDb("refusing").dbPath },
    (real) => ({
      commit: (writes) =>
        Effect.gen(function* () {
          yield* control.gate.await
          const ids = idsOf(writes.events)
          if (ids.includes(refused)) {
            control.attempts.push([ids, "refused"])
            return yield* new StoreError({
              reason: "Rejected",
              message: "commit failed: write refused (SQLITE_CONSTRAINT_UNIQUE: UNIQUE constraint failed)"
            })
          }
          yield* real.commit(writes)
          control.attempts.push([ids, "committed"])
        })
    })
  )
  return { control, layer }
}

describe("group commit", () => {
  it.live("invariant 1: what is submitted in one turn shares one commit, in submission order", () =>
    Effect.gen(function* () {
      const { submit, flush, commits } = yield* committer(() => Effect.void)
      const log: Array<string> = []
      for (const name of ["a", "b", "c"]) submit(submission(name, log))
      yield* flush
      submit(submission("d", log))
      yield* flush
      // The flush's own marker is an empty write set: it joins the batch before it, or is one alone.
      expect(commits.filter((c) => c.length > 0)).toEqual([["a", "b", "c"], ["d"]])
      expect(log).toEqual([
        "a after",
        "a ack ok",
        "b after",
        "b ack ok",
        "c after",
        "c ack ok",
        "d after",
        "d ack ok"
      ])
    }).pipe(Effect.scoped)
  )

  it.live("invariant 1: a batch holds at most 2,000 submissions; the rest commit next, in order", () =>
    Effect.gen(function* () {
      const { submit, flush, commits } = yield* committer(() => Effect.void)
      const log: Array<string> = []
      for (let i = 0; i < 2500; i++) submit(submission(String(i), log))
      yield* flush
      const sizes = commits.filter((c) => c.length > 0).map((c) => c.length)
      expect(sizes).toEqual([2000, 500])
      expect(commits.flat()).toEqual(Array.from({ length: 2500 }, (_, i) => String(i)))
    }).pipe(Effect.scoped)
  )

  it.live("invariant 2: nothing follows a commit before the store has answered", () =>
    Effect.gen(function* () {
      const release = yield* Deferred.make<void>()
      const { submit, commits } = yield* committer(() => Deferred.await(release))
      const log: Array<string> = []
      submit(submission("a", log))
      yield* settle
      expect(commits).toEqual([["a"]])
      expect(log).toEqual([])
      // Submitted while the first commit is in flight: the next batch.
      submit(submission("b", log))
      yield* settle
      expect(commits).toEqual([["a"]])
      yield* Deferred.succeed(release, undefined)
      yield* settle
      expect(commits).toEqual([["a"], ["b"]])
      expect(log).toEqual(["a after", "a ack ok", "b after", "b ack ok"])
    }).pipe(Effect.scoped)
  )

  it.live(
    "invariant 2: a failed commit fails every submission in it with the store's error, and runs no afterCommit",
    () =>
      Effect.gen(function* () {
        let fail = true
        const { submit, flush } = yield* committer(() =>
          fail ? Effect.fail(new StoreError({ reason: "Io", message: "disk full" })) : Effect.void
        )
        const log: Array<string> = []
        submit(submission("a", log))
        submit(submission("b", log))
        yield* settle
        fail = false
        submit(submission("c", log))
        yield* flush
        expect(log).toEqual(["a failed Io", "a ack Io", "b failed Io", "b ack Io", "c after", "c ack ok"])
      }).pipe(Effect.scoped)
  )

  it.live("a submission no longer valid is dropped with reason Dropped; the rest of its batch commits", () =>
    Effect.gen(function* () {
      const { submit, flush, commits } = yield* committer(() => Effect.void)
      const log: Array<string> = []
      submit(submission("a", log))
      submit(submission("stale", log, false))
      submit(submission("c", log))
      yield* flush
      expect(commits.filter((c) => c.length > 0)).toEqual([["a", "c"]])
      expect(log).toEqual([
        "stale failed Dropped",
        "stale ack Dropped",
        "a after",
        "a ack ok",
        "c after",
        "c ack ok"
      ])
    }).pipe(Effect.scoped)
  )

  it.live("a batch of dropped submissions never reaches the store", () =>
    Effect.gen(function* () {
      const { submit, commits } = yield* committer(() => Effect.void)
      const log: Array<string> = []
      submit(submission("stale", log, false))
      yield* settle
      expect(commits).toEqual([])
      expect(log).toEqual(["stale failed Dropped", "stale ack Dropped"])
    }).pipe(Effect.scoped)
  )

  it.live(
    "a submission still queued when the committer stops, or whose commit the store cuts short, fails with ShuttingDown",
    () =>
      Effect.gen(function* () {
        const began = yield* Deferred.make<void>()
        const release = yield* Deferred.make<void>()
        const scope = yield* Scope.make()
        const { submit, commits } = yield* committer((writes) =>
          writes.events.some((e) => e.body === "cut")
            ? Effect.interrupt
            : Effect.zipRight(Deferred.succeed(began, undefined), Deferred.await(release))
        ).pipe(Scope.extend(scope))
        const log: Array<string> = []
        submit(submission("cut", log))
        yield* settle
        submit(submission("a", log))
        yield* Deferred.await(began)
        // Queued behind the commit in flight.
        submit(submission("b", log))
        const stopping = yield* Effect.fork(Scope.close(scope, Exit.void))
        yield* settle
        yield* Deferred.succeed(release, undefined)
        yield* Fiber.join(stopping)
        submit(submission("late", log))
        expect(commits).toEqual([["cut"], ["a"]])
        expect(log).toEqual([
          "cut failed ShuttingDown",
          "cut ack ShuttingDown",
          "a after",
          "a ack ok",
          "b failed ShuttingDown",
          "b ack ShuttingDown",
          "late failed ShuttingDown",
          "late ack ShuttingDown"
        ])
      })
  )

  it.live(
    "invariant 2: a commit the store finishes while the committer stops is answered as committed (acknowledged = durable, both ways)",
    () =>
      Effect.gen(function* () {
        const began = yield* Deferred.make<void>()
        const release = yield* Deferred.make<void>()
        const scope = yield* Scope.make()
        // As the PostgreSQL writer's: once begun, a commit runs to its answer.
        const { submit } = yield* committer(() =>
          Effect.uninterruptible(Effect.zipRight(Deferred.succeed(began, undefined), Deferred.await(release)))
        ).pipe(Scope.extend(scope))
        const log: Array<string> = []
        submit(submission("a", log))
        yield* Deferred.await(began)
        const stopping = yield* Effect.fork(Scope.close(scope, Exit.void))
        yield* settle
        yield* Deferred.succeed(release, undefined)
        yield* Fiber.join(stopping)
        expect(log).toEqual(["a after", "a ack ok"])
      })
  )

  it.live("a commit that dies (a bug in a store) fails its submissions with Io, naming the defect", () =>
    Effect.gen(function* () {
      const { submit, flush } = yield* committer((writes) =>
        writes.events.some((e) => e.body === "a")
          ? Effect.dieMessage("statement cache corrupted")
          : Effect.void
      )
      const errors: Array<StoreError> = []
      const log: Array<string> = []
      submit({ ...submission("a", log), onFailure: (error) => errors.push(error) })
      yield* flush
      expect(errors.map((e) => [e.reason, e.message])).toEqual([
        ["Io", "the commit failed: statement cache corrupted"]
      ])
      // The committer goes on.
      submit(submission("b", log))
      yield* flush
      expect(log).toEqual(["a ack Io", "b after", "b ack ok"])
    }).pipe(Effect.scoped)
  )

  it.live(
    "invariant 4: a batch the store refuses for one write set's data goes again in halves, in order, until that one fails alone",
    () =>
      Effect.gen(function* () {
        const { submit, commits } = yield* committer((writes) =>
          writes.events.some((e) => e.body === "bad")
            ? Effect.fail(new StoreError({ reason: "Rejected", message: "write refused (constraint)" }))
            : Effect.void
        )
        const log: Array<string> = []
        for (const name of ["a", "b", "bad", "c", "d"]) submit(submission(name, log))
        yield* settle
        expect(commits).toEqual([
          ["a", "b", "bad", "c", "d"],
          ["a", "b"],
          ["bad", "c", "d"],
          ["bad"],
          ["c", "d"]
        ])
        expect(log).toEqual([
          "a after",
          "a ack ok",
          "b after",
          "b ack ok",
          "bad failed Rejected",
          "bad ack Rejected",
          "c after",
          "c ack ok",
          "d after",
          "d ack ok"
        ])
      }).pipe(Effect.scoped)
  )

  it.live("invariant 4: a half that follows a refused write set built on it is dropped, not committed", () =>
    Effect.gen(function* () {
      const { submit, commits } = yield* committer((writes) =>
        writes.events.some((e) => e.body === "bad")
          ? Effect.fail(new StoreError({ reason: "Rejected", message: "write refused (constraint)" }))
          : Effect.void
      )
      const log: Array<string> = []
      let badFailed = false
      submit({
        ...submission("bad", log),
        onFailure: (e) => ((badFailed = true), log.push(`bad failed ${e.reason}`))
      })
      // Built on "bad": no longer valid once it has failed.
      submit({ ...submission("next", log), isValid: () => !badFailed })
      yield* settle
      expect(commits).toEqual([["bad", "next"], ["bad"]])
      expect(log).toEqual([
        "bad failed Rejected",
        "bad ack Rejected",
        "next failed Dropped",
        "next ack Dropped"
      ])
    }).pipe(Effect.scoped)
  )

  it.live(
    "invariant 4: a store failing whatever is written fails the whole batch at once; the cause is logged once while it lasts, and again when commits go through",
    () => {
      const logs = capturedLogs()
      return Effect.gen(function* () {
        let full = true
        const { submit, flush, commits } = yield* committer(() =>
          full
            ? Effect.fail(new StoreError({ reason: "DiskFull", message: "commit failed: disk full" }))
            : Effect.void
        )
        const log: Array<string> = []
        submit(submission("a", log))
        submit(submission("b", log))
        yield* settle
        submit(submission("c", log))
        yield* settle
        full = false
        submit(submission("d", log))
        yield* flush
        expect(commits.filter((c) => c.length > 0)).toEqual([["a", "b"], ["c"], ["d"]])
        expect(log).toEqual([
          "a failed DiskFull",
          "a ack DiskFull",
          "b failed DiskFull",
          "b ack DiskFull",
          "c failed DiskFull",
          "c ack DiskFull",
          "d after",
          "d ack ok"
        ])
        expect(logs.lines).toEqual([
          "ERROR commits fail: commit failed: disk full",
          "INFO commits go through again"
        ])
      }).pipe(Effect.scoped, Effect.provide(logs.layer))
    }
  )
})

describe("group commit on the engine", () => {
  it.scoped(
    "invariant 4: a write set the store refuses fails alone; the others of its batch are committed without it",
    () => {
      const { control, layer } = refusingEngine("bad")
      return Effect.gen(function* () {
        const engine = yield* Engine
        yield* control.gate.close
        const first = yield* Effect.fork(engine.start("inbox", null, { id: "a" }))
        yield* settle
        // Gathered while the first commit waits: one batch of four.
        const others = yield* Effect.forEach(["b", "bad", "c", "d"], (id) =>
          Effect.fork(Effect.either(engine.start("inbox", null, { id })))
        )
        yield* settle
        yield* control.gate.open
        yield* Fiber.join(first)
        const outcomes = yield* Effect.forEach(others, Fiber.join)
        expect(
          outcomes.map((o) =>
            o._tag === "Right" ? o.right.status : o.left._tag === "StoreError" ? o.left.reason : o.left._tag
          )
        ).toEqual(["running", "Rejected", "running", "running"])
        expect(control.attempts).toEqual([
          [["a"], "committed"],
          [["b", "bad", "c", "d"], "refused"],
          [["b", "bad"], "refused"],
          [["b"], "committed"],
          [["bad"], "refused"],
          [["c", "d"], "committed"]
        ])
        // Stored, and going on: a signal completes each.
        for (const id of ["a", "b", "c", "d"]) yield* engine.signal(id, "note", `to ${id}`)
        yield* settle
        const results = yield* Effect.forEach(["a", "b", "c", "d"], (id) =>
          Effect.map(engine.describe(id), (d) => [d.status, d.result])
        )
        expect(results).toEqual(["a", "b", "c", "d"].map((id) => ["completed", `to ${id}`]))
        expect((yield* Effect.flip(engine.describe("bad")))._tag).toBe("WorkflowNotFound")
      }).pipe(Effect.provide(layer))
    }
  )
})
