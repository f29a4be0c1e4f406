/**
 * Snapshots: a compact copy of a run's history up to a seq, so rebuilding an evicted or
 * recovered instance reads the snapshot and the tail instead of every event.
 *
 * Compacting keeps exactly what replay needs: events keep their seq and time, attempt
 * failures are dropped, and inputs of activities and children (never read on replay) are
 * emptied. Replaying the compact history gives the same state as replaying the full one.
 * The activities still open are kept in full beside it: recovery dispatches them from the
 * history alone. A snapshot is checked against the schema and its seq before use; one that
 * fails (a version-1 one included, which lacks the open activities) is ignored and the full
 * history is replayed.
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { HistoryEvent } from "../core"
import { OpenActivities } from "./open-commands"

export interface Snapshot {
  readonly seq: number
  /** The compact history up to `seq`. */
  readonly events: ReadonlyArray<HistoryEvent>
  /** The open activities' events in full, as `OpenActivities.events` gives them. */
  readonly open: ReadonlyArray<HistoryEvent>
}

const SnapshotBody = Schema.parseJson(
  Schema.Struct({
    version: Schema.Literal(2),
    seq: Schema.Number,
    events: Schema.Array(HistoryEvent),
    open: Schema.Array(HistoryEvent)
  })
)
const decodeBody = Schema.decodeUnknownEither(SnapshotBody)

/** The compact form of one event, or undefined when replay does not need it. */
const compactEvent = (event: HistoryEvent): HistoryEvent | undefined => {
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

/** A run's next snapshot, kept up to date as its events are appended. */
export class SnapshotTrail {
  private readonly compact: Array<HistoryEvent>
  readonly open: OpenActivities

  constructor(from?: Snapshot) {
    this.compact = from ? [...from.events] : []
    this.open = new OpenActivities(from?.open)
  }

  add(event: HistoryEvent) {
    const compact = compactEvent(event)
    if (compact) this.compact.push(compact)
    this.open.track(event)
  }

  encode(seq: number): string {
    return JSON.stringify({ version: 2, seq, events: this.compact, open: this.open.events() })
  }
}

/** The snapshot taken at `seq`, or undefined if it cannot be trusted. */
export const decodeSnapshot = (seq: number, body: string): Snapshot | undefined => {
  const decoded = decodeBody(body)
  if (Either.isLeft(decoded)) return undefined
  const { events, open } = decoded.right
  if (decoded.right.seq !== seq || events.length === 0 || events[0]!.type !== "WorkflowStarted")
    return undefined
  if (events[events.length - 1]!.seq > seq || open.some((e) => e.seq > seq)) return undefined
  // Plain objects, as the store hands out: the decoded class instances would cost more to keep.
  const plain = (e: HistoryEvent) => ({ ...e }) as HistoryEvent
  return { seq, events: events.map(plain), open: open.map(plain) }
}
