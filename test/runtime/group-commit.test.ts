/**
 * Group commit (runtime/store/group-commit.ts) on a scripted store: what reaches the store,
 * in which batches and order, and when each submission hears of it. Titles name the module's
 * invariants.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Scope from "effect/Scope"
import { StoreError } from "../../runtime"
import {
  emptyWriteSet,
  makeGroupCommitter,
  WorkflowStore,
  type Submission,
  type WriteSet
} from "../../runtime/store"
import { settle } from "../support/engine-harness"

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
})
