/**
 * The PostgreSQL store's SQL. A commit's writes are one statement per kind, each taking its
 * rows as arrays (`unnest`), so a statement has one shape whatever the batch size, and a write
 * that names a key twice is folded first (one statement may not change a row twice).
 */
import type { Key, RunRow, TimerRow, WriteSet } from "../contract"
import { CHANGED_COLUMNS, RUN_COLUMNS, RUN_UPDATES, toRecord, type RunRecord } from "../run-record"

/** A statement's text and parameters. */
export type Statement = readonly [text: string, params: ReadonlyArray<unknown>]

const COLUMN_TYPES: Record<keyof RunRecord, string> = {
  run_id: "text",
  workflow_id: "text",
  type: "text",
  status: "text",
  input: "text",
  result: "text",
  error: "text",
  divergence: "text",
  parent_workflow_id: "text",
  parent_run_id: "text",
  parent_cmd: "int",
  created_at: "bigint",
  updated_at: "bigint",
  closed_at: "bigint",
  last_seq: "int",
  last_event_type: "text",
  current: "int",
  parent_notified: "int",
  cancel_requested: "int"
}

/** `unnest($1::text[], $2::int[], …) AS alias(c1, c2, …)` over `columns`. */
const unnest = (alias: string, columns: ReadonlyArray<keyof RunRecord>) =>
  `unnest(${columns.map((c, i) => `$${i + 1}::${COLUMN_TYPES[c]}[]`).join(", ")}) AS ${alias}(${columns.join(", ")})`

/** The rows' columns, one array per column. */
const columnArrays = (rows: ReadonlyArray<RunRow>, columns: ReadonlyArray<keyof RunRecord>) => {
  const arrays = columns.map(() => [] as Array<unknown>)
  for (const row of rows) {
    const record = toRecord(row)
    columns.forEach((c, i) => arrays[i]!.push(record[c]))
  }
  return arrays
}

const ADD_RUNS = `INSERT INTO temporal_lite.runs (${RUN_COLUMNS.join(", ")})
  SELECT * FROM ${unnest("v", RUN_COLUMNS)}
  ON CONFLICT (run_id) DO UPDATE SET ${RUN_UPDATES.map((c) => `${c} = excluded.${c}`).join(", ")}`

// Only the columns that change ('current' is retire's alone); the flags never step back.
const CHANGE_KEYS = ["run_id", ...CHANGED_COLUMNS] as const
const CHANGE_RUNS = `UPDATE temporal_lite.runs AS r SET ${CHANGED_COLUMNS.map((c) =>
  c === "cancel_requested" || c === "parent_notified" ? `${c} = GREATEST(r.${c}, v.${c})` : `${c} = v.${c}`
).join(", ")}
  FROM ${unnest("v", CHANGE_KEYS)} WHERE r.run_id = v.run_id`

const RETIRE = `UPDATE temporal_lite.runs SET current = 0
  WHERE current = 1 AND workflow_id = ANY($1::text[]) AND status NOT IN ('running', 'stuck')`

const INSERT_EVENTS = `INSERT INTO temporal_lite.events (run_id, seq, body)
  SELECT * FROM unnest($1::text[], $2::int[], $3::text[])`

const ADD_TIMERS = `INSERT INTO temporal_lite.timers (run_id, cmd, fire_at)
  SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[])
  ON CONFLICT (run_id, cmd) DO UPDATE SET fire_at = excluded.fire_at`

const DELETE_TIMERS = `DELETE FROM temporal_lite.timers AS t
  USING unnest($1::text[], $2::int[]) AS d(run_id, cmd) WHERE t.run_id = d.run_id AND t.cmd = d.cmd`

// A segment that did not chain (a corrupt one) may hold the seq a new one takes: the new one wins.
const ADD_SNAPSHOTS = `INSERT INTO temporal_lite.snapshots (run_id, seq, body)
  SELECT * FROM unnest($1::text[], $2::int[], $3::text[])
  ON CONFLICT (run_id, seq) DO UPDATE SET body = excluded.body`

const DROP_SNAPSHOTS = `DELETE FROM temporal_lite.snapshots WHERE run_id = ANY($1::text[])`

// A flag write sets parent_notified when it names it, and only raises cancel_requested.
const SET_FLAGS = `UPDATE temporal_lite.runs AS r
  SET parent_notified = COALESCE(f.parent_notified, r.parent_notified),
    cancel_requested = GREATEST(r.cancel_requested, COALESCE(f.cancel_requested, 0))
  FROM unnest($1::text[], $2::int[], $3::int[]) AS f(run_id, parent_notified, cancel_requested)
  WHERE r.run_id = f.run_id`

