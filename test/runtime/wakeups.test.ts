/**
 * No lost wake-ups: signals, timers and activity completions for many workflows while the
 * instance cache is tiny, so instances are evicted and rebuilt in the middle of deliveries.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/TestClock"
import { activity, all, defineSignal, sleep, waitForSignal, workflow } from "../../core"
import { Engine, EngineLive, implement } from "../../runtime"
import { settle, tempDb } from "../support/engine-harness"

const Go = defineSignal("go", Schema.Number)
const double = activity("double", { input: Schema.Number, output: Schema.Number })
const busy = workflow("busy", { input: Schema.Number, signals: [Go] }, function* (n) {
  const a = yield* double(n)
  const [signalled] = yield* all([waitForSignal(Go), sleep("1 minute")])
  const b = yield* double(signalled)
  yield* sleep("30 seconds")
  const c = yield* waitForSignal(Go)
  return a + b + c
})

const COUNT = 1000

describe("no lost wake-ups", () => {
  it.scoped(
    `invariant 3: ${COUNT} workflows with a cache of 8 all complete; none waits on an event that was stored`,
    () =>
      Effect.gen(function* () {
        const engine = yield* Engine
        const ids = Array.from({ length: COUNT }, (_, i) => `w${i}`)
        yield* Effect.forEach(ids, (id, i) => engine.start("busy", i, { id }), { concurrency: 100 })
        // Signals race the activities and the timers: half arrive before the workflow waits.
        yield* Effect.forEach(ids, (id, i) => engine.signal(id, "go", i), { concurrency: 100 })
        yield* TestClock.adjust("1 minute")
        yield* settle
        yield* Effect.forEach(ids, (id) => engine.signal(id, "go", 1), { concurrency: 100 })
        yield* TestClock.adjust("30 seconds")
        let open = ids.length
        for (let round = 0; round < 200 && open > 0; round++) {
          yield* settle
          const running = yield* engine.list({ status: "running", limit: 1000 })
          open = running.workflows.length
        }
        expect(open).toBe(0)
        const results = yield* Effect.forEach(
          ids,
          (id) => Effect.map(engine.describe(id), (d) => [d.status, d.result]),
          {
            concurrency: 50
          }
        )
        expect(results).toEqual(ids.map((_, i) => ["completed", 2 * i + 2 * i + 1]))
      }).pipe(
        Effect.provide(
          EngineLive({
            dbPath: tempDb("wakeups").dbPath,
            workflows: [busy],
            activities: [implement(double, (n) => 2 * n)],
            cacheSize: 8,
            snapshotEvery: 4
          })
        )
      ),
    120_000
  )
})
