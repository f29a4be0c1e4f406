/**
 * Runs activity tasks: at least once, with retries, timeouts, heartbeats and cancellation.
 *
 * Invariants:
 * 1. A task is in the executor only while its history records it scheduled and not ended;
 *    once the engine records a completion the task is never run again.
 * 2. At most `concurrency` attempts run at once; a task waiting out its backoff holds no slot.
 *    An attempt without timeouts is a plain call (no fiber): the common case costs what the
 *    implementation costs; timeouts and heartbeats run it under Effect's Clock.
 * 3. Every attempt's outcome is reported to the engine exactly once: completed, failed for
 *    good, or failed with the time of the next attempt (which the engine records before the
 *    executor retries, so a restart resumes the backoff where it was).
 * 4. A cancelled task's AbortSignal fires, its attempt is interrupted, and no outcome of it
 *    is reported.
 * 5. Values cross as core/codec.ts says: each attempt gets its own decoded copy of the recorded
 *    input, and a result is encoded by the output schema into an owned copy when the attempt
 *    returns; one that does not fit, or that JSON cannot hold, fails the activity for good
 *    (`InvalidActivityPayload`, naming the field). Heartbeat details are checked and copied
 *    when given: what the next attempt is handed is the same live and after a restart.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Cause from "effect/Cause"
import * as Fiber from "effect/Fiber"
import * as FiberSet from "effect/FiberSet"
import * as Data from "effect/Data"
import * as Either from "effect/Either"
import {
  InvalidPayload,
  codecOf,
  toErrorInfo,
  toJson,
  type ActivityOptions,
  type Codec,
  type CodecIssue,
  type ErrorInfo
} from "../core"
import type { ActivityContext, RegisteredActivity } from "./activity"
import { commandKey } from "./command-key"
import { nextRetryDelay, resolvePolicy } from "./retry-policy"

export interface ActivityTask {
  readonly workflowId: string
  readonly runId: string
  readonly cmd: number
  readonly name: string
  readonly input: unknown
  readonly options: ActivityOptions
  /** Attempts already failed. */
  readonly failedAttempts: number
  readonly notBefore: number
  readonly lastHeartbeat: unknown
}

export type ActivityOutcome =
  | { readonly _tag: "Completed"; readonly attempt: number; readonly result: unknown }
  | { readonly _tag: "Failed"; readonly attempt: number; readonly error: ErrorInfo }
  | {
      readonly _tag: "AttemptFailed"
      readonly attempt: number
      readonly error: ErrorInfo
      readonly nextAttemptAt: number
      readonly lastHeartbeat: unknown
    }

export interface ExecutorCallbacks {
  readonly report: (task: ActivityTask, outcome: ActivityOutcome) => void
  readonly emit: (task: ActivityTask, chunk: unknown) => void
}

class AttemptTimeout extends Data.TaggedError("ActivityTimeout")<{ readonly message: string }> {}
class HeartbeatTimeout extends Data.TaggedError("HeartbeatTimeout")<{ readonly message: string }> {}

/**
 * An attempt's AbortSignal, made when the implementation first reads `ctx.signal`: most never
 * do, and an AbortController (an EventTarget with its own maps) costs more than a no-op step.
 */
class AttemptAbort {
  private controller: AbortController | undefined
  aborted = false
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController()
      if (this.aborted) this.controller.abort()
    }
    return this.controller.signal
  }
  abort() {
    if (this.aborted) return
    this.aborted = true
    this.controller?.abort()
  }
}

/** An implementation with its payload codecs, looked up once. */
interface Registered extends RegisteredActivity {
  readonly input: Codec<unknown>
  readonly output: Codec<unknown>
}

/** An attempt under way: its abort, and its fiber when it runs as one. */
interface Running {
  readonly controller: AttemptAbort
  fiber?: Fiber.RuntimeFiber<unknown, unknown>
}

const payloadError = (root: "input" | "result", activity: string, issue: CodecIssue): ErrorInfo => ({
  name: "InvalidActivityPayload",
  message: InvalidPayload.of(`${root} of activity "${activity}"`, root, issue).message,
  nonRetryable: true
})

