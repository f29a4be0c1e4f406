/**
 * The activity implementations the examples need, for the engine's registry: the agent
 * activities (`llm.chat` and the workspace tools, from `runtime/agents`) and the small ones
 * defined next to the example workflows (`notify`, `merge`, the bookings and their
 * compensations, `checkStatus`, `analyzeText`).
 *
 * Node only (files, the LLM provider): the server imports this module; the browser debugger
 * imports `examples/index.ts`, which never imports this one.
 *
 * The small implementations are stand-ins for real services, kept idempotent the way a real
 * one must be: a booking is keyed by the reservation id the workflow chose, so an attempt
 * retried after a crash returns the same booking instead of a second one.
 */
import { createHash } from "node:crypto"
import * as path from "node:path"
import {
  agentActivities,
  llmFromEnv,
  NonRetryableError,
  toolCallMeta,
  WorkspaceTools,
  type LlmCallLedger,
  type LlmProvider
} from "../runtime/agents"
import { implement, type RegisteredActivity } from "../runtime/activities"
import {
  bookCar,
  bookFlight,
  bookHotel,
  cancelCar,
  cancelFlight,
  cancelHotel,
  type BookingRequest
} from "./book-trip"
import { merge, notify } from "./code-review"
import { analyzeText } from "./fan-out-fan-in"
import { checkStatus } from "./monitor"

export interface ExampleActivitiesConfig {
  /** The folder holding one workspace folder per workflow (default `<dataDir>/workspaces`). */
  readonly workspaceRoot?: string
  /** The server's data folder (default `./data`), when `workspaceRoot` is not given. */
  readonly dataDir?: string
  /** The LLM; by default the one `env` asks for (`llmFromEnv`: offline scripted unless `LLM_BASE_URL` is set). */
  readonly llm?: LlmProvider
  /** Read for the LLM configuration when `llm` is not given (default `process.env`). */
  readonly env?: Readonly<Record<string, string | undefined>>
  /** Where LLM calls are counted (default: `.llm-calls.jsonl` in `workspaceRoot`). */
  readonly callLedger?: LlmCallLedger
  /** Where `notify` delivers (default: a line on stdout). */
  readonly log?: (line: string) => void
}

/** The folder of the workflows' workspaces for `config`. */
export const workspaceRootOf = (config: Pick<ExampleActivitiesConfig, "workspaceRoot" | "dataDir">): string =>
  config.workspaceRoot ?? path.join(config.dataDir ?? "./data", "workspaces")

/** Where `merge` puts the approved code, in the workflow's workspace. */
export const MERGED_FILE = "merged/code.txt"

const shortHash = (text: string): string => createHash("sha256").update(text).digest("hex").slice(0, 8)

const booking = (kind: string, prefix: string) => (request: BookingRequest) => {
  if (request.fail) {
    throw new NonRetryableError({
      message: `no ${kind} available for ${request.traveler} to ${request.destination} (the stand-in provider was told to fail)`
    })
  }
  return {
    kind,
    reservation: request.reservation,
    confirmation: `${prefix}-${shortHash(request.reservation).toUpperCase()}`
  }
}

const cancellation = ({ reservation }: { readonly reservation: string }) => ({ cancelled: reservation })

/**
 * Every activity the example workflows call, implemented. Throws (from `llmFromEnv`) when the
 * LLM configuration in `env` is malformed, so a bad setting stops the server at start.
 *
 * @example
 * const llm = llmFromEnv(process.env)
 * console.log(llm.description)
 * const registered = activities({ workspaceRoot: "./data/workspaces", llm })
 */
export const activities = (config: ExampleActivitiesConfig): RegisteredActivity[] => {
  const llm = config.llm ?? llmFromEnv(config.env ?? process.env)
  const log = config.log ?? ((line: string) => console.log(line))
  const workspaceRoot = workspaceRootOf(config)
  const tools = new WorkspaceTools({ root: workspaceRoot })
  return [
    ...agentActivities({
      llm,
      workspaceRoot,
      workspaceTools: tools,
      ...(config.callLedger === undefined ? {} : { callLedger: config.callLedger })
    }),
    implement(notify, (n, ctx) => {
      log(`[notify ${ctx.workflowId}] to ${n.to}: ${n.subject}\n${n.body}`)
      return { delivered: true, to: n.to }
    }),
    implement(merge, async ({ code }, ctx) => {
      const written = await tools.workspace(ctx.workflowId).writeFile(MERGED_FILE, code, toolCallMeta(ctx))
      return { ref: written.sha256.slice(0, 12), path: written.path, bytes: written.bytes }
    }),
    implement(bookFlight, booking("flight", "FL")),
    implement(bookHotel, booking("hotel", "HT")),
    implement(bookCar, booking("car", "CR")),
    implement(cancelFlight, cancellation),
    implement(cancelHotel, cancellation),
    implement(cancelCar, cancellation),
    implement(checkStatus, ({ target, check, readyAfterChecks }) => {
      const ready = check >= readyAfterChecks
      return {
        ready,
        detail: ready
          ? `${target} is ready (check ${check})`
          : `${target} is not ready yet (check ${check} of ${readyAfterChecks})`
      }
    }),
    implement(analyzeText, (text) => ({
      item: text,
      words: text.match(/\S+/g)?.length ?? 0,
      characters: text.length
    }))
  ]
}
