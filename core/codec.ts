/**
 * How a value crosses the boundary of workflow code: encoded once where it is produced, and
 * received as a decoded copy.
 *
 * A value's stored form is JSON: its schema's encoding (`A → I`) when its definition gives a
 * schema, else the value itself, checked. Encoding returns an owned copy of that form, so the
 * producer keeps nothing the stored value shares; decoding (`I → A`) starts from a fresh copy
 * of the stored form, so the receiver shares nothing with history or with other receivers.
 *
 * The JSON rules, the same on every path (live, replay, HTTP):
 * 1. `undefined` as the whole value stays `undefined` (its event field is left out).
 * 2. An object key whose value is `undefined` is dropped: the value reads back without it.
 * 3. What JSON cannot hold, or would silently change, is refused with the path of the field:
 *    functions, symbols, bigints, NaN and ±Infinity, `undefined` or an empty slot in an array,
 *    cycles, and any object but a plain object or array (a `Date`, a `Map`, a class instance).
 *    A field that must carry such a value gets a schema that encodes it (`Schema.Date`).
 * 4. `-0` reads back as `0`, as JSON has it.
 * 5. Code that throws while a value is encoded or decoded (a getter, a schema's transformation)
 *    is a value that does not fit: the issue says what it threw.
 */
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"

export type PathSegment = string | number

/** Why a value cannot cross: the path of the field at fault (from the value's root) and what is wrong. */
export interface CodecIssue {
  readonly path: ReadonlyArray<PathSegment>
  readonly detail: string
}

/** Encodes and decodes the values of one boundary (an activity's input, a signal's payload, …). */
export interface Codec<A> {
  /**
   * `A` → its stored form: the schema's encoding, as an owned JSON copy. Fails with the first
   * field that does not fit the schema or that JSON cannot hold.
   */
  readonly encode: (value: A) => Either.Either<unknown, CodecIssue>
  /** The stored form → `A`: the schema's decoding of a fresh copy (transformations and defaults apply). */
  readonly decode: (stored: unknown) => Either.Either<A, CodecIssue>
  /** Like `decode`, for a stored form nothing else holds (just parsed from its JSON text): no copy. */
  readonly decodeOwned: (stored: unknown) => Either.Either<A, CodecIssue>
}

class Refusal {
  constructor(
    readonly path: ReadonlyArray<PathSegment>,
    readonly detail: string
  ) {}
}

const describeObject = (value: object): string => {
  if (value instanceof Date)
    return "a Date: JSON has no dates; give the value a schema (Schema.Date carries it as an ISO string)"
  const name = (value as { constructor?: { name?: unknown } }).constructor?.name
  return `an instance of ${typeof name === "string" && name !== "" ? name : "a class"}: JSON holds only plain objects and arrays; give the value a schema that encodes it`
}

const refusedPrimitive = (value: unknown): string | undefined => {
  switch (typeof value) {
    case "function":
      return "a function: JSON cannot hold functions"
    case "symbol":
      return "a symbol: JSON cannot hold symbols"
    case "bigint":
      return "a bigint: JSON has no bigints; give the value a schema (Schema.BigInt carries it as a string)"
    case "number":
      return Number.isFinite(value) ? undefined : `${value}: JSON has no NaN or Infinity`
    default:
      return undefined
  }
}

/**
 * A fresh JSON copy of `value`, refusing what JSON cannot hold (the rules above). `path` is the
 * walk's current path and `ancestors` the objects being copied, kept as stacks: a value with
 * no fault costs no path.
 */
const copy = (value: unknown, path: Array<PathSegment>, ancestors: Array<object>): unknown => {
  if (typeof value !== "object" || value === null) {
    if (typeof value === "number") {
      if (value === 0) return 0
      if (Number.isFinite(value)) return value
    } else if (
      typeof value === "string" ||
      typeof value === "boolean" ||
      value === null ||
      value === undefined
    ) {
      return value
    }
    throw new Refusal([...path], refusedPrimitive(value)!)
  }
  if (ancestors.includes(value)) throw new Refusal([...path], "a cycle: the value contains itself")
  const proto = Object.getPrototypeOf(value)
  if (Array.isArray(value) && proto === Array.prototype) {
    ancestors.push(value)
    const out = new Array<unknown>(value.length)
    for (let i = 0; i < value.length; i++) {
      path.push(i)
      const item = value[i]
      if (item === undefined) {
        throw new Refusal(
          [...path],
          `${i in value ? "undefined" : "an empty slot"} in an array: JSON holds null there; use null`
        )
      }
      out[i] = copy(item, path, ancestors)
      path.pop()
    }
    ancestors.pop()
    return out
  }
  if (proto !== Object.prototype && proto !== null) throw new Refusal([...path], describeObject(value))
  ancestors.push(value)
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(value)) {
    const item = (value as Record<string, unknown>)[key]
    if (item === undefined) continue
    path.push(key)
    const copied = copy(item, path, ancestors)
    // A key "__proto__" is data in JSON: assigned, it would set the copy's prototype.
    if (key === "__proto__")
      Object.defineProperty(out, key, { value: copied, enumerable: true, writable: true, configurable: true })
    else out[key] = copied
    path.pop()
  }
  ancestors.pop()
  return out
}

