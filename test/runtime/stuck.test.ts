/**
 * Stuck workflows on the real engine and a real SQLite file: a replay that diverges from the
 * code deployed marks the run stuck (engine invariant 5), and code that matches resumes it.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { activity, defineSignal, waitForSignal, workflow } from "../../core"
import { Engine, implement } from "../../runtime"
import { awaitClosed, awaitingSignal, engineLayer, tempDb } from "../support/engine-harness"

describe("stuck workflows", () => {
  const a = activity("a", { output: Schema.String })
  const b = activity("b", { output: Schema.String })
  const Go = defineSignal("go")
  const v1 = workflow("versioned", { signals: [Go] }, function* () {
    const x = yield* a()
    yield* waitForSignal(Go)
    return x
  })
  const v2 = workflow("versioned", { signals: [Go] }, function* () {
    const x = yield* b()
    yield* waitForSignal(Go)
    return x
  })
  const impls = [implement(a, () => "from a"), implement(b, () => "from b")]

  it.scoped(
    "invariant 5: a divergence marks the run stuck, not failed; restarting with matching code resumes it",
    () =>
      Effect.gen(function* () {
        const { dbPath } = tempDb("stuck")
        yield* Effect.gen(function* () {
          const engine = yield* Engine
          yield* engine.start("versioned", undefined, { id: "v" })
          yield* awaitingSignal("v")
        }).pipe(Effect.provide(engineLayer([v1], impls, { dbPath })), Effect.scoped)

        yield* Effect.gen(function* () {
          const engine = yield* Engine
          // A describe waits for the run's rebuild (recovery's, or the one it asks for itself) and
          // its commit: the divergence is found and recorded by then.
          const d = yield* engine.describe("v")
          expect(d.status).toBe("stuck")
          expect(d.divergence).toMatchObject({
            cmd: 1,
            expected: { kind: "ActivityScheduled", name: "a" },
            actual: { kind: "Activity", name: "b" }
          })
          yield* engine.signal("v", "go", undefined)
          expect((yield* engine.describe("v")).status).toBe("stuck")
        }).pipe(Effect.provide(engineLayer([v2], impls, { dbPath })), Effect.scoped)

        yield* Effect.gen(function* () {
          const engine = yield* Engine
          expect(yield* awaitClosed("v")).toBe("completed")
          expect((yield* engine.describe("v")).result).toBe("from a")
        }).pipe(Effect.provide(engineLayer([v1], impls, { dbPath })), Effect.scoped)
      })
  )
})
