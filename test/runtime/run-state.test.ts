/**
 * A run's phase and cancel state (runtime/engine/run-state.ts) on their own: every transition
 * of invariant 1's diagram from the phase it leaves, and the cancel state at the store
 * boundary (invariant 3). No engine: the transitions are plain functions on a run.
 */
import { describe, expect, it } from "vitest"
import * as Schema from "effect/Schema"
import { workflow, WorkflowInstance } from "../../core"
import { newRow } from "../../runtime/engine/lineage"
import {
  askedByParent,
  cancelOfRow,
  closed,
  commitFailed,
  creatorCommitted,
  evict,
  firstTask,
  rebuilt,
  recordCancel,
  recovered,
  redispatched,
  reloaded,
  spawned,
  starting,
  taskRan,
  woken,
  type RunPhase,
  type RunState
} from "../../runtime/engine/run-state"

const idle = workflow("idle", { input: Schema.Null }, function* () {
  return null
})
const row = () => newRow({ workflowId: "w", definition: idle, input: null, parent: undefined, now: 0 })
const instance = () => WorkflowInstance.create(idle, { trace: false })
/** The phase without its instance and trail: what the diagram names. */
const shape = (phase: RunPhase) =>
  phase._tag === "Evicted"
    ? { _tag: phase._tag, due: phase.due, dispatched: phase.dispatched }
    : phase._tag === "Creating"
      ? { _tag: phase._tag, instance: phase.instance !== undefined }
      : { _tag: phase._tag }

/** A live run, as its first task leaves one `start` made. */
const live = () => {
  const run = starting(row(), idle, instance(), undefined)
  firstTask(run)
  return run
}

describe("a run's state", () => {
  it("invariant 1: every transition of the phase diagram, from the phase it leaves to the one it names", () => {
    const steps: Array<[string, () => RunState, (run: RunState) => unknown, ReturnType<typeof shape>]> = [
      [
        "starting",
        () => starting(row(), idle, instance(), undefined),
        () => {},
        { _tag: "Creating", instance: true }
      ],
      ["spawned", () => spawned(row(), idle), () => {}, { _tag: "Creating", instance: false }],
      [
        "recovered",
        () => recovered(row(), idle),
        () => {},
        { _tag: "Evicted", due: false, dispatched: false }
      ],
      ["firstTask", () => starting(row(), idle, instance(), undefined), firstTask, { _tag: "Live" }],
      [
        "creatorCommitted",
        () => spawned(row(), idle),
        creatorCommitted,
        { _tag: "Evicted", due: true, dispatched: true }
      ],
      ["evict", live, evict, { _tag: "Evicted", due: false, dispatched: true }],
      [
        "rebuilt",
        () => recovered(row(), idle),
        (run) => rebuilt(run, instance(), undefined, 0),
        { _tag: "Live" }
      ],
      ["woken", () => recovered(row(), idle), woken, { _tag: "Evicted", due: true, dispatched: false }],
      [
        "taskRan",
        () => {
          const run = recovered(row(), idle)
          woken(run)
          return run
        },
        taskRan,
        { _tag: "Evicted", due: false, dispatched: false }
      ],
      [
        "redispatched",
        () => recovered(row(), idle),
        redispatched,
        { _tag: "Evicted", due: false, dispatched: true }
      ],
      ["commitFailed", live, commitFailed, { _tag: "Reloading" }],
      [
        "reloaded",
        () => {
          const run = live()
          commitFailed(run)
          return run
        },
        (run) => reloaded(run, { ...run.row, lastSeq: 7 }),
        { _tag: "Evicted", due: true, dispatched: false }
      ],
      ["closed", live, closed, { _tag: "Closed" }]
    ]
    const reached = steps.map(([name, from, transition]) => {
      const run = from()
      transition(run)
      return [name, shape(run.phase)]
    })
    expect(reached).toEqual(steps.map(([name, , , to]) => [name, to]))
  })

  it("invariant 1: only Live and a Creating made by start hold an instance; a transition that does not apply leaves the phase as it is", () => {
    const run = live()
    expect(run.instance).toBeDefined()
    evict(run)
    expect(run.instance).toBeUndefined()
    // Not live: nothing to evict, nothing created, and the first task was taken already.
    evict(run)
    creatorCommitted(run)
    expect(firstTask(run)).toBe(false)
    expect(shape(run.phase)).toEqual({ _tag: "Evicted", due: false, dispatched: true })
    expect(spawned(row(), idle).instance).toBeUndefined()
    const reloading = live()
    commitFailed(reloading)
    woken(reloading)
    redispatched(reloading)
    expect(shape(reloading.phase)).toEqual({ _tag: "Reloading" })
  })

  it("invariant 3: the cancel state is a name in memory and an integer only in the row", () => {
    const stored = { ...row(), cancelRequested: 2 as const }
    expect([cancelOfRow(row()), cancelOfRow({ ...row(), cancelRequested: 1 }), cancelOfRow(stored)]).toEqual([
      "none",
      "none",
      "recorded"
    ])
    expect([askedByParent(row()), askedByParent({ ...row(), cancelRequested: 1 })]).toEqual([false, true])
    expect(recovered(stored, idle).cancel).toBe("recorded")
    const run = live()
    run.cancel = "sent"
    // Recording it changes the row once (the task writes the row then), and never again.
    expect(recordCancel(run)).toBe(true)
    expect([run.cancel, run.row.cancelRequested]).toEqual(["recorded", 2])
    expect(recordCancel(run)).toBe(false)
  })
})
