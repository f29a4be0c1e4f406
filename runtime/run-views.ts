/**
 * What readers are shown of runs: the summary row of a listing, the opaque page cursor, and
 * the LLM usage a run's history records.
 */
import type { HistoryEvent } from "../core"
import type { WorkflowSummaryRow } from "./engine-api"
import type { RunRow } from "./store"

export const encodeCursor = (row: { readonly createdAt: number; readonly runId: string }) =>
  Buffer.from(`${row.createdAt}:${row.runId}`).toString("base64url")
export const decodeCursor = (cursor: string | undefined) => {
  if (!cursor) return undefined
  const [at, ...rest] = Buffer.from(cursor, "base64url").toString("utf8").split(":")
  const createdAt = Number(at)
  return Number.isFinite(createdAt) && rest.length > 0 ? { createdAt, runId: rest.join(":") } : undefined
}

export const summary = (row: RunRow): WorkflowSummaryRow => ({
  id: row.workflowId,
  runId: row.runId,
  type: row.type,
  status: row.status,
  createdAt: row.createdAt,
  updatedAt: row.updatedAt,
  closedAt: row.closedAt,
  lastEventType: row.lastEventType,
  parentId: row.parent?.workflowId
})

/** LLM calls and tokens, from history: completions whose result reports token usage. */
export const llmUsageOf = (events: ReadonlyArray<HistoryEvent>) => {
  let calls = 0
  let totalTokens = 0
  for (const e of events) {
    if (e.type !== "ActivityCompleted") continue
    const usage = (e.result as { usage?: { totalTokens?: unknown } } | null)?.usage
    if (usage && typeof usage.totalTokens === "number") {
      calls++
      totalTokens += usage.totalTokens
    }
  }
  return { calls, totalTokens }
}
