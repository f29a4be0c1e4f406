/**
 * The activity executor (runtime/activities/executor.ts) on its own, without an engine or a
 * store: tasks go in, outcomes come out through `report`, time is TestClock's and each
 * implementation is released by hand. Titles name the executor's invariants.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/TestClock"
import { activity, type ActivityDefinition } from "../../core"
import {
  implement,
  makeActivityExecutor,
  NonRetryableError,
  type ActivityOutcome,
  type ActivityTask,
  type RegisteredActivity
} from "../../runtime/activities"
import { settle } from "../support/engine-harness"

/** An outcome as a row: cmd, kind, attempt, error name and message, when the next attempt is due. */
type Row = readonly [number, ActivityOutcome["_tag"], number, ...Array<unknown>]

/** The executor over `registered`, noting every outcome it reports (and every chunk). */
const executorOf = (registered: ReadonlyArray<RegisteredActivity>, concurrency = 10) =>
  Effect.gen(function* () {
    const reported: Array<Row> = []
    const chunks: Array<unknown> = []
    const executor = yield* makeActivityExecutor(registered, concurrency, {
      report: (task, outcome) =>
        reported.push(
          outcome._tag === "Completed"
            ? [task.cmd, outcome._tag, outcome.attempt, outcome.result]
            : outcome._tag === "Failed"
              ? [task.cmd, outcome._tag, outcome.attempt, outcome.error.name, outcome.error.message]
              : [
                  task.cmd,
                  outcome._tag,
                  outcome.attempt,
                  outcome.error.name,
                  outcome.error.message,
                  outcome.nextAttemptAt
                ]
        ),
      emit: (_, chunk) => chunks.push(chunk)
    })
    return { executor, reported, chunks }
  })

/** The task of `definition`'s first attempt, at cmd `cmd`, due now. */
const taskOf = (
  definition: ActivityDefinition<any, any>,
  cmd: number,
  input: unknown = null
): ActivityTask => ({
  workflowId: "w",
  runId: "r",
  cmd,
  name: definition.activityName,
  input,
  options: definition.options,
  failedAttempts: 0,
  notBefore: 0,
  lastHeartbeat: undefined
})

/** A promise per call, settled by the test: `release(i, value)` resolves the i-th call's. */
const manual = () => {
  const calls: Array<{ resolve: (value: unknown) => void; reject: (error: unknown) => void }> = []
  return {
    calls,
    run: (): Promise<any> => new Promise((resolve, reject) => void calls.push({ resolve, reject }))
  }
}

