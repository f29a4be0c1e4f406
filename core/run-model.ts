/**
 * The run model: what a workflow run is, as every part shows it. Its status, the summary a
 * listing gives, the description `describe` gives, why a stuck run is stuck, and what a run's
 * event stream carries. Declared once here, so the engine, the HTTP API (api/), the CLI and
 * the debugger all speak of runs in the same shapes.
 *
 * Also the rules for the one name a caller chooses and the engine stores as it is given: a
 * workflow id (at most {@link MAX_WORKFLOW_ID_LENGTH} characters, no control characters,
 * well-formed Unicode).
 */
import * as Schema from "effect/Schema"
import { DivergenceSide, ErrorInfo, NonDeterminismError } from "./errors"
import { HistoryEvent } from "./history"

/** Any JSON value (an input, a result, a payload). */
export const JsonValue = Schema.Unknown.annotations({
  identifier: "JsonValue",
  description: "Any JSON value"
})

export const RunStatus = Schema.Literal(
  "running",
  "completed",
  "failed",
  "cancelled",
  "continued-as-new",
  "stuck"
).annotations({
  identifier: "RunStatus",
  title: "Run status",
  description:
    "running → completed | failed | cancelled | continued-as-new. `stuck`: the deployed code no longer " +
    "reproduces the run's history; what arrives for it is stored, and code that matches resumes it"
})
/** running → completed | failed | cancelled | continued-as-new; stuck until code that matches resumes it. */
export type RunStatus = typeof RunStatus.Type

// ---------------------------------------------------------------------------------------
// Names the engine stores as given
// ---------------------------------------------------------------------------------------

/** The longest workflow id, in characters (Unicode code points), also for a child's id. */
export const MAX_WORKFLOW_ID_LENGTH = 256

const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/
const controlCharacter = /[\u0000-\u001f\u007f]/

/**
 * Whether `text` is well-formed Unicode: no lone UTF-16 surrogate, which no UTF-8 store can
 * keep (two different ill-formed ids would read back as one).
 */
export const isWellFormed = (text: string): boolean => !loneSurrogate.test(text)

/** A string that is well-formed Unicode (see {@link isWellFormed}). */
export const WellFormedString = Schema.String.pipe(
  Schema.filter((text) => isWellFormed(text) || "must be well-formed Unicode (it holds a lone surrogate)", {
    jsonSchema: {}
  })
).annotations({ identifier: "WellFormedString", title: "Text", description: "Well-formed Unicode" })

/** Characters (code points) in `text`. */
const characters = (text: string): number => {
  let n = 0
  for (const _ of text) n++
  return n
}

/**
 * What is wrong with `id` as a workflow id, or undefined when it is a good one: not empty, at
 * most {@link MAX_WORKFLOW_ID_LENGTH} characters, no control characters, well-formed Unicode.
 */
export const workflowIdProblem = (id: string): string | undefined => {
  if (id.length === 0) return "a workflow id must not be empty"
  if (!isWellFormed(id)) return "a workflow id must be well-formed Unicode (it holds a lone surrogate)"
  if (characters(id) > MAX_WORKFLOW_ID_LENGTH)
    return `a workflow id is at most ${MAX_WORKFLOW_ID_LENGTH} characters (this one has ${characters(id)})`
  if (controlCharacter.test(id)) return "a workflow id must not contain control characters"
  return undefined
}

export const WorkflowId = Schema.String.pipe(
  Schema.filter((id) => workflowIdProblem(id), {
    jsonSchema: { minLength: 1, maxLength: MAX_WORKFLOW_ID_LENGTH, pattern: "^[^\\u0000-\\u001f\\u007f]*$" }
  })
).annotations({
  identifier: "WorkflowId",
  title: "Workflow id",
  description: `1–${MAX_WORKFLOW_ID_LENGTH} characters of well-formed Unicode, no control characters`,
  examples: ["review-1"]
})

// ---------------------------------------------------------------------------------------
// Divergence
// ---------------------------------------------------------------------------------------

/**
 * Why a stuck run is stuck: replayed against the deployed code, the history recorded one thing
 * at `cmd` (`expected`) and the code yields another (`actual`, with the line when known).
 */
export const Divergence = Schema.Struct({
  cmd: Schema.Number.annotations({ description: "The command id where the code and the history part" }),
  expected: DivergenceSide.annotations({ description: "What the history recorded" }),
  actual: DivergenceSide.annotations({ description: "What the deployed code yields" }),
  reason: Schema.String,
  message: Schema.String.annotations({ description: "The whole divergence in one sentence" })
}).annotations({ identifier: "Divergence", title: "Divergence" })
export type Divergence = typeof Divergence.Type

