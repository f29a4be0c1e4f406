/**
 * Every primitive end to end on the real engine and a real SQLite file, with time scripted
 * by TestClock. Titles name the engine invariant (runtime/engine.ts) a test checks.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/TestClock"
import {
  activity,
  all,
  child,
  allSettled,
  continueAsNew,
  defineSignal,
  race,
  sleep,
  waitForSignal,
  workflow
} from "../../core"
import { Engine, SqliteStore, implement } from "../../runtime"
import {
  awaitClosed,
  awaitingSignal,
  engineLayer,
  eventsOfType,
  eventually,
  historyOf,
  runUntilClosed,
  settle,
  stillRunning,
  tempDb
} from "../support/engine-harness"
import { gatedEngine } from "../support/gated-store"

describe("children, races and cancellation", () => {
  const work = activity("work", {
    input: Schema.String,
    output: Schema.String,
    retry: { maximumAttempts: 1 }
  })
  const kid = workflow("kid", { input: Schema.String }, function* (task) {
    return yield* work(task)
  })
  const parent = workflow("parent", { input: Schema.Array(Schema.String) }, function* (tasks) {
    const results = yield* allSettled(tasks.map((t) => child(kid, t)))
    return results.map((r) => (r.status === "fulfilled" ? r.value : `failed: ${r.error.name}`))
  })
  const workImpl = implement(work, (task) => {
    if (task.includes("FAIL")) throw new Error(`cannot ${task}`)
    return task.toUpperCase()
  })

  it.scoped(
    "parallel children run as real workflows linked to the parent; a failing child loses no sibling's result",
    () =>
      Effect.gen(function* () {
        const engine = yield* Engine
        yield* engine.start("parent", ["a", "FAIL b", "c"], { id: "p1" })
        expect(yield* awaitClosed("p1")).toBe("completed")
        expect((yield* engine.describe("p1")).result).toEqual(["A", "failed: ChildWorkflowFailure", "C"])
        const kids = (yield* engine.list({ type: "kid" })).workflows
        expect(kids.map((k) => [k.id, k.status, k.parentId]).sort()).toEqual([
          ["p1/2", "completed", "p1"],
          ["p1/3", "failed", "p1"],
          ["p1/4", "completed", "p1"]
        ])
        const started = eventsOfType(yield* historyOf("p1/2"), "WorkflowStarted")[0]!
        expect(started.parent).toMatchObject({ workflowId: "p1", cmd: 2 })
      }).pipe(Effect.provide(engineLayer([parent, kid], [workImpl])))
  )

  const long = activity("long", { output: Schema.String })
  const racer = workflow("racer", {}, function* () {
    return yield* race([long(), sleep("1 minute")])
  })

  it.scoped(
    "race cancels the loser: its activity's AbortSignal fires and its completion is never recorded",
    () => {
      const aborted: Array<string> = []
      const impl = implement(
        long,
        (_, ctx) =>
          new Promise<string>((resolve) => {
            ctx.signal.addEventListener("abort", () => {
              aborted.push(ctx.idempotencyKey)
              resolve("too late")
            })
          })
      )
      return Effect.gen(function* () {
        const engine = yield* Engine
        yield* engine.start("racer", undefined, { id: "race1" })
        expect(yield* runUntilClosed("race1", "30 seconds")).toBe("completed")
        yield* settle
        expect(aborted).toEqual(["race1/2"])
        const types = (yield* historyOf("race1")).map((e) => e.type)
        expect(types).toEqual([
          "WorkflowStarted",
          "ActivityScheduled",
          "TimerStarted",
          "TimerFired",
          "ActivityCancelRequested",
          "WorkflowCompleted"
        ])
      }).pipe(Effect.provide(engineLayer([racer], [impl])))
    }
  )

  it.scoped("an AbortSignal first read after the cancel is already aborted", () => {
    let release: () => void = () => {}
    const seen: Array<boolean> = []
    const impl = implement(
      long,
      (_, ctx) =>
        new Promise<string>((resolve) => {
          release = () => {
            seen.push(ctx.signal.aborted)
            resolve("too late")
          }
        })
    )
    return Effect.gen(function* () {
      const engine = yield* Engine
      yield* engine.start("racer", undefined, { id: "race2" })
      expect(yield* runUntilClosed("race2", "30 seconds")).toBe("completed")
      release()
      yield* settle
      expect(seen).toEqual([true])
    }).pipe(Effect.provide(engineLayer([racer], [impl])))
  })

  const book = activity("book", { input: Schema.String, output: Schema.String })
  const undo = activity("undo", { input: Schema.String, output: Schema.String })
  const Done = defineSignal("done")
  const saga = workflow("saga", { signals: [Done] }, function* () {
    const booked: Array<string> = []
    try {
      for (const item of ["flight", "hotel"]) booked.push(yield* book(item))
      yield* waitForSignal(Done)
      return booked
    } finally {
      // Runs on cancellation too: compensate in reverse order.
      if (booked.length === 2) for (const item of [...booked].reverse()) yield* undo(item)
    }
  })

  it.scoped(
    "cancel throws Cancelled at the current yield; finally compensates in reverse order; the run ends cancelled",
    () => {
      const log: Array<string> = []
      const impls = [
        implement(book, (item) => (log.push(`book ${item}`), item)),
        implement(undo, (item) => (log.push(`undo ${item}`), item))
      ]
      return Effect.gen(function* () {
        const engine = yield* Engine
        yield* engine.start("saga", undefined, { id: "saga1" })
        yield* awaitingSignal("saga1")
        yield* engine.cancel("saga1", "customer left")
        expect(yield* awaitClosed("saga1")).toBe("cancelled")
        expect(log).toEqual(["book flight", "book hotel", "undo hotel", "undo flight"])
        const d = yield* engine.describe("saga1")
        expect(d.error).toEqual({ name: "Cancelled", message: "cancelled: customer left" })
        const again = yield* Effect.flip(engine.cancel("saga1"))
        expect(again._tag).toBe("WorkflowClosed")
      }).pipe(Effect.provide(engineLayer([saga], impls)))
    }
  )

  const Never = defineSignal("never")
  const sleepyKid = workflow("sleepyKid", { signals: [Never] }, function* () {
    yield* waitForSignal(Never)
    return "woke"
  })
  const sleepyParent = workflow("sleepyParent", {}, function* () {
    return yield* child(sleepyKid, undefined, { id: "sleepy-kid" })
  })

  it.scoped("cancelling a parent cancels its running child", () =>
    Effect.gen(function* () {
      const engine = yield* Engine
      yield* engine.start("sleepyParent", undefined, { id: "sp" })
      yield* eventually(Effect.map(Effect.either(engine.describe("sleepy-kid")), (d) => d._tag === "Right"))
      yield* engine.cancel("sp")
      expect(yield* awaitClosed("sp")).toBe("cancelled")
      expect(yield* awaitClosed("sleepy-kid")).toBe("cancelled")
    }).pipe(Effect.provide(engineLayer([sleepyParent, sleepyKid], [])))
  )

  const step = activity("step", { input: Schema.Number, output: Schema.Number })
  const looping = workflow(
    "looping",
    { input: Schema.Struct({ round: Schema.Number, total: Schema.Number }) },
    function* ({ round, total }) {
      const next = yield* step(round)
      if (next < 3) return yield* continueAsNew({ round: next, total: total + next })
      return total + next
    }
  )

  const Go = defineSignal("go")
  const twoRounds = workflow("twoRounds", { input: Schema.Number, signals: [Go] }, function* (round) {
    yield* waitForSignal(Go)
    if (round === 0) return yield* continueAsNew(1)
    return "second round"
  })

  it.live(
    "what arrives while a continuing run's commit is in flight goes to the new run, and waits for it",
    () => {
      const { control, layer } = gatedEngine([twoRounds])
      return Effect.gen(function* () {
        const engine = yield* Engine
        const first = yield* engine.start("twoRounds", 0, { id: "two" })
        yield* awaitingSignal("two")
        yield* control.gate.close
        const continued = yield* Effect.fork(engine.signal("two", "go", undefined))
        yield* settle
        const signalled = yield* Effect.fork(engine.signal("two", "go", undefined))
        const described = yield* Effect.fork(engine.describe("two"))
        yield* settle
        expect(
          yield* Effect.all([stillRunning(continued), stillRunning(signalled), stillRunning(described)])
        ).toEqual([true, true, true])
        yield* control.gate.open
        yield* Fiber.join(continued)
        yield* Fiber.join(signalled)
        const second = yield* Fiber.join(described)
        expect(second.runId).not.toBe(first.runId)
        expect(second.input).toBe(1)
        // Nothing wakes the new run but its own commit: history() only reads the store.
        const closed = Effect.map(engine.history("two"), (h) => h.events.at(-1)?.type === "WorkflowCompleted")
        yield* eventually(closed)
        expect((yield* engine.describe("two")).result).toBe("second round")
      }).pipe(Effect.ensuring(control.gate.open), Effect.provide(layer))
    }
  )

  it.live("a signal waiting for a continued run whose commit fails is answered with the failure", () => {
    const { control, layer } = gatedEngine([twoRounds])
    return Effect.gen(function* () {
      const engine = yield* Engine
      yield* engine.start("twoRounds", 0, { id: "two-fails" })
      yield* awaitingSignal("two-fails")
      yield* control.gate.close
      control.failNext = true
      const continued = yield* Effect.fork(Effect.either(engine.signal("two-fails", "go", undefined)))
      yield* settle
      const signalled = yield* Effect.fork(Effect.either(engine.signal("two-fails", "go", undefined)))
      yield* settle
      yield* control.gate.open
      expect((yield* Fiber.join(continued))._tag).toBe("Left")
      const second = yield* Fiber.join(signalled)
      expect(second._tag === "Left" && second.left._tag).toBe("StoreError")
    }).pipe(Effect.ensuring(control.gate.open), Effect.provide(layer))
  })

  it.live(
    "after a continuing commit fails, the run holds its id again: it takes signals, and a second start is refused",
    () => {
      const { control, layer } = gatedEngine([twoRounds])
      return Effect.gen(function* () {
        const engine = yield* Engine
        const first = yield* engine.start("twoRounds", 0, { id: "two-lost" })
        yield* awaitingSignal("two-lost")
        yield* control.gate.close
        control.failNext = true
        const lost = yield* Effect.fork(Effect.either(engine.signal("two-lost", "go", undefined)))
        yield* settle
        yield* control.gate.open
        expect((yield* Fiber.join(lost))._tag).toBe("Left")
        const again = yield* Effect.flip(engine.start("twoRounds", 0, { id: "two-lost" }))
        expect(again._tag).toBe("WorkflowAlreadyRunning")
        yield* engine.signal("two-lost", "go", undefined)
        const continued = Effect.map(engine.describe("two-lost"), (d) => d.runId !== first.runId)
        yield* eventually(continued)
        yield* engine.signal("two-lost", "go", undefined)
        expect(yield* awaitClosed("two-lost")).toBe("completed")
      }).pipe(Effect.ensuring(control.gate.open), Effect.provide(layer))
    }
  )

  const Ping = defineSignal("ping")
  const pingThenGo = workflow("pingThenGo", { input: Schema.Number, signals: [Go, Ping] }, function* (round) {
    if (round === 0) {
      yield* waitForSignal(Ping)
      yield* waitForSignal(Go)
      return yield* continueAsNew(1)
    }
    yield* waitForSignal(Go)
    return "done"
  })

  it.live(
    "a describe waiting on a run that then continues as new describes one run, as its commit left it",
    () => {
      const { control, layer } = gatedEngine([pingThenGo])
      return Effect.gen(function* () {
        const engine = yield* Engine
        const first = yield* engine.start("pingThenGo", 0, { id: "pg" })
        yield* control.gate.close
        const pinged = yield* Effect.fork(engine.signal("pg", "ping", undefined))
        yield* settle
        const described = yield* Effect.fork(engine.describe("pg"))
        yield* settle
        const went = yield* Effect.fork(engine.signal("pg", "go", undefined))
        yield* settle
        yield* control.gate.open
        yield* Fiber.join(pinged)
        yield* Fiber.join(went)
        const d = yield* Fiber.join(described)
        // Answered once the ping was recorded, before the run took the go (readers first).
        expect([d.runId, d.status, d.input, d.pending.signals]).toEqual([first.runId, "running", 0, ["go"]])
        const later = yield* engine.describe("pg")
        expect([later.input, later.pending.signals]).toEqual([1, ["go"]])
      }).pipe(Effect.ensuring(control.gate.open), Effect.provide(layer))
    }
  )

  it.live("signals that reach a run in the task that continues it as new go to the new run", () => {
    const { control, layer } = gatedEngine([pingThenGo])
    return Effect.gen(function* () {
      const engine = yield* Engine
      yield* engine.start("pingThenGo", 0, { id: "same-task" })
      yield* engine.signal("same-task", "ping", undefined)
      // Both delivered before the pump runs: one workflow task takes both.
      yield* Effect.all(
        [engine.signal("same-task", "go", undefined), engine.signal("same-task", "go", undefined)],
        { concurrency: "unbounded" }
      )
      expect(yield* awaitClosed("same-task")).toBe("completed")
      // Readers first holds what arrives behind a describe: the same, the long way round.
      yield* engine.start("pingThenGo", 0, { id: "held" })
      yield* control.gate.close
      const pinged = yield* Effect.fork(engine.signal("held", "ping", undefined))
      yield* settle
      const described = yield* Effect.fork(engine.describe("held"))
      yield* settle
      const went = yield* Effect.fork(
        Effect.all([engine.signal("held", "go", undefined), engine.signal("held", "go", undefined)], {
          concurrency: "unbounded"
        })
      )
      yield* settle
      yield* control.gate.open
      yield* Effect.all([Fiber.join(pinged), Fiber.join(described), Fiber.join(went)])
      expect(yield* awaitClosed("held")).toBe("completed")
      expect((yield* historyOf("held")).map((e) => e.type)).toEqual([
        "WorkflowStarted",
        "SignalReceived",
        "WorkflowCompleted"
      ])
    }).pipe(Effect.ensuring(control.gate.open), Effect.provide(layer))
  })

  const Finish = defineSignal("finish")
  const finishing = workflow("finishing", { signals: [Finish] }, function* () {
    yield* waitForSignal(Finish)
    return "kid done"
  })
  const parentOfFinishing = workflow("parentOfFinishing", {}, function* () {
    return yield* child(finishing, undefined, { id: "the-kid" })
  })
  const ghost = workflow("ghost", {}, function* () {
    return "boo"
  })
  const haunted = workflow("haunted", {}, function* () {
    try {
      return yield* child(ghost, undefined, { id: "ghost-kid" })
    } catch (error) {
      return `caught ${(error as { cause: { name: string } }).cause.name}`
    }
  })

  it.live(
    "a child that cannot start fails in the commit that records its start, so no crash can part them",
    () => {
      // The ghost type is not registered.
      const { control, layer } = gatedEngine([haunted])
      return Effect.gen(function* () {
        const engine = yield* Engine
        yield* engine.start("haunted", undefined, { id: "h" })
        expect(yield* awaitClosed("h")).toBe("completed")
        expect((yield* engine.describe("h")).result).toBe("caught UnknownName")
        const together = control.committed.filter(
          (types) => types.includes("ChildWorkflowStarted") && types.includes("ChildWorkflowFailed")
        )
        expect(together.length).toBe(1)
      }).pipe(Effect.provide(layer))
    }
  )

  it.live("a child's outcome lost with its parent's failed commit comes again: the parent completes", () => {
    const { control, layer } = gatedEngine([parentOfFinishing, finishing])
    return Effect.gen(function* () {
      const engine = yield* Engine
      yield* engine.start("parentOfFinishing", undefined, { id: "pk" })
      yield* awaitingSignal("the-kid")
      control.failEventMatching = `"type":"ChildWorkflowCompleted"`
      yield* engine.signal("the-kid", "finish", undefined)
      expect(yield* awaitClosed("the-kid")).toBe("completed")
      yield* eventually(Effect.sync(() => control.failEventMatching === undefined))
      expect(yield* awaitClosed("pk")).toBe("completed")
      expect((yield* engine.describe("pk")).result).toBe("kid done")
    }).pipe(Effect.provide(layer))
  })

  it.live("a cancel a parent asked of its child, lost with the child's failed commit, comes again", () => {
    const { control, layer } = gatedEngine([parentOfFinishing, finishing])
    return Effect.gen(function* () {
      const engine = yield* Engine
      yield* engine.start("parentOfFinishing", undefined, { id: "pc" })
      yield* awaitingSignal("the-kid")
      control.failEventMatching = "the parent workflow cancelled it"
      yield* engine.cancel("pc")
      yield* eventually(Effect.sync(() => control.failEventMatching === undefined))
      expect([yield* awaitClosed("the-kid"), yield* awaitClosed("pc")]).toEqual(["cancelled", "cancelled"])
    }).pipe(Effect.provide(layer))
  })

  it.scoped("continue-as-new starts a fresh run with an empty history under the same id", () =>
    Effect.gen(function* () {
      const engine = yield* Engine
      const first = yield* engine.start("looping", { round: 0, total: 0 }, { id: "loop" })
      yield* eventually(Effect.map(engine.describe("loop"), (d) => d.status === "completed"))
      const d = yield* engine.describe("loop")
      expect(d.result).toBe(6)
      expect(d.runId).not.toBe(first.runId)
      const events = yield* historyOf("loop")
      expect(events[0]).toMatchObject({ type: "WorkflowStarted", input: { round: 2, total: 3 } })
      expect(events.map((e) => e.type)).toEqual([
        "WorkflowStarted",
        "ActivityScheduled",
        "ActivityCompleted",
        "WorkflowCompleted"
      ])
      const again = yield* engine.start("looping", { round: 2, total: 0 }, { id: "loop" })
      expect(again.runId).not.toBe(d.runId)
    }).pipe(Effect.provide(engineLayer([looping], [implement(step, (n) => n + 1)])))
  )
})

describe("a parent's cancel and its child's continue-as-new", () => {
  const Go = defineSignal("go")
  const Stop = defineSignal("stop")
  const Done = defineSignal("done")
  const roundKid = workflow("roundKid", { input: Schema.Number, signals: [Go] }, function* (round) {
    yield* waitForSignal(Go)
    if (round === 0) return yield* continueAsNew(1)
    yield* waitForSignal(Go)
    return "kid done"
  })
  const stopper = workflow("stopper", { signals: [Stop, Done] }, function* () {
    const first = yield* race([child(roundKid, 0, { id: "rk" }), waitForSignal(Stop)])
    yield* waitForSignal(Done)
    return first ?? "stopped"
  })

  /**
   * The parent loses a race to a signal and cancels its child; the child continues as new
   * while the parent's commit waits, so the cancel reaches the run that has just closed.
   */
  const cancelWhileContinuing = (control: ReturnType<typeof gatedEngine>["control"]) =>
    Effect.gen(function* () {
      const engine = yield* Engine
      yield* engine.start("stopper", undefined, { id: "st" })
      yield* awaitingSignal("rk")
      yield* control.gate.close
      const stopped = yield* Effect.fork(engine.signal("st", "stop", undefined))
      yield* settle
      const went = yield* Effect.fork(engine.signal("rk", "go", undefined))
      yield* settle
      yield* control.gate.open
      yield* Fiber.join(stopped)
      yield* Fiber.join(went)
      yield* settle
    }).pipe(Effect.ensuring(control.gate.open))

  it.live("the cancel goes on to the new run", () => {
    const { dbPath } = tempDb("cancel-can")
    const first = gatedEngine([stopper, roundKid], [], SqliteStore({ filename: dbPath }))
    return Effect.gen(function* () {
      yield* cancelWhileContinuing(first.control).pipe(Effect.provide(first.layer), Effect.scoped)
      const second = gatedEngine([stopper, roundKid], [], SqliteStore({ filename: dbPath }))
      yield* Effect.gen(function* () {
        const engine = yield* Engine
        const d = yield* engine.describe("rk")
        const cancels = eventsOfType(yield* historyOf("rk"), "CancelRequested").length
        expect([d.input, d.status, cancels]).toEqual([1, "cancelled", 1])
      }).pipe(Effect.provide(second.layer), Effect.scoped)
    })
  })

  it.live("a cancel the new run had not recorded when the engine stopped reaches it after a restart", () => {
    const { dbPath } = tempDb("cancel-can-stop")
    const first = gatedEngine([stopper, roundKid], [], SqliteStore({ filename: dbPath }))
    // The new run's record of the cancel never commits before the engine stops (a crash).
    first.control.failAllMatching = "the parent workflow cancelled it"
    return Effect.gen(function* () {
      yield* cancelWhileContinuing(first.control).pipe(Effect.provide(first.layer), Effect.scoped)
      const second = gatedEngine([stopper, roundKid], [], SqliteStore({ filename: dbPath }))
      yield* Effect.gen(function* () {
        const engine = yield* Engine
        yield* eventually(Effect.map(engine.describe("rk"), (d) => d.status === "cancelled"))
        expect((yield* engine.describe("rk")).input).toBe(1)
      }).pipe(Effect.provide(second.layer), Effect.scoped)
    })
  })
})

