/**
 * Exact values, checked on random workflows (issue 13's property test): activities return
 * random JSON values, values a schema transforms (dates, numbers from strings, bigints,
 * optional keys) and `undefined`; signals carry random JSON. A run stopped at a random pause
 * and resumed by a second engine on the same SQLite file gives the same commands, the same
 * result and the same query answers as the same run left uninterrupted.
 *
 * Cheap by design: every workflow shares one database file (each its own ids), and they run 16
 * at a time, so that opening engines does not dominate: per batch, the first engine runs each
 * workflow uninterrupted and a second copy of it up to its cut, then stops; the second engine
 * resumes the copies from the file. The result is also checked against the values as produced.
 */
import { fc, test } from "@fast-check/vitest"
import { describe, expect } from "vitest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import {
  activity,
  defineQuery,
  defineSignal,
  isCommandEvent,
  onQuery,
  waitForSignal,
  workflow,
  type HistoryEvent
} from "../../core"
import { Engine, implement } from "../../runtime"
import { engineLayer, eventually, tempDb } from "../support/engine-harness"

/** What an activity returns: JSON as it is, a value its output schema encodes, or nothing. */
type Returned =
  | { readonly t: "json"; readonly value: unknown }
  | {
      readonly t: "schema"
      readonly value: { readonly at: Date; readonly n: number; readonly big: bigint; readonly note?: string }
    }
  | { readonly t: "void" }

interface Program {
  /** Activity results, a segment of them before each wait for `Next`. */
  readonly segments: ReadonlyArray<ReadonlyArray<Returned>>
  /** The payload of each `Next` signal. */
  readonly payloads: ReadonlyArray<unknown>
}

const json: fc.Arbitrary<unknown> = fc.jsonValue({ maxDepth: 3 })

/** A JSON value as JSON holds it: -0 reads back as 0 (codec.ts invariant 4). */
const asJson = (value: unknown): unknown => JSON.parse(JSON.stringify(value))

const returned: fc.Arbitrary<Returned> = fc.oneof(
  fc.record({ t: fc.constant("json" as const), value: json }),
  fc.record({
    t: fc.constant("schema" as const),
    value: fc.record(
      {
        at: fc.date({ min: new Date(0), max: new Date(4102444800000), noInvalidDate: true }),
        n: fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => (Object.is(n, -0) ? 0 : n)),
        big: fc.bigInt(),
        note: fc.string()
      },
      { requiredKeys: ["at", "n", "big"] }
    )
  }),
  fc.constant({ t: "void" as const })
)

const programArbitrary: fc.Arbitrary<Program> = fc
  .array(fc.array(returned, { maxLength: 3 }), { minLength: 1, maxLength: 3 })
  .chain((segments) =>
    fc.record({
      segments: fc.constant(segments),
      payloads: fc.array(json, { minLength: segments.length, maxLength: segments.length })
    })
  )

const Typed = Schema.Struct({
  at: Schema.Date,
  n: Schema.NumberFromString,
  big: Schema.BigInt,
  note: Schema.optional(Schema.String)
})
const returnJson = activity("returnJson", { input: Schema.Number })
const returnTyped = activity("returnTyped", { input: Schema.Number, output: Typed })
const returnNothing = activity("returnNothing", { input: Schema.Number })

const Next = defineSignal("next")
const Seen = defineQuery("seen")

/** How workflow code sees a value, as JSON: a Date, a bigint and undefined stay told apart. */
const view = (value: unknown): unknown => {
  if (value === undefined) return { undefined: true }
  if (value instanceof Date) return { date: value.toISOString() }
  if (typeof value === "bigint") return { bigint: value.toString() }
  if (Array.isArray(value)) return value.map(view)
  if (typeof value === "object" && value !== null)
    return Object.entries(value).map(([key, field]) => [key, view(field)])
  return value
}

/** Each case's program, by the case's id (its two runs share it): what the activities return. */
const programs = new Map<string, Program>()
const returnedAt = (workflowId: string, index: number): Returned =>
  programs.get(workflowId.slice(0, workflowId.lastIndexOf("-")))!.segments.flat()[index]!

const implementations = [
  implement(returnJson, (index, ctx) => {
    const returned = returnedAt(ctx.workflowId, index)
    return returned.t === "json" ? returned.value : undefined
  }),
  implement(returnTyped, (index, ctx) => {
    const returned = returnedAt(ctx.workflowId, index)
    if (returned.t !== "schema") throw new Error(`step ${index} returns ${returned.t}`)
    return returned.value
  }),
  implement(returnNothing, () => undefined)
]

const Kind = Schema.Literal("json", "schema", "void")
function* step(kind: typeof Kind.Type, index: number) {
  switch (kind) {
    case "json":
      return yield* returnJson(index)
    case "schema":
      return yield* returnTyped(index)
    case "void":
      return yield* returnNothing(index)
  }
}

/** Calls the activities of each segment, then waits for `Next`; records what it saw, queried by `Seen`. */
const valued = workflow(
  "valued",
  { input: Schema.Array(Schema.Array(Kind)), signals: [Next], queries: [Seen] },
  function* (segments) {
    const seen: Array<unknown> = []
    yield* onQuery(Seen, () => seen)
    let index = 0
    for (const kinds of segments) {
      for (const kind of kinds) seen.push(view(yield* step(kind, index++)))
      seen.push({ signal: view(yield* waitForSignal(Next)) })
    }
    return seen
  }
)

