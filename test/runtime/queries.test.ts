/**
 * Queries and describe on the real engine and a real SQLite file: on an evicted instance, and
 * while commits of the run are in flight, held at the gated store's gate (engine invariants 2
 * and 3).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import { defineQuery, defineSignal, onQuery, waitForSignal, workflow } from "../../core"
import { Engine } from "../../runtime"
import { awaitClosed, engineLayer, settle, stillRunning } from "../support/engine-harness"
import { onGatedEngine } from "../support/gated-store"

describe("queries", () => {
  const Count = defineQuery<number>("count")
  const Bad = defineQuery<number>("bad")
  const Bump = defineSignal("bump")
  const counter = workflow("counter", { signals: [Bump], queries: [Count, Bad] }, function* () {
    let count = 0
    yield* onQuery(Count, () => count)
    yield* onQuery(Bad, () => {
      throw new Error("handler broke")
    })
    for (;;) {
      yield* waitForSignal(Bump)
      count++
    }
  })

  it.scoped(
    "invariant 3: a query on an evicted instance replays it first; a throwing handler answers its error",
    () =>
      Effect.gen(function* () {
        const engine = yield* Engine
        for (const id of ["c1", "c2", "c3"]) yield* engine.start("counter", undefined, { id })
        yield* engine.signal("c1", "bump", undefined)
        yield* engine.signal("c1", "bump", undefined)
        for (const id of ["c2", "c3"]) yield* engine.signal(id, "bump", undefined)
        expect(yield* engine.query("c1", "count")).toBe(2)
        expect(yield* engine.query("c3", "count")).toBe(1)
        const failed = yield* Effect.flip(engine.query("c1", "bad"))
        expect(failed.message).toBe(`query "bad" failed: handler broke`)
        yield* engine.signal("c1", "bump", undefined)
        expect(yield* engine.query("c1", "count")).toBe(3)
        const unknown = yield* Effect.flip(engine.query("c1", "size"))
        expect(unknown.message).toBe(`unknown query "size" of workflow type "counter"; known: "count", "bad"`)
      }).pipe(Effect.provide(engineLayer([counter], [], { cacheSize: 1 })))
  )

  it.scoped("invariant 2: a query or describe waits for the commit that records what it would show", () =>
    onGatedEngine([counter], [], (control) =>
      Effect.gen(function* () {
        const engine = yield* Engine
        yield* engine.start("counter", undefined, { id: "g1" })
        yield* engine.signal("g1", "bump", undefined)
        expect(yield* engine.query("g1", "count")).toBe(1)
        yield* control.gate.close
        const signalled = yield* Effect.fork(engine.signal("g1", "bump", undefined))
        yield* settle
        const queried = yield* Effect.fork(engine.query("g1", "count"))
        const described = yield* Effect.fork(engine.describe("g1"))
        yield* settle
        // The bump is applied in memory, but not recorded: neither reader may see it yet.
        expect(
          yield* Effect.all([stillRunning(signalled), stillRunning(queried), stillRunning(described)])
        ).toEqual([true, true, true])
        yield* control.gate.open
        yield* Fiber.join(signalled)
        expect(yield* Fiber.join(queried)).toBe(2)
        expect((yield* Fiber.join(described)).lastEventType).toBe("SignalReceived")
      })
    )
  )

  it.scoped(
    "invariant 2: a query is answered from the commit in flight as it came, while signals keep coming",
    () =>
      onGatedEngine([counter], [], (control) =>
        Effect.gen(function* () {
          const engine = yield* Engine
          yield* engine.start("counter", undefined, { id: "busy" })
          const bump = Effect.fork(engine.signal("busy", "bump", undefined))
          yield* control.gate.close
          // The first bump's commit waits at the gate; the query comes, then more bumps, like many clients.
          const first = yield* bump
          yield* settle
          const queried = yield* Effect.fork(engine.query("busy", "count"))
          yield* settle
          const later: Array<Fiber.RuntimeFiber<void, unknown>> = []
          for (let i = 0; i < 3; i++) {
            later.push(yield* bump)
            yield* settle
          }
          // One commit goes through, the gate staying closed: a run that took the later bumps
          // meanwhile would have its next commit in flight now, and the query would wait on.
          yield* control.gate.release
          yield* settle
          expect(yield* stillRunning(queried)).toBe(false)
          expect(yield* Fiber.join(queried)).toBe(1)
          yield* Fiber.join(first)
          expect(yield* Effect.all(later.map(stillRunning))).toEqual([true, true, true])
          yield* control.gate.open
          yield* Effect.forEach(later, Fiber.join)
          expect(yield* engine.query("busy", "count")).toBe(4)
        })
      )
  )

  it.scoped("a query waiting on a new run whose first commit fails is answered from the store", () =>
    onGatedEngine([counter], [], (control) =>
      Effect.gen(function* () {
        const engine = yield* Engine
        yield* engine.start("counter", undefined, { id: "g2" })
        yield* engine.signal("g2", "bump", undefined)
        yield* engine.cancel("g2")
        expect(yield* awaitClosed("g2")).toBe("cancelled")
        yield* control.gate.close
        control.failNext = true
        const started = yield* Effect.fork(Effect.either(engine.start("counter", undefined, { id: "g2" })))
        yield* settle
        const queried = yield* Effect.fork(engine.query("g2", "count"))
        yield* settle
        yield* control.gate.open
        expect((yield* Fiber.join(started))._tag).toBe("Left")
        // The closed run, as the store holds it.
        expect(yield* Fiber.join(queried)).toBe(1)
      })
    )
  )
})
