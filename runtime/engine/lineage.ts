/**
 * How runs are linked: a parent and its children, a run and the one that continues it as
 * new. What a workflow task writes when it starts a child, continues as new or closes, and
 * what follows once that commit lands: the new run's first task, the parent told, the
 * children cancelled, a cancel or signal passed on to the run that took the id.
 *
 * Invariants:
 * 1. A new run's row and its `WorkflowStarted` are written in the commit of the task that
 *    made it (a child's with its `ChildWorkflowStarted`, a continued run's with the close of
 *    the run it continues); it runs its first task once that commit lands.
 * 2. A child that cannot start (unknown type, bad id, the id running, an input its schema
 *    refuses) fails in the task that started it (`task.decided`), so no crash can part the
 *    two records.
 * 3. A run that closes notifies its parent in the parent's own task (the child's
 *    `parentNotified` is written with that task's commit), unless it continued as new: the
 *    new run takes the parent link and the parent hears of the last run only.
 * 4. A parent that closes, or cancels a child command, cancels the child; a cancel asked of
 *    a child is written to the child's row with the parent's commit (`askedByParent`), so
 *    recovery asks it again if the child never recorded it.
 * 5. A signal or cancel is for the workflow id: one that reaches a run that has continued as
 *    new (in memory, its commit maybe in flight) goes on to the run that took the id.
 */
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import {
  WorkflowInstance,
  engineFlags,
  workflowIdProblem,
  type HistoryEvent,
  type Incoming,
  type WorkflowDefinition
} from "../../core"
import type { RunStatus } from "../engine-api"
import { InvalidWorkflowId, UnknownName, WorkflowAlreadyRunning, WorkflowClosed } from "../errors"
import { timeOrderedId } from "../ids"
import { toStoredPayload } from "../payload-validation"
import { SnapshotTrail } from "../snapshot"
import type { RunRow } from "../store"
import { fromStoredText, toStoredText } from "../stored-value"
import {
  closed,
  creatorCommitted,
  OPEN,
  parentAsksCancel,
  spawned,
  starting,
  tellResultWaiters,
  type Ack,
  type InboxItem,
  type RunState
} from "./run-state"
import type { RunTable } from "./run-table"
import type { RunStreams } from "./streams"
import type { Task } from "./workflow-task"

export interface LineageDeps {
  readonly table: RunTable
  /** Where a new run's start and a run's end are published (streams.ts). */
  readonly streams: Pick<RunStreams, "publish" | "end">
  readonly definitions: ReadonlyMap<string, WorkflowDefinition<any, any>>
  readonly snapshotEvery: number
  /** Puts an item in a run's inbox and queues its task (task-loop.ts). */
  readonly deliver: (run: RunState, item: InboxItem) => void
  readonly schedule: (run: RunState) => void
}

export type Lineage = ReturnType<typeof makeLineage>

/** The row of a run about to start. */
export const newRow = (options: {
  readonly workflowId: string
  readonly definition: WorkflowDefinition<any, any>
  /** In its stored form. */
  readonly input: unknown
  readonly parent: RunRow["parent"]
  readonly now: number
  readonly runId?: string | undefined
}): RunRow => ({
  runId: options.runId ?? timeOrderedId(),
  workflowId: options.workflowId,
  type: options.definition.name,
  status: "running",
  inputJson: toStoredText(options.input),
  resultJson: undefined,
  error: undefined,
  divergenceJson: undefined,
  parent: options.parent,
  createdAt: options.now,
  updatedAt: options.now,
  closedAt: undefined,
  lastSeq: 1,
  lastEventType: "WorkflowStarted",
  current: true,
  parentNotified: false,
  cancelRequested: 0
})

/**
 * A run `start` makes, not yet in the run table, and the `WorkflowStarted` its first task
 * applies to its fresh instance and commits with its first commands (one commit).
 *
 * @example const { run, started } = startRun({ workflowId: "order-1", definition, input, now, snapshotEvery: 100 })
 */
