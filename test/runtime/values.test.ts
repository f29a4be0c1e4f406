/**
 * Exact workflow values on the real engine and a real SQLite file (issue 13): every value
 * that crosses the boundary of workflow code is encoded once where it is produced and
 * received as a decoded copy, live exactly as on the replay after a restart.
 *
 * Each `describe` is one bullet of the list; a test that restarts the engine records
 * what workflow code saw live and what the replay saw, and compares them.
 */
import { describe, expect, it } from "@effect/vitest"
import { expectTypeOf } from "vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import {
  activity,
  child,
  continueAsNew,
  defineQuery,
  defineSignal,
  onQuery,
  replayHistory,
  sleep,
  waitForSignal,
  workflow,
  type WorkflowDefinition
} from "../../core"
import {
  Engine,
  EngineOnStore,
  SqliteStore,
  WorkflowStore,
  implement,
  type RegisteredActivity
} from "../../runtime"
import { awaitClosed, engineLayer, eventually, settle, tempDb } from "../support/engine-harness"

/** Waits (without moving the clock) until the workflow waits for a signal. */
const awaitingSignal = (id: string) =>
  Effect.flatMap(Engine, (engine) =>
    eventually(
      Effect.map(
        Effect.either(engine.describe(id)),
        (d) => d._tag === "Right" && d.right.pending.signals.length > 0
      )
    )
  )

/**
 * Runs `live` on an engine, stops it, and runs `after` on a second engine on the same file:
 * the second replays what the first recorded.
 */
const acrossRestart = <A>(
  workflows: ReadonlyArray<WorkflowDefinition<any, any>>,
  activities: ReadonlyArray<RegisteredActivity>,
  live: Effect.Effect<void, unknown, Engine>,
  after: Effect.Effect<A, unknown, Engine>
) =>
  Effect.gen(function* () {
    const { dbPath } = tempDb("values-restart")
    yield* live.pipe(Effect.provide(engineLayer(workflows, activities, { dbPath })), Effect.scoped)
    return yield* after.pipe(Effect.provide(engineLayer(workflows, activities, { dbPath })), Effect.scoped)
  })

const Go = defineSignal("go")

/**
 * Starts `workflow` (no input) as `id` and lets it reach its wait for `Go`; restarts the
 * engine; sends `Go`; the run's result.
 */
const goAfterRestart = (
  workflow: WorkflowDefinition<any, any>,
  activities: ReadonlyArray<RegisteredActivity>,
  id: string
) =>
  acrossRestart(
    [workflow],
    activities,
    Effect.gen(function* () {
      const engine = yield* Engine
      yield* engine.start(workflow, undefined, { id })
      yield* awaitingSignal(id)
    }),
    Effect.gen(function* () {
      const engine = yield* Engine
      yield* engine.signal(id, Go)
      return yield* engine.result(id)
    })
  )

/** What a Date with no schema is refused with, wherever it is produced. */
const DATE_REFUSED =
  "a Date: JSON has no dates; give the value a schema (Schema.Date carries it as an ISO string)"

/** Starts `workflow` without input and waits for its result. */
const runToEnd = <O>(workflow: WorkflowDefinition<any, O>) =>
  Effect.flatMap(Engine, (engine) =>
    Effect.flatMap(engine.start(workflow), (started) => engine.result(started))
  )

/** What workflow code can tell of a value: its keys and the kind of each field. */
const view = (value: Record<string, unknown>) =>
  Object.fromEntries(
    Object.entries(value).map(([k, v]) => [
      k,
      v instanceof Date ? "Date" : v === undefined ? "undefined" : typeof v
    ])
  )

