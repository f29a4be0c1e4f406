/**
 * The interpreter's side of exact values (issue 13): what workflow code yields is encoded
 * once, at the yield, into an owned copy (its schema's encoding, else JSON checked), and
 * what it receives is a decoded copy of what history holds, live exactly as on replay.
 */
import * as Schema from "effect/Schema"
import { describe, expect, it } from "vitest"
import {
  activity,
  child,
  continueAsNew,
  defineQuery,
  defineSignal,
  onQuery,
  replay,
  waitForSignal,
  workflow,
  type HistoryEvent
} from "../../core"
import { expectReplayAgrees } from "../support/replay-agrees"
import { Simulation } from "../support/simulator"

const base = { at: 1_700_000_000_000 }
const started = (input?: unknown): HistoryEvent =>
  ({
    ...base,
    seq: 1,
    type: "WorkflowStarted",
    workflowType: "w",
    workflowId: "wf-1",
    runId: "run-1",
    ...(input === undefined ? {} : { input }),
    randomSeed: "seed-1"
  }) as HistoryEvent

describe("values workflow code receives are decoded copies", () => {
  const double = activity("double", { input: Schema.NumberFromString, output: Schema.NumberFromString })
  const seen: Array<unknown> = []
  const doubling = workflow("doubling", {}, function* () {
    const doubled = yield* double(21)
    seen.push(doubled)
    return doubled
  })

  it("an activity's input is stored encoded and its result reaches the workflow decoded", () => {
    seen.length = 0
    const sim = new Simulation(doubling, undefined)
    expect(sim.commands).toEqual([
      { type: "ActivityScheduled", cmd: 1, name: "double", input: "21", options: {} }
    ])
    expect(sim.completeActivity(1, "42")).toEqual([{ type: "WorkflowCompleted", result: 42 }])
    expect(seen).toEqual([42])
    expectReplayAgrees(doubling, sim)
    expect(seen).toEqual([42, 42])
  })

  const Count = defineSignal("count", Schema.NumberFromString)
  const Settings = Schema.Struct({
    name: Schema.String,
    retries: Schema.optionalWith(Schema.Number, { default: () => 3 })
  })
  const settled = workflow("settled", { input: Settings, signals: [Count] }, function* (settings) {
    const count = yield* waitForSignal(Count)
    return { ...settings, count }
  })

  it("a signal's payload and the workflow's input are decoded: transformations and defaults apply", () => {
    const sim = new Simulation(settled, { name: "n" })
    expect(sim.signal("count", "7")).toEqual([
      { type: "WorkflowCompleted", result: { name: "n", retries: 3, count: 7 } }
    ])
    expectReplayAgrees(settled, sim)
  })

  const take = activity("take")
  const keeper = workflow("keeper", {}, function* () {
    const got = (yield* take()) as { items: Array<string> }
    got.items.push("changed by the workflow")
    return got.items.length
  })

  it("a value from history is the workflow's own copy: changing it changes nothing recorded", () => {
    const sim = new Simulation(keeper, undefined)
    const result = { items: ["a"] }
    sim.completeActivity(1, result)
    expect(result).toEqual({ items: ["a"] })
    expect(sim.instance.result).toBe(2)
    expectReplayAgrees(keeper, sim)
  })

  const Items = defineQuery("items", { output: Schema.Array(Schema.String) })
  const Add = defineSignal("add", Schema.String)
  const listing = workflow("listing", { signals: [Add], queries: [Items] }, function* () {
    const items: Array<string> = []
    yield* onQuery(Items, () => items)
    for (;;) items.push(yield* waitForSignal(Add))
  })

  it("a query's answer is an encoded copy of the handler's value", () => {
    const sim = new Simulation(listing, undefined)
    sim.signal("add", "milk")
    const answer = sim.instance.query("items")
    expect(answer).toEqual({ ok: true, value: ["milk"] })
    if (answer.ok) (answer.value as Array<string>).push("added by a caller")
    expect(sim.instance.query("items")).toEqual({ ok: true, value: ["milk"] })
  })
})

