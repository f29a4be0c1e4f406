/**
 * The test kit (runtime/testing.ts, issue 13 item 7): README's example as written, and its
 * invariants on time.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { existsSync } from "node:fs"
import { activity, defineSignal, sleep, waitForSignal, workflow } from "../../core"
import { implement } from "../../runtime"
import { TestWorkflowEnvironment } from "../../runtime/testing"

// README's "Writing a workflow", as written there.
const charge = activity("charge", {
  input: Schema.Number,
  output: Schema.String,
  retry: { maximumAttempts: 5 }
})
const Approve = defineSignal("approve", Schema.Boolean)
const order = workflow("order", { input: Schema.Number, signals: [Approve] }, function* (amount) {
  const approved = yield* waitForSignal(Approve, { timeout: "7 days" })
  if (!approved) return "declined"
  return yield* charge(amount)
})
const chargeImpl = implement(charge, (amount) => `receipt for ${amount}`)

describe("TestWorkflowEnvironment", () => {
  it.scoped("README's example: nobody approves, declined after 7 days", () =>
    Effect.gen(function* () {
      const env = yield* TestWorkflowEnvironment
      const run = yield* env.engine.start(order, 120)
      yield* env.sleep("7 days")
      expect(yield* env.result(run)).toBe("declined")
    }).pipe(Effect.provide(TestWorkflowEnvironment.layer({ workflows: [order], activities: [chargeImpl] })))
  )

  it.scoped("invariant 1: sleep fires each timer when due, in order, each at its own time", () =>
    Effect.gen(function* () {
      const env = yield* TestWorkflowEnvironment
      const start = yield* Clock.currentTimeMillis
      const run = yield* env.engine.start(ticks)
      yield* env.sleep("1 day")
      expect(yield* env.result(run)).toEqual([1, 2, 3].map((hours) => hours * 3_600_000))
      expect((yield* Clock.currentTimeMillis) - start).toBe(24 * 3_600_000)
    }).pipe(Effect.provide(TestWorkflowEnvironment.layer({ workflows: [ticks] })))
  )

  it.scoped(
    "invariant 2: time does not move while an activity attempt runs; result skips to the timeout",
    () =>
      Effect.gen(function* () {
        const env = yield* TestWorkflowEnvironment
        const run = yield* env.engine.start(slowThenWait)
        // The attempt resolves in real time (a few ms); the 1-second timeout must not fire meanwhile.
        expect(yield* env.result(run)).toEqual({ fetched: "done on attempt 1", waitedMs: 3 * 24 * 3_600_000 })
      }).pipe(
        Effect.provide(TestWorkflowEnvironment.layer({ workflows: [slowThenWait], activities: [slowImpl] }))
      )
  )

  it.scoped("invariant 3: the database lives in a temp folder removed with the environment", () =>
    Effect.gen(function* () {
      const dbPath = yield* Effect.scoped(
        Effect.gen(function* () {
          const env = yield* TestWorkflowEnvironment
          yield* env.engine.start(order, 1, { id: "o-1" })
          expect(existsSync(env.dbPath)).toBe(true)
          return env.dbPath
        }).pipe(Effect.provide(TestWorkflowEnvironment.layer({ workflows: [order] })))
      )
      expect(existsSync(dbPath)).toBe(false)
    })
  )
})

const ticks = workflow("ticks", {}, function* () {
  const seen: Array<number> = []
  const start = Date.now()
  for (let i = 0; i < 3; i++) {
    yield* sleep("1 hour")
    seen.push(Date.now() - start)
  }
  return seen
})

const fetchSlowly = activity("fetchSlowly", { output: Schema.String, timeout: "1 second" })
const slowImpl = implement(
  fetchSlowly,
  (_, ctx) =>
    new Promise<string>((resolve) => setTimeout(() => resolve(`done on attempt ${ctx.attempt}`), 20))
)
const slowThenWait = workflow("slowThenWait", { signals: [Approve] }, function* () {
  const fetched = yield* fetchSlowly()
  const start = Date.now()
  yield* waitForSignal(Approve, { timeout: "3 days" })
  return { fetched, waitedMs: Date.now() - start }
})
