/**
 * Errors that cross the workflow boundary.
 *
 * Everything thrown into workflow code is a real `Error` (a `Data.TaggedError`), so
 * `try/catch/finally` in a generator works as it does anywhere else. What is stored in
 * history is the serialisable `ErrorInfo`, never the live object.
 */
import * as Data from "effect/Data"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { formatPath, toJson, type CodecIssue } from "./codec"

/** The stored form of an error: what history, the HTTP API and the debugger carry. */
export const ErrorInfo = Schema.Struct({
  name: Schema.String,
  message: Schema.String,
  stack: Schema.optional(Schema.String),
  details: Schema.optional(Schema.Unknown),
  nonRetryable: Schema.optional(Schema.Boolean)
})
export type ErrorInfo = typeof ErrorInfo.Type

/**
 * Turns anything thrown into its stored form, keeping the name and stack of real errors.
 * `details` are stored as a JSON copy; details JSON cannot hold (a bigint, a Date, a cycle)
 * are left out and the message says why, since a thrown error cannot be refused.
 */
export const toErrorInfo = (error: unknown): ErrorInfo => {
  if (error instanceof WorkflowFailure) return error.info
  if (error instanceof Error) {
    const tag = (error as { _tag?: unknown })._tag
    const name = typeof tag === "string" ? tag : error.name
    const details = toJson((error as { details?: unknown }).details)
    const nonRetryable = (error as { nonRetryable?: unknown }).nonRetryable === true
    const message = Either.isRight(details)
      ? error.message
      : `${error.message} (details not stored: ${InvalidPayload.of("details of the error", "details", details.left).message})`
    return {
      name,
      message,
      ...(error.stack === undefined ? {} : { stack: error.stack }),
      ...(Either.isLeft(details) || details.right === undefined ? {} : { details: details.right }),
      ...(nonRetryable ? { nonRetryable } : {})
    }
  }
  if (typeof error === "object" && error !== null && typeof (error as any).message === "string") {
    const e = error as { name?: unknown; message: string }
    return { name: typeof e.name === "string" ? e.name : "Error", message: e.message }
  }
  return { name: "Error", message: typeof error === "string" ? error : safeJson(error) }
}

const safeJson = (value: unknown): string => {
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}

/**
 * Thrown at the current yield when the workflow (or the branch it runs in) is cancelled.
 * Catch it or use `finally` to compensate; rethrow (or let it escape) to end as cancelled.
 */
export class Cancelled extends Data.TaggedError("Cancelled")<{ readonly reason: string }> {
  override get message() {
    return `cancelled: ${this.reason}`
  }
}

/**
 * The stored form of a cancelled run's error, from the reason its `WorkflowCancelled` records:
 * the same for the run that was cancelled and for every replay of its history.
 */
export const cancelledError = (reason: string): ErrorInfo => ({
  name: "Cancelled",
  message: new Cancelled({ reason }).message
})

/**
 * A value failed its schema, or holds what JSON cannot carry, where it was produced or
 * received: a workflow's input or result, an activity's input or result, a signal's payload,
 * a query's arguments or answer. `path` runs from the value's root (`input`, `result`,
 * `payload`, …) to the field at fault. Nothing is stored of a value refused.
 */
export class InvalidPayload extends Schema.TaggedError<InvalidPayload>()("InvalidPayload", {
  /** The value, as a reader names it: `input of workflow "order"`, `result of activity "fetch"`. */
  what: Schema.String,
  path: Schema.Array(Schema.Union(Schema.String, Schema.Number)),
  detail: Schema.String
}) {
  /**
   * The error for `issue`, found in the value `what` names, whose root is called `root`.
   *
   * @example InvalidPayload.of('input of workflow "order"', "input", { path: ["items", 3], detail: "…" })
   */
  static of(what: string, root: string, issue: CodecIssue): InvalidPayload {
    return new InvalidPayload({ what, path: [root, ...issue.path], detail: issue.detail })
  }
  override get message() {
    return `invalid ${this.what} at "${formatPath(this.path)}": ${this.detail}`
  }
}

/**
 * An error whose stored form is known: what a workflow sees for a failed activity or child,
 * and what it may throw itself to fail with a chosen name and details.
 */
export class WorkflowFailure extends Error {
  readonly info: ErrorInfo
  constructor(info: ErrorInfo) {
    super(info.message)
    this.info = info
    this.name = info.name
  }
}

/** An activity failed after its retries (or with a non-retryable error). `cause` is the last attempt's error. */
export class ActivityFailure extends Data.TaggedError("ActivityFailure")<{
  readonly activity: string
  readonly cmd: number
  readonly cause: ErrorInfo
}> {
  override get message() {
    return `activity ${this.activity} (cmd ${this.cmd}) failed: ${this.cause.name}: ${this.cause.message}`
  }
}

/** A child workflow ended failed or cancelled. */
export class ChildWorkflowFailure extends Data.TaggedError("ChildWorkflowFailure")<{
  readonly workflowType: string
  readonly workflowId: string
  readonly cmd: number
  readonly cause: ErrorInfo
}> {
  override get message() {
    return `child workflow ${this.workflowType} (${this.workflowId}) failed: ${this.cause.name}: ${this.cause.message}`
  }
}

/** What a side of a divergence was: the recorded event or the yielded descriptor, summarised. */
export const DivergenceSide = Schema.Struct({
  kind: Schema.String,
  name: Schema.optional(Schema.String),
  seq: Schema.optional(Schema.Number),
  location: Schema.optional(Schema.String)
})
export type DivergenceSide = typeof DivergenceSide.Type

/**
 * The code, replayed against its history, yielded something other than what was recorded
 * at `cmd`. The workflow is `stuck`, not failed: deploying code that matches resumes it.
 */
export class NonDeterminismError extends Schema.TaggedError<NonDeterminismError>()("NonDeterminismError", {
  cmd: Schema.Number,
  expected: DivergenceSide,
  actual: DivergenceSide,
  reason: Schema.String
}) {
  override get message() {
    const side = (s: DivergenceSide) => (s.name ? `${s.kind} "${s.name}"` : s.kind)
    return `non-determinism at cmd ${this.cmd}: history has ${side(this.expected)}, code yields ${side(this.actual)} (${this.reason})`
  }
}