describe("values workflow code produces are encoded owned copies", () => {
  const send = activity<unknown>("send")
  const sender = workflow("sender", {}, function* () {
    const order = { items: ["book"] }
    yield* send(order)
    order.items.push("changed after the call")
    return yield* send(order)
  })

  it("an activity's recorded input is the value at the call, whatever the workflow does with it after", () => {
    const sim = new Simulation(sender, undefined)
    sim.completeActivity(1, null)
    sim.completeActivity(2, null)
    const inputs = sim.history
      .filter((e) => e.type === "ActivityScheduled")
      .map((e) => (e as { input: unknown }).input)
    expect(inputs).toEqual([{ items: ["book"] }, { items: ["book", "changed after the call"] }])
    expectReplayAgrees(sender, sim)
  })

  const stamped = workflow("stamped", { output: Schema.Struct({ at: Schema.Date }) }, function* () {
    return { at: new Date("2024-01-01T00:00:00.000Z") }
  })
  const undated = workflow("undated", {}, function* () {
    return { nested: [{ at: new Date(0) }] }
  })

  it("the workflow's result is encoded by its output schema; without one, what JSON cannot hold fails the run", () => {
    expect(new Simulation(stamped, undefined).commands).toEqual([
      { type: "WorkflowCompleted", result: { at: "2024-01-01T00:00:00.000Z" } }
    ])
    const sim = new Simulation(undated, undefined)
    expect(sim.instance.status).toBe("failed")
    expect(sim.instance.error).toMatchObject({
      name: "InvalidPayload",
      message:
        'invalid result of workflow "undated" at "result.nested[0].at": a Date: JSON has no dates; ' +
        "give the value a schema (Schema.Date carries it as an ISO string)"
    })
    expectReplayAgrees(undated, sim)
  })

  const Round = Schema.Struct({ round: Schema.NumberFromString })
  const looping = workflow("looping", { input: Round }, function* ({ round }) {
    return yield* continueAsNew({ round: round + 1 })
  })
  const kid = workflow("kid", { input: Schema.NumberFromString }, function* (n) {
    return n
  })
  const parent = workflow("parent", {}, function* () {
    return yield* child(kid, 5)
  })

  it("a continue-as-new input and a child's input are encoded with the workflow's input schema", () => {
    expect(new Simulation(looping, { round: "1" }).commands).toEqual([
      { type: "WorkflowContinuedAsNew", input: { round: "2" } }
    ])
    const sim = new Simulation(parent, undefined)
    expect(sim.commands).toEqual([
      { type: "ChildWorkflowStarted", cmd: 1, workflowType: "kid", workflowId: "wf-1/1", input: "5" }
    ])
  })
})

describe("undefined is kept", () => {
  const notify = activity("notify", { input: Schema.String })
  const greet = workflow("greet", {}, function* (name: string | undefined = "world") {
    const sent = yield* notify(name)
    return { name, sent: sent === undefined ? "undefined" : sent }
  })

  it("a history without input starts the body with undefined; an absent result resolves to undefined", () => {
    const history = [started()]
    const { commands } = replay(greet, history)
    expect(commands).toEqual([
      { type: "ActivityScheduled", cmd: 1, name: "notify", input: "world", options: {} }
    ])
    const done = replay(greet, [
      ...history,
      { ...base, seq: 2, type: "ActivityScheduled", cmd: 1, name: "notify", input: "world", options: {} },
      { ...base, seq: 3, type: "ActivityCompleted", cmd: 1, attempt: 1 } as HistoryEvent
    ])
    expect(done.commands).toEqual([
      { type: "WorkflowCompleted", result: { name: "world", sent: "undefined" } }
    ])
  })

  it("histories recorded before the change, with null where a value was undefined, replay as they ran", () => {
    const log = activity<unknown>("log")
    const seen: Array<unknown> = []
    const legacy = workflow("legacy", {}, function* (input: unknown) {
      const logged = yield* log(input)
      seen.push({ input, logged })
      return { input, logged }
    })
    const old = replay(legacy, [
      started(null),
      { ...base, seq: 2, type: "ActivityScheduled", cmd: 1, name: "log", input: null, options: {} },
      { ...base, seq: 3, type: "ActivityCompleted", cmd: 1, attempt: 1, result: null },
      { ...base, seq: 4, type: "WorkflowCompleted", result: { input: null, logged: null } }
    ] as Array<HistoryEvent>)
    expect(old.divergence).toBeUndefined()
    expect(old.status).toBe("completed")
    expect(seen).toEqual([{ input: null, logged: null }])
  })

  it("an object key whose value is undefined is dropped, on both paths", () => {
    const fetch = activity<unknown>("fetch")
    const keys = workflow("keys", {}, function* () {
      const value = (yield* fetch({ id: 1, deletedAt: undefined })) as Record<string, unknown>
      return Object.keys(value)
    })
    const sim = new Simulation(keys, undefined)
    expect(sim.commands).toEqual([
      { type: "ActivityScheduled", cmd: 1, name: "fetch", input: { id: 1 }, options: {} }
    ])
    expect(sim.completeActivity(1, { id: 1, deletedAt: undefined })).toEqual([
      { type: "WorkflowCompleted", result: ["id"] }
    ])
    expectReplayAgrees(keys, sim)
  })
})

