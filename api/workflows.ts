/**
 * The workflow routes: start, list, count, describe, history, signal, query, cancel and the
 * live stream. Built from the workflow data schemas (workflow-data.ts), so the same
 * declaration is what the server decodes (any JSON) and what the document shows (per
 * registered type).
 */
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as OpenApi from "@effect/platform/OpenApi"
import * as Schema from "effect/Schema"
import {
  Divergence,
  HistoryFile,
  MAX_WORKFLOW_ID_LENGTH,
  RunStatus,
  WellFormedString,
  WorkflowId,
  WorkflowSummary
} from "../core"
import { ConflictWire, NotFoundWire, QueryHandlerFailedWire } from "./errors"
import { JsonBody } from "./json-body"
import { Authorization } from "./security"
import { QueryName, WorkflowTypeName, type WorkflowData } from "./workflow-data"

/** The SSE id of the `end` event. */
export const END_EVENT_ID = "end"

/** The most a list page holds; and the default. */
export const MAX_PAGE = 1000
export const DEFAULT_PAGE = 50

/** An integer query parameter (the document says integer; the URL carries its digits). */
const IntegerParam = (options: {
  readonly minimum: number
  readonly maximum?: number
  readonly description: string
}) =>
  Schema.NumberFromString.pipe(
    Schema.int(),
    Schema.greaterThanOrEqualTo(options.minimum),
    Schema.lessThanOrEqualTo(options.maximum ?? Number.MAX_SAFE_INTEGER)
  ).annotations({
    description: options.description,
    jsonSchema: {
      type: "integer",
      minimum: options.minimum,
      ...(options.maximum === undefined ? {} : { maximum: options.maximum })
    }
  })

/** A time bound of the search: epoch milliseconds. */
const TimeParam = (description: string) => Schema.optional(IntegerParam({ minimum: 0, description }))

/** The filters `list` and `count` share. */
export const RunFilter = {
  idPrefix: Schema.optional(
    WellFormedString.pipe(Schema.minLength(1), Schema.maxLength(MAX_WORKFLOW_ID_LENGTH)).annotations({
      description: "Only runs whose workflow id starts with this text (case-sensitive)"
    })
  ),
  status: Schema.optional(RunStatus),
  type: Schema.optional(WorkflowTypeName.annotations({ description: "Only runs of this workflow type" })),
  startedAfter: TimeParam("Only runs started at or after this time (epoch milliseconds)"),
  startedBefore: TimeParam("Only runs started before this time (epoch milliseconds)"),
  closedAfter: TimeParam(
    "Only runs closed at or after this time (epoch milliseconds); open runs are left out"
  ),
  closedBefore: TimeParam("Only runs closed before this time (epoch milliseconds); open runs are left out")
}

interface Ranges {
  readonly startedAfter?: number | undefined
  readonly startedBefore?: number | undefined
  readonly closedAfter?: number | undefined
  readonly closedBefore?: number | undefined
}

/** A range whose start is after its end is a mistake in the query, not an empty answer: 400 naming its end. */
const ordered = (
  params: Ranges,
  from: "startedAfter" | "closedAfter",
  to: "startedBefore" | "closedBefore"
) =>
  params[from] === undefined || params[to] === undefined || params[from] <= params[to]
    ? undefined
    : { path: [to], message: `${to} (${params[to]}) is earlier than ${from} (${params[from]})` }

const rangesInOrder = (params: Ranges) =>
  ordered(params, "startedAfter", "startedBefore") ?? ordered(params, "closedAfter", "closedBefore") ?? true

/** The query of `count`: the filters alone. */
export const CountParams = Schema.Struct(RunFilter).pipe(Schema.filter(rangesInOrder, { jsonSchema: {} }))

export const ListParams = Schema.Struct({
  ...RunFilter,
  limit: Schema.optional(
    IntegerParam({
      minimum: 1,
      maximum: MAX_PAGE,
      description: `Runs per page, 1–${MAX_PAGE} (default ${DEFAULT_PAGE})`
    })
  ),
  cursor: Schema.optional(Schema.String.annotations({ description: "The `nextCursor` of the previous page" }))
}).pipe(Schema.filter(rangesInOrder, { jsonSchema: {} }))

export const StartedWorkflow = Schema.Struct({
  id: Schema.String,
  runId: Schema.String,
  status: RunStatus
}).annotations({ identifier: "StartedWorkflow", title: "Started" })

export const WorkflowList = Schema.Struct({
  workflows: Schema.Array(WorkflowSummary),
  nextCursor: Schema.optional(Schema.String).annotations({
    description: "Pass as `cursor` for the next page"
  })
}).annotations({ identifier: "WorkflowList", title: "Workflow list" })

export const WorkflowCount = Schema.Struct({
  count: Schema.Number.annotations({ description: "Runs matching the filter (current runs of each id)" })
}).annotations({ identifier: "WorkflowCount", title: "Workflow count" })

/** A signal or cancel stored for the run; on a stuck run it says so (it is delivered once code that matches is deployed). */
export const Accepted = Schema.Struct({
  id: Schema.String,
  accepted: Schema.Literal(true),
  stuck: Schema.optional(Schema.Literal(true)).annotations({
    description:
      "The run is stuck: what was sent is stored, and delivered once code that matches its history is deployed"
  }),
  divergence: Schema.optional(Divergence),
  message: Schema.optional(Schema.String).annotations({ description: "What happens next, for a stuck run" })
}).annotations({ identifier: "Accepted", title: "Accepted" })

