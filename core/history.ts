/**
 * History events: the append-only record of one workflow run.
 *
 * Invariants:
 * 1. `seq` numbers a run's events 1, 2, 3, … with no gaps; `at` is epoch milliseconds.
 * 2. A scheduling event (a command the workflow gave) carries the `cmd` of the yield that
 *    produced it; a completion names the `cmd` it completes.
 * 3. Events are JSON: inputs, results and payloads are their values' stored (encoded) forms
 *    (core/codec.ts); a value that is `undefined` is a field left out.
 */
import * as Schema from "effect/Schema"
import { ErrorInfo } from "./errors"
import type { RunStatus } from "./run-model"

const Seq = Schema.Int.pipe(Schema.positive())
const Cmd = Schema.Int.pipe(Schema.positive())
const Json = Schema.Unknown

const base = { seq: Seq, at: Schema.Number }

export const RetryPolicy = Schema.Struct({
  initialIntervalMs: Schema.optional(Schema.Number),
  backoffCoefficient: Schema.optional(Schema.Number),
  maximumIntervalMs: Schema.optional(Schema.Number),
  maximumAttempts: Schema.optional(Schema.Number),
  nonRetryableErrors: Schema.optional(Schema.Array(Schema.String))
})
export type RetryPolicy = typeof RetryPolicy.Type

export const ActivityOptions = Schema.Struct({
  retry: Schema.optional(RetryPolicy),
  timeoutMs: Schema.optional(Schema.Number),
  heartbeatTimeoutMs: Schema.optional(Schema.Number)
})
export type ActivityOptions = typeof ActivityOptions.Type

export const ParentRef = Schema.Struct({ workflowId: Schema.String, runId: Schema.String, cmd: Cmd })
export type ParentRef = typeof ParentRef.Type

export class WorkflowStarted extends Schema.Class<WorkflowStarted>("WorkflowStarted")({
  type: Schema.tag("WorkflowStarted"),
  ...base,
  workflowType: Schema.String,
  workflowId: Schema.String,
  runId: Schema.String,
  input: Json,
  randomSeed: Schema.String,
  parent: Schema.optional(ParentRef),
  continuedFromRunId: Schema.optional(Schema.String),
  /** The engine flags the run was started under (see {@link engineFlags}); absent before 0.2. */
  flags: Schema.optional(Schema.Array(Schema.String))
}) {}

/**
 * `cmd` numbers only the yields that give a command (interpreter invariant 1). A history
 * started without it was numbered with every yield taking the next cmd, and replays so.
 */
export const COMMAND_IDS_FLAG = "command-ids"

/**
 * The engine flags a new run is started under, which the engine writes in its
 * `WorkflowStarted.flags`: rules of the interpreter that changed how histories are read, so
 * every replay of a run applies the rules it was recorded with (as Temporal's SDK records its
 * SdkFlags in history). A replay of a history naming a flag this interpreter does not know
 * leaves the run stuck rather than read it by other rules.
 *
 * @example const started = { type: "WorkflowStarted", flags: engineFlags, ... }
 */
export const engineFlags: ReadonlyArray<string> = [COMMAND_IDS_FLAG]

export class ActivityScheduled extends Schema.Class<ActivityScheduled>("ActivityScheduled")({
  type: Schema.tag("ActivityScheduled"),
  ...base,
  cmd: Cmd,
  name: Schema.String,
  input: Json,
  options: ActivityOptions
}) {}

export class ActivityAttemptFailed extends Schema.Class<ActivityAttemptFailed>("ActivityAttemptFailed")({
  type: Schema.tag("ActivityAttemptFailed"),
  ...base,
  cmd: Cmd,
  attempt: Schema.Int,
  error: ErrorInfo,
  nextRetryAt: Schema.Number,
  /** The attempt's last heartbeat details: what the next attempt is handed. */
  heartbeat: Schema.optional(Json)
}) {}

export class ActivityCompleted extends Schema.Class<ActivityCompleted>("ActivityCompleted")({
  type: Schema.tag("ActivityCompleted"),
  ...base,
  cmd: Cmd,
  attempt: Schema.Int,
  result: Json
}) {}

export class ActivityFailed extends Schema.Class<ActivityFailed>("ActivityFailed")({
  type: Schema.tag("ActivityFailed"),
  ...base,
  cmd: Cmd,
  attempt: Schema.Int,
  error: ErrorInfo
}) {}

/** The workflow stopped waiting for an activity (a race it lost, a cancellation): abort it. */
export class ActivityCancelRequested extends Schema.Class<ActivityCancelRequested>("ActivityCancelRequested")(
  {
    type: Schema.tag("ActivityCancelRequested"),
    ...base,
    cmd: Cmd
  }
) {}

export class TimerStarted extends Schema.Class<TimerStarted>("TimerStarted")({
  type: Schema.tag("TimerStarted"),
  ...base,
  cmd: Cmd,
  durationMs: Schema.Number,
  fireAt: Schema.Number,
  /** `sleep`, or the timeout of a `waitForSignal`. */
  purpose: Schema.Literal("sleep", "signal-timeout")
}) {}

