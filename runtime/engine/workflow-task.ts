/**
 * The workflow task (engine invariant 1): a run, what its inbox holds, its history when it
 * must be rebuilt, and the time, turned into a write set, the actions that follow its
 * commit, and the acknowledgements. Synchronous and without I/O: the task loop runs it and
 * task-commit.ts commits what it returns, so it is tested with no store at all.
 *
 * Invariants:
 * 1. A task takes the whole inbox. Each item's event is numbered from the run's last seq,
 *    appended and applied in order; an item that reaches a run closed earlier in the same
 *    task is routed instead (lineage invariant 5), never appended.
 * 2. What the engine decides at once (a child that cannot start) is applied in the same
 *    task, so it commits with the command it answers.
 * 3. The row is written when the task creates the run or changes its status or flags
 *    (`rowChanged`), never for a step alone (store invariant 5).
 * 4. A snapshot segment is written once `snapshotEvery` events have passed since the last,
 *    while the run is open and live.
 * 5. What follows the commit is data (`AfterCommit`), done by task-commit.ts once the write
 *    set is durable (engine invariant 2). Only two things happen during the task: a rebuilt
 *    run whose open work nothing holds starts it again (engine invariant 4; the executor and
 *    the timer queue ignore what they already hold), and invariant 1's routing.
 * 6. A replay that diverges marks the run stuck (engine invariant 5): its instance goes, what
 *    arrives is still appended, and it is rebuilt again only when woken (at start).
 */
import { cancelledError, WorkflowInstance, type Command, type HistoryEvent, type Incoming } from "../../core"
import type { WorkflowDefinition } from "../../core"
import { activityTask, OpenActivities, type ActivityOutcome, type ActivityTask } from "../activities"
import type { RunStatus } from "../engine-api"
import { timeOrderedId } from "../ids"
import { SnapshotTrail, type Snapshot } from "../snapshot"
import { emptyWriteSet, type RunRow, type WriteSet } from "../store"
import { toStoredText } from "../stored-value"
import { openTimers } from "../timer-queue"
import type { Lineage } from "./lineage"
import {
  firstTask,
  OPEN,
  rebuilt,
  recordCancel,
  redispatched,
  taskRan,
  type Ack,
  type InboxItem,
  type RunState
} from "./run-state"

/** A history read ahead for a run about to be rebuilt: its snapshot, if any, and the events after it. */
export interface Loaded {
  readonly snapshot: Snapshot | undefined
  readonly tail: ReadonlyArray<HistoryEvent>
}

/**
 * What follows a task's commit (invariant 5), in order. A new kind (a fenced shard, a
 * queued activity, a metric) is a new case here and in task-commit.ts `perform`.
 */
export type AfterCommit =
  | { readonly _tag: "DispatchActivity"; readonly task: ActivityTask }
  | { readonly _tag: "CancelActivity"; readonly runId: string; readonly cmd: number }
  | { readonly _tag: "StartTimer"; readonly runId: string; readonly cmd: number; readonly fireAt: number }
  | { readonly _tag: "CancelTimer"; readonly runId: string; readonly cmd: number }
  | { readonly _tag: "CancelChild"; readonly child: RunState; readonly reason: string }
  | {
      readonly _tag: "RunCreated"
      readonly run: RunState
      readonly row: RunRow
      readonly started: HistoryEvent
    }
  | {
      readonly _tag: "RunClosed"
      readonly run: RunState
      readonly status: RunStatus
      readonly nextRunId: string | undefined
    }

/** One workflow task, built up as it runs, then its result. */
export interface Task {
  readonly run: RunState
  readonly now: number
  readonly writes: WriteSet
  /** What the task took from the run's inbox. */
  readonly items: ReadonlyArray<InboxItem>
  /** Callers told once the write set commits (or fails to). */
  readonly acks: Array<Ack>
  /** Invariant 2: outcomes decided at once, applied in this same task. */
  readonly decided: Array<Incoming>
  /** Appended by this task: streamed to subscribers once committed. */
  readonly events: Array<HistoryEvent>
  /** Invariant 5. */
  readonly after: Array<AfterCommit>
  /** Runs this task made (children, a continued run): they leave if its commit fails. */
  readonly newRuns: Array<RunState>
  /** Invariant 3: the task creates the run (its first task, after `start`). */
  readonly inserts: boolean
  /** Invariant 3: the run's status or flags changed in this task. */
  rowChanged: boolean
  /** The row as this write set leaves it (a copy: the row in memory runs on); undefined when the task writes nothing. */
  row: RunRow | undefined
}

