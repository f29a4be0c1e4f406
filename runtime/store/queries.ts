/**
 * What both stores read the same way: recovery's reads over the `runs` table (standard SQL
 * over the same columns, given the table's name), and what the rows of a history batch, of the
 * history facts and of the timers make.
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Effect from "effect/Effect"
import type { HistoryEvent } from "../../core"
import type { StoreError } from "../errors"
import type { HistoryFacts, TimerRow, WorkflowStore } from "./contract"
import { fromRecord, type RunRecord } from "./run-record"

/** A store's read: the statement's failure as its StoreError. */
export type Read = <A>(effect: Effect.Effect<A, SqlError>, what: string) => Effect.Effect<A, StoreError>

/**
 * Recovery's reads (`unnotifiedChildren`, `orphans`, `inheritedCancels`), given the `runs`
 * table's name and a select of its plain rows as `r`.
 */
export const recoveryReads = (
  sql: SqlClient.SqlClient,
  read: Read,
  tables: { readonly runs: string; readonly rows: string }
): Pick<WorkflowStore["Type"], "unnotifiedChildren" | "orphans" | "inheritedCancels"> => {
  const { runs } = tables
  const runIds = (rows: ReadonlyArray<{ readonly run_id: string }>) => rows.map((r) => r.run_id)
  return {
    unnotifiedChildren: read(
      sql<RunRecord>`${sql.literal(tables.rows)} WHERE r.parent_run_id IS NOT NULL AND r.parent_notified = 0
        AND r.status NOT IN ('running', 'stuck', 'continued-as-new')`,
      "reading children"
    ).pipe(Effect.map((rows) => rows.map(fromRecord))),
    orphans: read(
      sql<{ run_id: string }>`SELECT c.run_id FROM ${sql.literal(runs)} c
        JOIN ${sql.literal(runs)} p ON p.run_id = c.parent_run_id
        WHERE c.status IN ('running', 'stuck') AND p.status NOT IN ('running', 'stuck')`,
      "reading orphaned children"
    ).pipe(Effect.map(runIds)),
    inheritedCancels: read(
      sql<{ run_id: string }>`SELECT c.run_id FROM ${sql.literal(runs)} o JOIN ${sql.literal(runs)} c
          ON c.workflow_id = o.workflow_id AND c.current = 1 AND c.run_id <> o.run_id
        WHERE o.status = 'continued-as-new' AND o.cancel_requested = 1 AND o.parent_run_id IS NOT NULL
          AND c.parent_run_id = o.parent_run_id AND c.status IN ('running', 'stuck')
          AND c.cancel_requested = 0`,
      "reading inherited cancels"
    ).pipe(Effect.map(runIds))
  }
}

/** Rows read in (run, seq) order, each run's made into a list in that order. */
const byRun = <R extends { readonly run_id: string }, A>(
  rows: ReadonlyArray<R>,
  item: (row: R) => A
): Map<string, Array<A>> => {
  const out = new Map<string, Array<A>>()
  for (const row of rows) {
    let list = out.get(row.run_id)
    if (!list) out.set(row.run_id, (list = []))
    list.push(item(row))
  }
  return out
}

/** Event rows read in (run, seq) order, as each run's history. */
export const historiesByRun = (
  rows: ReadonlyArray<{ readonly run_id: string; readonly body: string }>
): Map<string, Array<HistoryEvent>> => byRun(rows, (row) => JSON.parse(row.body) as HistoryEvent)

/** Snapshot segment rows read in (run, seq) order, as each run's segments (contract invariant 5). */
export const segmentsByRun = (
  rows: ReadonlyArray<{ readonly run_id: string; readonly seq: number; readonly body: string }>
): Map<string, Array<{ readonly seq: number; readonly body: string }>> =>
  byRun(rows, (row) => ({ seq: row.seq, body: row.body }))

/** `describe`'s facts from the rows of its two queries (each store scans the JSON its own way). */
export const historyFactsOf = (rows: {
  readonly usage: ReadonlyArray<{ readonly calls: number; readonly totalTokens: number }>
  readonly failed: ReadonlyArray<{ readonly cmd: number; readonly attempt: number }>
}): HistoryFacts => ({
  llmUsage: { calls: rows.usage[0]?.calls ?? 0, totalTokens: rows.usage[0]?.totalTokens ?? 0 },
  failedAttempts: new Map(rows.failed.map((r) => [r.cmd, r.attempt]))
})

export const timerRows = (
  rows: ReadonlyArray<{ readonly run_id: string; readonly cmd: number; readonly fire_at: number }>
): Array<TimerRow> => rows.map((r) => ({ runId: r.run_id, cmd: r.cmd, fireAt: r.fire_at }))
