/**
 * Every error the server answers with, declared once.
 *
 * On the wire each is the envelope `{ "error": { "code", "message", "details" } }`. `code` is
 * one of {@link ErrorCode} (an enum in the OpenAPI document) and says what went wrong;
 * `details` has one shape per code ({@link errorDetails}), or is `null`. In a program they are
 * `Schema.TaggedError`s, one class per HTTP status (`BadRequest`, `NotFound`, …), yieldable,
 * `catchTag`-able and typed in the derived clients: decoding an answer gives the class back,
 * and encoding one whose details do not fit its code is a defect, never a wrong answer.
 */
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as Schema from "effect/Schema"
import { Divergence, ErrorInfo, RunStatus } from "../core"

const Path = Schema.Array(Schema.Union(Schema.String, Schema.Number)).annotations({
  description: "Where in the request: keys and indexes from the body's root (or the parameter's name)"
})
const Names = Schema.Array(Schema.String)
const UnknownNameDetails = Schema.Struct({
  kind: Schema.Literal("workflow type", "signal", "query", "activity"),
  name: Schema.String,
  known: Names.annotations({ description: "The names that are known" }),
  workflowType: Schema.optional(Schema.String)
})

/**
 * The `details` of each code. A new code is added here, with its details and the status
 * classes below that answer with it.
 */
export const errorDetails = {
  InvalidRequest: Schema.Struct({
    path: Path,
    issues: Schema.Array(Schema.Struct({ path: Path, message: Schema.String }))
  }),
  MalformedJson: Schema.Null,
  InvalidPayload: Schema.Struct({
    path: Path,
    what: Schema.String.annotations({ description: "input, signal payload or query arguments" }),
    detail: Schema.String
  }),
  InvalidWorkflowId: Schema.Struct({ workflowId: Schema.String, problem: Schema.String }),
  UnknownWorkflowType: UnknownNameDetails,
  UnknownSignal: UnknownNameDetails,
  UnknownQuery: UnknownNameDetails,
  InvalidPath: Schema.Struct({ path: Schema.String }),
  UnparsableRequest: Schema.Struct({ parserCode: Schema.NullOr(Schema.String) }),
  Unauthorized: Schema.Null,
  ForbiddenOrigin: Schema.Struct({ origin: Schema.String, allowed: Names }),
  ForbiddenHost: Schema.Struct({ host: Schema.String, allowed: Names }),
  WorkflowNotFound: Schema.Struct({ workflowId: Schema.String }),
  SourceUnavailable: Schema.Struct({ name: Schema.String }),
  RouteNotFound: Schema.Struct({ method: Schema.String, path: Schema.String }),
  FileNotFound: Schema.Null,
  DebuggerNotBuilt: Schema.Null,
  MethodNotAllowed: Schema.Struct({ method: Schema.String, allowed: Names }),
  RequestTimeout: Schema.Struct({ headersTimeoutMs: Schema.Number, requestTimeoutMs: Schema.Number }),
  WorkflowAlreadyRunning: Schema.Struct({ workflowId: Schema.String, runId: Schema.String }),
  WorkflowClosed: Schema.Struct({ workflowId: Schema.String, status: RunStatus }),
  WorkflowStuck: Schema.Struct({ workflowId: Schema.String, runId: Schema.String, divergence: Divergence }),
  PayloadTooLarge: Schema.Struct({ limit: Schema.Number, size: Schema.optional(Schema.Number) }),
  UnsupportedMediaType: Schema.Struct({
    contentType: Schema.NullOr(Schema.String),
    expected: Schema.Literal("application/json")
  }),
  QueryFailed: Schema.Struct({ query: Schema.String, error: ErrorInfo }),
  HeaderFieldsTooLarge: Schema.Struct({ parserCode: Schema.NullOr(Schema.String) }),
  Internal: Schema.Null,
  StoreUnavailable: Schema.Struct({ reason: Schema.String })
} as const

export type ErrorCode = keyof typeof errorDetails
export type ErrorDetails<C extends ErrorCode> = (typeof errorDetails)[C]["Type"]

