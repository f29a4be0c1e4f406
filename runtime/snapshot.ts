/**
 * Snapshots: a compact copy of a run's history, kept in segments, so rebuilding an evicted or
 * recovered instance reads the segments and the tail instead of every event.
 *
 * Invariants:
 * 1. A snapshot costs what changed since the last one: each segment holds the events after
 *    the previous segment up to its seq, compacted, never what an earlier one holds.
 * 2. Compacting keeps exactly what replay needs: events keep their seq and time, attempt
 *    failures are dropped, and inputs of activities and children (never read on replay) are
 *    emptied; but an activity still open at the segment's seq keeps its ActivityScheduled and
 *    last ActivityAttemptFailed in full, since recovery dispatches it again from them. So the
 *    segments, read in order, give the same replay state and the same open activities as the
 *    full history.
 * 3. Segments are checked against the schema and chained by seq before use: the chain is the
 *    segments that follow on from seq 1 without a gap; one that fails (a version-1 body, a
 *    corrupt one) is skipped, and the history after the chain is read as the tail. A version-2
 *    body (one snapshot of the whole compact history, before 0.2) starts a chain.
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { HistoryEvent } from "../core"
import { OpenActivities } from "./open-commands"

export interface Snapshot {
  /** The seq the chain of segments reaches. */
  readonly seq: number
  /** The compact history up to `seq` (invariant 2). */
  readonly events: ReadonlyArray<HistoryEvent>
}

const Segment = Schema.Struct({
  version: Schema.Literal(3),
  from: Schema.Number,
  seq: Schema.Number,
  events: Schema.Array(HistoryEvent)
})
/** Before 0.2: the whole compact history up to `seq`, and the open activities beside it in full. */
const WholeSnapshot = Schema.Struct({
  version: Schema.Literal(2),
  seq: Schema.Number,
  events: Schema.Array(HistoryEvent),
  open: Schema.Array(HistoryEvent)
})
const decodeBody = Schema.decodeUnknownEither(Schema.parseJson(Schema.Union(Segment, WholeSnapshot)))

/**
 * The events of a run since its last segment, and what is open: the next segment (invariant
 * 1). A run's instance keeps one while snapshots are on.
 */
export class SnapshotTrail {
  readonly open: OpenActivities
  private pending: Array<HistoryEvent> = []
  /** The seq the next segment starts at. */
  private from: number

  constructor(from?: Snapshot) {
    this.open = new OpenActivities(from?.events)
    this.from = (from?.seq ?? 0) + 1
  }

  add(event: HistoryEvent) {
    this.pending.push(event)
    this.open.track(event)
  }

  /** The segment of the events added since the last one, up to `seq`; the trail starts the next. */
  encode(seq: number): string {
    // Invariant 2: the last failure of each activity still open is kept, whole.
    const lastFailure = new Map<number, number>()
    for (const e of this.pending)
      if (e.type === "ActivityAttemptFailed" && this.open.isOpen(e.cmd)) lastFailure.set(e.cmd, e.seq)
    const events: Array<HistoryEvent> = []
    for (const e of this.pending) {
      switch (e.type) {
        case "ActivityAttemptFailed":
          if (lastFailure.get(e.cmd) === e.seq) events.push(e)
          break
        case "ActivityScheduled":
          events.push(this.open.isOpen(e.cmd) ? e : { ...e, input: null, options: {} })
          break
        case "ChildWorkflowStarted":
          events.push({ ...e, input: null })
          break
        default:
          events.push(e)
      }
    }
    const body = JSON.stringify({ version: 3, from: this.from, seq, events })
    this.pending = []
    this.from = seq + 1
    return body
  }
}

/** A segment's events, or undefined if it cannot be trusted to cover `from`..`seq`. */
const segmentEvents = (seq: number, body: string, from: number): ReadonlyArray<HistoryEvent> | undefined => {
  const decoded = decodeBody(body)
  if (Either.isLeft(decoded)) return undefined
  const segment = decoded.right
  if (segment.seq !== seq || segment.events.some((e) => e.seq < from || e.seq > seq)) return undefined
  if (from === 1 && segment.events[0]?.type !== "WorkflowStarted") return undefined
  if (segment.version === 3) return segment.from === from ? segment.events : undefined
  // A whole snapshot of before 0.2 starts a chain: the open activities' events in full take
  // the place of their compacted ones, as a segment keeps them.
  if (from !== 1 || segment.open.some((e) => e.seq > seq)) return undefined
  const bySeq = new Map<number, HistoryEvent>()
  for (const e of [...segment.events, ...segment.open]) bySeq.set(e.seq, e)
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq)
}

/**
 * The chain of a run's stored segments (invariant 3), given in seq order: the compact history
 * they cover and the seq it reaches, or undefined when none starts at seq 1 (the whole history
 * is then replayed).
 */
export const decodeSnapshot = (
  segments: ReadonlyArray<{ readonly seq: number; readonly body: string }>
): Snapshot | undefined => {
  let seq = 0
  const events: Array<HistoryEvent> = []
  for (const segment of segments) {
    const chained = segment.seq > seq ? segmentEvents(segment.seq, segment.body, seq + 1) : undefined
    if (!chained) continue
    // Plain objects, as the store hands out: the decoded class instances would cost more to keep.
    for (const e of chained) events.push({ ...e } as HistoryEvent)
    seq = segment.seq
  }
  return seq === 0 ? undefined : { seq, events }
}
