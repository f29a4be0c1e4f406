/**
 * `codeReview` in the interpreter, with the real activity implementations and the offline
 * scripted model: approved, rejected with feedback, timed out.
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { describe, expect, it } from "vitest"
import { codeReview, CodeReviewInput } from "../../examples"
import { Simulation } from "../support/simulator"
import { expectReplayAgrees } from "../support/replay-agrees"
import { useDriver, query, scheduledNames } from "./driver"

const code = "var total = 0\nif (total == 1) console.log(total)\n"
const driver = useDriver()

/** Starts a review and runs it up to the wait for approval. */
const reviewed = async (input: Record<string, unknown>, workflowId: string) => {
  const sim = new Simulation(codeReview, input, { workflowId })
  expect(query(sim, "status")).toEqual({ stage: "reviewing" })
  await driver.runOpen(sim, "llm.chat")
  await driver.runOpen(sim, "notify")
  const status = query(sim, "status") as { stage: string; review: { verdict: string; summary: string } }
  expect(status.stage).toBe("awaiting-approval")
  expect(status.review.verdict).toBe("request-changes")
  expect(status.review.summary).toContain("Offline scripted review")
  return sim
}

describe("codeReview", () => {
  it("approved: review, notify, wait (7 days by default), merge", async () => {
    const sim = await reviewed({ code, reviewer: "ada" }, "review-approved")
    const wait = sim.history.find((e) => e.type === "TimerStarted")
    expect(wait).toMatchObject({ purpose: "signal-timeout", durationMs: 7 * 24 * 3600 * 1000 })
    expect(driver.notifications.at(-1)).toContain("[notify review-approved] to ada: Code review ready")

    const commands = sim.signal("CodeReviewApproval", { approved: true })
    expect(commands.map((c) => c.type)).toEqual(["TimerCancelled", "ActivityScheduled"])
    expect(query(sim, "status")).toMatchObject({ stage: "merging" })
    await driver.runOpen(sim, "merge")

    expect(sim.instance.status).toBe("completed")
    const result = sim.instance.result as any
    expect(result.outcome).toBe("merged")
    expect(result.merge).toMatchObject({ path: "merged/code.txt", bytes: Buffer.byteLength(code) })
    expect(result.review.verdict).toBe("request-changes")
    expect(query(sim, "status")).toMatchObject({ stage: "done" })
    expect(scheduledNames(sim)).toEqual(["llm.chat", "notify", "merge"])
    expectReplayAgrees(codeReview, sim)
  })

  it("rejected with feedback: the feedback reaches the refactor prompt, nothing is merged", async () => {
    const sim = await reviewed({ code }, "review-rejected")
    const feedback = "Use const, and compare with ===."
    sim.signal("CodeReviewApproval", { approved: false, feedback })
    expect(query(sim, "status")).toMatchObject({ stage: "refactoring" })

    const refactor = driver.open(sim, "llm.chat")
    const prompt = (refactor.input as any).messages.at(-1).content as string
    expect((refactor.input as any).purpose).toBe("refactor")
    expect(prompt).toContain(`Feedback: ${feedback}`)
    await driver.run(sim, refactor.cmd)

    expect(sim.instance.status).toBe("completed")
    const result = sim.instance.result as any
    expect(result.outcome).toBe("refactored")
    expect(result.feedback).toBe(feedback)
    expect(result.code).toContain(`following feedback: ${feedback}`)
    expect(result.code).toContain("let total = 0")
    expect(result.model).toBe("offline-scripted")
    expect(scheduledNames(sim)).toEqual(["llm.chat", "notify", "llm.chat"])
    expectReplayAgrees(codeReview, sim)
  })

  it("timed out: a short approvalTimeout fires, the reviewer is told, nothing is merged", async () => {
    const sim = await reviewed({ code, approvalTimeout: "2 seconds" }, "review-timeout")
    const wait = sim.history.find((e) => e.type === "TimerStarted")!
    expect(wait).toMatchObject({ purpose: "signal-timeout", durationMs: 2000 })

    sim.advance(2000)
    sim.fireTimer((wait as any).cmd)
    await driver.runOpen(sim, "notify")
    expect(driver.notifications.at(-1)).toContain("Code review timed out")

    expect(sim.instance.status).toBe("completed")
    expect(sim.instance.result).toMatchObject({ outcome: "timed-out", waited: "2 seconds" })
    expect(scheduledNames(sim)).toEqual(["llm.chat", "notify", "notify"])
    // A late approval finds the review over: it is stored, never consumed.
    expect(query(sim, "status")).toMatchObject({ stage: "done" })
    expectReplayAgrees(codeReview, sim)
  })

  it("an approval sent before the review is done is kept and used when the wait begins", async () => {
    const sim = new Simulation(codeReview, { code: "const x = 1\n" }, { workflowId: "review-early" })
    sim.signal("CodeReviewApproval", { approved: true })
    await driver.runOpen(sim, "llm.chat")
    expect((query(sim, "status") as any).review.verdict).toBe("approve")
    await driver.runOpen(sim, "notify")
    // No timer: the buffered signal answers the wait at once.
    expect(sim.history.some((e) => e.type === "TimerStarted")).toBe(false)
    await driver.runOpen(sim, "merge")
    expect(sim.instance.result).toMatchObject({ outcome: "merged" })
    expectReplayAgrees(codeReview, sim)
  })

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
