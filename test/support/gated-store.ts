/**
 * Failure injection at the store's boundary: any real `WorkflowStore` with its commits held
 * back or failed on cue, and its reads held, so tests can gather commits into one batch, fail one in the
 * middle of a run's life, hold a slow disk's window open, on SQLite and PostgreSQL alike.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { HistoryEvent, WorkflowDefinition } from "../../core"
import {
  Engine,
  EngineOnStore,
  SqliteStore,
  StoreError,
  WorkflowStore,
  type RegisteredActivity
} from "../../runtime"
import { tempDb, wrappedStore } from "./engine-harness"

/** What a test moves to steer the gated store; every field can change while the engine runs. */
export interface GateControl {
  /** Commits wait while it is closed. A test that closes it opens it again on the way out. */
  readonly gate: Effect.Latch
  /** Fails the next commit (then clears). */
  failNext: boolean
  /** Fails the next commit holding an event whose JSON contains this (then clears). */
  failEventMatching: string | undefined
  /** Fails every commit holding an event whose JSON contains this: a disk that stays bad. */
  failAllMatching: string | undefined
  /**
   * Reads of rows wait while it is closed (a run reads its row back after a failed commit):
   * the window of a slow disk, held open as long as the test needs. Opened again on the way out.
   */
  readonly reads: Effect.Latch
  /** The event types of each commit that went through, in order. */
  readonly committed: Array<ReadonlyArray<string>>
}

/**
 * The store `real` builds, gated by the returned control: commits wait for the gate, reads of
 * rows for `reads`; a commit failed on cue writes nothing and fails with an `Io` StoreError, as a
 * full disk would.
 */
export const gatedStore = (real: Layer.Layer<WorkflowStore, StoreError>) => {
  const control: GateControl = {
    gate: Effect.runSync(Effect.makeLatch(true)),
    failNext: false,
    failEventMatching: undefined,
    failAllMatching: undefined,
    reads: Effect.runSync(Effect.makeLatch(true)),
    committed: []
  }
  const layer = wrappedStore(real, (store) => ({
    runsByIds: (ids) => Effect.zipRight(control.reads.await, store.runsByIds(ids)),
    commit: (writes) =>
      Effect.gen(function* () {
        yield* control.gate.await
        const always = control.failAllMatching
        if (always !== undefined && writes.events.some((e) => e.body.includes(always)))
          return yield* new StoreError({ reason: "Io", message: "disk still full" })
        const match = control.failEventMatching
        const matched = match !== undefined && writes.events.some((e) => e.body.includes(match))
        if (!control.failNext && !matched) {
          yield* store.commit(writes)
          control.committed.push(writes.events.map((e) => (JSON.parse(e.body) as HistoryEvent).type))
          return
        }
        if (matched) control.failEventMatching = undefined
        else control.failNext = false
        return yield* new StoreError({ reason: "Io", message: "disk full" })
      })
  }))
  return { control, layer }
}

/** The engine on a gated store (by default a fresh SQLite file). */
export const gatedEngine = (
  workflows: ReadonlyArray<WorkflowDefinition<any, any>>,
  activities: ReadonlyArray<RegisteredActivity> = [],
  store: Layer.Layer<WorkflowStore, StoreError> = SqliteStore({ filename: tempDb("gated").dbPath })
) => {
  const { control, layer } = gatedStore(store)
  return { control, layer: EngineOnStore({ workflows, activities }).pipe(Layer.provide(layer)) }
}

/**
 * Runs `test` on the engine over a gated store (by default a fresh SQLite file), opening the
 * gate and the reads again on the way out, passed or failed, so no fiber is left waiting at
 * them while the engine is released.
 */
export const onGatedEngine = <A, E>(
  workflows: ReadonlyArray<WorkflowDefinition<any, any>>,
  activities: ReadonlyArray<RegisteredActivity>,
  test: (control: GateControl) => Effect.Effect<A, E, Engine>,
  store?: Layer.Layer<WorkflowStore, StoreError>
) => {
  const { control, layer } = gatedEngine(workflows, activities, store)
  return test(control).pipe(
    Effect.ensuring(Effect.zipRight(control.gate.open, control.reads.open)),
    Effect.provide(layer)
  )
}