describe("an activity's result is the same live and on replay (bullet 1)", () => {
  const User = Schema.Struct({
    id: Schema.String,
    createdAt: Schema.Date,
    deletedAt: Schema.optional(Schema.Date)
  })
  const fetchUser = activity("fetchUser", { output: User })
  const fetchRaw = activity("fetchRaw")
  const seen: Array<unknown> = []
  const typed = workflow("typedUser", { signals: [Go] }, function* () {
    const user = yield* fetchUser()
    seen.push(view(user))
    yield* waitForSignal(Go)
    return user.createdAt.getTime()
  })
  const raw = workflow("rawUser", {}, function* () {
    return yield* fetchRaw()
  })
  const createdAt = new Date("2024-05-01T10:00:00.000Z")
  const impls = [
    implement(fetchUser, () => ({ id: "u1", createdAt, deletedAt: undefined })),
    implement(fetchRaw, () => ({ id: "u1", createdAt, deletedAt: undefined }))
  ]

  it.live("with a Schema.Date output, live and replay both see a Date and the same two keys", () =>
    Effect.gen(function* () {
      seen.length = 0
      const result = yield* goAfterRestart(typed, impls, "user-1")
      expect(seen).toEqual([
        { id: "string", createdAt: "Date" },
        { id: "string", createdAt: "Date" }
      ])
      expect(result).toBe(createdAt.getTime())
    })
  )

  it.scoped(
    "without a schema, a Date is refused where it is produced, naming its path; the activity fails for good",
    () =>
      Effect.gen(function* () {
        const engine = yield* Engine
        yield* engine.start(raw, undefined, { id: "raw-1" })
        expect(yield* awaitClosed("raw-1")).toBe("failed")
        const history = yield* engine.history("raw-1")
        const failed = history.events.find((e) => e.type === "ActivityFailed")
        expect(failed).toMatchObject({
          attempt: 1,
          error: {
            name: "InvalidActivityPayload",
            nonRetryable: true,
            message: `invalid result of activity "fetchRaw" at "result.createdAt": ${DATE_REFUSED}`
          }
        })
        expect(history.events.some((e) => e.type === "ActivityCompleted")).toBe(false)
      }).pipe(Effect.provide(engineLayer([raw], impls)))
  )

  const Payload = Schema.Struct({ at: Schema.Date, tags: Schema.Array(Schema.String) })
  const Note = defineSignal("note", Payload)
  const inputs = workflow(
    "inputs",
    { input: Schema.Struct({ tags: Schema.Array(Schema.String) }), signals: [Note] },
    function* (input) {
      seen.push({ input })
      const note = yield* waitForSignal(Note)
      seen.push({ at: note.at instanceof Date ? note.at.toISOString() : note.at, tags: note.tags })
      return [...input.tags, ...note.tags]
    }
  )

  it.live("the workflow's input and a signal's payload are decoded copies, not the caller's objects", () =>
    Effect.gen(function* () {
      seen.length = 0
      const input = { tags: ["a"] }
      const payload = { at: new Date("2024-01-02T00:00:00.000Z"), tags: ["b"] }
      const result = yield* acrossRestart(
        [inputs],
        [],
        Effect.gen(function* () {
          const engine = yield* Engine
          yield* engine.start(inputs, input, { id: "in-1" })
          // The caller's objects are theirs again once the calls return.
          input.tags.push("changed by the caller")
          yield* awaitingSignal("in-1")
          yield* engine.signal("in-1", Note, payload)
          payload.tags.push("changed by the caller")
          expect(yield* awaitClosed("in-1")).toBe("completed")
        }),
        Effect.gen(function* () {
          const engine = yield* Engine
          // A query replays the closed run: the replay sees what the live run saw.
          const found = yield* engine.describe("in-1")
          const report = replayHistory(inputs, yield* engine.history("in-1"))
          return { result: found.result, replayed: report._tag === "Matched" ? report.result : report }
        })
      )
      expect(seen.slice(0, 2)).toEqual([
        { input: { tags: ["a"] } },
        { at: "2024-01-02T00:00:00.000Z", tags: ["b"] }
      ])
      expect(result).toEqual({ result: ["a", "b"], replayed: ["a", "b"] })
    })
  )
})

describe("an activity that mutates its input changes nothing of the workflow's (bullet 2)", () => {
  const Cart = Schema.Struct({ items: Schema.Array(Schema.String) })
  const addGift = activity("addGift", { input: Schema.Struct({ cart: Cart }), output: Schema.Number })
  const checkout = workflow("checkout", {}, function* () {
    const order = { cart: { items: ["book"] } }
    const count = yield* addGift(order)
    const again = yield* addGift(order)
    return { count, again, items: order.cart.items }
  })
  const impls = [
    implement(addGift, (input) => {
      ;(input.cart.items as Array<string>).push("gift")
      return input.cart.items.length
    })
  ]

  it.scoped("live, the workflow's object is untouched; the recorded result is what replayHistory gives", () =>
    Effect.gen(function* () {
      const engine = yield* Engine
      const started = yield* engine.start(checkout, undefined, { id: "cart-1" })
      const result = yield* engine.result(started)
      // Each attempt gets its own copy of the recorded input.
      expect(result).toEqual({ count: 2, again: 2, items: ["book"] })
      const history = yield* engine.history("cart-1")
      const report = replayHistory(checkout, history)
      expect(report).toMatchObject({ _tag: "Matched", result: history.workflow.result })
      // And the recorded input is the one the workflow gave, not the one the activity changed.
      const scheduled = history.events.filter((e) => e.type === "ActivityScheduled")
      expect(scheduled.map((e) => e.type === "ActivityScheduled" && e.input)).toEqual([
        { cart: { items: ["book"] } },
        { cart: { items: ["book"] } }
      ])
    }).pipe(Effect.provide(engineLayer([checkout], impls)))
  )
})

