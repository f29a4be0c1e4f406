/**
 * The HTTP API of DESIGN §6, declared once: the server implements it (handlers.ts), the
 * OpenAPI document at `/api/openapi.json` and the `/docs` page are generated from it, and
 * the CLI's client is derived from it.
 *
 * Every error answer is `{ "error": { "code", "message", "details" } }` (api-errors.ts).
 */
import * as HttpApi from "@effect/platform/HttpApi"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as OpenApi from "@effect/platform/OpenApi"
import * as Schema from "effect/Schema"
import { HistoryFile, RunStatus, WorkflowDescription as CoreDescription, WorkflowSummary } from "../core"
import {
  BadRequestWire,
  ConflictWire,
  NotFoundWire,
  PayloadTooLargeWire,
  QueryHandlerFailedWire,
  UnauthorizedWire,
  UnavailableWire
} from "./api-errors"

export const API_VERSION = "0.1.0"

export { RunStatus, WorkflowSummary }

/** The SSE id of the `end` event. */
export const END_EVENT_ID = "end"

// ---------------------------------------------------------------------------------------
// Shared schemas
// ---------------------------------------------------------------------------------------

/** A workflow id chosen by the caller: 1–256 characters, no control characters. */
export const WorkflowId = Schema.String.pipe(
  Schema.minLength(1, { message: () => "a workflow id must not be empty" }),
  Schema.maxLength(256, { message: () => "a workflow id is at most 256 characters" }),
  Schema.pattern(/^[^\u0000-\u001f\u007f]*$/, {
    message: () => "a workflow id must not contain control characters"
  })
).annotations({ identifier: "WorkflowId", description: "1–256 characters, no control characters" })

const NonEmpty = Schema.String.pipe(Schema.minLength(1))
const exact = { parseOptions: { onExcessProperty: "error" as const } }

const idParam = HttpApiSchema.param("id", Schema.String)
const nameParam = HttpApiSchema.param("name", Schema.String)
const typeParam = HttpApiSchema.param("type", Schema.String)

export const StartWorkflowRequest = Schema.Struct({
  type: NonEmpty.annotations({ description: "A registered workflow type (GET /api/workflow-types)" }),
  input: Schema.optional(Schema.Unknown).annotations({
    description: "Validated against the workflow's input schema"
  }),
  id: Schema.optional(WorkflowId).annotations({ description: "Defaults to a fresh UUID" })
}).annotations({ ...exact, identifier: "StartWorkflowRequest" })

export const StartedWorkflow = Schema.Struct({
  id: Schema.String,
  runId: Schema.String,
  status: RunStatus
}).annotations({ identifier: "StartedWorkflow" })

export const SignalRequest = Schema.Struct({
  signalName: NonEmpty.annotations({ description: "A signal the workflow type defines" }),
  data: Schema.optional(Schema.Unknown).annotations({ description: "Validated against the signal's schema" })
}).annotations({ ...exact, identifier: "SignalRequest" })

export const Accepted = Schema.Struct({
  id: Schema.String,
  accepted: Schema.Literal(true)
}).annotations({ identifier: "Accepted" })

export const WorkflowList = Schema.Struct({
  workflows: Schema.Array(WorkflowSummary),
  nextCursor: Schema.optional(Schema.String).annotations({
    description: "Pass as `cursor` for the next page"
  })
}).annotations({ identifier: "WorkflowList" })

export const WorkflowDescription = Schema.Struct({
  ...CoreDescription.fields,
  debuggerUrl: Schema.String.annotations({ description: "Opens this workflow in the replay debugger" })
}).annotations({ identifier: "WorkflowDescription" })

export const ListParams = Schema.Struct({
  status: Schema.optional(RunStatus),
  type: Schema.optional(Schema.String),
  limit: Schema.optional(
    Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 1000)).annotations({
      description: "1–1000, default 50"
    })
  ),
  cursor: Schema.optional(Schema.String)
})

