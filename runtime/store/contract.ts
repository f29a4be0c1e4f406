/**
 * The workflow store: what the engine asks of a database, and what every implementation
 * guarantees (SQLite in sqlite/, PostgreSQL in postgres/). Runs, their histories, timers and
 * snapshots; open activities have no table: they are read from the histories (engine
 * invariant 4). The conformance suite (test/runtime/store-contract/) checks these invariants
 * on every store, and names them in its titles.
 *
 * Invariants:
 * 1. Atomic commits across runs: everything one `commit` carries (rows, events, timers,
 *    snapshots and flags of any number of runs) is written in one transaction, or nothing is.
 * 2. A failed commit leaves the store as it was, and says so: a store that cannot tell whether
 *    a commit landed (its connection lost during COMMIT) finds out before it answers, and when
 *    it cannot, refuses every later commit (`Fenced`) rather than let the engine build on a
 *    state it does not know. The error's reason and message name the cause (`DiskFull`,
 *    `ReadOnly`, `Io`, `Busy`, …); `Rejected` means the write set's own data was refused (a
 *    constraint it breaks, a value too big), so the same write fails again and the writes
 *    committed with it can go without it (group-commit invariant 4). A store that fails
 *    whatever is written never says `Rejected`.
 * 3. Order and durability: commits apply in the order they are called, and one that succeeds
 *    is durable (fsynced, or `synchronous_commit=on`) before it returns. A run's events are
 *    numbered 1, 2, … with no gap; a seq written twice fails the whole commit; nothing
 *    appended is rewritten. Reads give a run's events in seq order.
 * 4. Current and retired runs: a workflow id has at most one current run. Within a commit the
 *    changed rows are written first, then the ids in `retire` give up their closed current
 *    run, then the added rows go in: a run that closes and a new one under its id in one
 *    commit, or two runs added under one id (the first already closed), leave the newest
 *    current. Retiring never touches an open (running or stuck) run, so a second open run
 *    under an id fails the whole commit.
 * 5. Rows: a run's row is written when it is added and when its status or flags change, never
 *    for a step alone; a row read back takes its last seq, last event type and update time
 *    from the run's last event. A run added and changed in one commit is stored as it ends up,
 *    as is one changed twice; a timer, or a snapshot segment (run, seq), written twice keeps
 *    the last. A changed row never steps a flag back (`parentNotified` once true stays true,
 *    `cancelRequested` only grows), and a flag write only raises `cancelRequested`. A run's
 *    snapshot segments read back in seq order; a run in `snapshotsDropped` keeps none, also
 *    when its last segment is in the same commit.
 * 6. Single owner: one engine writes a store at a time. Opening a store that a live engine
 *    holds fails with `Locked`, naming the holder; the hold ends with the holder's process, so
 *    a SIGKILLed engine never blocks its restart. A store that loses its hold while running
 *    (its database connection dropped and another engine took the database) never writes
 *    again: its commits fail with `Fenced`. The commit is where a finer fence goes (shard
 *    epochs, checked in the same transaction).
 * 7. Refusals at open: a database that a newer engine wrote, or that is not ours, is refused
 *    before anything is written, naming what is wrong (`NewerSchema` with both versions,
 *    `NotOurs`).
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type { ErrorInfo, HistoryEvent } from "../../core"
import type { RunStatus } from "../engine-api"
import type { StoreError } from "../errors"

export interface RunRow {
  readonly runId: string
  readonly workflowId: string
  readonly type: string
  status: RunStatus
  readonly inputJson: string
  resultJson: string | undefined
  error: ErrorInfo | undefined
  divergenceJson: string | undefined
  readonly parent: { readonly workflowId: string; readonly runId: string; readonly cmd: number } | undefined
  readonly createdAt: number
  /** The time, seq and type of the run's last event (invariant 5). */
  updatedAt: number
  closedAt: number | undefined
  lastSeq: number
  lastEventType: string | undefined
  current: boolean
  /** For a child run: whether its parent has recorded the outcome. */
  parentNotified: boolean
  /** 0 none, 1 requested by a parent and not yet recorded in this run, 2 recorded. */
  cancelRequested: 0 | 1 | 2
}

export interface TimerRow {
  readonly runId: string
  readonly cmd: number
  readonly fireAt: number
}

export interface Key {
  readonly runId: string
  readonly cmd: number
}

