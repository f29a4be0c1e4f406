/**
 * The soak benchmark's server (soak.ts spawns it): the server of `npm start` with the soak
 * registry on `<dataDir>/temporal-lite.db`. On SIGUSR2 it collects the garbage (it runs with
 * --expose-gc) and prints one line, `{"sample":{…}}`: its RSS, its heap after the collection,
 * its open file descriptors and what the engine holds.
 */
import * as HttpServer from "@effect/platform/HttpServer"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as fs from "node:fs"
import * as path from "node:path"
import { Engine } from "../../runtime"
import { settingsFromEnv } from "../../server/config"
import { loadServeRegistry, serverLayer, serverUrl } from "../../server/serve"

const [dataDir] = process.argv.slice(2)
const settings = settingsFromEnv(
  {},
  {
    port: 0,
    dbPath: path.join(dataDir!, "temporal-lite.db"),
    registryPath: path.join(import.meta.dirname, "soak-registry.ts"),
    debuggerDir: path.join(dataDir!, "no-debugger")
  }
)
if (Either.isLeft(settings)) throw new Error(settings.left.message)

const MiB = 2 ** 20
const round = (x: number) => Math.round(x * 10) / 10

Effect.runPromise(
  Effect.scoped(
    Effect.gen(function* () {
      const registry = yield* loadServeRegistry(settings.right)
      const context = yield* Layer.build(serverLayer(settings.right, registry))
      const engine = Context.get(context, Engine)
      process.on("SIGUSR2", () => {
        ;(globalThis as { gc?: () => void }).gc?.()
        const memory = process.memoryUsage()
        const sample = {
          rssMiB: round(memory.rss / MiB),
          heapAfterGcMiB: round(memory.heapUsed / MiB),
          fds: fs.readdirSync("/proc/self/fd").length,
          retained: engine.retained()
        }
        process.stdout.write(`${JSON.stringify({ sample })}\n`)
      })
      console.log(`listening on ${serverUrl(Context.get(context, HttpServer.HttpServer))}`)
      return yield* Effect.never
    })
  )
).catch((error) => {
  console.error(error)
  process.exit(1)
})