describe("a recorded value the code's schema cannot decode", () => {
  const double = activity("double", { output: Schema.NumberFromString })
  const doubling = workflow("doubling", {}, function* () {
    return yield* double()
  })

  it("leaves the run stuck with a divergence naming the path, live and on replay", () => {
    const sim = new Simulation(doubling, undefined)
    sim.completeActivity(1, "forty-two")
    expect(sim.instance.status).toBe("stuck")
    expect(sim.instance.divergence).toMatchObject({
      cmd: 1,
      expected: { kind: "ActivityCompleted", seq: 3 },
      actual: { kind: "Activity", name: "double" },
      reason:
        'the recorded result does not decode: invalid result of activity "double" at "result": ' +
        'Unable to decode "forty-two" into a number'
    })
    expect(replay(doubling, sim.history).divergence).toEqual(sim.instance.divergence)
  })
})

describe("one cancel message", () => {
  const Never = defineSignal("never")
  const waiting = workflow("waiting", { signals: [Never] }, function* () {
    yield* waitForSignal(Never)
  })

  it("a cancelled run's error is the same live and replayed, with no stack", () => {
    const sim = new Simulation(waiting, undefined)
    sim.cancel("budget cut")
    expect(sim.instance.error).toEqual({ name: "Cancelled", message: "cancelled: budget cut" })
    expect(replay(waiting, sim.history).error).toEqual(sim.instance.error)
  })
})

describe("an error's details", () => {
  const failing = workflow("failing", {}, function* () {
    throw Object.assign(new Error("boom"), { details: { n: 1n, ok: [1] } })
  })

  it("are stored when JSON holds them, and otherwise dropped with the reason in the message", () => {
    const sim = new Simulation(failing, undefined)
    expect(sim.instance.status).toBe("failed")
    expect(sim.commands).toEqual([
      {
        type: "WorkflowFailed",
        error: expect.objectContaining({
          name: "Error",
          message:
            'boom (details not stored: invalid details of the error at "details.n": a bigint: JSON has no bigints; ' +
            "give the value a schema (Schema.BigInt carries it as a string))"
        })
      }
    ])
    expect("details" in (sim.commands[0] as { error: object }).error).toBe(false)
    const kept = new Simulation(
      workflow("kept", {}, function* () {
        throw Object.assign(new Error("boom"), { details: { ok: [1], gone: undefined } })
      }),
      undefined
    )
    expect(kept.instance.error).toMatchObject({ message: "boom", details: { ok: [1] } })
  })
})

describe("code that throws while a value is encoded or decoded", () => {
  const Fragile = Schema.transform(Schema.String, Schema.Number, {
    decode: (s) => Number(s),
    encode: (n) => {
      if (n < 0) throw new Error("no negatives")
      return String(n)
    }
  })
  const send = activity("send", { input: Fragile })
  const sender = workflow("fragileSender", {}, function* () {
    try {
      yield* send(-1)
    } catch (error) {
      return (error as Error).message
    }
  })
  const getter = workflow("getter", {}, function* () {
    return {
      get broken(): number {
        throw new Error("getter broke")
      }
    }
  })

  it("is refused like any value that does not fit, not a crash of the interpreter", () => {
    expect(new Simulation(sender, undefined).commands).toEqual([
      {
        type: "WorkflowCompleted",
        result: 'invalid input of activity "send" at "input": threw Error: no negatives'
      }
    ])
    const sim = new Simulation(getter, undefined)
    expect(sim.instance.error).toMatchObject({
      name: "InvalidPayload",
      message: 'invalid result of workflow "getter" at "result": threw Error: getter broke'
    })
  })
})
