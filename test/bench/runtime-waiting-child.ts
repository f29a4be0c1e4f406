/**
 * Child process of the runtime benchmark's memory measurement: starts n `bench.parked`
 * workflows (each waiting on a signal) with the default cache size, then reports the RSS: right
 * after the starts, and every 5 s of the 40 s it then sits idle.
 *
 *   node --expose-gc --import tsx runtime-waiting-child.ts <dbPath> <n> [cacheSize]
 *
 * (`cacheSize` is for diagnosis only; the benchmark uses the default.)
 */
import * as Effect from "effect/Effect"
import { Engine, EngineLive } from "../../runtime"
import { parked, report } from "./runtime-shared"

const [dbPath, count, cacheSize] = process.argv.slice(2)
const n = Number(count)
if (!dbPath || !(n > 0)) {
  console.error("usage: runtime-waiting-child.ts <dbPath> <n>")
  process.exit(2)
}

const IDLE_SAMPLES = 8
const mib = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10
const gc = (globalThis as { gc?: () => void }).gc

const program = Effect.gen(function* () {
  const engine = yield* Engine
  const began = performance.now()
  yield* Effect.forEach(
    Array.from({ length: n }, (_, i) => `parked-${i}`),
    (id) => engine.start(parked.name, undefined, { id }),
    { concurrency: 1000, discard: true }
  )
  const startMs = performance.now() - began
  // Every start is acknowledged after its first commit: all n are running and waiting now.
  const memory = process.memoryUsage()
  gc?.()
  const afterGc = process.memoryUsage()
  // Right after the burst, V8's old space still holds the garbage of n starts; V8 hands it
  // back once the process has idled a while. Idling is what waiting workflows do: sample the
  // RSS as an engine holding them would sit.
  const idleRssMiB: Array<number> = []
  for (let i = 0; i < IDLE_SAMPLES; i++) {
    yield* Effect.sleep("5 seconds")
    idleRssMiB.push(mib(process.memoryUsage().rss))
  }
  // A signal to the first (long evicted) workflow still completes it: the engine is sound.
  yield* engine.signal("parked-0", "go", 42)
  yield* Effect.sleep("200 millis")
  const first = yield* engine.describe("parked-0")
  yield* Effect.promise(() =>
    report({
      waiting: n,
      startMs,
      rssMiB: mib(memory.rss),
      heapUsedMiB: mib(memory.heapUsed),
      rssAfterGcMiB: gc ? mib(afterGc.rss) : undefined,
      heapUsedAfterGcMiB: gc ? mib(afterGc.heapUsed) : undefined,
      idleRssMiB,
      idleSeconds: IDLE_SAMPLES * 5,
      signalledStatus: first.status
    })
  )
})

Effect.runPromise(
  program.pipe(
    Effect.provide(
      EngineLive({
        dbPath,
        workflows: [parked],
        activities: [],
        cacheSize: cacheSize === undefined ? undefined : Number(cacheSize)
      })
    ),
    Effect.scoped
  )
).then(
  () => process.exit(0),
  (error) => {
    console.error("runtime-waiting-child failed:", error)
    process.exit(1)
  }
)
