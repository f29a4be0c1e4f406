/**
 * The engine: runs workflows durably on the store.
 *
 * Invariants:
 * 1. A run's events are applied by one workflow task at a time, in the order they were
 *    appended; a task appends its events and the commands they produced in one write set.
 * 2. Nothing leaves the engine before it is durable: activities, timers, children, cancels,
 *    stream items and acknowledgements follow the commit that recorded them, and queries and
 *    descriptions read an instance only once no commit of its run is in flight. A run with
 *    readers waiting takes no new task until they are answered, so a steady stream of events
 *    cannot keep them waiting.
 * 3. Every open run is known in memory (a small row); its instance is a cache entry that can
 *    be evicted when idle and is rebuilt by replay (snapshot + tail) on its next event.
 * 4. An activity whose completion is recorded is never dispatched again; one scheduled
 *    without a recorded completion is dispatched again after a restart (at least once).
 * 5. A replay that diverges marks the run `stuck` and keeps storing what arrives for it; it
 *    is retried when the engine starts, so deploying code that matches resumes it.
 * 6. A run that closes notifies its parent in the parent's own task (the child's
 *    `parentNotified` flag is set in that same commit), and cancels its open children.
 * 7. Values are stored in their encoded form, checked where they enter (payload-validation.ts):
 *    nothing of a value refused is stored. Readers of rows get fresh copies of that form;
 *    `result` and typed queries decode it with the registered definition's schema.
 * 8. `result` waits with one entry on the run, told by the commit that closes it: no stream,
 *    no polling; a run closed before costs one read.
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import * as Stream from "effect/Stream"
import {
  divergenceOf,
  HISTORY_FORMAT,
  InvalidPayload,
  WorkflowInstance,
  cancelledError,
  codecOf,
  terminalTypes,
  workflowIdProblem,
  type Command,
  type Divergence,
  type HistoryEvent,
  type HistoryFile,
  type Incoming,
  type QueryDefinition,
  type SignalDefinition,
  type WorkflowDefinition
} from "../core"
import type { RegisteredActivity } from "./activity"
import { makeActivityExecutor, type ActivityOutcome, type ActivityTask } from "./activity-executor"
import {
  Engine,
  type ListFilter,
  type ResultOptions,
  type RunStatus,
  type StartedWorkflow,
  type StartOptions,
  type StreamItem,
  type WorkflowDescription,
  type WorkflowTypeInfo
} from "./engine-api"
import {
  InvalidWorkflowId,
  QueryFailed,
  StoreError,
  UnknownName,
  WorkflowAlreadyRunning,
  WorkflowClosed,
  WorkflowNotFound,
  WorkflowRunContinued,
  WorkflowRunFailed,
  WorkflowStuck
} from "./errors"
import { makeGroupCommitter, type Submission } from "./group-commit"
import { activityTask, OpenActivities, openTimers } from "./open-commands"
import { decodeSnapshot, SnapshotTrail, type Snapshot } from "./snapshot"
import { SqliteStore, WorkflowStore, emptyWriteSet, type RunRow, type WriteSet } from "./store"
import { timeOrderedId } from "./ids"
import { longSleeps } from "./long-sleeps"
import { jsonSchemaOf, toStoredPayload } from "./payload-validation"
import {
  OPEN,
  RunState,
  statusOfTerminal,
  type Ack,
  type ClosedRun,
  type CommitInFlight,
  type InboxItem
} from "./run-state"
import { decodeCursor, encodeCursor, summary } from "./run-views"
import { fromStoredText, toStoredText } from "./stored-value"
import { makeTimerQueue } from "./timer-queue"

export interface EngineOptions {
  readonly workflows: ReadonlyArray<WorkflowDefinition<any, any>>
  readonly activities: ReadonlyArray<RegisteredActivity>
  /**
   * Instances kept in memory (default 10,000); idle ones beyond are evicted, a 1/32 batch at a
   * time, and rebuilt on demand.
   */
  readonly cacheSize?: number | undefined
  /** Activity attempts running at once (default 200). */
  readonly activityConcurrency?: number | undefined
  /** A snapshot every this many events (default 100; 0 turns snapshots off). */
  readonly snapshotEvery?: number | undefined
}

export interface EngineConfig extends EngineOptions {
  readonly dbPath: string
  /** FULL (default) fsyncs every group commit; NORMAL trades the last commits on power loss for speed. */
  readonly synchronous?: "FULL" | "NORMAL" | undefined
}

/** A definition or its name, as a call's typed form and its form by name take it. */
const named = <D extends { readonly name: string }>(given: D | string) =>
  typeof given === "string" ? { name: given, typed: undefined } : { name: given.name, typed: given }

/** Where a newest-first listing goes on from: the runs strictly older than this one. */
interface ListPosition {
  readonly createdAt: number
  readonly runId: string
}

/** The earlier of two list positions (the one that leaves fewer runs). */
const earliest = (a: ListPosition | undefined, b: ListPosition | undefined) =>
  a === undefined
    ? b
    : b === undefined
      ? a
      : a.createdAt < b.createdAt || (a.createdAt === b.createdAt && a.runId < b.runId)
        ? a
        : b

/** One line for a run found stuck: who, why, and where in the code. */
const stuckLine = (row: RunRow): string => {
  const divergence = storedDivergence(row)
  const at = divergence?.actual.location ?? divergence?.expected.location
  return (
    `workflow "${row.workflowId}" (${row.type}, run ${row.runId}) is stuck: ${divergence?.message ?? "no divergence recorded"}` +
    `${at ? ` at ${at}` : ""}; what arrives for it is stored until code that matches its history is deployed`
  )
}

/** A stuck run's divergence as its row stores it, with its message. */
const storedDivergence = (row: RunRow): Divergence | undefined =>
  row.divergenceJson === undefined ? undefined : divergenceOf(JSON.parse(row.divergenceJson))

