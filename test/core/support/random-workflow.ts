/**
 * Workflows as data, for the property test: an arbitrary of random workflow programs, an
 * interpreter that runs a program as a real generator workflow, and a seeded driver that
 * completes whatever is open in a chosen order, as the runtime would.
 */
import { fc } from "@fast-check/vitest"
import {
  activity,
  all,
  allSettled,
  Cancelled,
  child,
  continueAsNew,
  defineQuery,
  defineSignal,
  now,
  onQuery,
  patched,
  race,
  random,
  sleep,
  startChild,
  uuid,
  waitForSignal,
  workflow,
  workflowInfo,
  type Branch as CoreBranch,
  type Command,
  type Descriptor,
  type HistoryEvent,
  type Yieldable
} from "../../../core"
import type { Simulation } from "../../support/simulator"

// ---- programs ------------------------------------------------------------------------------

export type Leaf =
  | { readonly t: "act"; readonly name: "a" | "b" | "c" }
  | { readonly t: "sleep"; readonly ms: number }
  | { readonly t: "signal"; readonly name: "s1" | "s2"; readonly timeoutMs: number | undefined }
  | { readonly t: "side"; readonly kind: "now" | "random" | "uuid" }
  | { readonly t: "child" }

export type Step =
  | Leaf
  /** try { body } catch (non-cancellation errors, when `catches`) finally { cleanup } */
  | {
      readonly t: "try"
      readonly body: ReadonlyArray<Step>
      readonly catches: boolean
      readonly cleanup: ReadonlyArray<Step>
    }
  | {
      readonly t: "combine"
      readonly mode: "all" | "allSettled" | "race"
      readonly branches: ReadonlyArray<Branch>
      readonly labelled: boolean
    }
  /** startChild, then the steps `between`, then `yield* handle.result()` */
  | { readonly t: "startChild"; readonly between: ReadonlyArray<Step> }
  | {
      readonly t: "patched"
      readonly id: string
      readonly then: ReadonlyArray<Step>
      readonly otherwise: ReadonlyArray<Step>
    }
  /** reads Date.now(), new Date() and Math.random() directly */
  | { readonly t: "globals" }
  | { readonly t: "info" }
  /** registers a query handler that reads the log, Date.now() and Math.random() */
  | { readonly t: "query" }
  | { readonly t: "throw" }

/** A branch of all/allSettled/race: a bare descriptor, a generator function or a generator object. */
export type Branch =
  | { readonly form: "descriptor"; readonly leaf: Leaf }
  | { readonly form: "function" | "object"; readonly steps: ReadonlyArray<Step> }

export interface Program {
  readonly steps: ReadonlyArray<Step>
  readonly end: "return" | "throw" | "continueAsNew"
}

const leafArbitrary: fc.Arbitrary<Leaf> = fc.oneof(
  {
    arbitrary: fc.record({
      t: fc.constant("act" as const),
      name: fc.constantFrom("a" as const, "b" as const, "c" as const)
    }),
    weight: 4
  },
  {
    arbitrary: fc.record({ t: fc.constant("sleep" as const), ms: fc.integer({ min: 1, max: 100_000 }) }),
    weight: 1
  },
  {
    arbitrary: fc.record({
      t: fc.constant("signal" as const),
      name: fc.constantFrom("s1" as const, "s2" as const),
      // 0 polls: the buffered signal or undefined at once
      timeoutMs: fc.option(fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 100_000 })), { nil: undefined })
    }),
    weight: 2
  },
  {
    arbitrary: fc.record({
      t: fc.constant("side" as const),
      kind: fc.constantFrom("now" as const, "random" as const, "uuid" as const)
    }),
    weight: 1
  },
  { arbitrary: fc.constant({ t: "child" as const }), weight: 1 }
)