describe("activity executor", () => {
  const flaky = activity("flaky", { output: Schema.String, retry: { initialInterval: "1 second" } })

  it.scoped(
    "invariant 3: each failed attempt is reported once with when the next is due, and the next runs then",
    () =>
      Effect.gen(function* () {
        const seen: Array<number> = []
        const { executor, reported } = yield* executorOf([
          implement(flaky, (_, ctx) => {
            seen.push(ctx.attempt)
            if (ctx.attempt < 3) throw new Error(`boom ${ctx.attempt}`)
            return `ok on ${ctx.attempt}`
          })
        ])
        executor.dispatch(taskOf(flaky, 1))
        yield* settle
        expect(reported).toEqual([[1, "AttemptFailed", 1, "Error", "boom 1", 1000]])
        yield* TestClock.adjust("999 millis")
        yield* settle
        expect(seen).toEqual([1])
        yield* TestClock.adjust("1 millis")
        yield* settle
        yield* TestClock.adjust("2 seconds")
        yield* settle
        expect(reported).toEqual([
          [1, "AttemptFailed", 1, "Error", "boom 1", 1000],
          [1, "AttemptFailed", 2, "Error", "boom 2", 3000],
          [1, "Completed", 3, "ok on 3"]
        ])
        expect(seen).toEqual([1, 2, 3])
      })
  )

  it.scoped("a task already held (queued, backing off or running) is not taken a second time", () =>
    Effect.gen(function* () {
      const gate = manual()
      const { executor, reported } = yield* executorOf([implement(flaky, gate.run)])
      executor.dispatch(taskOf(flaky, 1))
      executor.dispatch(taskOf(flaky, 1))
      yield* settle
      expect(gate.calls.length).toBe(1)
      gate.calls[0]!.resolve("once")
      yield* settle
      expect(reported).toEqual([[1, "Completed", 1, "once"]])
    })
  )

  const refuse = activity("refuse", { output: Schema.String })

  it.scoped("a NonRetryableError fails the activity on its first attempt, recorded non-retryable", () =>
    Effect.gen(function* () {
      const failures: Array<unknown> = []
      const executor = yield* makeActivityExecutor(
        [
          implement(refuse, () => {
            throw new NonRetryableError({ message: "bad request", details: { status: 400 } })
          })
        ],
        1,
        { report: (_, outcome) => failures.push(outcome), emit: () => {} }
      )
      executor.dispatch(taskOf(refuse, 4))
      yield* settle
      expect(failures).toEqual([
        {
          _tag: "Failed",
          attempt: 1,
          error: {
            name: "NonRetryableError",
            message: "bad request",
            stack: expect.stringContaining("NonRetryableError: bad request"),
            details: { status: 400 },
            nonRetryable: true
          }
        }
      ])
    })
  )

  const slow = activity("slow", {
    output: Schema.String,
    timeout: "5 seconds",
    retry: { maximumAttempts: 2, initialInterval: "1 second" }
  })

  it.scoped(
    "a start-to-close timeout fails the attempt as AttemptTimeout and aborts its signal; the policy retries it",
    () =>
      Effect.gen(function* () {
        const aborted: Array<number> = []
        const { executor, reported } = yield* executorOf([
          implement(slow, (_, ctx) => {
            ctx.signal.addEventListener("abort", () => aborted.push(ctx.attempt))
            return new Promise<string>(() => {})
          })
        ])
        executor.dispatch(taskOf(slow, 2))
        yield* settle
        yield* TestClock.adjust("5 seconds")
        yield* settle
        expect(reported).toEqual([
          [2, "AttemptFailed", 1, "AttemptTimeout", "attempt 1 did not finish within 5000 ms", 6000]
        ])
        yield* TestClock.adjust("1 second")
        yield* settle
        yield* TestClock.adjust("5 seconds")
        yield* settle
        expect(reported.slice(1)).toEqual([
          [2, "Failed", 2, "AttemptTimeout", "attempt 2 did not finish within 5000 ms"]
        ])
        expect(aborted).toEqual([1, 2])
      })
  )

  const beating = activity("beating", {
    output: Schema.Unknown,
    heartbeatTimeout: "2 seconds",
    retry: { initialInterval: "1 second" }
  })

  it.scoped(
    "a silent attempt fails as HeartbeatTimeout; the next is handed the last heartbeat's details",
    () =>
      Effect.gen(function* () {
        const handed: Array<unknown> = []
        const { executor, reported } = yield* executorOf([
          implement(beating, (_, ctx) =>
            Effect.gen(function* () {
              handed.push(ctx.lastHeartbeat)
              if (ctx.attempt > 1) return { resumedFrom: ctx.lastHeartbeat }
              ctx.heartbeat({ page: 1 })
              yield* Effect.sleep("1 second")
              ctx.heartbeat({ page: 2 })
              return yield* Effect.never
            })
          )
        ])
        executor.dispatch(taskOf(beating, 1))
        yield* settle
        yield* TestClock.adjust("1 second")
        yield* settle
        yield* TestClock.adjust("1999 millis")
        yield* settle
        expect(reported).toEqual([])
        yield* TestClock.adjust("1 millis")
        yield* settle
        expect(reported).toEqual([
          [1, "AttemptFailed", 1, "HeartbeatTimeout", "no heartbeat for 2000 ms (timeout 2000 ms)", 4000]
        ])
        yield* TestClock.adjust("1 second")
        yield* settle
        expect(reported.slice(1)).toEqual([[1, "Completed", 2, { resumedFrom: { page: 2 } }]])
        expect(handed).toEqual([undefined, { page: 2 }])
      })
  )

  const one = activity("one", { output: Schema.String })
  const two = activity("two", { output: Schema.String })

  it.scoped(
    "invariant 2: at most `concurrency` attempts run at once; a task waiting out its backoff holds no slot",
    () =>
      Effect.gen(function* () {
        const first = manual()
        const second = manual()
        const { executor, reported } = yield* executorOf(
          [implement(one, first.run), implement(two, second.run)],
          1
        )
        executor.dispatch(taskOf(one, 1))
        executor.dispatch(taskOf(two, 2))
        yield* settle
        expect([first.calls.length, second.calls.length]).toEqual([1, 0])
        first.calls[0]!.reject(new Error("down"))
        yield* settle
        // The failed one backs off for a second; the queued one takes the slot meanwhile.
        expect([first.calls.length, second.calls.length]).toEqual([1, 1])
        yield* TestClock.adjust("1 second")
        yield* settle
        expect(first.calls.length).toBe(1)
        second.calls[0]!.resolve("two done")
        yield* settle
        expect(first.calls.length).toBe(2)
        first.calls[1]!.resolve("one done")
        yield* settle
        expect(reported).toEqual([
          [1, "AttemptFailed", 1, "Error", "down", 1000],
          [2, "Completed", 1, "two done"],
          [1, "Completed", 2, "one done"]
        ])
      })
  )

  it.scoped(
    "invariant 4: a cancelled task's signal fires, and nothing of it is reported, running or backing off",
    () =>
      Effect.gen(function* () {
        const running = manual()
        const aborted: Array<number> = []
        let backingOff = 0
        const { executor, reported } = yield* executorOf([
          implement(one, (_, ctx) => {
            ctx.signal.addEventListener("abort", () => aborted.push(ctx.cmd))
            return running.run()
          }),
          implement(flaky, () => {
            backingOff++
            throw new Error("down")
          })
        ])
        executor.dispatch(taskOf(one, 1))
        executor.dispatch(taskOf(flaky, 2))
        yield* settle
        executor.cancel("r", 1)
        executor.cancel("r", 2)
        running.calls[0]!.resolve("too late")
        yield* TestClock.adjust("1 minute")
        yield* settle
        expect(aborted).toEqual([1])
        expect(backingOff).toBe(1)
        expect(reported).toEqual([[2, "AttemptFailed", 1, "Error", "down", 1000]])
      })
  )

  it.scoped("a released executor runs no retry and starts nothing it had queued", () =>
    Effect.gen(function* () {
      const busy = manual()
      let calls = 0
      yield* Effect.gen(function* () {
        const { executor } = yield* executorOf(
          [
            implement(one, busy.run),
            implement(flaky, () => {
              calls++
              throw new Error("down")
            })
          ],
          1
        )
        executor.dispatch(taskOf(flaky, 1))
        yield* settle
        executor.dispatch(taskOf(one, 2))
        executor.dispatch(taskOf(two, 3))
        yield* settle
      }).pipe(Effect.scoped)
      busy.calls[0]!.resolve("ends after the release")
      yield* TestClock.adjust("1 minute")
      yield* settle
      expect([calls, busy.calls.length]).toEqual([1, 1])
    })
  )

  const typed = activity("typed", { input: Schema.Number, output: Schema.Number })

  it.scoped(
    "invariant 5: an unregistered activity, and a result its schema refuses, fail for good naming why",
    () =>
      Effect.gen(function* () {
        const { executor, reported } = yield* executorOf([implement(typed, () => "not a number" as never)])
        executor.dispatch(taskOf(flaky, 1))
        executor.dispatch(taskOf(typed, 2, 5))
        yield* settle
        expect(reported).toEqual([
          [
            1,
            "Failed",
            1,
            "UnknownActivity",
            `no implementation registered for activity "flaky"; registered: typed`
          ],
          [2, "Failed", 1, "InvalidActivityPayload", expect.stringContaining(`result of activity "typed"`)]
        ])
      })
  )

  it.scoped("an implementation's chunks go to the side channel as it emits them", () =>
    Effect.gen(function* () {
      const { executor, reported, chunks } = yield* executorOf([
        implement(one, (_, ctx) => {
          ctx.emit("a")
          ctx.emit("b")
          return "ab"
        })
      ])
      executor.dispatch(taskOf(one, 1))
      yield* settle
      expect([chunks, reported]).toEqual([["a", "b"], [[1, "Completed", 1, "ab"]]])
    })
  )
})