export class TimerFired extends Schema.Class<TimerFired>("TimerFired")({
  type: Schema.tag("TimerFired"),
  ...base,
  cmd: Cmd
}) {}

export class TimerCancelled extends Schema.Class<TimerCancelled>("TimerCancelled")({
  type: Schema.tag("TimerCancelled"),
  ...base,
  cmd: Cmd
}) {}

export class SignalReceived extends Schema.Class<SignalReceived>("SignalReceived")({
  type: Schema.tag("SignalReceived"),
  ...base,
  name: Schema.String,
  payload: Json
}) {}

export class SideEffectRecorded extends Schema.Class<SideEffectRecorded>("SideEffectRecorded")({
  type: Schema.tag("SideEffectRecorded"),
  ...base,
  cmd: Cmd,
  kind: Schema.Literal("now", "random", "uuid"),
  value: Json
}) {}

export class MarkerRecorded extends Schema.Class<MarkerRecorded>("MarkerRecorded")({
  type: Schema.tag("MarkerRecorded"),
  ...base,
  cmd: Cmd,
  patchId: Schema.String
}) {}

export class ChildWorkflowStarted extends Schema.Class<ChildWorkflowStarted>("ChildWorkflowStarted")({
  type: Schema.tag("ChildWorkflowStarted"),
  ...base,
  cmd: Cmd,
  workflowType: Schema.String,
  workflowId: Schema.String,
  input: Json
}) {}

export class ChildWorkflowCompleted extends Schema.Class<ChildWorkflowCompleted>("ChildWorkflowCompleted")({
  type: Schema.tag("ChildWorkflowCompleted"),
  ...base,
  cmd: Cmd,
  result: Json
}) {}

export class ChildWorkflowFailed extends Schema.Class<ChildWorkflowFailed>("ChildWorkflowFailed")({
  type: Schema.tag("ChildWorkflowFailed"),
  ...base,
  cmd: Cmd,
  error: ErrorInfo
}) {}

/** The parent stopped waiting for a child (a race it lost, a cancellation): cancel the child. */
export class ChildWorkflowCancelRequested extends Schema.Class<ChildWorkflowCancelRequested>(
  "ChildWorkflowCancelRequested"
)({
  type: Schema.tag("ChildWorkflowCancelRequested"),
  ...base,
  cmd: Cmd
}) {}

export class CancelRequested extends Schema.Class<CancelRequested>("CancelRequested")({
  type: Schema.tag("CancelRequested"),
  ...base,
  reason: Schema.String
}) {}

export class WorkflowCompleted extends Schema.Class<WorkflowCompleted>("WorkflowCompleted")({
  type: Schema.tag("WorkflowCompleted"),
  ...base,
  result: Json
}) {}

export class WorkflowFailed extends Schema.Class<WorkflowFailed>("WorkflowFailed")({
  type: Schema.tag("WorkflowFailed"),
  ...base,
  error: ErrorInfo
}) {}

export class WorkflowCancelled extends Schema.Class<WorkflowCancelled>("WorkflowCancelled")({
  type: Schema.tag("WorkflowCancelled"),
  ...base,
  reason: Schema.String
}) {}

export class WorkflowContinuedAsNew extends Schema.Class<WorkflowContinuedAsNew>("WorkflowContinuedAsNew")({
  type: Schema.tag("WorkflowContinuedAsNew"),
  ...base,
  input: Json,
  /**
   * The run that takes over the workflow id, added by the engine when it records the event
   * (so a reader of the closed run can follow the chain); absent in histories recorded before.
   */
  nextRunId: Schema.optional(Schema.String)
}) {}

export const HistoryEvent = Schema.Union(
  WorkflowStarted,
  ActivityScheduled,
  ActivityAttemptFailed,
  ActivityCompleted,
  ActivityFailed,
  ActivityCancelRequested,
  TimerStarted,
  TimerFired,
  TimerCancelled,
  SignalReceived,
  SideEffectRecorded,
  MarkerRecorded,
  ChildWorkflowStarted,
  ChildWorkflowCompleted,
  ChildWorkflowFailed,
  ChildWorkflowCancelRequested,
  CancelRequested,
  WorkflowCompleted,
  WorkflowFailed,
  WorkflowCancelled,
  WorkflowContinuedAsNew
)

/**
 * A history event as the interpreter and runtime read it: the fields of one of the classes
 * above. Plain objects of this shape (rows read back from our own store) are accepted
 * wherever an event is, so the hot path need not construct class instances.
 */
export type HistoryEvent = typeof HistoryEvent.Type

export type EventType = HistoryEvent["type"]
export type EventOf<T extends EventType> = Extract<HistoryEvent, { readonly type: T }>

