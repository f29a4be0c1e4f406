/**
 * What readers are shown of runs: the summary row of a listing and the opaque page cursor.
 * (The LLM usage `describe` reports is read by the store: `historyFacts`.)
 */
import type { WorkflowSummary } from "./engine-api"
import type { RunRow } from "./store"

export const encodeCursor = (row: { readonly createdAt: number; readonly runId: string }) =>
  Buffer.from(`${row.createdAt}:${row.runId}`).toString("base64url")
export const decodeCursor = (cursor: string | undefined) => {
  if (!cursor) return undefined
  const [at, ...rest] = Buffer.from(cursor, "base64url").toString("utf8").split(":")
  const createdAt = Number(at)
  return Number.isFinite(createdAt) && rest.length > 0 ? { createdAt, runId: rest.join(":") } : undefined
}

export const summary = (row: RunRow): WorkflowSummary => ({
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
