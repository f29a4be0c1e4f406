/**
 * Recovery, when the engine starts: every open run the store holds comes back into the run
 * table and is resumed.
 *
 * Invariants:
 * 1. Every open run (running or stuck) is in the table before the engine takes a request;
 *    none holds an instance: each is rebuilt by replay in its next task, which dispatches its
 *    open activities and timers again (engine invariant 4).
 * 2. A stuck run, and one that never took its first task, is rebuilt at once (a divergence
 *    shows soon after a deploy; a start is not left half done); the others come a quota per
 *    batch (task-loop invariant 2), or sooner when something reaches them.
 * 3. Due timers fire at once; a closed child whose parent never recorded its outcome tells the
 *    parent; an open child of a closed parent is cancelled; a cancel a parent asked and the
 *    child never recorded, or that reached a run after it had continued as new, is asked again.
 */
import * as Effect from "effect/Effect"
import type { WorkflowDefinition } from "../../core"
import type { StoreError } from "../errors"
import type { WorkflowStore } from "../store"
import type { Lineage } from "./lineage"
import { askedByParent, cancelOfRow, recovered, woken, type RunState } from "./run-state"
import type { RunTable } from "./run-table"
import type { TaskLoop } from "./task-loop"

export const recover = (deps: {
  readonly store: WorkflowStore["Type"]
  readonly table: RunTable
  readonly definitions: ReadonlyMap<string, WorkflowDefinition<any, any>>
  readonly loop: Pick<TaskLoop, "schedule" | "recover">
  readonly startTimer: (runId: string, cmd: number, fireAt: number) => void
  readonly lineage: Pick<Lineage, "notifyParent" | "requestCancel">
}): Effect.Effect<void, StoreError> =>
  Effect.gen(function* () {
    const { store, table, definitions, loop, lineage } = deps
    for (const row of yield* store.openRuns) table.add(recovered(row, definitions.get(row.type)))
    const later: Array<RunState> = []
    for (const run of table.all()) {
      if (run.row.status === "stuck" || run.row.lastSeq === 1) {
        woken(run)
        loop.schedule(run)
      } else {
        later.push(run)
      }
    }
    loop.recover(later)
    for (const timer of yield* store.timers)
      if (table.byRunId(timer.runId)) deps.startTimer(timer.runId, timer.cmd, timer.fireAt)
    for (const child of yield* store.unnotifiedChildren) lineage.notifyParent(child)
    for (const runId of yield* store.orphans) {
      const run = table.byRunId(runId)
      if (run) lineage.requestCancel(run, "the parent workflow closed")
    }
    // Asked of a run that had continued as new (requestCancel forwarded it) and not recorded.
    const inherited = new Set(yield* store.inheritedCancels)
    for (const run of [...table.all()]) {
      const row = run.row
      if (askedByParent(row) || (inherited.has(row.runId) && cancelOfRow(row) === "none")) {
        run.cancel = "none"
        lineage.requestCancel(run, "the parent workflow cancelled it")
      }
    }
  })
