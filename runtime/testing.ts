/**
 * A test kit for workflows, as Temporal's `TestWorkflowEnvironment` is for its SDK: the real
 * engine on a SQLite file in a fresh temp folder, time that skips, and activity mocks by name.
 * Built on the public runtime API only; imported from `runtime/testing` so that production
 * code never loads it.
 *
 * Invariants:
 * 1. Time moves only when the test says so (`sleep`) or waits for a result (`result`), and
 *    then one due timer at a time, each after the engine has done all it can at the time
 *    before: the order of events is what the workflow's timers make it, never a race.
 * 2. Time never moves while an activity attempt runs: an attempt doing real I/O finishes at
 *    the time it started, as it would in a second, not after the timeout that a jump fired.
 * 3. The temp folder and its database are removed when the environment's scope closes, after
 *    the engine has stopped.
 */
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import type { WorkflowDefinition } from "../core"
import {
  Engine,
  EngineLive,
  UnknownName,
  type ActivityImplementation,
  type RegisteredActivity,
  type StoreError
} from "./index"

export interface TestWorkflowEnvironmentOptions {
  readonly workflows: ReadonlyArray<WorkflowDefinition<any, any>>
  /** The activity implementations, as the engine takes them. */
  readonly activities?: ReadonlyArray<RegisteredActivity>
  /**
   * Replacements for registered activities, by activity name: the workflow calls the activity
   * as always (its schemas, retries and timeouts apply) and the mock runs instead of the
   * implementation. A name no activity of `activities` has fails the layer with `UnknownName`.
   */
  readonly mocks?: { readonly [activityName: string]: ActivityImplementation<any, any> }
}

/**
 * The engine under test and the test's control of time. Needs the `TestClock` (the default
 * clock of `@effect/vitest`'s `it.effect` and `it.scoped`, or `TestContext.TestContext`).
 *
 * @example
 * it.scoped("a review nobody approves times out after 7 days", () =>
 *   Effect.gen(function* () {
 *     const env = yield* TestWorkflowEnvironment
 *     const run = yield* env.engine.start(codeReview, { code })
 *     yield* env.sleep("7 days")
 *     expect(yield* env.result(run)).toMatchObject({ outcome: "timed-out" })
 *   }).pipe(Effect.provide(TestWorkflowEnvironment.layer({ workflows, activities })))
 * )
 */
export class TestWorkflowEnvironment extends Context.Tag("temporal-lite/TestWorkflowEnvironment")<
  TestWorkflowEnvironment,
  {
    /** The real engine, on `dbPath`. */
    readonly engine: Engine["Type"]
    /** The SQLite file in the environment's temp folder. */
    readonly dbPath: string
    /**
     * Skips `duration` of time: fires every timer due within it, in order, letting the engine
     * finish what each one starts before the next (invariants 1 and 2).
     */
    readonly sleep: (duration: Duration.DurationInput) => Effect.Effect<void>
    /**
     * `engine.result`, skipping time while it waits: whenever the engine has nothing left to
     * do now and no activity attempt runs, the clock jumps to the next timer. Fails as
     * `engine.result` does; a run that waits for a signal no one sends never closes.
     */
    readonly result: Engine["Type"]["result"]
    /** Lets the engine do everything it can without time passing. */
    readonly settle: Effect.Effect<void>
  }
>() {
  /** The environment on a fresh temp folder, removed when the scope closes (invariant 3). */
  static layer(
    options: TestWorkflowEnvironmentOptions
  ): Layer.Layer<TestWorkflowEnvironment, StoreError | UnknownName> {
    return Layer.scoped(TestWorkflowEnvironment, make(options))
  }
}

