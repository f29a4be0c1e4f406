/**
 * Workflow ids are checked where they enter the engine (issue 22, items 2 and 6): an id that
 * is not well-formed Unicode, or longer than MAX_WORKFLOW_ID_LENGTH characters, is refused
 * with a typed error by `start`, and a child whose id would be one fails in its parent's
 * history; nothing of either is stored.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { child, MAX_WORKFLOW_ID_LENGTH, workflow, type HistoryEvent } from "../../core"
import { Engine, EngineLive } from "../../runtime"
import { awaitClosed, tempDb } from "../support/engine-harness"

const leaf = workflow("leaf", {}, function* () {
  return "leaf done"
})
const parent = workflow("parentOf", {}, function* (childId: string) {
  return yield* child(leaf, undefined, { id: childId })
})

const engineLayer = () =>
  EngineLive({ dbPath: tempDb("names").dbPath, workflows: [leaf, parent], activities: [] })

describe("workflow ids at the engine's boundary", () => {
  it.scoped(
    "start refuses ids with a lone surrogate (two of them would read back as one) with InvalidWorkflowId",
    () =>
      Effect.gen(function* () {
        const engine = yield* Engine
        for (const id of ["ls-\ud800", "ls-\udc00", "\udbff"]) {
          const refused = yield* Effect.flip(engine.start("leaf", undefined, { id }))
          expect(refused._tag).toBe("InvalidWorkflowId")
          expect(refused.message).toContain("well-formed Unicode")
        }
        const listed = yield* engine.list({})
        expect(listed.workflows).toEqual([])
        // A well-formed id with a surrogate pair is fine.
        expect((yield* engine.start("leaf", undefined, { id: "emoji-😀" })).id).toBe("emoji-😀")
      }).pipe(Effect.provide(engineLayer()))
  )

  it.scoped(`start takes ids of up to ${MAX_WORKFLOW_ID_LENGTH} characters and refuses longer ones`, () =>
    Effect.gen(function* () {
      const engine = yield* Engine
      const longest = "😀".repeat(MAX_WORKFLOW_ID_LENGTH)
      expect((yield* engine.start("leaf", undefined, { id: longest })).id).toBe(longest)
      const refused = yield* Effect.flip(
        engine.start("leaf", undefined, { id: "x".repeat(MAX_WORKFLOW_ID_LENGTH + 1) })
      )
      expect(refused._tag).toBe("InvalidWorkflowId")
      expect(refused.message).toBe(
        `invalid workflow id: a workflow id is at most ${MAX_WORKFLOW_ID_LENGTH} characters (this one has ${MAX_WORKFLOW_ID_LENGTH + 1})`
      )
      const empty = yield* Effect.flip(engine.start("leaf", undefined, { id: "" }))
      expect(empty._tag).toBe("InvalidWorkflowId")
    }).pipe(Effect.provide(engineLayer()))
  )

  it.scoped(
    "a child whose id is too long or ill-formed fails in its parent's history, and is never started",
    () =>
      Effect.gen(function* () {
        const engine = yield* Engine
        const cases = [
          ["p-long", "c".repeat(MAX_WORKFLOW_ID_LENGTH + 1), "at most"],
          ["p-lone", "child-\ud800", "well-formed Unicode"]
        ] as const
        for (const [parentId, childId, why] of cases) {
          yield* engine.start("parentOf", childId, { id: parentId })
          expect(yield* awaitClosed(parentId)).toBe("failed")
          const events = (yield* engine.history(parentId)).events as ReadonlyArray<HistoryEvent>
          const failed = events.find((e) => e.type === "ChildWorkflowFailed")
          expect(failed).toMatchObject({ type: "ChildWorkflowFailed", error: { name: "InvalidWorkflowId" } })
          expect((failed as { error: { message: string } }).error.message).toContain(why)
          expect((yield* Effect.flip(engine.describe(childId)))._tag).toBe("WorkflowNotFound")
        }
      }).pipe(Effect.provide(engineLayer()))
  )
})
