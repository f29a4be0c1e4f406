/**
 * The interpreter (see instance.ts for its invariants): `WorkflowInstance`, fed events live or
 * rebuilt from a history, and `replay`, what the code makes of a whole history.
 */
import type { WorkflowDefinition } from "../definitions"
import type { ErrorInfo, NonDeterminismError } from "../errors"
import type { Command, HistoryEvent } from "../history"
import { WorkflowInstance, type InterpreterOptions, type WorkflowStatus } from "./instance"
import type { TraceStep } from "./trace"

export { WorkflowInstance, type InterpreterOptions, type WorkflowStatus } from "./instance"
export type { Outcome, TraceStep } from "./trace"
export type { PendingWait } from "./waits"

export interface ReplayResult {
  readonly status: WorkflowStatus
  /** In its stored (encoded) form, as the history records it. */
  readonly result: unknown
  readonly error: ErrorInfo | undefined
  readonly divergence: NonDeterminismError | undefined
  readonly commands: ReadonlyArray<Command>
  readonly trace: ReadonlyArray<TraceStep>
  readonly instance: WorkflowInstance
}

/**
 * Replays a history against a workflow definition: what the code does with it, the
 * commands it would give next, and the first divergence if the code no longer matches.
 *
 * @example
 * const outcome = replay(codeReview, history)
 * if (outcome.divergence) console.log(outcome.divergence.message)
 */
export const replay = (
  definition: WorkflowDefinition<any, any>,
  history: ReadonlyArray<HistoryEvent>,
  options: InterpreterOptions = {}
): ReplayResult => {
  const instance = WorkflowInstance.replay(definition, history, options)
  return {
    status: instance.status,
    result: instance.result,
    error: instance.error,
    divergence: instance.divergence,
    commands: instance.takeCommands(),
    trace: instance.trace,
    instance
  }
}
