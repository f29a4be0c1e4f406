/**
 * Changed workflow code against recorded histories: every incompatible change stops the replay
 * at the first divergent cmd with both sides named (invariants 3 and 4), and `patched()` is the
 * way to make such a change safely. Also the Temporal-style golden test: a real history kept as
 * a fixture replays against the current code, and an edited copy of it fails.
 */
import * as Schema from "effect/Schema"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import {
  activity,
  all,
  defineSignal,
  patched,
  replay,
  replayHistory,
  sleep,
  waitForSignal,
  workflow,
  WorkflowInstance,
  type HistoryEvent,
  type WorkflowDefinition
} from "../../core"
import { Simulation } from "../support/simulator"
import { codeReview } from "./fixtures/code-review"

const a = activity("a", { input: Schema.String, output: Schema.String })
const b = activity("b", { input: Schema.String, output: Schema.String })
const c = activity("c", { input: Schema.String, output: Schema.String })
const Go = defineSignal<string>("go")

const thisFile = fileURLToPath(import.meta.url)
const source = readFileSync(thisFile, "utf8").split("\n")

/** `file:line:column` of the one line of this file ending in `// yield: <name>`, at `expression` on it. */
const locationOf = (name: string, expression: string): string => {
  const marker = `// yield: ${name}`
  const lines = source.flatMap((text, i) => (text.endsWith(marker) ? [i] : []))
  if (lines.length !== 1) throw new Error(`marker ${marker} is on ${lines.length} lines`)
  const line = lines[0]!
  return `${thisFile}:${line + 1}:${source[line]!.indexOf(expression) + 1}`
}

/** Runs `definition` live, completing every activity with `<name> done`, and returns the history. */
const record = (definition: WorkflowDefinition, drive: (sim: Simulation) => void = () => {}) => {
  const sim = new Simulation(definition, undefined)
  drive(sim)
  for (let open = sim.open(); open.length > 0; open = sim.open()) {
    const next = open[0]!
    if (next.type === "ActivityScheduled") sim.completeActivity(next.cmd, `${next.name} done`)
    else if (next.type === "TimerStarted") sim.fireTimer(next.cmd)
    else throw new Error(`unexpected open command ${next.type}`)
  }
  return sim.history
}

const expectStuck = (definition: WorkflowDefinition, history: ReadonlyArray<HistoryEvent>) => {
  const outcome = replay(definition, history, { locations: true })
  expect(outcome.status).toBe("stuck")
  expect(outcome.commands).toEqual([])
  expect(outcome.divergence).toBeDefined()
  return outcome.divergence!
}

