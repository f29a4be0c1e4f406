/**
 * The task loop: the runs with work queued, taken in batches by one fiber (the pump), their
 * histories read ahead in a few queries, and one workflow task run for each.
 *
 * Invariants:
 * 1. A run is queued at most once (`queued`, run-state invariant 4): what reaches it while it
 *    waits joins its inbox, and its task takes all of it.
 * 2. A batch takes up to 256 queued runs, then open runs recovery has not rebuilt yet up to
 *    64 in all, at least 8 of them even in a full batch: neither recovery nor live traffic
 *    holds the other up (their open activities are dispatched when they are rebuilt, and a
 *    divergence shows soon after a deploy).
 * 3. What a batch's rebuilds need (rows read back after a failed commit, snapshots, tails) is
 *    read before any of its tasks runs; a store that refuses the read leaves every item
 *    queued and the batch is tried again shortly.
 * 4. A run takes no task while it is being created by another run's commit, nor while
 *    readers wait on it with a commit in flight (engine invariant 2): its inbox waits.
 * 5. A run found stuck is logged, one line, once its batch is done (engine invariant 5).
 */
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import { StoreError } from "../errors"
import { decodeSnapshot, type Snapshot } from "../snapshot"
import type { RunRow, WorkflowStore } from "../store"
import { stuckLine } from "./run-views"
import { OPEN, reloaded, woken, type InboxItem, type RunState } from "./run-state"
import type { RunTable } from "./run-table"
import { failAcks } from "./task-commit"
import { needsRebuild, type Loaded, type Task } from "./workflow-task"

export interface TaskLoop {
  /** Invariant 1: queues the run's task (a no-op when it is queued already). */
  readonly schedule: (run: RunState) => void
  /** Puts the item in the run's inbox and queues its task. */
  readonly deliver: (run: RunState, item: InboxItem) => void
  /** Invariant 2: recovered runs, rebuilt a quota per batch unless something reaches them first. */
  readonly recover: (runs: ReadonlyArray<RunState>) => void
  /** Invariant 5. */
  readonly foundStuck: (row: RunRow) => void
}

/** What the loop does with each run it takes (the other modules' parts of a step). */
export interface TaskSteps {
  /** The workflow task at `now` (workflow-task.ts). */
  readonly run: (run: RunState, loaded: Loaded | undefined, now: number) => Task
  /** Commits the task's writes, or acknowledges at once (task-commit.ts). */
  readonly commit: (task: Task) => void
  /** Answers the run's readers when nothing of it is in flight (task-commit.ts). */
  readonly releaseReaders: (run: RunState) => void
}

const BATCH = 256

/**
 * The loop, in the current scope; `start` forks its pump once the steps exist (they need
 * `schedule` and `deliver` themselves).
 *
 * @example const loop = yield* makeTaskLoop(deps); yield* loop.start(steps)
 */
export const makeTaskLoop = (deps: {
  readonly store: WorkflowStore["Type"]
  readonly table: RunTable
  readonly snapshotEvery: number
}): Effect.Effect<
  TaskLoop & { readonly start: (steps: TaskSteps) => Effect.Effect<void, never, Scope.Scope> }