describe("a query's answer is a copy (bullet 3)", () => {
  const Items = defineQuery("items", { output: Schema.Array(Schema.String) })
  const Add = defineSignal("add", Schema.String)
  const list = workflow("list", { signals: [Add, Go], queries: [Items] }, function* () {
    const items: Array<string> = []
    yield* onQuery(Items, () => items)
    for (;;) {
      const item = yield* waitForSignal(Add)
      items.push(item)
      if (item === "last") return items
    }
  })

  it.scoped("a caller changing the returned array changes neither the workflow's state nor its result", () =>
    Effect.gen(function* () {
      const engine = yield* Engine
      yield* engine.start(list, undefined, { id: "list-1" })
      yield* engine.signal("list-1", Add, "milk")
      const typed = yield* engine.query("list-1", Items)
      ;(typed as Array<string>).push("added by a caller")
      const untyped = (yield* engine.query("list-1", "items")) as Array<string>
      untyped.push("added by another caller")
      expect(yield* engine.query("list-1", Items)).toEqual(["milk"])
      yield* engine.signal("list-1", Add, "last")
      expect(yield* engine.result("list-1")).toEqual(["milk", "last"])
    }).pipe(Effect.provide(engineLayer([list])))
  )
})

describe("schemas that transform apply, both ways (bullet 4)", () => {
  const double = activity("double", { input: Schema.NumberFromString, output: Schema.NumberFromString })
  const Count = defineSignal("count", Schema.NumberFromString)
  const Settings = Schema.Struct({
    name: Schema.String,
    retries: Schema.optionalWith(Schema.Number, { default: () => 3 })
  })
  const seen: Array<unknown> = []
  const transforms = workflow("transforms", { input: Settings, signals: [Count] }, function* (settings) {
    seen.push(settings)
    const doubled = yield* double(21)
    seen.push({ doubled, type: typeof doubled })
    const count = yield* waitForSignal(Count)
    const more = yield* waitForSignal(Count)
    seen.push({ count, more })
    return doubled + count + more
  })
  const impls = [
    implement(double, (n) => {
      seen.push({ activityInput: n, type: typeof n })
      return n * 2
    })
  ]

  it.live(
    "input defaults, a NumberFromString activity and signal: the decoded type everywhere, live and replayed",
    () =>
      Effect.gen(function* () {
        seen.length = 0
        const result = yield* acrossRestart(
          [transforms],
          impls,
          Effect.gen(function* () {
            const engine = yield* Engine
            // The string form takes the wire (encoded) form, as HTTP and the CLI do: defaults apply.
            yield* engine.start("transforms", { name: "t" }, { id: "tr-1" })
            yield* awaitingSignal("tr-1")
            yield* engine.signal("tr-1", "count", "7")
          }),
          Effect.gen(function* () {
            const engine = yield* Engine
            yield* awaitingSignal("tr-1")
            // The typed form takes the decoded form.
            yield* engine.signal("tr-1", Count, 5)
            return yield* engine.result("tr-1")
          })
        )
        expect(result).toBe(42 + 7 + 5)
        expect(seen).toEqual([
          { name: "t", retries: 3 },
          { activityInput: 21, type: "number" },
          { doubled: 42, type: "number" },
          // After the restart, the replay sees the same.
          { name: "t", retries: 3 },
          { doubled: 42, type: "number" },
          { count: 7, more: 5 }
        ])
      })
  )

  it.scoped("what is stored is the encoded form", () =>
    Effect.gen(function* () {
      const engine = yield* Engine
      yield* engine.start(transforms, { name: "s", retries: 1 }, { id: "tr-2" })
      yield* awaitingSignal("tr-2")
      yield* engine.signal("tr-2", Count, 1)
      yield* engine.signal("tr-2", Count, 2)
      yield* engine.result("tr-2")
      const { events, workflow: summary } = yield* engine.history("tr-2")
      expect(summary.input).toEqual({ name: "s", retries: 1 })
      expect(events.filter((e) => e.type === "ActivityScheduled").map((e) => (e as any).input)).toEqual([
        "21"
      ])
      expect(events.filter((e) => e.type === "ActivityCompleted").map((e) => (e as any).result)).toEqual([
        "42"
      ])
      expect(events.filter((e) => e.type === "SignalReceived").map((e) => (e as any).payload)).toEqual([
        "1",
        "2"
      ])
    }).pipe(Effect.provide(engineLayer([transforms], impls)))
  )
})