/** What one workflow task (or several, grouped) writes. */
export interface WriteSet {
  /** Workflow ids whose closed current run stops being current (a new run takes the id). */
  readonly retire: Array<string>
  /** New runs, whole (invariant 5). */
  readonly runsAdded: Array<RunRow>
  /**
   * Runs whose status or flags changed (invariant 5). Everything but `current`, which only
   * `retire` clears (after these are written, so a run that just closed is retired).
   */
  readonly runsChanged: Array<RunRow>
  readonly events: Array<{ readonly runId: string; readonly body: string; readonly seq: number }>
  readonly timersAdd: Array<TimerRow>
  readonly timersDelete: Array<Key>
  /** Snapshot segments, each of a run's events since its previous one (runtime/snapshot.ts): added. */
  readonly snapshots: Array<{ readonly runId: string; readonly seq: number; readonly body: string }>
  /**
   * Runs whose snapshots are of no more use (they closed): all their segments are deleted,
   * after this commit's own segments are written (a run's last segment may share its close's
   * commit).
   */
  readonly snapshotsDropped: Array<string>
  /** Flag updates on runs not otherwise written (a child's parent-notified / cancel state). */
  readonly flags: Array<{
    readonly runId: string
    readonly parentNotified?: boolean
    readonly cancelRequested?: 0 | 1 | 2
  }>
}

export const emptyWriteSet = (): WriteSet => ({
  retire: [],
  runsAdded: [],
  runsChanged: [],
  events: [],
  timersAdd: [],
  timersDelete: [],
  snapshots: [],
  snapshotsDropped: [],
  flags: []
})

export interface HistoryFacts {
  /** LLM calls: completed activities whose result reports `usage.totalTokens` as a number. */
  readonly llmUsage: { readonly calls: number; readonly totalTokens: number }
  /** Failed attempts so far, by activity cmd (the highest `ActivityAttemptFailed.attempt`). */
  readonly failedAttempts: ReadonlyMap<number, number>
}

export interface RunQuery {
  /** The workflow id starts with this text (byte for byte: no wildcards). */
  readonly idPrefix?: string | undefined
  readonly status?: RunStatus | undefined
  readonly type?: string | undefined
  /** Closed at or after / before (epoch ms); either leaves open runs out. */
  readonly closedAfter?: number | undefined
  readonly closedBefore?: number | undefined
  readonly limit: number
  /** The page after this row: runs created before it, or at the same time with a lower run id. */
  readonly before?: { readonly createdAt: number; readonly runId: string } | undefined
}

/**
 * The store the engine runs on. Every operation fails with a `StoreError` whose reason says
 * what the caller does next; a read that fails changed nothing.
 *
 * @example
 * const program = Effect.gen(function* () {
 *   const store = yield* WorkflowStore
 *   yield* store.commit({ ...emptyWriteSet(), events: [{ runId, seq: 2, body }] })
 *   return yield* store.events(runId)
 * })
 */
export class WorkflowStore extends Context.Tag("temporal-lite/WorkflowStore")<
  WorkflowStore,
  {
    /** Writes the set in one transaction (invariants 1–5); on failure nothing of it is stored. */
    readonly commit: (writes: WriteSet) => Effect.Effect<void, StoreError>
    readonly currentRun: (workflowId: string) => Effect.Effect<RunRow | undefined, StoreError>
    /** The rows of these runs (any order; unknown ids are left out). */
    readonly runsByIds: (runIds: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<RunRow>, StoreError>
    /** The snapshot segments of the given runs, by run id, each run's in seq order (invariant 5). */
    readonly snapshotsOf: (
      runIds: ReadonlyArray<string>
    ) => Effect.Effect<Map<string, Array<{ readonly seq: number; readonly body: string }>>, StoreError>
    /** Events of each run after its `afterSeq`, in seq order, by run id. */
    readonly historiesOf: (
      runs: ReadonlyArray<{ readonly runId: string; readonly afterSeq: number }>
    ) => Effect.Effect<Map<string, Array<HistoryEvent>>, StoreError>
    /** Runs still running or stuck: what recovery resumes. */
    readonly openRuns: Effect.Effect<ReadonlyArray<RunRow>, StoreError>
    /** The run's events after `afterSeq` (default 0), in seq order. */
    readonly events: (
      runId: string,
      afterSeq?: number
    ) => Effect.Effect<ReadonlyArray<HistoryEvent>, StoreError>
    /** What `describe` tells of a run's history, read without decoding the history. */
    readonly historyFacts: (runId: string) => Effect.Effect<HistoryFacts, StoreError>
    readonly timers: Effect.Effect<ReadonlyArray<TimerRow>, StoreError>
    /** Current runs, newest first (by creation time, then run id), `limit` of them. */
    readonly listRuns: (query: RunQuery) => Effect.Effect<ReadonlyArray<RunRow>, StoreError>
    /** Closed child runs whose parent has not recorded their outcome. */
    readonly unnotifiedChildren: Effect.Effect<ReadonlyArray<RunRow>, StoreError>
    /** Run ids of open runs whose parent's run has closed: cancelled by the parent-close policy. */
    readonly orphans: Effect.Effect<ReadonlyArray<string>, StoreError>
    /**
     * Open child runs whose parent asked the run they continued from to cancel, and which have
     * not recorded a cancel: the request reached the old run after it had continued as new.
     */
    readonly inheritedCancels: Effect.Effect<ReadonlyArray<string>, StoreError>
  }
>() {}
