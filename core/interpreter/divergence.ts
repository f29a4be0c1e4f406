/**
 * The two sides of a divergence, summarised for `NonDeterminismError` (interpreter invariant 3):
 * what the history recorded and what the code yields now.
 */
import type { Descriptor } from "../descriptor"
import { NonDeterminismError, type DivergenceSide } from "../errors"
import type { HistoryEvent } from "../history"
import type { TraceStep } from "./trace"

/** A recorded event as one side of a divergence: its kind, seq and the name it carries. */
export const describeEvent = (e: HistoryEvent): DivergenceSide => {
  const name =
    e.type === "ActivityScheduled" || e.type === "SignalReceived"
      ? e.name
      : e.type === "ChildWorkflowStarted"
        ? e.workflowType
        : e.type === "SideEffectRecorded"
          ? e.kind
          : e.type === "MarkerRecorded"
            ? e.patchId
            : undefined
  return { kind: e.type, seq: e.seq, ...(name === undefined ? {} : { name }) }
}

/** A yield as the other side: its descriptor's kind and name, and where it is when the trace knows. */
export const describeYield = (d: Descriptor, step: TraceStep | undefined): DivergenceSide => {
  const name =
    d._tag === "Activity" || d._tag === "WaitForSignal" || d._tag === "OnQuery"
      ? d.name
      : d._tag === "StartChild"
        ? d.workflowType
        : d._tag === "SideEffect"
          ? d.kind
          : d._tag === "Patched"
            ? d.patchId
            : undefined
  const location = step?.location
  return {
    kind: d._tag,
    ...(name === undefined ? {} : { name }),
    ...(location ? { location: `${location.file}:${location.line}:${location.column}` } : {})
  }
}

/** The side of a code that yields nothing where the history has something. */
export const NOTHING: DivergenceSide = Object.freeze({ kind: "nothing" })

export const divergence = (cmd: number, reason: string, expected: DivergenceSide, actual: DivergenceSide) =>
  new NonDeterminismError({ cmd, expected, actual, reason })

/** A value as an error message names it. */
export const describeValue = (value: unknown): string => {
  if (value === null) return "null"
  if (typeof value === "object") return `an object (${Object.prototype.toString.call(value)})`
  return `a ${typeof value}`
}
