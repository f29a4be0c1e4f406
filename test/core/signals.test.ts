/**
 * Signals: stored on arrival and consumed in arrival order, whether or not the workflow waits
 * yet; a wait with a timeout resolves to `undefined` exactly when the timer fired first.
 */
import * as Schema from "effect/Schema"
import { describe, expect, it } from "vitest"
import { activity, defineSignal, replay, waitForSignal, workflow, type HistoryEvent } from "../../core"
import { expectReplayAgrees } from "../support/replay-agrees"
import { Simulation } from "../support/simulator"

const Go = defineSignal("go", Schema.String)
const Other = defineSignal("other", Schema.String)
const prepare = activity("prepare", { output: Schema.String })

describe("signals", () => {
  it("a signal received before the workflow waits is not lost", () => {
    const late = workflow("late", {}, function* () {
      const prepared = yield* prepare()
      const go = yield* waitForSignal(Go)
      return `${prepared} then ${go}`
    })
    const sim = new Simulation(late, undefined)
    expect(sim.signal("go", "early bird")).toEqual([])
    expect(sim.instance.pendingSignals()).toEqual([{ name: "go", payload: "early bird", seq: 3 }])
    expect(sim.completeActivity(1, "ready")).toEqual([
      { type: "WorkflowCompleted", result: "ready then early bird" }
    ])
    expect(sim.instance.pendingSignals()).toEqual([])
    expectReplayAgrees(late, sim)
  })

  it("two signals of the same name are consumed in arrival order, other names untouched", () => {
    const twice = workflow("twice", {}, function* () {
      yield* prepare()
      const first = yield* waitForSignal(Go)
      const second = yield* waitForSignal(Go)
      return [first, second]
    })
    const sim = new Simulation(twice, undefined)
    sim.signal("other", "not for us")
    sim.signal("go", "one")
    sim.signal("go", "two")
    expect(sim.completeActivity(1, "ready")).toEqual([{ type: "WorkflowCompleted", result: ["one", "two"] }])
    expect(sim.instance.pendingSignals()).toEqual([{ name: "other", payload: "not for us", seq: 3 }])
    expectReplayAgrees(twice, sim)
  })

  it("signals arriving while the workflow waits go to the waits in order", () => {
    const both = workflow("both", {}, function* () {
      const first = yield* waitForSignal(Go)
      const other = yield* waitForSignal(Other)
      const second = yield* waitForSignal(Go)
      return [first, other, second]
    })
    const sim = new Simulation(both, undefined)
    expect(sim.signal("go", "one")).toEqual([])
    expect(sim.signal("go", "two")).toEqual([])
    expect(sim.signal("other", "x")).toEqual([{ type: "WorkflowCompleted", result: ["one", "x", "two"] }])
    expectReplayAgrees(both, sim)
  })

  it("a wait with a timeout takes a buffered signal at once and starts no timer", () => {
    const buffered = workflow("buffered", {}, function* () {
      yield* prepare()
      return yield* waitForSignal(Go, { timeout: "1 hour" })
    })
    const sim = new Simulation(buffered, undefined)
    sim.signal("go", "already here")
    expect(sim.completeActivity(1, "ready")).toEqual([{ type: "WorkflowCompleted", result: "already here" }])
    expectReplayAgrees(buffered, sim)
  })
})

