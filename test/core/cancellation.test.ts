/**
 * Cancellation: of the whole workflow (a request from outside) and of branches (race losers,
 * the siblings of a failed `all`). Every scenario is driven step by step with exact commands,
 * then replayed from its history.
 */
import * as Schema from "effect/Schema"
import { describe, expect, it } from "vitest"
import {
  activity,
  all,
  allSettled,
  Cancelled,
  child,
  race,
  sleep,
  waitForSignal,
  defineSignal,
  workflow,
  type Command,
  type Yieldable
} from "../../core"
import { expectReplayAgrees } from "../support/replay-agrees"
import { Simulation } from "../support/simulator"

const book = activity("book", { input: Schema.String, output: Schema.String })
const unbook = activity("unbook", { input: Schema.String })
const note = activity("note", { input: Schema.String })
const step = activity("step", { input: Schema.String, output: Schema.String })
const kid = workflow("kid", {}, function* () {
  return "kid"
})
const Go = defineSignal<string>("go")

const scheduled = (cmd: number, name: string, input: unknown): Command => ({
  type: "ActivityScheduled",
  cmd,
  name,
  input,
  options: {}
})

describe("cancelling the workflow", () => {
  const trip = workflow("trip", {}, function* () {
    const undo: Array<() => Yieldable<unknown>> = []
    let booked = false
    try {
      for (const item of ["flight", "hotel", "car"]) {
        const ref = yield* book(item)
        undo.unshift(() => unbook(ref))
      }
      booked = true
      return "booked"
    } finally {
      if (!booked) for (const compensate of undo) yield* compensate()
    }
  })

  it("a cancel request throws Cancelled at the current yield, and a saga's finally compensates in reverse order", () => {
    const sim = new Simulation(trip, undefined)
    sim.completeActivity(1, "F-1")
    sim.completeActivity(2, "H-2")
    expect(sim.cancel("customer changed plans")).toEqual([
      { type: "ActivityCancelRequested", cmd: 3 },
      scheduled(4, "unbook", "H-2")
    ])
    expect(sim.instance.status).toBe("running")
    expect(sim.completeActivity(4, null)).toEqual([scheduled(5, "unbook", "F-1")])
    expect(sim.completeActivity(5, null)).toEqual([
      { type: "WorkflowCancelled", reason: "customer changed plans" }
    ])
    expect(sim.instance.status).toBe("cancelled")
    expect(sim.instance.error).toMatchObject({
      name: "Cancelled",
      message: "cancelled: customer changed plans"
    })
    expectReplayAgrees(trip, sim)
  })

  it("a workflow that completes its saga is not compensated", () => {
    const sim = new Simulation(trip, undefined)
    sim.completeActivity(1, "F-1")
    sim.completeActivity(2, "H-2")
    expect(sim.completeActivity(3, "C-3")).toEqual([{ type: "WorkflowCompleted", result: "booked" }])
    expectReplayAgrees(trip, sim)
  })

  it("the Cancelled error carries the reason, and code that catches it may go on", () => {
    const stubborn = workflow("stubborn", {}, function* () {
      try {
        yield* waitForSignal(Go)
        return "signalled"
      } catch (error) {
        if (!(error instanceof Cancelled)) throw error
        return yield* note(`caught: ${error.reason}`)
      }
    })
    const sim = new Simulation(stubborn, undefined)
    expect(sim.cancel("stop")).toEqual([scheduled(2, "note", "caught: stop")])
    expect(sim.completeActivity(2, "noted")).toEqual([{ type: "WorkflowCompleted", result: "noted" }])
    expectReplayAgrees(stubborn, sim)
  })

  it("a second cancel request while compensating is ignored", () => {
    const sim = new Simulation(trip, undefined)
    sim.completeActivity(1, "F-1")
    sim.cancel("first")
    expect(sim.cancel("second")).toEqual([])
    expect(sim.completeActivity(3, null)).toEqual([{ type: "WorkflowCancelled", reason: "first" }])
    expectReplayAgrees(trip, sim)
  })

  it("invariant 7: compensations in the finally blocks of parallel branches run before the workflow ends cancelled", () => {
    const parallelSaga = workflow("parallelSaga", {}, function* () {
      const leg = (item: string) =>
        function* () {
          const ref = yield* book(item)
          let done = false
          try {
            const confirmed = yield* step(`confirm ${ref}`)
            done = true
            return confirmed
          } finally {
            if (!done) yield* unbook(ref)
          }
        }
      try {
        return yield* all({ flight: leg("flight"), hotel: leg("hotel") })
      } finally {
        yield* note("saga over")
      }
    })
    const sim = new Simulation(parallelSaga, undefined)
    expect(sim.commands).toEqual([scheduled(2, "book", "flight"), scheduled(3, "book", "hotel")])
    sim.completeActivity(2, "F")
    sim.completeActivity(3, "H")
    expect(sim.open().map((c) => c.cmd)).toEqual([4, 5])
    expect(sim.cancel("abort")).toEqual([
      { type: "ActivityCancelRequested", cmd: 4 },
      { type: "ActivityCancelRequested", cmd: 5 },
      scheduled(6, "unbook", "F"),
      scheduled(7, "unbook", "H")
    ])
    expect(sim.completeActivity(7, null)).toEqual([])
    expect(sim.completeActivity(6, null)).toEqual([scheduled(8, "note", "saga over")])
    expect(sim.completeActivity(8, null)).toEqual([{ type: "WorkflowCancelled", reason: "abort" }])
    expectReplayAgrees(parallelSaga, sim)
  })
})

