/**
 * The boundary checks of workflow inputs, signal payloads and query arguments against the
 * schemas their definitions give, and the JSON Schema the API shows for them.
 */
import * as Either from "effect/Either"
import * as JSONSchema from "effect/JSONSchema"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { InvalidPayload } from "./errors"

const describeParseError = (what: string, error: ParseResult.ParseError) => {
  const issue = ParseResult.ArrayFormatter.formatErrorSync(error)[0]
  return new InvalidPayload({
    what,
    path: (issue?.path ?? []).filter((p): p is string | number => typeof p !== "symbol"),
    detail: issue?.message ?? error.message
  })
}

/** Decodes `value` with `schema` (when there is one); a failure names the first bad field. */
export const validate = (
  what: string,
  schema: Schema.Schema<any, any, never> | undefined,
  value: unknown
) => {
  if (!schema) return Either.right(value)
  return Either.mapLeft(Schema.decodeUnknownEither(schema, { errors: "first" })(value), (e) =>
    describeParseError(what, e)
  )
}

/** The JSON Schema of a definition's schema, when it has a JSON form. */
export const jsonSchemaOf = (schema: Schema.Schema<any, any, never> | undefined): unknown => {
  if (!schema) return undefined
  try {
    return JSONSchema.make(schema)
  } catch {
    return undefined
  }
}
