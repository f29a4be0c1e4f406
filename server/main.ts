/**
 * `npm start`: the server configured from the environment (see config.ts). SIGTERM and
 * SIGINT drain and exit 0; a failure to start prints one line naming the cause and exits 1.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { settingsFromEnv } from "./config"
import { describeStartFailure, serve } from "./serve"

const settings = settingsFromEnv(process.env)
if (Either.isLeft(settings)) {
  console.error(`temporal-lite: ${settings.left.message}`)
  process.exit(1)
}

NodeRuntime.runMain(
  serve(settings.right).pipe(
    Effect.tapError((error) =>
      Effect.sync(() => console.error(`temporal-lite: ${describeStartFailure(error)}`))
    ),
    // A defect is a bug, but still gets its line: never an exit without a word.
    Effect.tapDefect((cause) =>
      Effect.sync(() => console.error(`temporal-lite: ${describeStartFailure(Cause.squash(cause))}`))
    )
  ),
  { disableErrorReporting: true }
)
