/**
 * Activity retry policy (DESIGN §5) as an Effect `Schedule`, read one decision at a time so
 * that a retry survives a restart: the attempt count is stored, and the delay before attempt
 * n+1 is a pure function of n.
 */
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import type { ErrorInfo, RetryPolicy } from "../core"

export interface ResolvedPolicy {
  readonly initialIntervalMs: number
  readonly backoffCoefficient: number
  readonly maximumIntervalMs: number
  /** 0 means unlimited. */
  readonly maximumAttempts: number
  readonly nonRetryableErrors: ReadonlyArray<string>
}

/** Temporal's defaults: 1 s, doubling, capped at 100× the initial interval, unlimited attempts. */
export const resolvePolicy = (policy: RetryPolicy | undefined): ResolvedPolicy => {
  const initialIntervalMs = policy?.initialIntervalMs ?? 1000
  return {
    initialIntervalMs,
    backoffCoefficient: policy?.backoffCoefficient ?? 2,
    maximumIntervalMs: policy?.maximumIntervalMs ?? initialIntervalMs * 100,
    maximumAttempts: policy?.maximumAttempts ?? 0,
    nonRetryableErrors: policy?.nonRetryableErrors ?? []
  }
}

/** The policy's backoff: exponential, capped at the maximum interval. */
const retrySchedule = (policy: ResolvedPolicy): Schedule.Schedule<Duration.Duration> =>
  Schedule.exponential(Duration.millis(policy.initialIntervalMs), policy.backoffCoefficient).pipe(
    Schedule.map((delay) => Duration.min(delay, Duration.millis(policy.maximumIntervalMs)))
  )

/**
 * After `failedAttempts` failures ending in `error`: the delay before the next attempt, or
 * undefined when the activity has failed for good (non-retryable error, or attempts spent).
 */
export const nextRetryDelay = (
  policy: ResolvedPolicy,
  failedAttempts: number,
  error: ErrorInfo
): number | undefined => {
  if (error.nonRetryable || policy.nonRetryableErrors.includes(error.name)) return undefined
  if (policy.maximumAttempts > 0 && failedAttempts >= policy.maximumAttempts) return undefined
  const decisions = Effect.runSync(
    Schedule.run(
      retrySchedule(policy),
      0,
      Array.from({ length: failedAttempts }, (_, i) => i)
    )
  )
  return Duration.toMillis(Chunk.unsafeGet(decisions, failedAttempts - 1))
}
