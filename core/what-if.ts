/**
 * What-if replay: one recorded outcome replaced by another value, and the workflow replayed
 * forward from there with the current code, to see what it would do next. The override is
 * data (`{ seq, value }` or `{ seq, error }`), so the same override that previews a change
 * in the debugger is what a fork from that point takes.
 *
 * Invariants:
 * 1. Only an outcome is replaced: an activity's or a child's result or failure, a signal's
 *    payload, or the timeout of a signal wait (the signal arrives instead). What the code
 *    itself recorded is never edited, so everything before the edit stays what it did.
 * 2. The new value crosses the same codec a recorded value does: a value the code's schema
 *    refuses is refused here, naming the field, and nothing is replayed.
 * 3. After the edit, a recorded event is kept only while the code still does what was
 *    recorded: the same command with the same input (a command with other input needs an
 *    outcome that was never recorded). The recorded end of the run is never kept: how the
 *    run ends is the code's.
 * 4. Whatever the code yields past the kept events is hypothetical: commands no history
 *    holds, returned as the interpreter would hand them to the runtime.
 */
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { formatPath, toJson } from "./codec"
import type { WorkflowDefinition } from "./definitions"
import { ErrorInfo } from "./errors"
import { HistoryEvent, terminalTypes, type Command } from "./history"
import { replay, type WorkflowStatus, type TraceStep } from "./interpreter"
import { JsonValue } from "./run-model"

const Seq = Schema.Int.pipe(Schema.positive()).annotations({
  description: "The seq of the recorded outcome to replace"
})

/**
 * Which recorded outcome to replace, and with what: a value (an activity's or child's
 * result, a signal's payload, or a signal for a wait that timed out) in its stored (JSON)
 * form, or an error (the activity or child fails with it instead).
 */
export const Override = Schema.Union(
  Schema.Struct({ seq: Seq, error: ErrorInfo }),
  Schema.Struct({ seq: Seq, value: JsonValue })
).annotations({ identifier: "Override", title: "Outcome override" })
export type Override = { readonly seq: number } & (
  | { readonly value: unknown; readonly error?: undefined }
  | { readonly error: ErrorInfo; readonly value?: undefined }
)

/** An override that cannot be applied: `message` says why, `path` names the field when one is at fault. */
export class OverrideRefused extends Schema.TaggedError<OverrideRefused>()("OverrideRefused", {
  seq: Schema.Number,
  message: Schema.String,
  path: Schema.Array(Schema.Union(Schema.String, Schema.Number))
}) {}

/** The outcome of a what-if replay (see the module invariants). */
export interface WhatIf {
  readonly override: Override
  /** The history the code ran against: the recorded events before the edit, the edited event, the kept ones after it. */
  readonly history: ReadonlyArray<HistoryEvent>
  /** The edited event, as it stands in `history`. */
  readonly edited: HistoryEvent
  /** The recorded events after the edit that the code still does as recorded (invariant 3). */
  readonly kept: number
  /** The first recorded event after the edit left out, and why; none when the history ended. */
  readonly stoppedAt: { readonly seq: number; readonly reason: string } | undefined
  /** Hypothetical: what the code yields past the kept events (invariant 4). */
  readonly commands: ReadonlyArray<Command>
  readonly status: WorkflowStatus
  /** The run's result (stored form) when the code completes it. */
  readonly result: unknown
  readonly error: ErrorInfo | undefined
  /** What the code waits on at the end: outcomes never recorded. */
  readonly pending: ReadonlyArray<{ readonly cmd: number; readonly kind: string; readonly name?: string }>
  readonly trace: ReadonlyArray<TraceStep>
}

const refused = (seq: number, message: string, path: ReadonlyArray<string | number> = []) =>
  Either.left(new OverrideRefused({ seq, message, path: [...path] }))

const validateEvent = Schema.decodeUnknownEither(HistoryEvent, { errors: "first" })

