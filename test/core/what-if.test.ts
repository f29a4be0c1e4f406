/**
 * What-if replay (core/what-if.ts): a recorded outcome replaced, the workflow replayed
 * forward with the same code. Histories are recorded with the in-memory simulator, as the
 * runtime would record them; the examples' own workflows are replayed.
 */
import * as Either from "effect/Either"
import { describe, expect, it } from "vitest"
import { overriddenHistory, whatIf, type HistoryEvent, type OverrideRefused, type WhatIf } from "../../core"
import { codeReview, fanOutFanIn } from "../../examples"
import { Simulation } from "../support/simulator"

const answer = (content: string) => ({
  content,
  model: "test-model",
  usage: { promptTokens: 10, completionTokens: 5, totalTokens: 15 }
})

/** A code review recorded up to the approval, then `approval` given, merged and completed. */
const recordedReview = (approval: "approve" | "time out") => {
  const sim = new Simulation(codeReview, { code: "let x = 1", reviewer: "ana", approvalTimeout: "1 hour" })
  sim.completeActivity(sim.activity("llm.chat"), answer("looks fine"))
  sim.completeActivity(sim.activity("notify"), { delivered: true, to: "ana" })
  if (approval === "approve") {
    sim.signal("CodeReviewApproval", { approved: true })
    sim.completeActivity(sim.activity("merge"), { ref: "abc123", path: "merged.ts", bytes: 9 })
  } else {
    const timer = sim.open().find((c) => c.type === "TimerStarted")!.cmd
    sim.advance(3_600_000)
    sim.fireTimer(timer)
    sim.completeActivity(sim.activity("notify"), { delivered: true, to: "ana" })
  }
  expect(sim.instance.status).toBe("completed")
  return sim.history
}

const seqOf = (events: ReadonlyArray<HistoryEvent>, predicate: (e: HistoryEvent) => boolean) =>
  events.find(predicate)!.seq

/** The what-if's preview, or its refusal: the side the test expects, else the test fails saying what came. */
const preview = (...args: Parameters<typeof whatIf>): WhatIf =>
  Either.getOrThrowWith(whatIf(...args), (refused) => new Error(`refused: ${refused.message}`))
const refusal = (...args: Parameters<typeof whatIf>): OverrideRefused =>
  Either.getOrThrowWith(Either.flip(whatIf(...args)), () => new Error("expected a refusal"))

