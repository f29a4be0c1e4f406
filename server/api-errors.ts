/**
 * The errors the HTTP API answers with, one class per status.
 *
 * In the program they are `Schema.TaggedError`s (yieldable, `catchTag`-able, typed in the
 * derived client); on the wire every one of them is the same envelope
 * `{ "error": { "code", "message", "details" } }`, where `code` says what went wrong
 * (`InvalidPayload`, `WorkflowNotFound`, …) and `details` carries the machine-readable
 * rest (the field path, the registered names, …) or `null`.
 */
import * as Schema from "effect/Schema"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"

/** The wire form shared by every error answer. */
export const ErrorEnvelope = Schema.Struct({
  error: Schema.Struct({
    code: Schema.String.annotations({
      description: "What went wrong, e.g. InvalidPayload, WorkflowNotFound"
    }),
    message: Schema.String.annotations({ description: "A sentence for a human" }),
    details: Schema.Unknown.annotations({ description: "Machine-readable details, or null" })
  })
}).annotations({ identifier: "ErrorEnvelope" })
export type ErrorEnvelope = typeof ErrorEnvelope.Type

const fields = {
  code: Schema.String,
  message: Schema.String,
  details: Schema.Unknown
}

/** 400: the request is wrong (bad JSON, schema violation, unknown workflow type, signal or query). */
export class BadRequest extends Schema.TaggedError<BadRequest>()("BadRequest", fields) {}
/** 401: the bearer token is missing or wrong. */
export class Unauthorized extends Schema.TaggedError<Unauthorized>()("Unauthorized", fields) {}
/** 404: no such workflow, workflow type or route. */
export class NotFound extends Schema.TaggedError<NotFound>()("NotFound", fields) {}
/** 409: the workflow is in a state that refuses the request (already running, closed). */
export class Conflict extends Schema.TaggedError<Conflict>()("Conflict", fields) {}
/** 413: the request body is larger than the configured limit. */
export class PayloadTooLarge extends Schema.TaggedError<PayloadTooLarge>()("PayloadTooLarge", fields) {}
/** 422: the workflow's query handler threw; the workflow itself is unharmed. */
export class QueryHandlerFailed extends Schema.TaggedError<QueryHandlerFailed>()(
  "QueryHandlerFailed",
  fields
) {}
/** 503: the database failed under us (locked, busy, disk); nothing was half-written, retry later. */
export class Unavailable extends Schema.TaggedError<Unavailable>()("Unavailable", fields) {}

type ErrorClass<Self, Tag extends string> = Schema.Schema<
  Self,
  { readonly _tag: Tag; readonly code: string; readonly message: string; readonly details: unknown }
>

/**
 * The class as the API declares it: encoded as the envelope, with its status and a name for
 * the OpenAPI document. Decoding (the derived client) gives the class back.
 */
const onWire = <Self, Tag extends string>(
  cls: ErrorClass<Self, Tag>,
  tag: Tag,
  status: number,
  description: string
) =>
  Schema.transform(ErrorEnvelope, cls, {
    strict: true,
    decode: ({ error }) => ({
      _tag: tag,
      code: error.code,
      message: error.message,
      details: error.details ?? null
    }),
    encode: (e) => ({ error: { code: e.code, message: e.message, details: e.details ?? null } })
  }).annotations(HttpApiSchema.annotations({ status, description }))

export const BadRequestWire = onWire(
  BadRequest,
  "BadRequest",
  400,
  "The request is malformed or violates the schema"
)
export const UnauthorizedWire = onWire(Unauthorized, "Unauthorized", 401, "A bearer token is required")
export const NotFoundWire = onWire(NotFound, "NotFound", 404, "No such workflow, type or route")
export const ConflictWire = onWire(Conflict, "Conflict", 409, "The workflow's state refuses the request")
export const PayloadTooLargeWire = onWire(
  PayloadTooLarge,
  "PayloadTooLarge",
  413,
  "The body is over the limit"
)
export const QueryHandlerFailedWire = onWire(
  QueryHandlerFailed,
  "QueryHandlerFailed",
  422,
  "The query handler threw"
)
export const UnavailableWire = onWire(
  Unavailable,
  "Unavailable",
  503,
  "The database is unavailable; retry later"
)

/** Any error the API answers with. */
export type ApiError =
  BadRequest | Unauthorized | NotFound | Conflict | PayloadTooLarge | QueryHandlerFailed | Unavailable

/** The envelope for answers produced outside the API's handlers (auth, body limit, unknown route). */
export const envelope = (code: string, message: string, details: unknown = null): ErrorEnvelope => ({
  error: { code, message, details }
})