> =>
  Effect.gen(function* () {
    const { store, table, snapshotEvery } = deps
    const clock = yield* Effect.clock
    const ready: Array<RunState> = []
    const wakePump = yield* Queue.sliding<void>(1)
    let pumping = false
    const stuck: Array<RunRow> = []
    /** Invariant 2: open runs not yet rebuilt since the engine started. */
    const recovering: Array<RunState> = []

    const schedule = (run: RunState) => {
      if (run.queued) return
      run.queued = true
      ready.push(run)
      if (!pumping) Queue.unsafeOffer(wakePump, undefined)
    }

    const deliver = (run: RunState, item: InboxItem) => {
      run.inbox.push(item)
      schedule(run)
    }

    const takeRecovering = (max: number): Array<RunState> => {
      const out: Array<RunState> = []
      while (out.length < max && recovering.length > 0) {
        const run = recovering.pop()!
        if (
          run.phase._tag !== "Evicted" ||
          run.queued ||
          table.byRunId(run.row.runId) !== run ||
          run.row.status !== "running"
        )
          continue
        woken(run)
        // In a batch as if queued: what arrives meanwhile must not queue it a second time.
        run.queued = true
        out.push(run)
      }
      return out
    }

    /** Invariant 3: reads, in a few queries, what the batch's rebuilds need. */
    const prefetch = (batch: ReadonlyArray<RunState>) =>
      Effect.gen(function* () {
        const loaded = new Map<string, Loaded>()
        const reload = batch.filter((r) => r.phase._tag === "Reloading")
        if (reload.length > 0) {
          const rows = new Map(
            (yield* store.runsByIds(reload.map((r) => r.row.runId))).map((r) => [r.runId, r])
          )
          for (const run of reload) {
            const row = rows.get(run.row.runId)
            if (!row || !OPEN.has(row.status)) {
              table.remove(run)
              failAcks(
                run.inbox,
                new StoreError({
                  reason: "Dropped",
                  message: `workflow ${run.row.workflowId} is not open after a failed commit`
                })
              )
              run.inbox = []
            } else {
              reloaded(run, row)
            }
          }
        }
        const rebuilding = batch.filter(
          (r) => table.byRunId(r.row.runId) === r && r.committed && needsRebuild(r)
        )
        if (rebuilding.length === 0) return loaded
        const ids = rebuilding.map((r) => r.row.runId)
        const prefixes = new Map<string, Snapshot>()
        if (snapshotEvery > 0) {
          for (const [runId, segments] of yield* store.snapshotsOf(ids)) {
            const decoded = decodeSnapshot(segments)
            if (decoded) prefixes.set(runId, decoded)
          }
        }
        const tails = yield* store.historiesOf(
          ids.map((runId) => ({ runId, afterSeq: prefixes.get(runId)?.seq ?? 0 }))
        )
        for (const runId of ids)
          loaded.set(runId, { snapshot: prefixes.get(runId), tail: tails.get(runId) ?? [] })
        return loaded
      })

    /** One workflow task (engine invariant 1), with invariant 4's guards. */
    const process = (steps: TaskSteps, run: RunState, loaded: Loaded | undefined) => {
      run.queued = false
      if (table.byRunId(run.row.runId) !== run) return
      // Created by a commit still in flight (a child, a continued run): that commit queues
      // it once its history can be read; what arrives meanwhile waits in its inbox.
      if (run.phase._tag === "Creating" && !run.instance) return
      // Readers first: its commits in flight land, releaseReaders answers them and queues the
      // run again; what arrives meanwhile waits in the inbox.
      if (run.waiters.length > 0 && run.inflight > 0) return
      // Due since the batch read its histories ahead, or a commit of it failed since the
      // batch read its rows back: the next batch reads what this one needs.
      if ((needsRebuild(run) && !loaded) || run.phase._tag === "Reloading") return schedule(run)
      steps.commit(steps.run(run, loaded, clock.unsafeCurrentTimeMillis()))
      steps.releaseReaders(run)
      table.touch(run)
      if (run.inbox.length > 0) schedule(run)
    }

    const pumpOnce = (steps: TaskSteps) =>
      Effect.gen(function* () {
        const batch = ready.splice(0, BATCH)
        for (const run of takeRecovering(Math.max(8, 64 - batch.length))) batch.push(run)
        if (batch.length === 0) return false
        const loaded = yield* prefetch(batch).pipe(
          Effect.catchAll((error) =>
            Effect.as(
              Effect.logWarning(`reading histories failed; the tasks will be retried: ${error.message}`),
              undefined
            )
          )
        )
        if (!loaded) {
          // The store refused a read: keep the events queued and try these runs again shortly.
          for (const run of batch) run.queued = false
          yield* Effect.sleep("100 millis")
          for (const run of batch)
            if (run.inbox.length > 0 || woke(run) || run.waiters.length > 0) schedule(run)
          return true
        }
        for (const run of batch) {
          try {
            process(steps, run, loaded.get(run.row.runId))
          } catch (defect) {
            // A bug, not bad input: keep what is stored, drop the instance, log loudly.
            table.evict(run)
            yield* Effect.logError(`workflow task of ${run.row.workflowId} failed`, defect)
          }
        }
        for (const row of stuck.splice(0)) yield* Effect.logWarning(stuckLine(row))
        return true
      })

    return {
      schedule,
      deliver,
      foundStuck: (row) => void stuck.push(row),
      recover(runs) {
        for (const run of runs) recovering.push(run)
        if (recovering.length > 0) Queue.unsafeOffer(wakePump, undefined)
      },
      start: (steps) =>
        Effect.forkScoped(
          Effect.gen(function* () {
            for (;;) {
              yield* Queue.take(wakePump)
              pumping = true
              while (yield* pumpOnce(steps)) yield* Effect.yieldNow()
              pumping = false
            }
          })
        ).pipe(Effect.asVoid)
    }
  })

/** Whether a run must take a task even with nothing in its inbox (a rebuild now, or a row to read back). */
const woke = (run: RunState) =>
  (run.phase._tag === "Evicted" && run.phase.due) || run.phase._tag === "Reloading"