const { step: stepArbitrary } = fc.letrec<{
  step: Step
  steps: ReadonlyArray<Step>
  branch: Branch
}>((tie) => ({
  step: fc.oneof(
    { maxDepth: 3, depthIdentifier: "program" },
    { arbitrary: leafArbitrary, weight: 8 },
    {
      arbitrary: fc.record({
        t: fc.constant("try" as const),
        body: tie("steps"),
        catches: fc.boolean(),
        cleanup: tie("steps")
      }),
      weight: 4
    },
    {
      arbitrary: fc.record({
        t: fc.constant("combine" as const),
        mode: fc.constantFrom("all" as const, "allSettled" as const, "race" as const),
        branches: fc.array(tie("branch"), { minLength: 1, maxLength: 3 }),
        labelled: fc.boolean()
      }),
      weight: 4
    },
    { arbitrary: fc.record({ t: fc.constant("startChild" as const), between: tie("steps") }), weight: 1 },
    {
      arbitrary: fc.record({
        t: fc.constant("patched" as const),
        id: fc.constantFrom("p1", "p2"),
        then: tie("steps"),
        otherwise: tie("steps")
      }),
      weight: 1
    },
    { arbitrary: fc.constant({ t: "globals" as const }), weight: 1 },
    { arbitrary: fc.constant({ t: "info" as const }), weight: 1 },
    { arbitrary: fc.constant({ t: "query" as const }), weight: 1 },
    { arbitrary: fc.constant({ t: "throw" as const }), weight: 1 }
  ),
  steps: fc.array(tie("step"), { maxLength: 4, depthIdentifier: "program" }),
  branch: fc.oneof(
    { arbitrary: fc.record({ form: fc.constant("descriptor" as const), leaf: leafArbitrary }), weight: 2 },
    {
      arbitrary: fc.record({
        form: fc.constantFrom("function" as const, "object" as const),
        steps: tie("steps")
      }),
      weight: 3
    }
  )
}))

export const programArbitrary: fc.Arbitrary<Program> = fc.record({
  steps: fc.array(stepArbitrary, { minLength: 1, maxLength: 8 }),
  end: fc.oneof(
    { arbitrary: fc.constant("return" as const), weight: 8 },
    { arbitrary: fc.constant("throw" as const), weight: 1 },
    { arbitrary: fc.constant("continueAsNew" as const), weight: 1 }
  )
})

// ---- the interpreter of programs -------------------------------------------------------------

const activities = {
  a: activity<number, unknown>("a"),
  b: activity<number, unknown>("b"),
  c: activity<number, unknown>("c")
}
const signals = { s1: defineSignal<unknown>("s1"), s2: defineSignal<unknown>("s2") }
export const Progress = defineQuery<unknown>("progress")

/** The child every `child`/`startChild` step starts; the driver decides how it ends. */
export const kid = workflow("kid", {}, function* (_input: number) {
  return "kid"
})

interface Env {
  readonly log: Array<unknown>
  counter: number
}

/** A JSON copy without `stack` fields: stacks name interpreter frames, which differ between runs. */
export const scrub = <A>(value: A): A =>
  value === undefined
    ? value
    : JSON.parse(
        JSON.stringify(value, (key, v) => (key === "stack" ? undefined : v === undefined ? null : v))
      )

const describeError = (error: unknown) => ({
  name: (error as { _tag?: string })._tag ?? (error as Error).name,
  message: (error as Error).message
})

const leafDescriptor = (leaf: Leaf, env: Env): Yieldable<unknown> => {
  switch (leaf.t) {
    case "act":
      return activities[leaf.name](env.counter++)
    case "sleep":
      return sleep(leaf.ms)
    case "signal":
      return leaf.timeoutMs === undefined
        ? waitForSignal(signals[leaf.name])
        : waitForSignal(signals[leaf.name], { timeout: leaf.timeoutMs })
    case "side":
      return leaf.kind === "now" ? now() : leaf.kind === "random" ? random() : uuid()
    case "child":
      return child(kid, env.counter++)
  }
}