describe("undefined is kept (bullet 5)", () => {
  const notify = activity("notify", { input: Schema.String })
  const seen: Array<unknown> = []
  const greet = workflow("greet", {}, function* (name: string | undefined = "world") {
    const sent = yield* notify(`hello ${name}`)
    seen.push({ sent, has: sent === undefined })
    return `hello ${name}`
  })
  const parent = workflow("greetParent", {}, function* () {
    return yield* child(greet, undefined, { id: "greet-child" })
  })
  const impls = [implement(notify, () => {})]

  it.scoped(
    "a start without input passes undefined (defaults apply) in-process and as a child; a void activity gives undefined",
    () =>
      Effect.gen(function* () {
        seen.length = 0
        const engine = yield* Engine
        expect(yield* runToEnd(greet)).toBe("hello world")
        expect(yield* engine.result(yield* engine.start("greet"))).toBe("hello world")
        expect(yield* runToEnd(parent)).toBe("hello world")
        expect(seen).toEqual([
          { sent: undefined, has: true },
          { sent: undefined, has: true },
          { sent: undefined, has: true }
        ])
        const started = yield* engine.start(greet, undefined, { id: "greet-1" })
        yield* engine.result(started)
        const described = yield* engine.describe("greet-1")
        expect(described.input).toBeUndefined()
        const { events } = yield* engine.history("greet-1")
        expect(events[0]).toMatchObject({ type: "WorkflowStarted" })
        expect("input" in events[0]!).toBe(false)
      }).pipe(Effect.provide(engineLayer([greet, parent], impls)))
  )

  const voidResult = workflow("voidResult", { signals: [Go] }, function* () {
    const sent = yield* notify("x")
    seen.push(sent)
    yield* waitForSignal(Go)
  })

  it.live("a void result stays undefined after a restart, and so does the run's result", () =>
    Effect.gen(function* () {
      seen.length = 0
      const result = yield* Effect.map(goAfterRestart(voidResult, impls, "void-1"), (value) => ({ value }))
      expect(seen).toEqual([undefined, undefined])
      expect(result).toEqual({ value: undefined })
    })
  )
})

describe("one cancel message (bullet 6)", () => {
  const Never = defineSignal("never")
  const budget = workflow("budget", { signals: [Never] }, function* () {
    yield* waitForSignal(Never)
  })

  it.scoped("the recorded error of a cancelled run is what replayHistory gives for its history", () =>
    Effect.gen(function* () {
      const engine = yield* Engine
      yield* engine.start(budget, undefined, { id: "budget-1" })
      yield* awaitingSignal("budget-1")
      yield* engine.cancel("budget-1", "budget cut")
      expect(yield* awaitClosed("budget-1")).toBe("cancelled")
      const history = yield* engine.history("budget-1")
      const report = replayHistory(budget, history)
      expect(history.workflow.error).toEqual({ name: "Cancelled", message: "cancelled: budget cut" })
      expect(report).toEqual({
        _tag: "Matched",
        status: "cancelled",
        result: undefined,
        error: history.workflow.error
      })
      expect((yield* engine.describe("budget-1")).error).toEqual(history.workflow.error)
    }).pipe(Effect.provide(engineLayer([budget])))
  )
})

