/**
 * What an activity implementation receives and may return.
 *
 * Implementations are registered with the engine, keyed by the activity definition's name.
 * They may return a value, a Promise or an Effect; a thrown error (or failed Effect) fails
 * the attempt, which is retried by the definition's policy.
 */
import * as Data from "effect/Data"
import type * as Effect from "effect/Effect"
import type { ActivityDefinition } from "../../core"

export interface ActivityContext {
  readonly workflowId: string
  readonly runId: string
  readonly cmd: number
  readonly activityName: string
  /** 1 for the first attempt. */
  readonly attempt: number
  /**
   * `workflowId/cmd`: the same for every attempt and after restarts; use it for external side
   * effects. Cmds start again at 1 in the next run of the same id (continueAsNew, or a new
   * start once a run has closed): where a key must outlive a run, pair it with `runId`.
   */
  readonly idempotencyKey: string
  /** Aborted when the activity is cancelled (race lost, workflow cancelled) or its attempt timed out. */
  readonly signal: AbortSignal
  /** The details of the last heartbeat of an earlier attempt, to resume from. */
  readonly lastHeartbeat: unknown
  /** Reports progress; an attempt silent for longer than its heartbeat timeout is failed and retried. */
  heartbeat(details?: unknown): void
  /** Streams a chunk (an LLM token) to subscribers of the workflow; chunks are not history. */
  emit(chunk: unknown): void
}

export type ActivityImplementation<I, O> = (
  input: I,
  context: ActivityContext
) => O | Promise<O> | Effect.Effect<O, unknown, never>

export interface RegisteredActivity {
  readonly definition: ActivityDefinition<any, any>
  readonly run: ActivityImplementation<any, any>
}

/**
 * Pairs an activity definition with its implementation, for the engine's registry.
 *
 * @example implement(review, async (code, ctx) => llm.complete(prompt(code), { signal: ctx.signal }))
 */
export const implement = <I, O>(
  definition: ActivityDefinition<I, O>,
  run: ActivityImplementation<I, O>
): RegisteredActivity => ({ definition, run })

/**
 * An activity error that no retry can fix (a 400 from an API, a refused tool call): fails
 * the activity at once whatever its retry policy says. The executor knows it by its tag, and
 * records the failure with `nonRetryable: true` (its `details` kept as a JSON copy); a replay
 * reads that record and runs nothing.
 *
 * @example throw new NonRetryableError({ message: "read_file: notes.md does not exist" })
 */
export class NonRetryableError extends Data.TaggedError("NonRetryableError")<{
  readonly message: string
  readonly details?: unknown
}> {}
