/**
 * The timer queue (runtime/timer-queue.ts) on its own, on TestClock: no engine, no store.
 * Titles name its invariants.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import type { HistoryEvent } from "../../core"
import { makeTimerQueue, openTimers } from "../../runtime/timer-queue"

/** A queue whose firings are listed as `runId/cmd`, and a step of the clock that lets its fiber run. */
const timerQueue = Effect.gen(function* () {
  const fired: Array<string> = []
  const timers = yield* makeTimerQueue((runId, cmd) => void fired.push(`${runId}/${cmd}`))
  const advance = (millis: number) => Effect.zipRight(TestClock.adjust(millis), Effect.yieldNow())
  yield* Effect.yieldNow()
  return { fired, timers, advance }
})

describe("timer queue", () => {
  it.scoped(
    "invariant 1: each timer fires once when the clock reaches it, timers due together in due order",
    () =>
      Effect.gen(function* () {
        const { fired, timers, advance } = yield* timerQueue
        timers.add("a", 1, 300)
        timers.add("b", 2, 100)
        timers.add("c", 3, 200)
        yield* advance(99)
        expect(fired).toEqual([])
        yield* advance(1)
        expect(fired).toEqual(["b/2"])
        expect([timers.fireAt("b", 2), timers.fireAt("a", 1)]).toEqual([undefined, 300])
        yield* advance(1_000)
        expect(fired).toEqual(["b/2", "c/3", "a/1"])
        yield* advance(1_000)
        expect(fired).toEqual(["b/2", "c/3", "a/1"])
      })
  )

  it.scoped("invariant 1: a timer that fell due before it was added fires at once", () =>
    Effect.gen(function* () {
      const { fired, timers, advance } = yield* timerQueue
      yield* advance(5_000)
      timers.add("late", 4, 1_000)
      yield* advance(0)
      expect(fired).toEqual(["late/4"])
    })
  )

  it.scoped("invariant 2: a timer added again fires at its last due time only; one removed never fires", () =>
    Effect.gen(function* () {
      const { fired, timers, advance } = yield* timerQueue
      timers.add("r", 1, 100)
      timers.add("r", 1, 500)
      timers.add("r", 2, 200)
      timers.remove("r", 2)
      expect([timers.fireAt("r", 1), timers.fireAt("r", 2)]).toEqual([500, undefined])
      yield* advance(499)
      expect(fired).toEqual([])
      yield* advance(1)
      expect(fired).toEqual(["r/1"])
    })
  )

  it.scoped("invariant 3: a timer added ahead of the one the fiber sleeps on wakes it", () =>
    Effect.gen(function* () {
      const { fired, timers, advance } = yield* timerQueue
      timers.add("far", 1, 60_000)
      yield* advance(10)
      timers.add("near", 1, 50)
      yield* advance(40)
      expect(fired).toEqual(["near/1"])
      yield* advance(59_950)
      expect(fired).toEqual(["near/1", "far/1"])
    })
  )

  it("openTimers: the timers a history leaves running, by cmd, with their due times", () => {
    const at = 0
    const events = [
      { type: "TimerStarted", seq: 2, at, cmd: 1, fireAt: 100 },
      { type: "TimerStarted", seq: 3, at, cmd: 2, fireAt: 200 },
      { type: "TimerStarted", seq: 4, at, cmd: 3, fireAt: 300 },
      { type: "TimerFired", seq: 5, at, cmd: 1 },
      { type: "TimerCancelled", seq: 6, at, cmd: 3 }
    ] as Array<HistoryEvent>
    expect([...openTimers(events)]).toEqual([[2, 200]])
  })
})
