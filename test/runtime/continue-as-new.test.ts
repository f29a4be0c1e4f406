/**
 * Continue-as-new on the real engine and a real SQLite file (the gated store where a commit
 * must wait or fail): the fresh run under the same id, what reaches a run while its continuing
 * commit is in flight or after it failed, and a parent's cancel meeting its child's continue.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Schema from "effect/Schema"
import { activity, child, continueAsNew, defineSignal, race, waitForSignal, workflow } from "../../core"
import { Engine, SqliteStore, implement } from "../../runtime"
import {
  awaitClosed,
  awaitingSignal,
  engineLayer,
  eventsOfType,
  historyOf,
  settle,
  stillRunning,
  tempDb
} from "../support/engine-harness"
import { gatedEngine, onGatedEngine, type GateControl } from "../support/gated-store"

describe("continue-as-new", () => {
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

  it.scoped(
    "what arrives while a continuing run's commit is in flight goes to the new run, and waits for it",
    () =>
      onGatedEngine([twoRounds], [], (control) =>
        Effect.gen(function* () {
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
          // Nothing wakes the new run but its own commit: result() only waits for the close.
          expect(yield* engine.result("two")).toBe("second round")
          expect((yield* engine.describe("two")).result).toBe("second round")
        })
      )
  )

  it.scoped("a signal waiting for a continued run whose commit fails is answered with the failure", () =>
    onGatedEngine([twoRounds], [], (control) =>
      Effect.gen(function* () {
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
      })
    )
  )

  it.scoped(
    "after a continuing commit fails, the run holds its id again: it takes signals, and a second start is refused",
    () =>
      onGatedEngine([twoRounds], [], (control) =>
        Effect.gen(function* () {
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
          // Acknowledged with the commit of the task it continued the run in.
          yield* engine.signal("two-lost", "go", undefined)
          expect((yield* engine.describe("two-lost")).runId).not.toBe(first.runId)
          yield* engine.signal("two-lost", "go", undefined)
          expect(yield* awaitClosed("two-lost")).toBe("completed")
        })
      )
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

  it.scoped(
    "a describe waiting on a run that then continues as new describes one run, as its commit left it",
    () =>
      onGatedEngine([pingThenGo], [], (control) =>
        Effect.gen(function* () {
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
        })
      )
  )

  it.scoped("signals that reach a run in the task that continues it as new go to the new run", () =>
    onGatedEngine([pingThenGo], [], (control) =>
      Effect.gen(function* () {
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
      })
    )
  )

  it.scoped("continue-as-new starts a fresh run with an empty history under the same id", () =>
    Effect.gen(function* () {
      const engine = yield* Engine
      const first = yield* engine.start("looping", { round: 0, total: 0 }, { id: "loop" })
      expect(yield* engine.result("loop")).toBe(6)
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
  const cancelWhileContinuing = (control: GateControl) =>
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

  it.scoped("the cancel goes on to the new run", () => {
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

  it.scoped(
    "a cancel the new run had not recorded when the engine stopped reaches it after a restart",
    () => {
      const { dbPath } = tempDb("cancel-can-stop")
      const first = gatedEngine([stopper, roundKid], [], SqliteStore({ filename: dbPath }))
      // The new run's record of the cancel never commits before the engine stops (a crash).
      first.control.failAllMatching = "the parent workflow cancelled it"
      return Effect.gen(function* () {
        yield* cancelWhileContinuing(first.control).pipe(Effect.provide(first.layer), Effect.scoped)
        const second = gatedEngine([stopper, roundKid], [], SqliteStore({ filename: dbPath }))
        yield* Effect.gen(function* () {
          const engine = yield* Engine
          // Recovery asks the new run again for the cancel its parent's commit recorded.
          expect(yield* awaitClosed("rk")).toBe("cancelled")
          expect((yield* engine.describe("rk")).input).toBe(1)
        }).pipe(Effect.provide(second.layer), Effect.scoped)
      })
    }
  )
})