/** The last of the items under each key. */
const lastByKey = <A>(items: ReadonlyArray<A>, key: (item: A) => string): Array<A> =>
  items.length < 2 ? [...items] : [...new Map(items.map((item) => [key(item), item])).values()]

const timerKey = (t: Key) => `${t.runId}\u0000${t.cmd}`
const segmentKey = (s: WriteSet["snapshots"][number]) => `${s.runId}\u0000${s.seq}`

/**
 * The statements of one commit, in the order the contract needs (invariant 4): changed rows,
 * retired ids, added rows, then events, timers, snapshot segments added then dropped, and flags.
 */
export const commitStatements = (
  w: WriteSet,
  rows: { readonly changed: ReadonlyArray<RunRow>; readonly added: ReadonlyArray<RunRow> }
): Array<Statement> => {
  const out: Array<Statement> = []
  if (rows.changed.length > 0) out.push([CHANGE_RUNS, columnArrays(rows.changed, CHANGE_KEYS)])
  if (w.retire.length > 0) out.push([RETIRE, [w.retire]])
  if (rows.added.length > 0) out.push([ADD_RUNS, columnArrays(rows.added, RUN_COLUMNS)])
  if (w.events.length > 0) {
    const ids: Array<string> = []
    const seqs: Array<number> = []
    const bodies: Array<string> = []
    for (const e of w.events) {
      ids.push(e.runId)
      seqs.push(e.seq)
      bodies.push(e.body)
    }
    out.push([INSERT_EVENTS, [ids, seqs, bodies]])
  }
  if (w.timersAdd.length > 0) {
    const timers: Array<TimerRow> = lastByKey(w.timersAdd, timerKey)
    out.push([
      ADD_TIMERS,
      [timers.map((t) => t.runId), timers.map((t) => t.cmd), timers.map((t) => t.fireAt)]
    ])
  }
  if (w.timersDelete.length > 0) {
    const keys = lastByKey(w.timersDelete, timerKey)
    out.push([DELETE_TIMERS, [keys.map((k) => k.runId), keys.map((k) => k.cmd)]])
  }
  if (w.snapshots.length > 0) {
    const segments = lastByKey(w.snapshots, segmentKey)
    out.push([
      ADD_SNAPSHOTS,
      [segments.map((s) => s.runId), segments.map((s) => s.seq), segments.map((s) => s.body)]
    ])
  }
  // After the adds: a run's last segment may share a commit with its close.
  if (w.snapshotsDropped.length > 0) out.push([DROP_SNAPSHOTS, [w.snapshotsDropped]])
  if (w.flags.length > 0) {
    const flags = new Map<string, { parentNotified?: number; cancelRequested?: number }>()
    for (const f of w.flags) {
      const folded = flags.get(f.runId) ?? {}
      if (f.parentNotified !== undefined) folded.parentNotified = f.parentNotified ? 1 : 0
      if (f.cancelRequested !== undefined)
        folded.cancelRequested = Math.max(folded.cancelRequested ?? 0, f.cancelRequested)
      flags.set(f.runId, folded)
    }
    const entries = [...flags]
    out.push([
      SET_FLAGS,
      [
        entries.map(([runId]) => runId),
        entries.map(([, f]) => f.parentNotified ?? null),
        entries.map(([, f]) => f.cancelRequested ?? null)
      ]
    ])
  }
  return out
}

// ---- reads ---------------------------------------------------------------------------------

/** A run's columns, times as float8 (node-postgres reads BIGINT as a string). */
const RUN_FIELDS = RUN_COLUMNS.map((c) =>
  COLUMN_TYPES[c] === "bigint" ? `r.${c}::float8 AS ${c}` : `r.${c}`
).join(", ")

/** Runs with their progress read from their last event (contract invariant 5). */
export const SELECT_RUNS = `SELECT ${RUN_FIELDS},
    t.seq AS tail_seq, t.body::json ->> 'type' AS tail_type, (t.body::json ->> 'at')::float8 AS tail_at
  FROM temporal_lite.runs r
  LEFT JOIN LATERAL (
    SELECT seq, body FROM temporal_lite.events e WHERE e.run_id = r.run_id ORDER BY seq DESC LIMIT 1
  ) t ON true`

/** Runs as their rows hold them, without the tail. */
export const SELECT_ROWS = `SELECT ${RUN_FIELDS} FROM temporal_lite.runs r`
