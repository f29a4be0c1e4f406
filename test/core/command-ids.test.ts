/**
 * Command ids that survive harmless edits (issue 13 item 5, interpreter invariant 1): only a
 * yield that puts a command in history takes a cmd, for runs started under the command-ids
 * engine flag; histories recorded before it keep the ids they were numbered with.
 */
import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import * as Schema from "effect/Schema"
import {
  activity,
  all,
  COMMAND_IDS_FLAG,
  decodeHistoryFile,
  defineQuery,
  defineSignal,
  engineFlags,
  isCommandEvent,
  onQuery,
  replay,
  replayHistory,
  waitForSignal,
  workflow,
  workflowInfo,
  WorkflowInstance,
  type HistoryEvent,
  type HistoryFile,
  type WorkflowDefinition
} from "../../core"
import { Simulation } from "../support/simulator"
import { countdown, numbering, numberingChild } from "./fixtures/numbering"

const readFixture = (name: string): HistoryFile => {
  const text = readFileSync(new URL(`./fixtures/numbering-${name}.json`, import.meta.url), "utf8")
  const decoded = decodeHistoryFile(JSON.parse(text))
  if (decoded._tag === "Left") throw new Error(decoded.left.message)
  return decoded.right
}

/** A recorded command event as the instance gives it (the store adds seq and at, the engine a next run's id). */
const asCommand = (event: HistoryEvent) => {
  const { seq: _seq, at: _at, ...command } = event as HistoryEvent & { nextRunId?: string }
  delete command.nextRunId
  return command
}

/**
 * Rebuilds an instance from every prefix that ends before an event from outside, feeds it the
 * rest of the history's events from outside as the runtime would, and returns, per prefix, the
 * commands it gave beside the commands the history recorded.
 */
const continuedFromEveryPrefix = (
  definition: WorkflowDefinition<any, any>,
  events: ReadonlyArray<HistoryEvent>
) =>
  events.flatMap((event, cut) => {
    if (cut === 0 || isCommandEvent(event)) return []
    const instance = WorkflowInstance.replay(definition, events.slice(0, cut), { trace: false })
    const given = instance.takeCommands()
    for (const later of events.slice(cut)) {
      if (isCommandEvent(later)) continue
      instance.apply(later)
      given.push(...instance.takeCommands())
    }
    return [
      {
        cut,
        divergence: instance.divergence?.message,
        given,
        recorded: events.slice(cut).filter(isCommandEvent).map(asCommand)
      }
    ]
  })

describe("histories recorded before the command-ids flag (fixtures exported by the engine at 80be3ba)", () => {
  const fixtures = [
    { file: "open", definition: numbering },
    { file: "completed", definition: numbering },
    { file: "child", definition: numberingChild },
    { file: "countdown", definition: countdown }
  ]

  it.each(fixtures)(
    "numbering-$file.json replays to its recorded outcome with its recorded ids",
    ({ file: name, definition }) => {
      const file = readFixture(name)
      const started = file.events[0]!
      expect(started.type === "WorkflowStarted" && started.flags).toBeUndefined()
      expect(replayHistory(definition, file)).toEqual({
        _tag: "Matched",
        status: file.workflow.status,
        result: file.workflow.result,
        error: undefined
      })
      // Every yield took a cmd then: a query handler, workflowInfo, all and a child's result too.
      const trace = replay(definition, file.events).trace
      expect(trace.map((step) => step.cmd)).toEqual(trace.map((_, i) => i + 1))
    }
  )

  it.each(fixtures)(
    "numbering-$file.json, rebuilt at every prefix and fed the rest, gives the commands it recorded",
    ({ file: name, definition }) => {
      for (const { divergence, given, recorded } of continuedFromEveryPrefix(
        definition,
        readFixture(name).events
      )) {
        expect(divergence).toBeUndefined()
        expect(given).toEqual(recorded)
      }
    }
  )
})

const Approve = defineSignal("approve", Schema.Struct({ ok: Schema.Boolean }))
const Progress = defineQuery("progress", { output: Schema.Array(Schema.Number) })
const double = activity("double", { input: Schema.Number, output: Schema.Number })

const deployed = workflow("edited", { input: Schema.Number, signals: [Approve] }, function* (n) {
  const a = yield* double(n)
  const b = yield* double(a)
  const approval = yield* waitForSignal(Approve, { timeout: "1 hour" })
  return yield* double(approval?.ok ? b : 0)
})

/** The same workflow type, edited: a query handler, workflowInfo and an all() in the middle. */
const edited = workflow(
  "edited",
  { input: Schema.Number, signals: [Approve], queries: [Progress] },
  function* (n) {
    const seen: Array<number> = []
    const a = yield* double(n)
    seen.push(a)
    yield* onQuery(Progress, () => seen)
    yield* workflowInfo()
    const [b] = yield* all([double(a)])
    seen.push(b)
    const approval = yield* waitForSignal(Approve, { timeout: "1 hour" })
    return yield* double(approval?.ok ? b : 0)
  }
)

/** `deployed` run to its end by the Simulation, with the given engine flags. */
const recordDeployed = (flags: ReadonlyArray<string> | undefined) => {
  const sim = new Simulation(deployed, 1, flags ? { flags } : {})
  sim.completeActivity(sim.activity("double"), 2)
  sim.completeActivity(sim.activity("double"), 4)
  sim.signal("approve", { ok: true })
  sim.completeActivity(sim.activity("double"), 8)
  expect(sim.instance.status).toBe("completed")
  return sim.history
}

describe("a workflow edited by adding an onQuery in the middle (the onQuery bullet)", () => {
  it("invariant 1: replays every prefix of its histories recorded under the flag without a divergence, giving the commands they recorded", () => {
    const history = recordDeployed(engineFlags)
    expect(history[0]).toMatchObject({ type: "WorkflowStarted", flags: [COMMAND_IDS_FLAG] })
    const outcome = replay(edited, history)
    expect(outcome.divergence).toBeUndefined()
    expect(outcome).toMatchObject({ status: "completed", result: 8 })
    for (const { divergence, given, recorded } of continuedFromEveryPrefix(edited, history)) {
      expect(divergence).toBeUndefined()
      expect(given).toEqual(recorded)
    }
    // The yields that gave no command took no cmd: their steps say 0.
    expect(outcome.trace.map((step) => [step.descriptor._tag, step.cmd])).toEqual([
      ["Activity", 1],
      ["OnQuery", 0],
      ["Info", 0],
      ["Combine", 0],
      ["Activity", 2],
      ["WaitForSignal", 3],
      ["Activity", 4]
    ])
    expect(outcome.instance.query("progress")).toEqual({ ok: true, value: [2, 4] })
  })

  it("invariant 1: a history recorded before the flag keeps the ids it was numbered with, so there the same edit diverges", () => {
    const outcome = replay(edited, recordDeployed(undefined))
    expect(outcome.status).toBe("stuck")
    expect(outcome.divergence).toMatchObject({
      cmd: 2,
      expected: { kind: "ActivityScheduled", name: "double" },
      actual: { kind: "OnQuery", name: "progress" }
    })
  })

  it("a history naming an engine flag this version does not know is stuck, naming the flag", () => {
    const history = recordDeployed(engineFlags).map((event) =>
      event.type === "WorkflowStarted" ? { ...event, flags: [COMMAND_IDS_FLAG, "from-the-future"] } : event
    )
    const outcome = replay(deployed, history)
    expect(outcome.status).toBe("stuck")
    expect(outcome.divergence).toMatchObject({
      cmd: 0,
      reason: 'the history was recorded under engine flag "from-the-future", which this version does not know'
    })
  })
})