describe("durability in one process", () => {
  const Go = defineSignal("go")
  const add = activity("add", { input: Schema.Number, output: Schema.Number })
  const steps = workflow("steps", { input: Schema.Number, signals: [Go] }, function* (n) {
    let total = 0
    for (let i = 0; i < n; i++) total += yield* add(i)
    yield* waitForSignal(Go)
    return total
  })

  it.live(
    "recovery: an engine restarted on the same file resumes open runs; a corrupt snapshot falls back to full replay",
    () =>
      Effect.gen(function* () {
        const { dbPath } = tempDb("recovery")
        const layer = engineLayer([steps], [implement(add, (i) => i)], {
          dbPath,
          snapshotEvery: 5,
          cacheSize: 1
        })
        yield* Effect.gen(function* () {
          const engine = yield* Engine
          yield* engine.start("steps", 20, { id: "long" })
          yield* engine.start("steps", 3, { id: "short" })
          yield* awaitingSignal("long")
        }).pipe(Effect.provide(layer), Effect.scoped)

        const Sqlite = (yield* Effect.promise(() => import("better-sqlite3"))).default
        const db = new Sqlite(dbPath)
        const snapshot = db
          .prepare(
            "SELECT max(s.seq) AS seq FROM snapshots s JOIN runs r ON r.run_id = s.run_id WHERE r.workflow_id = 'long'"
          )
          .get() as { seq: number } | undefined
        expect(snapshot?.seq).toBeGreaterThanOrEqual(40)
        db.prepare(
          'UPDATE snapshots SET body = \'{"version":1,"seq":\' || seq || \',"events":[{"type":"Nope"}]}\''
        ).run()
        db.close()

        yield* Effect.gen(function* () {
          const engine = yield* Engine
          yield* engine.signal("long", "go", undefined)
          yield* engine.signal("short", "go", undefined)
          expect(yield* awaitClosed("long")).toBe("completed")
          expect(yield* awaitClosed("short")).toBe("completed")
          expect((yield* engine.describe("long")).result).toBe(190)
          expect((yield* engine.describe("short")).result).toBe(3)
        }).pipe(Effect.provide(layer), Effect.scoped)
      })
  )

  const patient = activity("patient", { output: Schema.Unknown, retry: { initialInterval: "1 minute" } })
  const quick = activity("quick", { input: Schema.Number, output: Schema.Number })
  const resumable = workflow("resumable", {}, function* () {
    const [resumed, ...sums] = yield* all([patient(), quick(1), quick(2), quick(3)])
    return { resumed, sums }
  })

  /**
   * An engine on `dbPath` whose `patient` heartbeats and fails while `failing`, noting each
   * attempt; a snapshot every 2 events unless told otherwise.
   */
  const resumableEngine = (
    dbPath: string,
    failing: boolean,
    attempts: Array<[number, unknown]>,
    snapshotEvery = 2
  ) =>
    engineLayer(
      [resumable],
      [
        implement(quick, (n) => n * 10),
        implement(patient, (_, ctx) => {
          attempts.push([ctx.attempt, ctx.lastHeartbeat])
          if (!failing) return { attempt: ctx.attempt, from: ctx.lastHeartbeat }
          ctx.heartbeat({ page: ctx.attempt })
          throw new Error(`down ${ctx.attempt}`)
        })
      ],
      // The compact history empties the activity's input and drops its failures.
      { dbPath, snapshotEvery }
    )
  const failedAttempts = (id: string, n: number) =>
    Effect.map(historyOf(id), (events) => eventsOfType(events, "ActivityAttemptFailed").length === n)

  for (const [snapshotEvery, title] of [
    [2, "an activity scheduled before a snapshot"],
    [0, "an activity (snapshots off)"]
  ] as const)
    it.scoped(
      `invariant 4: recovery dispatches ${title} from the history alone, with its attempt count and last heartbeat`,
      () => {
        const { dbPath } = tempDb("open-activity")
        const attempts: Array<[number, unknown]> = []
        return Effect.gen(function* () {
          yield* Effect.gen(function* () {
            const engine = yield* Engine
            yield* engine.start("resumable", undefined, { id: "o1" })
            yield* eventually(failedAttempts("o1", 1))
            yield* TestClock.adjust("1 minute")
            yield* eventually(failedAttempts("o1", 2))
          }).pipe(Effect.provide(resumableEngine(dbPath, true, attempts, snapshotEvery)), Effect.scoped)

          yield* Effect.gen(function* () {
            const engine = yield* Engine
            expect(yield* runUntilClosed("o1", "1 minute")).toBe("completed")
            expect((yield* engine.describe("o1")).result).toEqual({
              resumed: { attempt: 3, from: { page: 2 } },
              sums: [10, 20, 30]
            })
            const events = yield* historyOf("o1")
            expect(eventsOfType(events, "ActivityAttemptFailed").map((e) => e.heartbeat)).toEqual([
              { page: 1 },
              { page: 2 }
            ])
          }).pipe(Effect.provide(resumableEngine(dbPath, false, attempts, snapshotEvery)), Effect.scoped)
          expect(attempts).toEqual([
            [1, undefined],
            [2, { page: 1 }],
            [3, { page: 2 }]
          ])
        })
      }
    )

  it.scoped(
    "a version-1 file is upgraded: its tasks table goes, and its open activity resumes from the history",
    () => {
      const { dbPath } = tempDb("upgrade")
      const attempts: Array<[number, unknown]> = []
      return Effect.gen(function* () {
        yield* Effect.gen(function* () {
          const engine = yield* Engine
          yield* engine.start("resumable", undefined, { id: "u1" })
          yield* eventually(failedAttempts("u1", 1))
        }).pipe(Effect.provide(resumableEngine(dbPath, true, attempts)), Effect.scoped)

        // What version 1 left: the open activity in `tasks` (its heartbeat there, not in the
        // history), snapshots of format 1 in a table of one row per run, the schema stamp.
        const Sqlite = (yield* Effect.promise(() => import("better-sqlite3"))).default
        const db = new Sqlite(dbPath)
        db.exec(`CREATE TABLE tasks (
          run_id TEXT NOT NULL, workflow_id TEXT NOT NULL, cmd INTEGER NOT NULL, name TEXT NOT NULL,
          input TEXT NOT NULL, options TEXT NOT NULL, attempt INTEGER NOT NULL,
          next_attempt_at INTEGER NOT NULL, heartbeat TEXT, PRIMARY KEY (run_id, cmd)) WITHOUT ROWID`)
        db.exec(
          `INSERT INTO tasks SELECT run_id, 'u1', 2, 'patient', 'null', '{}', 1, 0, '{"page":1}' FROM runs`
        )
        db.exec(`UPDATE events SET body = json_remove(body, '$.heartbeat')`)
        db.exec(`UPDATE snapshots SET body = json_set(body, '$.version', 1)`)
        db.exec(`ALTER TABLE snapshots RENAME TO segments`)
        db.exec(`CREATE TABLE snapshots (run_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, body TEXT NOT NULL)`)
        db.exec(`INSERT INTO snapshots SELECT run_id, max(seq), body FROM segments GROUP BY run_id`)
        db.exec(`DROP TABLE segments`)
        db.exec(`UPDATE temporal_lite_meta SET value = '1' WHERE key = 'schema_version'`)
        db.exec(`DELETE FROM effect_sql_migrations WHERE migration_id >= 2`)
        db.close()

        yield* Effect.gen(function* () {
          const engine = yield* Engine
          expect(yield* runUntilClosed("u1", "1 minute")).toBe("completed")
          expect((yield* engine.describe("u1")).result).toEqual({
            resumed: { attempt: 2 },
            sums: [10, 20, 30]
          })
        }).pipe(Effect.provide(resumableEngine(dbPath, false, attempts)), Effect.scoped)
        // The heartbeat only version 1's table held is the one thing the upgrade loses.
        expect(attempts).toEqual([
          [1, undefined],
          [2, undefined]
        ])
        const check = new Sqlite(dbPath, { readonly: true })
        expect(check.prepare(`SELECT name FROM sqlite_master WHERE name = 'tasks'`).all()).toEqual([])
        expect(
          check.prepare(`SELECT value FROM temporal_lite_meta WHERE key = 'schema_version'`).get()
        ).toEqual({ value: "3" })
        check.close()
      })
    }
  )

  it.live(
    "a running workflow's listing and description show its last event, before and after a restart",
    () =>
      Effect.gen(function* () {
        const { dbPath } = tempDb("progress")
        const layer = engineLayer([steps], [implement(add, (i) => i)], { dbPath })
        const progress = Effect.gen(function* () {
          const engine = yield* Engine
          const listed = (yield* engine.list({})).workflows.find((w) => w.id === "p")!
          const described = yield* engine.describe("p")
          return {
            listed: [listed.lastEventType, listed.updatedAt],
            described: [described.lastEventType, described.updatedAt, described.historyLength]
          }
        })
        const before = yield* Effect.gen(function* () {
          const engine = yield* Engine
          yield* engine.start("steps", 3, { id: "p" })
          yield* awaitingSignal("p")
          const seen = yield* progress
          const events = yield* historyOf("p")
          const last = events[events.length - 1]!
          expect(seen.listed).toEqual([last.type, last.at])
          expect(seen.described).toEqual([last.type, last.at, last.seq])
          expect(last.type).toBe("ActivityCompleted")
          return seen
        }).pipe(Effect.provide(layer), Effect.scoped)
        expect(yield* progress.pipe(Effect.provide(layer), Effect.scoped)).toEqual(before)
      })
  )

  const echo = workflow("echo", { input: Schema.Number }, function* (n) {
    return n
  })

  it.live(
    "starting 300 closed ids again at once: each id's new run is its current one, in memory and in the store",
    () =>
      Effect.gen(function* () {
        const { dbPath } = tempDb("restart-ids")
        const layer = engineLayer([echo], [], { dbPath })
        const ids = Array.from({ length: 300 }, (_, i) => `echo-${i}`)
        const runOf = (id: string, n: number) =>
          Effect.gen(function* () {
            const engine = yield* Engine
            const { runId } = yield* engine.start("echo", n, { id })
            expect(yield* awaitClosed(id)).toBe("completed")
            return runId
          })
        const second = yield* Effect.gen(function* () {
          yield* Effect.forEach(ids, (id) => runOf(id, 1), { concurrency: "unbounded" })
          // One batch retires more than a statement's chunk of previous runs.
          return yield* Effect.forEach(ids, (id) => runOf(id, 2), { concurrency: "unbounded" })
        }).pipe(Effect.provide(layer), Effect.scoped)

        yield* Effect.gen(function* () {
          const engine = yield* Engine
          for (const [i, id] of ids.entries()) {
            const described = yield* engine.describe(id)
            expect([described.runId, described.result]).toEqual([second[i], 2])
          }
          const page = yield* engine.list({ type: "echo", limit: 1000 })
          expect(page.workflows.length).toBe(300)
          expect(new Set(page.workflows.map((w) => w.runId))).toEqual(new Set(second))
        }).pipe(Effect.provide(layer), Effect.scoped)
      }),
    30_000
  )

  const Never = defineSignal("never")
  const Finish = defineSignal("finish")
  const tidyKid = workflow("tidyKid", { signals: [Never, Finish] }, function* () {
    try {
      yield* waitForSignal(Never)
    } finally {
      // Cleanup that outlives the cancel, so the child is still open when the engine restarts.
      yield* waitForSignal(Finish)
    }
    return "never"
  })
  const tidyParent = workflow("tidyParent", {}, function* () {
    return yield* child(tidyKid, undefined, { id: "tidy-kid" })
  })

  it.live("a child cancelled by its parent records the cancel once, across a restart", () =>
    Effect.gen(function* () {
      const { dbPath } = tempDb("child-cancel")
      const layer = engineLayer([tidyParent, tidyKid], [], { dbPath })
      const cancelsOfKid = historyOf("tidy-kid").pipe(
        Effect.map((events) => eventsOfType(events, "CancelRequested").length)
      )
      yield* Effect.gen(function* () {
        const engine = yield* Engine
        yield* engine.start("tidyParent", undefined, { id: "tp" })
        yield* awaitingSignal("tidy-kid")
        yield* engine.cancel("tp")
        expect(yield* awaitClosed("tp")).toBe("cancelled")
        yield* eventually(Effect.map(cancelsOfKid, (n) => n === 1))
      }).pipe(Effect.provide(layer), Effect.scoped)

      yield* Effect.gen(function* () {
        const engine = yield* Engine
        yield* settle
        expect(yield* cancelsOfKid).toBe(1)
        yield* engine.signal("tidy-kid", "finish", undefined)
        expect(yield* awaitClosed("tidy-kid")).toBe("cancelled")
        expect(yield* cancelsOfKid).toBe(1)
      }).pipe(Effect.provide(layer), Effect.scoped)
    })
  )

  it.live(
    "two engines on one file: the second refuses, naming the file and the holder's pid; the first keeps working",
    () =>
      Effect.gen(function* () {
        const { dbPath } = tempDb("lock")
        const first = engineLayer([steps], [implement(add, (i) => i)], { dbPath })
        yield* Effect.gen(function* () {
          const engine = yield* Engine
          const second = yield* Effect.flip(Layer.build(engineLayer([steps], [], { dbPath })))
          expect(second._tag).toBe("StoreError")
          expect(second.message).toContain(dbPath)
          expect(second.message).toContain(`pid ${process.pid}`)
          yield* engine.start("steps", 2, { id: "still-works" })
          yield* engine.signal("still-works", "go", undefined)
          expect(yield* awaitClosed("still-works")).toBe("completed")
        }).pipe(Effect.provide(first), Effect.scoped)
      }),
    30_000
  )
})

