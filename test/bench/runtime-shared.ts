/**
 * Workflows, activities and helpers shared by the runtime benchmark (runtime.ts) and its
 * child processes (runtime-resume-child.ts, runtime-waiting-child.ts).
 */
import * as Schema from "effect/Schema"
import * as fs from "node:fs"
import { activity, defineSignal, waitForSignal, workflow } from "../../core"
import { implement } from "../../runtime"

/** A no-op activity: the step whose engine overhead is measured. */
export const noop = activity("bench.noop", { input: Schema.Number, output: Schema.Number })

/** `steps` no-op activities in sequence. */
export const steps = workflow("bench.steps", { input: Schema.Number }, function* (n) {
  let sum = 0
  for (let i = 0; i < n; i++) sum += yield* noop(i)
  return sum
})

/**
 * Step latency probe: the time from one no-op activity returning to the next activity of
 * the same workflow being invoked. In between: the completion is reported, the workflow task
 * applies it and emits the next ActivityScheduled, the group commit writes (and fsyncs) both
 * events, and the new task is dispatched to the worker pool.
 */
export class StepClock {
  readonly samples: Array<number> = []
  private readonly lastReturn = new Map<string, number>()
  onLast: ((workflowId: string) => void) | undefined = undefined
  observe(workflowId: string, last: boolean) {
    const now = performance.now()
    const previous = this.lastReturn.get(workflowId)
    if (previous !== undefined) this.samples.push(now - previous)
    if (last) {
      this.lastReturn.delete(workflowId)
      this.onLast?.(workflowId)
    }
  }
  returned(workflowId: string) {
    this.lastReturn.set(workflowId, performance.now())
  }
}

export const noopImpl = (clock: StepClock | undefined, stepsPerWorkflow: number) =>
  implement(noop, (i, ctx) => {
    if (clock) {
      clock.observe(ctx.workflowId, i === stepsPerWorkflow - 1)
      if (i < stepsPerWorkflow - 1) clock.returned(ctx.workflowId)
    }
    return i
  })

/** Resume probe: blocks until the marker file exists, then the workflow takes one more step. */
export const gate = activity("bench.gate", { input: Schema.String, output: Schema.Boolean })
export const next = activity("bench.next", { input: Schema.Number, output: Schema.Number })

export const gated = workflow("bench.gated", { input: Schema.String }, function* (marker) {
  yield* gate(marker)
  return yield* next(1)
})

export const gateImpl = implement(gate, (marker, ctx) => {
  if (fs.existsSync(marker)) return true
  return new Promise<boolean>((resolve) => {
    const poll = setInterval(() => {
      if (fs.existsSync(marker) || ctx.signal.aborted) {
        clearInterval(poll)
        resolve(true)
      }
    }, 50)
  })
})

/** Waiting probe: a workflow parked on a signal. */
export const Go = defineSignal("go", Schema.Number)
export const parked = workflow("bench.parked", { signals: [Go] }, function* () {
  return yield* waitForSignal(Go)
})

/** Writes one JSON line on stdout: how children report to the benchmark. */
export const report = (value: Record<string, unknown>) =>
  new Promise<void>((resolve) => process.stdout.write(`${JSON.stringify(value)}\n`, () => resolve()))

export const removeDb = (dbPath: string) => {
  for (const suffix of ["", "-wal", "-shm", "-journal", ".lock"]) fs.rmSync(dbPath + suffix, { force: true })
}

export const Tick = defineSignal("bench.tick", Schema.Number)

/** Signal-rate probe: counts ticks until a negative one (one long history). */
export const inbox = workflow("bench.inbox", { input: Schema.Null, signals: [Tick] }, function* () {
  let count = 0
  for (;;) {
    const tick = yield* waitForSignal(Tick)
    if (tick < 0) return count
    count += tick
  }
})
