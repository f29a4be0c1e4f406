/**
 * Timers, retry delays and timeouts longer than setTimeout's 2^31−1 ms (24.8 days) fire on
 * time (issue 22 item 1). The clock is TestClock with the real clock's limit (a longer sleep
 * never ends), so these fail wherever the engine hands such a sleep to the clock.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/TestClock"
import { activity, sleep, workflow } from "../../core"
import { Engine, EngineLive, implement, type RegisteredActivity } from "../../runtime"
import { settle, tempDb } from "../support/engine-harness"
import { withTimerLimit } from "../support/timer-limit"

const nap = workflow("nap", { input: Schema.String }, function* (duration) {
  yield* sleep(duration as Duration.DurationInput)
  return duration
})

const monthly = activity("monthly", {
  input: Schema.Number,
  output: Schema.Number,
  retry: { initialInterval: "30 days", maximumAttempts: 2 }
})
const retrying = workflow("retrying", { input: Schema.Number }, function* (n) {
  return yield* monthly(n)
})

const stalled = activity("stalled", {
  input: Schema.Number,
  output: Schema.Number,
  timeout: "30 days",
  retry: { maximumAttempts: 1 }
})
const timingOut = workflow("timingOut", { input: Schema.Number }, function* (n) {
  return yield* stalled(n)
})

const engine = (activities: ReadonlyArray<RegisteredActivity> = []) =>
  EngineLive({ dbPath: tempDb("long-timers").dbPath, workflows: [nap, retrying, timingOut], activities })

const statuses = (ids: ReadonlyArray<string>) =>
  Effect.flatMap(Engine, (e) => Effect.forEach(ids, (id) => Effect.map(e.describe(id), (d) => d.status)))

/** Moves the clock by `by`, then lets the engine take what fell due. */
const advance = (by: Duration.DurationInput) => Effect.zipRight(TestClock.adjust(by), settle)

describe("timers longer than 24.8 days", () => {
  it.scoped("timers of 30 and 365 days fire on time, and a 1-minute timer added after them fires too", () =>
    withTimerLimit(
      Effect.gen(function* () {
        const e = yield* Engine
        yield* e.start("nap", "365 days", { id: "year" })
        yield* e.start("nap", "30 days", { id: "month" })
        yield* settle
        yield* e.start("nap", "1 minute", { id: "minute" })
        yield* settle
        const ids = ["minute", "month", "year"]
        yield* advance("1 minute")
        expect(yield* statuses(ids)).toEqual(["completed", "running", "running"])
        yield* advance(Duration.subtract(Duration.days(30), Duration.minutes(1)))
        expect(yield* statuses(ids)).toEqual(["completed", "completed", "running"])
        yield* advance(Duration.subtract(Duration.days(335), Duration.seconds(1)))
        expect(yield* statuses(ids)).toEqual(["completed", "completed", "running"])
        yield* advance("1 second")
        expect(yield* statuses(ids)).toEqual(["completed", "completed", "completed"])
        // A timer set after the long ones have fired still fires: nothing stopped the loop.
        yield* e.start("nap", "40 days", { id: "later" })
        yield* settle
        yield* advance("40 days")
        expect(yield* statuses(["later"])).toEqual(["completed"])
      }).pipe(Effect.provide(engine()))
    )
  )

  it.scoped("an activity retry 30 days away runs on time", () => {
    const attempts: Array<number> = []
    const impl = implement(monthly, (n, ctx) => {
      attempts.push(ctx.attempt)
      if (ctx.attempt === 1) throw new Error("not yet")
      return n * 2
    })
    return withTimerLimit(
      Effect.gen(function* () {
        const e = yield* Engine
        yield* e.start("retrying", 21, { id: "retry" })
        yield* settle
        expect(attempts).toEqual([1])
        yield* advance(Duration.subtract(Duration.days(30), Duration.seconds(1)))
        expect(attempts).toEqual([1])
        yield* advance("1 second")
        expect(attempts).toEqual([1, 2])
        expect((yield* e.describe("retry")).result).toBe(42)
      }).pipe(Effect.provide(engine([impl])))
    )
  })

  it.scoped("a start-to-close timeout of 30 days fails the attempt at 30 days", () => {
    const impl = implement(stalled, () => new Promise<number>(() => {}))
    return withTimerLimit(
      Effect.gen(function* () {
        const e = yield* Engine
        yield* e.start("timingOut", 1, { id: "stalled" })
        yield* settle
        yield* advance(Duration.subtract(Duration.days(30), Duration.seconds(1)))
        expect(yield* statuses(["stalled"])).toEqual(["running"])
        yield* advance("1 second")
        expect(yield* statuses(["stalled"])).toEqual(["failed"])
        const failed = (yield* e.history("stalled")).events.find((event) => event.type === "ActivityFailed")
        expect(failed?.type === "ActivityFailed" && [failed.at, failed.error]).toEqual([
          Duration.toMillis("30 days"),
          expect.objectContaining({
            name: "ActivityTimeout",
            message: "attempt 1 did not finish within 2592000000 ms"
          })
        ])
      }).pipe(Effect.provide(engine([impl])))
    )
  })
})