function* runSteps(steps: ReadonlyArray<Step>, env: Env): Generator<Descriptor, void, any> {
  for (const step of steps) yield* runStep(step, env)
}

function* runBranch(steps: ReadonlyArray<Step>, index: number, env: Env): Generator<Descriptor, string, any> {
  yield* runSteps(steps, env)
  return `branch ${index} done`
}

const branchOf = (branch: Branch, index: number, env: Env): CoreBranch<unknown> => {
  switch (branch.form) {
    case "descriptor":
      return leafDescriptor(branch.leaf, env)
    case "function":
      return () => runBranch(branch.steps, index, env)
    case "object":
      return runBranch(branch.steps, index, env)
  }
}

function* runStep(step: Step, env: Env): Generator<Descriptor, void, any> {
  switch (step.t) {
    case "act":
    case "sleep":
    case "signal":
    case "side":
    case "child":
      env.log.push([step.t, yield* leafDescriptor(step, env)])
      return
    case "try":
      try {
        yield* runSteps(step.body, env)
      } catch (error) {
        if (!step.catches || error instanceof Cancelled) throw error
        env.log.push(["caught", describeError(error)])
      } finally {
        yield* runSteps(step.cleanup, env)
      }
      return
    case "combine": {
      const list = step.branches.map((b, i) => branchOf(b, i, env))
      const branches = step.labelled ? Object.fromEntries(list.map((b, i) => [`k${i}`, b])) : list
      const result =
        step.mode === "all"
          ? yield* all(branches)
          : step.mode === "allSettled"
            ? yield* allSettled(branches)
            : yield* race(branches)
      env.log.push([step.mode, scrub(result)])
      return
    }
    case "startChild": {
      const handle = yield* startChild(kid, env.counter++)
      env.log.push(["started", handle.workflowId])
      yield* runSteps(step.between, env)
      env.log.push(["child result", yield* handle.result()])
      return
    }
    case "patched":
      if (yield* patched(step.id)) {
        env.log.push(["patched", step.id, true])
        yield* runSteps(step.then, env)
      } else {
        env.log.push(["patched", step.id, false])
        yield* runSteps(step.otherwise, env)
      }
      return
    case "globals":
      env.log.push(["globals", Date.now(), new Date().getTime(), Math.random()])
      return
    case "info":
      env.log.push(["info", yield* workflowInfo()])
      return
    case "query":
      yield* onQuery(Progress, () => ({ entries: env.log.length, now: Date.now(), random: Math.random() }))
      return
    case "throw":
      throw new Error(`thrown after ${env.log.length} entries`)
  }
}

/** Runs a program; its result is the log of everything the code saw. */
export const programWorkflow = workflow("program", {}, function* (program: Program) {
  const env: Env = { log: [], counter: 0 }
  yield* runSteps(program.steps, env)
  switch (program.end) {
    case "return":
      return scrub(env.log)
    case "throw":
      throw new Error(`the program failed after ${env.log.length} entries`)
    case "continueAsNew":
      return yield* continueAsNew({ log: scrub(env.log) })
  }
})

// ---- the driver ------------------------------------------------------------------------------

/** What the instance showed between two tasks, to compare with an instance rebuilt there. */
export interface Snapshot {
  readonly status: string
  readonly pending: unknown
  readonly pendingSignals: unknown
  readonly query: unknown
}

export const snapshotOf = (instance: Simulation["instance"]): Snapshot => ({
  status: instance.status,
  pending: instance.pending(),
  pendingSignals: instance.pendingSignals(),
  query: scrub(instance.query(Progress.name))
})

const cancelRequestedCmds = (history: ReadonlyArray<HistoryEvent>): Set<number> => {
  const cmds = new Set<number>()
  for (const e of history)
    if (e.type === "ActivityCancelRequested" || e.type === "ChildWorkflowCancelRequested") cmds.add(e.cmd)
  return cmds
}

