import * as Schema from "effect/Schema"
import { describe, expect, it } from "vitest"
import { activity, defineSignal, replay, sleep, waitForSignal, workflow } from "../../core"
import { Simulation } from "../support/simulator"

const charge = activity("charge", { input: Schema.Number, output: Schema.String })
const Approve = defineSignal("approve", Schema.Boolean)

const order = workflow("order", { input: Schema.Number, signals: [Approve] }, function* (amount) {
  const ok = yield* waitForSignal(Approve, { timeout: "1 day" })
  if (!ok) return "declined"
  yield* sleep("1 hour")
  return yield* charge(amount)
})

describe("interpreter golden path", () => {
  it("invariant 1: emits the commands of each step, in order, with deterministic cmd ids", () => {
    const sim = new Simulation(order, 42)
    expect(sim.commands).toEqual([
      {
        type: "TimerStarted",
        cmd: 1,
        durationMs: 86_400_000,
        fireAt: sim.clock + 86_400_000,
        purpose: "signal-timeout"
      }
    ])
    expect(sim.signal("approve", true)).toEqual([
      { type: "TimerCancelled", cmd: 1 },
      { type: "TimerStarted", cmd: 2, durationMs: 3_600_000, fireAt: sim.clock + 3_600_000, purpose: "sleep" }
    ])
    expect(sim.fireTimer(2)).toEqual([
      { type: "ActivityScheduled", cmd: 3, name: "charge", input: 42, options: {} }
    ])
    expect(sim.completeActivity(3, "receipt-1")).toEqual([{ type: "WorkflowCompleted", result: "receipt-1" }])

    const again = replay(order, sim.history)
    expect(again.status).toBe("completed")
    expect(again.result).toBe("receipt-1")
    expect(again.commands).toEqual([])
  })
})

describe("signal poll", () => {
  const Steer = defineSignal("steer", Schema.String)
  const polling = workflow("polling", { signals: [Steer] }, function* () {
    // null for "none": a result holding undefined in an array is refused (JSON would make it null).
    const seen: Array<string | null> = []
    for (let i = 0; i < 3; i++) {
      seen.push((yield* waitForSignal(Steer, { timeout: 0 })) ?? null)
      yield* charge(i)
    }
    return seen
  })

  it("waitForSignal with timeout 0 takes a buffered signal or resolves undefined at once, recording nothing", () => {
    const sim = new Simulation(polling, undefined)
    expect(sim.commands).toEqual([
      { type: "ActivityScheduled", cmd: 2, name: "charge", input: 0, options: {} }
    ])
    sim.signal("steer", "left")
    sim.completeActivity(2, "r0")
    sim.completeActivity(4, "r1")
    sim.completeActivity(6, "r2")
    expect(sim.instance.result).toEqual([null, "left", null])
    expect(sim.history.filter((e) => e.type === "TimerStarted")).toEqual([])
    expect(replay(polling, sim.history).result).toEqual([null, "left", null])
  })
})
