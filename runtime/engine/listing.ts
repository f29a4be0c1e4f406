/**
 * The engine's cheap reads: the listing and its count, a run's summary and history, and its
 * live stream. None replays a run: they read rows and events as committed.
 */
import * as Effect from "effect/Effect"
import { HISTORY_FORMAT, type HistoryFile } from "../../core"
import type { Engine, ListFilter } from "../engine-api"
import type { WorkflowStore } from "../store"
import { fromStoredText } from "../stored-value"
import type { Readers } from "./readers"
import { decodeCursor, encodeCursor, storedDivergence, summary } from "./run-views"
import type { RunStreams } from "./streams"

/** Where a newest-first listing goes on from: the runs strictly older than this one. */
interface ListPosition {
  readonly createdAt: number
  readonly runId: string
}

/** The earlier of two list positions (the one that leaves fewer runs). */
const earliest = (a: ListPosition | undefined, b: ListPosition | undefined) =>
  a === undefined
    ? b
    : b === undefined
      ? a
      : a.createdAt < b.createdAt || (a.createdAt === b.createdAt && a.runId < b.runId)
        ? a
        : b

export const makeListing = (deps: {
  readonly store: WorkflowStore["Type"]
  readonly readers: Pick<Readers, "findRow">
  readonly streams: RunStreams
}): Pick<Engine["Type"], "list" | "count" | "summary" | "history" | "subscribe"> => {
  const { store, readers, streams } = deps

  /**
   * Up to `limit` current runs matching `filter`, newest first, from `before` on: the time
   * range bounds the store's own newest-first order (the upper bound is where the reading
   * starts; the lower bound is where it stops).
   */
  const listPage = (filter: ListFilter, limit: number, before: ListPosition | undefined) =>
    Effect.map(
      store.listRuns({
        idPrefix: filter.idPrefix,
        status: filter.status,
        type: filter.type,
        closedAfter: filter.closedAfter,
        closedBefore: filter.closedBefore,
        limit: limit + 1,
        before: earliest(
          before,
          filter.startedBefore === undefined ? undefined : { createdAt: filter.startedBefore, runId: "" }
        )
      }),
      (rows) => {
        const inRange =
          filter.startedAfter === undefined ? rows : rows.filter((r) => r.createdAt >= filter.startedAfter!)
        const page = inRange.slice(0, limit)
        return { page, more: inRange.length > limit }
      }
    )

  return {
    list: (filter) =>
      Effect.gen(function* () {
        const limit = Math.max(1, Math.min(filter.limit ?? 50, 1000))
        const { page, more } = yield* listPage(filter, limit, decodeCursor(filter.cursor))
        return {
          workflows: page.map(summary),
          nextCursor: more ? encodeCursor(page[page.length - 1]!) : undefined
        }
      }),

    count: (filter) =>
      Effect.gen(function* () {
        let total = 0
        let before: ListPosition | undefined
        for (;;) {
          const { page, more } = yield* listPage(filter, 1000, before)
          total += page.length
          if (!more) return total
          const last = page[page.length - 1]!
          before = { createdAt: last.createdAt, runId: last.runId }
        }
      }),

    summary: (id) =>
      Effect.map(readers.findRow(id), (row) => ({ ...summary(row), divergence: storedDivergence(row) })),

    history: (id) =>
      Effect.gen(function* () {
        const row = yield* readers.findRow(id)
        const events = yield* store.events(row.runId)
        return {
          format: HISTORY_FORMAT,
          workflow: {
            id: row.workflowId,
            type: row.type,
            runId: row.runId,
            status: row.status,
            input: fromStoredText(row.inputJson),
            ...(row.resultJson === undefined ? {} : { result: fromStoredText(row.resultJson) }),
            ...(row.error === undefined ? {} : { error: row.error }),
            ...(row.divergenceJson === undefined ? {} : { divergence: storedDivergence(row) }),
            startedAt: row.createdAt,
            ...(row.closedAt === undefined ? {} : { closedAt: row.closedAt })
          },
          events
        } satisfies HistoryFile
      }),

    subscribe: (id, options) =>
      Effect.map(readers.findRow(id), (row) => streams.subscribe(row, options?.afterSeq))
  }
}