export interface WorkflowTaskContext {
  readonly definitions: ReadonlyMap<string, WorkflowDefinition<any, any>>
  readonly snapshotEvery: number
  readonly lineage: Pick<Lineage, "startChild" | "cancelChild" | "continueAsNew" | "close" | "afterClose">
  /** Drops a stuck run's instance (run-table.ts `evict`). */
  readonly evict: (run: RunState) => void
  /** Invariant 5: starts again, now, a rebuilt run's open activities and timers (`[cmd, fireAt]`). */
  readonly restart: (
    run: RunState,
    activities: ReadonlyArray<ActivityTask>,
    timers: ReadonlyArray<readonly [number, number]>
  ) => void
  /** Invariant 6: a run found stuck (the task loop logs it once the batch is done). */
  readonly foundStuck: (row: RunRow) => void
}

/** Whether the run's next task must first rebuild its instance by replay (its history is read ahead for it). */
export const needsRebuild = (run: RunState) => {
  const phase = run.phase
  return (
    phase._tag === "Evicted" &&
    run.definition !== undefined &&
    (phase.due || (run.row.status === "running" && (run.inbox.length > 0 || run.waiters.length > 0)))
  )
}

/**
 * Runs one workflow task of `run` at `now`: `loaded` is its history when `needsRebuild`.
 * The task's `row` is undefined when it writes nothing (its acknowledgements are then due at
 * once); otherwise its write set goes to the store and its `after` follows the commit.
 *
 * @example const task = runWorkflowTask(ctx, run, undefined, clock.unsafeCurrentTimeMillis())
 */
export const runWorkflowTask = (
  ctx: WorkflowTaskContext,
  run: RunState,
  loaded: Loaded | undefined,
  now: number
): Task => {
  // Before the inbox is taken: what it holds decides whether an evicted run is rebuilt.
  const rebuilding = needsRebuild(run)
  const items = run.inbox
  run.inbox = []
  const task: Task = {
    run,
    now,
    writes: emptyWriteSet(),
    items,
    acks: [],
    decided: [],
    events: [],
    after: [],
    newRuns: [],
    inserts: firstTask(run),
    rowChanged: false,
    row: undefined
  }
  const phase = run.phase
  if (rebuilding) rebuild(ctx, task, loaded!)
  else if (!run.definition && phase._tag === "Evicted" && phase.due) markUnregistered(ctx, task)
  taskRan(run)
  const { writes } = task
  for (const item of items) {
    if (item.flags) writes.flags.push(...item.flags)
    if (!OPEN.has(run.row.status)) {
      ctx.lineage.afterClose(task, item)
      continue
    }
    if (item.ack) task.acks.push(item.ack)
    const event = append(task, item.event)
    const instance = run.instance
    if (instance && run.row.status === "running") {
      instance.apply(event)
      handleCommands(ctx, task, instance.takeCommands())
      checkStuck(ctx, task)
    }
  }
  if (writes.events.length > 0 || writes.flags.length > 0 || task.rowChanged) {
    const row = run.row
    const live = run.phase
    if (
      ctx.snapshotEvery > 0 &&
      live._tag === "Live" &&
      live.trail &&
      row.lastSeq - live.snapshotSeq >= ctx.snapshotEvery &&
      OPEN.has(row.status)
    ) {
      writes.snapshots.push({ runId: row.runId, seq: row.lastSeq, body: live.trail.encode(row.lastSeq) })
      live.snapshotSeq = row.lastSeq
    }
    const written = { ...row }
    if (task.inserts) {
      writes.retire.push(row.workflowId)
      writes.runsAdded.push(written)
    } else if (task.rowChanged) {
      writes.runsChanged.push(written)
    }
    task.row = written
  }
  return task
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
      // Recorded, whoever asked: recovery must not request it again, even for an orphan.
      if (recordCancel(run)) task.rowChanged = true
      break
    case "ChildWorkflowStarted":
      run.children.set(event.cmd, event.workflowId)
      break
  }
  task.events.push(event)
  return event
}

const handleCommands = (ctx: WorkflowTaskContext, task: Task, commands: ReadonlyArray<Command>) => {
  const { run, writes, after } = task
  const { lineage } = ctx
  const row = run.row
  for (const command of commands) {
    // The next run's id goes in the event that ends this one: a reader of the closed run follows the chain.
    const event = append(
      task,
      command.type === "WorkflowContinuedAsNew" ? { ...command, nextRunId: timeOrderedId() } : command
    )
    switch (event.type) {
      case "ActivityScheduled":
        after.push({ _tag: "DispatchActivity", task: activityTask(row, event) })
        break
      case "ActivityCancelRequested":
        after.push({ _tag: "CancelActivity", runId: row.runId, cmd: event.cmd })
        break
      case "TimerStarted":
        writes.timersAdd.push({ runId: row.runId, cmd: event.cmd, fireAt: event.fireAt })
        after.push({ _tag: "StartTimer", runId: row.runId, cmd: event.cmd, fireAt: event.fireAt })
        break
      case "TimerCancelled":
        writes.timersDelete.push({ runId: row.runId, cmd: event.cmd })
        after.push({ _tag: "CancelTimer", runId: row.runId, cmd: event.cmd })
        break
      case "ChildWorkflowStarted":
        lineage.startChild(task, event)
        break
      case "ChildWorkflowCancelRequested":
        lineage.cancelChild(task, event.cmd)
        break
      case "WorkflowCompleted":
        lineage.close(task, "completed", { resultJson: toStoredText(event.result) })
        break
      case "WorkflowFailed":
        lineage.close(task, "failed", { error: event.error })
        break
      case "WorkflowCancelled":
        lineage.close(task, "cancelled", { error: cancelledError(event.reason) })
        break
      case "WorkflowContinuedAsNew":
        lineage.continueAsNew(task, event.input, event.nextRunId!)
        lineage.close(task, "continued-as-new", { nextRunId: event.nextRunId })
        break
    }
  }
  for (const decided of task.decided.splice(0)) {
    const instance = run.instance
    if (!instance || run.row.status !== "running") break
    instance.apply(append(task, decided))
    handleCommands(ctx, task, instance.takeCommands())
    checkStuck(ctx, task)
  }
}

