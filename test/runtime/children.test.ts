/**
 * Children, races and cancellation on the real engine and a real SQLite file (the gated store
 * where a commit must fail), with time scripted by TestClock: children linked to their parent
 * (engine invariant 6), a race's loser cancelled, cancellation and compensation.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { activity, allSettled, child, defineSignal, race, sleep, waitForSignal, workflow } from "../../core"
import { Engine, implement } from "../../runtime"
import {
  awaitClosed,
  awaitEvents,
  awaitingSignal,
  engineLayer,
  eventsOfType,
  historyOf,
  runUntilClosed,
  settle
} from "../support/engine-harness"
import { onGatedEngine } from "../support/gated-store"

describe("children, races and cancellation", () => {
  const work = activity("work", {
    input: Schema.String,
    output: Schema.String,
    retry: { maximumAttempts: 1 }
  })
  const kid = workflow("kid", { input: Schema.String }, function* (task) {
    return yield* work(task)
  })
  const parent = workflow("parent", { input: Schema.Array(Schema.String) }, function* (tasks) {
    const results = yield* allSettled(tasks.map((t) => child(kid, t)))
    return results.map((r) => (r.status === "fulfilled" ? r.value : `failed: ${r.error.name}`))
  })
  const workImpl = implement(work, (task) => {
    if (task.includes("FAIL")) throw new Error(`cannot ${task}`)
    return task.toUpperCase()
  })

  it.scoped(
    "invariant 6: parallel children run as real workflows linked to the parent; a failing child loses no sibling's result",
    () =>
      Effect.gen(function* () {
        const engine = yield* Engine
        yield* engine.start("parent", ["a", "FAIL b", "c"], { id: "p1" })
        expect(yield* awaitClosed("p1")).toBe("completed")
        expect((yield* engine.describe("p1")).result).toEqual(["A", "failed: ChildWorkflowFailure", "C"])
        const kids = (yield* engine.list({ type: "kid" })).workflows
        expect(kids.map((k) => [k.id, k.status, k.parentId]).sort()).toEqual([
          ["p1/1", "completed", "p1"],
          ["p1/2", "failed", "p1"],
          ["p1/3", "completed", "p1"]
        ])
        const started = eventsOfType(yield* historyOf("p1/1"), "WorkflowStarted")[0]!
        expect(started.parent).toMatchObject({ workflowId: "p1", cmd: 1 })
      }).pipe(Effect.provide(engineLayer([parent, kid], [workImpl])))
  )

  const long = activity("long", { output: Schema.String })
  const racer = workflow("racer", {}, function* () {
    return yield* race([long(), sleep("1 minute")])
  })

  it.scoped(
    "race cancels the loser: its activity's AbortSignal fires and its completion is never recorded",
    () => {
      const aborted: Array<string> = []
      const impl = implement(
        long,
        (_, ctx) =>
          new Promise<string>((resolve) => {
            ctx.signal.addEventListener("abort", () => {
              aborted.push(ctx.idempotencyKey)
              resolve("too late")
            })
          })
      )
      return Effect.gen(function* () {
        const engine = yield* Engine
        yield* engine.start("racer", undefined, { id: "race1" })
        expect(yield* runUntilClosed("race1", "30 seconds")).toBe("completed")
        yield* settle
        expect(aborted).toEqual(["race1/1"])
        const types = (yield* historyOf("race1")).map((e) => e.type)
        expect(types).toEqual([
          "WorkflowStarted",
          "ActivityScheduled",
          "TimerStarted",
          "TimerFired",
          "ActivityCancelRequested",
          "WorkflowCompleted"
        ])
      }).pipe(Effect.provide(engineLayer([racer], [impl])))
    }
  )

  it.scoped("an AbortSignal first read after the cancel is already aborted", () => {
    let release: () => void = () => {}
    const seen: Array<boolean> = []
    const impl = implement(
      long,
      (_, ctx) =>
        new Promise<string>((resolve) => {
          release = () => {
            seen.push(ctx.signal.aborted)
            resolve("too late")
          }
        })
    )
    return Effect.gen(function* () {
      const engine = yield* Engine
      yield* engine.start("racer", undefined, { id: "race2" })
      expect(yield* runUntilClosed("race2", "30 seconds")).toBe("completed")
      release()
      yield* settle
      expect(seen).toEqual([true])
    }).pipe(Effect.provide(engineLayer([racer], [impl])))
  })

  const book = activity("book", { input: Schema.String, output: Schema.String })
  const undo = activity("undo", { input: Schema.String, output: Schema.String })
  const Done = defineSignal("done")
  const saga = workflow("saga", { signals: [Done] }, function* () {
    const booked: Array<string> = []
    try {
      for (const item of ["flight", "hotel"]) booked.push(yield* book(item))
      yield* waitForSignal(Done)
      return booked
    } finally {
      // Runs on cancellation too: compensate in reverse order.
      if (booked.length === 2) for (const item of [...booked].reverse()) yield* undo(item)
    }
  })

  it.scoped(
    "cancel throws Cancelled at the current yield; finally compensates in reverse order; the run ends cancelled",
    () => {
      const log: Array<string> = []
      const impls = [
        implement(book, (item) => (log.push(`book ${item}`), item)),
        implement(undo, (item) => (log.push(`undo ${item}`), item))
      ]
      return Effect.gen(function* () {
        const engine = yield* Engine
        yield* engine.start("saga", undefined, { id: "saga1" })
        yield* awaitingSignal("saga1")
        yield* engine.cancel("saga1", "customer left")
        expect(yield* awaitClosed("saga1")).toBe("cancelled")
        expect(log).toEqual(["book flight", "book hotel", "undo hotel", "undo flight"])
        const d = yield* engine.describe("saga1")
        expect(d.error).toEqual({ name: "Cancelled", message: "cancelled: customer left" })
        const again = yield* Effect.flip(engine.cancel("saga1"))
        expect(again._tag).toBe("WorkflowClosed")
      }).pipe(Effect.provide(engineLayer([saga], impls)))
    }
  )

  const Never = defineSignal("never")
  const sleepyKid = workflow("sleepyKid", { signals: [Never] }, function* () {
    yield* waitForSignal(Never)
    return "woke"
  })
  const sleepyParent = workflow("sleepyParent", {}, function* () {
    return yield* child(sleepyKid, undefined, { id: "sleepy-kid" })
  })

  it.scoped("invariant 6: cancelling a parent cancels its running child", () =>
    Effect.gen(function* () {
      const engine = yield* Engine
      yield* engine.start("sleepyParent", undefined, { id: "sp" })
      // The child's row is written with the commit that records its start.
      yield* awaitEvents("sp", "ChildWorkflowStarted")
      yield* engine.cancel("sp")
      expect(yield* awaitClosed("sp")).toBe("cancelled")
      expect(yield* awaitClosed("sleepy-kid")).toBe("cancelled")
    }).pipe(Effect.provide(engineLayer([sleepyParent, sleepyKid], [])))
  )

  const Finish = defineSignal("finish")
  const finishing = workflow("finishing", { signals: [Finish] }, function* () {
    yield* waitForSignal(Finish)
    return "kid done"
  })
  const parentOfFinishing = workflow("parentOfFinishing", {}, function* () {
    return yield* child(finishing, undefined, { id: "the-kid" })
  })
  const ghost = workflow("ghost", {}, function* () {
    return "boo"
  })
  const haunted = workflow("haunted", {}, function* () {
    try {
      return yield* child(ghost, undefined, { id: "ghost-kid" })
    } catch (error) {
      return `caught ${(error as { cause: { name: string } }).cause.name}`
    }
  })

  it.scoped(
    "a child that cannot start fails in the commit that records its start, so no crash can part them",
    () => {
      // The ghost type is not registered.
      return onGatedEngine([haunted], [], (control) =>
        Effect.gen(function* () {
          const engine = yield* Engine
          yield* engine.start("haunted", undefined, { id: "h" })
          expect(yield* awaitClosed("h")).toBe("completed")
          expect((yield* engine.describe("h")).result).toBe("caught UnknownName")
          const together = control.committed.filter(
            (types) => types.includes("ChildWorkflowStarted") && types.includes("ChildWorkflowFailed")
          )
          expect(together.length).toBe(1)
        })
      )
    }
  )

  it.scoped(
    "invariant 6: a child's outcome lost with its parent's failed commit comes again: the parent completes",
    () =>
      onGatedEngine([parentOfFinishing, finishing], [], (control) =>
        Effect.gen(function* () {
          const engine = yield* Engine
          yield* engine.start("parentOfFinishing", undefined, { id: "pk" })
          yield* awaitingSignal("the-kid")
          control.failEventMatching = `"type":"ChildWorkflowCompleted"`
          yield* engine.signal("the-kid", "finish", undefined)
          expect(yield* awaitClosed("the-kid")).toBe("completed")
          expect(yield* awaitClosed("pk")).toBe("completed")
          // The parent's first commit of the outcome was the one that failed.
          expect(control.failEventMatching).toBeUndefined()
          expect((yield* engine.describe("pk")).result).toBe("kid done")
        })
      )
  )

  it.scoped("a cancel a parent asked of its child, lost with the child's failed commit, comes again", () =>
    onGatedEngine([parentOfFinishing, finishing], [], (control) =>
      Effect.gen(function* () {
        const engine = yield* Engine
        yield* engine.start("parentOfFinishing", undefined, { id: "pc" })
        yield* awaitingSignal("the-kid")
        control.failEventMatching = "the parent workflow cancelled it"
        yield* engine.cancel("pc")
        expect([yield* awaitClosed("the-kid"), yield* awaitClosed("pc")]).toEqual(["cancelled", "cancelled"])
        // The child's first commit of the cancel was the one that failed.
        expect(control.failEventMatching).toBeUndefined()
      })
    )
  )
})
