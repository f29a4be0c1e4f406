/**
 * A run as the engine keeps it in memory: its row, its phase, its inbox of events waiting for
 * the next workflow task, the commits of it in flight and the callers reading it.
 *
 * Invariants (every field that is more than plain data is named here):
 * 1. `phase` says where the run's instance is, one of five, and changes only through the
 *    transitions below (each a named function of this module, so a test can list them):
 *    ```
 *    starting ─▶ Creating(instance) ──firstTask──▶ Live
 *    spawned ──▶ Creating ──creatorCommitted──▶ Evicted(due)
 *    recovered ─▶ Evicted(not dispatched)
 *    Live ──evict──▶ Evicted ──rebuilt──▶ Live
 *    Evicted ──woken──▶ Evicted(due) ──taskRan──▶ Evicted      (stayed evicted: stuck, unregistered)
 *    Evicted(not dispatched) ──redispatched──▶ Evicted
 *    any ──commitFailed──▶ Reloading ──reloaded──▶ Evicted(due, not dispatched)
 *    Live ──closed──▶ Closed            any ──closed──▶ Closed (out of the run table)
 *    ```
 *    Only `Live` and a `Creating` made by `start` hold an instance.
 * 2. `committed` is the row as of the run's last commit, the one readers are shown;
 *    undefined until the commit that creates the run lands.
 * 3. `cancel` is a named state. The store keeps it as an integer (`RunRow.cancelRequested`:
 *    0 none, 1 asked by the parent and not yet recorded here, 2 recorded): only this module's
 *    `cancelOfRow`, `askedByParent`, `recordCancel` and `parentAsksCancel` read or write it.
 * 4. `queued`: the run is in the task loop's ready queue or in the batch it works on
 *    (task-loop invariant 1), so nothing queues it twice.
 * 5. `commits`: its write sets submitted and not yet committed, in the order they commit
 *    (task-commit.ts); readers wait while there are any (engine invariant 2).
 */
import * as Deferred from "effect/Deferred"
import * as Exit from "effect/Exit"
import type { Incoming, WorkflowDefinition, WorkflowInstance } from "../../core"
import type { RunStatus } from "../engine-api"
import type { StoreError, WorkflowClosed } from "../errors"
import type { SnapshotTrail } from "../snapshot"
import type { RunRow, WriteSet } from "../store"

/**
 * Told once the event is committed (or failed to be): resumes a caller waiting for durability.
 * A signal that reached its run in the task that closed it is refused (`WorkflowClosed`).
 */
export type Ack = (exit: Exit.Exit<void, StoreError | WorkflowClosed>) => void

/**
 * What waits in a run's inbox for its next workflow task. A new kind of arrival (a terminate,
 * a reset) is a new `Incoming` event the workflow task appends, or an item the task routes
 * before it is appended (lineage.ts `afterClose`).
 */
export interface InboxItem {
  readonly event: Incoming
  readonly ack?: Ack | undefined
  /** Writes that belong in the same commit as this event. */
  readonly flags?: WriteSet["flags"] | undefined
}

/** A write set of the run submitted and not yet committed. */
export interface CommitInFlight {
  /** What its task took from the inbox. */
  readonly items: ReadonlyArray<InboxItem>
  /** Its items went back to the inbox when an earlier commit of the run failed: it is dropped. */
  reclaimed: boolean
}

/** What `engine.result` waiters are told when the run closes: its committed row, and the run that continued it. */
export interface ClosedRun {
  readonly row: RunRow
  readonly nextRunId: string | undefined
}

/** Made and not yet committed. `start` gives it a fresh instance; a run made in another run's task (a child, a continued run) has none. */
export interface Creating {
  readonly _tag: "Creating"
  readonly instance: WorkflowInstance | undefined
  readonly trail: SnapshotTrail | undefined
}
/** In memory, as of the events applied so far; `trail` holds what the next snapshot segment holds. */
export interface Live {
  readonly _tag: "Live"
  readonly instance: WorkflowInstance
  readonly trail: SnapshotTrail | undefined
  /** The seq the last snapshot segment reached (or the run's, when it was rebuilt from one). */
  snapshotSeq: number
}
/**
 * Not in memory: rebuilt by replay (snapshot + tail) in its next task. `due`: that task runs
 * even with nothing new (a created run once committed, a recovered one, a stuck one at
 * start). `dispatched`: false when nothing may hold its open activities and timers (it was
 * recovered, or a commit of it failed): its rebuild starts them again from its history.
 */
