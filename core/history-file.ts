/**
 * The history export format `temporal-lite/history@1`: what `GET /api/workflows/:id/history`
 * answers, `cli history --out` writes, and the debugger and `replay` read.
 */
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { ErrorInfo } from "./errors"
import { HistoryEvent } from "./history"
import { Divergence, JsonValue, RunStatus } from "./run-model"

export const HISTORY_FORMAT = "temporal-lite/history@1"

/** The run an export holds, as it stood when exported. */
export const HistoryWorkflow = Schema.Struct({
  id: Schema.String,
  type: Schema.String,
  runId: Schema.String,
  status: RunStatus,
  input: Schema.optional(JsonValue),
  result: Schema.optional(JsonValue),
  error: Schema.optional(ErrorInfo),
  /** For a stuck run: why it is stuck. */
  divergence: Schema.optional(Divergence),
  startedAt: Schema.optional(Schema.Number),
  closedAt: Schema.optional(Schema.Number)
}).annotations({ identifier: "HistoryWorkflow", title: "Exported run" })
export type HistoryWorkflow = typeof HistoryWorkflow.Type

export const HistoryFile = Schema.Struct({
  format: Schema.Literal(HISTORY_FORMAT),
  workflow: HistoryWorkflow,
  events: Schema.Array(HistoryEvent)
}).annotations({
  identifier: "HistoryFile",
  title: "History export",
  description: "temporal-lite/history@1: what the debugger loads and `replay` checks"
})
export type HistoryFile = typeof HistoryFile.Type

/** A history file that is not ours or is damaged; `message` names the first bad event and field. */
export class HistoryFileError extends Schema.TaggedError<HistoryFileError>()("HistoryFileError", {
  message: Schema.String,
  /** Index in `events` of the first bad event, when an event is at fault. */
  eventIndex: Schema.optional(Schema.Number),
  path: Schema.Array(Schema.Union(Schema.String, Schema.Number))
}) {}

const decode = Schema.decodeUnknownEither(HistoryFile, { errors: "first", onExcessProperty: "ignore" })
const encode = Schema.encodeSync(HistoryFile)

/**
 * Reads an export. A foreign or corrupt file fails with a message naming what is wrong:
 * the format, or the first bad event (its index and seq) and the field at fault.
 */
export const decodeHistoryFile = (input: unknown): Either.Either<HistoryFile, HistoryFileError> => {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return Either.left(
      new HistoryFileError({ message: "not a history file: expected a JSON object", path: [] })
    )
  }
  const format = (input as { format?: unknown }).format
  if (format !== HISTORY_FORMAT) {
    return Either.left(
      new HistoryFileError({
        message: `not a history file: "format" is ${JSON.stringify(format) ?? "missing"}, expected "${HISTORY_FORMAT}"`,
        path: ["format"]
      })
    )
  }
  const events = (input as { events?: unknown }).events
  if (!Array.isArray(events)) {
    return Either.left(
      new HistoryFileError({
        message: `bad history file: "events" ${events === undefined ? "is missing" : `is ${describeJson(events)}, expected an array of events`}`,
        path: ["events"]
      })
    )
  }
  const decoded = decode(input)
  const seqError = checkSequence(events)
  if (Either.isRight(decoded)) return seqError ? Either.left(seqError) : Either.right(decoded.right)
  const parseError = describeParseError(decoded.left, events)
  // The first fault in the file: a file-level one, else the earliest bad event.
  const seqFirst = seqError !== undefined && seqError.eventIndex! < (parseError.eventIndex ?? -1)
  return Either.left(seqFirst ? seqError : parseError)
}

const describeJson = (value: unknown): string =>
  value === null ? "null" : Array.isArray(value) ? "an array" : `a ${typeof value}`

/** Parses JSON text and decodes it; bad JSON gets the parser's position in the message. */
export const parseHistoryFile = (text: string): Either.Either<HistoryFile, HistoryFileError> => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    return Either.left(
      new HistoryFileError({
        message: `not a history file: invalid JSON (${(error as Error).message})`,
        path: []
      })
    )
  }
  return decodeHistoryFile(json)
}

export const encodeHistoryFile = (file: HistoryFile): unknown => encode(file)

const describeParseError = (
  error: ParseResult.ParseError,
  events: ReadonlyArray<unknown>
): HistoryFileError => {
  const issue = ParseResult.ArrayFormatter.formatErrorSync(error)[0]
  const path = (issue?.path ?? []).filter((p): p is string | number => typeof p !== "symbol")
  const detail = issue?.message ?? error.message
  if (path[0] === "events" && typeof path[1] === "number") {
    const index = path[1]
    const event = events[index] as { seq?: unknown; type?: unknown } | undefined
    if (typeof event !== "object" || event === null || Array.isArray(event)) {
      return new HistoryFileError({
        message: `bad event #${index}: expected an event object, got ${describeJson(event)}`,
        eventIndex: index,
        path: ["events", index]
      })
    }
    const field = path.slice(2).join(".")
    const seq = typeof event?.seq === "number" ? `, seq ${event.seq}` : ""
    const type = typeof event?.type === "string" ? ` (${event.type})` : ""
    const what = field ? `field "${field}"` : `its type ${JSON.stringify(event?.type)}`
    return new HistoryFileError({
      message: `bad event #${index}${seq}${type}: ${what}: ${detail}`,
      eventIndex: index,
      path
    })
  }
  return new HistoryFileError({
    message: `bad history file at "${path.join(".") || "(root)"}": ${detail}`,
    path
  })
}

/** Invariant 1 of history.ts: seqs are 1, 2, 3, … */
const checkSequence = (events: ReadonlyArray<unknown>): HistoryFileError | undefined => {
  for (let i = 0; i < events.length; i++) {
    const seq = (events[i] as { seq?: unknown } | null)?.seq
    if (typeof seq === "number" && seq !== i + 1) {
      return new HistoryFileError({
        message: `bad event #${i}, seq ${seq}: field "seq": expected ${i + 1} (events must be numbered 1, 2, 3, … without gaps)`,
        eventIndex: i,
        path: ["events", i, "seq"]
      })
    }
  }
  if (events.length > 0 && (events[0] as { type?: unknown } | null)?.type !== "WorkflowStarted") {
    return new HistoryFileError({
      message: `bad event #0: field "type": the first event must be WorkflowStarted`,
      eventIndex: 0,
      path: ["events", 0, "type"]
    })
  }
  return undefined
}
