/**
 * `codeReview` through the test kit (runtime/testing.ts): the real engine on a temp SQLite
 * file, the real activity implementations and the offline scripted model, time skipped with
 * the TestClock: approved, rejected with feedback, timed out after the default 7 days.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { replayHistory, type HistoryFile } from "../../core"
import { codeReview, CodeReviewApproval, CodeReviewInput, CodeReviewStatus } from "../../examples"
import { activities } from "../../examples/activities"
import { LlmCallLedger, scriptedProvider } from "../../runtime/agents"
import { TestWorkflowEnvironment, type TestWorkflowEnvironmentOptions } from "../../runtime/testing"

const code = "var total = 0\nif (total == 1) console.log(total)\n"
const workspaceRoot = mkdtempSync(join(tmpdir(), "tl-examples-"))
afterAll(() => rmSync(workspaceRoot, { recursive: true, force: true }))
const notifications: Array<string> = []

const environment = (mocks?: TestWorkflowEnvironmentOptions["mocks"]) =>
  TestWorkflowEnvironment.layer({
    workflows: [codeReview],
    activities: activities({
      workspaceRoot,
      llm: scriptedProvider(),
      callLedger: new LlmCallLedger(),
      log: (line) => notifications.push(line)
    }),
    ...(mocks ? { mocks } : {})
  })

/** The names of the activities scheduled, in history order. */
const scheduledNames = (history: HistoryFile) =>
  history.events.flatMap((e) => (e.type === "ActivityScheduled" ? [e.name] : []))

/** The history replays to the outcome the engine recorded. */
const expectReplayAgrees = (history: HistoryFile) =>
  expect(replayHistory(codeReview, history)).toMatchObject({
    _tag: "Matched",
    status: history.workflow.status,
    result: history.workflow.result
  })

/** Starts a review and lets it run up to the wait for approval. */
const reviewed = (input: typeof CodeReviewInput.Type, id: string) =>
  Effect.gen(function* () {
    const env = yield* TestWorkflowEnvironment
    const run = yield* env.engine.start(codeReview, input, { id })
    yield* env.settle
    const status = yield* env.engine.query(id, CodeReviewStatus)
    expect(status.stage).toBe("awaiting-approval")
    return { env, run, review: status.review! }
  })