describe("changed code against an old history", () => {
  const v1 = workflow("ordered", {}, function* () {
    const first = yield* a("1")
    const second = yield* b("2")
    return [first, second]
  })
  const history = record(v1)

  it("the unchanged code replays to the same result with nothing left to do", () => {
    const outcome = replay(v1, history)
    expect(outcome.divergence).toBeUndefined()
    expect(outcome.status).toBe("completed")
    expect(outcome.result).toEqual(["a done", "b done"])
    expect(outcome.commands).toEqual([])
  })

  it("invariant 3: reordered activities diverge at the first cmd, naming both sides and the yield's location", () => {
    const reordered = workflow("ordered", {}, function* () {
      const second = yield* b("2") // yield: reordered
      const first = yield* a("1")
      return [first, second]
    })
    const divergence = expectStuck(reordered, history)
    expect({ ...divergence }).toEqual({
      _tag: "NonDeterminismError",
      cmd: 1,
      expected: { kind: "ActivityScheduled", name: "a", seq: 2 },
      actual: { kind: "Activity", name: "b", location: locationOf("reordered", "b(") },
      reason: "the code yields a different command than the history recorded"
    })
    expect(divergence.message).toBe(
      'non-determinism at cmd 1: history has ActivityScheduled "a", code yields Activity "b" (the code yields a different command than the history recorded)'
    )
  })

  it("invariant 3: a renamed activity diverges at its cmd", () => {
    const renamed = workflow("ordered", {}, function* () {
      const first = yield* a("1")
      const second = yield* c("2") // yield: renamed
      return [first, second]
    })
    expect({ ...expectStuck(renamed, history) }).toMatchObject({
      cmd: 2,
      expected: { kind: "ActivityScheduled", name: "b", seq: 4 },
      actual: { kind: "Activity", name: "c", location: locationOf("renamed", "c(") }
    })
  })

  it("without locations the divergence names no location", () => {
    const renamed = workflow("ordered", {}, function* () {
      yield* c("1")
    })
    expect(replay(renamed, history).divergence!.actual).toEqual({ kind: "Activity", name: "c" })
  })

  it("invariant 3: a removed timer diverges where the timer was", () => {
    const withTimer = workflow("timed", {}, function* () {
      yield* a("1")
      yield* sleep("1 hour")
      return yield* b("2")
    })
    const withoutTimer = workflow("timed", {}, function* () {
      yield* a("1")
      return yield* b("2") // yield: removed-timer
    })
    const divergence = expectStuck(withoutTimer, record(withTimer))
    expect({ ...divergence }).toMatchObject({
      cmd: 2,
      expected: { kind: "TimerStarted", seq: 4 },
      actual: { kind: "Activity", name: "b", location: locationOf("removed-timer", "b(") }
    })
  })

  it("invariant 4: a new command mid-history is a divergence", () => {
    const waits = workflow("waits", {}, function* () {
      const go = yield* waitForSignal(Go)
      return yield* a(go)
    })
    const addsOne = workflow("waits", {}, function* () {
      yield* c("audit") // yield: added
      const go = yield* waitForSignal(Go)
      return yield* a(go)
    })
    const old = record(waits, (sim) => sim.signal("go", "now"))
    expect(old.map((e) => e.type)).toEqual([
      "WorkflowStarted",
      "SignalReceived",
      "ActivityScheduled",
      "ActivityCompleted",
      "WorkflowCompleted"
    ])
    expect({ ...expectStuck(addsOne, old) }).toEqual({
      _tag: "NonDeterminismError",
      cmd: 1,
      expected: { kind: "nothing" },
      actual: { kind: "Activity", name: "c", location: locationOf("added", "c(") },
      reason: "the code yields a command where the history had none"
    })
  })

  it("invariant 4: a command added where the history completed the workflow diverges at that cmd", () => {
    const longer = workflow("ordered", {}, function* () {
      const first = yield* a("1")
      const second = yield* b("2")
      yield* c("3") // yield: added-at-end
      return [first, second]
    })
    expect({ ...expectStuck(longer, history) }).toMatchObject({
      cmd: 3,
      expected: { kind: "WorkflowCompleted", seq: 6 },
      actual: { kind: "Activity", name: "c", location: locationOf("added-at-end", "c(") },
      reason: "the code yields a command where the history ended the workflow"
    })
  })

  it("invariant 4: a recorded command the code no longer yields is a divergence", () => {
    const parallel = workflow("parallel", {}, function* () {
      return yield* all([a("1"), b("2")])
    })
    const narrower = workflow("parallel", {}, function* () {
      return yield* all([a("1")])
    })
    expect({ ...expectStuck(narrower, record(parallel)) }).toEqual({
      _tag: "NonDeterminismError",
      cmd: 3,
      expected: { kind: "ActivityScheduled", name: "b", seq: 3 },
      actual: { kind: "nothing" },
      reason: "the history has a command the code did not yield"
    })
  })

  it("a change past the end of a running workflow's history is not a divergence", () => {
    const waits = workflow("open", {}, function* () {
      yield* a("1")
      return yield* waitForSignal(Go)
    })
    const extended = workflow("open", {}, function* () {
      yield* a("1")
      const go = yield* waitForSignal(Go)
      return yield* b(go)
    })
    const sim = new Simulation(waits, undefined)
    sim.completeActivity(1, "a done")
    const rebuilt = WorkflowInstance.replay(extended, sim.history)
    expect(rebuilt.status).toBe("running")
    rebuilt.apply({
      type: "SignalReceived",
      seq: sim.history.length + 1,
      at: sim.clock,
      name: "go",
      payload: "go!"
    })
    expect(rebuilt.takeCommands()).toEqual([
      { type: "ActivityScheduled", cmd: 3, name: "b", input: "go!", options: {} }
    ])
  })
})

