/**
 * Runs activity tasks: at least once, with retries, timeouts, heartbeats and cancellation.
 *
 * Invariants:
 * 1. A task is in the executor only while its row is in the store without a completion;
 *    once the engine records a completion the task is never run again.
 * 2. At most `concurrency` attempts run at once; a task waiting out its backoff holds no slot.
 * 3. Every attempt's outcome is reported to the engine exactly once: completed, failed for
 *    good, or failed with the time of the next attempt (which the engine records before the
 *    executor retries, so a restart resumes the backoff where it was).
 * 4. A cancelled task's AbortSignal fires, its attempt is interrupted, and no outcome of it
 *    is reported.
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Cause from "effect/Cause"
import * as Fiber from "effect/Fiber"
import * as Queue from "effect/Queue"
import * as Runtime from "effect/Runtime"
import * as Schema from "effect/Schema"
import * as Data from "effect/Data"
import { toErrorInfo, type ActivityOptions, type ErrorInfo } from "../core"
import type { ActivityContext, RegisteredActivity } from "./activity"
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

const taskKey = (runId: string, cmd: number) => `${runId}\u0000${cmd}`

const schemaError = (what: string, activity: string, error: unknown): ErrorInfo => ({
  name: "InvalidActivityPayload",
  message: `activity "${activity}": invalid ${what}: ${(error as Error).message}`,
  nonRetryable: true
})

export const makeActivityExecutor = (
  registered: ReadonlyArray<RegisteredActivity>,
  concurrency: number,
  callbacks: ExecutorCallbacks
) =>
  Effect.gen(function* () {
    const registry = new Map(registered.map((r) => [r.definition.activityName, r]))
    const queue = yield* Queue.unbounded<ActivityTask>()
    const running = new Map<
      string,
      { controller: AbortController; fiber?: Fiber.RuntimeFiber<unknown, unknown> }
    >()
    const cancelled = new Set<string>()
    const clock = yield* Effect.clock
    // Forks from callbacks run on the engine's runtime, so they see its Clock (TestClock in tests).
    const runFork = Runtime.runFork(yield* Effect.runtime<never>())

    const attempt = (task: ActivityTask, activity: RegisteredActivity, controller: AbortController) =>
      Effect.gen(function* () {
        const number = task.failedAttempts + 1
        let lastBeat = clock.unsafeCurrentTimeMillis()
        let lastDetails = task.lastHeartbeat
        const input = activity.definition.input
          ? yield* Schema.decodeUnknown(activity.definition.input)(task.input).pipe(
              Effect.mapError((e) => schemaError("input", task.name, e))
            )
          : task.input
        const context: ActivityContext = {
          workflowId: task.workflowId,
          runId: task.runId,
          cmd: task.cmd,
          activityName: task.name,
          attempt: number,
          idempotencyKey: `${task.workflowId}/${task.cmd}`,
          signal: controller.signal,
          lastHeartbeat: task.lastHeartbeat,
          heartbeat(details) {
            lastBeat = clock.unsafeCurrentTimeMillis()
            if (details !== undefined) lastDetails = details
          },
          emit(chunk) {
            if (!controller.signal.aborted) callbacks.emit(task, chunk)
          }
        }
        let body: Effect.Effect<unknown, unknown> = Effect.suspend(() => {
          const out = activity.run(input, context)
          if (Effect.isEffect(out)) return out as Effect.Effect<unknown, unknown>
          if (
            out !== null &&
            typeof out === "object" &&
            typeof (out as PromiseLike<unknown>).then === "function"
          ) {
            return Effect.tryPromise({ try: () => out as PromiseLike<unknown>, catch: (e) => e })
          }
          return Effect.succeed(out)
        }).pipe(Effect.catchAllDefect((defect) => Effect.fail(defect)))
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
        const exit = yield* Effect.exit(body.pipe(Effect.onExit(() => Effect.sync(() => controller.abort()))))
        if (Exit.isSuccess(exit)) {
          const output = activity.definition.output
            ? yield* Schema.encodeUnknown(activity.definition.output)(exit.value).pipe(
                Effect.mapError((e) => schemaError("output", task.name, e))
              )
            : exit.value
          return { result: output }
        }
        const failure = Cause.squash(exit.cause)
        return yield* Effect.fail({ error: toErrorInfo(failure), details: lastDetails })
      }).pipe(
        Effect.mapError((e): { error: ErrorInfo; details: unknown } =>
          "error" in (e as object)
            ? (e as { error: ErrorInfo; details: unknown })
            : { error: e as ErrorInfo, details: task.lastHeartbeat }
        )
      )

    const run = (task: ActivityTask) =>
      Effect.gen(function* () {
        const k = taskKey(task.runId, task.cmd)
        if (cancelled.delete(k)) return
        const activity = registry.get(task.name)
        const number = task.failedAttempts + 1
        if (!activity) {
          callbacks.report(task, {
            _tag: "Failed",
            attempt: number,
            error: {
              name: "UnknownActivity",
              message: `no implementation registered for activity "${task.name}"; registered: ${[...registry.keys()].join(", ") || "none"}`,
              nonRetryable: true
            }
          })
          return
        }
        const controller = new AbortController()
        const entry: { controller: AbortController; fiber?: Fiber.RuntimeFiber<unknown, unknown> } = {
          controller
        }
        running.set(k, entry)
        const fiber = yield* Effect.fork(attempt(task, activity, controller))
        entry.fiber = fiber as Fiber.RuntimeFiber<unknown, unknown>
        const exit = yield* Fiber.await(fiber)
        running.delete(k)
        if (cancelled.has(k) || Exit.isInterrupted(exit)) {
          cancelled.delete(k)
          return
        }
        if (Exit.isSuccess(exit)) {
          callbacks.report(task, { _tag: "Completed", attempt: number, result: exit.value.result })
          return
        }
        const { error, details } = Cause.squash(exit.cause) as { error: ErrorInfo; details: unknown }
        const policy = resolvePolicy(task.options.retry)
        const delay = nextRetryDelay(policy, number, error)
        if (delay === undefined) {
          callbacks.report(task, { _tag: "Failed", attempt: number, error })
          return
        }
        const nextAttemptAt = (yield* Clock.currentTimeMillis) + delay
        callbacks.report(task, {
          _tag: "AttemptFailed",
          attempt: number,
          error,
          nextAttemptAt,
          lastHeartbeat: details
        })
        yield* dispatchLater({
          ...task,
          failedAttempts: number,
          notBefore: nextAttemptAt,
          lastHeartbeat: details
        })
      })

    /** Invariant 2: a backoff waits outside the worker pool. */
    const dispatchLater = (task: ActivityTask) =>
      Effect.gen(function* () {
        const wait = task.notBefore - (yield* Clock.currentTimeMillis)
        if (wait <= 0) return Queue.unsafeOffer(queue, task)
        yield* Effect.sleep(Duration.millis(wait)).pipe(
          Effect.zipRight(Effect.sync(() => Queue.unsafeOffer(queue, task))),
          Effect.forkDaemon
        )
      })

    yield* Effect.forEach(
      Array.from({ length: concurrency }),
      () => Queue.take(queue).pipe(Effect.flatMap(run), Effect.forever, Effect.forkScoped),
      { discard: true }
    )

    return {
      dispatch: (task: ActivityTask) => void runFork(dispatchLater(task)),
      /** Invariant 4: aborts a running attempt and drops the task. */
      cancel(runId: string, cmd: number) {
        const k = taskKey(runId, cmd)
        cancelled.add(k)
        const entry = running.get(k)
        if (entry) {
          entry.controller.abort()
          if (entry.fiber) runFork(Fiber.interrupt(entry.fiber))
        }
      },
      running: () => running.size,
      knows: (name: string) => registry.has(name),
      names: () => [...registry.keys()]
    }
  })

export type ActivityExecutor = Effect.Effect.Success<ReturnType<typeof makeActivityExecutor>>
