/**
 * What the engine keeps in memory per open run: its row, its cached instance (when not
 * evicted), its inbox of events waiting for the next workflow task, and the bookkeeping
 * that ties a task to its commit.
 */
import type * as Deferred from "effect/Deferred"
import type * as Exit from "effect/Exit"
import type { Incoming, WorkflowDefinition, WorkflowInstance } from "../core"
import type { RunStatus } from "./engine-api"
import type { StoreError, WorkflowClosed } from "./errors"
import type { SnapshotTrail } from "./snapshot"
import type { RunRow, WriteSet } from "./store"

/**
 * Told once the event is committed (or failed to be): resumes a caller waiting for durability.
 * A signal that reached its run in the task that closed it is refused (`WorkflowClosed`).
 */
export type Ack = (exit: Exit.Exit<void, StoreError | WorkflowClosed>) => void

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

export class RunState {
  instance: WorkflowInstance | undefined = undefined
  inbox: Array<InboxItem> = []
  scheduled = false
  /** Submitted write sets not yet committed, in the order they commit. */
  readonly commits: Array<CommitInFlight> = []
  get inflight() {
    return this.commits.length
  }
  /** Bumped when a commit of this run fails: what was built on the lost state is dropped. */
  generation = 0
  /** The row in memory may be ahead of the store after a failed commit: re-read it. */
  reload = false
  /** Needs a task even with an empty inbox: rebuild and take any new commands. */
  wake = false
  cancelRequested = false
  /** What the next snapshot holds (when snapshots are on and the instance is live). */
  trail: SnapshotTrail | undefined = undefined
  snapshotSeq = 0
  /** Child workflow ids by the cmd that started them. */
  readonly children = new Map<number, string>()
  waiters: Array<Deferred.Deferred<WorkflowInstance | undefined>> = []
  /**
   * `engine.result` callers, told once: the closed run when its close is committed, or
   * undefined when the run leaves memory without closing (they read the store then).
   */
  resultWaiters: Set<Deferred.Deferred<ClosedRun | undefined>> | undefined = undefined
  /** Created by `start` and not yet committed: its first write set inserts the row. */
  fresh = false
  /** Status or flags changed since the row was last written: the next write is a full upsert. */
  rowChanged = false
  /** The row as of this run's last commit: what readers are shown. */
  committed: RunRow | undefined = undefined
  /**
   * Registered by recovery, or a commit of it failed: its open activities and timers are
   * started again from its history when it is rebuilt.
   */
  redispatch = false
  constructor(
    public row: RunRow,
    readonly definition: WorkflowDefinition<any, any> | undefined
  ) {}
}

export const OPEN: ReadonlySet<RunStatus> = new Set(["running", "stuck"])