describe("a signal wait with a timeout", () => {
  const approval = workflow("approval", {}, function* () {
    const answer = yield* waitForSignal(Go, { timeout: "7 days" })
    const next = yield* waitForSignal(Go)
    return { answer: answer ?? "timed out", next }
  })
  const sevenDays = 7 * 24 * 3_600_000

  it("invariant 2: resolves to undefined when the TimerFired precedes the SignalReceived in history", () => {
    const sim = new Simulation(approval, undefined)
    expect(sim.commands).toEqual([
      {
        type: "TimerStarted",
        cmd: 1,
        durationMs: sevenDays,
        fireAt: sim.clock + sevenDays,
        purpose: "signal-timeout"
      }
    ])
    sim.advance(sevenDays)
    expect(sim.fireTimer(1)).toEqual([])
    expect(sim.signal("go", "too late")).toEqual([
      { type: "WorkflowCompleted", result: { answer: "timed out", next: "too late" } }
    ])
    expect(sim.history.map((e) => e.type)).toEqual([
      "WorkflowStarted",
      "TimerStarted",
      "TimerFired",
      "SignalReceived",
      "WorkflowCompleted"
    ])
    expectReplayAgrees(approval, sim)
  })

  it("invariant 2: resolves to the signal, cancelling its timer, when the SignalReceived precedes the TimerFired", () => {
    const sim = new Simulation(approval, undefined)
    expect(sim.signal("go", "approved")).toEqual([{ type: "TimerCancelled", cmd: 1 }])
    expect(sim.signal("go", "and more")).toEqual([
      { type: "WorkflowCompleted", result: { answer: "approved", next: "and more" } }
    ])
    expectReplayAgrees(approval, sim)
  })

  it("a timer that fires after the signal won (the runtime raced it) changes nothing", () => {
    const base = { at: 1_700_000_000_000 }
    const history: Array<HistoryEvent> = [
      {
        ...base,
        seq: 1,
        type: "WorkflowStarted",
        workflowType: "approval",
        workflowId: "w",
        runId: "r",
        input: undefined,
        randomSeed: "s"
      },
      {
        ...base,
        seq: 2,
        type: "TimerStarted",
        cmd: 1,
        durationMs: sevenDays,
        fireAt: base.at + sevenDays,
        purpose: "signal-timeout"
      },
      { ...base, seq: 3, type: "SignalReceived", name: "go", payload: "approved" },
      { ...base, seq: 4, type: "TimerCancelled", cmd: 1 },
      { ...base, seq: 5, type: "TimerFired", cmd: 1 },
      { ...base, seq: 6, type: "SignalReceived", name: "go", payload: "next" },
      { ...base, seq: 7, type: "WorkflowCompleted", result: { answer: "approved", next: "next" } }
    ] as Array<HistoryEvent>
    const outcome = replay(approval, history)
    expect(outcome.divergence).toBeUndefined()
    expect(outcome.status).toBe("completed")
    expect(outcome.result).toEqual({ answer: "approved", next: "next" })
  })

  it("invariant 2: the same two events in the other order replay to the other answer", () => {
    const base = { at: 1_700_000_000_000 }
    const started = {
      ...base,
      seq: 1,
      type: "WorkflowStarted",
      workflowType: "approval",
      workflowId: "w",
      runId: "r",
      input: undefined,
      randomSeed: "s"
    }
    const timer = {
      ...base,
      seq: 2,
      type: "TimerStarted",
      cmd: 1,
      durationMs: sevenDays,
      fireAt: base.at + sevenDays,
      purpose: "signal-timeout"
    }
    const firedFirst = [
      started,
      timer,
      { ...base, seq: 3, type: "TimerFired", cmd: 1 },
      { ...base, seq: 4, type: "SignalReceived", name: "go", payload: "yes" }
    ] as Array<HistoryEvent>
    const signalFirst = [
      started,
      timer,
      { ...base, seq: 3, type: "SignalReceived", name: "go", payload: "yes" },
      { ...base, seq: 4, type: "TimerCancelled", cmd: 1 },
      { ...base, seq: 5, type: "TimerFired", cmd: 1 }
    ] as Array<HistoryEvent>
    const timedOut = replay(approval, firedFirst)
    expect(timedOut.divergence).toBeUndefined()
    expect(timedOut.commands).toEqual([
      { type: "WorkflowCompleted", result: { answer: "timed out", next: "yes" } }
    ])
    const answered = replay(approval, signalFirst)
    expect(answered.divergence).toBeUndefined()
    expect(answered.status).toBe("running")
    expect(answered.commands).toEqual([])
    expect(answered.instance.pending()).toEqual([{ cmd: 2, kind: "signal", name: "go" }])
  })
})
