/**
 * Child process of the runtime benchmark's resume measurement.
 *
 *   seed <dbPath> <marker> <n>    starts n `bench.gated` workflows (each blocks in its gate
 *                                 activity until the marker file exists), reports, then waits
 *                                 to be SIGKILLed
 *   resume <dbPath> <marker> <n>  recovers them (the marker now exists: every gate completes)
 *                                 and reports once all n have made their next step
 *
 * Reports JSON lines on stdout; times are ms since this process started.
 */
import * as Effect from "effect/Effect"
import { Engine, EngineLive, implement } from "../../runtime"
import { gated, gateImpl, next, report } from "./runtime-shared"

const [mode, dbPath, marker, count] = process.argv.slice(2)
const n = Number(count)
if ((mode !== "seed" && mode !== "resume") || !dbPath || !marker || !(n > 0)) {
  console.error("usage: runtime-resume-child.ts seed|resume <dbPath> <marker> <n>")
  process.exit(2)
}

let nextSteps = 0
let allResumed: () => void = () => {}
const resumed = new Promise<void>((resolve) => (allResumed = resolve))
const nextImpl = implement(next, (x) => {
  if (++nextSteps === n) allResumed()
  return x
})

const cpuMs = () => {
  const used = process.cpuUsage()
  return (used.user + used.system) / 1000
}
const loadedAt = performance.now()
const layer = EngineLive({ dbPath, workflows: [gated], activities: [gateImpl, nextImpl] })

const seed = Effect.gen(function* () {
  const engine = yield* Engine
  const began = performance.now()
  yield* Effect.forEach(
    Array.from({ length: n }, (_, i) => `gated-${i}`),
    (id) => engine.start(gated.name, marker, { id }),
    { concurrency: 500, discard: true }
  )
  yield* Effect.promise(() =>
    report({ seeded: n, startMs: performance.now() - began, rssMiB: process.memoryUsage().rss / 2 ** 20 })
  )
  return yield* Effect.never
})

const resume = Effect.gen(function* () {
  yield* Engine
  const recoveredAt = performance.now()
  yield* Effect.promise(() => resumed)
  const resumedAt = performance.now()
  yield* Effect.promise(() =>
    report({
      resumed: nextSteps,
      loadedAtMs: loadedAt,
      recoveredAtMs: recoveredAt,
      resumedAtMs: resumedAt,
      cpuMs: cpuMs()
    })
  )
})

Effect.runPromise((mode === "seed" ? seed : resume).pipe(Effect.provide(layer), Effect.scoped)).then(
  () => process.exit(0),
  (error) => {
    console.error("runtime-resume-child failed:", error)
    process.exit(1)
  }
)
