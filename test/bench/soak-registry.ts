/**
 * The registry the soak benchmark (soak.ts) serves: a session that waits for signals with a
 * timeout (a durable timer each round), runs an activity per round, answers a query, and
 * sleeps before it completes.
 */
import * as Schema from "effect/Schema"
import { activity, defineQuery, defineSignal, onQuery, sleep, waitForSignal, workflow } from "../../core"
import { implement } from "../../runtime"

export const Tick = defineSignal("tick", Schema.Number)
export const Progress = defineQuery<number>("progress")
const work = activity("soak.work", { input: Schema.Number, output: Schema.Number })

/** `rounds` rounds of a signal (or a 2-second timeout) and an activity, then a 1-second sleep. */
export const session = workflow(
  "soak.session",
  { input: Schema.Number, signals: [Tick], queries: [Progress] },
  function* (rounds) {
    let done = 0
    yield* onQuery(Progress, () => done)
    for (let i = 0; i < rounds; i++) {
      const tick = yield* waitForSignal(Tick, { timeout: "2 seconds" })
      done += yield* work(tick ?? 0)
    }
    yield* sleep("1 second")
    return done
  }
)

export const workflows = [session]
export const activities = [
  implement(work, (n) => new Promise<number>((resolve) => setTimeout(() => resolve(n + 1), 1)))
]