/**
 * Who writes each kind of event, and what it means for a run: the one table every part
 * classifies events by (the interpreter's look-ahead, the engine's closing of runs, the
 * debugger). It is a mapped type over the event union: a new event kind does not compile
 * until it has a row here, and the command sets and terminal statuses below derive from it.
 *
 * - `schedule`: a command the workflow code gave, recorded at the `cmd` of its yield.
 * - `cancel`: a command withdrawing an earlier one, naming its `cmd`.
 * - `end`: the command that closes the run, with the status it closes it in.
 * - `outside`: what arrives from outside the code: the start, completions, signals, cancel requests.
 */
export const eventKinds = {
  WorkflowStarted: { by: "outside" },
  ActivityScheduled: { by: "code", role: "schedule" },
  ActivityAttemptFailed: { by: "outside" },
  ActivityCompleted: { by: "outside" },
  ActivityFailed: { by: "outside" },
  ActivityCancelRequested: { by: "code", role: "cancel" },
  TimerStarted: { by: "code", role: "schedule" },
  TimerFired: { by: "outside" },
  TimerCancelled: { by: "code", role: "cancel" },
  SignalReceived: { by: "outside" },
  SideEffectRecorded: { by: "code", role: "schedule" },
  MarkerRecorded: { by: "code", role: "schedule" },
  ChildWorkflowStarted: { by: "code", role: "schedule" },
  ChildWorkflowCompleted: { by: "outside" },
  ChildWorkflowFailed: { by: "outside" },
  ChildWorkflowCancelRequested: { by: "code", role: "cancel" },
  CancelRequested: { by: "outside" },
  WorkflowCompleted: { by: "code", role: "end", status: "completed" },
  WorkflowFailed: { by: "code", role: "end", status: "failed" },
  WorkflowCancelled: { by: "code", role: "end", status: "cancelled" },
  WorkflowContinuedAsNew: { by: "code", role: "end", status: "continued-as-new" }
} as const satisfies { readonly [T in EventType]: EventKind }

/** A row of {@link eventKinds}. */
export type EventKind =
  | { readonly by: "outside" }
  | { readonly by: "code"; readonly role: "schedule" | "cancel" }
  | { readonly by: "code"; readonly role: "end"; readonly status: RunStatus }

/** The event types whose row in {@link eventKinds} fits `Row`. */
type TypesWhere<Row> = { [T in EventType]: (typeof eventKinds)[T] extends Row ? T : never }[EventType]
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never

/** Events the code gives: scheduling, cancel and terminal commands. */
export type CommandType = TypesWhere<{ readonly by: "code" }>
/** Events that record a command at the `cmd` of the yield that gave it (history invariant 2). */
export type SchedulingType = TypesWhere<{ readonly role: "schedule" }>
/** Events that withdraw an earlier command, naming its `cmd`. */
export type CancelType = TypesWhere<{ readonly role: "cancel" }>
/** Events that close a run. */
export type TerminalType = TypesWhere<{ readonly role: "end" }>
/** Events that arrive from outside the code. */
export type IncomingType = TypesWhere<{ readonly by: "outside" }>

/** An event before the store numbers and timestamps it: what the interpreter emits. */
export type Command = DistributiveOmit<EventOf<CommandType>, "seq" | "at">
/** An event that arrives from outside the workflow code: what the runtime feeds in. */
export type Incoming = DistributiveOmit<EventOf<IncomingType>, "seq" | "at">

/**
 * The row of {@link eventKinds} for an event's type: a property read, not a map lookup, since
 * this runs once per event when a history is read.
 */
export const kindOf = (event: HistoryEvent): EventKind => eventKinds[event.type]

const typesWhere = (keep: (kind: EventKind) => boolean): ReadonlySet<string> =>
  new Set(Object.entries(eventKinds).flatMap(([type, kind]) => (keep(kind) ? [type] : [])))

const commandTypes = typesWhere((k) => k.by === "code")
const schedulingTypes = typesWhere((k) => k.by === "code" && k.role === "schedule")
const cancelTypes = typesWhere((k) => k.by === "code" && k.role === "cancel")

/** True for events the workflow code produced (commands), false for what arrived from outside. */
export const isCommandEvent = (event: { readonly type: string }): event is EventOf<CommandType> =>
  commandTypes.has(event.type)

/** True for events that record a command at its yield's `cmd` (not cancels, not the terminal one). */
export const isSchedulingEvent = (event: { readonly type: string }): event is EventOf<SchedulingType> =>
  schedulingTypes.has(event.type)

/** True for events that withdraw an earlier command. */
export const isCancelEvent = (event: { readonly type: string }): event is EventOf<CancelType> =>
  cancelTypes.has(event.type)

/** The event types that close a run. */
export const terminalTypes: ReadonlySet<string> = typesWhere((k) => k.by === "code" && k.role === "end")

/** True for the event that closes a run. */
export const isTerminalEvent = (event: { readonly type: string }): event is EventOf<TerminalType> =>
  terminalTypes.has(event.type)

/**
 * The status a run closed by an event of this type is in.
 *
 * @example terminalStatus("WorkflowContinuedAsNew") // "continued-as-new"
 */
export const terminalStatus = (type: TerminalType): RunStatus => eventKinds[type].status
