/**
 * The workflow data the API carries (a start's input, a signal's payload, a query's answer, a
 * run's input and result) in two forms with the same shape:
 *
 * - {@link untypedData}: any JSON, which is what the server decodes (the engine checks each
 *   value against its definition's schema and names the bad field), and what the derived
 *   clients are typed with;
 * - {@link typedData}: one schema per registered workflow type, signal and query, generated at
 *   start-up from the definitions' schemas, which is what the OpenAPI document shows, so a
 *   client generated from the document is typed per workflow type. Each is the ENCODED side
 *   of its schema: what travels on the wire.
 */
import * as JSONSchema from "effect/JSONSchema"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as AST from "effect/SchemaAST"
import {
  descriptionFields,
  Divergence,
  JsonValue,
  WellFormedString,
  WorkflowId,
  type WorkflowDefinition
} from "../core"

/** The deepest nesting of arrays and objects accepted in a request's JSON values. */
export const MAX_JSON_DEPTH = 128

/** Whether `value` nests arrays and objects deeper than `max` (iteratively: any depth is safe). */
export const jsonDepthExceeds = (value: unknown, max: number): boolean => {
  const stack: Array<[unknown, number]> = [[value, 0]]
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!
    if (typeof v !== "object" || v === null) continue
    if (depth + 1 > max) return true
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, depth + 1])
  }
  return false
}

/** A JSON value in a request: any JSON nesting at most {@link MAX_JSON_DEPTH} levels. */
export const RequestJson = JsonValue.pipe(
  Schema.filter((v) => !jsonDepthExceeds(v, MAX_JSON_DEPTH) || `nests deeper than ${MAX_JSON_DEPTH} levels`, {
    jsonSchema: {}
  })
)

const Name = (what: string) =>
  WellFormedString.pipe(Schema.minLength(1, { message: () => `${what} must not be empty` })).annotations({
    title: what,
    description: `${what}: not empty, well-formed Unicode`
  })

export const WorkflowTypeName = Name("A workflow type")
export const SignalName = Name("A signal name")
export const QueryName = Name("A query name")

const exact = { parseOptions: { onExcessProperty: "error" as const } }

/** The schemas that carry workflow data; the rest of the API is the same whatever is registered. */
export interface WorkflowData<Start, Signal, Answer, Description> {
  /** `POST /api/workflows`: `{ type, input, id? }`. */
  readonly start: Schema.Schema<Start, any>
  /** `POST /api/workflows/:id/signal`: `{ signalName, data }`. */
  readonly signal: Schema.Schema<Signal, any>
  /** `GET /api/workflows/:id/query/:name`: `{ result, stuck?, divergence? }`. */
  readonly answer: Schema.Schema<Answer, any>
  /** `GET /api/workflows/:id`. */
  readonly description: Schema.Schema<Description, any>
  /** Named schemas the document lists besides those the routes reach (per-type inputs, …). */
  readonly components: ReadonlyArray<Schema.Schema.Any>
  /** Request bodies worth showing in the document, by workflow type. */
  readonly startExamples: ReadonlyArray<{ readonly type: string; readonly value: unknown }>
}

const answerFields = {
  stuck: Schema.optional(Schema.Literal(true)).annotations({
    description:
      "Set when the run is stuck: the answer is from the last point where the deployed code still matched its history"
  }),
  divergence: Schema.optional(Divergence.annotations({ description: "Why the run is stuck (with `stuck`)" }))
}

const describedFields = {
  debuggerUrl: Schema.String.annotations({ description: "Opens this workflow in the replay debugger" })
}

/** Any JSON: what the server decodes and what the derived clients are typed with. */
export const untypedData = {
  start: Schema.Struct({
    type: WorkflowTypeName.annotations({
      description: "A registered workflow type (GET /api/workflow-types)"
    }),
    input: Schema.optional(RequestJson).annotations({
      description: "Checked against the workflow's input schema"
    }),
    id: Schema.optional(WorkflowId).annotations({ description: "Defaults to a fresh time-ordered id" })
  }).annotations({ ...exact, identifier: "StartWorkflowRequest", title: "Start a workflow" }),
  signal: Schema.Struct({
    signalName: SignalName.annotations({ description: "A signal the workflow type defines" }),
    data: Schema.optional(RequestJson).annotations({ description: "Checked against the signal's schema" })
  }).annotations({ ...exact, identifier: "SignalRequest", title: "Send a signal" }),
  answer: Schema.Struct({ result: JsonValue, ...answerFields }).annotations({
    identifier: "QueryAnswer",
    title: "Query answer"
  }),
  description: Schema.Struct({
    ...descriptionFields,
    input: JsonValue,
    result: Schema.optional(JsonValue),
    typeRegistered: Schema.Boolean.annotations({
      description: "Whether this server registers the run's workflow type (false: it cannot run here)"
    }),
    ...describedFields
  }).annotations({ identifier: "WorkflowDescription", title: "Workflow description" }),
  components: [],
  startExamples: []
} satisfies WorkflowData<any, any, any, any>

// ---------------------------------------------------------------------------------------
// Per registered workflow type
// ---------------------------------------------------------------------------------------

type AnySchema = Schema.Schema<any, any, never>

/** A component name made of what OpenAPI allows (letters, digits, `.`, `-`, `_`). */
const componentName = (...parts: ReadonlyArray<string>) =>
  parts.map((p) => p.replace(/[^\w.-]/g, "_")).join(".")

/**
 * What travels on the wire for `schema` (its encoded side, refinements on it kept), named
 * `name`; any JSON when there is no schema, or when it has no JSON Schema (said in its
 * description rather than failing the whole document).
 */
