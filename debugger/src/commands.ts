/**
 * A history read as commands rather than events: each command the workflow issued (an
 * activity, a timer, a child, a recorded side effect or marker) paired with what happened to
 * it (its failed attempts and their retry waits, its outcome, a cancel), and the signals
 * that arrived. The compact view and the timeline both draw from this.
 *
 * Nothing here replays: it is the events alone, so it works for any history, bundled type or not.
 */
import type { ErrorInfo, HistoryEvent } from "../../core"

export type CommandKind = "activity" | "timer" | "wait" | "child" | "side-effect" | "marker"

export interface Attempt {
  readonly attempt: number
  readonly seq: number
  readonly at: number
  readonly error: ErrorInfo
  /** When the next attempt was due: the wait between attempts. */
  readonly nextRetryAt: number
}

export interface CommandRow {
  readonly cmd: number
  readonly kind: CommandKind
  /** The activity's name, the child's type and id, the timer's duration, the side effect's kind. */
  readonly label: string
  readonly seq: number
  readonly at: number
  readonly attempts: ReadonlyArray<Attempt>
  /** How it ended, when the history says: the event, and whether it went well. */
  readonly outcome:
    { readonly seq: number; readonly at: number; readonly type: string; readonly ok: boolean } | undefined
  /** The workflow stopped waiting for it (a lost race, a cancellation). */
  readonly cancelSeq: number | undefined
  /** The child's workflow id (a child command only). */
  readonly childId: string | undefined
}

export interface SignalMark {
  readonly seq: number
  readonly at: number
  readonly name: string
}

export interface CommandView {
  readonly rows: ReadonlyArray<CommandRow>
  readonly signals: ReadonlyArray<SignalMark>
  readonly start: number
  /** The last event's time: where open commands' bars end. */
  readonly end: number
}

const describe = (e: HistoryEvent): { kind: CommandKind; label: string } | undefined => {
  switch (e.type) {
    case "ActivityScheduled":
      return { kind: "activity", label: e.name }
    case "TimerStarted":
      return e.purpose === "sleep"
        ? { kind: "timer", label: `sleep ${e.durationMs} ms` }
        : { kind: "wait", label: `signal wait, timeout ${e.durationMs} ms` }
    case "ChildWorkflowStarted":
      return { kind: "child", label: `${e.workflowType} ${e.workflowId}` }
    case "SideEffectRecorded":
      return { kind: "side-effect", label: e.kind }
    case "MarkerRecorded":
      return { kind: "marker", label: `patch ${e.patchId}` }
    default:
      return undefined
  }
}

const outcomes: Readonly<Record<string, boolean>> = {
  ActivityCompleted: true,
  ActivityFailed: false,
  TimerFired: true,
  ChildWorkflowCompleted: true,
  ChildWorkflowFailed: false
}

/** The commands of `events`, in the order they were issued, with their attempts and outcomes. */
export const commandView = (events: ReadonlyArray<HistoryEvent>): CommandView => {
  type Mutable = {
    -readonly [K in keyof CommandRow]: K extends "attempts" ? Array<Attempt> : CommandRow[K]
  }
  const byCmd = new Map<number, Mutable>()
  const rows: Array<Mutable> = []
  const signals: Array<SignalMark> = []
  for (const e of events) {
    const issued = describe(e)
    if (issued && "cmd" in e) {
      const row: Mutable = {
        cmd: e.cmd,
        ...issued,
        seq: e.seq,
        at: e.at,
        attempts: [],
        // a side effect or marker is its own outcome: recorded as it was taken
        outcome:
          issued.kind === "side-effect" || issued.kind === "marker"
            ? { seq: e.seq, at: e.at, type: e.type, ok: true }
            : undefined,
        cancelSeq: undefined,
        childId: e.type === "ChildWorkflowStarted" ? e.workflowId : undefined
      }
      byCmd.set(e.cmd, row)
      rows.push(row)
      continue
    }
    if (e.type === "SignalReceived") {
      signals.push({ seq: e.seq, at: e.at, name: e.name })
      continue
    }
    if (!("cmd" in e)) continue
    const row = byCmd.get(e.cmd)
    if (!row) continue
    if (e.type === "ActivityAttemptFailed")
      row.attempts.push({
        attempt: e.attempt,
        seq: e.seq,
        at: e.at,
        error: e.error,
        nextRetryAt: e.nextRetryAt
      })
    else if (e.type in outcomes) row.outcome = { seq: e.seq, at: e.at, type: e.type, ok: outcomes[e.type]! }
    else if (
      e.type === "TimerCancelled" ||
      e.type === "ActivityCancelRequested" ||
      e.type === "ChildWorkflowCancelRequested"
    )
      row.cancelSeq = e.seq
  }
  const start = events[0]?.at ?? 0
  return { rows, signals, start, end: events.at(-1)?.at ?? start }
}
