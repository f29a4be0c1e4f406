/**
 * The engine's side of the codec path (core/codec.ts): values that callers hand in (a
 * workflow's input, a signal's payload, a query's arguments) become their stored form here,
 * checked, before anything is stored; and the JSON Schema the API shows for them.
 *
 * A typed call (`engine.start(definition, input)`) hands in the decoded form `A`: it is
 * encoded. A call by name (HTTP, the CLI) hands in the encoded form `I`: it is checked by
 * decoding it, and its JSON copy is what is stored. Either way a failure names the field.
 */
import * as Either from "effect/Either"
import * as JSONSchema from "effect/JSONSchema"
import type * as Schema from "effect/Schema"
import { InvalidPayload, codecOf, toJson } from "../core"

/**
 * The stored form of a value a caller hands in for the registered definition whose schema is
 * `schema`. A typed call gives the schema of the definition it was handed (`typed`), which
 * encodes the value; a call by name gives the encoded form, kept as its JSON copy. Either way
 * the stored form must decode with `schema`, or nothing is stored and the call fails with
 * `InvalidPayload` naming the field.
 *
 * @example toStoredPayload(Approval.schema, { approved: true }, 'payload of signal "approval"', "payload", Approval)
 */
export const toStoredPayload = (
  schema: Schema.Schema<any, any, never> | undefined,
  value: unknown,
  what: string,
  root: string,
  typed?: { readonly schema: Schema.Schema<any, any, never> | undefined }
): Either.Either<unknown, InvalidPayload> => {
  const stored = typed ? codecOf(typed.schema).encode(value) : toJson(value)
  // What its own schema encoded needs no second look.
  const checked =
    typed?.schema === schema
      ? stored
      : Either.flatMap(stored, (json) => Either.map(codecOf(schema).decodeOwned(json), () => json))
  return Either.mapLeft(checked, (issue) => InvalidPayload.of(what, root, issue))
}

/** The JSON Schema of a definition's schema, for its encoded form (what the API carries), when it has one. */
export const jsonSchemaOf = (schema: Schema.Schema<any, any, never> | undefined): unknown => {
  if (!schema) return undefined
  try {
    return JSONSchema.make(schema)
  } catch {
    return undefined
  }
}
