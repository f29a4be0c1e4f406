/**
 * The interpreter's central promise, checked on random workflows: what a live run recorded,
 * a replay from scratch reproduces exactly, and an instance rebuilt from any prefix of the
 * history continues exactly as the live one did.
 */
import { fc, test } from "@fast-check/vitest"
import { describe, expect } from "vitest"
import {
  engineFlags,
  isCommandEvent,
  isSchedulingEvent,
  replay,
  WorkflowInstance,
  type HistoryEvent,
  type TraceStep
} from "../../core"
import { Simulation } from "../support/simulator"
import {
  asCommand,
  drive,
  programArbitrary,
  programWorkflow,
  scrub,
  show,
  snapshotOf,
  type Snapshot
} from "./support/random-workflow"

const numRuns = Number(process.env.CORE_PROPERTY_RUNS ?? 500)

/** A trace step as both sides must agree on it (the live side never applies its own command events). */
const comparable = (step: TraceStep) =>
  scrub({
    cmd: step.cmd,
    fiber: step.fiber,
    descriptor: step.descriptor,
    atSeq: step.atSeq,
    completedSeq: step.completedSeq,
    outcome: step.outcome
  })

/**
 * Where the runtime can have stopped: between two tasks (the next event comes from outside),
 * or just after an incoming event whose commands were not persisted yet.
 */
const cutPoints = (history: ReadonlyArray<HistoryEvent>): Array<number> => {
  const cuts: Array<number> = []
  for (let n = 1; n <= history.length; n++) {
    const next = history[n]
    if (next === undefined || !isCommandEvent(next) || !isCommandEvent(history[n - 1]!)) cuts.push(n)
  }
  return cuts
}

/** The commands recorded from `index` up to the next incoming event. */
const commandsFrom = (history: ReadonlyArray<HistoryEvent>, index: number) => {
  const out = []
  for (let i = index; i < history.length && isCommandEvent(history[i]!); i++) out.push(asCommand(history[i]!))
  return out
}

const rebuildAndContinue = (
  history: ReadonlyArray<HistoryEvent>,
  cut: number,
  snapshots: Map<number, Snapshot>
): WorkflowInstance => {
  const context = `rebuilt from the first ${cut} events of\n${show(history)}`
  const rebuilt = WorkflowInstance.replay(programWorkflow, history.slice(0, cut), { trace: false })
  expect(rebuilt.divergence, context).toBeUndefined()
  expect(
    rebuilt.takeCommands().map((c) => scrub(c)),
    context
  ).toEqual(commandsFrom(history, cut))
  const snapshot = snapshots.get(cut)
  if (snapshot) expect(snapshotOf(rebuilt), context).toEqual(snapshot)
  for (let i = cut; i < history.length; i++) {
    const event = history[i]!
    if (isCommandEvent(event)) continue
    rebuilt.apply(event)
    expect(
      rebuilt.takeCommands().map((c) => scrub(c)),
      `${context}\nafter applying seq ${event.seq}`
    ).toEqual(commandsFrom(history, i + 1))
  }
  return rebuilt
}

describe("random workflows, random completion orders", () => {
  test.prop(
    [
      programArbitrary,
      fc.array(fc.nat(), { maxLength: 80 }),
      fc.array(fc.nat(), { maxLength: 3 }),
      // Numbered as the engine does now, or as histories recorded before the command-ids flag.
      fc.boolean()
    ],
    { numRuns }
  )(
    "invariants 1–4: a replay from scratch and an instance rebuilt at any prefix reproduce the live run",
    (program, choices, cutChoices, current) => {
      const sim = new Simulation(programWorkflow, program, current ? { flags: engineFlags } : {})
      const snapshots = drive(sim, choices)
      const live = sim.instance
      const history = sim.history
      expect(live.divergence).toBeUndefined()
      expect(["completed", "failed", "cancelled", "continued-as-new"]).toContain(live.status)

      // Invariant 1: scheduling commands carry strictly increasing cmd ids, in the order produced.
      const cmds = history.flatMap((e) => (isSchedulingEvent(e) ? [e.cmd] : []))
      expect(cmds).toEqual([...cmds].sort((a, b) => a - b))
      expect(new Set(cmds).size).toBe(cmds.length)

      // A replay from scratch: same yields with the same cmd ids, same outcome, nothing new to do.
      const replayed = replay(programWorkflow, history)
      expect(replayed.divergence, show(history)).toBeUndefined()
      expect(replayed.status).toBe(live.status)
      expect(replayed.result).toEqual(live.result)
      expect(scrub(replayed.error)).toEqual(scrub(live.error))
      expect(replayed.commands).toEqual([])
      expect(replayed.trace.map(comparable)).toEqual(live.trace.map(comparable))

      // Rebuilt at prefixes (always right after WorkflowStarted, plus chosen ones), then fed live.
      const cuts = cutPoints(history)
      for (const cut of [1, ...cutChoices.map((c) => cuts[c % cuts.length]!)]) {
        const rebuilt = rebuildAndContinue(history, cut, snapshots)
        expect(rebuilt.status).toBe(live.status)
        expect(rebuilt.result).toEqual(live.result)
        expect(scrub(rebuilt.error)).toEqual(scrub(live.error))
      }
    }
  )
})