/** The id of the last event received: a history event's seq, or `end` once the run's end was received. */
const LastEventId = Schema.Union(
  Schema.Literal(END_EVENT_ID),
  Schema.NumberFromString.pipe(Schema.int(), Schema.nonNegative())
).annotations({
  description: "The seq of the last history event received, or `end` (answered 204: nothing more will come)",
  jsonSchema: {
    anyOf: [
      { type: "string", enum: [END_EVENT_ID] },
      { type: "string", pattern: "^[0-9]+$" }
    ]
  }
})

const EventStream = Schema.String.pipe(
  HttpApiSchema.withEncoding({ kind: "Text", contentType: "text/event-stream" })
).annotations({
  description:
    "Server-Sent Events. `event: history` (id = seq, data = the event JSON) for each history event, " +
    "`event: chunk` (data = { cmd, activity, chunk }) for side-channel chunks, `event: end` (data = { status }) " +
    "(id = end) once the run has closed. Reconnect with `Last-Event-ID` (or `?lastEventId=`) to resume without " +
    "gap or duplicate; a reconnect after `end` is answered 204, which tells a browser's EventSource to stop."
})

const idParam = HttpApiSchema.param("id", WorkflowId)
const nameParam = HttpApiSchema.param("name", QueryName)

/**
 * The workflows group over `data`: the untyped data for the server and clients, the typed
 * data for the document.
 */
export const workflowsGroup = <Start, Signal, Answer, Description>(
  data: WorkflowData<Start, Signal, Answer, Description>
) =>
  HttpApiGroup.make("workflows")
    .add(
      HttpApiEndpoint.post("start", "/api/workflows")
        .setPayload(data.start)
        .addSuccess(StartedWorkflow, { status: 201 })
        .addError(ConflictWire)
        .annotate(OpenApi.Summary, "Start a workflow")
        .annotate(
          OpenApi.Description,
          "409 WorkflowAlreadyRunning when a run of the id is open; 409 WorkflowStuck when it is stuck (terminate or reset it first)"
        )
        .annotate(OpenApi.Transform, withExamples(data.startExamples))
    )
    .add(
      HttpApiEndpoint.get("list", "/api/workflows")
        .setUrlParams(ListParams)
        .addSuccess(WorkflowList)
        .annotate(OpenApi.Summary, "List workflows, newest first")
    )
    .add(
      HttpApiEndpoint.get("count", "/api/workflow-count")
        .setUrlParams(CountParams)
        .addSuccess(WorkflowCount)
        .annotate(OpenApi.Summary, "Count workflows (the same filters as the list)")
    )
    .add(
      HttpApiEndpoint.get("describe")`/api/workflows/${idParam}`
        .addSuccess(data.description)
        .addError(NotFoundWire)
        .annotate(OpenApi.Summary, "Status, input, result or error, divergence, pending work and times")
    )
    .add(
      HttpApiEndpoint.get("history")`/api/workflows/${idParam}/history`
        .addSuccess(HistoryFile)
        .addError(NotFoundWire)
        .annotate(OpenApi.Summary, "The history in the export format temporal-lite/history@1")
    )
    .add(
      HttpApiEndpoint.post("signal")`/api/workflows/${idParam}/signal`
        .setPayload(data.signal)
        .addSuccess(Accepted, { status: 202 })
        .addError(NotFoundWire)
        .addError(ConflictWire)
        .annotate(OpenApi.Summary, "Send a signal; stored before the answer")
    )
    .add(
      HttpApiEndpoint.get("query")`/api/workflows/${idParam}/query/${nameParam}`
        .setUrlParams(
          Schema.Struct({
            args: Schema.optional(
              Schema.parseJson().annotations({
                description: "The query's argument, as JSON",
                jsonSchema: { type: "string", contentMediaType: "application/json" }
              })
            )
          })
        )
        .addSuccess(data.answer)
        .addError(NotFoundWire)
        .addError(QueryHandlerFailedWire)
        .annotate(OpenApi.Summary, "Ask a query the workflow answers")
        .annotate(
          OpenApi.Description,
          "On a stuck run the answer is from the last point where the deployed code still matched its history, with `stuck` and the divergence"
        )
    )
    .add(
      HttpApiEndpoint.post("cancel")`/api/workflows/${idParam}/cancel`
        .setUrlParams(
          Schema.Struct({
            reason: Schema.optional(
              WellFormedString.annotations({ description: "Recorded with the cancel request" })
            )
          })
        )
        .addSuccess(Accepted, { status: 202 })
        .addError(NotFoundWire)
        .addError(ConflictWire)
        .annotate(
          OpenApi.Summary,
          "Request cancellation: Cancelled is thrown at the workflow's current yield"
        )
    )
    .add(
      HttpApiEndpoint.get("stream")`/api/workflows/${idParam}/stream`
        .setUrlParams(Schema.Struct({ lastEventId: Schema.optional(LastEventId) }))
        .setHeaders(Schema.Struct({ "last-event-id": Schema.optional(LastEventId) }))
        .addSuccess(EventStream)
        .addSuccess(HttpApiSchema.NoContent)
        .addError(NotFoundWire)
        .annotate(OpenApi.Summary, "Follow the workflow live (Server-Sent Events)")
    )
    // Added last, runs first: the token before the body is read.
    .middleware(JsonBody)
    .middleware(Authorization)
    .annotate(OpenApi.Title, "Workflows")
    .annotate(OpenApi.Description, "Start, follow, signal, query and cancel workflows")

/** The request bodies `examples` lists beside the schema, so "Try it out" offers a real start. */
const withExamples =
  (examples: WorkflowData<unknown, unknown, unknown, unknown>["startExamples"]) =>
  (operation: Record<string, any>): Record<string, any> => {
    const media = operation.requestBody?.content?.["application/json"]
    if (media === undefined || examples.length === 0) return operation
    media.examples = Object.fromEntries(
      examples.map(({ type, value }) => [type, { summary: `Start ${type}`, value }])
    )
    return operation
  }
