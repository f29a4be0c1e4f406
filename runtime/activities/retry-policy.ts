/**
 * Activity retry policy (DESIGN §5), read one decision at a time so that a retry survives a
 * restart: the attempt count is stored, and the delay before attempt n+1 is a pure function
 * of n, in closed form: `min(initial · coefficientⁿ⁻¹, maximum)`, to the nanosecond (what
 * Effect's `Schedule.exponential` capped at the maximum gives at its n-th recurrence).
 */
import type { ErrorInfo, RetryPolicy } from "../../core"

export interface ResolvedPolicy {
  readonly initialIntervalMs: number
  readonly backoffCoefficient: number
  readonly maximumIntervalMs: number
  /** 0 means unlimited. */
  readonly maximumAttempts: number
  readonly nonRetryableErrors: ReadonlyArray<string>
}

/**
 * Temporal's defaults: 1 s, doubling, capped at 100× the initial interval, unlimited attempts.
 *
 * @example resolvePolicy({ maximumAttempts: 3 }).maximumIntervalMs // 100_000
 */
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

/**
 * After `failedAttempts` failures ending in `error`: the delay in ms before the next attempt,
 * `min(initial · coefficient^(failedAttempts−1), maximum)`, or undefined when the activity has
 * failed for good (an error recorded non-retryable or named in the policy, or the attempts
 * spent). On replay nothing asks: the delay is recorded in `ActivityAttemptFailed.nextRetryAt`.
 *
 * @example nextRetryDelay(resolvePolicy(undefined), 3, { name: "Error", message: "down" }) // 4000
 */
export const nextRetryDelay = (
  policy: ResolvedPolicy,
  failedAttempts: number,
  error: ErrorInfo
): number | undefined => {
  if (error.nonRetryable || policy.nonRetryableErrors.includes(error.name)) return undefined
  if (policy.maximumAttempts > 0 && failedAttempts >= policy.maximumAttempts) return undefined
  const delay = policy.initialIntervalMs * Math.pow(policy.backoffCoefficient, failedAttempts - 1)
  return Math.min(toWholeNanos(delay), policy.maximumIntervalMs)
}

/** A fractional delay kept to the nanosecond, as Effect's `Duration` keeps one (the delays recorded so far were). */
const toWholeNanos = (ms: number): number =>
  Number.isInteger(ms) || !Number.isFinite(ms) ? ms : Math.round(ms * 1_000_000) / 1_000_000