describe("adding or moving a query handler keeps running workflows going (bullet 7)", () => {
  const Seen = defineQuery("seen", { output: Schema.Array(Schema.Number) })
  const Last = defineQuery("last", { output: Schema.Number })
  const step = activity("step", { input: Schema.Number, output: Schema.Number })
  const impls = [implement(step, (n) => n * 10)]
  // The same workflow type in two deployments: v2 moves `seen` below the first activity and
  // adds `last` between two activities the running workflow has already scheduled.
  const v1 = workflow("tally", { signals: [Go], queries: [Seen] }, function* () {
    const seen: Array<number> = []
    yield* onQuery(Seen, () => seen)
    seen.push(yield* step(1))
    seen.push(yield* step(2))
    yield* waitForSignal(Go)
    seen.push(yield* step(3))
    return seen
  })
  const v2 = workflow("tally", { signals: [Go], queries: [Seen, Last] }, function* () {
    const seen: Array<number> = []
    seen.push(yield* step(1))
    yield* onQuery(Seen, () => seen)
    yield* onQuery(Last, () => seen.at(-1) ?? 0)
    seen.push(yield* step(2))
    yield* waitForSignal(Go)
    seen.push(yield* step(3))
    return seen
  })

  it.live("a run recorded by v1 resumes under v2 after a restart: not stuck, v2's queries answer", () =>
    Effect.gen(function* () {
      const { dbPath } = tempDb("query-edit")
      yield* Effect.gen(function* () {
        const engine = yield* Engine
        yield* engine.start(v1, undefined, { id: "tally-1" })
        yield* awaitingSignal("tally-1")
      }).pipe(Effect.provide(engineLayer([v1], impls, { dbPath })), Effect.scoped)
      const after = yield* Effect.gen(function* () {
        const engine = yield* Engine
        // The replay after the restart either waits for the signal again or leaves the run stuck.
        const described = yield* eventually(
          Effect.map(engine.describe("tally-1"), (d) =>
            d.status === "stuck" || d.pending.signals.length > 0 ? d : undefined
          )
        )
        const answers = [
          yield* Effect.either(engine.query("tally-1", Seen)),
          yield* Effect.either(engine.query("tally-1", Last))
        ].map((answer) => (answer._tag === "Right" ? answer.right : answer.left.message))
        // A stuck run would keep the signal until matching code is deployed: no result to wait for.
        if (described.status === "stuck")
          return { status: described.status, divergence: described.divergence }
        yield* engine.signal("tally-1", Go)
        return {
          status: described.status,
          divergence: described.divergence,
          answers,
          result: yield* engine.result("tally-1")
        }
      }).pipe(Effect.provide(engineLayer([v2], impls, { dbPath })), Effect.scoped)
      expect(after).toEqual({
        status: "running",
        divergence: undefined,
        answers: [[10, 20], 20],
        result: [10, 20, 30]
      })
    })
  )
})

describe("bad input names the field's path; nothing is stored", () => {
  const Order = Schema.Struct({
    items: Schema.Array(Schema.Struct({ sku: Schema.String, at: Schema.Number }))
  })
  const Ship = defineSignal("ship", Order)
  const order = workflow("order", { input: Order, signals: [Ship] }, function* (o) {
    yield* waitForSignal(Ship)
    return o.items.length
  })
  const loose = workflow("loose", { signals: [Go] }, function* (input: unknown) {
    yield* waitForSignal(Go)
    return input
  })
  const bad = {
    items: [
      { sku: "a", at: 1 },
      { sku: "b", at: 2 },
      { sku: "c", at: 3 },
      { sku: "d", at: "x" }
    ]
  }

  it.scoped("a payload failing its schema, or holding what JSON cannot carry", () =>
    Effect.gen(function* () {
      const engine = yield* Engine
      const refused = yield* Effect.flip(engine.start("order", bad, { id: "o-1" }))
      expect(refused).toMatchObject({ _tag: "InvalidPayload", path: ["input", "items", 3, "at"] })
      expect(refused.message).toBe(
        'invalid input of workflow "order" at "input.items[3].at": Expected number, actual "x"'
      )
      const cyclic: Record<string, unknown> = { name: "c" }
      cyclic.self = cyclic
      const cases: ReadonlyArray<readonly [unknown, string]> = [
        [{ at: new Date(0) }, `"input.at": ${DATE_REFUSED}`],
        [
          { n: 10n },
          `"input.n": a bigint: JSON has no bigints; give the value a schema (Schema.BigInt carries it as a string)`
        ],
        [
          { items: [1, 2, 3, { at: () => 1 }] },
          `"input.items[3].at": a function: JSON cannot hold functions`
        ],
        [{ s: Symbol("s") }, `"input.s": a symbol: JSON cannot hold symbols`],
        [{ n: Number.NaN }, `"input.n": NaN: JSON has no NaN or Infinity`],
        [
          { m: new Map() },
          `"input.m": an instance of Map: JSON holds only plain objects and arrays; give the value a schema that encodes it`
        ],
        [cyclic, `"input.self": a cycle: the value contains itself`],
        [[1, undefined], `"input[1]": undefined in an array: JSON holds null there; use null`]
      ]
      for (const [input, at] of cases) {
        const error = yield* Effect.flip(engine.start("loose", input, { id: "l-1" }))
        expect(error.message).toBe(`invalid input of workflow "loose" at ${at}`)
      }
      expect((yield* engine.list({})).workflows).toEqual([])
      yield* engine.start("order", { items: [] }, { id: "o-2" })
      const badSignal = yield* Effect.flip(engine.signal("o-2", "ship", bad))
      expect(badSignal).toMatchObject({ _tag: "InvalidPayload", path: ["payload", "items", 3, "at"] })
      yield* engine.start("loose", undefined, { id: "l-2" })
      const dated = yield* Effect.flip(engine.signal("l-2", "go", { at: new Date(0) }))
      expect(dated.message).toBe(`invalid payload of signal "go" at "payload.at": ${DATE_REFUSED}`)
      yield* settle
      expect((yield* engine.describe("o-2")).historyLength).toBe(1)
      expect((yield* engine.describe("l-2")).historyLength).toBe(1)
    }).pipe(Effect.provide(engineLayer([order, loose])))
  )

  const carry = activity<{ readonly when: Date }, number>("carry")
  const producer = workflow("producer", {}, function* () {
    try {
      yield* carry({ when: new Date(0) })
    } catch (error) {
      return (error as Error).message
    }
  })

  it.scoped("workflow code giving an activity what JSON cannot carry gets the error at the call", () =>
    Effect.gen(function* () {
      expect(yield* runToEnd(producer)).toBe(
        `invalid input of activity "carry" at "input.when": ${DATE_REFUSED}`
      )
    }).pipe(Effect.provide(engineLayer([producer], [implement(carry, () => 1)])))
  )
})

