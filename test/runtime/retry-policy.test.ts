/**
 * The retry policy (runtime/activities/retry-policy.ts) on its own: the delay before each next
 * attempt in closed form, when it gives up, and that the closed form is what Effect's
 * `Schedule.exponential`, capped at the maximum, gives at the same recurrence.
 */
import { fc, test } from "@fast-check/vitest"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import { describe, expect, it } from "vitest"
import { nextRetryDelay, resolvePolicy } from "../../runtime/activities"

const down = { name: "Error", message: "down" }

describe("retry policy", () => {
  it("defaults to Temporal's: 1 s doubling, capped at 100 s, attempts unlimited", () => {
    const policy = resolvePolicy(undefined)
    expect(Array.from({ length: 10 }, (_, i) => nextRetryDelay(policy, i + 1, down))).toEqual([
      1000, 2000, 4000, 8000, 16000, 32000, 64000, 100000, 100000, 100000
    ])
    expect(nextRetryDelay(policy, 10_000, down)).toBe(100000)
  })

  it("gives up once the attempts are spent, on an error recorded non-retryable, and on one the policy names", () => {
    const policy = resolvePolicy({ maximumAttempts: 3, nonRetryableErrors: ["Refused"] })
    expect([1, 2, 3].map((n) => nextRetryDelay(policy, n, down))).toEqual([1000, 2000, undefined])
    expect(nextRetryDelay(policy, 1, { ...down, nonRetryable: true })).toBeUndefined()
    expect(nextRetryDelay(policy, 1, { name: "Refused", message: "no" })).toBeUndefined()
  })

  it("takes a fractional coefficient and its own maximum", () => {
    const policy = resolvePolicy({ initialIntervalMs: 200, backoffCoefficient: 1.5, maximumIntervalMs: 700 })
    expect([1, 2, 3, 4, 5].map((n) => nextRetryDelay(policy, n, down))).toEqual([200, 300, 450, 675, 700])
  })

  /** The delay before attempt n+1 as Effect's exponential schedule, capped, steps to it. */
  const bySchedule = (initial: number, coefficient: number, maximum: number, n: number) =>
    Duration.toMillis(
      Chunk.unsafeGet(
        Effect.runSync(
          Schedule.run(
            Schedule.exponential(Duration.millis(initial), coefficient).pipe(
              Schedule.map((delay) => Duration.min(delay, Duration.millis(maximum)))
            ),
            0,
            Array.from({ length: n }, (_, i) => i)
          )
        ),
        n - 1
      )
    )

  test.prop([
    fc.integer({ min: 1, max: 600_000 }),
    fc.double({ min: 1, max: 10, noNaN: true }),
    fc.integer({ min: 1, max: 10_000_000 }),
    fc.integer({ min: 1, max: 60 })
  ])("the closed form is Schedule.exponential capped at the maximum", (initial, coefficient, maximum, n) => {
    const policy = resolvePolicy({
      initialIntervalMs: initial,
      backoffCoefficient: coefficient,
      maximumIntervalMs: maximum
    })
    expect(nextRetryDelay(policy, n, down)).toBe(bySchedule(initial, coefficient, maximum, n))
  })
})
