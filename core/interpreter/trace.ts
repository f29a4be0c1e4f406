/**
 * The trace: one step per yield, with what the history and the code made of it. The debugger
 * shows it beside the source, and `replay` hands it out; the runtime turns it off.
 */
import { describeDescriptor, type Descriptor } from "../descriptor"
import { toErrorInfo, type ErrorInfo } from "../errors"
import { parseLocation, type SourceLocation } from "../source-location"
import type { Resume } from "./resume"

export type Outcome =
  { readonly _tag: "value"; readonly value: unknown } | { readonly _tag: "error"; readonly error: ErrorInfo }

/** One yield of the workflow, as the debugger and `replay` show it. */
export interface TraceStep {
  /** The command id the yield took; 0 when it gave no command (interpreter invariant 1). */
  readonly cmd: number
  /** Which fiber yielded: 0 is the workflow body, others are branches of all/race. */
  readonly fiber: number
  readonly descriptor: Record<string, unknown>
  /** The seq of the event that was applied when the code reached this yield. */
  readonly atSeq: number
  location?: SourceLocation
  scheduledSeq?: number
  completedSeq?: number
  outcome?: Outcome
  attempts?: Array<{ readonly seq: number; readonly attempt: number; readonly error: ErrorInfo }>
}

export class Trace {
  readonly steps: Array<TraceStep> = []
  /** Steps by cmd, for the events that name one. */
  private readonly byCmd: Array<TraceStep | undefined> = []

  constructor(readonly enabled: boolean) {}

  /**
   * The step of a yield just taken, or undefined when tracing is off. A fiber that is a bare
   * descriptor given as a branch has no frame of its own: its location is the group's.
   */
  open(
    cmd: number,
    fiber: { readonly id: number; readonly location: SourceLocation | undefined },
    d: Descriptor,
    stack: string | undefined,
    atSeq: number
  ): TraceStep | undefined {
    if (!this.enabled) return undefined
    const step: TraceStep = { cmd, fiber: fiber.id, descriptor: describeDescriptor(d), atSeq }
    if (fiber.location) step.location = fiber.location
    else if (stack) {
      const location = parseLocation(stack)
      if (location) step.location = location
    }
    this.steps.push(step)
    if (cmd > 0) this.byCmd[cmd] = step
    return step
  }

  at(cmd: number): TraceStep | undefined {
    return this.byCmd[cmd]
  }
}

/** Records the first outcome a step's yield resolved to, and passes it on. */
export const settle = (step: TraceStep | undefined, resume: Resume): Resume => {
  if (step && step.outcome === undefined) {
    step.outcome = resume.ok
      ? { _tag: "value", value: resume.value }
      : { _tag: "error", error: toErrorInfo(resume.error) }
  }
  return resume
}

/** A yield that resolved at once with `value`. */
export const resolved = (step: TraceStep | undefined, value: unknown): Resume =>
  settle(step, { ok: true, value })