describe("an activity error's details JSON cannot hold", () => {
  const explode = activity("explode", { retry: { maximumAttempts: 1 } })
  const careful = workflow("careful", {}, function* () {
    try {
      yield* explode()
      return "no error"
    } catch (error) {
      return (error as { cause: { message: string } }).cause.message
    }
  })
  const impls = [
    implement(explode, () => {
      throw Object.assign(new Error("boom"), { details: { at: new Date(0) } })
    })
  ]

  it.scoped(
    "are dropped, with the reason in the message: the failure is recorded and the workflow goes on",
    () =>
      Effect.gen(function* () {
        expect(yield* runToEnd(careful)).toBe(
          `boom (details not stored: invalid details of the error at "details.at": ${DATE_REFUSED})`
        )
      }).pipe(Effect.provide(engineLayer([careful], impls)))
  )
})

describe("heartbeat details", () => {
  const beating = activity("beating", { output: Schema.String })
  const beats = workflow("beats", {}, function* () {
    return yield* beating()
  })
  const impls = [
    implement(beating, (_, ctx) => {
      try {
        ctx.heartbeat({ at: new Date(0) })
        return "accepted"
      } catch (error) {
        return (error as Error).message
      }
    })
  ]

  it.scoped("JSON cannot hold are refused at the heartbeat call, naming the field", () =>
    Effect.gen(function* () {
      expect(yield* runToEnd(beats)).toBe(
        `invalid heartbeat details of activity "beating" at "details.at": ${DATE_REFUSED}`
      )
    }).pipe(Effect.provide(engineLayer([beats], impls)))
  )
})

