/**
 * `codeReview`: an LLM reviews code, a human approves or rejects it (for up to days), and
 * the code is merged or refactored with the human's feedback.
 *
 * review (LLM) → `notify` → wait for `CodeReviewApproval` until `approvalTimeout` →
 * approved: `merge`; rejected: `refactor` (an LLM call given the feedback); no answer in
 * time: `notify` that it timed out, merge nothing.
 *
 * Durable: the review is never billed twice (a replay reads it from history), and the wait
 * for approval holds no memory and survives restarts.
 */
import * as Schema from "effect/Schema"
import {
  activity,
  defineQuery,
  defineSignal,
  onQuery,
  waitForSignal,
  workflow,
  type Descriptor
} from "../core"
import { extractCode, llmChat, parseReview, refactorRequest, Review, reviewRequest } from "../agents"
import { DurationString, durationMillis } from "./duration"

/** The default time a reviewer has to answer. */
export const DEFAULT_APPROVAL_TIMEOUT = "7 days"

export const CodeReviewInput = Schema.Struct({
  code: Schema.String,
  /** Who is asked to approve; named in the prompt and the notification. */
  reviewer: Schema.optional(Schema.String),
  /** How long to wait for the approval signal (default `"7 days"`). */
  approvalTimeout: Schema.optional(DurationString)
}).annotations({
  description: "The code to review, who approves it, and how long they have",
  examples: [{ code: "function add(a, b) { return a + b }", reviewer: "ada", approvalTimeout: "2 days" }]
})
export type CodeReviewInput = typeof CodeReviewInput.Type

/** The human's answer: approve (merge) or reject with feedback (refactor). */
export const CodeReviewApproval = defineSignal(
  "CodeReviewApproval",
  Schema.Struct({ approved: Schema.Boolean, feedback: Schema.optional(Schema.String) })
)

export const CodeReviewStage = Schema.Literal(
  "reviewing",
  "awaiting-approval",
  "merging",
  "refactoring",
  "done"
)
export type CodeReviewStage = typeof CodeReviewStage.Type

/** Where the review is, and the LLM's review once it exists. */
export const CodeReviewStatus = defineQuery("status", {
  output: Schema.Struct({ stage: CodeReviewStage, review: Schema.optional(Review) })
})

export const Notification = Schema.Struct({
  /** Who is told: the reviewer, or `"reviewers"` when none was named. */
  to: Schema.String,
  subject: Schema.String,
  body: Schema.String
})
export type Notification = typeof Notification.Type

/**
 * Tells a human something (here: the server's log; in production a chat or mail API, keyed
 * by the idempotency key so a retried attempt does not notify twice).
 */
export const notify = activity("notify", {
  input: Notification,
  output: Schema.Struct({ delivered: Schema.Boolean, to: Schema.String }),
  retry: { initialInterval: "1 second", maximumAttempts: 5 },
  timeout: "30 seconds"
})

export const MergeResult = Schema.Struct({
  /** A content hash naming what was merged. */
  ref: Schema.String,
  /** Where the merged code was written, relative to the workflow's workspace. */
  path: Schema.String,
  bytes: Schema.Number
})
export type MergeResult = typeof MergeResult.Type

/** Merges the approved code (here: writes it into the workflow's workspace, once). */
export const merge = activity("merge", {
  input: Schema.Struct({ code: Schema.String }),
  output: MergeResult,
  retry: { initialInterval: "1 second", maximumAttempts: 5, nonRetryableErrors: ["NonRetryableError"] },
  timeout: "1 minute"
})

export const CodeReviewResult = Schema.Union(
  Schema.Struct({
    outcome: Schema.Literal("merged"),
    review: Review,
    merge: MergeResult,
    feedback: Schema.optional(Schema.String)
  }),
  Schema.Struct({
    outcome: Schema.Literal("refactored"),
    review: Review,
    feedback: Schema.optional(Schema.String),
    /** The refactored code (not merged: it goes through review again). */
    code: Schema.String,
    model: Schema.String
  }),
  Schema.Struct({ outcome: Schema.Literal("timed-out"), review: Review, waited: Schema.String })
).annotations({ description: "Merged, refactored with the reviewer's feedback, or timed out" })
export type CodeReviewResult = typeof CodeReviewResult.Type

/**
 * Reads the review out of the model's answer. A real model may answer in prose; then the
 * prose is the summary and the verdict asks for changes, rather than failing the workflow
 * after the call was paid for. Pure, so a replay decides the same from the recorded answer.
 */
const reviewOf = (content: string): Review => {
  try {
    return parseReview(content)
  } catch (error) {
    return {
      summary: content.trim().slice(0, 2000),
      issues: [
        {
          severity: "info",
          message: `the model's answer was not a JSON review (${(error as Error).message})`
        }
      ],
      verdict: "request-changes"
    }
  }
}

/**
 * The code review workflow (see the module doc).
 *
 * @example
 * // POST /api/workflows {"type":"codeReview","input":{"code":"var x = 1"},"id":"r1"}
 * // POST /api/workflows/r1/signal {"signalName":"CodeReviewApproval","data":{"approved":true}}
 */
export const codeReview = workflow(
  "codeReview",
  {
    input: CodeReviewInput,
    output: CodeReviewResult,
    signals: [CodeReviewApproval],
    queries: [CodeReviewStatus]
  },
  function* ({ code, reviewer, approvalTimeout }): Generator<Descriptor, CodeReviewResult, any> {
    let stage: CodeReviewStage = "reviewing"
    let review: Review | undefined
    yield* onQuery(CodeReviewStatus, () => (review === undefined ? { stage } : { stage, review }))

    const answer = yield* llmChat(reviewRequest(code, reviewer))
    review = reviewOf(answer.content)
    const to = reviewer ?? "reviewers"
    yield* notify({
      to,
      subject: `Code review ready: ${review.verdict}`,
      body: `${review.summary}\nApprove or reject with the CodeReviewApproval signal.`
    })

    stage = "awaiting-approval"
    const timeout = approvalTimeout ?? DEFAULT_APPROVAL_TIMEOUT
    const approval = yield* waitForSignal(CodeReviewApproval, { timeout: durationMillis(timeout) })

    if (approval === undefined) {
      yield* notify({
        to,
        subject: "Code review timed out",
        body: `No approval arrived within ${timeout}; nothing was merged.`
      })
      stage = "done"
      return { outcome: "timed-out", review, waited: timeout }
    }
    if (approval.approved) {
      stage = "merging"
      const merged = yield* merge({ code })
      stage = "done"
      return {
        outcome: "merged",
        review,
        merge: merged,
        ...(approval.feedback === undefined ? {} : { feedback: approval.feedback })
      }
    }
    stage = "refactoring"
    const refactored = yield* llmChat(refactorRequest(code, approval.feedback, review))
    stage = "done"
    return {
      outcome: "refactored",
      review,
      feedback: approval.feedback,
      code: extractCode(refactored.content),
      model: refactored.model
    }
  }
)
