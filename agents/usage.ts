/**
 * What a workflow was billed for LLM calls, computed from its history.
 *
 * Pure (no I/O), so the debugger and a user's own tools can use it. (The engine's `describe`
 * counts with its own generic rule, any completion reporting `usage.totalTokens`: the store's `historyFacts`.)
 * History is the source of truth: an `llm.chat` result carries its usage, history keeps results across restarts,
 * and a replay reads them back without calling the model, so the figures here are what the
 * provider was paid for the recorded answers.
 */
import { LLM_CHAT_ACTIVITY } from "./definitions"

/** The fields of history events this module reads; store rows and event classes both fit. */
export interface UsageEvent {
  readonly type: string
  readonly cmd?: number
  readonly name?: string
  readonly result?: unknown
}

export interface LlmUsageSummary {
  /** LLM calls whose answer is recorded in history (one per completed `llm.chat`). */
  readonly llmCalls: number
  /** Attempts that failed (429, 5xx, network…) and were retried or gave up; they returned no answer. */
  readonly failedAttempts: number
  readonly promptTokens: number
  readonly completionTokens: number
  readonly totalTokens: number
}

export const emptyUsage: LlmUsageSummary = {
  llmCalls: 0,
  failedAttempts: 0,
  promptTokens: 0,
  completionTokens: 0,
  totalTokens: 0
}

const count = (value: unknown): number => (typeof value === "number" && Number.isFinite(value) ? value : 0)

/**
 * Sums the token usage of the completed LLM activities in one run's history. An activity is
 * an LLM call when its `ActivityScheduled` event names one of `activityNames` (by default
 * `llm.chat`); completions of other activities are ignored, and so are results without a
 * `usage` (counted as calls with 0 tokens). For a workflow continued as new, sum the runs.
 *
 * @example usageFromHistory(events) // { llmCalls: 3, failedAttempts: 1, promptTokens: 412, … }
 */
export const usageFromHistory = (
  events: Iterable<UsageEvent>,
  activityNames: ReadonlyArray<string> = [LLM_CHAT_ACTIVITY]
): LlmUsageSummary => {
  const llmCmds = new Set<number>()
  let llmCalls = 0
  let failedAttempts = 0
  let promptTokens = 0
  let completionTokens = 0
  let totalTokens = 0
  for (const event of events) {
    if (event.cmd === undefined) continue
    switch (event.type) {
      case "ActivityScheduled":
        if (event.name !== undefined && activityNames.includes(event.name)) llmCmds.add(event.cmd)
        break
      case "ActivityAttemptFailed":
      case "ActivityFailed":
        if (llmCmds.has(event.cmd)) failedAttempts += 1
        break
      case "ActivityCompleted": {
        if (!llmCmds.has(event.cmd)) break
        llmCalls += 1
        const usage = (event.result as { usage?: Record<string, unknown> } | null | undefined)?.usage
        if (usage) {
          const prompt = count(usage["promptTokens"])
          const completion = count(usage["completionTokens"])
          promptTokens += prompt
          completionTokens += completion
          totalTokens += count(usage["totalTokens"]) || prompt + completion
        }
        break
      }
    }
  }
  return { llmCalls, failedAttempts, promptTokens, completionTokens, totalTokens }
}

/** Adds two summaries: the runs of a workflow continued as new, or a parent and its children. */
export const addUsage = (a: LlmUsageSummary, b: LlmUsageSummary): LlmUsageSummary => ({
  llmCalls: a.llmCalls + b.llmCalls,
  failedAttempts: a.failedAttempts + b.failedAttempts,
  promptTokens: a.promptTokens + b.promptTokens,
  completionTokens: a.completionTokens + b.completionTokens,
  totalTokens: a.totalTokens + b.totalTokens
})