describe("engine.result (issue 21 item 1)", () => {
  const Finish = defineSignal("finish", Schema.String)
  const When = Schema.Struct({ at: Schema.Date })
  const waiter = workflow("waiter", { signals: [Finish], output: When }, function* () {
    const how = yield* waitForSignal(Finish)
    if (how === "fail") throw new Error("asked to fail")
    return { at: new Date("2024-03-04T05:06:07.000Z") }
  })
  /** A result by id is untyped: the `at` of a `waiter`'s. */
  const atOf = (value: unknown) => (value as typeof When.Type).at
  const looping = workflow("looping", { input: Schema.Number }, function* (round) {
    if (round < 2) {
      yield* sleep("1 second")
      return yield* continueAsNew(round + 1)
    }
    return round * 10
  })

  it.scoped("resolves with the decoded result when the run closes, or fails with its error", () =>
    Effect.gen(function* () {
      const engine = yield* Engine
      const started = yield* engine.start(waiter, undefined, { id: "r-1" })
      const waiting = yield* Effect.fork(engine.result(started))
      yield* awaitingSignal("r-1")
      expect(Option.isNone(yield* Fiber.poll(waiting))).toBe(true)
      yield* engine.signal("r-1", Finish, "ok")
      const value = yield* Fiber.join(waiting)
      expect(value.at).toBeInstanceOf(Date)
      expect(value.at.toISOString()).toBe("2024-03-04T05:06:07.000Z")

      yield* engine.start(waiter, undefined, { id: "r-2" })
      const failing = yield* Effect.fork(Effect.flip(engine.result("r-2")))
      yield* awaitingSignal("r-2")
      yield* engine.signal("r-2", Finish, "fail")
      const failed = yield* Fiber.join(failing)
      expect(failed).toMatchObject({
        _tag: "WorkflowRunFailed",
        workflowId: "r-2",
        status: "failed",
        error: { name: "Error", message: "asked to fail" }
      })

      yield* engine.start(waiter, undefined, { id: "r-3" })
      yield* awaitingSignal("r-3")
      const cancelled = yield* Effect.fork(Effect.flip(engine.result("r-3")))
      yield* settle
      yield* engine.cancel("r-3", "no longer needed")
      expect(yield* Fiber.join(cancelled)).toMatchObject({
        _tag: "WorkflowRunFailed",
        status: "cancelled",
        error: { name: "Cancelled", message: "cancelled: no longer needed" }
      })

      const unknown = yield* Effect.flip(engine.result("nope"))
      expect(unknown._tag).toBe("WorkflowNotFound")
    }).pipe(Effect.provide(engineLayer([waiter])))
  )

  it.scoped("follows continue-as-new unless asked not to; a runId names one run of the chain", () => {
    const { dbPath } = tempDb("result-chain")
    return Effect.gen(function* () {
      const started = yield* Effect.gen(function* () {
        const engine = yield* Engine
        const started = yield* engine.start(looping, 0, { id: "loop-1" })
        const followed = yield* Effect.fork(engine.result(started))
        const first = yield* Effect.fork(Effect.flip(engine.result("loop-1", { followRuns: false })))
        yield* settle
        yield* awaitClosedAfter("loop-1", 2)
        expect(yield* Fiber.join(followed)).toBe(20)
        const stopped = yield* Fiber.join(first)
        expect(stopped).toMatchObject({
          _tag: "WorkflowRunContinued",
          workflowId: "loop-1",
          runId: started.runId
        })
        // Long after: the first run's result follows the chain to the end, from the store.
        expect(yield* engine.result("loop-1", { runId: started.runId })).toBe(20)
        const second = stopped._tag === "WorkflowRunContinued" ? stopped.nextRunId : ""
        expect(
          yield* Effect.flip(engine.result("loop-1", { runId: second, followRuns: false }))
        ).toMatchObject({
          _tag: "WorkflowRunContinued",
          runId: second
        })
        expect(yield* engine.result("loop-1")).toBe(20)
        const foreign = yield* Effect.flip(engine.result("r-other", { runId: started.runId }))
        expect(foreign._tag).toBe("WorkflowNotFound")
        return started
      }).pipe(Effect.provide(engineLayer([looping], [], { dbPath })), Effect.scoped)

      // A chain recorded before the next run's id was: followed to the id's current run.
      const Sqlite = (yield* Effect.promise(() => import("better-sqlite3"))).default
      const db = new Sqlite(dbPath)
      const stripped = db
        .prepare(
          "UPDATE events SET body = json_remove(body, '$.nextRunId') WHERE json_extract(body, '$.type') = 'WorkflowContinuedAsNew'"
        )
        .run()
      db.close()
      expect(stripped.changes).toBe(2)
      yield* Effect.gen(function* () {
        const engine = yield* Engine
        expect(yield* engine.result("loop-1", { runId: started.runId })).toBe(20)
      }).pipe(Effect.provide(engineLayer([looping], [], { dbPath })), Effect.scoped)
    })
  })

  it.live("works after a restart, for a run still open and one closed long ago", () =>
    Effect.gen(function* () {
      const { dbPath } = tempDb("result-restart")
      yield* Effect.gen(function* () {
        const engine = yield* Engine
        yield* engine.start(waiter, undefined, { id: "rr-1" })
        yield* engine.start(waiter, undefined, { id: "rr-2" })
        yield* awaitingSignal("rr-2")
        yield* engine.signal("rr-2", Finish, "ok")
        yield* awaitingSignal("rr-1")
      }).pipe(Effect.provide(engineLayer([waiter], [], { dbPath })), Effect.scoped)
      yield* Effect.gen(function* () {
        const engine = yield* Engine
        const open = yield* Effect.fork(engine.result("rr-1"))
        yield* settle
        yield* engine.signal("rr-1", Finish, "ok")
        expect(atOf(yield* Fiber.join(open))).toBeInstanceOf(Date)
        expect(atOf(yield* engine.result("rr-2"))).toBeInstanceOf(Date)
      }).pipe(Effect.provide(engineLayer([waiter], [], { dbPath })), Effect.scoped)
    })
  )

  it.live("waiting costs no store read and no stream; a closed run costs one read", () => {
    const reads = { count: 0 }
    const counted =
      <A extends ReadonlyArray<unknown>, R>(f: (...args: A) => R) =>
      (...args: A): R => {
        reads.count++
        return f(...args)
      }
    const store = Layer.effect(
      WorkflowStore,
      Effect.map(WorkflowStore, (real) =>
        WorkflowStore.of({
          ...real,
          currentRun: counted(real.currentRun),
          runsByIds: counted(real.runsByIds),
          events: counted(real.events),
          historiesOf: counted(real.historiesOf),
          snapshotsOf: counted(real.snapshotsOf),
          historyFacts: counted(real.historyFacts),
          listRuns: counted(real.listRuns)
        })
      )
    ).pipe(Layer.provide(SqliteStore({ filename: tempDb("result-reads").dbPath })))
    return Effect.gen(function* () {
      const engine = yield* Engine
      yield* engine.start(waiter, undefined, { id: "cost-1" })
      yield* awaitingSignal("cost-1")
      reads.count = 0
      const waiters = yield* Effect.forEach(Array.from({ length: 100 }), () =>
        Effect.fork(engine.result("cost-1"))
      )
      yield* settle
      expect(reads.count).toBe(0)
      yield* engine.signal("cost-1", Finish, "ok")
      for (const w of waiters) expect(atOf(yield* Fiber.join(w))).toBeInstanceOf(Date)
      expect(reads.count).toBe(0)
      yield* engine.result("cost-1")
      expect(reads.count).toBe(1)
      // A waiter that gives up leaves nothing behind: the run closes with no one to tell.
      yield* engine.start(waiter, undefined, { id: "cost-2" })
      yield* awaitingSignal("cost-2")
      const gaveUp = yield* Effect.fork(engine.result("cost-2"))
      yield* settle
      yield* Fiber.interrupt(gaveUp)
      yield* engine.signal("cost-2", Finish, "ok")
      expect(atOf(yield* engine.result("cost-2"))).toBeInstanceOf(Date)
    }).pipe(Effect.provide(EngineOnStore({ workflows: [waiter], activities: [] }).pipe(Layer.provide(store))))
  })
})