/**
 * The divergence of a `NonDeterminismError`, or of its fields as the engine stored them, with
 * its one-sentence message.
 *
 * @example
 * const divergence = divergenceOf(instance.divergence!)
 */
export const divergenceOf = (fields: {
  readonly cmd: number
  readonly expected: DivergenceSide
  readonly actual: DivergenceSide
  readonly reason: string
}): Divergence => {
  const error = fields instanceof NonDeterminismError ? fields : new NonDeterminismError(fields)
  return {
    cmd: error.cmd,
    expected: error.expected,
    actual: error.actual,
    reason: error.reason,
    message: error.message
  }
}

// ---------------------------------------------------------------------------------------
// Summary and description
// ---------------------------------------------------------------------------------------

const EpochMillis = Schema.Number.annotations({ description: "Epoch milliseconds" })

export const summaryFields = {
  id: Schema.String.annotations({ description: "The workflow id" }),
  runId: Schema.String.annotations({ description: "This run of the id (continue-as-new starts another)" }),
  type: Schema.String.annotations({ description: "The workflow type" }),
  status: RunStatus,
  createdAt: EpochMillis,
  updatedAt: EpochMillis,
  closedAt: Schema.optional(EpochMillis),
  lastEventType: Schema.optional(Schema.String),
  parentId: Schema.optional(Schema.String.annotations({ description: "The parent's workflow id (a child)" }))
}

/** A run as a listing shows it. */
export const WorkflowSummary = Schema.Struct(summaryFields).annotations({
  identifier: "WorkflowSummary",
  title: "Workflow summary"
})
export type WorkflowSummary = typeof WorkflowSummary.Type

export const PendingWork = Schema.Struct({
  activities: Schema.Array(
    Schema.Struct({ cmd: Schema.Number, name: Schema.String, attempt: Schema.Number })
  ),
  timers: Schema.Array(
    Schema.Struct({
      cmd: Schema.Number,
      fireAt: EpochMillis,
      purpose: Schema.Literal("sleep", "signal-timeout")
    })
  ),
  signals: Schema.Array(Schema.String).annotations({ description: "Signal names the workflow waits for" }),
  bufferedSignals: Schema.Array(Schema.Struct({ name: Schema.String, seq: Schema.Number })).annotations({
    description: "Signals received and not yet consumed"
  }),
  children: Schema.Array(
    Schema.Struct({ cmd: Schema.Number, workflowId: Schema.String, workflowType: Schema.String })
  )
}).annotations({ identifier: "PendingWork", title: "Pending work" })

/**
 * What `describe` tells of a run besides its summary, its input and its result: the pieces a
 * typed description per workflow type (api/) puts around its own input and result.
 */
export const descriptionFields = {
  ...summaryFields,
  error: Schema.optional(ErrorInfo.annotations({ description: "Why the run failed or was cancelled" })),
  divergence: Schema.optional(Divergence.annotations({ description: "Why a stuck run is stuck" })),
  historyLength: Schema.Number.annotations({ description: "Events in the run's history" }),
  pending: PendingWork,
  llmUsage: Schema.Struct({ calls: Schema.Number, totalTokens: Schema.Number }).annotations({
    description: "LLM calls recorded in the history and their tokens (a replay bills nothing)"
  })
}

/** A run's status, input, result or error, divergence, pending work and times. */
export const WorkflowDescription = Schema.Struct({
  ...descriptionFields,
  input: JsonValue,
  result: Schema.optional(JsonValue)
}).annotations({ identifier: "WorkflowDescription", title: "Workflow description" })
export type WorkflowDescription = typeof WorkflowDescription.Type

// ---------------------------------------------------------------------------------------
// The event stream
// ---------------------------------------------------------------------------------------

/** One item of a run's live stream: a history event, a side-channel chunk, or the end. */
export const StreamItem = Schema.Union(
  Schema.TaggedStruct("history", { event: HistoryEvent }),
  Schema.TaggedStruct("chunk", {
    cmd: Schema.Number,
    activity: Schema.String,
    chunk: JsonValue.annotations({ description: "What the activity emitted (an LLM token, …)" })
  }),
  Schema.TaggedStruct("end", { status: RunStatus })
).annotations({ identifier: "StreamItem" })
export type StreamItem = typeof StreamItem.Type