/** What `valued` must have seen: the values as produced, told apart by `view`. */
const expectedSeen = (program: Program) =>
  program.segments.flatMap((segment, i) => [
    ...segment.map((returned) =>
      view(
        returned.t === "void" ? undefined : returned.t === "json" ? asJson(returned.value) : returned.value
      )
    ),
    { signal: view(asJson(program.payloads[i])) }
  ])

/** A history's commands, without what the store adds (seq, at). */
const commandsOf = (events: ReadonlyArray<HistoryEvent>) =>
  events.filter(isCommandEvent).map(({ seq: _seq, at: _at, ...command }) => command)

/** Waits for the run's wait for `Next`, asks `Seen`, sends `Next`: for pauses `from` until `to`. */
const drive = (id: string, program: Program, answers: Array<unknown>, from: number, to: number) =>
  Effect.gen(function* () {
    const engine = yield* Engine
    for (let pause = from; pause < to; pause++) {
      yield* eventually(
        Effect.map(engine.describe(id), (d) => d.pending.signals.includes("next") || undefined)
      )
      answers.push(yield* engine.query(id, Seen))
      // By name: `Next` declares no schema, so its payload is any JSON, as HTTP sends it.
      yield* engine.signal(id, "next", program.payloads[pause])
    }
  })

/** One workflow of a batch: its program and the pause at which its second run is stopped. */
interface Case {
  readonly id: string
  readonly program: Program
  readonly cut: number
}

/** The uninterrupted run, then the second run up to its cut: on the first engine. */
const beforeRestart = ({ id, program, cut }: Case) =>
  Effect.gen(function* () {
    const engine = yield* Engine
    const kinds = program.segments.map((segment) => segment.map((returned) => returned.t))
    const answers: Array<unknown> = []
    yield* engine.start(valued, kinds, { id: `${id}-a` })
    yield* drive(`${id}-a`, program, answers, 0, program.segments.length)
    const result = yield* engine.result(`${id}-a`)
    answers.push(yield* engine.query(`${id}-a`, Seen))
    const history = yield* engine.history(`${id}-a`)
    const stoppedAnswers: Array<unknown> = []
    yield* engine.start(valued, kinds, { id: `${id}-b` })
    yield* drive(`${id}-b`, program, stoppedAnswers, 0, cut)
    return { result, history, answers, stoppedAnswers }
  })

/** The second run, resumed from the file by the second engine. */
const afterRestart = ({ id, program, cut }: Case, answers: Array<unknown>) =>
  Effect.gen(function* () {
    const engine = yield* Engine
    yield* drive(`${id}-b`, program, answers, cut, program.segments.length)
    const result = yield* engine.result(`${id}-b`)
    answers.push(yield* engine.query(`${id}-b`, Seen))
    return { result, history: yield* engine.history(`${id}-b`), answers }
  })

const batchSize = 16
const numRuns = Number(process.env.VALUES_PROPERTY_RUNS ?? 13)

describe("exact values across a restart, on random workflows", () => {
  // One file for every batch (each workflow has ids of its own): two engines per batch.
  const { dbPath } = tempDb("values-property")
  const onEngine = <A, E>(effect: Effect.Effect<A, E, Engine>) =>
    effect.pipe(Effect.provide(engineLayer([valued], implementations, { dbPath })), Effect.scoped)
  let batches = 0

  test.prop(
    [fc.array(fc.tuple(programArbitrary, fc.nat()), { minLength: batchSize, maxLength: batchSize })],
    {
      numRuns
    }
  )(
    `${batchSize} workflows at a time (${batchSize * numRuns} in all), each stopped at a random pause and resumed by another engine on the same file, give the same commands, result and query answers as the same workflow left alone`,
    (drawn) =>
      Effect.runPromise(
        Effect.gen(function* () {
          const batch = ++batches
          const cases: Array<Case> = drawn.map(([program, cutChoice], i) => ({
            id: `b${batch}c${i}`,
            program,
            cut: cutChoice % (program.segments.length + 1)
          }))
          for (const c of cases) programs.set(c.id, c.program)
          const first = yield* onEngine(Effect.forEach(cases, beforeRestart, { concurrency: "unbounded" }))
          const second = yield* onEngine(
            Effect.forEach(cases, (c, i) => afterRestart(c, first[i]!.stoppedAnswers), {
              concurrency: "unbounded"
            })
          )
          cases.forEach((c, i) => {
            const alone = first[i]!
            const resumed = second[i]!
            const context = `${c.id}: ${fc.stringify(c.program)}, stopped at pause ${c.cut}`
            expect(alone.result, context).toEqual(expectedSeen(c.program))
            expect(resumed.result, context).toEqual(alone.result)
            expect(commandsOf(resumed.history.events), context).toEqual(commandsOf(alone.history.events))
            expect(resumed.answers, context).toEqual(alone.answers)
            programs.delete(c.id)
          })
        })
      ),
    120_000
  )
})
