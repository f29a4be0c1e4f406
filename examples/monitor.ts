/**
 * `monitor`: poll a status with an activity, sleeping durably between checks, until it is
 * ready or a deadline passes.
 *
 * The polling loop races a timer for the deadline: whichever settles first wins and the other
 * is cancelled (a pending check is aborted, a pending sleep's timer is dropped). Both timers
 * survive restarts; a deadline that passed while the server was down fires when it starts.
 *
 * The status checked here is a stand-in: job `target` becomes ready at check number
 * `readyAfterChecks` (default 3). A real monitor would call an API in `checkStatus`.
 */
import * as Schema from "effect/Schema"
import { activity, defineQuery, onQuery, race, sleep, workflow, type Descriptor } from "../core"
import { DurationString, durationMillis } from "./duration"

export const MonitorInput = Schema.Struct({
  /** What is watched (a job name). */
  target: Schema.String.pipe(Schema.minLength(1)),
  /** Time between checks (default `"5 seconds"`). */
  interval: Schema.optional(DurationString),
  /** Give up after this long (default `"1 minute"`). */
  deadline: Schema.optional(DurationString),
  /** The stand-in status turns ready at this check (default 3). */
  readyAfterChecks: Schema.optional(Schema.Int.pipe(Schema.positive()))
})
export type MonitorInput = typeof MonitorInput.Type

export const CheckStatusInput = Schema.Struct({
  target: Schema.String,
  /** 1 for the first check. */
  check: Schema.Int.pipe(Schema.positive()),
  readyAfterChecks: Schema.Int.pipe(Schema.positive())
})
export const CheckStatusOutput = Schema.Struct({ ready: Schema.Boolean, detail: Schema.String })
export type CheckStatusOutput = typeof CheckStatusOutput.Type

/** Checks the target's status once. */
export const checkStatus = activity("checkStatus", {
  input: CheckStatusInput,
  output: CheckStatusOutput,
  retry: { initialInterval: "1 second", maximumAttempts: 3 },
  timeout: "30 seconds"
})

export interface MonitorState {
  readonly state: "polling" | "ready" | "deadline-exceeded"
  readonly checks: number
  readonly lastDetail?: string
}

/** How the watch is going: checks made and the last status seen. */
export const MonitorStatus = defineQuery<MonitorState>("status")

export interface MonitorResult {
  readonly outcome: "ready" | "deadline-exceeded"
  readonly checks: number
  readonly lastDetail: string | undefined
}

/**
 * Polls until ready or the deadline (see the module doc). A check that fails after its
 * retries fails the workflow.
 *
 * @example // POST /api/workflows {"type":"monitor","input":{"target":"nightly-build","interval":"2 seconds"}}
 */
export const monitor = workflow(
  "monitor",
  { input: MonitorInput, queries: [MonitorStatus] },
  function* (input): Generator<Descriptor, MonitorResult, any> {
    const interval = durationMillis(input.interval ?? "5 seconds")
    const deadline = durationMillis(input.deadline ?? "1 minute")
    const readyAfterChecks = input.readyAfterChecks ?? 3
    let state: MonitorState["state"] = "polling"
    let checks = 0
    let lastDetail: string | undefined
    yield* onQuery(MonitorStatus, () =>
      lastDetail === undefined ? { state, checks } : { state, checks, lastDetail }
    )

    const poll = function* (): Generator<Descriptor, "ready", any> {
      for (;;) {
        checks += 1
        const status = yield* checkStatus({ target: input.target, check: checks, readyAfterChecks })
        lastDetail = status.detail
        if (status.ready) return "ready"
        yield* sleep(interval)
      }
    }
    const deadlinePassed = function* (): Generator<Descriptor, "deadline-exceeded", any> {
      yield* sleep(deadline)
      return "deadline-exceeded"
    }

    state = yield* race([poll, deadlinePassed])
    return { outcome: state, checks, lastDetail }
  }
)
