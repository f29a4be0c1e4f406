/**
 * Interpreter benchmark (`npm run bench:core`, `-- --json` for one JSON object).
 *
 * - replay: rebuilding an instance from a history of N steps (a workflow looping over an
 *   activity; each step is ActivityScheduled + ActivityCompleted), as the runtime does on
 *   recovery and cache misses: `WorkflowInstance.replay` with tracing off. The traced replay
 *   (what the debugger and `replay()` do) is printed too.
 * - live: feeding one ActivityCompleted at a time to a running instance and taking the next
 *   command, as the runtime's hot path does; per-step interpreter overhead in µs.
 *
 * Targets (issue 2): replay of 10,000 steps < 20 ms; 100,000 within 12× of 10,000; live < 2 µs/step.
 */
import * as Schema from "effect/Schema"
import { activity, workflow, WorkflowInstance, type HistoryEvent } from "../../core"

const step = activity("step", { input: Schema.Number, output: Schema.Number })

const loop = workflow("loop", { input: Schema.Number }, function* (n) {
  let total = 0
  for (let i = 0; i < n; i++) total += yield* step(i)
  return total
})

const AT = 1_700_000_000_000

const started = (n: number): HistoryEvent =>
  ({
    type: "WorkflowStarted",
    seq: 1,
    at: AT,
    workflowType: "loop",
    workflowId: "bench",
    runId: "run-1",
    input: n,
    randomSeed: "bench"
  }) as HistoryEvent

const completed = (seq: number, cmd: number): HistoryEvent =>
  ({ type: "ActivityCompleted", seq, at: AT + seq, cmd, attempt: 1, result: 1 }) as HistoryEvent

/** The history the live path records for `n` steps, built directly (the shape the Simulation makes). */
const historyOf = (n: number): Array<HistoryEvent> => {
  const events: Array<HistoryEvent> = [started(n)]
  for (let cmd = 1; cmd <= n; cmd++) {
    const at = AT + events.length
    events.push({
      type: "ActivityScheduled",
      seq: events.length + 1,
      at,
      cmd,
      name: "step",
      input: cmd - 1,
      options: {}
    } as HistoryEvent)
    events.push(completed(events.length + 1, cmd))
  }
  events.push({
    type: "WorkflowCompleted",
    seq: events.length + 1,
    at: AT + events.length,
    result: n
  } as HistoryEvent)
  return events
}

/** CPU time of this process in ms: unlike wall time, it does not count waiting for a core. */
const cpuMs = () => {
  const { user, system } = process.cpuUsage()
  return (user + system) / 1000
}

/**
 * Best of `rounds` timed runs of each task, after `warmup` untimed ones, in CPU ms. The tasks
 * take turns round by round, so load from other processes spreads over all of them; such load
 * only ever adds time, so the minimum is the steadiest estimate of what the code costs.
 */
const measure = (
  tasks: Record<string, () => void>,
  rounds: number,
  warmup: number
): Record<string, number> => {
  const best: Record<string, number> = {}
  for (const [name, task] of Object.entries(tasks)) {
    for (let i = 0; i < warmup; i++) task()
    best[name] = Infinity
  }
  for (let round = 0; round < rounds; round++) {
    for (const [name, task] of Object.entries(tasks)) {
      const start = cpuMs()
      task()
      best[name] = Math.min(best[name]!, cpuMs() - start)
    }
  }
  return best
}

const replayTask = (n: number, trace: boolean) => {
  const history = historyOf(n)
  return () => {
    const instance = WorkflowInstance.replay(loop, history, { trace })
    if (instance.status !== "completed" || instance.result !== n) {
      throw new Error(`replay of ${n} steps ended ${instance.status}: ${instance.divergence?.message ?? ""}`)
    }
  }
}

/** The live path for `n` steps: apply one completion, take the next command. */
const liveTask = (n: number) => {
  const incoming: Array<HistoryEvent> = []
  // Live, the instance only sees incoming events; their seqs leave room for the commands between.
  for (let cmd = 1; cmd <= n; cmd++) incoming.push(completed(2 * cmd + 1, cmd))
  return () => {
    const instance = WorkflowInstance.create(loop, { trace: false })
    instance.apply(started(n))
    instance.takeCommands()
    for (const event of incoming) {
      instance.apply(event)
      if (instance.takeCommands().length !== 1) throw new Error("expected one command per step")
    }
    if (instance.status !== "completed") throw new Error(`live run ended ${instance.status}`)
  }
}

const round = (x: number, digits = 2) => Number(x.toFixed(digits))

const LIVE_STEPS = 100_000
const ROUNDS = 25
const best = measure(
  {
    replay1k: replayTask(1_000, false),
    replay10k: replayTask(10_000, false),
    replay100k: replayTask(100_000, false),
    replayTraced10k: replayTask(10_000, true),
    replayTraced100k: replayTask(100_000, true),
    live: liveTask(LIVE_STEPS)
  },
  ROUNDS,
  3
)
const figures = {
  replay1kMs: round(best.replay1k!, 3),
  replay10kMs: round(best.replay10k!),
  replay100kMs: round(best.replay100k!),
  replayTraced10kMs: round(best.replayTraced10k!),
  replayTraced100kMs: round(best.replayTraced100k!),
  liveStepMicros: round((best.live! * 1000) / LIVE_STEPS, 3)
}
const ratio100kTo10k = round(figures.replay100kMs / figures.replay10kMs)
const targets = {
  replay10kUnder20Ms: figures.replay10kMs < 20,
  replay100kWithin12xOf10k: ratio100kTo10k <= 12,
  liveUnder2MicrosPerStep: figures.liveStepMicros < 2
}

if (process.argv.includes("--json")) {
  const statistic = `best of ${ROUNDS} rounds, CPU time`
  console.log(JSON.stringify({ ...figures, ratio100kTo10k, targets, statistic, node: process.version }))
} else {
  const ok = (b: boolean) => (b ? "ok" : "MISSED")
  console.log(`Interpreter benchmark (node ${process.version}; best of ${ROUNDS} rounds, CPU time)`)
  console.log(`  replay   1,000 steps  ${figures.replay1kMs.toFixed(3).padStart(9)} ms`)
  console.log(
    `  replay  10,000 steps  ${figures.replay10kMs.toFixed(2).padStart(9)} ms   target < 20 ms: ${ok(targets.replay10kUnder20Ms)}`
  )
  console.log(
    `  replay 100,000 steps  ${figures.replay100kMs.toFixed(2).padStart(9)} ms   100k/10k = ${ratio100kTo10k}× (target ≤ 12×): ${ok(targets.replay100kWithin12xOf10k)}`
  )
  console.log(
    `  replay, traced (debugger):  10k ${figures.replayTraced10kMs} ms, 100k ${figures.replayTraced100kMs} ms`
  )
  console.log(
    `  live, per step        ${figures.liveStepMicros.toFixed(3).padStart(9)} µs   target < 2 µs: ${ok(targets.liveUnder2MicrosPerStep)}`
  )
}