describe("patched()", () => {
  const notify = activity("notify", { input: Schema.String })
  const email = activity("email", { input: Schema.String })
  const before = workflow("notifier", {}, function* () {
    const report = yield* a("report")
    yield* notify(report)
    return "sent"
  })
  const after = workflow("notifier", {}, function* () {
    const report = yield* a("report")
    if (yield* patched("email-instead")) yield* email(report)
    else yield* notify(report)
    return "sent"
  })
  const unpatched = workflow("notifier", {}, function* () {
    const report = yield* a("report")
    yield* email(report)
    return "sent"
  })
  const oldHistory = record(before)

  it("the same change without a patch diverges on an old history", () => {
    expect({ ...expectStuck(unpatched, oldHistory) }).toMatchObject({
      cmd: 2,
      expected: { kind: "ActivityScheduled", name: "notify" },
      actual: { kind: "Activity", name: "email" }
    })
  })

  it("an old history takes the old branch and matches", () => {
    const outcome = replay(after, oldHistory)
    expect(outcome.divergence).toBeUndefined()
    expect(outcome.status).toBe("completed")
    expect(outcome.trace.map((s) => [s.cmd, s.descriptor._tag, s.descriptor.name])).toEqual([
      [1, "Activity", "a"],
      [2, "Activity", "notify"]
    ])
  })

  it("a new run records the marker and takes the new branch; its history replays", () => {
    const sim = new Simulation(after, undefined)
    expect(sim.completeActivity(1, "the report")).toEqual([
      { type: "MarkerRecorded", cmd: 2, patchId: "email-instead" },
      { type: "ActivityScheduled", cmd: 3, name: "email", input: "the report", options: {} }
    ])
    sim.completeActivity(3, null)
    const outcome = replay(after, sim.history)
    expect(outcome.divergence).toBeUndefined()
    expect(outcome.status).toBe("completed")
    expect({ ...replay(before, sim.history).divergence }).toMatchObject({
      cmd: 2,
      expected: { kind: "MarkerRecorded", name: "email-instead" },
      actual: { kind: "Activity", name: "notify" }
    })
  })

  it("a run in flight when the patch is deployed takes the new branch at its first new yield", () => {
    const sim = new Simulation(before, undefined)
    const rebuilt = WorkflowInstance.replay(after, sim.history)
    rebuilt.apply({ type: "ActivityCompleted", seq: 3, at: sim.clock, cmd: 1, attempt: 1, result: "r" })
    expect(rebuilt.takeCommands()).toEqual([
      { type: "MarkerRecorded", cmd: 2, patchId: "email-instead" },
      { type: "ActivityScheduled", cmd: 3, name: "email", input: "r", options: {} }
    ])
  })
})

describe("golden: a recorded history kept as a fixture", () => {
  const fixture = JSON.parse(
    readFileSync(new URL("./fixtures/code-review-approved.json", import.meta.url), "utf8")
  )

  it("replays against the current code to the recorded result", () => {
    expect(replayHistory(codeReview, fixture)).toEqual({
      _tag: "Matched",
      status: "completed",
      result: { outcome: "merged as abc123", score: 8, startedAt: 1_700_000_000_000 },
      error: undefined
    })
  })

  it("an edited copy (an activity renamed in the history) fails with Diverged", () => {
    const edited = structuredClone(fixture)
    const merge = edited.events.find((e: any) => e.type === "ActivityScheduled" && e.name === "merge")
    merge.name = "deploy"
    const report = replayHistory(codeReview, edited)
    expect(report._tag).toBe("Diverged")
    if (report._tag !== "Diverged") return
    expect(report.divergence.cmd).toBe(merge.cmd)
    expect(report.divergence.expected).toEqual({ kind: "ActivityScheduled", name: "deploy", seq: merge.seq })
    expect(report.divergence.actual).toMatchObject({ kind: "Activity", name: "merge" })
    expect(report.divergence.actual.location).toMatch(/test\/core\/fixtures\/code-review\.ts:\d+:\d+$/)
  })

  it("an edited copy (the approval signal dropped) fails with Diverged: the code still waits, the history cancels its timer", () => {
    const edited = structuredClone(fixture)
    edited.events = edited.events
      .filter((e: any) => e.type !== "SignalReceived")
      .map((e: any, i: number) => ({ ...e, seq: i + 1 }))
    const report = replayHistory(codeReview, edited)
    expect(report._tag).toBe("Diverged")
    if (report._tag !== "Diverged") return
    expect({ ...report.divergence }).toEqual({
      _tag: "NonDeterminismError",
      cmd: 7,
      expected: { kind: "TimerCancelled", seq: 10 },
      actual: { kind: "nothing" },
      reason: "the history cancels a command the code did not cancel"
    })
  })

  it("a history of another workflow type is refused before replaying", () => {
    expect(
      replayHistory(
        workflow("other", {}, function* () {}),
        fixture
      )
    ).toEqual({
      _tag: "WrongWorkflow",
      message: 'the history is of workflow type "codeReview", not "other"'
    })
  })
})