const make = (options: TestWorkflowEnvironmentOptions) =>
  Effect.gen(function* () {
    const attempts = new AttemptGauge()
    const activities = yield* withMocks(options.activities ?? [], options.mocks ?? {})
    const dir = yield* Effect.acquireRelease(
      Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "temporal-lite-test-"))),
      (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
    )
    const dbPath = path.join(dir, "temporal-lite.db")
    const context = yield* Layer.build(
      EngineLive({
        dbPath,
        workflows: options.workflows,
        activities: activities.map((registered) => attempts.counting(registered))
      })
    )
    const engine = Context.get(context, Engine)

    /** Invariant 2: the engine's work at this instant, including every activity attempt it started. */
    const settle = Effect.gen(function* () {
      do {
        yield* attempts.idle
        for (let i = 0; i < 20; i++) {
          yield* Effect.yieldNow()
          yield* Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))
        }
      } while (attempts.running > 0)
    })

    /** Invariant 1: moves the clock to the earliest pending sleep up to `until`; false if there is none. */
    const nextTimer = (until: number) =>
      Effect.gen(function* () {
        const due = Chunk.toReadonlyArray(yield* TestClock.sleeps())
        const next = due.length === 0 ? undefined : Math.min(...due)
        if (next === undefined || next > until) return false
        yield* TestClock.setTime(next)
        return true
      })

    const sleep = (duration: Duration.DurationInput) =>
      Effect.gen(function* () {
        const until = (yield* Clock.currentTimeMillis) + Duration.toMillis(duration)
        do yield* settle
        while (yield* nextTimer(until))
        yield* TestClock.setTime(until)
        yield* settle
      })

    const result = ((target: any, resultOptions?: any) =>
      Effect.gen(function* () {
        const waiting = yield* Effect.fork(engine.result(target, resultOptions))
        for (;;) {
          yield* settle
          const done = yield* Fiber.poll(waiting)
          if (Option.isSome(done)) return yield* Fiber.join(waiting)
          // Nothing due: what the run waits for comes from outside the clock (a signal sent by
          // another fiber of the test), so give it a moment of real time.
          if (!(yield* nextTimer(Number.POSITIVE_INFINITY)))
            yield* Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, 1)))
        }
      })) as Engine["Type"]["result"]

    return TestWorkflowEnvironment.of({ engine, dbPath, sleep, result, settle })
  })

/** The activities with the mocks in place of the implementations of the same name. */
const withMocks = (
  activities: ReadonlyArray<RegisteredActivity>,
  mocks: { readonly [activityName: string]: ActivityImplementation<any, any> }
) =>
  Effect.gen(function* () {
    const known = activities.map((registered) => registered.definition.activityName)
    const unknown = Object.keys(mocks).find((name) => !known.includes(name))
    if (unknown !== undefined)
      return yield* Effect.fail(new UnknownName({ kind: "activity", name: unknown, known }))
    return activities.map((registered) => {
      const mock = mocks[registered.definition.activityName]
      return mock ? { definition: registered.definition, run: mock } : registered
    })
  })

/** Counts activity attempts running now, and wakes whoever waits for none to run. */
class AttemptGauge {
  running = 0
  private waiters: Array<() => void> = []

  /** Completes once no attempt runs. */
  readonly idle: Effect.Effect<void> = Effect.async<void>((resume) => {
    if (this.running === 0) return resume(Effect.void)
    const waiter = () => resume(Effect.void)
    this.waiters.push(waiter)
    return Effect.sync(() => {
      this.waiters = this.waiters.filter((w) => w !== waiter)
    })
  })

  /** The activity, counted while each attempt runs: a value, a Promise or an Effect. */
  counting(registered: RegisteredActivity): RegisteredActivity {
    const run: ActivityImplementation<any, any> = (input, context) => {
      this.running++
      let outcome: ReturnType<ActivityImplementation<any, any>>
      try {
        outcome = registered.run(input, context)
      } catch (error) {
        this.done()
        throw error
      }
      if (Effect.isEffect(outcome))
        return Effect.ensuring(
          outcome,
          Effect.sync(() => this.done())
        )
      if (outcome instanceof Promise) return outcome.finally(() => this.done())
      this.done()
      return outcome
    }
    return { definition: registered.definition, run }
  }

  private done(): void {
    if (--this.running > 0) return
    const waiters = this.waiters
    this.waiters = []
    for (const waiter of waiters) waiter()
  }
}