const wire = (schema: AnySchema | undefined, name: string, what: string): AnySchema => {
  if (schema === undefined)
    return JsonValue.annotations({ identifier: name, description: `${what}: any JSON` })
  const encoded = Schema.encodedBoundSchema(schema)
  try {
    JSONSchema.make(encoded)
  } catch (error) {
    return JsonValue.annotations({
      identifier: name,
      description: `${what}: its schema has no JSON Schema (${(error as Error).message.split("\n")[0]})`
    })
  }
  return encoded.annotations({ identifier: name, title: what })
}

/**
 * A union whose document form is a `oneOf` with a `discriminator` on `property` (the schema
 * library writes unions as `anyOf`), named `identifier`; its members are named components.
 * Suspended, so the framework does not split it into its members (and lose the annotation).
 */
const discriminated = (
  identifier: string,
  property: string,
  members: ReadonlyArray<{ readonly value: string; readonly schema: AnySchema; readonly name: string }>
): AnySchema => {
  const ref = (name: string) => `#/components/schemas/${name}`
  const union = Schema.Union(...members.map((m) => m.schema))
  return Schema.suspend(() => union).annotations({
    identifier,
    jsonSchema: {
      oneOf: members.map((m) => ({ $ref: ref(m.name) })),
      discriminator: {
        propertyName: property,
        mapping: Object.fromEntries(members.map((m) => [m.value, ref(m.name)]))
      }
    }
  })
}

/** The first example a schema's annotations give, if any. */
const exampleOf = (schema: AnySchema | undefined): unknown =>
  schema === undefined ? undefined : Option.getOrUndefined(AST.getExamplesAnnotation(schema.ast))?.[0]

/**
 * The data schemas for these workflow definitions (see the module doc). Signals of one name
 * in several types are one variant whose payload is any of theirs.
 */
export const typedData = (
  definitions: ReadonlyArray<WorkflowDefinition<any, any>>
): WorkflowData<any, any, any, any> => {
  const components: Array<AnySchema> = []
  const named = <S extends AnySchema>(schema: S): S => {
    components.push(schema)
    return schema
  }

  const inputs = new Map(
    definitions.map((w) => [
      w,
      named(wire(w.input, componentName(w.name, "Input"), `The input of ${w.name}`))
    ])
  )
  const starts = definitions.map((w) => {
    const name = componentName(w.name, "Start")
    const input = inputs.get(w)!
    const example = exampleOf(w.input)
    const schema = Schema.Struct({
      type: Schema.Literal(w.name),
      input: w.input === undefined ? Schema.optional(input) : input,
      id: Schema.optional(WorkflowId)
    }).annotations({
      ...exact,
      identifier: name,
      title: `Start ${w.name}`,
      ...(example === undefined ? {} : { examples: [{ type: w.name, id: `${w.name}-1`, input: example }] })
    })
    return { value: w.name, schema: named(schema), name, example }
  })

  const signalPayloads = new Map<string, Array<AnySchema>>()
  for (const w of definitions) {
    for (const s of w.signals) {
      const payload = named(
        wire(s.schema, componentName(w.name, "signal", s.name), `The payload of ${w.name}'s signal ${s.name}`)
      )
      signalPayloads.set(s.name, [...(signalPayloads.get(s.name) ?? []), payload])
    }
  }
  const signals = [...signalPayloads].map(([signalName, payloads]) => {
    const name = componentName("Signal", signalName)
    const data = payloads.length === 1 ? payloads[0]! : Schema.Union(...payloads)
    const schema = Schema.Struct({ signalName: Schema.Literal(signalName), data }).annotations({
      ...exact,
      identifier: name,
      title: `Signal ${signalName}`
    })
    return { value: signalName, schema: named(schema), name }
  })

  const answers = definitions.flatMap((w) =>
    w.queries.map((q) =>
      named(
        wire(q.output, componentName(w.name, "query", q.name), `The answer of ${w.name}'s query ${q.name}`)
      )
    )
  )

  const descriptions = definitions.map((w) =>
    named(
      Schema.Struct({
        ...descriptionFields,
        type: Schema.Literal(w.name),
        input: inputs.get(w)!,
        result: Schema.optional(wire(w.output, componentName(w.name, "Result"), `The result of ${w.name}`)),
        typeRegistered: Schema.Literal(true),
        ...describedFields
      }).annotations({ identifier: componentName(w.name, "Description"), title: `A ${w.name} run` })
    )
  )
  const unregistered = Schema.Struct({
    ...descriptionFields,
    input: JsonValue,
    result: Schema.optional(JsonValue),
    typeRegistered: Schema.Literal(false),
    ...describedFields
  }).annotations({
    identifier: "UnregisteredWorkflowDescription",
    title: "A run of a type this server does not register",
    description:
      "Its input and result are not described here; it stays stuck until its type is registered again"
  })

  return {
    start:
      starts.length === 0
        ? untypedData.start
        : discriminated("StartWorkflowRequest", "type", starts).annotations({ title: "Start a workflow" }),
    signal:
      signals.length === 0
        ? untypedData.signal
        : discriminated("SignalRequest", "signalName", signals).annotations({ title: "Send a signal" }),
    answer: Schema.Struct({
      result:
        answers.length === 0
          ? JsonValue
          : Schema.Union(...answers).annotations({ description: "The answer of the query asked" }),
      ...answerFields
    }).annotations({ identifier: "QueryAnswer", title: "Query answer" }),
    description: Schema.suspend(() => Schema.Union(...descriptions, unregistered)).annotations({
      identifier: "WorkflowDescription",
      title: "Workflow description",
      description: "Narrow on `typeRegistered` and `type` for the typed input and result"
    }),
    components,
    startExamples: starts
      .filter((s) => s.example !== undefined)
      .map((s) => ({
        type: s.value,
        value: { type: s.value, id: `${s.value}-1`, input: s.example }
      }))
  }
}
