/**
 * Activities end to end on the real engine and a real SQLite file, with time scripted by
 * TestClock: retries and their backoff, heartbeats, timeouts, non-retryable errors, and what a
 * released engine no longer runs.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/TestClock"
import { activity, all, workflow } from "../../core"
import { Engine, EngineLive, NonRetryableError, implement } from "../../runtime"
import {
  awaitEvents,
  engineLayer,
  heldActivity,
  eventsOfType,
  historyOf,
  runUntilClosed,
  settle,
  tempDb
} from "../support/engine-harness"

describe("activities", () => {
  const flaky = activity("flaky", {
    input: Schema.Number,
    output: Schema.String,
    retry: { initialInterval: "1 second" }
  })
  const flow = workflow("retrying", { input: Schema.Number }, function* (n) {
    return yield* flaky(n)
  })

  it.scoped(
    "retry with backoff: each failed attempt is recorded with its next retry time (1 s, 2 s, 4 s)",
    () => {
      let calls = 0
      const impl = implement(flaky, (n, ctx) => {
        calls++
        if (ctx.attempt < 4) throw new Error(`boom ${ctx.attempt}`)
        return `ok ${n} on attempt ${ctx.attempt} key ${ctx.idempotencyKey}`
      })
      return Effect.gen(function* () {
        const engine = yield* Engine
        yield* engine.start("retrying", 7, { id: "r1" })
        expect(yield* runUntilClosed("r1", "500 millis")).toBe("completed")
        const events = yield* historyOf("r1")
        const failures = eventsOfType(events, "ActivityAttemptFailed")
        expect(failures.map((f) => [f.attempt, f.error.message, f.nextRetryAt - f.at])).toEqual([
          [1, "boom 1", 1000],
          [2, "boom 2", 2000],
          [3, "boom 3", 4000]
        ])
        const done = eventsOfType(events, "ActivityCompleted")
        expect(done.map((d) => [d.attempt, d.result])).toEqual([[4, "ok 7 on attempt 4 key r1/1"]])
        expect(calls).toBe(4)
        expect((yield* engine.describe("r1")).result).toBe("ok 7 on attempt 4 key r1/1")
      }).pipe(Effect.provide(engineLayer([flow], [impl])))
    }
  )

  it.scoped("without a heartbeat timeout too, the next attempt gets the last heartbeat's details", () => {
    const seen: Array<unknown> = []
    const impl = implement(flaky, (n, ctx) => {
      seen.push(ctx.lastHeartbeat)
      if (ctx.attempt > 1) return `resumed from ${JSON.stringify(ctx.lastHeartbeat)}`
      ctx.heartbeat({ row: n })
      throw new Error("down")
    })
    return Effect.gen(function* () {
      const engine = yield* Engine
      yield* engine.start("retrying", 5, { id: "r2" })
      expect(yield* runUntilClosed("r2", "500 millis")).toBe("completed")
      expect(seen).toEqual([undefined, { row: 5 }])
      expect((yield* engine.describe("r2")).result).toBe(`resumed from {"row":5}`)
    }).pipe(Effect.provide(engineLayer([flow], [impl])))
  })

  it.scoped("a released engine runs no retry of its own", () => {
    let calls = 0
    const impl = implement(flaky, () => {
      calls++
      throw new Error("down")
    })
    return Effect.gen(function* () {
      yield* Effect.gen(function* () {
        const engine = yield* Engine
        yield* engine.start("retrying", 1, { id: "r3" })
        yield* awaitEvents("r3", "ActivityAttemptFailed", 1)
      }).pipe(Effect.provide(engineLayer([flow], [impl])), Effect.scoped)
      yield* TestClock.adjust("1 minute")
      yield* settle
      expect(calls).toBe(1)
    })
  })

  const slowOne = activity("slowOne", {})
  const queued = activity("queued", {})
  const pair = workflow("pair", {}, function* () {
    return yield* all([slowOne(), queued()])
  })

  it.scoped("a released engine starts no attempt that was queued for a slot", () =>
    Effect.gen(function* () {
      const slow = heldActivity<unknown>()
      let released = false
      const ranAfterRelease: Array<string> = []
      const layer = EngineLive({
        dbPath: tempDb("released").dbPath,
        workflows: [pair],
        activityConcurrency: 1,
        activities: [
          implement(slowOne, slow.run),
          implement(queued, () => {
            if (released) ranAfterRelease.push("queued")
            return "queued"
          })
        ]
      })
      yield* Effect.gen(function* () {
        const engine = yield* Engine
        yield* engine.start("pair", undefined, { id: "pair" })
        yield* slow.started
      }).pipe(Effect.provide(layer), Effect.scoped)
      released = true
      // The slow attempt ends after the release and frees its slot.
      yield* slow.finish("slow")
      yield* settle
      expect(ranAfterRelease).toEqual([])
    })
  )

  const metered = activity("metered", {
    input: Schema.Number,
    output: Schema.Struct({ usage: Schema.Struct({ totalTokens: Schema.Number }) })
  })
  const failing = activity("alwaysFailing", { retry: { initialInterval: "1 second" } })
  const describedFlow = workflow("described", {}, function* () {
    for (let i = 1; i <= 3; i++) yield* metered(i)
    yield* failing()
  })

  it.scoped("describe: a retrying activity's next attempt and the LLM usage its history records", () =>
    Effect.gen(function* () {
      const engine = yield* Engine
      yield* engine.start("described", undefined, { id: "d1" })
      yield* awaitEvents("d1", "ActivityAttemptFailed", 1)
      // The second attempt is due one second (initialInterval) after the first failed.
      yield* TestClock.adjust("1 second")
      yield* awaitEvents("d1", "ActivityAttemptFailed", 2)
      const described = yield* engine.describe("d1")
      expect(described.pending.activities).toEqual([{ cmd: 4, name: "alwaysFailing", attempt: 3 }])
      expect(described.llmUsage).toEqual({ calls: 3, totalTokens: 1 * 10 + 2 * 10 + 3 * 10 })
    }).pipe(
      Effect.provide(
        engineLayer(
          [describedFlow],
          [
            implement(metered, (i) => ({ usage: { totalTokens: i * 10 } })),
            implement(failing, () => {
              throw new Error("down")
            })
          ]
        )
      )
    )
  )

  const slow = activity("slow", {
    output: Schema.String,
    timeout: "5 seconds",
    retry: { maximumAttempts: 2, initialInterval: "1 second" }
  })
  const timing = workflow("timing", {}, function* () {
    try {
      return yield* slow()
    } catch (error) {
      return `failed: ${(error as Error).message}`
    }
  })

  it.scoped(
    "start-to-close timeout fails the attempt, aborts its signal, and retries up to the limit",
    () => {
      const aborted: Array<number> = []
      const impl = implement(slow, (_, ctx) => {
        ctx.signal.addEventListener("abort", () => aborted.push(ctx.attempt))
        return Effect.never
      })
      return Effect.gen(function* () {
        const engine = yield* Engine
        yield* engine.start("timing", undefined, { id: "t1" })
        expect(yield* runUntilClosed("t1", "1 second")).toBe("completed")
        const events = yield* historyOf("t1")
        expect(eventsOfType(events, "ActivityAttemptFailed").map((e) => e.error.name)).toEqual([
          "AttemptTimeout"
        ])
        expect(eventsOfType(events, "ActivityFailed").map((e) => [e.attempt, e.error.name])).toEqual([
          [2, "AttemptTimeout"]
        ])
        expect(aborted).toEqual([1, 2])
        expect((yield* engine.describe("t1")).result).toMatch(
          /^failed: activity slow \(cmd 1\) failed: AttemptTimeout/
        )
      }).pipe(Effect.provide(engineLayer([timing], [impl])))
    }
  )

  const beating = activity("beating", {
    output: Schema.Unknown,
    heartbeatTimeout: "2 seconds",
    retry: { initialInterval: "1 second" }
  })
  const heartbeats = workflow("heartbeats", {}, function* () {
    return yield* beating()
  })

  it.scoped(
    "heartbeat timeout fails a silent attempt; the next attempt gets the last heartbeat's details",
    () => {
      const seen: Array<unknown> = []
      const impl = implement(beating, (_, ctx) =>
        Effect.gen(function* () {
          seen.push(ctx.lastHeartbeat)
          if (ctx.attempt > 1) return { resumedFrom: ctx.lastHeartbeat }
          ctx.heartbeat({ page: 1 })
          yield* Effect.sleep("1 second")
          ctx.heartbeat({ page: 2 })
          return yield* Effect.never
        })
      )
      return Effect.gen(function* () {
        const engine = yield* Engine
        yield* engine.start("heartbeats", undefined, { id: "h1" })
        expect(yield* runUntilClosed("h1", "500 millis")).toBe("completed")
        const events = yield* historyOf("h1")
        expect(eventsOfType(events, "ActivityAttemptFailed").map((e) => e.error.name)).toEqual([
          "HeartbeatTimeout"
        ])
        expect(seen).toEqual([undefined, { page: 2 }])
        expect(eventsOfType(events, "ActivityAttemptFailed").map((e) => e.heartbeat)).toEqual([{ page: 2 }])
        expect((yield* engine.describe("h1")).result).toEqual({ resumedFrom: { page: 2 } })
      }).pipe(Effect.provide(engineLayer([heartbeats], [impl])))
    }
  )

  const refuse = activity("refuse", { input: Schema.String, output: Schema.String })
  const refusing = workflow("refusing", {}, function* () {
    try {
      return yield* refuse("x")
    } catch (error) {
      return `caught ${(error as { cause: { name: string } }).cause.name}`
    }
  })

  it.scoped("a non-retryable error fails the activity on its first attempt", () => {
    let calls = 0
    const impl = implement(refuse, () => {
      calls++
      throw new NonRetryableError({ message: "bad request" })
    })
    return Effect.gen(function* () {
      const engine = yield* Engine
      yield* engine.start("refusing", undefined, { id: "n1" })
      expect(yield* runUntilClosed("n1")).toBe("completed")
      const events = yield* historyOf("n1")
      expect(eventsOfType(events, "ActivityAttemptFailed")).toEqual([])
      expect(
        eventsOfType(events, "ActivityFailed").map((e) => [e.attempt, e.error.name, e.error.nonRetryable])
      ).toEqual([[1, "NonRetryableError", true]])
      expect(calls).toBe(1)
      expect((yield* engine.describe("n1")).result).toBe("caught NonRetryableError")
    }).pipe(Effect.provide(engineLayer([refusing], [impl])))
  })
})
