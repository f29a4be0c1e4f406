/**
 * Live streams of runs (`engine.subscribe`): who listens to which run, and the stream each
 * subscriber reads (what is stored, then what each commit adds, side-channel chunks, the end).
 *
 * Invariants:
 * 1. A listener hears only what is committed: history events after the commit that records
 *    them (task-commit.ts), chunks as activities emit them, the end once the close commits.
 * 2. A run's entry lives while someone listens or until its end is published, whichever is
 *    first: one that grows with what has finished is a leak (`retained().streamedRuns`).
 */
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import * as Stream from "effect/Stream"
import { isTerminalEvent, terminalStatus } from "../../core"
import type { StreamItem } from "../engine-api"
import type { StoreError } from "../errors"
import type { RunRow, WorkflowStore } from "../store"
import { OPEN } from "./run-state"

export interface RunStreams {
  /** Invariant 1: tells the run's listeners. */
  readonly publish: (runId: string, item: StreamItem) => void
  /** Whether anyone listens to the run (so a commit publishes its events only then). */
  readonly watched: (runId: string) => boolean
  /** Invariant 2: the run ended: its listeners hear so, and its entry goes. */
  readonly end: (runId: string, item: StreamItem) => void
  /** What is stored after `afterSeq`, then what is committed, until the end. */
  readonly subscribe: (row: RunRow, afterSeq: number | undefined) => Stream.Stream<StreamItem, StoreError>
  readonly size: () => number
}

export const makeRunStreams = (store: WorkflowStore["Type"]): RunStreams => {
  const listeners = new Map<string, Set<(item: StreamItem) => void>>()

  const publish = (runId: string, item: StreamItem) => {
    const set = listeners.get(runId)
    if (set) for (const listener of set) listener(item)
  }

  const subscribe = (row: RunRow, afterSeq: number | undefined) =>
    Stream.unwrapScoped(
      Effect.gen(function* () {
        const queue = yield* Queue.unbounded<StreamItem>()
        const listener = (item: StreamItem) => Queue.unsafeOffer(queue, item)
        let set = listeners.get(row.runId)
        if (!set) listeners.set(row.runId, (set = new Set()))
        set.add(listener)
        // The last to leave takes the run's entry with it: a finished run's is never
        // deleted by its close (issue 22 item 11: kept for ever once anyone streamed it).
        yield* Effect.addFinalizer(() =>
          Effect.sync(() => {
            const watching = listeners.get(row.runId)
            if (watching?.delete(listener) && watching.size === 0) listeners.delete(row.runId)
          })
        )
        const past = yield* store.events(row.runId, afterSeq ?? 0)
        // Read in seq order: the last is the newest.
        let lastSeq = past.at(-1)?.seq ?? afterSeq ?? 0
        // Closed only by what is committed: the row in memory runs ahead of its commit.
        const terminal = past.find(isTerminalEvent)
        const head = Stream.fromIterable(past.map((event): StreamItem => ({ _tag: "history", event })))
        // Closed: its end is said even to a reader that already has every event.
        const closedAs = terminal
          ? terminalStatus(terminal.type)
          : OPEN.has(row.status)
            ? undefined
            : row.status
        if (closedAs !== undefined) {
          return Stream.concat(head, Stream.make<[StreamItem]>({ _tag: "end", status: closedAs }))
        }
        const live = Stream.fromQueue(queue).pipe(
          Stream.filter((item) => item._tag !== "history" || item.event.seq > lastSeq),
          Stream.tap((item) =>
            Effect.sync(() => (item._tag === "history" ? (lastSeq = item.event.seq) : undefined))
          ),
          Stream.takeUntil((item) => item._tag === "end")
        )
        return Stream.concat(head, live)
      })
    )

  return {
    publish,
    watched: (runId) => listeners.has(runId),
    end(runId, item) {
      publish(runId, item)
      listeners.delete(runId)
    },
    subscribe,
    size: () => listeners.size
  }
}
