/**
 * The engine as a Layer: its parts made and wired together (wiring only; each part is its
 * own module, with its own invariants). Recovery runs when the layer is built; releasing it
 * drains: writes are refused (`ShuttingDown`) and what was accepted commits.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { WorkflowDefinition } from "../../core"
import { makeActivityExecutor, type RegisteredActivity } from "../activities"
import { Engine } from "../engine-api"
import type { StoreError } from "../errors"
import { longSleeps } from "../long-sleeps"
import { makeGroupCommitter, StoreLive, WorkflowStore, type StoreConfig } from "../store"
import { makeTimerQueue } from "../timer-queue"
import { makeApi } from "./api"
import { makeLineage } from "./lineage"
import { makeReaders } from "./readers"
import { recover } from "./recovery"
import { makeRunTable } from "./run-table"
import { makeRunStreams } from "./streams"
import { afterCommitActions, makeTaskCommits } from "./task-commit"
import { makeTaskLoop } from "./task-loop"
import { outcomeEvent, runWorkflowTask, type WorkflowTaskContext } from "./workflow-task"

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

/** The engine and the store it runs on (`StoreLive`: SQLite, or PostgreSQL with a database URL). */
export interface EngineConfig extends EngineOptions, StoreConfig {}

const makeEngine = (config: EngineOptions) =>
  Effect.gen(function* () {
    const store = yield* WorkflowStore
    const committer = yield* makeGroupCommitter
    const clock = yield* Effect.clock
    const now = () => clock.unsafeCurrentTimeMillis()
    const snapshotEvery = config.snapshotEvery ?? 100
    const definitions = new Map(config.workflows.map((w) => [w.name, w]))
    const table = makeRunTable(config.cacheSize ?? 10_000)
    const streams = makeRunStreams(store)
    const loop = yield* makeTaskLoop({ store, table, snapshotEvery })
    const { deliver, schedule } = loop
    const lineage = makeLineage({ table, streams, definitions, snapshotEvery, deliver, schedule })
    const executor = yield* makeActivityExecutor(config.activities, config.activityConcurrency ?? 200, {
      report: (task, outcome) => {
        const run = table.byRunId(task.runId)
        if (run) deliver(run, { event: outcomeEvent(task, outcome) })
      },
      emit: (task, chunk) =>
        streams.publish(task.runId, { _tag: "chunk", cmd: task.cmd, activity: task.name, chunk })
    })
    const timers = yield* makeTimerQueue((runId, cmd) => {
      const run = table.byRunId(runId)
      if (run) deliver(run, { event: { type: "TimerFired", cmd } })
    })
    const commits = makeTaskCommits({
      submit: committer.submit,
      table,
      streams,
      schedule,
      perform: afterCommitActions({
        dispatchActivity: executor.dispatch,
        cancelActivity: executor.cancel,
        startTimer: timers.add,
        cancelTimer: timers.remove,
        lineage
      })
    })
    const tasks: WorkflowTaskContext = {
      definitions,
      snapshotEvery,
      lineage,
      evict: table.evict,
      restart: (run, activities, open) => {
        for (const activity of activities) executor.dispatch(activity)
        for (const [cmd, fireAt] of open) timers.add(run.row.runId, cmd, fireAt)
      },
      foundStuck: loop.foundStuck
    }
    yield* loop.start({
      run: (run, loaded, at) => runWorkflowTask(tasks, run, loaded, at),
      commit: commits.commit,
      releaseReaders: commits.releaseReaders
    })
    yield* recover({ store, table, definitions, loop, startTimer: timers.add, lineage })

    let closing = false
    // Draining on release: refuse new work, let what was accepted commit.
    yield* Effect.addFinalizer(() =>
      Effect.gen(function* () {
        closing = true
        yield* committer.flush
      })
    )
    return makeApi({
      store,
      table,
      streams,
      readers: makeReaders({ store, table, definitions, schedule }),
      workflows: config.workflows,
      definitions,
      snapshotEvery,
      deliver,
      lineage,
      timerDue: timers.fireAt,
      now,
      closing: () => closing
    })
  })

/**
 * The engine on the `WorkflowStore` it is given: recovery runs when the layer is built;
 * releasing it drains. It runs on the clock it is given with sleeps of any length (timers,
 * retry delays and timeouts past 24.8 days fire on time: see long-sleeps.ts).
 *
 * @example Effect.provide(program, EngineOnStore({ workflows, activities }).pipe(Layer.provide(store)))
 */
export const EngineOnStore = (options: EngineOptions): Layer.Layer<Engine, StoreError, WorkflowStore> =>
  Layer.scoped(
    Engine,
    Effect.clockWith((clock) => Effect.withClock(makeEngine(options), longSleeps(clock)))
  )

/**
 * The engine on the store its configuration selects: PostgreSQL when `databaseUrl` (else
 * `DATABASE_URL`) names one, its SQLite file otherwise. A database another engine holds, or
 * one from a newer version, fails the layer with a `StoreError` naming why.
 *
 * @example Effect.provide(program, EngineLive({ dbPath: "./data/temporal-lite.db", workflows, activities }))
 */
export const EngineLive = (config: EngineConfig): Layer.Layer<Engine, StoreError> =>
  EngineOnStore(config).pipe(Layer.provide(StoreLive(config)))
