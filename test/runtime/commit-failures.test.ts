/**
 * Commits that fail or gather, on the real engine over the gated store (a real SQLite file
 * whose commits the test holds at a gate, fails on cue, and whose reads it holds): what a
 * failed commit's run keeps, what comes again, what its callers are told, and in which order.
 * Engine invariants 1 and 2; time is TestClock's.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import {
  activity,
  all,
  defineQuery,
  defineSignal,
  onQuery,
  race,
  sleep,
  waitForSignal,
  workflow
} from "../../core"
import { Engine, implement } from "../../runtime"
import {
  awaitClosed,
  awaitEvents,
  awaitingSignal,
  eventsOfType,
  heldActivity,
  historyOf,
  runUntilClosed,
  settle,
  stillRunning
} from "../support/engine-harness"
import { gatedEngine, onGatedEngine } from "../support/gated-store"

describe("commits that fail or gather", () => {
  const Go = defineSignal("go")
  const first = activity("first", { output: Schema.String })
  const second = activity("second", { output: Schema.String })
  const pairThenWait = workflow("pairThenWait", { signals: [Go] }, function* () {
    const got = yield* all([first(), second()])
    yield* waitForSignal(Go)
    return got
  })

  it.scoped(
    "completions lost with a failed commit and the commit dropped behind it come back in the order they arrived",
    () => {
      const held = { first: heldActivity<string>(), second: heldActivity<string>() }
      return onGatedEngine(
        [pairThenWait],
        [implement(first, held.first.run), implement(second, held.second.run)],
        (control) =>
          Effect.gen(function* () {
            const engine = yield* Engine
            yield* engine.start("pairThenWait", undefined, { id: "pw" })
            yield* held.first.started
            yield* held.second.started
            yield* control.gate.close
            // The first completion's commit waits at the gate; the second's queues behind it.
            yield* held.first.finish("first")
            yield* settle
            yield* held.second.finish("second")
            yield* settle
            control.failNext = true
            yield* control.gate.open
            yield* awaitingSignal("pw")
            yield* engine.signal("pw", "go", undefined)
            expect(yield* awaitClosed("pw")).toBe("completed")
            const events = yield* historyOf("pw")
            expect(eventsOfType(events, "ActivityCompleted").map((e) => [e.cmd, e.result])).toEqual([
              [1, "first"],
              [2, "second"]
            ])
            expect([held.first.calls, held.second.calls]).toEqual([1, 1])
          })
      )
    }
  )

  const racing = workflow("racing", { signals: [Go] }, function* () {
    const winner = yield* race([
      function* () {
        yield* sleep("20 millis")
        return "short"
      },
      function* () {
        yield* sleep("150 millis")
        return "long"
      }
    ])
    yield* waitForSignal(Go)
    return winner
  })

  it.scoped("a 20 ms timer still beats a 150 ms one when the commit of its firing fails", () =>
    onGatedEngine([racing], [], (control) =>
      Effect.gen(function* () {
        const engine = yield* Engine
        yield* engine.start("racing", undefined, { id: "rc" })
        yield* awaitEvents("rc", "TimerStarted", 2)
        yield* control.gate.close
        // The short timer's firing waits at the gate; the long one fires meanwhile and queues behind it.
        yield* TestClock.adjust("20 millis")
        yield* settle
        yield* TestClock.adjust("130 millis")
        yield* settle
        control.failNext = true
        yield* control.gate.open
        yield* awaitingSignal("rc")
        yield* engine.signal("rc", "go", undefined)
        expect(yield* awaitClosed("rc")).toBe("completed")
        expect(eventsOfType(yield* historyOf("rc"), "TimerFired").map((e) => e.cmd)).toEqual([1, 2])
        expect((yield* engine.describe("rc")).result).toBe("short")
      })
    )
  )

  const waitsForGo = workflow("waitsForGo", { signals: [Go] }, function* () {
    yield* waitForSignal(Go)
    return "went"
  })

  it.scoped(
    "a signal refused while the close of its run is in flight names the status the close gives it",
    () =>
      onGatedEngine([waitsForGo], [], (control) =>
        Effect.gen(function* () {
          const engine = yield* Engine
          yield* engine.start("waitsForGo", undefined, { id: "closing" })
          yield* awaitingSignal("closing")
          yield* control.gate.close
          const went = yield* Effect.fork(engine.signal("closing", "go", undefined))
          yield* settle
          const refused = yield* Effect.flip(engine.signal("closing", "go", undefined))
          expect(refused._tag === "WorkflowClosed" && refused.status).toBe("completed")
          yield* control.gate.open
          yield* Fiber.join(went)
        })
      )
  )

  it.scoped("a start while the engine drains is refused with ShuttingDown; what was accepted commits", () => {
    const { control, layer } = gatedEngine([waitsForGo])
    return Effect.gen(function* () {
      const scope = yield* Scope.make()
      const engine = Context.get(yield* Layer.buildWithScope(layer, scope), Engine)
      yield* engine.start("waitsForGo", undefined, { id: "draining" })
      yield* awaitingSignal("draining").pipe(Effect.provideService(Engine, engine))
      yield* control.gate.close
      const accepted = yield* Effect.fork(engine.signal("draining", "go", undefined))
      yield* settle
      const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
      yield* settle
      const refused = yield* Effect.flip(engine.start("waitsForGo", undefined, { id: "late" }))
      expect(refused).toMatchObject({
        _tag: "StoreError",
        reason: "ShuttingDown",
        message: "the engine is shutting down"
      })
      yield* control.gate.open
      yield* Fiber.join(accepted)
      yield* Fiber.join(closing)
      // The signal's commit, then the drain's empty marker.
      expect(control.committed.slice(-2)).toEqual([["SignalReceived", "WorkflowCompleted"], []])
    }).pipe(Effect.ensuring(control.gate.open))
  })

  it.scoped(
    "after a failed commit that closed the run in memory, the run is open to a signal, not to a start",
    () =>
      onGatedEngine([waitsForGo], [], (control) =>
        Effect.gen(function* () {
          const engine = yield* Engine
          const started = yield* engine.start("waitsForGo", undefined, { id: "sx" })
          yield* awaitingSignal("sx")
          control.failNext = true
          // The run reads its row back slowly: the window in which it must not look closed, held
          // open until the start and the signal below have come.
          yield* control.reads.close
          const lost = yield* Effect.either(engine.signal("sx", "go", undefined))
          expect(lost._tag === "Left" && lost.left.message).toBe("disk full")
          const again = yield* Effect.either(engine.start("waitsForGo", undefined, { id: "sx" }))
          expect(again._tag === "Left" && again.left._tag).toBe("WorkflowAlreadyRunning")
          // The caller tries again at once, as the error tells it to; the run still waits for it.
          const retried = yield* Effect.fork(engine.signal("sx", "go", undefined))
          yield* settle
          expect(yield* stillRunning(retried)).toBe(true)
          yield* control.reads.open
          yield* Fiber.join(retried)
          expect(yield* awaitClosed("sx")).toBe("completed")
          expect((yield* engine.describe("sx")).runId).toBe(started.runId)
        })
      )
  )

  const tidyUp = activity("tidyUp", {})
  const cleansUp = workflow("cleansUp", { signals: [Go] }, function* () {
    try {
      yield* waitForSignal(Go)
      return "went"
    } finally {
      yield* tidyUp()
    }
  })

  it.scoped("a cancel sent again after the commit of the first one failed is delivered", () => {
    let tidied = 0
    return onGatedEngine([cleansUp], [implement(tidyUp, () => void tidied++)], (control) =>
      Effect.gen(function* () {
        const engine = yield* Engine
        yield* engine.start("cleansUp", undefined, { id: "cx" })
        yield* awaitingSignal("cx")
        control.failNext = true
        // The run reads its row back slowly: the second cancel comes while it does.
        yield* control.reads.close
        // Its task records the cancel and schedules the clean-up (the run stays open): the commit fails.
        const lost = yield* Effect.either(engine.cancel("cx"))
        expect(lost._tag === "Left" && lost.left.message).toBe("disk full")
        const again = yield* Effect.fork(engine.cancel("cx"))
        yield* settle
        expect(yield* stillRunning(again)).toBe(true)
        yield* control.reads.open
        yield* Fiber.join(again)
        expect(yield* awaitClosed("cx")).toBe("cancelled")
        expect(tidied).toBe(1)
      })
    )
  })

  const Count = defineQuery<number>("count")
  const Bump = defineSignal("bump")
  const counter = workflow("counter", { signals: [Bump], queries: [Count] }, function* () {
    let count = 0
    yield* onQuery(Count, () => count)
    for (;;) {
      yield* waitForSignal(Bump)
      count++
    }
  })

  it.scoped("a signal whose commit is dropped because an earlier commit of its run failed is answered", () =>
    onGatedEngine([counter], [], (control) =>
      Effect.gen(function* () {
        const engine = yield* Engine
        yield* engine.start("counter", undefined, { id: "g3" })
        yield* engine.signal("g3", "bump", undefined)
        yield* control.gate.close
        control.failNext = true
        const first = yield* Effect.fork(Effect.either(engine.signal("g3", "bump", undefined)))
        yield* settle
        const second = yield* Effect.fork(Effect.either(engine.signal("g3", "bump", undefined)))
        yield* settle
        yield* control.gate.open
        expect((yield* Fiber.join(first))._tag).toBe("Left")
        const dropped = yield* Fiber.join(second)
        expect(dropped._tag === "Left" && dropped.left).toMatchObject({
          reason: "Dropped",
          message: "dropped: an earlier commit of this workflow failed"
        })
        yield* engine.signal("g3", "bump", undefined)
        expect(yield* engine.query("g3", "count")).toBe(2)
      })
    )
  )

  const fetch = activity("fetch", { output: Schema.String })
  const fetching = workflow("fetching", {}, function* () {
    const fetched = yield* fetch()
    yield* sleep("50 millis")
    return fetched
  })

  it.scoped(
    "a completion or a timer firing lost with a failed commit comes again, and the activity does not run again",
    () => {
      const held = heldActivity<string>()
      return onGatedEngine([fetching], [implement(fetch, held.run)], (control) =>
        Effect.gen(function* () {
          const engine = yield* Engine
          yield* engine.start("fetching", undefined, { id: "lost" })
          yield* held.started
          control.failEventMatching = `"type":"ActivityCompleted"`
          yield* held.finish("first")
          // The completion goes with the failed commit and comes back from memory: no second call.
          yield* awaitEvents("lost", "TimerStarted")
          expect(control.failEventMatching).toBeUndefined()
          control.failEventMatching = `"type":"TimerFired"`
          // So does the timer's firing.
          expect(yield* runUntilClosed("lost", "50 millis")).toBe("completed")
          expect(control.failEventMatching).toBeUndefined()
          const events = yield* historyOf("lost")
          expect(eventsOfType(events, "ActivityCompleted").map((e) => e.result)).toEqual(["first"])
          expect(eventsOfType(events, "TimerFired").length).toBe(1)
          expect(held.calls).toBe(1)
        })
      )
    }
  )
})