/**
 * A fresh JSON copy of `value`, or the first field JSON cannot hold.
 *
 * @example
 * toJson({ at: new Date() }) // Left({ path: ["at"], detail: "a Date: JSON has no dates; …" })
 */
export const toJson = (value: unknown): Either.Either<unknown, CodecIssue> => {
  // The common case, a primitive, costs no walk.
  if (typeof value !== "object" || value === null) {
    const refused = refusedPrimitive(value)
    if (refused === undefined) return Either.right(value === 0 ? 0 : value)
  }
  try {
    return Either.right(copy(value, [], []))
  } catch (error) {
    return Either.left(error instanceof Refusal ? { path: error.path, detail: error.detail } : threw(error))
  }
}

/** Rule 5: the code a value ran threw, where it entered (a foreign exception, wrapped once). */
const threw = (error: unknown): CodecIssue => ({
  path: [],
  detail: `threw ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`
})

const parseIssue = (error: ParseResult.ParseError): CodecIssue => {
  const issue = ParseResult.ArrayFormatter.formatErrorSync(error)[0]
  return {
    path: (issue?.path ?? []).filter((p): p is PathSegment => typeof p !== "symbol"),
    detail: issue?.message ?? error.message
  }
}

const fromSchema = <A>(schema: Schema.Schema<A, any, never>): Codec<A> => {
  // Without options: "first" error is the default, and passing options costs a merge per call.
  const encode = Schema.encodeUnknownEither(schema)
  const decode = Schema.decodeUnknownEither(schema)
  // Plain control flow, and a Right passed on as it is (it holds no error): these run a few
  // times per workflow step.
  const decodeOwned = (stored: unknown): Either.Either<A, CodecIssue> => {
    let decoded: Either.Either<A, ParseResult.ParseError>
    try {
      decoded = decode(stored)
    } catch (error) {
      return Either.left(threw(error))
    }
    return Either.isRight(decoded)
      ? (decoded as Either.Right<never, A>)
      : Either.left(parseIssue(decoded.left))
  }
  return {
    encode: (value) => {
      let encoded: Either.Either<unknown, ParseResult.ParseError>
      try {
        encoded = encode(value)
      } catch (error) {
        return Either.left(threw(error))
      }
      return Either.isRight(encoded) ? toJson(encoded.right) : Either.left(parseIssue(encoded.left))
    },
    decode: (stored) => {
      const copied = toJson(stored)
      return Either.isRight(copied) ? decodeOwned(copied.right) : (copied as Either.Left<CodecIssue, never>)
    },
    decodeOwned
  }
}

/** Values with no schema: plain JSON, checked and copied. */
export const jsonCodec: Codec<any> = {
  encode: toJson,
  decode: toJson,
  decodeOwned: Either.right
}

const bySchema = new WeakMap<object, Codec<any>>()

/**
 * The codec of a definition's schema (made once per schema), or the plain JSON codec when
 * there is none.
 *
 * @example
 * const codec = codecOf(Schema.NumberFromString)
 * codec.encode(42) // Right("42")
 * codec.decode("42") // Right(42)
 */
export const codecOf = <A>(schema: Schema.Schema<A, any, never> | undefined): Codec<A> => {
  if (schema === undefined) return jsonCodec
  let codec = bySchema.get(schema)
  if (!codec) bySchema.set(schema, (codec = fromSchema(schema)))
  return codec
}

/**
 * A path as a reader writes it: `result.items[3].at`.
 *
 * @example formatPath(["result", "items", 3, "at"]) // "result.items[3].at"
 */
export const formatPath = (path: ReadonlyArray<PathSegment>): string => {
  let out = ""
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`
    else out += out === "" ? segment : `.${segment}`
  }
  return out
}
