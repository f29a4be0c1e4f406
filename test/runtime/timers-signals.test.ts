/**
 * Timers and signals end to end on the real engine and a real SQLite file, with time scripted
 * by TestClock: long timers, signals kept until waited for, signal timeouts, and refusals.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/TestClock"
import { defineSignal, sleep, waitForSignal, workflow } from "../../core"
import { Engine } from "../../runtime"
import {
  awaitClosed,
  engineLayer,
  eventsOfType,
  historyOf,
  runUntilClosed,
  settle
} from "../support/engine-harness"

describe("timers and signals", () => {
  const Go = defineSignal("go", Schema.Struct({ n: Schema.Number }))
  const waiting = workflow("waiting", { signals: [Go] }, function* () {
    yield* sleep("7 days")
    const first = yield* waitForSignal(Go)
    const second = yield* waitForSignal(Go)
    return [first.n, second.n]
  })

  it.scoped(
    "a 7-day timer fires under TestClock; a signal sent before the wait is kept, two are consumed in arrival order",
    () =>
      Effect.gen(function* () {
        const engine = yield* Engine
        yield* engine.start("waiting", undefined, { id: "s1" })
        yield* settle
        yield* engine.signal("s1", "go", { n: 1 })
        yield* TestClock.adjust("6 days")
        yield* settle
        expect((yield* engine.describe("s1")).pending.timers.map((t) => t.purpose)).toEqual(["sleep"])
        yield* TestClock.adjust("1 day")
        yield* settle
        expect((yield* engine.describe("s1")).pending.signals).toEqual(["go"])
        yield* engine.signal("s1", "go", { n: 2 })
        expect(yield* awaitClosed("s1")).toBe("completed")
        expect((yield* engine.describe("s1")).result).toEqual([1, 2])
        const types = (yield* historyOf("s1")).map((e) => e.type)
        expect(types).toEqual([
          "WorkflowStarted",
          "TimerStarted",
          "SignalReceived",
          "TimerFired",
          "SignalReceived",
          "WorkflowCompleted"
        ])
      }).pipe(Effect.provide(engineLayer([waiting], [])))
  )

  const Approve = defineSignal("approve", Schema.Boolean)
  const approval = workflow("approval", { signals: [Approve] }, function* () {
    const answer = yield* waitForSignal(Approve, { timeout: "1 day" })
    return answer === undefined ? "timed out" : answer ? "approved" : "rejected"
  })

  it.scoped("a signal timeout resolves to undefined when the timer fires first", () =>
    Effect.gen(function* () {
      const engine = yield* Engine
      yield* engine.start("approval", undefined, { id: "a1" })
      expect(yield* runUntilClosed("a1", "6 hours")).toBe("completed")
      expect((yield* engine.describe("a1")).result).toBe("timed out")
      yield* engine.start("approval", undefined, { id: "a2" })
      yield* settle
      yield* engine.signal("a2", "approve", true)
      expect(yield* awaitClosed("a2")).toBe("completed")
      expect((yield* engine.describe("a2")).result).toBe("approved")
      expect(eventsOfType(yield* historyOf("a2"), "TimerCancelled").length).toBe(1)
    }).pipe(Effect.provide(engineLayer([approval], [])))
  )

  it.scoped(
    "signals to unknown or closed workflows, or undeclared or invalid signals, are refused with named errors",
    () =>
      Effect.gen(function* () {
        const engine = yield* Engine
        const unknown = yield* Effect.flip(engine.signal("nope", "approve", true))
        expect(unknown._tag).toBe("WorkflowNotFound")
        yield* engine.start("approval", undefined, { id: "a3" })
        const undeclared = yield* Effect.flip(engine.signal("a3", "approv", true))
        expect(undeclared.message).toBe(
          `unknown signal "approv" of workflow type "approval"; known: "approve"`
        )
        const invalid = yield* Effect.flip(engine.signal("a3", "approve", "yes"))
        expect(invalid._tag).toBe("InvalidPayload")
        yield* engine.signal("a3", "approve", false)
        yield* awaitClosed("a3")
        const closed = yield* Effect.flip(engine.signal("a3", "approve", true))
        expect(closed.message).toBe(`workflow "a3" is completed`)
        const type = yield* Effect.flip(engine.start("aproval", undefined))
        expect(type.message).toBe(`unknown workflow type "aproval"; known: "approval"`)
      }).pipe(Effect.provide(engineLayer([approval], [])))
  )

  const Once = defineSignal("go")
  const once = workflow("once", { signals: [Once] }, function* () {
    yield* waitForSignal(Once)
    return "done"
  })

  it.scoped(
    "invariant 2: a signal that reaches a run in the task that completes it is refused, not acknowledged",
    () =>
      Effect.gen(function* () {
        const engine = yield* Engine
        yield* engine.start("once", undefined, { id: "once" })
        const [first, second] = yield* Effect.all(
          [
            Effect.either(engine.signal("once", "go", undefined)),
            Effect.either(engine.signal("once", "go", undefined))
          ],
          { concurrency: "unbounded" }
        )
        expect(yield* awaitClosed("once")).toBe("completed")
        expect(first._tag).toBe("Right")
        // Refused as it would have been a moment later: it is stored nowhere.
        expect(second._tag === "Left" && second.left._tag).toBe("WorkflowClosed")
        expect(eventsOfType(yield* historyOf("once"), "SignalReceived").length).toBe(1)
      }).pipe(Effect.provide(engineLayer([once], [])))
  )
})