export const startRun = (options: {
  readonly workflowId: string
  readonly definition: WorkflowDefinition<any, any>
  /** In its stored form. */
  readonly input: unknown
  readonly now: number
  readonly snapshotEvery: number
}): { readonly run: RunState; readonly started: Incoming } => {
  const { workflowId, definition, input } = options
  const row = newRow({ workflowId, definition, input, parent: undefined, now: options.now })
  // Nothing is appended yet: its first task numbers WorkflowStarted 1.
  row.lastSeq = 0
  const run = starting(
    row,
    definition,
    WorkflowInstance.create(definition, { trace: false }),
    options.snapshotEvery > 0 ? new SnapshotTrail() : undefined
  )
  const started: Incoming = {
    type: "WorkflowStarted",
    workflowType: definition.name,
    workflowId,
    runId: row.runId,
    input,
    randomSeed: row.runId,
    flags: engineFlags
  }
  return { run, started }
}

export const makeLineage = ({
  table,
  streams,
  definitions,
  snapshotEvery,
  deliver,
  schedule
}: LineageDeps) => {
  /** Invariant 1: the run's row and start in the task's write set; it runs once they commit. */
  const newRun = (
    task: Task,
    options: {
      readonly workflowId: string
      readonly definition: WorkflowDefinition<any, any>
      readonly input: unknown
      readonly parent: RunRow["parent"]
      readonly continuedFromRunId?: string
      readonly runId?: string
    }
  ): RunState => {
    const row = newRow({ ...options, now: task.now })
    const runId = row.runId
    const started = {
      type: "WorkflowStarted" as const,
      seq: 1,
      at: task.now,
      workflowType: options.definition.name,
      workflowId: options.workflowId,
      runId,
      input: options.input,
      // Unique and random already: the run's generator needs nothing more.
      randomSeed: runId,
      flags: engineFlags,
      ...(options.parent ? { parent: options.parent } : {}),
      ...(options.continuedFromRunId ? { continuedFromRunId: options.continuedFromRunId } : {})
    }
    const run = spawned(row, options.definition)
    const written = { ...row }
    task.writes.retire.push(options.workflowId)
    task.writes.runsAdded.push(written)
    task.writes.events.push({ runId, seq: 1, body: JSON.stringify(started) })
    task.newRuns.push(run)
    // Reserve the id now, so a second start in the same task sees it taken.
    table.add(run)
    task.after.push({ _tag: "RunCreated", run, row: written, started: started as HistoryEvent })
    return run
  }

  /** Invariant 5: what reaches a run that has continued as new goes on to its successor. */
  const requestCancel = (run: RunState, reason: string, ack?: Ack): void => {
    // Continued as new (in memory, its commit maybe in flight): the cancel is for the chain,
    // as a signal is (afterClose), so it goes to the run that took the id and the parent link.
    const successor = table.successorOf(run)
    if (successor && successor.row.parent?.runId === run.row.parent?.runId)
      return requestCancel(successor, reason, ack)
    if (run.cancel !== "none" || !OPEN.has(run.row.status)) {
      ack?.(Exit.void)
      return
    }
    run.cancel = "sent"
    deliver(run, { event: { type: "CancelRequested", reason }, ack })
  }

  /** Invariant 3: the parent hears of its child's close in its own task. */
  const notifyParent = (row: RunRow) => {
    const parentRef = row.parent
    if (!parentRef) return
    const parent = table.byRunId(parentRef.runId)
    if (!parent) return
    const flags = [{ runId: row.runId, parentNotified: true }]
    const event: Incoming =
      row.status === "completed"
        ? { type: "ChildWorkflowCompleted", cmd: parentRef.cmd, result: fromStoredText(row.resultJson ?? "") }
        : {
            type: "ChildWorkflowFailed",
            cmd: parentRef.cmd,
            error: row.error ?? {
              name: row.status,
              message: `child workflow ${row.workflowId} ended ${row.status}`
            }
          }
    deliver(parent, { event, flags })
  }

  return {
    newRun,
    requestCancel,
    notifyParent,

    /** Invariants 1 and 2: a child started by the task's command, or failed in the same task. */
    startChild(task: Task, event: Extract<HistoryEvent, { type: "ChildWorkflowStarted" }>) {
      const { run } = task
      const fail = (name: string, message: string) =>
        void task.decided.push({ type: "ChildWorkflowFailed", cmd: event.cmd, error: { name, message } })
      const definition = definitions.get(event.workflowType)
      if (!definition) {
        return fail(
          "UnknownName",
          new UnknownName({ kind: "workflow type", name: event.workflowType, known: [...definitions.keys()] })
            .message
        )
      }
      const problem = workflowIdProblem(event.workflowId)
      if (problem !== undefined)
        return fail(
          "InvalidWorkflowId",
          new InvalidWorkflowId({ workflowId: event.workflowId, problem }).message
        )
      const existing = table.current(event.workflowId)
      if (existing && OPEN.has(existing.row.status)) {
        return fail(
          "WorkflowAlreadyRunning",
          new WorkflowAlreadyRunning({ workflowId: event.workflowId, runId: existing.row.runId }).message
        )
      }
      const input = toStoredPayload(
        definition.input,
        event.input,
        `input of workflow "${definition.name}"`,
        "input"
      )
      if (Either.isLeft(input)) return fail("InvalidPayload", input.left.message)
      newRun(task, {
        workflowId: event.workflowId,
        definition,
        input: event.input,
        parent: { workflowId: run.row.workflowId, runId: run.row.runId, cmd: event.cmd }
      })
    },

    /** Invariant 4: the task's command cancels the child it started, if that child is still the id's run. */
    cancelChild(task: Task, cmd: number) {
      const { run } = task
      const child = table.current(run.children.get(cmd) ?? "")
      if (child && child.row.parent?.runId === run.row.runId) {
        task.writes.flags.push(parentAsksCancel(child.row.runId))
        task.after.push({ _tag: "CancelChild", child, reason: "the parent workflow cancelled it" })
      }
    },

    /** Invariants 1 and 3: the next run, under the same id, with the parent link. */
    continueAsNew(task: Task, input: unknown, runId: string) {
      const { run } = task
      run.row.current = false
      task.rowChanged = true
      newRun(task, {
        workflowId: run.row.workflowId,
        definition: run.definition!,
        input,
        parent: run.row.parent,
        continuedFromRunId: run.row.runId,
        runId
      })
      // The new run takes the parent link: the parent hears of the last run only.
      run.row.parentNotified = true
    },

    /** The run closes in this task: its row, and what follows the commit (`RunClosed`). */
    close(
      task: Task,
      status: RunStatus,
      outcome: {
        readonly resultJson?: string
        readonly error?: RunRow["error"]
        readonly nextRunId?: string | undefined
      }
    ) {
      const { run } = task
      const row = run.row
      row.status = status
      row.closedAt = task.now
      task.rowChanged = true
      row.resultJson = outcome.resultJson
      row.error = outcome.error
      // Nothing rebuilds a closed run from its snapshots; one this short has none.
      if (snapshotEvery === 0 || row.lastSeq >= snapshotEvery) task.writes.snapshotsDropped.push(row.runId)
      closed(run)
      task.after.push({ _tag: "RunClosed", run, status, nextRunId: outcome.nextRunId })
    },

    /**
     * Invariant 5: an item that reaches a run closed earlier in the same task. A signal or a
     * cancel goes on to the run that continued it; otherwise a signal is refused once the
     * close is committed (it is stored nowhere), and a cancel has nothing left to do.
     */
    afterClose(task: Task, item: InboxItem) {
      const { run, acks } = task
      const { event, ack } = item
      if (event.type !== "SignalReceived" && event.type !== "CancelRequested") {
        if (ack) acks.push(ack)
        return
      }
      const successor = table.successorOf(run)
      if (successor) {
        if (event.type === "CancelRequested") return requestCancel(successor, event.reason, ack)
        return deliver(successor, item)
      }
      if (!ack) return
      if (event.type === "CancelRequested") return void acks.push(ack)
      const refused = new WorkflowClosed({ workflowId: run.row.workflowId, status: run.row.status })
      acks.push((exit) => ack(Exit.isSuccess(exit) ? Exit.fail(refused) : exit))
    },

    /** Invariant 1, after the commit: the new run can be read and runs its first task. */
    created(run: RunState, row: RunRow, started: HistoryEvent) {
      if (!run.committed) run.committed = row
      creatorCommitted(run)
      streams.publish(row.runId, { _tag: "history", event: started })
      schedule(run)
    },

    /** Invariants 3 and 4, after the commit that closed the run. */
    closed(run: RunState, status: RunStatus, nextRunId: string | undefined) {
      const row = run.row
      tellResultWaiters(run, { row: run.committed ?? row, nextRunId })
      table.remove(run)
      streams.end(row.runId, { _tag: "end", status })
      if (status !== "continued-as-new") notifyParent(row)
      for (const child of table.takeChildren(row.runId))
        requestCancel(child, `the parent workflow ${row.workflowId} closed (${status})`)
    }
  }
}