/** Moves the TestClock a second at a time until the id has had `runs` continuations and closed. */
const awaitClosedAfter = (id: string, runs: number) =>
  Effect.gen(function* () {
    const { adjust } = yield* Effect.promise(() => import("effect/TestClock"))
    for (let i = 0; i <= runs; i++) {
      yield* settle
      yield* adjust("1 second")
    }
    yield* settle
    expect(yield* awaitClosed(id)).toBe("completed")
  })

describe("typed calls (item 6)", () => {
  const Input = Schema.Struct({ n: Schema.NumberFromString })
  const Approve = defineSignal("approve", Schema.Struct({ ok: Schema.Boolean }))
  const Stage = defineQuery("stage", { output: Schema.String, args: Schema.Number })
  const typedFlow = workflow(
    "typedFlow",
    { input: Input, output: Schema.Number, signals: [Approve], queries: [Stage] },
    function* ({ n }) {
      yield* onQuery(Stage, (k) => `stage ${n * k}`)
      const approval = yield* waitForSignal(Approve)
      return approval.ok ? n : -n
    }
  )

  it.scoped("start, signal, query and result are typed by the definitions they take", () =>
    Effect.gen(function* () {
      const engine = yield* Engine
      const started = yield* engine.start(typedFlow, { n: 4 }, { id: "typed-1" })
      yield* awaitingSignal("typed-1")
      const stage = yield* engine.query("typed-1", Stage, 2)
      expectTypeOf(stage).toEqualTypeOf<string>()
      expect(stage).toBe("stage 8")
      yield* engine.signal("typed-1", Approve, { ok: true })
      const result = yield* engine.result(started)
      expectTypeOf(result).toEqualTypeOf<number>()
      expect(result).toBe(4)
      expectTypeOf(yield* engine.result("typed-1")).toEqualTypeOf<unknown>()
      // The wrong types do not compile (checked by `npm run typecheck`); not run.
      void (() => [
        // @ts-expect-error the input is the workflow's decoded input type
        engine.start(typedFlow, { n: "4" }),
        // @ts-expect-error a signal's payload is its schema's type
        engine.signal("typed-1", Approve, { ok: "yes" }),
        // @ts-expect-error a query's arguments are its schema's type
        engine.query("typed-1", Stage, "2"),
        // @ts-expect-error a workflow whose input is required needs one
        engine.start(typedFlow)
      ])
    }).pipe(Effect.provide(engineLayer([typedFlow])))
  )

  it.scoped("the workflow-types listing shows the encoded (wire) JSON Schema of inputs and signals", () =>
    Effect.gen(function* () {
      const engine = yield* Engine
      const [info] = engine.workflowTypes()
      expect(info?.inputSchema).toMatchObject({
        type: "object",
        required: ["n"],
        properties: { n: { $ref: "#/$defs/NumberFromString" } },
        $defs: { NumberFromString: { type: "string" } }
      })
      expect(info?.signals).toEqual([
        {
          name: "approve",
          schema: expect.objectContaining({ properties: { ok: { type: "boolean" } } })
        }
      ])
    }).pipe(Effect.provide(engineLayer([typedFlow])))
  )
})