export interface Evicted {
  readonly _tag: "Evicted"
  readonly due: boolean
  readonly dispatched: boolean
}
/** A commit of it failed: its row is read back from the store before it is rebuilt. */
export interface Reloading {
  readonly _tag: "Reloading"
}
/** Closed in memory (its close committed or in flight), or out of the run table: no task applies anything more to it. */
export interface Closed {
  readonly _tag: "Closed"
}

export type RunPhase = Creating | Live | Evicted | Reloading | Closed

const evictedPhase = (due: boolean, dispatched: boolean): Evicted => ({ _tag: "Evicted", due, dispatched })
const EVICTED = {
  idle: evictedPhase(false, true),
  due: evictedPhase(true, true),
  idleUndispatched: evictedPhase(false, false),
  dueUndispatched: evictedPhase(true, false)
}
const evicted = (due: boolean, dispatched: boolean): Evicted =>
  due
    ? dispatched
      ? EVICTED.due
      : EVICTED.dueUndispatched
    : dispatched
      ? EVICTED.idle
      : EVICTED.idleUndispatched
const RELOADING: Reloading = { _tag: "Reloading" }
const CLOSED: Closed = { _tag: "Closed" }

/**
 * Its cancel: `sent` when a `CancelRequested` is in its inbox or in a commit in flight (a
 * second request is acknowledged without sending it), `recorded` once its history holds one.
 */
export type CancelState = "none" | "sent" | "recorded"

export class RunState {
  phase: RunPhase
  inbox: Array<InboxItem> = []
  /** Invariant 4. */
  queued = false
  /** Invariant 5. */
  readonly commits: Array<CommitInFlight> = []
  /** Invariant 2. */
  committed: RunRow | undefined = undefined
  /** Invariant 3. */
  cancel: CancelState = "none"
  /** Child workflow ids by the cmd that started them. */
  readonly children = new Map<number, string>()
  /** Callers waiting for the instance as of a commit (queries, describe): engine invariant 2. */
  waiters: Array<Deferred.Deferred<WorkflowInstance | undefined>> = []
  /**
   * `engine.result` callers, told once: the closed run when its close is committed, or
   * undefined when the run leaves memory without closing (they read the store then).
   */
  resultWaiters: Set<Deferred.Deferred<ClosedRun | undefined>> | undefined = undefined
  constructor(
    public row: RunRow,
    readonly definition: WorkflowDefinition<any, any> | undefined,
    phase: RunPhase
  ) {
    this.phase = phase
  }
  get inflight() {
    return this.commits.length
  }
  /** The instance, when the phase holds one (invariant 1). */
  get instance(): WorkflowInstance | undefined {
    const phase = this.phase
    return phase._tag === "Live" || phase._tag === "Creating" ? phase.instance : undefined
  }
  /** What the next snapshot segment holds, when the phase keeps one. */
  get trail(): SnapshotTrail | undefined {
    const phase = this.phase
    return phase._tag === "Live" || phase._tag === "Creating" ? phase.trail : undefined
  }
}

// ---- transitions (invariant 1) --------------------------------------------------------

/** A run `start` made, with the fresh instance its first task applies `WorkflowStarted` to. */
export const starting = (
  row: RunRow,
  definition: WorkflowDefinition<any, any>,
  instance: WorkflowInstance,
  trail: SnapshotTrail | undefined
) => new RunState(row, definition, { _tag: "Creating", instance, trail })

/** A run made in another run's task (a child, a continued run): that task's commit writes its row and start. */
export const spawned = (row: RunRow, definition: WorkflowDefinition<any, any>) =>
  new RunState(row, definition, { _tag: "Creating", instance: undefined, trail: undefined })

/** A run recovery read from the store: rebuilt in its next task, its open activities and timers dispatched again. */
export const recovered = (row: RunRow, definition: WorkflowDefinition<any, any> | undefined) => {
  const run = new RunState(row, definition, EVICTED.idleUndispatched)
  run.committed = { ...row }
  run.cancel = cancelOfRow(row)
  return run
}

