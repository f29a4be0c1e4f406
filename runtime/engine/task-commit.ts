/**
 * A workflow task's result on its way to the store (through group commit), and what follows:
 * on success the after-commit actions, the stream, the readers; on failure the run reset to
 * what is committed.
 *
 * Invariants:
 * 1. Nothing of a task leaves the engine before its write set commits: its after-commit
 *    actions run, its events are streamed and its callers acknowledged only then, in the
 *    order the task produced them (engine invariant 2).
 * 2. Readers of a run (queries, describe) are answered only once its first commit has landed
 *    and none of its commits is in flight, with the instance as of that commit.
 * 3. The first failed commit of a run resets it: its phase becomes `Reloading` (the instance
 *    goes, the row is read back), and what it took from the inbox that no caller waits for (a
 *    completion, a firing, a child's outcome, a parent's cancel) goes back to the inbox ahead
 *    of what came since, in the order it came; a caller waiting is told the failure.
 * 4. The run's later commits in flight, built on the lost state, are `reclaimed`: their items
 *    went back by invariant 3, and group commit drops them (`isValid` is false) with
 *    `Dropped`. Runs a failed or dropped task made leave the table, and what reached them
 *    meanwhile fails with the same error.
 * 5. A run that continued as new in a lost commit holds its workflow id again.
 *
 * Where a commit would be fenced (a shard's epoch) is the store's `commit`; where a step is
 * counted (a metric) is `afterCommit`.
 */
import * as Exit from "effect/Exit"
import type { StoreError } from "../errors"
import type { RunRow, Submission } from "../store"
import type { Lineage } from "./lineage"
import {
  answerReaders,
  cancelOfRow,
  commitFailed,
  type CommitInFlight,
  type InboxItem,
  type RunState
} from "./run-state"
import type { RunTable } from "./run-table"
import type { RunStreams } from "./streams"
import type { AfterCommit, Task } from "./workflow-task"

export interface TaskCommitDeps {
  readonly submit: (submission: Submission) => void
  readonly table: RunTable
  readonly streams: RunStreams
  readonly schedule: (run: RunState) => void
  /** Invariant 1: does one after-commit action (see `afterCommitActions`). */
  readonly perform: (action: AfterCommit) => void
}

export interface TaskCommits {
  /** Submits the task's write set, or acknowledges its callers at once when it wrote nothing. */
  readonly commit: (task: Task) => void
  /** Invariant 2: answers the run's readers when nothing of it is in flight. */
  readonly releaseReaders: (run: RunState) => void
}

/** What the after-commit actions reach: the executor, the timer queue and the lineage. */
export interface AfterCommitPorts {
  readonly dispatchActivity: (task: Extract<AfterCommit, { _tag: "DispatchActivity" }>["task"]) => void
  readonly cancelActivity: (runId: string, cmd: number) => void
  readonly startTimer: (runId: string, cmd: number, fireAt: number) => void
  readonly cancelTimer: (runId: string, cmd: number) => void
  readonly lineage: Pick<Lineage, "requestCancel" | "created" | "closed">
}

/** Invariant 1: each after-commit action, done. */
export const afterCommitActions =
  (ports: AfterCommitPorts) =>
  (action: AfterCommit): void => {
    switch (action._tag) {
      case "DispatchActivity":
        return ports.dispatchActivity(action.task)
      case "CancelActivity":
        return ports.cancelActivity(action.runId, action.cmd)
      case "StartTimer":
        return ports.startTimer(action.runId, action.cmd, action.fireAt)
      case "CancelTimer":
        return ports.cancelTimer(action.runId, action.cmd)
      case "CancelChild":
        return ports.lineage.requestCancel(action.child, action.reason)
      case "RunCreated":
        return ports.lineage.created(action.run, action.row, action.started)
      case "RunClosed":
        return ports.lineage.closed(action.run, action.status, action.nextRunId)
    }
  }

/** Fails the callers waiting on `items`. */
export const failAcks = (items: ReadonlyArray<InboxItem>, error: StoreError) => {
  for (const item of items) item.ack?.(Exit.fail(error))
}

export const makeTaskCommits = ({
  submit,
  table,
  streams,
  schedule,
  perform
}: TaskCommitDeps): TaskCommits => {
  const releaseReaders = (run: RunState) => {
    if (run.inflight > 0 || !run.committed || run.waiters.length === 0) return
    answerReaders(run, run.instance)
    // Held back while they waited (the task loop runs no task of a run with readers waiting).
    if (run.inbox.length > 0) schedule(run)
  }

  /** A commit of the run is done with: committed, failed or dropped. */
  const leave = (run: RunState, commit: CommitInFlight) => {
    const i = run.commits.indexOf(commit)
    if (i >= 0) run.commits.splice(i, 1)
  }

  /** Invariants 3 and 4: the run goes back to what is committed and is rebuilt at once. */
  const resetAfterFailure = (run: RunState, failed: CommitInFlight) => {
    table.evict(run)
    commitFailed(run)
    // Until the reload reads it: the lost commit may have closed the run in memory, and a
    // signal, cancel or start meanwhile must find it open.
    if (run.committed) run.row = { ...run.committed }
    // Nothing that arrived is lost: a caller waiting is told (its ack fails), and what
    // nobody waits for goes back to the inbox ahead of what came since, in the order it came
    // (which timer fired first decides a race), so the rebuild neither loses it nor starts it again.
    const again = failed.items.filter((item) => !item.ack)
    for (const later of run.commits) {
      later.reclaimed = true
      for (const item of later.items) if (!item.ack) again.push(item)
    }
    if (again.length > 0) run.inbox = [...again, ...run.inbox]
    // A cancel lost with the commit may be asked again: only one recorded, or on its way,
    // lets requestCancel acknowledge a second without sending it.
    run.cancel =
      cancelOfRow(run.row) === "recorded"
        ? "recorded"
        : run.inbox.some((item) => item.event.type === "CancelRequested")
          ? "sent"
          : "none"
  }

  /**
   * A task's write set on its way to the store. A class, not an object of closures: one is
   * made per step, and three closures apiece were a measurable share of its garbage.
   */
  class TaskCommit implements Submission, CommitInFlight {
    /** Invariant 4. */
    reclaimed = false
    constructor(
      readonly task: Task,
      /** The row as this write set leaves it. */
      readonly row: RunRow
    ) {}
    get writes() {
      return this.task.writes
    }
    get acks() {
      return this.task.acks
    }
    get items() {
      return this.task.items
    }
    isValid() {
      return !this.reclaimed
    }
    afterCommit() {
      const { run, events, after } = this.task
      leave(run, this)
      run.committed = this.row
      if (streams.watched(run.row.runId))
        for (const event of events) streams.publish(run.row.runId, { _tag: "history", event })
      for (const action of after) perform(action)
      releaseReaders(run)
    }
    onFailure(error: StoreError) {
      const { run, newRuns } = this.task
      leave(run, this)
      if (!this.reclaimed) resetAfterFailure(run, this)
      for (const created of newRuns) {
        table.remove(created)
        // What reached the run while it waited for this commit goes nowhere now.
        failAcks(created.inbox, error)
        created.inbox = []
      }
      // Invariant 5.
      table.holdId(run)
      schedule(run)
    }
  }

  return {
    commit(task) {
      if (task.row === undefined) {
        for (const ack of task.acks) ack(Exit.void)
        return
      }
      const commit = new TaskCommit(task, task.row)
      task.run.commits.push(commit)
      submit(commit)
    },
    releaseReaders
  }
}
