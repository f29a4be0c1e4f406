/**
 * What readers are shown of runs: the summary row of a listing, the opaque page cursor, a
 * stuck run's divergence and the line the server logs for it.
 */
import { divergenceOf, type Divergence } from "../../core"
import type { WorkflowSummary } from "../engine-api"
import type { RunRow } from "../store"

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

/** A stuck run's divergence as its row stores it, with its message. */
export const storedDivergence = (row: RunRow): Divergence | undefined =>
  row.divergenceJson === undefined ? undefined : divergenceOf(JSON.parse(row.divergenceJson))

/** One line for a run found stuck: who, why, and where in the code. */
export const stuckLine = (row: RunRow): string => {
  const divergence = storedDivergence(row)
  const at = divergence?.actual.location ?? divergence?.expected.location
  return (
    `workflow "${row.workflowId}" (${row.type}, run ${row.runId}) is stuck: ${divergence?.message ?? "no divergence recorded"}` +
    `${at ? ` at ${at}` : ""}; what arrives for it is stored until code that matches its history is deployed`
  )
}
