/**
 * Failure injection at the store's boundary: any real `WorkflowStore` with its commits held
 * back, delayed or failed on cue, so tests can gather commits into one batch, fail one in the
 * middle of a run's life, or slow the disk, on SQLite and PostgreSQL alike.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { HistoryEvent, WorkflowDefinition } from "../../core"
import { EngineOnStore, SqliteStore, StoreError, WorkflowStore, type RegisteredActivity } from "../../runtime"
import { tempDb, wrappedStore } from "./engine-harness"

/** What a test moves to steer the gated store; every field can change while the engine runs. */
export interface GateControl {
  /** Commits wait while it is closed. A test that closes it opens it again on the way out. */
  readonly gate: Effect.Latch
  /** Fails the next commit (then clears). */
  failNext: boolean
  /** Delays every commit by this many ms (a slow disk). */
  delayMs: number
  /** Fails the next commit holding an event whose JSON contains this (then clears). */
  failEventMatching: string | undefined
  /** Fails every commit holding an event whose JSON contains this: a disk that stays bad. */
  failAllMatching: string | undefined
  /** Delays reading rows back (a run reloads its row after a failed commit): a slow disk. */
  readDelayMs: number
  /** The event types of each commit that went through, in order. */
  readonly committed: Array<ReadonlyArray<string>>
}

/**
 * The store `real` builds, gated by the returned control: commits wait for the gate, then for
 * `delayMs`; a commit failed on cue writes nothing and fails with an `Io` StoreError, as a
 * full disk would.
 */
export const gatedStore = (real: Layer.Layer<WorkflowStore, StoreError>) => {
  const control: GateControl = {
    gate: Effect.runSync(Effect.makeLatch(true)),
    failNext: false,
    delayMs: 0,
    failEventMatching: undefined,
    failAllMatching: undefined,
    readDelayMs: 0,
    committed: []
  }
  const layer = wrappedStore(real, (store) => ({
    runsByIds: (ids) =>
      Effect.zipRight(
        Effect.suspend(() => (control.readDelayMs > 0 ? Effect.sleep(control.readDelayMs) : Effect.void)),
        store.runsByIds(ids)
      ),
    commit: (writes) =>
      Effect.gen(function* () {
        yield* control.gate.await
        if (control.delayMs > 0) yield* Effect.sleep(control.delayMs)
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