describe("race", () => {
  it("invariant 6: the first branch to settle wins; a losing activity gets ActivityCancelRequested, before the terminal command", () => {
    const timeout = workflow("timeout", {}, function* () {
      const winner = yield* race([step("slow"), sleep("1 minute")])
      return winner ?? "timed out"
    })
    const sim = new Simulation(timeout, undefined)
    expect(sim.commands).toEqual([
      scheduled(2, "step", "slow"),
      { type: "TimerStarted", cmd: 3, durationMs: 60_000, fireAt: sim.clock + 60_000, purpose: "sleep" }
    ])
    expect(sim.fireTimer(3)).toEqual([
      { type: "ActivityCancelRequested", cmd: 2 },
      { type: "WorkflowCompleted", result: "timed out" }
    ])
    expectReplayAgrees(timeout, sim)
  })

  it("a losing timer gets TimerCancelled and a losing child ChildWorkflowCancelRequested", () => {
    const first = workflow("first", {}, function* () {
      return yield* race({ work: step("work"), wait: sleep("1 hour"), delegate: child(kid, undefined) })
    })
    const sim = new Simulation(first, undefined, { workflowId: "parent" })
    expect(sim.commands.map((c) => c.type)).toEqual([
      "ActivityScheduled",
      "TimerStarted",
      "ChildWorkflowStarted"
    ])
    expect(sim.commands[2]).toEqual({
      type: "ChildWorkflowStarted",
      cmd: 4,
      workflowType: "kid",
      workflowId: "parent/4",
      input: undefined
    })
    expect(sim.completeActivity(2, "worked")).toEqual([
      { type: "TimerCancelled", cmd: 3 },
      { type: "ChildWorkflowCancelRequested", cmd: 4 },
      { type: "WorkflowCompleted", result: "worked" }
    ])
    expectReplayAgrees(first, sim)
  })

  it("a failing branch wins too: its error is thrown at the race", () => {
    const failing = workflow("failing", {}, function* () {
      try {
        return yield* race([step("a"), step("b")])
      } catch (error) {
        return `caught ${(error as Error).message}`
      }
    })
    const sim = new Simulation(failing, undefined)
    expect(sim.failActivity(3, "boom")).toEqual([
      { type: "ActivityCancelRequested", cmd: 2 },
      { type: "WorkflowCompleted", result: "caught activity step (cmd 3) failed: Error: boom" }
    ])
    expectReplayAgrees(failing, sim)
  })

  it("invariant 7: the code after a race runs once the losers' finally blocks are done", () => {
    const tidy = workflow("tidy", {}, function* () {
      const winner = yield* race([
        function* () {
          try {
            return yield* step("slow")
          } finally {
            yield* note("cleaned up slow")
          }
        },
        function* () {
          yield* sleep(1000)
          return "timer"
        }
      ])
      return yield* step(`after ${winner}`)
    })
    const sim = new Simulation(tidy, undefined)
    expect(sim.fireTimer(3)).toEqual([
      { type: "ActivityCancelRequested", cmd: 2 },
      scheduled(4, "note", "cleaned up slow")
    ])
    expect(sim.completeActivity(4, null)).toEqual([scheduled(5, "step", "after timer")])
    expect(sim.completeActivity(5, "done")).toEqual([{ type: "WorkflowCompleted", result: "done" }])
    expectReplayAgrees(tidy, sim)
  })
  it("invariant 7: a cancel request while a loser compensates lets the compensation finish, then throws Cancelled", () => {
    const tidy = workflow("tidyCancelled", {}, function* () {
      try {
        yield* race([
          function* () {
            try {
              return yield* step("slow")
            } finally {
              yield* note("cleaned up slow")
            }
          },
          sleep(1000)
        ])
        return yield* step("after")
      } catch (error) {
        return `caught ${(error as Error).message}`
      }
    })
    const sim = new Simulation(tidy, undefined)
    expect(sim.fireTimer(3)).toEqual([
      { type: "ActivityCancelRequested", cmd: 2 },
      scheduled(4, "note", "cleaned up slow")
    ])
    expect(sim.cancel("stop")).toEqual([])
    expect(sim.completeActivity(4, null)).toEqual([
      { type: "WorkflowCompleted", result: "caught cancelled: stop" }
    ])
    expectReplayAgrees(tidy, sim)
  })
})

