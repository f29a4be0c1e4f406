/**
 * The workflow task on its own (runtime/engine/workflow-task.ts): a run, its inbox, its
 * history when it is rebuilt, and the time in; the write set, the after-commit actions and the
 * acknowledgements out. No store, no engine, no clock: the task is a synchronous function, and
 * what it would do after the commit is data these tests read. Titles name the task's
 * invariants (and the engine's, "engine invariant N", and lineage's where they are the subject).
 */
import { describe, expect, it } from "vitest"
import * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"
import {
  activity,
  all,
  child,
  defineSignal,
  sleep,
  waitForSignal,
  workflow,
  type HistoryEvent,
  type Incoming,
  type WorkflowDefinition
} from "../../core"
import type { StoreError, WorkflowClosed } from "../../runtime"
import { makeLineage, newRow, startRun } from "../../runtime/engine/lineage"
import { makeRunTable } from "../../runtime/engine/run-table"
import { recovered, woken, type RunState } from "../../runtime/engine/run-state"
import { runWorkflowTask, type Task } from "../../runtime/engine/workflow-task"
import { decodeSnapshot } from "../../runtime/snapshot"
import type { RunRow } from "../../runtime/store"

const greet = activity("greet", { input: Schema.String, output: Schema.String })
const shout = activity("shout", { input: Schema.String, output: Schema.String })
const Poke = defineSignal("poke", Schema.Number)

/** Two steps, then the second's result. */
const twice = workflow("twice", { input: Schema.String }, function* (name) {
  const first = yield* greet(name)
  return yield* greet(first)
})

/** One step, then done: what reaches it after its close is routed (lineage invariant 5). */
const once = workflow("once", { input: Schema.String, signals: [Poke] }, function* (name) {
  return yield* greet(name)
})

/** The same first command under another name: its history diverges from `twice`'s. */
const renamed = workflow("twice", { input: Schema.String }, function* (name) {
  return yield* shout(name)
})

/** An activity and a timer open at once. */
const both = workflow("both", { input: Schema.String }, function* (name) {
  const [greeting] = yield* all([greet(name), sleep("1 minute")])
  return greeting
})

const waiter = workflow("waiter", { input: Schema.Null, signals: [Poke] }, function* () {
  return yield* waitForSignal(Poke)
})
const unregistered = workflow("unregistered", { input: Schema.Null }, function* () {
  return 1
})
/** A parent of one child that may or may not start; it returns how the child ended. */
const parentOf = (target: WorkflowDefinition<any, any>, id: string) =>
  workflow("parent", { input: Schema.Null }, function* () {
    try {
      return yield* child(target, null, { id })
    } catch (error) {
      return `child failed: ${(error as Error).name}`
    }
  })

const T0 = 1_700_000_000_000

/** The task's context over a real run table and lineage; what would leave the task is recorded. */
const harness = (workflows: ReadonlyArray<WorkflowDefinition<any, any>>, snapshotEvery = 0) => {
  const definitions = new Map(workflows.map((w) => [w.name, w]))
  const table = makeRunTable(100)
  const delivered: Array<{ readonly run: RunState; readonly event: Incoming }> = []
  const restarted: Array<{ readonly activities: Array<number>; readonly timers: Array<number> }> = []
  const stuck: Array<RunRow> = []
  const lineage = makeLineage({
    table,
    streams: { publish: () => {}, end: () => {} },
    definitions,
    snapshotEvery,
    deliver: (run, item) => void delivered.push({ run, event: item.event }),
    schedule: () => {}
  })
  const ctx = {
    definitions,
    snapshotEvery,
    lineage,
    evict: table.evict,
    restart: (
      _: RunState,
      activities: ReadonlyArray<{ cmd: number }>,
      timers: ReadonlyArray<readonly [number, number]>
    ) =>
      void restarted.push({ activities: activities.map((a) => a.cmd), timers: timers.map(([cmd]) => cmd) }),
    foundStuck: (row: RunRow) => void stuck.push(row)
  }
  const acked: Array<Exit.Exit<void, StoreError | WorkflowClosed>> = []

  /** A run `start` made, with its WorkflowStarted waiting in its inbox and a caller on it. */
  const start = (definition: WorkflowDefinition<any, any>, input: unknown, workflowId = "w") => {
    const { run, started } = startRun({ workflowId, definition, input, now: T0, snapshotEvery })
    table.add(run)
    run.inbox.push({ event: started, ack: (exit) => void acked.push(exit) })
    return run
  }

  /** Runs one task at `T0 + at` with these events (and callers waiting on the ones marked `acked`). */
  const task = (
    run: RunState,
    events: ReadonlyArray<Incoming>,
    at = 0,
    loaded?: Parameters<typeof runWorkflowTask>[2]
  ) => {
    for (const event of events) run.inbox.push({ event })
    return runWorkflowTask(ctx, run, loaded, T0 + at)
  }

  return { table, ctx, delivered, restarted, stuck, acked, start, task }
}