/**
 * Drives a simulation to its end. Each choice picks the next thing that happens among what is
 * possible: complete or fail an open activity or child, fire an open timer, send a signal (also
 * when nobody waits), query, or (rarely) request cancellation. When the choices run out, it
 * completes the oldest open command, or sends the signal the workflow waits for.
 *
 * Returns a snapshot of the instance at each task boundary, keyed by the history length there.
 */
export const drive = (sim: Simulation, choices: ReadonlyArray<number>): Map<number, Snapshot> => {
  const snapshots = new Map<number, Snapshot>([[sim.history.length, snapshotOf(sim.instance)]])
  let signalCount = 0
  let cancelled = false
  for (let turn = 0; sim.instance.status === "running"; turn++) {
    if (turn > 2_000) throw new Error("the workflow did not finish in 2,000 turns")
    const choice = choices[turn]
    if (choice === undefined) finishOne(sim)
    else {
      sim.advance(choice % 997)
      const open = sim.open()
      const actions: Array<() => unknown> = [
        () => sim.signal("s1", { n: ++signalCount }),
        () => sim.signal("s2", { n: ++signalCount })
      ]
      for (const command of open) {
        switch (command.type) {
          case "ActivityScheduled":
            actions.push(
              () => sim.completeActivity(command.cmd, `result of ${command.cmd}`),
              () => sim.completeActivity(command.cmd, { cmd: command.cmd }),
              () => sim.failActivity(command.cmd, `failure of ${command.cmd}`)
            )
            break
          case "TimerStarted":
            actions.push(() => {
              sim.clock = Math.max(sim.clock, command.fireAt)
              sim.fireTimer(command.cmd)
            })
            break
          case "ChildWorkflowStarted":
            actions.push(
              () => sim.completeChild(command.cmd, `child ${command.cmd} result`),
              () => sim.completeChild(command.cmd, [command.cmd]),
              () => sim.failChild(command.cmd, `child ${command.cmd} failed`)
            )
            break
        }
      }
      if (choice % 29 === 28 && !cancelled) {
        cancelled = true
        sim.cancel("the driver cancels")
      } else if (choice % 13 === 12) {
        sim.instance.query(Progress.name)
        continue
      } else {
        actions[choice % actions.length]!()
      }
    }
    snapshots.set(sim.history.length, snapshotOf(sim.instance))
  }
  return snapshots
}

/** Completes what the workflow waits for, oldest first; throws if it waits for nothing. */
const finishOne = (sim: Simulation) => {
  const cancelRequested = cancelRequestedCmds(sim.history)
  const open = sim.open()
  const waited = open.find((c) => !cancelRequested.has(c.cmd)) ?? open[0]
  if (waited) {
    switch (waited.type) {
      case "ActivityScheduled":
        return sim.completeActivity(waited.cmd, `result of ${waited.cmd}`)
      case "TimerStarted":
        sim.clock = Math.max(sim.clock, waited.fireAt)
        return sim.fireTimer(waited.cmd)
      case "ChildWorkflowStarted":
        return sim.completeChild(waited.cmd, `child ${waited.cmd} result`)
    }
  }
  const signalWait = sim.instance.pending().find((p) => p.kind === "signal")
  if (signalWait) return sim.signal(signalWait.name!, { n: "last" })
  throw new Error(`deadlock: the workflow is running and waits for nothing; history:\n${show(sim.history)}`)
}

/** An event as the command it was, without the store's seq and time, and without stacks. */
export const asCommand = (event: HistoryEvent): Command => {
  const { seq: _seq, at: _at, ...command } = event
  return scrub(command) as Command
}

export const show = (history: ReadonlyArray<HistoryEvent>): string =>
  history
    .map((e) => `${e.seq} ${e.type}${"cmd" in e ? ` cmd=${e.cmd}` : ""}${"name" in e ? ` ${e.name}` : ""}`)
    .join("\n")