describe("what-if replay", () => {
  const approved = recordedReview("approve")
  const signal = seqOf(approved, (e) => e.type === "SignalReceived")
  const scheduled = (name: string) =>
    approved.find(
      (e): e is Extract<HistoryEvent, { type: "ActivityScheduled" }> =>
        e.type === "ActivityScheduled" && e.name === name
    )!
  const mergeScheduled = scheduled("merge")

  it("invariants 3 and 4: a rejected approval keeps the timer's cancel, then issues the refactor's LLM call (hypothetical)", () => {
    const result = preview(codeReview, approved, {
      seq: signal,
      value: { approved: false, feedback: "split it" }
    })
    expect(result.edited).toMatchObject({ type: "SignalReceived", seq: signal, payload: { approved: false } })
    // the code cancels the approval's timeout as recorded; then yields llm.chat where merge was recorded
    expect(result.kept).toBe(1)
    expect(result.history.at(-1)).toMatchObject({ type: "TimerCancelled" })
    expect(result.stoppedAt?.seq).toBe(mergeScheduled.seq)
    expect(result.stoppedAt?.reason).toContain(
      'history has ActivityScheduled "merge", code yields Activity "llm.chat"'
    )
    expect(result.commands).toHaveLength(1)
    expect(result.commands[0]).toMatchObject({
      type: "ActivityScheduled",
      name: "llm.chat",
      cmd: mergeScheduled.cmd
    })
    expect(JSON.stringify(result.commands[0])).toContain("split it")
    expect(result.status).toBe("running")
    expect(result.pending).toEqual([{ cmd: mergeScheduled.cmd, kind: "activity", name: "llm.chat" }])
    // nothing before the edit changed
    expect(result.history.slice(0, signal - 1)).toEqual(approved.slice(0, signal - 1))
  })

  it("invariant 3: the recorded end is never kept; a value that reaches the result ends the run differently", () => {
    const sim = new Simulation(fanOutFanIn, { items: ["a b", "c d e"] })
    const [first, second] = sim.open().map((c) => c.cmd)
    sim.completeActivity(first!, { item: "a b", words: 2, characters: 3 })
    sim.completeActivity(second!, { item: "c d e", words: 3, characters: 5 })
    const events = sim.history
    const firstDone = seqOf(events, (e) => e.type === "ActivityCompleted" && e.cmd === first)
    const result = preview(fanOutFanIn, events, {
      seq: firstDone,
      value: { item: "a b", words: 20, characters: 3 }
    })
    // the other item's recorded result is still what the code gets
    expect(result.kept).toBe(1)
    expect(result.stoppedAt).toEqual({
      seq: events.at(-1)!.seq,
      reason: "the recorded end of the run is left out: how it ends is the code's"
    })
    expect(result.status).toBe("completed")
    expect(result.commands).toEqual([
      {
        type: "WorkflowCompleted",
        result: {
          items: 2,
          words: 23,
          characters: 8,
          longest: "a b",
          perItem: [
            { item: "a b", words: 20, characters: 3 },
            { item: "c d e", words: 3, characters: 5 }
          ]
        }
      }
    ])
  })

  it("invariant 3: a recorded command the code now yields with other input is not kept (its outcome was never recorded)", () => {
    const reviewed = seqOf(approved, (e) => e.type === "ActivityCompleted" && e.cmd === 2)
    const notify = scheduled("notify")
    const result = preview(codeReview, approved, { seq: reviewed, value: answer("needs work") })
    expect(result.kept).toBe(0)
    expect(result.stoppedAt?.seq).toBe(notify.seq)
    expect(result.stoppedAt?.reason).toContain(
      `at cmd ${notify.cmd} with other input than event ${notify.seq} recorded`
    )
    expect(result.commands).toMatchObject([{ type: "ActivityScheduled", name: "notify", cmd: notify.cmd }])
    expect(JSON.stringify(result.commands[0])).toContain("needs work")
  })

  it("an activity's result replaced by a failure: the workflow fails with it", () => {
    const reviewed = seqOf(approved, (e) => e.type === "ActivityCompleted" && e.cmd === 2)
    const result = preview(codeReview, approved, {
      seq: reviewed,
      error: { name: "RateLimited", message: "try later" }
    })
    expect(result.edited).toMatchObject({
      type: "ActivityFailed",
      seq: reviewed,
      error: { name: "RateLimited" }
    })
    expect(result.status).toBe("failed")
    expect(result.commands).toMatchObject([{ type: "WorkflowFailed", error: { name: "ActivityFailure" } }])
  })

  it("a signal wait's timeout replaced by the signal: the approval arrives instead", () => {
    const timedOut = recordedReview("time out")
    const fired = seqOf(timedOut, (e) => e.type === "TimerFired")
    const result = preview(codeReview, timedOut, { seq: fired, value: { approved: true } })
    expect(result.edited).toMatchObject({
      type: "SignalReceived",
      name: "CodeReviewApproval",
      payload: { approved: true }
    })
    const waitCmd = timedOut.find((e) => e.type === "TimerStarted")!
    expect(result.commands).toMatchObject([
      { type: "TimerCancelled", cmd: (waitCmd as { cmd: number }).cmd },
      { type: "ActivityScheduled", name: "merge" }
    ])
  })

  it("invariant 2: a value the code's schema refuses is refused naming the field, and nothing is replayed", () => {
    const refused = refusal(codeReview, approved, { seq: signal, value: { approved: "no" } })
    expect(refused._tag).toBe("OverrideRefused")
    expect(refused.message).toContain("payload.approved")
    expect(refused.path).toEqual(["value"])
    // the same refusal for the history a fork would start from
    const forked = overriddenHistory(codeReview, approved, { seq: signal, value: { approved: "no" } })
    expect(Either.isLeft(forked) && forked.left.message).toBe(refused.message)
  })

  it("refuses what is no outcome, an error where a payload goes, a malformed error and a missing event, naming each", () => {
    expect(refusal(codeReview, approved, { seq: mergeScheduled.seq, value: 1 }).message).toContain(
      `event ${mergeScheduled.seq} is ActivityScheduled`
    )
    const asError = refusal(codeReview, approved, { seq: signal, error: { name: "E", message: "m" } })
    expect(asError.message).toContain("carries a payload (value), not an error")
    const reviewed = seqOf(approved, (e) => e.type === "ActivityCompleted" && e.cmd === 2)
    const malformed = refusal(codeReview, approved, { seq: reviewed, error: { name: "E" } as any })
    expect(malformed.path).toEqual(["error", "message"])
    expect(malformed.message).toContain('"error.message"')
    const missing = refusal(codeReview, approved, { seq: 999, value: 1 })
    expect(missing.path).toEqual(["seq"])
    expect(missing.message).toBe(`no event 999: the history has events 1–${approved.length}`)
    const notJson = refusal(codeReview, approved, { seq: signal, value: { approved: true, at: new Date(0) } })
    expect(notJson.path).toEqual(["value", "at"])
  })

  it("refuses when the code no longer matches the history before the edit", () => {
    const changed = approved.map((e) =>
      e.type === "ActivityScheduled" && e.name === "notify" ? { ...e, name: "notifyAll" } : e
    )
    expect(refusal(codeReview, changed, { seq: signal, value: { approved: false } }).message).toContain(
      `the code no longer matches the history before event ${signal}`
    )
  })

  it("the history a fork starts from: the recorded prefix and the edited event", () => {
    const forked = overriddenHistory(codeReview, approved, { seq: signal, value: { approved: false } })
    expect(Either.isRight(forked)).toBe(true)
    if (Either.isLeft(forked)) return
    expect(forked.right).toHaveLength(signal)
    expect(forked.right.slice(0, -1)).toEqual(approved.slice(0, signal - 1))
    expect(forked.right.at(-1)).toEqual({ ...approved[signal - 1], payload: { approved: false } })
  })
})