/** Every code the server answers with: an enum in the OpenAPI document. */
export const ErrorCode = Schema.Literal(...(Object.keys(errorDetails) as Array<ErrorCode>)).annotations({
  identifier: "ErrorCode",
  title: "Error code",
  description: "What went wrong; `details` has one shape per code"
})

/** The envelope of one code: `{ error: { code, message, details } }`. */
const envelopeOf = <C extends ErrorCode>(code: C) =>
  Schema.Struct({
    error: Schema.Struct({
      code: Schema.Literal(code),
      message: Schema.String.annotations({ description: "A sentence for a human" }),
      details: errorDetails[code]
    })
  }).annotations({ identifier: `${code}Error`, title: code })

/** Any error answer, whatever its code: what a client can always rely on. */
export const ErrorEnvelope = Schema.Struct({
  error: Schema.Struct({
    code: ErrorCode,
    message: Schema.String.annotations({ description: "A sentence for a human" }),
    details: Schema.Unknown.annotations({ description: "The code's details, or null" })
  })
}).annotations({ identifier: "ErrorEnvelope", title: "Error" })
export type ErrorEnvelope = typeof ErrorEnvelope.Type

/** The envelope for `code` (for answers made outside the API's handlers). */
export const envelope = <C extends ErrorCode>(
  code: C,
  message: string,
  details: ErrorDetails<C>
): ErrorEnvelope => ({ error: { code, message, details } })

type Fields<C extends ErrorCode> = {
  readonly code: Schema.Literal<[C, ...Array<C>]>
  readonly message: typeof Schema.String
  readonly details: Schema.Schema<ErrorDetails<C>, any>
}

const fieldsOf = <const C extends ErrorCode>(codes: readonly [C, ...Array<C>]): Fields<C> => ({
  code: Schema.Literal(...codes),
  message: Schema.String,
  // Checked against its code's schema on the wire (a union of the codes' details would take
  // the first shape that fits and drop the rest of a richer one).
  details: Schema.Unknown as unknown as Schema.Schema<ErrorDetails<C>, any>
})

/** The codes each status answers with (its class's `code`). */
const codesOf = {
  BadRequest: [
    "InvalidRequest",
    "MalformedJson",
    "InvalidPayload",
    "InvalidWorkflowId",
    "UnknownWorkflowType",
    "UnknownSignal",
    "UnknownQuery",
    "InvalidPath"
  ],
  Unauthorized: ["Unauthorized"],
  Forbidden: ["ForbiddenOrigin", "ForbiddenHost"],
  NotFound: ["WorkflowNotFound", "UnknownWorkflowType", "SourceUnavailable", "RouteNotFound"],
  RequestTimeout: ["RequestTimeout"],
  Conflict: ["WorkflowAlreadyRunning", "WorkflowStuck", "WorkflowClosed"],
  PayloadTooLarge: ["PayloadTooLarge"],
  UnsupportedMediaType: ["UnsupportedMediaType"],
  QueryHandlerFailed: ["QueryFailed"],
  Internal: ["Internal"],
  Unavailable: ["StoreUnavailable"]
} as const satisfies Record<string, readonly [ErrorCode, ...Array<ErrorCode>]>
type Tag = keyof typeof codesOf