/** The recorded event with the override in it, checked against the history schema (invariant 1). */
const editedEvent = (
  definition: WorkflowDefinition<any, any>,
  before: ReadonlyArray<HistoryEvent>,
  event: HistoryEvent,
  override: Override
): Either.Either<HistoryEvent, OverrideRefused> => {
  const seq = event.seq
  const { seq: _seq, at, type } = event
  let edited: unknown
  switch (event.type) {
    case "ActivityCompleted":
    case "ActivityFailed": {
      const { cmd, attempt } = event
      edited =
        override.error === undefined
          ? { type: "ActivityCompleted", seq, at, cmd, attempt, result: override.value }
          : { type: "ActivityFailed", seq, at, cmd, attempt, error: override.error }
      break
    }
    case "ChildWorkflowCompleted":
    case "ChildWorkflowFailed": {
      const { cmd } = event
      edited =
        override.error === undefined
          ? { type: "ChildWorkflowCompleted", seq, at, cmd, result: override.value }
          : { type: "ChildWorkflowFailed", seq, at, cmd, error: override.error }
      break
    }
    case "SignalReceived":
      if (override.error !== undefined)
        return refused(seq, `event ${seq} is a signal: it carries a payload (value), not an error`, ["error"])
      edited = { ...event, payload: override.value }
      break
    case "TimerFired": {
      const waiting = replay(definition, before, { trace: false })
        .instance.pending()
        .find((p) => p.cmd === event.cmd)
      if (waiting?.kind !== "signal")
        return refused(
          seq,
          `event ${seq} fires a sleep's timer, which carries no value: edit an outcome the code reads (a result, a failure, a signal)`
        )
      if (override.error !== undefined)
        return refused(
          seq,
          `event ${seq} times out a wait for signal "${waiting.name}": its value is the signal's payload, not an error`,
          ["error"]
        )
      // The wait ends with the signal instead of the timeout.
      edited = { type: "SignalReceived", seq, at, name: waiting.name, payload: override.value }
      break
    }
    default:
      return refused(
        seq,
        `event ${seq} is ${type}: a what-if replaces a recorded outcome (an activity's or child's result or failure, a signal's payload, a signal wait's timeout)`
      )
  }
  if (override.error === undefined) {
    const json = toJson(override.value)
    if (Either.isLeft(json))
      return refused(
        seq,
        `the value at "${formatPath(["value", ...json.left.path])}" is not JSON: ${json.left.detail}`,
        ["value", ...json.left.path]
      )
  }
  const checked = validateEvent(edited)
  if (Either.isLeft(checked)) {
    const issue = ParseResult.ArrayFormatter.formatErrorSync(checked.left)[0]
    const path = (issue?.path ?? []).filter((p): p is string | number => typeof p !== "symbol")
    return refused(
      seq,
      `the edited ${String((edited as { type: string }).type)} does not fit at "${formatPath(path)}": ${issue?.message ?? "invalid"}`,
      path
    )
  }
  return Either.right(edited as HistoryEvent)
}

/**
 * The history a run forked at `override` starts from: the recorded events before the edited
 * outcome and the edited event (what a fork keeps; it runs live after it). Refused, naming
 * the field, when the event is no outcome, the value does not fit the history's schema or the
 * code's (the codec the code decodes it with), or the code no longer matches the history
 * before it. Pure: nothing runs but the workflow's code, replayed.
 *
 * @example
 * const history = overriddenHistory(codeReview, events, { seq: 9, value: { approved: false } })
 * // Right([...events before seq 9, SignalReceived { seq: 9, payload: { approved: false } }])
 */
export const overriddenHistory = (
  definition: WorkflowDefinition<any, any>,
  events: ReadonlyArray<HistoryEvent>,
  override: Override
): Either.Either<ReadonlyArray<HistoryEvent>, OverrideRefused> => {
  const index = events.findIndex((e) => e.seq === override.seq)
  if (index < 0)
    return refused(
      override.seq,
      `no event ${override.seq}: the history has events ${events[0]?.seq ?? 0}–${events.at(-1)?.seq ?? 0}`,
      ["seq"]
    )
  const before = events.slice(0, index)
  const prefix = replay(definition, before, { trace: false })
  if (prefix.divergence)
    return refused(
      override.seq,
      `the code no longer matches the history before event ${override.seq}: ${prefix.divergence.message}`
    )
  return Either.flatMap(editedEvent(definition, before, events[index]!, override), (edited) => {
    const history = [...before, edited]
    const divergence = replay(definition, history, { trace: false }).divergence
    // Invariant 2: the only way the edited event can diverge is the code refusing its value.
    if (divergence)
      return refused(override.seq, `the edited value does not fit the code: ${divergence.reason}`, [
        override.error === undefined ? "value" : "error"
      ])
    return Either.right(history)
  })
}