describe("stuck workflows", () => {
  const a = activity("a", { output: Schema.String })
  const b = activity("b", { output: Schema.String })
  const Go = defineSignal("go")
  const v1 = workflow("versioned", { signals: [Go] }, function* () {
    const x = yield* a()
    yield* waitForSignal(Go)
    return x
  })
  const v2 = workflow("versioned", { signals: [Go] }, function* () {
    const x = yield* b()
    yield* waitForSignal(Go)
    return x
  })
  const impls = [implement(a, () => "from a"), implement(b, () => "from b")]

  it.live(
    "invariant 5: a divergence marks the run stuck, not failed; restarting with matching code resumes it",
    () =>
      Effect.gen(function* () {
        const { dbPath } = tempDb("stuck")
        yield* Effect.gen(function* () {
          const engine = yield* Engine
          yield* engine.start("versioned", undefined, { id: "v" })
          yield* awaitingSignal("v")
        }).pipe(Effect.provide(engineLayer([v1], impls, { dbPath })), Effect.scoped)

        yield* Effect.gen(function* () {
          const engine = yield* Engine
          const d = yield* eventually(
            Effect.map(engine.describe("v"), (d) => (d.status === "stuck" ? d : undefined))
          )
          expect(d.divergence).toMatchObject({
            cmd: 1,
            expected: { kind: "ActivityScheduled", name: "a" },
            actual: { kind: "Activity", name: "b" }
          })
          yield* engine.signal("v", "go", undefined)
          expect((yield* engine.describe("v")).status).toBe("stuck")
        }).pipe(Effect.provide(engineLayer([v2], impls, { dbPath })), Effect.scoped)

        yield* Effect.gen(function* () {
          const engine = yield* Engine
          expect(yield* awaitClosed("v")).toBe("completed")
          expect((yield* engine.describe("v")).result).toBe("from a")
        }).pipe(Effect.provide(engineLayer([v1], impls, { dbPath })), Effect.scoped)
      })
  )
})
