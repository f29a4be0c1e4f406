/**
 * A run's row as both stores' `runs` tables hold it (the same columns on SQLite and
 * PostgreSQL), and which rows one commit writes (contract invariants 4 and 5).
 */
import type { RunStatus } from "../engine-api"
import type { RunRow, WriteSet } from "./contract"

export interface RunRecord {
  run_id: string
  workflow_id: string
  type: string
  status: RunStatus
  input: string
  result: string | null
  error: string | null
  divergence: string | null
  parent_workflow_id: string | null
  parent_run_id: string | null
  parent_cmd: number | null
  created_at: number
  updated_at: number
  closed_at: number | null
  last_seq: number
  last_event_type: string | null
  current: number
  parent_notified: number
  cancel_requested: number
}

/** A run's progress as its last event tells it (contract invariant 5), read beside its row. */
export interface RunTail {
  tail_seq?: number | null
  tail_type?: string | null
  tail_at?: number | null
}

export const fromRecord = (r: RunRecord & RunTail): RunRow => ({
  runId: r.run_id,
  workflowId: r.workflow_id,
  type: r.type,
  status: r.status,
  inputJson: r.input,
  resultJson: r.result ?? undefined,
  error: r.error === null ? undefined : JSON.parse(r.error),
  divergenceJson: r.divergence ?? undefined,
  parent:
    r.parent_workflow_id === null
      ? undefined
      : { workflowId: r.parent_workflow_id, runId: r.parent_run_id!, cmd: r.parent_cmd! },
  createdAt: r.created_at,
  updatedAt: r.tail_at ?? r.updated_at,
  closedAt: r.closed_at ?? undefined,
  lastSeq: r.tail_seq ?? r.last_seq,
  lastEventType: r.tail_type ?? r.last_event_type ?? undefined,
  current: r.current === 1,
  parentNotified: r.parent_notified === 1,
  cancelRequested: r.cancel_requested as 0 | 1 | 2
})

export const toRecord = (r: RunRow): RunRecord => ({
  run_id: r.runId,
  workflow_id: r.workflowId,
  type: r.type,
  status: r.status,
  input: r.inputJson,
  result: r.resultJson ?? null,
  error: r.error === undefined ? null : JSON.stringify(r.error),
  divergence: r.divergenceJson ?? null,
  parent_workflow_id: r.parent?.workflowId ?? null,
  parent_run_id: r.parent?.runId ?? null,
  parent_cmd: r.parent?.cmd ?? null,
  created_at: r.createdAt,
  updated_at: r.updatedAt,
  closed_at: r.closedAt ?? null,
  last_seq: r.lastSeq,
  last_event_type: r.lastEventType ?? null,
  current: r.current ? 1 : 0,
  parent_notified: r.parentNotified ? 1 : 0,
  cancel_requested: r.cancelRequested
})

export const RUN_COLUMNS = Object.keys(toRecord({ parent: undefined } as unknown as RunRow)) as Array<
  keyof RunRecord
>
export const RUN_UPDATES = RUN_COLUMNS.filter(
  (c) =>
    ![
      "run_id",
      "workflow_id",
      "type",
      "input",
      "created_at",
      "parent_workflow_id",
      "parent_run_id",
      "parent_cmd"
    ].includes(c)
)
/** Only the columns a changed row writes: `current` is retire's alone (contract invariant 4). */
export const CHANGED_COLUMNS = RUN_UPDATES.filter((c) => c !== "current")

/**
 * The rows a commit writes, each once (contract invariant 5): a run added and changed in the
 * same commit is added as it ends up; a run changed twice is written once, as it ends up (one
 * UPDATE may not name a row twice). Of the runs added under one id, a closed one followed by a
 * newer one goes in retired: retire runs before they are in the table (invariant 4).
 */
export const rowsOf = (w: WriteSet): { readonly changed: Array<RunRow>; readonly added: Array<RunRow> } => {
  const added = new Map(w.runsAdded.map((row) => [row.runId, row]))
  const changed = new Map<string, RunRow>()
  for (const row of w.runsChanged) (added.has(row.runId) ? added : changed).set(row.runId, row)
  const newest = new Map<string, RunRow>()
  for (const row of added.values()) newest.set(row.workflowId, row)
  return {
    changed: [...changed.values()],
    added: [...added.values()].map((row) =>
      row.current && newest.get(row.workflowId) !== row && row.status !== "running" && row.status !== "stuck"
        ? { ...row, current: false }
        : row
    )
  }
}
