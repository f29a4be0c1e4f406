/**
 * Snapshots: a compact copy of a run's history up to a seq, so rebuilding an evicted or
 * recovered instance reads the snapshot and the tail instead of every event.
 *
 * Compacting keeps exactly what replay needs: events keep their seq and time, attempt
 * failures are dropped, and inputs of activities and children (never read on replay) are
 * emptied. Replaying the compact history gives the same state as replaying the full one.
 * A snapshot is checked against the schema and its seq before use; one that fails is
 * ignored and the full history is replayed.
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { HistoryEvent } from "../core"

const SnapshotBody = Schema.parseJson(
  Schema.Struct({ version: Schema.Literal(1), seq: Schema.Number, events: Schema.Array(HistoryEvent) })
)
const decodeBody = Schema.decodeUnknownEither(SnapshotBody)

/** The compact form of one event, or undefined when replay does not need it. */
export const compactEvent = (event: HistoryEvent): HistoryEvent | undefined => {
  switch (event.type) {
    case "ActivityAttemptFailed":
      return undefined
    case "ActivityScheduled":
      return { ...event, input: null, options: {} }
    case "ChildWorkflowStarted":
      return { ...event, input: null }
    default:
      return event
  }
}

export const encodeSnapshot = (seq: number, compact: ReadonlyArray<HistoryEvent>): string =>
  JSON.stringify({ version: 1, seq, events: compact })

/** The compact events of a snapshot taken at `seq`, or undefined if it cannot be trusted. */
export const decodeSnapshot = (seq: number, body: string): ReadonlyArray<HistoryEvent> | undefined => {
  const decoded = decodeBody(body)
  if (Either.isLeft(decoded)) return undefined
  const { events } = decoded.right
  if (decoded.right.seq !== seq || events.length === 0 || events[0]!.type !== "WorkflowStarted")
    return undefined
  if (events[events.length - 1]!.seq > seq) return undefined
  // Plain objects, as the store hands out: the decoded class instances would cost more to keep.
  return events.map((e) => ({ ...e }) as HistoryEvent)
}