/**
 * A task of the run begins: the first of a run `start` made applies `WorkflowStarted` to its
 * fresh instance and writes its row (true), and the run is live from then on.
 */
export const firstTask = (run: RunState): boolean => {
  const phase = run.phase
  if (phase._tag !== "Creating" || !phase.instance) return false
  run.phase = { _tag: "Live", instance: phase.instance, trail: phase.trail, snapshotSeq: 0 }
  return true
}

/** The commit that created a spawned run landed: its first task replays its start. */
export const creatorCommitted = (run: RunState) => {
  if (run.phase._tag === "Creating") run.phase = EVICTED.due
}

/** Its next task runs even with nothing new: recovery's quota, or a stuck run at start. */
export const woken = (run: RunState) => {
  const phase = run.phase
  if (phase._tag === "Evicted") run.phase = evicted(true, phase.dispatched)
}

/** Its task ran: a due run that stayed evicted (stuck, unregistered, no history) is due no more. */
export const taskRan = (run: RunState) => {
  const phase = run.phase
  if (phase._tag === "Evicted" && phase.due) run.phase = evicted(false, phase.dispatched)
}

/** Rebuilt by replay: live again. */
export const rebuilt = (
  run: RunState,
  instance: WorkflowInstance,
  trail: SnapshotTrail | undefined,
  snapshotSeq: number
) => {
  run.phase = { _tag: "Live", instance, trail, snapshotSeq }
}

/** Its open activities and timers were dispatched again from its history (engine invariant 4). */
export const redispatched = (run: RunState) => {
  const phase = run.phase
  if (phase._tag === "Evicted") run.phase = evicted(phase.due, true)
}

/** Its instance is dropped (idle in a full cache, or stuck): rebuilt by replay when next needed. */
export const evict = (run: RunState) => {
  const phase = run.phase
  if (phase._tag === "Live") run.phase = EVICTED.idle
}

/** A commit of it failed: its instance is dropped and its row read back before it is rebuilt. */
export const commitFailed = (run: RunState) => {
  run.phase = RELOADING
}

/** Its row is read back after a failed commit: rebuilt at once, its open work dispatched again. */
export const reloaded = (run: RunState, row: RunRow) => {
  run.row = row
  run.committed = { ...row }
  run.phase = EVICTED.dueUndispatched
}

/** Closed in its task (the close may still be in flight) or out of the run table. */
export const closed = (run: RunState) => {
  run.phase = CLOSED
}

// ---- the cancel state at the store boundary (invariant 3) -------------------------------

/** The cancel state a stored row gives a run read from the store. */
export const cancelOfRow = (row: RunRow): CancelState => (row.cancelRequested === 2 ? "recorded" : "none")

/** Whether the parent asked the run to cancel in a commit and the run has not recorded it. */
export const askedByParent = (row: RunRow) => row.cancelRequested === 1

/** A cancel is recorded in the run's history; true when its row changes with it. */
export const recordCancel = (run: RunState): boolean => {
  run.cancel = "recorded"
  if (run.row.cancelRequested === 2) return false
  run.row.cancelRequested = 2
  return true
}

/** The write that records, with the parent's commit, that it asked its child `runId` to cancel. */
export const parentAsksCancel = (runId: string): WriteSet["flags"][number] => ({ runId, cancelRequested: 1 })

// ---- readers --------------------------------------------------------------------------

/** Engine invariant 8: each `result` caller waiting on the run is told once. */
export const tellResultWaiters = (run: RunState, closedRun: ClosedRun | undefined) => {
  const waiters = run.resultWaiters
  if (!waiters) return
  run.resultWaiters = undefined
  for (const waiter of waiters) Deferred.unsafeDone(waiter, Exit.succeed(closedRun))
}

/** Answers the callers waiting for the instance (undefined: they read the store instead). */
export const answerReaders = (run: RunState, instance: WorkflowInstance | undefined) => {
  const waiters = run.waiters
  run.waiters = []
  for (const w of waiters) Deferred.unsafeDone(w, Exit.succeed(instance))
}

export const OPEN: ReadonlySet<RunStatus> = new Set(["running", "stuck"])