describe("all and allSettled", () => {
  it("all of an object gives the results under the same keys", () => {
    const review = activity("review", {
      input: Schema.String,
      output: Schema.Struct({ score: Schema.Number })
    })
    const runTests = activity("tests", { input: Schema.String, output: Schema.Boolean })
    const check = workflow("check", { input: Schema.String }, function* (code) {
      const { review: verdict, tests } = yield* all({ review: review(code), tests: runTests(code) })
      return { score: verdict.score, passed: tests }
    })
    const sim = new Simulation(check, "x = 1")
    expect(sim.commands).toEqual([scheduled(2, "review", "x = 1"), scheduled(3, "tests", "x = 1")])
    expect(sim.completeActivity(3, true)).toEqual([])
    expect(sim.completeActivity(2, { score: 9 })).toEqual([
      { type: "WorkflowCompleted", result: { score: 9, passed: true } }
    ])
    expectReplayAgrees(check, sim)
  })

  it("all of an array gives the results in branch order, whatever order they finished in", () => {
    const pair = workflow("pair", {}, function* () {
      return yield* all([step("one"), step("two")])
    })
    const sim = new Simulation(pair, undefined)
    sim.completeActivity(3, "second")
    expect(sim.completeActivity(2, "first")).toEqual([
      { type: "WorkflowCompleted", result: ["first", "second"] }
    ])
    expectReplayAgrees(pair, sim)
  })

  it("all fails fast: the first failure cancels every sibling still open and is rethrown", () => {
    const fanOut = workflow("fanOut", {}, function* () {
      return yield* all([step("a"), step("b"), sleep("1 day"), child(kid, undefined)])
    })
    const sim = new Simulation(fanOut, undefined, { workflowId: "p" })
    sim.completeActivity(3, "b done")
    expect(sim.failActivity(2, "a broke")).toEqual([
      { type: "TimerCancelled", cmd: 4 },
      { type: "ChildWorkflowCancelRequested", cmd: 5 },
      {
        type: "WorkflowFailed",
        error: expect.objectContaining({
          name: "ActivityFailure",
          message: "activity step (cmd 2) failed: Error: a broke"
        })
      }
    ])
    expect(sim.instance.status).toBe("failed")
    expectReplayAgrees(fanOut, sim)
  })

  it("allSettled keeps every branch's outcome when one fails", () => {
    const settle = workflow("settle", {}, function* () {
      const outcomes = yield* allSettled([step("a"), step("b"), step("c")])
      return outcomes.map((o) => (o.status === "fulfilled" ? o.value : `${o.error.name}: ${o.error.message}`))
    })
    const sim = new Simulation(settle, undefined)
    expect(sim.failActivity(3, "b broke")).toEqual([])
    expect(sim.completeActivity(4, "c ok")).toEqual([])
    expect(sim.completeActivity(2, "a ok")).toEqual([
      {
        type: "WorkflowCompleted",
        result: ["a ok", "ActivityFailure: activity step (cmd 3) failed: Error: b broke", "c ok"]
      }
    ])
    expectReplayAgrees(settle, sim)
  })

  it("allSettled of an object keeps the keys", () => {
    const settle = workflow("settleObject", {}, function* () {
      return yield* allSettled({ ok: step("a"), bad: step("b") })
    })
    const sim = new Simulation(settle, undefined)
    sim.failActivity(3, "nope")
    sim.completeActivity(2, "yes")
    expect(sim.instance.result).toEqual({
      ok: { status: "fulfilled", value: "yes" },
      bad: {
        status: "rejected",
        error: {
          name: "ActivityFailure",
          message: "activity step (cmd 3) failed: Error: nope"
        }
      }
    })
    expectReplayAgrees(settle, sim)
  })
})