/** What a recorded command asked for, beyond its kind and name: differing, its outcome is not this command's. */
const requestOf = (e: HistoryEvent): unknown =>
  e.type === "ActivityScheduled" || e.type === "ChildWorkflowStarted"
    ? e.input
    : e.type === "TimerStarted"
      ? e.durationMs
      : undefined

const yieldedRequest = (step: TraceStep | undefined): unknown => {
  const d = step?.descriptor
  if (!d) return undefined
  if (d._tag === "Activity" || d._tag === "StartChild") return d["input"]
  if (d._tag === "Sleep") return d["durationMs"]
  if (d._tag === "WaitForSignal") return d["timeoutMs"]
  return undefined
}

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b)

/**
 * Why the code does not do what `kept` records after `base`, or undefined when it does
 * (invariant 3): it diverges, or it yields a recorded command with other input.
 */
const misfit = (
  definition: WorkflowDefinition<any, any>,
  base: ReadonlyArray<HistoryEvent>,
  kept: ReadonlyArray<HistoryEvent>
): string | undefined => {
  const outcome = replay(definition, [...base, ...kept], { trace: true })
  if (outcome.divergence) return outcome.divergence.message
  for (const event of kept) {
    if (
      event.type !== "ActivityScheduled" &&
      event.type !== "ChildWorkflowStarted" &&
      event.type !== "TimerStarted"
    )
      continue
    const step = outcome.trace.find((s) => s.cmd === event.cmd)
    if (step !== undefined && !sameJson(yieldedRequest(step), requestOf(event)))
      return `the code yields ${String(step.descriptor._tag)} at cmd ${event.cmd} with other input than event ${event.seq} recorded: its outcome was never recorded`
  }
  return undefined
}

/**
 * Replays `events` with one outcome replaced (see the module invariants): the recorded events
 * before it, the edited one, then the recorded events after it as long as the code still does
 * what they record; past them, the commands the code would issue (hypothetical), its status,
 * result or error, and what it waits on. Refused as `overriddenHistory` refuses. Pure.
 *
 * @example
 * const preview = whatIf(codeReview, events, { seq: 9, value: { approved: false } })
 * // Right({ commands: [{ type: "ActivityScheduled", name: "llm.chat", … }], stoppedAt: { seq: 11, … }, … })
 */
export const whatIf = (
  definition: WorkflowDefinition<any, any>,
  events: ReadonlyArray<HistoryEvent>,
  override: Override,
  options: { readonly locations?: boolean } = {}
): Either.Either<WhatIf, OverrideRefused> =>
  Either.map(overriddenHistory(definition, events, override), (base) => {
    const after = events.slice(base.length)
    const end = after.findIndex((e) => terminalTypes.has(e.type))
    const candidates = end < 0 ? after : after.slice(0, end)
    // Invariant 3 holds for a prefix of `candidates`: histories grow one event at a time, so
    // if k kept events fit, so do fewer. The longest that fits, by bisection.
    let fits = 0
    let misfits = candidates.length + 1
    while (misfits - fits > 1) {
      const k = (fits + misfits) >> 1
      if (misfit(definition, base, candidates.slice(0, k)) === undefined) fits = k
      else misfits = k
    }
    const history = [...base, ...candidates.slice(0, fits)]
    const next = after[fits]
    const stoppedAt =
      next === undefined
        ? undefined
        : {
            seq: next.seq,
            reason:
              fits < candidates.length
                ? misfit(definition, base, candidates.slice(0, fits + 1))!
                : "the recorded end of the run is left out: how it ends is the code's"
          }
    const outcome = replay(definition, history, { trace: true, locations: options.locations ?? false })
    return {
      override,
      history,
      edited: base[base.length - 1]!,
      kept: fits,
      stoppedAt,
      commands: outcome.commands,
      status: outcome.status,
      result: outcome.result,
      error: outcome.error,
      pending: outcome.instance.pending(),
      trace: outcome.trace
    }
  })