/** Invariant 6: the live instance diverged from its history. */
const checkStuck = (ctx: WorkflowTaskContext, task: Task) => {
  const { run } = task
  const instance = run.instance
  if (!instance || instance.status !== "stuck") return
  run.row.status = "stuck"
  run.row.divergenceJson = JSON.stringify(instance.divergence)
  task.rowChanged = true
  ctx.evict(run)
  ctx.foundStuck(run.row)
}

/** A run whose workflow type this engine does not register is stuck until one that does starts. */
const markUnregistered = (ctx: WorkflowTaskContext, task: Task) => {
  const { run } = task
  run.row.status = "stuck"
  run.row.divergenceJson = JSON.stringify({
    cmd: 0,
    expected: { kind: "WorkflowType", name: run.row.type },
    actual: { kind: "nothing" },
    reason: `workflow type "${run.row.type}" is not registered with this engine; known: ${[...ctx.definitions.keys()].join(", ")}`
  })
  task.rowChanged = true
  ctx.foundStuck(run.row)
}

/** Rebuilds the instance by replay of the snapshot and the tail (or the whole history). */
const rebuild = (ctx: WorkflowTaskContext, task: Task, loaded: Loaded) => {
  const { run } = task
  const row = run.row
  const history = loaded.snapshot ? [...loaded.snapshot.events, ...loaded.tail] : loaded.tail
  if (history.length === 0) return
  // Kept only when snapshots are taken; without them the tail is the whole history.
  const trail = ctx.snapshotEvery > 0 ? new SnapshotTrail(loaded.snapshot) : undefined
  if (trail) for (const e of loaded.tail) trail.add(e)
  const phase = run.phase
  if (phase._tag === "Evicted" && !phase.dispatched) {
    // Invariant 5: recovered, or a commit failed and took completions and firings with it.
    redispatched(run)
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
    ctx.restart(
      run,
      open.tasks(row).filter((activity) => !arriving.has(activity.cmd)),
      [...openTimers(history)].filter(([cmd]) => !arriving.has(cmd))
    )
  }
  run.children.clear()
  for (const e of history) if (e.type === "ChildWorkflowStarted") run.children.set(e.cmd, e.workflowId)
  run.cancel = history.some((e) => e.type === "CancelRequested") ? "recorded" : "none"
  const definition = run.definition!
  const instance = WorkflowInstance.replay(definition, history, { trace: false })
  if (instance.status === "stuck") {
    if (row.status !== "stuck") task.rowChanged = true
    row.status = "stuck"
    // Once more with source locations, so the divergence names the line that yields the new command.
    const located = WorkflowInstance.replay(definition, history, { trace: true, locations: true })
    row.divergenceJson = JSON.stringify(located.divergence ?? instance.divergence)
    ctx.foundStuck(row)
    return
  }
  if (row.status === "stuck") {
    row.status = "running"
    row.divergenceJson = undefined
    task.rowChanged = true
  }
  rebuilt(run, instance, trail, trail ? (loaded.snapshot?.seq ?? 0) : 0)
  handleCommands(ctx, task, instance.takeCommands())
}

/** The event an activity's reported outcome appends to its run's history. */
export const outcomeEvent = (task: ActivityTask, outcome: ActivityOutcome): Incoming => {
  switch (outcome._tag) {
    case "Completed":
      return { type: "ActivityCompleted", cmd: task.cmd, attempt: outcome.attempt, result: outcome.result }
    case "Failed":
      return { type: "ActivityFailed", cmd: task.cmd, attempt: outcome.attempt, error: outcome.error }
    case "AttemptFailed":
      return {
        type: "ActivityAttemptFailed",
        cmd: task.cmd,
        attempt: outcome.attempt,
        error: outcome.error,
        nextRetryAt: outcome.nextAttemptAt,
        ...(outcome.lastHeartbeat === undefined ? {} : { heartbeat: outcome.lastHeartbeat })
      }
  }
}
