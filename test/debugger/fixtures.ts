/**
 * Exported histories (`temporal-lite/history@1`) for the debugger's browser tests that run
 * without a server:
 * - hand-written ones of a type the page does not bundle (`legacyReview`: events only), and
 *   damaged or foreign copies;
 * - real ones of the bundled `codeReview` example, recorded through the core interpreter
 *   (completed, failed, and one edited so the current code diverges from it).
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import type { HistoryEvent } from "../../core"
import { codeReview } from "../../examples/code-review"
import { repoRoot } from "./build"
import { recordHistory, type Script } from "./record-history"

const t0 = Date.UTC(2025, 0, 6, 9, 0, 0)
const s = (n: number) => t0 + n * 1000

export const legacyEvents = [
  {
    seq: 1,
    at: s(0),
    type: "WorkflowStarted",
    workflowType: "codeReview",
    workflowId: "review-1",
    runId: "run-1",
    input: { code: "let x = 1" },
    randomSeed: "seed-1"
  },
  {
    seq: 2,
    at: s(0),
    type: "ActivityScheduled",
    cmd: 2,
    name: "llm.review",
    input: "let x = 1",
    options: { retry: { maximumAttempts: 5 }, timeoutMs: 120000 }
  },
  {
    seq: 3,
    at: s(2),
    type: "ActivityAttemptFailed",
    cmd: 2,
    attempt: 1,
    error: { name: "RateLimited", message: "429 Too Many Requests" },
    nextRetryAt: s(3)
  },
  {
    seq: 4,
    at: s(5),
    type: "ActivityCompleted",
    cmd: 2,
    attempt: 2,
    result: { summary: "looks fine", issues: 0 }
  },
  {
    seq: 5,
    at: s(5),
    type: "ActivityScheduled",
    cmd: 3,
    name: "notify",
    input: "Code review ready: looks fine",
    options: {}
  },
  { seq: 6, at: s(6), type: "ActivityCompleted", cmd: 3, attempt: 1, result: null },
  {
    seq: 7,
    at: s(6),
    type: "TimerStarted",
    cmd: 4,
    durationMs: 604800000,
    fireAt: s(6) + 604800000,
    purpose: "signal-timeout"
  },
  { seq: 8, at: s(3600), type: "SignalReceived", name: "CodeReviewApproval", payload: { approved: true } },
  { seq: 9, at: s(3600), type: "TimerCancelled", cmd: 4 },
  { seq: 10, at: s(3600), type: "ActivityScheduled", cmd: 5, name: "merge", input: "let x = 1", options: {} },
  {
    seq: 11,
    at: s(3602),
    type: "ActivityCompleted",
    cmd: 5,
    attempt: 1,
    result: { merged: true, sha: "abc123" }
  },
  { seq: 12, at: s(3602), type: "WorkflowCompleted", result: { merged: true, sha: "abc123" } }
]

export const legacyHistory = {
  format: "temporal-lite/history@1",
  workflow: {
    id: "legacy-1",
    type: "legacyReview",
    runId: "run-1",
    status: "completed",
    input: { code: "let x = 1" },
    result: { merged: true, sha: "abc123" },
    startedAt: s(0),
    closedAt: s(3602)
  },
  events: legacyEvents
}

/** The legacy history with event #6 (seq 7) missing its `durationMs`. */
export const corruptHistory = {
  ...legacyHistory,
  events: legacyEvents.map((e) => (e.seq === 7 ? { ...e, durationMs: "a week" } : e))
}

/** A file from some other tool. */
export const foreignFile = { version: 2, items: [{ id: 1 }] }

// ---- real histories of the bundled codeReview example ----------------------------------

export const reviewAnswer = { summary: "Small and clear; consider a const.", issues: [], verdict: "approve" }

const codeReviewScript =
  (mergeFails: boolean): Script =>
  (command, events) => {
    const now = events[events.length - 1]!.at
    if (command.type === "ActivityScheduled") {
      const cmd = command.cmd
      switch (command.name) {
        case "llm.chat":
          return [
            [
              2000,
              {
                type: "ActivityAttemptFailed",
                cmd,
                attempt: 1,
                error: { name: "RateLimited", message: "429 Too Many Requests" },
                nextRetryAt: now + 2500
              }
            ],
            [
              1500,
              {
                type: "ActivityCompleted",
                cmd,
                attempt: 2,
                result: {
                  content: JSON.stringify(reviewAnswer),
                  model: "scripted-model",
                  usage: { promptTokens: 120, completionTokens: 40, totalTokens: 160 }
                }
              }
            ]
          ]
        case "notify":
          return [
            [300, { type: "ActivityCompleted", cmd, attempt: 1, result: { delivered: true, to: "ana" } }]
          ]
        case "merge":
          return mergeFails
            ? [
                [
                  200,
                  {
                    type: "ActivityFailed",
                    cmd,
                    attempt: 1,
                    error: {
                      name: "NonRetryableError",
                      message: "merge conflict in main.ts",
                      nonRetryable: true
                    }
                  }
                ]
              ]
            : [
                [
                  200,
                  {
                    type: "ActivityCompleted",
                    cmd,
                    attempt: 1,
                    result: { ref: "abc123", path: "merged/main.ts", bytes: 9 }
                  }
                ]
              ]
      }
    }
    if (command.type === "TimerStarted" && command.purpose === "signal-timeout") {
      return [
        [3_600_000, { type: "SignalReceived", name: "CodeReviewApproval", payload: { approved: true } }]
      ]
    }
    return []
  }

const reviewInput = { code: "let x = 1", reviewer: "ana" }

/** A code review that ran to the end: reviewed (after one failed attempt), approved, merged. */
export const completedReview = recordHistory(codeReview, reviewInput, codeReviewScript(false), {
  id: "review-ok"
})

/** A code review whose merge failed for good: the workflow failed. */
export const failedReview = recordHistory(codeReview, reviewInput, codeReviewScript(true), {
  id: "review-failed"
})

/** The completed review as older code recorded it: it called `notify.v0` where the code now calls `notify`. */
export const divergedReview = {
  ...completedReview,
  workflow: { ...completedReview.workflow, id: "review-old" },
  events: completedReview.events.map((e: HistoryEvent) =>
    e.type === "ActivityScheduled" && e.name === "notify" ? { ...e, name: "notify.v0" } : e
  )
}

export const codeReviewSource = readFileSync(join(repoRoot, "examples", "code-review.ts"), "utf8")

/** The 1-based line of the first line of examples/code-review.ts containing `needle`. */
export const codeReviewLine = (needle: string): number => {
  const index = codeReviewSource.split("\n").findIndex((line) => line.includes(needle))
  if (index < 0) throw new Error(`examples/code-review.ts has no line containing ${JSON.stringify(needle)}`)
  return index + 1
}

/** The seq of the first event matching `predicate`. */
export const seqOf = (
  events: ReadonlyArray<HistoryEvent>,
  predicate: (e: HistoryEvent) => boolean
): number => {
  const event = events.find(predicate)
  if (!event) throw new Error("no such event")
  return event.seq
}