/** 400: the request is wrong (schema violation, bad JSON, unknown workflow type, signal or query). */
export class BadRequest extends Schema.TaggedError<BadRequest>()(
  "BadRequest",
  fieldsOf(codesOf.BadRequest)
) {}
/** 401: the bearer token is missing or wrong. */
export class Unauthorized extends Schema.TaggedError<Unauthorized>()(
  "Unauthorized",
  fieldsOf(codesOf.Unauthorized)
) {}
/** 403: a write from an origin that is not allowed, or a Host this server does not answer to. */
export class Forbidden extends Schema.TaggedError<Forbidden>()("Forbidden", fieldsOf(codesOf.Forbidden)) {}
/** 404: no such workflow, workflow type, source or route. */
export class NotFound extends Schema.TaggedError<NotFound>()("NotFound", fieldsOf(codesOf.NotFound)) {}
/** 408: the request's headers or body took too long to arrive. */
export class RequestTimeout extends Schema.TaggedError<RequestTimeout>()(
  "RequestTimeout",
  fieldsOf(codesOf.RequestTimeout)
) {}
/** 409: the workflow's state refuses the request (already running, stuck, closed). */
export class Conflict extends Schema.TaggedError<Conflict>()("Conflict", fieldsOf(codesOf.Conflict)) {}
/** 413: the request body is larger than the configured limit. */
export class PayloadTooLarge extends Schema.TaggedError<PayloadTooLarge>()(
  "PayloadTooLarge",
  fieldsOf(codesOf.PayloadTooLarge)
) {}
/** 415: a request with a body that is not `application/json`. */
export class UnsupportedMediaType extends Schema.TaggedError<UnsupportedMediaType>()(
  "UnsupportedMediaType",
  fieldsOf(codesOf.UnsupportedMediaType)
) {}
/** 422: the workflow's query handler threw; the workflow itself is unharmed. */
export class QueryHandlerFailed extends Schema.TaggedError<QueryHandlerFailed>()(
  "QueryHandlerFailed",
  fieldsOf(codesOf.QueryHandlerFailed)
) {}
/** 500: a bug of ours; it is logged with its cause. */
export class Internal extends Schema.TaggedError<Internal>()("Internal", fieldsOf(codesOf.Internal)) {}
/** 503: the database failed under us (locked, busy, disk); nothing was half-written, retry later. */
export class Unavailable extends Schema.TaggedError<Unavailable>()(
  "Unavailable",
  fieldsOf(codesOf.Unavailable)
) {}

/**
 * The class as the API declares it: on the wire a `oneOf` of its codes' envelopes, with its
 * status and description; decoding an answer gives the class back.
 */
const onWire = <
  Self extends { readonly code: ErrorCode; readonly message: string; readonly details: unknown }
>(
  cls: Schema.Schema<Self, any>,
  tag: Tag,
  status: number,
  description: string
) => {
  const codes: ReadonlyArray<ErrorCode> = codesOf[tag]
  return Schema.transform(
    Schema.Union(...codes.map((code): Schema.Schema<ErrorEnvelope, any> => envelopeOf(code) as any)),
    cls,
    {
      strict: false,
      decode: ({ error }) => ({ _tag: tag, ...error }),
      encode: (e) => ({ error: { code: e.code, message: e.message, details: e.details } })
    }
  ).annotations(HttpApiSchema.annotations({ status, description }))
}

export const BadRequestWire = onWire(
  BadRequest,
  "BadRequest",
  400,
  "The request is malformed, violates a schema (details.path names the field) or names something unknown"
)
export const UnauthorizedWire = onWire(Unauthorized, "Unauthorized", 401, "A bearer token is required")
export const ForbiddenWire = onWire(
  Forbidden,
  "Forbidden",
  403,
  "A write from an origin that is not allowed, or a Host header this server does not answer to"
)
export const NotFoundWire = onWire(
  NotFound,
  "NotFound",
  404,
  "No such workflow, workflow type, source or route"
)
export const RequestTimeoutWire = onWire(
  RequestTimeout,
  "RequestTimeout",
  408,
  "The headers or the body took too long to arrive"
)
export const ConflictWire = onWire(Conflict, "Conflict", 409, "The workflow's state refuses the request")
export const PayloadTooLargeWire = onWire(
  PayloadTooLarge,
  "PayloadTooLarge",
  413,
  "The body is over the limit; the connection is closed"
)
export const UnsupportedMediaTypeWire = onWire(
  UnsupportedMediaType,
  "UnsupportedMediaType",
  415,
  "A body that is not application/json"
)
export const QueryHandlerFailedWire = onWire(
  QueryHandlerFailed,
  "QueryHandlerFailed",
  422,
  "The query handler threw"
)
export const InternalWire = onWire(Internal, "Internal", 500, "A bug of ours, logged")
export const UnavailableWire = onWire(
  Unavailable,
  "Unavailable",
  503,
  "The database is unavailable; retry later"
)

/** Any error the API answers with. */
export type ApiError =
  | BadRequest
  | Unauthorized
  | Forbidden
  | NotFound
  | RequestTimeout
  | Conflict
  | PayloadTooLarge
  | UnsupportedMediaType
  | QueryHandlerFailed
  | Internal
  | Unavailable
