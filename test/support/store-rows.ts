/**
 * Rows, events and write sets as the engine writes them, for tests that drive a
 * `WorkflowStore` directly (the conformance suite, the PostgreSQL store's own tests).
 */
import { emptyWriteSet, type RunRow, type WriteSet } from "../../runtime/store"

/** The time every made-up row and event counts from. */
export const T0 = 1_700_000_000_000

export const run = (over: Partial<RunRow> & Pick<RunRow, "runId" | "workflowId">): RunRow => ({
  type: "wf",
  status: "running",
  inputJson: "null",
  resultJson: undefined,
  error: undefined,
  divergenceJson: undefined,
  parent: undefined,
  createdAt: T0,
  updatedAt: T0,
  closedAt: undefined,
  lastSeq: 1,
  lastEventType: "WorkflowStarted",
  current: true,
  parentNotified: false,
  cancelRequested: 0,
  ...over
})

export const event = (runId: string, seq: number, body: Record<string, unknown>, at = T0 + seq) => ({
  runId,
  seq,
  body: JSON.stringify({ ...body, seq, at })
})

export const started = (row: RunRow) =>
  event(
    row.runId,
    1,
    {
      type: "WorkflowStarted",
      workflowType: row.type,
      workflowId: row.workflowId,
      runId: row.runId,
      input: null
    },
    row.createdAt
  )

export const writes = (parts: Partial<WriteSet>): WriteSet => ({ ...emptyWriteSet(), ...parts })

/** The writes that start `rows`, as the engine's first task of each writes them. */
export const starting = (...rows: ReadonlyArray<RunRow>): WriteSet =>
  writes({ retire: rows.map((r) => r.workflowId), runsAdded: [...rows], events: rows.map(started) })
