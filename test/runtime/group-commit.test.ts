/**
 * Group commit (runtime/group-commit.ts) when the store refuses one write set of a batch
 * (issue 22 item 2): the others are committed without it, so one bad write fails only itself.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Schema from "effect/Schema"
import { defineSignal, waitForSignal, workflow } from "../../core"
import { Engine, StoreError } from "../../runtime"
import { engineOnWrappedStore, settle, tempDb } from "../support/engine-harness"

const Note = defineSignal("note", Schema.String)
const inbox = workflow("inbox", { input: Schema.Null, signals: [Note] }, function* () {
  return yield* waitForSignal(Note)
})

/**
 * The real store, its commits held while `gate` is closed, refusing (as SQLite refuses a
 * write that breaks a constraint) every commit holding an event of workflow `refused`;
 * `attempts` lists the workflow ids of each commit tried, and whether it went through.
 */
const refusingEngine = (refused: string) => {
  const control = {
    gate: Effect.runSync(Effect.makeLatch(true)),
    attempts: [] as Array<readonly [ReadonlyArray<string>, "committed" | "refused"]>
  }
  const idsOf = (events: ReadonlyArray<{ readonly body: string }>) => [
    ...new Set(events.map((e) => (JSON.parse(e.body) as { workflowId: string }).workflowId))
  ]
  const layer = engineOnWrappedStore(
    { workflows: [inbox], activities: [] },
    { filename: tempDb("refusing").dbPath },
    (real) => ({
      commit: (writes) =>
        Effect.gen(function* () {
          yield* control.gate.await
          const ids = idsOf(writes.events)
          if (ids.includes(refused)) {
            control.attempts.push([ids, "refused"])
            return yield* new StoreError({
              reason: "Rejected",
              message: "commit failed: write refused (SQLITE_CONSTRAINT_UNIQUE: UNIQUE constraint failed)"
            })
          }
          yield* real.commit(writes)
          control.attempts.push([ids, "committed"])
        })
    })
  )
  return { control, layer }
}

describe("group commit", () => {
  it.scoped(
    "invariant 4: a write set the store refuses fails alone; the others of its batch are committed without it",
    () => {
      const { control, layer } = refusingEngine("bad")
      return Effect.gen(function* () {
        const engine = yield* Engine
        yield* control.gate.close
        const first = yield* Effect.fork(engine.start("inbox", null, { id: "a" }))
        yield* settle
        // Gathered while the first commit waits: one batch of four.
        const others = yield* Effect.forEach(["b", "bad", "c", "d"], (id) =>
          Effect.fork(Effect.either(engine.start("inbox", null, { id })))
        )
        yield* settle
        yield* control.gate.open
        yield* Fiber.join(first)
        const outcomes = yield* Effect.forEach(others, Fiber.join)
        expect(
          outcomes.map((o) =>
            o._tag === "Right" ? o.right.status : o.left._tag === "StoreError" ? o.left.reason : o.left._tag
          )
        ).toEqual(["running", "Rejected", "running", "running"])
        expect(control.attempts).toEqual([
          [["a"], "committed"],
          [["b", "bad", "c", "d"], "refused"],
          [["b", "bad"], "refused"],
          [["b"], "committed"],
          [["bad"], "refused"],
          [["c", "d"], "committed"]
        ])
        // Stored, and going on: a signal completes each.
        for (const id of ["a", "b", "c", "d"]) yield* engine.signal(id, "note", `to ${id}`)
        yield* settle
        const results = yield* Effect.forEach(["a", "b", "c", "d"], (id) =>
          Effect.map(engine.describe(id), (d) => [d.status, d.result])
        )
        expect(results).toEqual(["a", "b", "c", "d"].map((id) => ["completed", `to ${id}`]))
        expect((yield* Effect.flip(engine.describe("bad")))._tag).toBe("WorkflowNotFound")
      }).pipe(Effect.provide(layer))
    }
  )
})