/** The id of the last event received: a history event's seq, or `end` once the run's end was received. */
const LastEventId = Schema.Union(
  Schema.Literal(END_EVENT_ID),
  Schema.NumberFromString.pipe(Schema.int(), Schema.nonNegative())
).annotations({
  description: "The seq of the last history event received, or `end` (answered 204: nothing more will come)"
})

export const QueryResult = Schema.Struct({ result: Schema.Unknown }).annotations({
  identifier: "QueryResult"
})

export const WorkflowTypeInfo = Schema.Struct({
  name: Schema.String,
  inputSchema: Schema.Unknown.annotations({ description: "JSON Schema of the input, when declared" }),
  signals: Schema.Array(Schema.Struct({ name: Schema.String, schema: Schema.Unknown })),
  queries: Schema.Array(Schema.String),
  sourceUrl: Schema.optional(Schema.String).annotations({ description: "Where the source file can be read" })
}).annotations({ identifier: "WorkflowTypeInfo" })

export const WorkflowTypes = Schema.Struct({ workflowTypes: Schema.Array(WorkflowTypeInfo) }).annotations({
  identifier: "WorkflowTypes"
})

export const WorkflowSource = Schema.Struct({
  type: Schema.String,
  path: Schema.String.annotations({ description: "The file, relative to the server's working directory" }),
  source: Schema.String
}).annotations({ identifier: "WorkflowSource" })

export const Health = Schema.Struct({
  status: Schema.Literal("ok"),
  version: Schema.String,
  uptimeMs: Schema.Number
}).annotations({ identifier: "Health" })

const EventStream = Schema.String.pipe(
  HttpApiSchema.withEncoding({ kind: "Text", contentType: "text/event-stream" })
).annotations({
  description:
    "Server-Sent Events. `event: history` (id = seq, data = the event JSON) for each history event, " +
    "`event: chunk` (data = { cmd, activity, chunk }) for side-channel chunks, `event: end` (data = { status }) " +
    "(id = end) once the run has closed. Reconnect with `Last-Event-ID` (or `?lastEventId=`) to resume without " +
    "gap or duplicate; a reconnect after `end` is answered 204, which tells a browser's EventSource to stop."
})

// ---------------------------------------------------------------------------------------
// Groups
// ---------------------------------------------------------------------------------------

