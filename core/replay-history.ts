/**
 * Replaying exported histories against current code: the check a user keeps in their own
 * test suite (and `cli replay` runs in CI) before deploying changed workflow code.
 */
import * as Either from "effect/Either"
import type { WorkflowDefinition } from "./definitions"
import type { ErrorInfo, NonDeterminismError } from "./errors"
import { decodeHistoryFile, type HistoryFile, type HistoryFileError } from "./history-file"
import { replay, type WorkflowStatus } from "./interpreter"

export type ReplayReport =
  | {
      readonly _tag: "Matched"
      readonly status: WorkflowStatus
      /** In its stored (encoded) form: compare it with the file's `workflow.result`. */
      readonly result: unknown
      readonly error: ErrorInfo | undefined
    }
  | { readonly _tag: "Diverged"; readonly divergence: NonDeterminismError }
  | { readonly _tag: "BadFile"; readonly error: HistoryFileError }
  | { readonly _tag: "WrongWorkflow"; readonly message: string }

/**
 * Replays an exported history (the decoded JSON of a `temporal-lite/history@1` file) against
 * a workflow definition, with source locations, and reports the first divergence or the
 * outcome the code reaches.
 *
 * @example
 * const report = replayHistory(codeReview, JSON.parse(readFileSync("fixtures/review-1.json", "utf8")))
 * expect(report._tag).toBe("Matched")
 */
export const replayHistory = (
  definition: WorkflowDefinition<any, any>,
  history: unknown | HistoryFile
): ReplayReport => {
  const decoded = decodeHistoryFile(history)
  if (Either.isLeft(decoded)) return { _tag: "BadFile", error: decoded.left }
  const file = decoded.right
  if (file.workflow.type !== definition.name) {
    return {
      _tag: "WrongWorkflow",
      message: `the history is of workflow type "${file.workflow.type}", not "${definition.name}"`
    }
  }
  const outcome = replay(definition, file.events, { locations: true })
  if (outcome.divergence) return { _tag: "Diverged", divergence: outcome.divergence }
  return { _tag: "Matched", status: outcome.status, result: outcome.result, error: outcome.error }
}
