/**
 * Helpers for tests that run the real engine on a real SQLite file in a temp folder.
 */
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Layer from "effect/Layer"
import type { HistoryEvent, WorkflowDefinition } from "../../core"
import {
  Engine,
  EngineLive,
  EngineOnStore,
  SqliteStore,
  StoreError,
  WorkflowStore,
  type EngineOptions,
  type RegisteredActivity,
  type RunStatus,
  type SqliteStoreOptions,
  type StreamItem
} from "../../runtime"

/** A fresh folder under the OS temp dir, and the database path in it. */
export const tempDb = (label = "engine") => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `tl-${label}-`))
  return { dir, dbPath: path.join(dir, "temporal-lite.db") }
}

/** The engine on a real SQLite file (a fresh one in a temp folder unless `dbPath` is given). */
export const engineLayer = (
  workflows: ReadonlyArray<WorkflowDefinition<any, any>>,
  activities: ReadonlyArray<RegisteredActivity> = [],
  options: { readonly dbPath?: string; readonly cacheSize?: number; readonly snapshotEvery?: number } = {}
) =>
  EngineLive({
    dbPath: options.dbPath ?? tempDb().dbPath,
    workflows,
    activities,
    cacheSize: options.cacheSize,
    snapshotEvery: options.snapshotEvery
  })

/** Lets every runnable fiber and pending I/O callback run (the engine's work is all in-process). */
export const settle = Effect.gen(function* () {
  for (let i = 0; i < 10; i++) {
    yield* Effect.yieldNow()
    yield* Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))
  }
})

/** Every stream item of the workflow up to its end. */
export const streamToEnd = (id: string) =>
  Effect.flatMap(Engine, (engine) => Effect.flatMap(engine.subscribe(id), Stream.runCollect)).pipe(
    Effect.map((items) => [...items])
  )

/** Waits (without moving the clock) until the workflow closes; its final status. */
export const awaitClosed = (id: string) =>
  Effect.flatMap(Engine, (engine) => Effect.flatMap(engine.subscribe(id), Stream.runLast)).pipe(
    Effect.map((last) => {
      const item = Option.getOrUndefined(last) as StreamItem | undefined
      return item?._tag === "end" ? item.status : ("running" as RunStatus)
    })
  )

/**
 * Moves the TestClock forward in `step`s, letting the engine settle after each, until the
 * workflow closes; fails after `maxSteps` so a test that would hang fails instead.
 */
export const runUntilClosed = (id: string, step: Duration.DurationInput = "1 second", maxSteps = 200) =>
  Effect.gen(function* () {
    const closed = yield* Effect.fork(awaitClosed(id))
    for (let i = 0; i < maxSteps; i++) {
      yield* settle
      const done = yield* Fiber.poll(closed)
      if (Option.isSome(done)) return yield* Fiber.join(closed)
      yield* TestClock.adjust(step)
    }
    yield* Fiber.interrupt(closed)
    return yield* Effect.dieMessage(
      `workflow ${id} did not close within ${maxSteps} steps of ${Duration.format(step)}`
    )
  })

/** Waits until `check` holds, settling in between (no clock movement); fails after `attempts`. */
export const eventually = <A>(check: Effect.Effect<A | undefined, any, Engine>, attempts = 200) =>
  Effect.gen(function* () {
    for (let i = 0; i < attempts; i++) {
      const value = yield* check
      if (value !== undefined && value !== false) return value
      yield* settle
    }
    return yield* Effect.dieMessage("condition not reached")
  })

/** Waits (without moving the clock) until the workflow exists and waits for a signal. */
export const awaitingSignal = (id: string) =>
  Effect.flatMap(Engine, (engine) =>
    eventually(
      Effect.map(
        Effect.either(engine.describe(id)),
        (d) => d._tag === "Right" && d.right.pending.signals.length === 1
      )
    )
  )

/**
 * The store `real` builds, with some of its operations replaced: `wrap` gets the real store
 * and returns the replacements (a commit that counts, fails or waits).
 */
export const wrappedStore = (
  real: Layer.Layer<WorkflowStore, StoreError>,
  wrap: (real: WorkflowStore["Type"]) => Partial<WorkflowStore["Type"]>
): Layer.Layer<WorkflowStore, StoreError> =>
  Layer.effect(
    WorkflowStore,
    Effect.map(WorkflowStore, (store) => WorkflowStore.of({ ...store, ...wrap(store) }))
  ).pipe(Layer.provide(real))

/** The engine on the real SQLite store with some of the store's operations replaced (`wrappedStore`). */
export const engineOnWrappedStore = (
  options: EngineOptions,
  store: SqliteStoreOptions,
  wrap: (real: WorkflowStore["Type"]) => Partial<WorkflowStore["Type"]>
) => EngineOnStore(options).pipe(Layer.provide(wrappedStore(SqliteStore(store), wrap)))

/** The current run's history events. */
export const historyOf = (id: string) =>
  Effect.flatMap(Engine, (engine) => engine.history(id)).pipe(
    Effect.map((h) => h.events as ReadonlyArray<HistoryEvent>)
  )

/** The events of one type, typed as that event. */
export const eventsOfType = <T extends HistoryEvent["type"]>(events: ReadonlyArray<HistoryEvent>, type: T) =>
  events.filter((e): e is Extract<HistoryEvent, { type: T }> => e.type === type)

/**
 * Waits (without moving the clock, without polling: the run's stream tells each commit) until
 * the current run of `id` has committed `count` events of `type`; those events. Fails if the
 * run ends first.
 */
export const awaitEvents = <T extends HistoryEvent["type"]>(id: string, type: T, count = 1) =>
  Effect.gen(function* () {
    const engine = yield* Engine
    const stream = yield* engine.subscribe(id)
    const seen = yield* stream.pipe(
      Stream.takeUntil((item) => item._tag === "end"),
      Stream.filterMap((item) =>
        item._tag === "history" && item.event.type === type
          ? Option.some(item.event as Extract<HistoryEvent, { type: T }>)
          : Option.none()
      ),
      Stream.take(count),
      Stream.runCollect
    )
    if (seen.length < count)
      return yield* Effect.dieMessage(`workflow ${id} ended with ${seen.length} ${type} events of ${count}`)
    return [...seen]
  })

/** Whether the fiber is still running. */
export const stillRunning = (fiber: Fiber.Fiber<unknown, unknown>) =>
  Effect.map(Fiber.poll(fiber), Option.isNone)

/**
 * An activity implementation the test steers: `started` completes when its first attempt
 * begins, and every attempt ends with what `finish` gives it; `calls` counts the attempts.
 */
export const heldActivity = <O>() => {
  const started = Deferred.unsafeMake<void>(FiberId.none)
  const result = Deferred.unsafeMake<O>(FiberId.none)
  let calls = 0
  return {
    get calls() {
      return calls
    },
    started: Deferred.await(started),
    finish: (value: O) => Deferred.succeed(result, value),
    run: () => {
      calls++
      return Effect.zipRight(Deferred.succeed(started, undefined), Deferred.await(result))
    }
  }
}
