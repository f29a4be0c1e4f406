/**
 * `codingAgent`: a durable agent loop. Each step, the model chooses a tool (write, read or
 * list files of the workflow's workspace, run an allow-listed command) and the tool runs as an
 * activity, until the model says done or the step budget is spent.
 *
 * Durable: after a crash the loop is rebuilt from history, so no LLM call and no tool call
 * whose result was recorded runs again. A human can steer it while it runs (signal `Steer`):
 * the instruction goes into the next prompt. Every `CONTINUE_AS_NEW_EVERY` steps the run
 * continues as new, carrying the step count, the step list, the recent conversation and any
 * instruction not yet delivered, so a long agent keeps its history bounded.
 *
 * LLM calls: one per step. The loop ends when the model says done or when `maxSteps` tool
 * steps have been taken, without asking the model once more at the limit: an agent that
 * uses its whole budget (the offline scripted model always does) makes exactly `maxSteps`
 * LLM calls and `maxSteps` tool calls.
 */
import * as Schema from "effect/Schema"
import {
  ActivityFailure,
  continueAsNew,
  defineQuery,
  defineSignal,
  onQuery,
  waitForSignal,
  workflow,
  type Descriptor
} from "../core"
import {
  agentStepRequest,
  earlierStepsMessage,
  llmChat,
  LlmMessage,
  parseToolCall,
  steeringMessage,
  TOOL_RESULT_PREFIX,
  toolActivity,
  toolResultMessage,
  type ToolCall
} from "../agents"

/** Steps per run before the loop continues as new (a test may lower it with `continueEvery`). */
export const CONTINUE_AS_NEW_EVERY = 100
export const DEFAULT_MAX_STEPS = 10
export const MAX_STEPS_LIMIT = 10_000
/** Messages of the conversation sent with each step; older ones are summarised. */
export const TRANSCRIPT_WINDOW = 16
/** Entries of the step list carried into the next run (what the `steps` query returns). */
export const STEPS_KEPT = 1000

export const AgentStep = Schema.Struct({
  /** Counts from 1 over all runs. */
  step: Schema.Int.pipe(Schema.positive()),
  tool: Schema.String,
  summary: Schema.String
})
export type AgentStep = typeof AgentStep.Type

export const CodingAgentInput = Schema.Struct({
  goal: Schema.String.pipe(Schema.minLength(1)),
  /** Tool steps the agent may take (default 10). */
  maxSteps: Schema.optional(Schema.Int.pipe(Schema.between(1, MAX_STEPS_LIMIT))),
  /** Steps per run before continuing as new (default `CONTINUE_AS_NEW_EVERY`). */
  continueEvery: Schema.optional(Schema.Int.pipe(Schema.positive())),
  // Carried over by continueAsNew; a new agent leaves them out.
  /** Tool steps taken by earlier runs. */
  stepsTaken: Schema.optional(Schema.Int.pipe(Schema.nonNegative())),
  /** The steps of earlier runs (the most recent `STEPS_KEPT`). */
  steps: Schema.optional(Schema.Array(AgentStep)),
  /** The end of the conversation of the earlier run. */
  transcript: Schema.optional(Schema.Array(LlmMessage)),
  /** Steering instructions received and not yet sent to the model. */
  instructions: Schema.optional(Schema.Array(Schema.String))
})
export type CodingAgentInput = typeof CodingAgentInput.Type

/** A human instruction for the agent; it reaches the model in the next step's prompt. */
export const Steer = defineSignal(
  "Steer",
  Schema.Struct({ instruction: Schema.String.pipe(Schema.minLength(1)) })
)

/** The tool steps taken so far (over all runs, the most recent `STEPS_KEPT`). */
export const CodingAgentSteps = defineQuery<ReadonlyArray<AgentStep>>("steps")

export interface CodingAgentResult {
  /** `done`: the model said so; `max-steps`: `maxSteps` tool steps were taken (the model was not asked again). */
  readonly outcome: "done" | "max-steps"
  readonly stepsTaken: number
  readonly summary: string
}

const budgetSpent = (maxSteps: number, last: AgentStep | undefined): string =>
  `Stopped after ${maxSteps} tool step${maxSteps === 1 ? "" : "s"} (the budget)` +
  (last ? `; the last: ${last.tool}, ${last.summary}` : "")

