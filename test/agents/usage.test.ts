/**
 * usageFromHistory: the LLM calls and tokens of a workflow, computed from its history alone
 * (invariant 1 of runtime/agents/definitions.ts), so a replay that calls no model bills nothing.
 */
import { describe, expect, it } from "vitest"
import { addUsage, emptyUsage, usageFromHistory } from "../../agents"

const usage = (promptTokens: number, completionTokens: number) => ({
  promptTokens,
  completionTokens,
  totalTokens: promptTokens + completionTokens
})

const history = [
  { seq: 1, at: 0, type: "WorkflowStarted", workflowType: "codingAgent", input: {} },
  { seq: 2, at: 1, type: "ActivityScheduled", cmd: 1, name: "llm.chat", input: {}, options: {} },
  {
    seq: 3,
    at: 2,
    type: "ActivityAttemptFailed",
    cmd: 1,
    attempt: 1,
    error: { name: "LlmRetryableError", message: "429" }
  },
  {
    seq: 4,
    at: 3,
    type: "ActivityCompleted",
    cmd: 1,
    attempt: 2,
    result: { content: "{}", model: "m", usage: usage(100, 20) }
  },
  { seq: 5, at: 4, type: "ActivityScheduled", cmd: 2, name: "tool.writeFile", input: {}, options: {} },
  // A tool result that happens to carry a `usage` field is not an LLM call.
  { seq: 6, at: 5, type: "ActivityCompleted", cmd: 2, attempt: 1, result: { usage: usage(999, 999) } },
  { seq: 7, at: 6, type: "ActivityScheduled", cmd: 3, name: "llm.chat", input: {}, options: {} },
  { seq: 8, at: 7, type: "ActivityScheduled", cmd: 4, name: "llm.chat", input: {}, options: {} },
  {
    seq: 9,
    at: 8,
    type: "ActivityCompleted",
    cmd: 4,
    attempt: 1,
    result: { content: "x", model: "m", usage: usage(30, 5) }
  },
  {
    seq: 10,
    at: 9,
    type: "ActivityCompleted",
    cmd: 3,
    attempt: 1,
    result: { content: "y", model: "m", usage: usage(40, 6) }
  },
  { seq: 11, at: 10, type: "ActivityScheduled", cmd: 5, name: "llm.chat", input: {}, options: {} },
  {
    seq: 12,
    at: 11,
    type: "ActivityFailed",
    cmd: 5,
    attempt: 3,
    error: { name: "NonRetryableError", message: "400" }
  }
]

describe("usageFromHistory", () => {
  it("sums the usage of completed llm.chat activities only, and counts failed attempts", () => {
    expect(usageFromHistory(history)).toEqual({
      llmCalls: 3,
      failedAttempts: 2,
      promptTokens: 170,
      completionTokens: 31,
      totalTokens: 201
    })
  })

  it("is empty for a history without LLM calls, and counts other activity names when asked", () => {
    expect(usageFromHistory(history.slice(0, 1))).toEqual(emptyUsage)
    expect(usageFromHistory(history, ["tool.writeFile"])).toMatchObject({ llmCalls: 1, totalTokens: 1998 })
  })

  it("adds runs together (continueAsNew, children)", () => {
    const one = usageFromHistory(history)
    expect(addUsage(one, one)).toEqual({
      llmCalls: 6,
      failedAttempts: 4,
      promptTokens: 340,
      completionTokens: 62,
      totalTokens: 402
    })
  })
})
