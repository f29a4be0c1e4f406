/**
 * Invariant 5: workflow code sees logical time and a seeded generator through the real globals
 * (`Date.now()`, `new Date()`, `Math.random()`), the same on every replay; the real globals are
 * back after every step, however the step ended.
 */
import * as Schema from "effect/Schema"
import { describe, expect, it } from "vitest"
import {
  activity,
  defineQuery,
  onQuery,
  random,
  replay,
  SeededRandom,
  uuid,
  workflow,
  WorkflowInstance
} from "../../core"
import { Simulation } from "../support/simulator"

const RealDate = Date
const realRandom = Math.random
const tick = activity("tick", { output: Schema.Number })

const expectRealGlobals = () => {
  expect(globalThis.Date).toBe(RealDate)
  expect(Math.random).toBe(realRandom)
}

const clockReader = workflow("clockReader", {}, function* () {
  const before = { now: Date.now(), date: new Date().getTime(), random: [Math.random(), Math.random()] }
  yield* tick()
  const after = { now: Date.now(), date: new Date().toISOString(), random: Math.random() }
  return {
    before,
    after,
    fixed: new Date(2020, 0, 2).getFullYear(),
    parsed: Date.parse("2020-01-02T00:00:00Z")
  }
})

describe("invariant 5: logical time and seeded randomness through the globals", () => {
  it("Date.now(), new Date() and Math.random() give the event's time and the run's seeded sequence", () => {
    const sim = new Simulation(clockReader, undefined, { seed: "seed-7" })
    const startedAt = sim.clock
    sim.advance(5_000)
    sim.completeActivity(1, 1)
    const draws = new SeededRandom("seed-7")
    expect(sim.instance.result).toEqual({
      before: { now: startedAt, date: startedAt, random: [draws.next(), draws.next()] },
      after: {
        now: startedAt + 5_000,
        date: new RealDate(startedAt + 5_000).toISOString(),
        random: draws.next()
      },
      fixed: 2020,
      parsed: 1_577_923_200_000
    })
    expectRealGlobals()
  })

  it("a replay sees the same values, whenever it runs", () => {
    const sim = new Simulation(clockReader, undefined)
    sim.advance(60_000)
    sim.completeActivity(1, 1)
    const again = replay(clockReader, sim.history)
    expect(again.divergence).toBeUndefined()
    expect(again.result).toEqual(sim.instance.result)
    const rebuilt = WorkflowInstance.replay(clockReader, sim.history.slice(0, 2))
    rebuilt.apply(sim.history[2]!)
    expect(rebuilt.result).toEqual(sim.instance.result)
  })

  it("recorded random() and uuid() draw from the same generator, so Math.random() after them agrees on replay", () => {
    const mixed = workflow("mixed", {}, function* () {
      const r = yield* random()
      const id = yield* uuid()
      yield* tick()
      return { r, id, next: Math.random() }
    })
    const sim = new Simulation(mixed, undefined, { seed: "mixed" })
    sim.completeActivity(3, 1)
    const draws = new SeededRandom("mixed")
    expect(sim.instance.result).toEqual({ r: draws.next(), id: draws.uuid(), next: draws.next() })
    expect(replay(mixed, sim.history).result).toEqual(sim.instance.result)
  })

  it("a query handler's Date.now() is logical and its Math.random() does not shift what the workflow draws", () => {
    const Peek = defineQuery<number>("peek")
    const peeking = workflow("peeking", {}, function* () {
      yield* onQuery(Peek, () => Math.random() + Date.now() * 0)
      yield* tick()
      return Math.random()
    })
    const sim = new Simulation(peeking, undefined, { seed: "q" })
    const draws = new SeededRandom("q")
    const first = draws.next()
    expect(sim.instance.query("peek")).toEqual({ ok: true, value: first })
    expect(sim.instance.query("peek")).toEqual({ ok: true, value: first })
    expectRealGlobals()
    sim.completeActivity(2, 1)
    expect(sim.instance.result).toBe(first)
    expect(replay(peeking, sim.history).result).toBe(first)
  })
})

describe("invariant 5: the real globals are restored after every step", () => {
  it("while workflow code runs the globals are replaced, and between steps they are the real ones", () => {
    const seen: Array<[boolean, boolean]> = []
    const observer = workflow("observer", {}, function* () {
      seen.push([globalThis.Date === RealDate, Math.random === realRandom])
      yield* tick()
      seen.push([globalThis.Date === RealDate, Math.random === realRandom])
    })
    const sim = new Simulation(observer, undefined)
    expectRealGlobals()
    sim.completeActivity(1, 1)
    expectRealGlobals()
    expect(seen).toEqual([
      [false, false],
      [false, false]
    ])
  })

  it("also when workflow code throws", () => {
    const thrower = workflow("thrower", {}, function* () {
      yield* tick()
      throw new Error(`failed at ${Date.now()}`)
    })
    const sim = new Simulation(thrower, undefined)
    sim.completeActivity(1, 1)
    expect(sim.instance.status).toBe("failed")
    expect(sim.instance.error?.message).toBe(`failed at ${sim.clock}`)
    expectRealGlobals()
  })

  it("also when the body throws before its first yield", () => {
    const early = workflow<void, unknown>("early", {}, () => {
      throw new Error("no generator")
    })
    const sim = new Simulation(early, undefined)
    expect(sim.instance.status).toBe("failed")
    expectRealGlobals()
  })

  it("also when a query handler throws", () => {
    const Broken = defineQuery("broken")
    const querying = workflow("querying", {}, function* () {
      yield* onQuery(Broken, () => {
        throw new Error("handler broke")
      })
      yield* tick()
    })
    const sim = new Simulation(querying, undefined)
    expect(sim.instance.query("broken")).toMatchObject({
      ok: false,
      error: { name: "Error", message: "handler broke" }
    })
    expectRealGlobals()
  })

  it("also when the replay diverges", () => {
    const other = activity("other")
    const changed = workflow("clockReader", {}, function* () {
      Math.random()
      yield* other()
    })
    const sim = new Simulation(clockReader, undefined)
    sim.completeActivity(1, 1)
    expect(replay(changed, sim.history).status).toBe("stuck")
    expectRealGlobals()
  })

  it("also when applying an event throws out of the interpreter", () => {
    const instance = WorkflowInstance.create(clockReader)
    expect(() => instance.apply({ type: "NoSuchEvent", seq: 1, at: 0 } as never)).toThrow(TypeError)
    expectRealGlobals()
  })
})