/** The history a task's write set holds, as the store would hand it back (fresh copies). */
const written = (...tasks: ReadonlyArray<Task>): Array<HistoryEvent> =>
  tasks.flatMap((t) => t.writes.events.map((e) => JSON.parse(e.body) as HistoryEvent))

const typesOf = (task: Task) => task.events.map((e) => e.type)
const tagsOf = (task: Task) => task.after.map((a) => a._tag)

describe("the workflow task", () => {
  it("invariants 1 and 3: a start's first task numbers WorkflowStarted and its first command in one write set that inserts the row; the activity leaves only as an action after the commit", () => {
    const h = harness([twice])
    const run = h.start(twice, "ada")
    const task = h.task(run, [])
    expect(typesOf(task)).toEqual(["WorkflowStarted", "ActivityScheduled"])
    expect(task.events.map((e) => [e.seq, e.at])).toEqual([
      [1, T0],
      [2, T0]
    ])
    expect(task.writes.runsAdded.map((r) => [r.workflowId, r.status, r.lastSeq])).toEqual([
      ["w", "running", 2]
    ])
    expect(task.writes.retire).toEqual(["w"])
    expect(task.writes.runsChanged).toEqual([])
    expect(task.after).toEqual([
      {
        _tag: "DispatchActivity",
        task: expect.objectContaining({ runId: run.row.runId, cmd: 1, name: "greet" })
      }
    ])
    // The caller is told by the commit, not by the task.
    expect(task.acks).toHaveLength(1)
    expect(h.acked).toEqual([])
    expect(run.phase._tag).toBe("Live")
  })

  it("invariant 3: a step writes its events only; the close writes the row with its result, and RunClosed follows the commit", () => {
    const h = harness([twice])
    const run = h.start(twice, "ada")
    h.task(run, [])
    const step = h.task(run, [{ type: "ActivityCompleted", cmd: 1, attempt: 1, result: "hello ada" }], 5)
    expect(typesOf(step)).toEqual(["ActivityCompleted", "ActivityScheduled"])
    expect([step.writes.runsAdded, step.writes.runsChanged]).toEqual([[], []])
    expect(step.row?.lastSeq).toBe(4)
    expect(tagsOf(step)).toEqual(["DispatchActivity"])

    const close = h.task(
      run,
      [{ type: "ActivityCompleted", cmd: 2, attempt: 1, result: "hello hello ada" }],
      9
    )
    expect(typesOf(close)).toEqual(["ActivityCompleted", "WorkflowCompleted"])
    expect(close.writes.runsChanged.map((r) => [r.status, r.resultJson, r.closedAt, r.lastSeq])).toEqual([
      ["completed", JSON.stringify("hello hello ada"), T0 + 9, 6]
    ])
    expect(close.after).toEqual([{ _tag: "RunClosed", run, status: "completed", nextRunId: undefined }])
    expect(run.phase._tag).toBe("Closed")
  })

  it("lineage invariant 5: a signal that reaches a run closed earlier in the same task is refused once the close commits; it is not appended", () => {
    const h = harness([once])
    const run = h.start(once, "ada")
    h.task(run, [])
    const told: Array<Exit.Exit<void, StoreError | WorkflowClosed>> = []
    run.inbox.push({ event: { type: "ActivityCompleted", cmd: 1, attempt: 1, result: "hi" } })
    run.inbox.push({
      event: { type: "SignalReceived", name: "poke", payload: 1 },
      ack: (exit) => void told.push(exit)
    })
    const task = h.task(run, [])
    expect(typesOf(task)).toEqual(["ActivityCompleted", "WorkflowCompleted"])
    expect(told).toEqual([])
    for (const ack of task.acks) ack(Exit.void)
    expect(told).toHaveLength(1)
    const refused = told[0]!
    expect(
      Exit.isFailure(refused) && refused.cause._tag === "Fail" ? refused.cause.error : undefined
    ).toMatchObject({
      _tag: "WorkflowClosed",
      workflowId: "w",
      status: "completed"
    })
  })

  it("invariant 2 and lineage invariant 2: a child that cannot start fails in the same write set as the command that started it", () => {
    const h = harness([parentOf(unregistered, "kid")])
    const run = h.start(parentOf(unregistered, "kid"), null)
    const task = h.task(run, [])
    expect(typesOf(task)).toEqual([
      "WorkflowStarted",
      "ChildWorkflowStarted",
      "ChildWorkflowFailed",
      "WorkflowCompleted"
    ])
    expect(task.events[2]).toMatchObject({ cmd: 1, error: { name: "UnknownName" } })
    expect(task.writes.runsAdded.map((r) => r.workflowId)).toEqual(["w"])
    expect(h.table.current("kid")).toBeUndefined()
  })

  it("lineage invariant 1: a child that can start is written with its parent's command, and runs once that commit lands", () => {
    const parent = parentOf(waiter, "kid")
    const h = harness([parent, waiter])
    const run = h.start(parent, null)
    const task = h.task(run, [])
    expect(typesOf(task)).toEqual(["WorkflowStarted", "ChildWorkflowStarted"])
    const kid = h.table.current("kid")!
    expect(kid.phase._tag).toBe("Creating")
    expect(kid.row.parent).toEqual({ workflowId: "w", runId: run.row.runId, cmd: 1 })
    // The child's row first: the parent's is added once its task is done.
    expect(task.writes.runsAdded.map((r) => r.workflowId)).toEqual(["kid", "w"])
    expect(task.writes.events.filter((e) => e.runId === kid.row.runId).map((e) => e.seq)).toEqual([1])
    expect(task.newRuns).toEqual([kid])
    expect(tagsOf(task)).toEqual(["RunCreated"])
  })

  it("invariant 4: a snapshot segment is written once snapshotEvery events have passed since the last, and it decodes to the history it covers", () => {
    const h = harness([twice], 3)
    const run = h.start(twice, "ada")
    const first = h.task(run, [])
    expect(first.writes.snapshots).toEqual([])
    const second = h.task(run, [{ type: "ActivityCompleted", cmd: 1, attempt: 1, result: "hello ada" }])
    expect(second.writes.snapshots.map((s) => s.seq)).toEqual([4])
    const snapshot = decodeSnapshot(second.writes.snapshots)!
    expect(snapshot.seq).toBe(4)
    expect(snapshot.events.map((e) => e.type)).toEqual(written(first, second).map((e) => e.type))
    // The next segment counts from there: two more events are not enough.
    const third = h.task(run, [{ type: "ActivityCompleted", cmd: 2, attempt: 1, result: "x" }])
    expect(third.writes.snapshots).toEqual([])
  })

  it("invariant 5 and engine invariant 4: a recovered run's rebuild starts its open activities and timers again, but not what this task brings", () => {
    const h = harness([both])
    const live = h.start(both, "ada", "b")
    const history = written(h.task(live, []))
    expect(history.map((e) => e.type)).toEqual(["WorkflowStarted", "ActivityScheduled", "TimerStarted"])
    const [greetCmd, timerCmd] = history.slice(1).map((e) => (e as { cmd: number }).cmd)

    const h2 = harness([both])
    const run = recovered({ ...live.row }, both)
    h2.table.add(run)
    const task = h2.task(run, [{ type: "TimerFired", cmd: timerCmd! }], 60_000, {
      snapshot: undefined,
      tail: history
    })
    expect(h2.restarted).toEqual([{ activities: [greetCmd], timers: [] }])
    expect(typesOf(task)).toEqual(["TimerFired"])
    expect(run.phase._tag).toBe("Live")
    // Started again once only: the run's open work is held from now on.
    h2.table.evict(run)
    h2.task(run, [{ type: "ActivityCompleted", cmd: greetCmd!, attempt: 1, result: "hi" }], 60_001, {
      snapshot: undefined,
      tail: [...history, ...written(task)]
    })
    expect(h2.restarted).toHaveLength(1)
  })

  it("invariant 6 and engine invariant 5: a replay that diverges marks the run stuck; its instance goes and what arrives is still appended", () => {
    const h = harness([twice])
    const live = h.start(twice, "ada")
    const history = written(h.task(live, []))

    const h2 = harness([renamed])
    const run = recovered({ ...live.row }, renamed)
    h2.table.add(run)
    woken(run)
    const task = h2.task(run, [{ type: "ActivityCompleted", cmd: 1, attempt: 1, result: "hi" }], 7, {
      snapshot: undefined,
      tail: history
    })
    expect(run.row.status).toBe("stuck")
    expect(h2.stuck.map((r) => r.runId)).toEqual([run.row.runId])
    expect(task.writes.runsChanged.map((r) => r.status)).toEqual(["stuck"])
    expect(JSON.parse(run.row.divergenceJson!)).toMatchObject({ cmd: 1 })
    expect(typesOf(task)).toEqual(["ActivityCompleted"])
    expect(run.phase).toEqual({ _tag: "Evicted", due: false, dispatched: true })
  })

  it("engine invariant 5: a run whose workflow type is not registered is stuck when woken, naming the types known", () => {
    const h = harness([twice])
    const row = newRow({ workflowId: "u", definition: unregistered, input: null, parent: undefined, now: T0 })
    const run = recovered(row, undefined)
    h.table.add(run)
    woken(run)
    const task = h.task(run, [])
    expect(task.writes.runsChanged.map((r) => r.status)).toEqual(["stuck"])
    expect(JSON.parse(run.row.divergenceJson!).reason).toBe(
      'workflow type "unregistered" is not registered with this engine; known: twice'
    )
    expect(run.phase).toEqual({ _tag: "Evicted", due: false, dispatched: false })
  })

  it("invariant 3: a task with nothing to apply leaves nothing to write (its callers are told at once, by task-commit)", () => {
    const h = harness([waiter])
    const run = h.start(waiter, null)
    h.task(run, [])
    const idle = h.task(run, [])
    expect(idle.row).toBeUndefined()
    expect(idle.events).toEqual([])
  })
})
