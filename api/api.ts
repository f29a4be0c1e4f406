/**
 * The HTTP API of DESIGN §6, declared once: the server implements {@link Api}, the CLI and
 * the debugger derive their clients from it, and the OpenAPI document at `/api/openapi.json`
 * is generated from the same declaration over the registered workflow types
 * ({@link openApiDocument}).
 *
 * A new group is a module like workflows.ts, added in {@link makeApi}.
 */
import * as HttpApi from "@effect/platform/HttpApi"
import * as OpenApi from "@effect/platform/OpenApi"
import type { WorkflowDefinition } from "../core"
import {
  BadRequestWire,
  ErrorCode,
  ErrorEnvelope,
  ForbiddenWire,
  InternalWire,
  PayloadTooLargeWire,
  RequestTimeoutWire,
  UnauthorizedWire,
  UnavailableWire,
  UnsupportedMediaTypeWire
} from "./errors"
import { SystemGroup } from "./system"
import { typedData, untypedData, type WorkflowData } from "./workflow-data"
import { WorkflowTypesGroup } from "./workflow-types"
import { workflowsGroup } from "./workflows"

export const API_VERSION = "0.1.0"

/**
 * What the generator leaves that the document must not say. The framework gives every API
 * its own decode error, which this server never sends (decode failures are answered as
 * `InvalidRequest`, a `BadRequest`); and the schema library marks each `unknown` with one
 * fixed `$id`, which JSON Schema tools read as one id given to many schemas.
 */
const tidy = (spec: Record<string, any>): Record<string, any> => {
  const schemas: Record<string, unknown> = spec.components?.schemas ?? {}
  for (const name of ["HttpApiDecodeError", "Issue", "PropertyKey"]) delete schemas[name]
  const decodeError = "#/components/schemas/HttpApiDecodeError"
  for (const path of Object.values(spec.paths ?? {}) as Array<Record<string, any>>) {
    for (const operation of Object.values(path)) {
      const bad = operation?.responses?.["400"]
      const schema = bad?.content?.["application/json"]?.schema
      if (schema?.anyOf) {
        const ours = schema.anyOf.filter((s: { $ref?: string }) => s.$ref !== decodeError)
        const content = bad.content["application/json"]
        content.schema = ours.length === 1 ? ours[0] : { ...schema, anyOf: ours }
        // The status took its description from the framework's error, listed first.
        bad.description = content.schema.description ?? bad.description
      }
    }
  }
  return typedBesideRefs(withoutGeneratedMarks(spec) as Record<string, any>)
}

/** Keywords that constrain one JSON type, so a strict validator wants that type named beside them. */
const typeSpecific =
  /^(minimum|maximum|exclusiveMinimum|exclusiveMaximum|multipleOf|minLength|maxLength|pattern|minItems|maxItems)$/

/**
 * A refinement of a named schema is written as a `$ref` with the refinement's keywords beside
 * it (`{ $ref: Int, maximum: 20 }`); the referenced schema's `type` is said there too, which
 * strict validators require and which changes nothing else.
 */
const typedBesideRefs = (spec: Record<string, any>): Record<string, any> => {
  const schemas: Record<string, { type?: unknown }> = spec.components?.schemas ?? {}
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(visit)
    if (typeof value !== "object" || value === null) return
    const node = value as Record<string, unknown>
    const ref = typeof node.$ref === "string" ? node.$ref.replace("#/components/schemas/", "") : undefined
    const type = ref === undefined ? undefined : schemas[ref]?.type
    if (
      typeof type === "string" &&
      node.type === undefined &&
      Object.keys(node).some((k) => typeSpecific.test(k))
    )
      node.type = type
    Object.values(node).forEach(visit)
  }
  visit(spec)
  return spec
}

/**
 * The titles the schema library gives its own refinements (`minLength(1)`, `positive`, …),
 * which name no concept a reader knows; the schemas keep the constraints themselves.
 */
const generatedTitle =
  /^(int|positive|negative|nonNegative|nonPositive|finite|nonNaN|trimmed|lowercased|uppercased|capitalized|uncapitalized|nonEmptyString|(minLength|maxLength|length|minItems|maxItems|itemsCount|pattern|startsWith|endsWith|includes|greaterThan|greaterThanOrEqualTo|lessThan|lessThanOrEqualTo|between|multipleOf|minEntries|maxEntries)\(.*\))$/

const withoutGeneratedMarks = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(withoutGeneratedMarks)
  if (typeof value !== "object" || value === null) return value
  const out: Record<string, unknown> = {}
  const unknownMarker = (value as { $id?: unknown }).$id === "/schemas/unknown"
  for (const [key, v] of Object.entries(value)) {
    if (unknownMarker && (key === "$id" || (key === "title" && v === "unknown"))) continue
    if (key === "title" && typeof v === "string" && generatedTitle.test(v)) continue
    out[key] = withoutGeneratedMarks(v)
  }
  return out
}

/** The API over `data` (see workflow-data.ts). */
export const makeApi = <Start, Signal, Answer, Description>(
  data: WorkflowData<Start, Signal, Answer, Description>
) =>
  HttpApi.make("temporal-lite")
    .add(workflowsGroup(data))
    .add(WorkflowTypesGroup)
    .add(SystemGroup)
    .addError(BadRequestWire)
    .addError(UnauthorizedWire)
    .addError(ForbiddenWire)
    .addError(RequestTimeoutWire)
    .addError(PayloadTooLargeWire)
    .addError(UnsupportedMediaTypeWire)
    .addError(InternalWire)
    .addError(UnavailableWire)
    .annotate(OpenApi.Title, "Temporal Lite")
    .annotate(OpenApi.Version, API_VERSION)
    .annotate(
      OpenApi.Description,
      "Durable workflows on an embedded SQLite file. Every error is `{ error: { code, message, details } }`, " +
        "`details` shaped by `code`. Writes take `application/json`."
    )
    .annotate(OpenApi.Servers, [{ url: "/", description: "This server" }])
    .annotate(HttpApi.AdditionalSchemas, [ErrorEnvelope, ErrorCode, ...data.components])
    .annotate(OpenApi.Transform, tidy)

/** The API as the server decodes it and the derived clients are typed: workflow data is any JSON. */
export class Api extends makeApi(untypedData) {}

/**
 * The OpenAPI document for a server registering `definitions`: each workflow type's input,
 * signals, query answers and result are described by their (encoded) schemas.
 *
 * @example
 * const document = openApiDocument(registry.workflows) // served at /api/openapi.json
 */
export const openApiDocument = (
  definitions: ReadonlyArray<WorkflowDefinition<any, any>>
): OpenApi.OpenAPISpec => OpenApi.fromApi(documentedApi(definitions))

/** The API as the document describes it for `definitions` (see {@link openApiDocument}). */
export const documentedApi = (definitions: ReadonlyArray<WorkflowDefinition<any, any>>) =>
  makeApi(typedData(definitions))