export class WorkflowsGroup extends HttpApiGroup.make("workflows")
  .add(
    HttpApiEndpoint.post("start", "/api/workflows")
      .setPayload(StartWorkflowRequest)
      .addSuccess(StartedWorkflow, { status: 201 })
      .addError(ConflictWire)
      .annotate(OpenApi.Summary, "Start a workflow")
  )
  .add(
    HttpApiEndpoint.get("list", "/api/workflows")
      .setUrlParams(ListParams)
      .addSuccess(WorkflowList)
      .annotate(OpenApi.Summary, "List workflows, newest first")
  )
  .add(
    HttpApiEndpoint.get("describe")`/api/workflows/${idParam}`
      .addSuccess(WorkflowDescription)
      .addError(NotFoundWire)
      .annotate(OpenApi.Summary, "Status, input, result or error, pending work and times")
  )
  .add(
    HttpApiEndpoint.get("history")`/api/workflows/${idParam}/history`
      .addSuccess(HistoryFile.annotations({ identifier: "HistoryFile" }))
      .addError(NotFoundWire)
      .annotate(OpenApi.Summary, "The history in the export format temporal-lite/history@1")
  )
  .add(
    HttpApiEndpoint.post("signal")`/api/workflows/${idParam}/signal`
      .setPayload(SignalRequest)
      .addSuccess(Accepted, { status: 202 })
      .addError(NotFoundWire)
      .addError(ConflictWire)
      .annotate(OpenApi.Summary, "Send a signal; stored before the answer")
  )
  .add(
    HttpApiEndpoint.get("query")`/api/workflows/${idParam}/query/${nameParam}`
      .setUrlParams(
        Schema.Struct({
          args: Schema.optional(Schema.parseJson()).annotations({
            description: "The query's argument, as JSON"
          })
        })
      )
      .addSuccess(QueryResult)
      .addError(NotFoundWire)
      .addError(QueryHandlerFailedWire)
      .annotate(OpenApi.Summary, "Ask a query the workflow answers")
  )
  .add(
    HttpApiEndpoint.post("cancel")`/api/workflows/${idParam}/cancel`
      .setUrlParams(Schema.Struct({ reason: Schema.optional(Schema.String) }))
      .addSuccess(Accepted, { status: 202 })
      .addError(NotFoundWire)
      .addError(ConflictWire)
      .annotate(OpenApi.Summary, "Request cancellation: Cancelled is thrown at the workflow's current yield")
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
  .annotate(OpenApi.Title, "Workflows") {}

export class WorkflowTypesGroup extends HttpApiGroup.make("workflowTypes")
  .add(
    HttpApiEndpoint.get("list", "/api/workflow-types")
      .addSuccess(WorkflowTypes)
      .annotate(OpenApi.Summary, "The registered workflow types, their input schemas, signals and queries")
  )
  .add(
    HttpApiEndpoint.get("source")`/api/workflow-types/${typeParam}/source`
      .addSuccess(WorkflowSource)
      .addError(NotFoundWire)
      .annotate(OpenApi.Summary, "The source file of a registered workflow type (for the debugger)")
  )
  .annotate(OpenApi.Title, "Workflow types") {}

export class SystemGroup extends HttpApiGroup.make("system")
  .add(
    HttpApiEndpoint.get("health", "/api/health")
      .addSuccess(Health)
      .annotate(OpenApi.Summary, "Liveness; never needs a token")
  )
  .annotate(OpenApi.Title, "System") {}

/**
 * The generated document, tidied: the framework's own decode error is answered as our
 * envelope (see http-guard.ts), so 400s show the envelope; the bearer scheme is declared
 * (it is enforced only when the server has a token) and health is marked public.
 */
const finishSpec = (spec: Record<string, any>): Record<string, any> => {
  const schemas = spec.components?.schemas ?? {}
  delete schemas["HttpApiDecodeError"]
  delete schemas["Issue"]
  for (const path of Object.values(spec.paths ?? {}) as Array<Record<string, any>>) {
    for (const op of Object.values(path)) {
      const bad = op?.responses?.["400"]
      if (bad) {
        bad.description =
          "Malformed JSON, a schema violation (details.path names the field), or an unknown name"
        bad.content = { "application/json": { schema: { $ref: "#/components/schemas/ErrorEnvelope" } } }
      }
      // An empty operation-level `security` would mean "public"; only health is.
      if (op?.operationId === "system.health") op.security = []
      else delete op.security
    }
  }
  spec.components = {
    ...spec.components,
    securitySchemes: {
      ...spec.components?.securitySchemes,
      bearer: {
        type: "http",
        scheme: "bearer",
        description: "Required on every route but /api/health when the server runs with TEMPORAL_LITE_TOKEN"
      }
    }
  }
  spec.security = [{ bearer: [] }]
  return spec
}

export class Api extends HttpApi.make("temporal-lite")
  .add(WorkflowsGroup)
  .add(WorkflowTypesGroup)
  .add(SystemGroup)
  .addError(BadRequestWire)
  .addError(UnauthorizedWire)
  .addError(PayloadTooLargeWire)
  .addError(UnavailableWire)
  .annotate(OpenApi.Title, "Temporal Lite")
  .annotate(OpenApi.Version, API_VERSION)
  .annotate(
    OpenApi.Description,
    "Durable workflows on an embedded SQLite file. Errors are always { error: { code, message, details } }."
  )
  .annotate(OpenApi.Transform, finishSpec) {}
