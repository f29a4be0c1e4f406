/**
 * `agentTask`: one worker agent doing one subtask; `multiAgent` runs one per subtask as a
 * child workflow.
 *
 * One LLM call. Its retry policy is short (2 attempts, 100 ms apart), so a subtask that
 * cannot be done fails the child quickly and the parent carries on with the others. With the
 * offline scripted model a subtask containing the word `FAIL` fails on every attempt.
 */
import * as Schema from "effect/Schema"
import { workflow, type Descriptor } from "../core"
import { llmChatWith, subtaskRequest, type LlmUsage } from "../agents"

export const AgentTaskInput = Schema.Struct({
  /** The overall task, for context. */
  task: Schema.String,
  subtask: Schema.String.pipe(Schema.minLength(1))
})
export type AgentTaskInput = typeof AgentTaskInput.Type

export interface AgentTaskResult {
  readonly subtask: string
  readonly output: string
  readonly model: string
  readonly usage: LlmUsage
}

/** `llm.chat` retried briefly: a worker that cannot do its subtask should fail fast. */
export const workerChat = llmChatWith({
  retry: { initialInterval: "100 millis", backoffCoefficient: 2, maximumAttempts: 2 },
  timeout: "2 minutes"
})

/**
 * The worker workflow. Fails (with the LLM activity's `ActivityFailure`) when its call fails
 * after 2 attempts; a cancelled parent cancels it.
 *
 * @example yield* child(agentTask, { task: "ship v2", subtask: "write the changelog" })
 */
export const agentTask = workflow(
  "agentTask",
  { input: AgentTaskInput },
  function* ({ task, subtask }): Generator<Descriptor, AgentTaskResult, any> {
    const answer = yield* workerChat(subtaskRequest(task, subtask))
    return { subtask, output: answer.content, model: answer.model, usage: answer.usage }
  }
)
