/**
 * What the engine keeps in memory is bounded by what is open or watched now (issue 22 item
 * 11), counted by `engine.retained()`, not by measuring the heap.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { defineSignal, waitForSignal, workflow } from "../../core"
import { Engine, EngineLive } from "../../runtime"
import { settle, streamToEnd, tempDb } from "../support/engine-harness"

const Go = defineSignal("go", Schema.Number)
const waiting = workflow("waiting", { input: Schema.Number, signals: [Go] }, function* (n) {
  return n + (yield* waitForSignal(Go))
})

/** What the engine holds with `open` runs (each cached) of which `streamed` are streamed. */
const holding = (open: number, streamed: number) => ({
  openRuns: open,
  instances: open,
  streamedRuns: streamed,
  parentsWithChildren: 0
})

describe("retained entries", () => {
  it.scoped("a workflow streamed before, while and after it runs keeps no entry once it has finished", () =>
    Effect.gen(function* () {
      const engine = yield* Engine
      const ids = Array.from({ length: 20 }, (_, i) => `w${i}`)
      yield* Effect.forEach(ids, (id, i) => engine.start("waiting", i, { id }), { concurrency: "unbounded" })
      yield* settle
      // A subscriber that leaves while the run is open, one that follows it to its end...
      const left = yield* Effect.fork(Effect.flatMap(engine.subscribe("w0"), Stream.runDrain))
      const followers = yield* Effect.forEach(ids, (id) => Effect.fork(streamToEnd(id)))
      yield* settle
      expect(engine.retained()).toEqual(holding(20, 20))
      yield* Fiber.interrupt(left)
      yield* Effect.forEach(ids, (id) => engine.signal(id, "go", 1), { concurrency: "unbounded" })
      yield* Effect.forEach(followers, Fiber.join)
      // ...and one that streams the finished runs.
      yield* Effect.forEach(ids, streamToEnd, { concurrency: "unbounded" })
      yield* settle
      expect(engine.retained()).toEqual(holding(0, 0))
    }).pipe(
      Effect.provide(EngineLive({ dbPath: tempDb("retained").dbPath, workflows: [waiting], activities: [] }))
    )
  )
})