describe("codeReview", () => {
  it.scoped("approved: review, notify, wait (7 days by default), merge", () =>
    Effect.gen(function* () {
      const { env, run, review } = yield* reviewed({ code, reviewer: "ada" }, "review-approved")
      expect(review.verdict).toBe("request-changes")
      expect(review.summary).toContain("Offline scripted review")
      const waiting = yield* env.engine.history(run.id)
      expect(waiting.events.find((e) => e.type === "TimerStarted")).toMatchObject({
        purpose: "signal-timeout",
        durationMs: 7 * 24 * 3600 * 1000
      })
      expect(notifications.at(-1)).toContain("[notify review-approved] to ada: Code review ready")

      // Six days later the reviewer approves: the wait had not timed out.
      yield* env.sleep("6 days")
      yield* env.engine.signal(run.id, CodeReviewApproval, { approved: true })
      const result = yield* env.result(run)
      expect(result.outcome).toBe("merged")
      if (result.outcome !== "merged") return
      expect(result.merge).toMatchObject({ path: "merged/code.txt", bytes: Buffer.byteLength(code) })
      expect(result.review.verdict).toBe("request-changes")
      expect(yield* env.engine.query(run.id, CodeReviewStatus)).toMatchObject({ stage: "done" })
      const history = yield* env.engine.history(run.id)
      expect(scheduledNames(history)).toEqual(["llm.chat", "notify", "merge"])
      expect(history.events.filter((e) => e.type === "TimerCancelled")).toHaveLength(1)
      expectReplayAgrees(history)
    }).pipe(Effect.provide(environment()))
  )

  it.scoped("rejected with feedback: the feedback reaches the refactor prompt, nothing is merged", () =>
    Effect.gen(function* () {
      const { env, run } = yield* reviewed({ code }, "review-rejected")
      const feedback = "Use const, and compare with ===."
      yield* env.engine.signal(run.id, CodeReviewApproval, { approved: false, feedback })
      const result = yield* env.result(run)
      expect(result).toMatchObject({ outcome: "refactored", feedback, model: "offline-scripted" })
      if (result.outcome !== "refactored") return
      expect(result.code).toContain(`following feedback: ${feedback}`)
      expect(result.code).toContain("let total = 0")

      const history = yield* env.engine.history(run.id)
      expect(scheduledNames(history)).toEqual(["llm.chat", "notify", "llm.chat"])
      const refactor = history.events.findLast((e) => e.type === "ActivityScheduled")!
      const input = (refactor.type === "ActivityScheduled" ? refactor.input : undefined) as any
      expect(input.purpose).toBe("refactor")
      expect(input.messages.at(-1).content).toContain(`Feedback: ${feedback}`)
      expectReplayAgrees(history)
    }).pipe(Effect.provide(environment()))
  )

  it.scoped("timed out: nobody answers for the default 7 days, the reviewer is told, nothing is merged", () =>
    Effect.gen(function* () {
      const { env, run } = yield* reviewed({ code }, "review-timeout")
      yield* env.sleep("7 days")
      expect(notifications.at(-1)).toContain("Code review timed out")
      expect(yield* env.result(run)).toMatchObject({ outcome: "timed-out", waited: "7 days" })
      const history = yield* env.engine.history(run.id)
      expect(scheduledNames(history)).toEqual(["llm.chat", "notify", "notify"])
      expect(history.events.find((e) => e.type === "TimerFired")?.at).toBe(
        history.events[0]!.at + 7 * 24 * 3600 * 1000
      )
      expectReplayAgrees(history)
    }).pipe(Effect.provide(environment()))
  )

  it.scoped("an approval sent before the review is done is kept and used when the wait begins", () =>
    Effect.gen(function* () {
      const env = yield* TestWorkflowEnvironment
      const run = yield* env.engine.start(codeReview, { code: "const x = 1\n" }, { id: "review-early" })
      yield* env.engine.signal(run.id, CodeReviewApproval, { approved: true })
      expect(yield* env.result(run)).toMatchObject({ outcome: "merged", review: { verdict: "approve" } })
      const history = yield* env.engine.history(run.id)
      // No timer: the buffered signal answers the wait at once.
      expect(history.events.some((e) => e.type === "TimerStarted")).toBe(false)
      expectReplayAgrees(history)
    }).pipe(Effect.provide(environment()))
  )

  const prompts: Array<string> = []
  const approving = { summary: "Looks right.", issues: [], verdict: "approve" }
  const mockedModel = {
    "llm.chat": (input: { readonly messages: ReadonlyArray<{ readonly content: string }> }) => {
      prompts.push(input.messages.at(-1)!.content)
      const usage = { promptTokens: 1, completionTokens: 1, totalTokens: 2 }
      return { content: JSON.stringify(approving), model: "mock", usage }
    }
  }

  it.scoped("the model mocked by name: the review is what the mock answered", () =>
    Effect.gen(function* () {
      const { env, run, review } = yield* reviewed({ code }, "review-mocked")
      expect(review).toEqual(approving)
      expect(prompts).toHaveLength(1)
      expect(prompts[0]).toContain(code)
      yield* env.engine.signal(run.id, CodeReviewApproval, { approved: true })
      expect(yield* env.result(run)).toMatchObject({ outcome: "merged", review: approving })
    }).pipe(Effect.provide(environment(mockedModel)))
  )

  it.scoped("a mock naming no registered activity is refused, naming the known ones", () =>
    Effect.gen(function* () {
      const refused = yield* Effect.flip(Layer.build(environment({ "llm.chatt": () => undefined })))
      expect(refused.message).toContain('unknown activity "llm.chatt"')
      expect(refused.message).toContain('"llm.chat"')
    })
  )

  it("refuses an approvalTimeout that is not a duration, naming the field", () => {
    const decode = Schema.decodeUnknownEither(CodeReviewInput)
    expect(Either.isRight(decode({ code, approvalTimeout: "90 minutes" }))).toBe(true)
    const bad = decode({ code, approvalTimeout: "soon" })
    expect(Either.isLeft(bad)).toBe(true)
    if (Either.isLeft(bad)) {
      expect(bad.left.message).toContain("approvalTimeout")
      expect(bad.left.message).toContain('expected a duration such as "7 days"')
    }
  })
})