const makeEngine = (config: EngineOptions) =>
  Effect.gen(function* () {
    const store = yield* WorkflowStore
    const committer = yield* makeGroupCommitter
    const clock = yield* Effect.clock
    const cacheSize = config.cacheSize ?? 10_000
    // Evictions come in batches of this many once the cache is full (see `touch`).
    const evictionSlack = cacheSize >> 5
    const snapshotEvery = config.snapshotEvery ?? 100
    const definitions = new Map(config.workflows.map((w) => [w.name, w]))

    const runs = new Map<string, RunState>()
    const current = new Map<string, RunState>()
    const childrenOf = new Map<string, Set<RunState>>()
    const cache = new Map<string, RunState>()
    const listeners = new Map<string, Set<(item: StreamItem) => void>>()
    const ready: Array<RunState> = []
    let closing = false

    // ---- registration -----------------------------------------------------------------

    const register = (run: RunState) => {
      runs.set(run.row.runId, run)
      current.set(run.row.workflowId, run)
      const parent = run.row.parent
      if (parent) {
        let set = childrenOf.get(parent.runId)
        if (!set) childrenOf.set(parent.runId, (set = new Set()))
        set.add(run)
      }
    }

    /** Frees a run's instance (rebuilt by replay when next needed) and what only it used. */
    const dropInstance = (run: RunState) => {
      run.instance = undefined
      run.trail = undefined
      cache.delete(run.row.runId)
    }

    const unregister = (run: RunState) => {
      // Its readers read the store instead: instanceOf replays what is committed there.
      answerReaders(run, undefined)
      tellResultWaiters(run, undefined)
      runs.delete(run.row.runId)
      if (current.get(run.row.workflowId) === run) current.delete(run.row.workflowId)
      // Nothing reads it again, and a run that lived through two scavenges is in the old
      // generation: what it still pointed at would be copied by every scavenge until the next
      // full collection.
      dropInstance(run)
      const parent = run.row.parent
      if (parent) childrenOf.get(parent.runId)?.delete(run)
    }

    const publish = (runId: string, item: StreamItem) => {
      const set = listeners.get(runId)
      if (set) for (const listener of set) listener(item)
    }

    // ---- the workflow task loop ---------------------------------------------------------

    /** Histories read ahead for runs about to be rebuilt, in one query per batch. */
    interface Loaded {
      readonly snapshot: Snapshot | undefined
      readonly tail: ReadonlyArray<HistoryEvent>
    }

    const wakePump = yield* Queue.sliding<void>(1)
    let pumping = false

    const schedule = (run: RunState) => {
      if (run.scheduled) return
      run.scheduled = true
      ready.push(run)
      if (!pumping) Queue.unsafeOffer(wakePump, undefined)
    }

    /**
     * Open runs not yet replayed since the engine started: they fill each batch up to 64 runs,
     * and take at least 8 places in a full one, so neither they nor live traffic hold the other
     * up: their open activities are dispatched when they are rebuilt, and a divergence shows
     * (`stuck`) soon after a deploy.
     */
    const recovering: Array<RunState> = []
    const takeRecovering = (max: number): Array<RunState> => {
      const out: Array<RunState> = []
      while (out.length < max && recovering.length > 0) {
        const run = recovering.pop()!
        if (run.instance || run.scheduled || !runs.has(run.row.runId) || run.row.status !== "running")
          continue
        run.wake = true
        // In a batch as if scheduled: what arrives meanwhile must not queue it a second time.
        run.scheduled = true
        out.push(run)
      }
      return out
    }

    const needsRebuild = (run: RunState) =>
      !run.instance &&
      run.definition !== undefined &&
      (run.wake || (run.row.status === "running" && (run.inbox.length > 0 || run.waiters.length > 0)))

    /** Reads, in a few queries, what the batch's rebuilds need: reloaded rows, snapshots, tails. */
    const prefetch = (batch: ReadonlyArray<RunState>) =>
      Effect.gen(function* () {
        const loaded = new Map<string, Loaded>()
        const reload = batch.filter((r) => r.reload)
        if (reload.length > 0) {
          const rows = new Map(
            (yield* store.runsByIds(reload.map((r) => r.row.runId))).map((r) => [r.runId, r])
          )
          for (const run of reload) {
            run.reload = false
            const row = rows.get(run.row.runId)
            if (!row || !OPEN.has(row.status)) {
              unregister(run)
              failAcks(
                run.inbox,
                new StoreError({
                  reason: "Io",
                  message: `workflow ${run.row.workflowId} is not open after a failed commit`
                })
              )
              run.inbox = []
            } else {
              run.row = row
              run.committed = { ...row }
            }
          }
        }
        const rebuilding = batch.filter((r) => runs.has(r.row.runId) && r.committed && needsRebuild(r))
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
        for (const runId of ids) {
          const prefix = prefixes.get(runId)
          loaded.set(runId, { snapshot: prefix, tail: tails.get(runId) ?? [] })
        }
        return loaded
      })

    const BATCH = 256

    /**
     * Invariant 5, made visible: the runs found stuck by this batch (those still stuck at
     * start are found again then), logged one line each once the batch is done.
     */
    const foundStuck: Array<RunRow> = []

    const pumpOnce = Effect.gen(function* () {
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
        for (const run of batch) run.scheduled = false
        yield* Effect.sleep("100 millis")
        for (const run of batch) if (run.inbox.length > 0 || run.wake || run.waiters.length > 0) schedule(run)
        return true
      }
      for (const run of batch) {
        try {
          processRun(run, loaded.get(run.row.runId))
        } catch (defect) {
          // A bug, not bad input: keep what is stored, drop the instance, log loudly.
          run.instance = undefined
          yield* Effect.logError(`workflow task of ${run.row.workflowId} failed`, defect)
        }
      }
      for (const row of foundStuck.splice(0)) yield* Effect.logWarning(stuckLine(row))
      return true
    })

    yield* Effect.gen(function* () {
      for (;;) {
        yield* Queue.take(wakePump)
        pumping = true
        while (yield* pumpOnce) yield* Effect.yieldNow()
        pumping = false
      }
    }).pipe(Effect.forkScoped)

    const deliver = (run: RunState, item: InboxItem) => {
      run.inbox.push(item)
      schedule(run)
    }

    const failAcks = (items: ReadonlyArray<InboxItem>, error: StoreError) => {
      for (const item of items) item.ack?.(Exit.fail(error))
    }

    /** One workflow task (invariant 1): synchronous; `loaded` is its history when it must be rebuilt. */
    const processRun = (run: RunState, loaded: Loaded | undefined) => {
      run.scheduled = false
      if (!runs.has(run.row.runId)) return
      // Created by a commit still in flight (a child, a continued run): that commit schedules
      // it once its history can be read; what arrives meanwhile waits in its inbox.
      if (!run.committed && !run.instance) return
      // Invariant 2: readers first. Its commits in flight land, releaseReaders answers them and
      // schedules the run again; what arrives meanwhile waits in the inbox.
      if (run.waiters.length > 0 && run.inflight > 0) return
      const rebuilding = needsRebuild(run)
      // Due since the batch read its histories ahead: the next batch reads this one's.
      if (rebuilding && !loaded) return schedule(run)
      const now = clock.unsafeCurrentTimeMillis()
      const writes = emptyWriteSet()
      const after: Array<() => void> = []
      const acks: Array<Ack> = []
      const generation = run.generation
      const newRuns: Array<RunState> = []
      const items = run.inbox
      run.inbox = []
      const task: Task = { run, now, writes, items, decided: [], events: [], after, newRuns }

      // A stuck run is replayed again only when woken (at start): until then what arrives is stored.
      if (rebuilding) rebuild(task, loaded!)
      else if (!run.definition && run.wake) markUnregistered(run)
      run.wake = false
      for (const item of items) {
        if (item.flags) writes.flags.push(...item.flags)
        if (!OPEN.has(run.row.status)) {
          afterClose(task, item, acks)
          continue
        }
        if (item.ack) acks.push(item.ack)
        const event = append(task, item.event)
        if (run.instance && run.row.status === "running") {
          run.instance.apply(event)
          handleCommands(task, run.instance.takeCommands())
          checkStuck(task)
        }
      }
      if (writes.events.length > 0 || writes.flags.length > 0 || run.rowChanged) {
        if (
          snapshotEvery > 0 &&
          run.trail &&
          run.row.lastSeq - run.snapshotSeq >= snapshotEvery &&
          OPEN.has(run.row.status)
        ) {
          writes.snapshots.push({
            runId: run.row.runId,
            seq: run.row.lastSeq,
            body: run.trail.encode(run.row.lastSeq)
          })
          run.snapshotSeq = run.row.lastSeq
        }
        const snapshot = { ...run.row }
        writeRow(run, writes, snapshot)
        submit(task, acks, generation, snapshot)
      } else {
        for (const ack of acks) ack(Exit.void)
      }
      releaseReaders(run)
      touch(run)
      if (run.inbox.length > 0) schedule(run)
    }

    /**
     * The run's row, when it is new or its status or flags changed: a step alone writes only
     * its events (store invariant 5). `snapshot` is the row as this write set leaves it (a
     * copy: the row in memory runs on).
     */
    const writeRow = (run: RunState, writes: WriteSet, snapshot: RunRow) => {
      if (run.fresh) {
        writes.retire.push(run.row.workflowId)
        writes.runsAdded.push(snapshot)
        run.fresh = false
      } else if (run.rowChanged) {
        writes.runsChanged.push(snapshot)
      }
      run.rowChanged = false
    }

    interface Task {
      readonly run: RunState
      readonly now: number
      readonly writes: WriteSet
      /** What the task took from the run's inbox. */
      readonly items: ReadonlyArray<InboxItem>
      /**
       * Outcomes the engine decides at once (a child that cannot start), applied in this same
       * task so that they are committed with the command they answer: delivered after the
       * commit, a crash in between left the parent waiting for ever.
       */
      readonly decided: Array<Incoming>
      /** Appended by this task: streamed to subscribers once committed. */
      readonly events: Array<HistoryEvent>
      /** What follows the commit, in order (invariant 2). */
      readonly after: Array<() => void>
      readonly newRuns: Array<RunState>
    }

    /** Invariant 8: each `result` caller waiting on the run is told once. */
    const tellResultWaiters = (run: RunState, closed: ClosedRun | undefined) => {
      const waiters = run.resultWaiters
      if (!waiters) return
      run.resultWaiters = undefined
      for (const waiter of waiters) Deferred.unsafeDone(waiter, Exit.succeed(closed))
    }

    const answerReaders = (run: RunState, instance: WorkflowInstance | undefined) => {
      const waiters = run.waiters
      run.waiters = []
      for (const w of waiters) Deferred.unsafeDone(w, Exit.succeed(instance))
    }

    /**
     * Invariant 2: readers waiting for the instance get it once the run's start is committed
     * and none of its commits is in flight.
     */
    const releaseReaders = (run: RunState) => {
      if (run.inflight > 0 || !run.committed || run.waiters.length === 0) return
      answerReaders(run, run.instance)
      // Held back while they waited (processRun).
      if (run.inbox.length > 0) schedule(run)
    }

    /** The run that took the id of one that continued as new (in memory: its commit may be in flight). */
    const successorOf = (run: RunState): RunState | undefined => {
      if (run.row.status !== "continued-as-new") return undefined
      const successor = current.get(run.row.workflowId)
      return successor === run ? undefined : successor
    }

    /**
     * An item that reaches a run closed earlier in the same task. A signal or a cancel is for
     * the workflow id: after a continue-as-new it goes to the new run, as it would have a
     * moment later; otherwise a signal is refused once the close is committed (it is stored
     * nowhere), and a cancel has nothing left to do.
     */
    const afterClose = (task: Task, item: InboxItem, acks: Array<Ack>) => {
      const { run } = task
      const { event, ack } = item
      if (event.type !== "SignalReceived" && event.type !== "CancelRequested") {
        if (ack) acks.push(ack)
        return
      }
      const successor = successorOf(run)
      if (successor) {
        if (event.type === "CancelRequested") return requestCancel(successor, event.reason, ack)
        return deliver(successor, item)
      }
      if (!ack) return
      if (event.type === "CancelRequested") return acks.push(ack)
      const closed = new WorkflowClosed({ workflowId: run.row.workflowId, status: run.row.status })
      acks.push((exit) => ack(Exit.isSuccess(exit) ? Exit.fail(closed) : exit))
    }

    /**
     * A workflow task's write set on its way to the store. A class, not an object of closures:
     * one is made per step, and three closures apiece were a measurable share of its garbage.
     */
    class TaskCommit implements Submission, CommitInFlight {
      constructor(
        readonly task: Task,
        readonly acks: ReadonlyArray<Ack>,
        /** The run's generation the task was built on (a failed commit bumps it). */
        readonly generation: number,
        /** The row as this write set leaves it. */
        readonly row: RunRow
      ) {}
      get writes() {
        return this.task.writes
      }
      isValid() {
        return this.task.run.generation === this.generation
      }
      /** Dropped after an earlier commit of its run failed, which took its items back. */
      reclaimed = false
      get items() {
        return this.task.items
      }
      afterCommit() {
        const { run, events, after } = this.task
        leave(run, this)
        run.committed = this.row
        if (listeners.has(run.row.runId))
          for (const event of events) publish(run.row.runId, { _tag: "history", event })
        for (const f of after) f()
        releaseReaders(run)
      }
      onFailure(error: StoreError) {
        const { run, newRuns } = this.task
        leave(run, this)
        if (!this.reclaimed) resetAfterFailure(run, this)
        for (const created of newRuns) {
          unregister(created)
          // What reached the run while it waited for this commit goes nowhere now.
          failAcks(created.inbox, error)
          created.inbox = []
        }
        // A run that continued as new in the lost commit holds its id again.
        if (runs.has(run.row.runId) && !current.has(run.row.workflowId)) current.set(run.row.workflowId, run)
        schedule(run)
      }
    }

    /** A commit of the run is done with: committed, failed or dropped. */
    const leave = (run: RunState, commit: TaskCommit) => {
      const i = run.commits.indexOf(commit)
      if (i >= 0) run.commits.splice(i, 1)
    }

    /**
     * The first failed commit of a run: the run goes back to what is committed and is rebuilt
     * at once (even with nothing new to apply, what it had started goes on). Its later commits
     * in flight, built on the lost state, are dropped by the group commit.
     */
    const resetAfterFailure = (run: RunState, failed: TaskCommit) => {
      run.generation++
      dropInstance(run)
      // Until the reload reads it: the lost commit may have closed the run in memory, and a
      // signal, cancel or start meanwhile must find it open.
      if (run.committed) run.row = { ...run.committed }
      run.reload = true
      run.wake = true
      run.redispatch = true
      // Nothing that arrived is lost: a caller waiting is told (its ack fails), and what
      // nobody waits for (a completion, a firing, a child's outcome, a parent's cancel) goes
      // back to the inbox ahead of what came since, in the order it came (which timer fired
      // first decides a race), so the rebuild neither loses it nor starts it again.
      const again = failed.items.filter((item) => !item.ack)
      for (const later of run.commits) {
        later.reclaimed = true
        for (const item of later.items) if (!item.ack) again.push(item)
      }
      if (again.length > 0) run.inbox = [...again, ...run.inbox]
      // A cancel lost with the commit may be asked again: only one recorded, or on its way,
      // lets requestCancel acknowledge a second without sending it.
      run.cancelRequested =
        run.row.cancelRequested === 2 || run.inbox.some((item) => item.event.type === "CancelRequested")
    }

    const submit = (task: Task, acks: ReadonlyArray<Ack>, generation: number, row: RunRow) => {
      const commit = new TaskCommit(task, acks, generation, row)
      task.run.commits.push(commit)
      committer.submit(commit)
    }

    /** Numbers and timestamps an event, adds it to the write set and keeps the run's bookkeeping. */
    const append = (task: Task, body: Incoming | Command): HistoryEvent => {
      const { run, writes, now } = task
      const row = run.row
      // The body becomes the event, numbered in place: a command is the interpreter's to give
      // away and an incoming event is made for its run, and a copy per event was about 5% of
      // the engine's JavaScript. (One put back after a failed commit is numbered again.)
      const stamped = body as { seq?: number; at?: number }
      stamped.seq = row.lastSeq + 1
      stamped.at = now
      const event = body as HistoryEvent
      row.lastSeq = event.seq
      row.lastEventType = event.type
      row.updatedAt = now
      writes.events.push({ runId: row.runId, seq: event.seq, body: JSON.stringify(event) })
      run.trail?.add(event)
      switch (event.type) {
        case "TimerFired":
          writes.timersDelete.push({ runId: row.runId, cmd: event.cmd })
          break
        case "CancelRequested":
          run.cancelRequested = true
          // Recorded, whoever asked: recovery must not request it again, even for an orphan.
          if (row.cancelRequested !== 2) {
            row.cancelRequested = 2
            run.rowChanged = true
          }
          break
        case "ChildWorkflowStarted":
          run.children.set(event.cmd, event.workflowId)
          break
      }
      task.events.push(event)
      return event
    }

    const handleCommands = (task: Task, commands: ReadonlyArray<Command>) => {
      const { run, writes, after } = task
      const row = run.row
      for (const command of commands) {
        // The next run's id goes in the event that ends this one: a reader of the closed run follows the chain.
        const event = append(
          task,
          command.type === "WorkflowContinuedAsNew" ? { ...command, nextRunId: timeOrderedId() } : command
        )
        switch (event.type) {
          case "ActivityScheduled": {
            const scheduled = activityTask(row, event)
            after.push(() => executor.dispatch(scheduled))
            break
          }
          case "ActivityCancelRequested":
            after.push(() => executor.cancel(row.runId, event.cmd))
            break
          case "TimerStarted":
            writes.timersAdd.push({ runId: row.runId, cmd: event.cmd, fireAt: event.fireAt })
            after.push(() => timers.add(row.runId, event.cmd, event.fireAt))
            break
          case "TimerCancelled":
            writes.timersDelete.push({ runId: row.runId, cmd: event.cmd })
            after.push(() => timers.remove(row.runId, event.cmd))
            break
          case "ChildWorkflowStarted":
            startChild(task, event)
            break
          case "ChildWorkflowCancelRequested": {
            const child = current.get(run.children.get(event.cmd) ?? "")
            if (child && child.row.parent?.runId === row.runId) {
              writes.flags.push({ runId: child.row.runId, cancelRequested: 1 })
              after.push(() => requestCancel(child, "the parent workflow cancelled it"))
            }
            break
          }
          case "WorkflowCompleted":
            close(task, "completed", { resultJson: toStoredText(event.result) })
            break
          case "WorkflowFailed":
            close(task, "failed", { error: event.error })
            break
          case "WorkflowCancelled":
            close(task, "cancelled", { error: cancelledError(event.reason) })
            break
          case "WorkflowContinuedAsNew":
            continueAsNew(task, event.input, event.nextRunId!)
            close(task, "continued-as-new", { nextRunId: event.nextRunId })
            break
        }
      }
      for (const decided of task.decided.splice(0)) {
        if (!run.instance || run.row.status !== "running") break
        run.instance.apply(append(task, decided))
        handleCommands(task, run.instance.takeCommands())
        checkStuck(task)
      }
    }

    const checkStuck = (task: Task) => {
      const { run } = task
      const instance = run.instance
      if (!instance || instance.status !== "stuck") return
      run.row.status = "stuck"
      run.row.divergenceJson = JSON.stringify(instance.divergence)
      run.rowChanged = true
      dropInstance(run)
      foundStuck.push(run.row)
    }

    const makeRow = (options: {
      readonly workflowId: string
      readonly definition: WorkflowDefinition<any, any>
      /** In its stored form. */
      readonly input: unknown
      readonly parent: RunRow["parent"]
      readonly now: number
      readonly runId?: string
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

    /** Creates a run row and its WorkflowStarted in the task's write set; the run wakes after the commit. */
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
      const row = makeRow({ ...options, now: task.now })
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
        ...(options.parent ? { parent: options.parent } : {}),
        ...(options.continuedFromRunId ? { continuedFromRunId: options.continuedFromRunId } : {})
      }
      const run = new RunState(row, options.definition)
      run.wake = true
      const written = { ...row }
      task.writes.retire.push(options.workflowId)
      task.writes.runsAdded.push(written)
      task.writes.events.push({ runId, seq: 1, body: JSON.stringify(started) })
      task.newRuns.push(run)
      // Reserve the id now, so a second start in the same task sees it taken.
      register(run)
      task.after.push(() => {
        if (!run.committed) run.committed = written
        publish(runId, { _tag: "history", event: started as HistoryEvent })
        schedule(run)
      })
      return run
    }

    const startChild = (task: Task, event: Extract<HistoryEvent, { type: "ChildWorkflowStarted" }>) => {
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
      const existing = current.get(event.workflowId)
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
    }

    const continueAsNew = (task: Task, input: unknown, runId: string) => {
      const { run } = task
      run.row.current = false
      run.rowChanged = true
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
    }

    const close = (
      task: Task,
      status: RunStatus,
      outcome: {
        readonly resultJson?: string
        readonly error?: RunRow["error"]
        readonly nextRunId?: string | undefined
      }
    ) => {
      const { run } = task
      const row = run.row
      row.status = status
      row.closedAt = task.now
      run.rowChanged = true
      row.resultJson = outcome.resultJson
      row.error = outcome.error
      // Nothing rebuilds a closed run from its snapshots; one this short has none.
      if (snapshotEvery === 0 || row.lastSeq >= snapshotEvery) task.writes.snapshotsDropped.push(row.runId)
      task.after.push(() => {
        tellResultWaiters(run, { row: run.committed ?? row, nextRunId: outcome.nextRunId })
        unregister(run)
        publish(row.runId, { _tag: "end", status })
        listeners.delete(row.runId)
        if (status !== "continued-as-new") notifyParent(row)
        for (const child of [...(childrenOf.get(row.runId) ?? [])]) {
          requestCancel(child, `the parent workflow ${row.workflowId} closed (${status})`)
        }
        childrenOf.delete(row.runId)
      })
    }

    const notifyParent = (row: RunRow) => {
      const parentRef = row.parent
      if (!parentRef) return
      const parent = runs.get(parentRef.runId)
      if (!parent) return
      const flags = [{ runId: row.runId, parentNotified: true }]
      const event: Incoming =
        row.status === "completed"
          ? {
              type: "ChildWorkflowCompleted",
              cmd: parentRef.cmd,
              result: fromStoredText(row.resultJson ?? "")
            }
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

    const requestCancel = (run: RunState, reason: string, ack?: Ack): void => {
      // Continued as new (in memory, its commit maybe in flight): the cancel is for the chain,
      // as a signal is (afterClose), so it goes to the run that took the id and the parent link.
      const successor = successorOf(run)
      if (successor && successor.row.parent?.runId === run.row.parent?.runId)
        return requestCancel(successor, reason, ack)
      if (run.cancelRequested || !OPEN.has(run.row.status)) {
        ack?.(Exit.void)
        return
      }
      run.cancelRequested = true
      deliver(run, { event: { type: "CancelRequested", reason }, ack })
    }

    /** Rebuilds the instance by replay from the snapshot and the tail (or the whole history). */
    const markUnregistered = (run: RunState) => {
      run.row.status = "stuck"
      run.row.divergenceJson = JSON.stringify({
        cmd: 0,
        expected: { kind: "WorkflowType", name: run.row.type },
        actual: { kind: "nothing" },
        reason: `workflow type "${run.row.type}" is not registered with this engine; known: ${[...definitions.keys()].join(", ")}`
      })
      run.rowChanged = true
      foundStuck.push(run.row)
    }

    /** Rebuilds the instance by replay of the snapshot and the tail (or the whole history). */
    const rebuild = (task: Task, loaded: Loaded) => {
      const { run } = task
      const row = run.row
      const history = loaded.snapshot ? [...loaded.snapshot.events, ...loaded.tail] : loaded.tail
      if (history.length === 0) return
      // Kept only when snapshots are taken; without them the tail is the whole history.
      const trail = snapshotEvery > 0 ? new SnapshotTrail(loaded.snapshot) : undefined
      if (trail) for (const e of loaded.tail) trail.add(e)
      if (run.redispatch) {
        // Invariant 4: recovered, or a commit failed and took completions and firings with it.
        // The executor and the timer queue ignore what they still hold.
        run.redispatch = false
        // What this task brings (a completion, a firing) is not started again.
        const arriving = new Set<number>()
        for (const { event } of task.items) {
          if (
            event.type === "ActivityCompleted" ||
            event.type === "ActivityFailed" ||
            event.type === "TimerFired"
          )
            arriving.add(event.cmd)
        }
        const open = trail?.open ?? new OpenActivities(loaded.tail)
        for (const activity of open.tasks(row)) if (!arriving.has(activity.cmd)) executor.dispatch(activity)
        for (const [cmd, fireAt] of openTimers(history))
          if (!arriving.has(cmd)) timers.add(row.runId, cmd, fireAt)
      }
      run.children.clear()
      for (const e of history) if (e.type === "ChildWorkflowStarted") run.children.set(e.cmd, e.workflowId)
      run.cancelRequested = history.some((e) => e.type === "CancelRequested")
      const instance = WorkflowInstance.replay(run.definition!, history, { trace: false })
      if (instance.status === "stuck") {
        if (row.status !== "stuck") run.rowChanged = true
        row.status = "stuck"
        // Once more with source locations, so the divergence names the line that yields the new command.
        const located = WorkflowInstance.replay(run.definition!, history, { trace: true, locations: true })
        row.divergenceJson = JSON.stringify(located.divergence ?? instance.divergence)
        foundStuck.push(row)
        return
      }
      if (row.status === "stuck") {
        row.status = "running"
        row.divergenceJson = undefined
        run.rowChanged = true
      }
      run.instance = instance
      if (trail) {
        run.trail = trail
        run.snapshotSeq = loaded.snapshot?.seq ?? 0
      }
      handleCommands(task, instance.takeCommands())
    }

    const touch = (run: RunState) => {
      if (!run.instance) return
      cache.delete(run.row.runId)
      cache.set(run.row.runId, run)
      if (cache.size <= cacheSize + evictionSlack) return
      // A Map iterates from its oldest slot, stepping over every entry deleted since its last
      // rehash: evicting one instance per touch made each touch walk thousands of holes.
      let scanned = 0
      const budget = cache.size - cacheSize + 64
      for (const candidate of cache.values()) {
        if (cache.size <= cacheSize || scanned++ > budget) break
        if (candidate.inbox.length > 0 || candidate.inflight > 0 || candidate.scheduled) continue
        dropInstance(candidate)
      }
    }

    // ---- activities and timers ----------------------------------------------------------

    const report = (task: ActivityTask, outcome: ActivityOutcome) => {
      const run = runs.get(task.runId)
      if (!run) return
      switch (outcome._tag) {
        case "Completed":
          return deliver(run, {
            event: {
              type: "ActivityCompleted",
              cmd: task.cmd,
              attempt: outcome.attempt,
              result: outcome.result
            }
          })
        case "Failed":
          return deliver(run, {
            event: { type: "ActivityFailed", cmd: task.cmd, attempt: outcome.attempt, error: outcome.error }
          })
        case "AttemptFailed":
          return deliver(run, {
            event: {
              type: "ActivityAttemptFailed",
              cmd: task.cmd,
              attempt: outcome.attempt,
              error: outcome.error,
              nextRetryAt: outcome.nextAttemptAt,
              ...(outcome.lastHeartbeat === undefined ? {} : { heartbeat: outcome.lastHeartbeat })
            }
          })
      }
    }

    const executor = yield* makeActivityExecutor(config.activities, config.activityConcurrency ?? 200, {
      report,
      emit: (task, chunk) => publish(task.runId, { _tag: "chunk", cmd: task.cmd, activity: task.name, chunk })
    })

    const timers = yield* makeTimerQueue((runId, cmd) => {
      const run = runs.get(runId)
      if (run) deliver(run, { event: { type: "TimerFired", cmd } })
    })

    // ---- recovery -----------------------------------------------------------------------

    const recover = Effect.gen(function* () {
      const open = yield* store.openRuns
      for (const row of open) {
        const run = new RunState(row, definitions.get(row.type))
        run.committed = { ...row }
        run.cancelRequested = row.cancelRequested === 2
        run.redispatch = true
        register(run)
      }
      for (const run of runs.values()) {
        if (run.row.status === "stuck" || run.row.lastSeq === 1) {
          run.wake = true
          schedule(run)
        } else {
          recovering.push(run)
        }
      }
      if (recovering.length > 0) Queue.unsafeOffer(wakePump, undefined)
      for (const timer of yield* store.timers)
        if (runs.has(timer.runId)) timers.add(timer.runId, timer.cmd, timer.fireAt)
      for (const child of yield* store.unnotifiedChildren) notifyParent(child)
      for (const runId of yield* store.orphans) {
        const run = runs.get(runId)
        if (run) requestCancel(run, "the parent workflow closed")
      }
      // Asked of a run that had continued as new (requestCancel forwarded it) and not recorded.
      for (const runId of yield* store.inheritedCancels) {
        const run = runs.get(runId)
        if (run && run.row.cancelRequested === 0) run.row.cancelRequested = 1
      }
      for (const run of runs.values()) {
        if (run.row.cancelRequested === 1) {
          run.cancelRequested = false
          requestCancel(run, "the parent workflow cancelled it")
        }
      }
    })
    yield* recover

    // ---- the public API -----------------------------------------------------------------

    const refuseWhileClosing = Effect.suspend(() =>
      closing
        ? Effect.fail(new StoreError({ reason: "Io", message: "the engine is shutting down" }))
        : Effect.void
    )

    const findRow = (id: string) =>
      Effect.gen(function* () {
        // What is committed: the row in memory runs ahead of its commit (a run may read
        // "completed" there while its last events are still in the group commit).
        const open = current.get(id)
        if (open?.committed) return open.committed
        const row = yield* store.currentRun(id)
        if (!row) return yield* Effect.fail(new WorkflowNotFound({ workflowId: id }))
        return row
      })

    const openRun = (id: string) =>
      Effect.gen(function* () {
        const open = current.get(id)
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
        const open = current.get(found.workflowId)
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

    const start = (
      workflowOrType: WorkflowDefinition<any, any> | string,
      input?: unknown,
      options?: StartOptions
    ) =>
      Effect.gen(function* () {
        yield* refuseWhileClosing
        const { name: type, typed } = named(workflowOrType)
        const definition = definitions.get(type)
        if (!definition) {
          return yield* Effect.fail(
            new UnknownName({ kind: "workflow type", name: type, known: [...definitions.keys()] })
          )
        }
        const stored = yield* toStoredPayload(
          definition.input,
          input,
          `input of workflow "${type}"`,
          "input",
          typed && { schema: typed.input }
        )
        const workflowId = options?.id ?? timeOrderedId()
        const problem = workflowIdProblem(workflowId)
        if (problem !== undefined) return yield* Effect.fail(new InvalidWorkflowId({ workflowId, problem }))
        const existing = current.get(workflowId)
        if (existing && existing.row.status === "stuck") {
          return yield* Effect.fail(
            new WorkflowStuck({
              workflowId,
              runId: existing.row.runId,
              divergence: storedDivergence(existing.row)!
            })
          )
        }
        if (existing && OPEN.has(existing.row.status)) {
          return yield* Effect.fail(new WorkflowAlreadyRunning({ workflowId, runId: existing.row.runId }))
        }
        // Its first task applies WorkflowStarted and commits it with the first commands (one commit).
        const row = makeRow({
          workflowId,
          definition,
          input: stored,
          parent: undefined,
          now: clock.unsafeCurrentTimeMillis()
        })
        row.lastSeq = 0
        const run = new RunState(row, definition)
        run.instance = WorkflowInstance.create(definition, { trace: false })
        run.fresh = true
        if (snapshotEvery > 0) run.trail = new SnapshotTrail()
        register(run)
        const started: Incoming = {
          type: "WorkflowStarted",
          workflowType: definition.name,
          workflowId,
          runId: row.runId,
          input: stored,
          randomSeed: row.runId
        }
        // Only a signal or a cancel reaching a closed run is refused, never a run's first event.
        yield* Effect.async<void, StoreError | WorkflowClosed>((ack) =>
          deliver(run, { event: started, ack })
        ).pipe(Effect.catchTag("WorkflowClosed", Effect.die))
        return { id: workflowId, runId: row.runId, status: "running" as const } as StartedWorkflow<any>
      })

    const signal = (id: string, signalOrName: SignalDefinition<any> | string, payload?: unknown) =>
      Effect.gen(function* () {
        yield* refuseWhileClosing
        const run = yield* openRun(id)
        const { name, typed } = named(signalOrName)
        const definition = run.definition
        const declared = definition?.signals.find((s) => s.name === name)
        if (!declared) {
          return yield* Effect.fail(
            new UnknownName({
              kind: "signal",
              name,
              known: definition?.signals.map((s) => s.name) ?? [],
              workflowType: run.row.type
            })
          )
        }
        const stored = yield* toStoredPayload(
          declared.schema,
          payload,
          `payload of signal "${name}"`,
          "payload",
          typed && { schema: typed.schema }
        )
        yield* Effect.async<void, StoreError | WorkflowClosed>((ack) =>
          deliver(run, { event: { type: "SignalReceived", name, payload: stored }, ack })
        )
      })

    const query = (id: string, queryOrName: QueryDefinition<any, any> | string, args?: unknown) =>
      Effect.gen(function* () {
        const { name, typed } = named(queryOrName)
        const row = yield* findRow(id)
        const definition = definitions.get(row.type)
        const declared = definition?.queries.find((q) => q.name === name)
        if (!declared) {
          return yield* Effect.fail(
            new UnknownName({
              kind: "query",
              name,
              known: definition?.queries.map((q) => q.name) ?? [],
              workflowType: row.type
            })
          )
        }
        const storedArgs = yield* toStoredPayload(
          declared.args,
          args,
          `arguments of query "${name}"`,
          "args",
          typed && { schema: typed.args }
        )
        const { instance } = yield* instanceOf(row)
        if (!instance) {
          return yield* Effect.fail(
            new QueryFailed({
              workflowId: id,
              query: name,
              error: { name: "Unavailable", message: "the workflow cannot be replayed by this engine" }
            })
          )
        }
        const answer = instance.query(name, storedArgs)
        if (!answer.ok)
          return yield* Effect.fail(new QueryFailed({ workflowId: id, query: name, error: answer.error }))
        // The answer is an encoded copy the instance made for this caller: decoded in place.
        if (!typed) return answer.value
        return yield* Effect.mapError(codecOf(typed.output).decodeOwned(answer.value), (issue) =>
          InvalidPayload.of(`answer of query "${name}"`, "answer", issue)
        )
      })

    /**
     * Invariant 8: the run once closed. An open run (in memory: engine invariant 3) tells the
     * waiter from the commit that closes it; otherwise the store's row is read, once.
     */
    const closedRun = (id: string, runId: string | undefined) =>
      Effect.gen(function* () {
        const waiter = yield* Deferred.make<ClosedRun | undefined>()
        // Looked up and registered in one step: no close can slip in between.
        const open = yield* Effect.sync(() => {
          const run = runId === undefined ? current.get(id) : runs.get(runId)
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

    const cancel: Engine["Type"]["cancel"] = (id, reason) =>
      Effect.gen(function* () {
        yield* refuseWhileClosing
        const run = yield* openRun(id)
        yield* Effect.async<void, StoreError | WorkflowClosed>((ack) =>
          requestCancel(run, reason ?? "cancel requested", ack)
        )
      })

    const describe: Engine["Type"]["describe"] = (id) =>
      Effect.gen(function* () {
        const found = yield* findRow(id)
        // A running run's pending work comes from its instance, and its row from the same commit.
        const { instance, row } =
          found.status === "running" && current.has(id)
            ? yield* instanceOf(found)
            : { instance: undefined, row: found }
        const facts = yield* store.historyFacts(row.runId)
        const ops = instance?.pending() ?? []
        const open = OPEN.has(row.status) ? runs.get(row.runId) : undefined
        const children = open ? open.children : new Map<number, string>()
        return {
          ...summary(row),
          input: fromStoredText(row.inputJson),
          result: row.resultJson === undefined ? undefined : fromStoredText(row.resultJson),
          error: row.error,
          divergence: storedDivergence(row),
          historyLength: row.lastSeq,
          pending: {
            activities: ops
              .filter((o) => o.kind === "activity")
              .map((o) => ({
                cmd: o.cmd,
                name: o.name ?? "",
                attempt: (facts.failedAttempts.get(o.cmd) ?? 0) + 1
              })),
            timers: ops
              .filter(
                (o) =>
                  o.kind === "timer" || (o.kind === "signal" && timers.fireAt(row.runId, o.cmd) !== undefined)
              )
              .map((o) => ({
                cmd: o.cmd,
                fireAt: timers.fireAt(row.runId, o.cmd) ?? 0,
                purpose: o.kind === "timer" ? "sleep" : "signal-timeout"
              })),
            signals: ops.filter((o) => o.kind === "signal").map((o) => o.name ?? ""),
            bufferedSignals: (instance?.pendingSignals() ?? []).map((s) => ({ name: s.name, seq: s.seq })),
            children: ops
              .filter((o) => o.kind === "child")
              .map((o) => ({ cmd: o.cmd, workflowId: children.get(o.cmd) ?? "", workflowType: o.name ?? "" }))
          },
          llmUsage: facts.llmUsage
        } satisfies WorkflowDescription
      })

    /**
     * Up to `limit` current runs matching `filter`, newest first, from `before` on: the time
     * range bounds the store's own newest-first order (the upper bound is where the reading
     * starts; the lower bound is where it stops).
     */
    const listPage = (filter: ListFilter, limit: number, before: ListPosition | undefined) =>
      Effect.map(
        store.listRuns({
          idPrefix: filter.idPrefix,
          status: filter.status,
          type: filter.type,
          closedAfter: filter.closedAfter,
          closedBefore: filter.closedBefore,
          limit: limit + 1,
          before: earliest(
            before,
            filter.startedBefore === undefined ? undefined : { createdAt: filter.startedBefore, runId: "" }
          )
        }),
        (rows) => {
          const inRange =
            filter.startedAfter === undefined ? rows : rows.filter((r) => r.createdAt >= filter.startedAfter!)
          const page = inRange.slice(0, limit)
          return { page, more: inRange.length > limit }
        }
      )

    const list: Engine["Type"]["list"] = (filter: ListFilter) =>
      Effect.gen(function* () {
        const limit = Math.max(1, Math.min(filter.limit ?? 50, 1000))
        const { page, more } = yield* listPage(filter, limit, decodeCursor(filter.cursor))
        return {
          workflows: page.map(summary),
          nextCursor: more ? encodeCursor(page[page.length - 1]!) : undefined
        }
      })

    const count: Engine["Type"]["count"] = (filter) =>
      Effect.gen(function* () {
        let total = 0
        let before: ListPosition | undefined
        for (;;) {
          const { page, more } = yield* listPage(filter, 1000, before)
          total += page.length
          if (!more) return total
          const last = page[page.length - 1]!
          before = { createdAt: last.createdAt, runId: last.runId }
        }
      })

    const summaryOf: Engine["Type"]["summary"] = (id) =>
      Effect.map(findRow(id), (row) => ({ ...summary(row), divergence: storedDivergence(row) }))

    const history: Engine["Type"]["history"] = (id) =>
      Effect.gen(function* () {
        const row = yield* findRow(id)
        const events = yield* store.events(row.runId)
        return {
          format: HISTORY_FORMAT,
          workflow: {
            id: row.workflowId,
            type: row.type,
            runId: row.runId,
            status: row.status,
            input: fromStoredText(row.inputJson),
            ...(row.resultJson === undefined ? {} : { result: fromStoredText(row.resultJson) }),
            ...(row.error === undefined ? {} : { error: row.error }),
            ...(row.divergenceJson === undefined ? {} : { divergence: storedDivergence(row) }),
            startedAt: row.createdAt,
            ...(row.closedAt === undefined ? {} : { closedAt: row.closedAt })
          },
          events
        } satisfies HistoryFile
      })

    const subscribe: Engine["Type"]["subscribe"] = (id, options) =>
      Effect.map(findRow(id), (row) =>
        Stream.unwrapScoped(
          Effect.gen(function* () {
            const queue = yield* Queue.unbounded<StreamItem>()
            const listener = (item: StreamItem) => Queue.unsafeOffer(queue, item)
            let set = listeners.get(row.runId)
            if (!set) listeners.set(row.runId, (set = new Set()))
            set.add(listener)
            // The last to leave takes the run's entry with it: a finished run's is never
            // deleted by its close (issue 22 item 11: kept for ever once anyone streamed it).
            yield* Effect.addFinalizer(() =>
              Effect.sync(() => {
                const watching = listeners.get(row.runId)
                if (watching?.delete(listener) && watching.size === 0) listeners.delete(row.runId)
              })
            )
            const past = yield* store.events(row.runId, options?.afterSeq ?? 0)
            // Read in seq order: the last is the newest.
            let lastSeq = past.at(-1)?.seq ?? options?.afterSeq ?? 0
            // Closed only by what is committed: the row in memory runs ahead of its commit.
            const terminal = past.find((e) => terminalTypes.has(e.type))
            const head = Stream.fromIterable(past.map((event): StreamItem => ({ _tag: "history", event })))
            // Closed: its end is said even to a reader that already has every event.
            const closedAs = terminal
              ? statusOfTerminal[terminal.type]!
              : OPEN.has(row.status)
                ? undefined
                : row.status
            if (closedAs !== undefined) {
              return Stream.concat(head, Stream.make<[StreamItem]>({ _tag: "end", status: closedAs }))
            }
            const live = Stream.fromQueue(queue).pipe(
              Stream.filter((item) => item._tag !== "history" || item.event.seq > lastSeq),
              Stream.tap((item) =>
                Effect.sync(() => (item._tag === "history" ? (lastSeq = item.event.seq) : undefined))
              ),
              Stream.takeUntil((item) => item._tag === "end")
            )
            return Stream.concat(head, live)
          })
        )
      )

    // Built on first use, once: the registered definitions never change, and JSON Schemas are not free.
    let typeInfos: ReadonlyArray<WorkflowTypeInfo> | undefined
    const workflowTypes = (): ReadonlyArray<WorkflowTypeInfo> =>
      (typeInfos ??= config.workflows.map((w) => ({
        name: w.name,
        inputSchema: jsonSchemaOf(w.input),
        signals: w.signals.map((s) => ({ name: s.name, schema: jsonSchemaOf(s.schema) })),
        queries: w.queries.map((q) => q.name),
        sourceFile: w.sourceFile
      })))

    // Draining on release: refuse new work, let what was accepted commit.
    yield* Effect.addFinalizer(() =>
      Effect.gen(function* () {
        closing = true
        yield* committer.flush
      })
    )

    const retained = () => ({
      openRuns: runs.size,
      instances: cache.size,
      streamedRuns: listeners.size,
      parentsWithChildren: childrenOf.size
    })

    return Engine.of({
      start: start as Engine["Type"]["start"],
      signal: signal as Engine["Type"]["signal"],
      query: query as Engine["Type"]["query"],
      result: result as Engine["Type"]["result"],
      cancel,
      describe,
      summary: summaryOf,
      list,
      count,
      history,
      subscribe,
      workflowTypes,
      registered: (type) => definitions.has(type),
      retained
    })
  })

/**
 * The engine on the `WorkflowStore` it is given: recovery runs when the layer is built;
 * releasing it drains. It runs on the clock it is given with sleeps of any length (timers,
 * retry delays and timeouts past 24.8 days fire on time: see long-sleeps.ts).
 */
export const EngineOnStore = (options: EngineOptions): Layer.Layer<Engine, StoreError, WorkflowStore> =>
  Layer.scoped(
    Engine,
    Effect.clockWith((clock) => Effect.withClock(makeEngine(options), longSleeps(clock)))
  )

/** The engine on its SQLite file. */
export const EngineLive = (config: EngineConfig): Layer.Layer<Engine, StoreError> =>
  EngineOnStore(config).pipe(
    Layer.provide(SqliteStore({ filename: config.dbPath, synchronous: config.synchronous }))
  )