export const makeActivityExecutor = (
  registered: ReadonlyArray<RegisteredActivity>,
  concurrency: number,
  callbacks: ExecutorCallbacks
) =>
  Effect.gen(function* () {
    const registry = new Map<string, Registered>(
      registered.map((r) => [
        r.definition.activityName,
        { ...r, input: codecOf(r.definition.input), output: codecOf(r.definition.output) }
      ])
    )
    const running = new Map<string, Running>()
    /** Dispatched, not started yet: queued for a slot or waiting out a retry's backoff. */
    const pending = new Set<string>()
    /** Running or pending tasks whose outcome is to be dropped; each key leaves when its task does. */
    const cancelled = new Set<string>()
    const waiting: Array<ActivityTask> = []
    let active = 0
    const clock = yield* Effect.clock
    // Forks from callbacks run on the engine's runtime, so they see its Clock (TestClock in
    // tests), and in its scope: a released engine runs no retry and no attempt of its own.
    const runFork = yield* FiberSet.makeRuntime<never>()
    // Nor does it start what was queued: an attempt that ends after the release frees a slot
    // that nothing takes. (Finalizers run in reverse: this before the forks are interrupted.)
    let released = false
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        released = true
        waiting.length = 0
      })
    )

    const contextFor = (
      task: ActivityTask,
      controller: AttemptAbort,
      beat: (details: unknown) => void
    ): ActivityContext => ({
      workflowId: task.workflowId,
      runId: task.runId,
      cmd: task.cmd,
      activityName: task.name,
      attempt: task.failedAttempts + 1,
      idempotencyKey: `${task.workflowId}/${task.cmd}`,
      get signal() {
        return controller.signal
      },
      // Its own copy: what one attempt does to it is not what the next is handed.
      lastHeartbeat: Either.getOrUndefined(toJson(task.lastHeartbeat)),
      heartbeat(details) {
        // Invariant 5: checked and copied here, where the implementation gives them.
        const copied = toJson(details)
        if (Either.isLeft(copied))
          throw InvalidPayload.of(`heartbeat details of activity "${task.name}"`, "details", copied.left)
        beat(copied.right)
      },
      emit(chunk) {
        if (!controller.aborted) callbacks.emit(task, chunk)
      }
    })

    /** What an implementation returned, as an Effect: value, Promise or Effect alike. */
    const lift = (out: unknown): Effect.Effect<unknown, unknown> => {
      if (Effect.isEffect(out))
        return (out as Effect.Effect<unknown, unknown>).pipe(Effect.catchAllDefect(Effect.fail))
      if (isThenable(out)) return Effect.tryPromise({ try: () => out, catch: (e) => e })
      return Effect.succeed(out)
    }

    /** An attempt under timeouts or heartbeats: Effect's Clock decides when it has taken too long. */
    const supervised = (task: ActivityTask, activity: Registered, input: unknown, controller: AttemptAbort) =>
      Effect.gen(function* () {
        const number = task.failedAttempts + 1
        let lastBeat = clock.unsafeCurrentTimeMillis()
        let lastDetails = task.lastHeartbeat
        const context = contextFor(task, controller, (details) => {
          lastBeat = clock.unsafeCurrentTimeMillis()
          if (details !== undefined) lastDetails = details
        })
        let body: Effect.Effect<unknown, unknown> = Effect.suspend(() => {
          try {
            return lift(activity.run(input, context))
          } catch (error) {
            return Effect.fail(error)
          }
        })
        if (task.options.timeoutMs !== undefined) {
          const ms = task.options.timeoutMs
          body = Effect.timeoutFail(body, {
            duration: Duration.millis(ms),
            onTimeout: () =>
              new AttemptTimeout({ message: `attempt ${number} did not finish within ${ms} ms` })
          })
        }
        if (task.options.heartbeatTimeoutMs !== undefined) {
          const ms = task.options.heartbeatTimeoutMs
          const watchdog: Effect.Effect<never, HeartbeatTimeout> = Effect.suspend(() => {
            const silentFor = clock.unsafeCurrentTimeMillis() - lastBeat
            return silentFor >= ms
              ? Effect.fail(
                  new HeartbeatTimeout({ message: `no heartbeat for ${silentFor} ms (timeout ${ms} ms)` })
                )
              : Effect.zipRight(Effect.sleep(Duration.millis(ms - silentFor)), watchdog)
          })
          body = Effect.raceFirst(body, watchdog)
        }
        return yield* Effect.mapError(body, (error) => ({ error, details: lastDetails }))
      })

    const start = (task: ActivityTask) => {
      if (released) return
      const k = commandKey(task.runId, task.cmd)
      pending.delete(k)
      if (cancelled.delete(k)) return release()
      const activity = registry.get(task.name)
      if (!activity) {
        const known = [...registry.keys()].join(", ") || "none"
        callbacks.report(task, {
          _tag: "Failed",
          attempt: task.failedAttempts + 1,
          error: {
            name: "UnknownActivity",
            message: `no implementation registered for activity "${task.name}"; registered: ${known}`,
            nonRetryable: true
          }
        })
        return release()
      }
      // Invariant 5: the attempt's own copy of the recorded input.
      const input = activity.input.decode(task.input)
      if (Either.isLeft(input)) {
        const error = payloadError("input", task.name, input.left)
        return finish(task, activity, Exit.fail({ error, details: task.lastHeartbeat }))
      }
      const controller = new AttemptAbort()
      const entry: Running = { controller }
      running.set(k, entry)
      if (task.options.timeoutMs !== undefined || task.options.heartbeatTimeoutMs !== undefined) {
        return observe(task, activity, entry, supervised(task, activity, input.right, controller))
      }
      // No heartbeat timeout to watch, but the last details still go to the next attempt.
      let details = task.lastHeartbeat
      let out: unknown
      try {
        out = activity.run(
          input.right,
          contextFor(task, controller, (beat) => {
            if (beat !== undefined) details = beat
          })
        )
      } catch (error) {
        return finish(task, activity, Exit.fail({ error, details }), controller)
      }
      if (Effect.isEffect(out))
        return observe(
          task,
          activity,
          entry,
          Effect.mapError(lift(out), (error) => ({ error, details }))
        )
      if (isThenable(out)) {
        return void Promise.resolve(out).then(
          (value) => finish(task, activity, Exit.succeed(value), controller),
          (error) => finish(task, activity, Exit.fail({ error, details }), controller)
        )
      }
      finish(task, activity, Exit.succeed(out), controller)
    }

    /** An attempt run as a fiber: under timeouts or heartbeats, or an Effect implementation. */
    const observe = (
      task: ActivityTask,
      activity: Registered,
      entry: Running,
      attempt: Effect.Effect<unknown, { error: unknown; details: unknown }>
    ) => {
      const fiber = runFork(attempt)
      entry.fiber = fiber
      fiber.addObserver((exit) => finish(task, activity, exit, entry.controller))
    }

    /** Invariant 3: reports the attempt's outcome once, and schedules the retry if there is one. */
    const finish = (
      task: ActivityTask,
      activity: Registered,
      exit: Exit.Exit<unknown, { error: unknown; details: unknown }>,
      controller?: AttemptAbort
    ) => {
      const k = commandKey(task.runId, task.cmd)
      running.delete(k)
      release()
      if (cancelled.delete(k) || Exit.isInterrupted(exit)) return
      const number = task.failedAttempts + 1
      let failure: { error: ErrorInfo; details: unknown }
      if (Exit.isSuccess(exit)) {
        const output = activity.output.encode(exit.value)
        if (Either.isRight(output))
          return callbacks.report(task, { _tag: "Completed", attempt: number, result: output.right })
        failure = { error: payloadError("result", task.name, output.left), details: task.lastHeartbeat }
      } else {
        const squashed = Cause.squash(exit.cause) as { error: unknown; details: unknown }
        failure = {
          error: isErrorInfo(squashed.error) ? squashed.error : toErrorInfo(squashed.error),
          details: squashed.details
        }
      }
      // Aborting a signal that was read builds a DOMException with a stack: only for attempts
      // that did not succeed.
      controller?.abort()
      const delay = nextRetryDelay(resolvePolicy(task.options.retry), number, failure.error)
      if (delay === undefined)
        return callbacks.report(task, { _tag: "Failed", attempt: number, error: failure.error })
      const nextAttemptAt = clock.unsafeCurrentTimeMillis() + delay
      callbacks.report(task, {
        _tag: "AttemptFailed",
        attempt: number,
        error: failure.error,
        nextAttemptAt,
        lastHeartbeat: failure.details
      })
      dispatch({ ...task, failedAttempts: number, notBefore: nextAttemptAt, lastHeartbeat: failure.details })
    }

    const release = () => {
      active--
      const next = waiting.shift()
      if (next) {
        active++
        start(next)
      }
    }

    /** Invariant 2: due tasks take a slot or queue for one; a backoff waits outside the pool. */
    const enqueue = (task: ActivityTask) => {
      if (active < concurrency) {
        active++
        start(task)
      } else {
        waiting.push(task)
      }
    }

    /** A task already in hand (queued, backing off or running) is not taken a second time. */
    const dispatch = (task: ActivityTask) => {
      const k = commandKey(task.runId, task.cmd)
      if (released || pending.has(k) || running.has(k)) return
      pending.add(k)
      const wait = task.notBefore - clock.unsafeCurrentTimeMillis()
      if (wait > 0) {
        runFork(Effect.sleep(Duration.millis(wait)).pipe(Effect.zipRight(Effect.sync(() => enqueue(task)))))
      } else {
        enqueue(task)
      }
    }

    return {
      dispatch,
      /** Invariant 4: aborts a running attempt and drops the task. */
      cancel(runId: string, cmd: number) {
        const k = commandKey(runId, cmd)
        const entry = running.get(k)
        // A task that already finished has nothing to drop (its outcome is reported or lost).
        if (entry || pending.has(k)) cancelled.add(k)
        if (entry) {
          entry.controller.abort()
          if (entry.fiber) runFork(Fiber.interrupt(entry.fiber))
        }
      }
    }
  })

const isThenable = (value: unknown): value is PromiseLike<unknown> =>
  value !== null && typeof value === "object" && typeof (value as PromiseLike<unknown>).then === "function"

const isErrorInfo = (value: unknown): value is ErrorInfo =>
  typeof value === "object" &&
  value !== null &&
  !(value instanceof Error) &&
  typeof (value as ErrorInfo).name === "string" &&
  typeof (value as ErrorInfo).message === "string"
