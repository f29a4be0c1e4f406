/**
 * `engine.result`: waiting for a run to close (engine invariant 8). An open run tells its
 * waiters from the commit that closes it (one entry on the run: no stream, no polling); a run
 * closed before costs one read. Continue-as-new is followed to the run that ends the chain.
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import { codecOf, InvalidPayload, type WorkflowDefinition } from "../../core"
import type { Engine, ResultOptions, StartedWorkflow } from "../engine-api"
import { WorkflowNotFound, WorkflowRunContinued, WorkflowRunFailed } from "../errors"
import type { RunRow, WorkflowStore } from "../store"
import { fromStoredText } from "../stored-value"
import { OPEN, type ClosedRun } from "./run-state"
import type { RunTable } from "./run-table"

export const makeResults = (deps: {
  readonly store: WorkflowStore["Type"]
  readonly table: RunTable
  readonly definitions: ReadonlyMap<string, WorkflowDefinition<any, any>>
}) => {
  const { store, table, definitions } = deps

  /** The run once closed: told by its closing commit when it is open in memory, else read once. */
  const closedRun = (id: string, runId: string | undefined) =>
    Effect.gen(function* () {
      const waiter = yield* Deferred.make<ClosedRun | undefined>()
      // Looked up and registered in one step: no close can slip in between.
      const open = yield* Effect.sync(() => {
        const run = runId === undefined ? table.current(id) : table.byRunId(runId)
        if (!run || run.row.workflowId !== id) return undefined
        ;(run.resultWaiters ??= new Set()).add(waiter)
        return run
      })
      if (open) {
        const closed = yield* Deferred.await(waiter).pipe(
          Effect.onInterrupt(() => Effect.sync(() => open.resultWaiters?.delete(waiter)))
        )
        // Told nothing: the run left memory without closing; the store has what became of it.
        if (closed) return closed
      }
      const row = runId === undefined ? yield* store.currentRun(id) : (yield* store.runsByIds([runId]))[0]
      if (!row || row.workflowId !== id) return yield* Effect.fail(new WorkflowNotFound({ workflowId: id }))
      if (OPEN.has(row.status))
        return yield* Effect.dieMessage(`run ${row.runId} of ${id} is open in the store but not in memory`)
      return { row, nextRunId: undefined } satisfies ClosedRun
    })

  /** The run that continued `row`: from its last event, or (histories from before it was recorded) the id's current run. */
  const nextRunOf = (row: RunRow) =>
    Effect.gen(function* () {
      const last = (yield* store.events(row.runId, row.lastSeq - 1))[0]
      if (last?.type === "WorkflowContinuedAsNew" && last.nextRunId !== undefined) return last.nextRunId
      const successor = yield* store.currentRun(row.workflowId)
      if (!successor) return yield* Effect.fail(new WorkflowNotFound({ workflowId: row.workflowId }))
      return successor.runId
    })

  const result = (idOrStarted: string | StartedWorkflow<any>, options?: ResultOptions) =>
    Effect.gen(function* () {
      const id = typeof idOrStarted === "string" ? idOrStarted : idOrStarted.id
      let runId = options?.runId ?? (typeof idOrStarted === "string" ? undefined : idOrStarted.runId)
      for (;;) {
        const closed = yield* closedRun(id, runId)
        const row = closed.row
        if (row.status === "completed") {
          // Parsed from its text: a copy no one else holds, decoded in place.
          const output = definitions.get(row.type)?.output
          return yield* Effect.mapError(
            codecOf(output).decodeOwned(fromStoredText(row.resultJson ?? "")),
            (issue) => InvalidPayload.of(`result of workflow "${row.type}"`, "result", issue)
          )
        }
        if (row.status !== "continued-as-new") {
          return yield* Effect.fail(
            new WorkflowRunFailed({
              workflowId: id,
              runId: row.runId,
              status: row.status === "cancelled" ? "cancelled" : "failed",
              error: row.error ?? { name: row.status, message: `the run ended ${row.status}` }
            })
          )
        }
        const next = closed.nextRunId ?? (yield* nextRunOf(row))
        if (options?.followRuns === false)
          return yield* Effect.fail(
            new WorkflowRunContinued({ workflowId: id, runId: row.runId, nextRunId: next })
          )
        runId = next
      }
    })

  return { result: result as Engine["Type"]["result"] }
}
