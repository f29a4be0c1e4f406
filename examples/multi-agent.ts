/**
 * `multiAgent`: a planner splits a task, worker agents do the parts in parallel as child
 * workflows, and a last LLM call summarises what they did.
 *
 * plan (LLM) → one `agentTask` child per subtask, all at once (`allSettled`: a child that
 * fails after its retries loses none of its siblings' results) → summary (LLM).
 *
 * Each child has its own history, linked to this one (ids `<this id>-task-1`, …, with no
 * `/`, so they need no escaping in a URL). Cancelling this workflow cancels the children
 * still running.
 */
import * as Schema from "effect/Schema"
import {
  allSettled,
  child,
  defineQuery,
  onQuery,
  workflow,
  workflowInfo,
  WorkflowFailure,
  type Descriptor
} from "../core"
import { llmChat, parsePlan, planRequest, summaryRequest } from "../agents"
import { agentTask } from "./agent-task"

export const DEFAULT_WORKERS = 3
/** More workers than this is refused at the boundary: each is a workflow and an LLM call. */
export const MAX_WORKERS = 20

export const MultiAgentInput = Schema.Struct({
  task: Schema.String.pipe(Schema.minLength(1)),
  /** How many subtasks (and workers) to plan for (default 3, at most 20). */
  workers: Schema.optional(Schema.Int.pipe(Schema.between(1, MAX_WORKERS)))
})
export type MultiAgentInput = typeof MultiAgentInput.Type

/** How many workers have finished (either way) out of how many were started. */
export const MultiAgentProgress = defineQuery<{ readonly done: number; readonly total: number }>("progress")

export interface SubtaskResult {
  readonly subtask: string
  readonly status: "completed" | "failed"
  /** The worker's report, when it completed. */
  readonly output?: string
  /** Why the worker failed, when it did. */
  readonly error?: string
}

export interface MultiAgentResult {
  readonly summary: string
  readonly results: ReadonlyArray<SubtaskResult>
}

/**
 * The multi-agent workflow (see the module doc). Fails only if the planner or the summary
 * call fails (or the plan is not a list of subtasks); failed workers are results.
 *
 * @example // POST /api/workflows {"type":"multiAgent","input":{"task":"Plan the launch","workers":3},"id":"m1"}
 */
export const multiAgent = workflow(
  "multiAgent",
  { input: MultiAgentInput, queries: [MultiAgentProgress] },
  function* ({ task, workers }): Generator<Descriptor, MultiAgentResult, any> {
    let done = 0
    let total = 0
    yield* onQuery(MultiAgentProgress, () => ({ done, total }))

    const count = workers ?? DEFAULT_WORKERS
    const plan = yield* llmChat(planRequest(task, count))
    let subtasks: ReadonlyArray<string>
    try {
      // A model may plan more parts than asked: the extra ones are not started.
      subtasks = parsePlan(plan.content).slice(0, count)
    } catch (error) {
      throw new WorkflowFailure({ name: "InvalidPlan", message: (error as Error).message })
    }
    total = subtasks.length

    const { workflowId } = yield* workflowInfo()
    const settled = yield* allSettled(
      subtasks.map(
        (subtask, i) =>
          function* () {
            try {
              return yield* child(agentTask, { task, subtask }, { id: `${workflowId}-task-${i + 1}` })
            } finally {
              done += 1
            }
          }
      )
    )

    const results: Array<SubtaskResult> = settled.map((outcome, i) =>
      outcome.status === "fulfilled"
        ? { subtask: subtasks[i]!, status: "completed", output: outcome.value.output }
        : { subtask: subtasks[i]!, status: "failed", error: outcome.error.message }
    )
    const summary = yield* llmChat(summaryRequest(task, results))
    return { summary: summary.content, results }
  }
)