/**
 * The coding agent (see the module doc). A tool that fails (a missing file, a command off
 * the allow-list, bad arguments) is a result the model reads, not a failure of the workflow;
 * an answer that is not a tool call is reported back to the model and counts as a step.
 * The workflow fails only if an LLM call fails after its retries.
 *
 * @example // POST /api/workflows {"type":"codingAgent","input":{"goal":"Write a README","maxSteps":8},"id":"a1"}
 */
export const codingAgent = workflow(
  "codingAgent",
  { input: CodingAgentInput, signals: [Steer], queries: [CodingAgentSteps] },
  function* (input): Generator<Descriptor, CodingAgentResult, any> {
    const { goal } = input
    const maxSteps = input.maxSteps ?? DEFAULT_MAX_STEPS
    const continueEvery = input.continueEvery ?? CONTINUE_AS_NEW_EVERY
    let stepsTaken = input.stepsTaken ?? 0
    let stepsThisRun = 0
    const steps: Array<AgentStep> = [...(input.steps ?? [])]
    let transcript: Array<LlmMessage> = [...(input.transcript ?? [])]
    let instructions: Array<string> = [...(input.instructions ?? [])]
    yield* onQuery(CodingAgentSteps, () => steps)

    const remember = (...messages: ReadonlyArray<LlmMessage>) => {
      transcript.push(...messages)
      if (transcript.length > TRANSCRIPT_WINDOW) transcript = transcript.slice(-TRANSCRIPT_WINDOW)
    }
    const takeStep = (tool: string, summary: string) => {
      stepsTaken += 1
      stepsThisRun += 1
      steps.push({ step: stepsTaken, tool, summary })
      if (steps.length > STEPS_KEPT) steps.splice(0, steps.length - STEPS_KEPT)
    }

    for (;;) {
      // Take every instruction that has arrived, never waiting: `timeout: 0` polls, and a
      // poll records nothing, so the agent is not held up and its history does not grow.
      for (;;) {
        const steer = yield* waitForSignal(Steer, { timeout: 0 })
        if (steer === undefined) break
        instructions.push(steer.instruction)
      }

      // The budget is spent: stop without asking the model again.
      if (stepsTaken >= maxSteps)
        return { outcome: "max-steps", stepsTaken, summary: budgetSpent(maxSteps, steps.at(-1)) }

      if (stepsThisRun >= continueEvery) {
        return yield* continueAsNew<CodingAgentInput>({
          goal,
          maxSteps,
          ...(input.continueEvery === undefined ? {} : { continueEvery }),
          stepsTaken,
          steps: [...steps],
          transcript: [...transcript],
          instructions: [...instructions]
        })
      }

      // Steps whose messages fell out of the window are sent as a summary.
      const inWindow = transcript.filter((m) => m.content.startsWith(TOOL_RESULT_PREFIX)).length
      const earlier = steps.slice(0, Math.max(0, steps.length - inWindow))
      const request = agentStepRequest({
        goal,
        maxSteps,
        stepsTaken,
        transcript:
          earlier.length > 0 ? [earlierStepsMessage(stepsTaken, earlier), ...transcript] : transcript,
        instructions
      })
      remember(...instructions.map(steeringMessage))
      instructions = []
      const answer = yield* llmChat(request)

      let call: ToolCall
      try {
        call = parseToolCall(answer.content)
      } catch (error) {
        takeStep("invalid-answer", (error as Error).message)
        remember(
          { role: "assistant", content: answer.content },
          toolResultMessage(stepsTaken, "none", { error: `not a tool call: ${(error as Error).message}` })
        )
        continue
      }
      if (call.tool === "done") return { outcome: "done", stepsTaken, summary: call.summary }

      takeStep(call.tool, call.summary)
      let result: unknown
      try {
        result = yield* toolActivity({ ...call, tool: call.tool })
      } catch (error) {
        // Cancellation and bugs propagate; a tool that failed is news for the model.
        if (!(error instanceof ActivityFailure || error instanceof TypeError)) throw error
        result = {
          error:
            error instanceof ActivityFailure ? `${error.cause.name}: ${error.cause.message}` : error.message
        }
      }
      remember(
        { role: "assistant", content: answer.content },
        toolResultMessage(stepsTaken, call.tool, result)
      )
    }
  }
)
