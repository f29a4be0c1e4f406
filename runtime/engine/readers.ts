/**
 * How the API reads a run: its row as committed, the open run a write goes to, and its
 * instance as of its last commit (engine invariant 2: never ahead of what is durable).
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import { WorkflowInstance, type WorkflowDefinition } from "../../core"
import { WorkflowClosed, WorkflowNotFound } from "../errors"
import type { RunRow, WorkflowStore } from "../store"
import { OPEN, type RunState } from "./run-state"
import type { RunTable } from "./run-table"

export type Readers = ReturnType<typeof makeReaders>

export const makeReaders = (deps: {
  readonly store: WorkflowStore["Type"]
  readonly table: RunTable
  readonly definitions: ReadonlyMap<string, WorkflowDefinition<any, any>>
  readonly schedule: (run: RunState) => void
}) => {
  const { store, table, definitions, schedule } = deps

  /** The id's current row as committed (the row in memory runs ahead of its commit), or `WorkflowNotFound`. */
  const findRow = (id: string) =>
    Effect.gen(function* () {
      // What is committed: the row in memory runs ahead of its commit (a run may read
      // "completed" there while its last events are still in the group commit).
      const open = table.current(id)
      if (open?.committed) return open.committed
      const row = yield* store.currentRun(id)
      if (!row) return yield* Effect.fail(new WorkflowNotFound({ workflowId: id }))
      return row
    })

  /** The id's open run, where a signal or cancel goes; `WorkflowClosed` naming its status otherwise. */
  const openRun = (id: string) =>
    Effect.gen(function* () {
      const open = table.current(id)
      if (open && OPEN.has(open.row.status)) return open
      // Closed in memory with its close still in flight, the committed row says "running":
      // the refusal names the status the close gives it, as one in the closing task is told.
      const status = open ? open.row.status : (yield* findRow(id)).status
      return yield* Effect.fail(new WorkflowClosed({ workflowId: id, status }))
    })

  /**
   * The instance of an open run as of its last commit (rebuilt through its task if evicted),
   * or a read-only replay of what the store holds, with the row it reflects; `found` is the
   * id's row as `findRow` gave it.
   */
  const instanceOf = (found: RunRow) =>
    Effect.gen(function* () {
      const open = table.current(found.workflowId)
      if (open) {
        if (open.instance && open.inflight === 0 && open.committed)
          return { instance: open.instance, row: open.committed }
        const waiter = yield* Deferred.make<WorkflowInstance | undefined>()
        open.waiters.push(waiter)
        // Evicted: its task rebuilds it. Otherwise the commit in flight releases the waiter.
        if (!open.instance) schedule(open)
        const instance = yield* Deferred.await(waiter)
        // Released only once committed (releaseReaders); a run that left answers undefined.
        if (instance && open.committed) return { instance, row: open.committed }
      }
      // What is committed: a run whose first commit failed never was.
      const row = open?.committed ?? found
      const definition = definitions.get(row.type)
      const instance = definition
        ? WorkflowInstance.replay(definition, yield* store.events(row.runId), { trace: false })
        : undefined
      return { instance, row }
    })

  return { findRow, openRun, instanceOf }
}
