/**
 * The prompts the agent workflows send, and the parsers of what comes back.
 *
 * Pure (imports `effect` only), so workflow code can use it. The prompt shapes here are the
 * conventions the offline scripted model reads (`Goal:`, `Feedback:`, `Subtask:`,
 * `Tool result`, `Human instruction:` lines; code in a fenced block); a real model reads them
 * as ordinary instructions. Keep the two in step: change a marker here and in
 * `runtime/agents/scripted-provider.ts` together.
 */
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { ToolCall, type LlmChatInput, type LlmMessage } from "./definitions"

/** Marks a message carrying a tool's result; the scripted model counts these to know the step. */
export const TOOL_RESULT_PREFIX = "Tool result"
/** Marks a steering message from a human; the scripted model mentions it in its next step. */
export const HUMAN_INSTRUCTION_PREFIX = "Human instruction:"

const fence = (code: string): string => {
  // A fence longer than any backtick run inside the code, so the block cannot end early.
  const longest = Math.max(2, ...(code.match(/`+/g) ?? []).map((run) => run.length))
  const ticks = "`".repeat(longest + 1)
  return `${ticks}\n${code}\n${ticks}`
}

// ---------------------------------------------------------------------------------------------
// Code review

export const ReviewIssue = Schema.Struct({
  line: Schema.optional(Schema.Int),
  severity: Schema.Literal("info", "warning", "error"),
  message: Schema.String
})
export const Review = Schema.Struct({
  summary: Schema.String,
  issues: Schema.Array(ReviewIssue),
  verdict: Schema.Literal("approve", "request-changes")
})
export type Review = typeof Review.Type

/** The `review` call: asks for a JSON review of `code`. */
export const reviewRequest = (code: string, reviewer?: string): LlmChatInput => ({
  purpose: "review",
  messages: [
    {
      role: "system",
      content:
        "You are a meticulous code reviewer. Answer with JSON only: " +
        '{"summary": string, "issues": [{"line"?: number, "severity": "info"|"warning"|"error", "message": string}], ' +
        '"verdict": "approve"|"request-changes"}.'
    },
    {
      role: "user",
      content: `${reviewer ? `Reviewer: ${reviewer}\n` : ""}Review this code:\n${fence(code)}`
    }
  ]
})

/** The `refactor` call: asks for `code` rewritten following the human's `feedback`. */
export const refactorRequest = (
  code: string,
  feedback: string | undefined,
  review?: Review
): LlmChatInput => ({
  purpose: "refactor",
  messages: [
    {
      role: "system",
      content: "You refactor code following review feedback. Answer with the complete refactored code only."
    },
    {
      role: "user",
      content:
        `Feedback: ${feedback?.trim() || "(none given; address the review)"}\n` +
        (review ? `Review summary: ${review.summary}\n` : "") +
        `Code:\n${fence(code)}`
    }
  ]
})

// ---------------------------------------------------------------------------------------------
// Multi-agent

/**
 * The `plan` call: asks for exactly `count` subtasks of `task` as `{"subtasks": [...]}`.
 * A task written as parts separated by `;` is split along them.
 */
export const planRequest = (task: string, count: number): LlmChatInput => ({
  purpose: "plan",
  subtaskCount: count,
  messages: [
    {
      role: "system",
      content: `You are a planner. Split the task into exactly ${count} independent subtasks. Answer with JSON only: {"subtasks": string[]}.`
    },
    { role: "user", content: `Task: ${task}` }
  ]
})

/** The `subtask` call: one worker doing one subtask of the overall task. */
export const subtaskRequest = (task: string, subtask: string): LlmChatInput => ({
  purpose: "subtask",
  messages: [
    {
      role: "system",
      content: "You are a worker agent. Do the subtask you are given and report the result briefly."
    },
    { role: "user", content: `Overall task: ${task}\nSubtask: ${subtask}` }
  ]
})

/** One worker's outcome, as the summary prompt lists it. */
export interface SubtaskOutcome {
  readonly subtask: string
  readonly status: string
  readonly output?: string | undefined
}

/** The `summary` call: combines the workers' outcomes into one answer. */
export const summaryRequest = (task: string, results: ReadonlyArray<SubtaskOutcome>): LlmChatInput => ({
  purpose: "summary",
  messages: [
    { role: "system", content: "You combine the results of worker agents into one short summary." },
    {
      role: "user",
      content:
        `Task: ${task}\nResults:\n` +
        results.map((r) => `- [${r.status}] ${r.subtask}${r.output ? `: ${r.output}` : ""}`).join("\n")
    }
  ]
})

// ---------------------------------------------------------------------------------------------
// Coding agent

/** The opening of a coding agent's conversation: the rules and the goal. */
export const agentOpening = (goal: string, maxSteps: number): ReadonlyArray<LlmMessage> => [
  {
    role: "system",
    content:
      "You are a coding agent working in a sandboxed workspace folder. Each turn, answer with JSON only: " +
      '{"tool": "write_file"|"read_file"|"list_files"|"run_command"|"done", "args": {...}, "summary": string}. ' +
      "write_file args {path, content}; read_file {path}; list_files {path?}; run_command {command, args[]} " +
      "(allowed: ls, cat, echo, wc, node --version). Paths are relative to the workspace. " +
      `You may take at most ${maxSteps} tool steps; then answer with tool "done".`
  },
  { role: "user", content: `Goal: ${goal}` }
]

/** The message reporting a tool's result (or error) to the model; `step` counts from 1. */
export const toolResultMessage = (step: number, tool: string, result: unknown): LlmMessage => ({
  role: "user",
  content: `${TOOL_RESULT_PREFIX} (step ${step}, ${tool}): ${truncate(JSON.stringify(result) ?? "null", 2000)}`
})

/** The message carrying a human's steering instruction into the next prompt. */
export const steeringMessage = (instruction: string): LlmMessage => ({
  role: "user",
  content: `${HUMAN_INSTRUCTION_PREFIX} ${instruction}`
})

/**
 * The message standing in for the part of a long conversation no longer sent (older steps,
 * or those of an earlier run after `continueAsNew`): how many steps were taken, and the
 * summaries of the last few of them.
 */
export const earlierStepsMessage = (
  stepsTaken: number,
  earlier: ReadonlyArray<{ readonly step: number; readonly tool: string; readonly summary: string }>
): LlmMessage => ({
  role: "user",
  content:
    `Progress so far: ${stepsTaken} tool step${stepsTaken === 1 ? "" : "s"} taken. ` +
    `Earlier steps, summarised (older ones omitted):\n` +
    earlier
      .slice(-20)
      .map((s) => `- step ${s.step}, ${s.tool}: ${truncate(s.summary, 200)}`)
      .join("\n")
})

/**
 * The `agent-step` call. `transcript` is the conversation after the opening (the model's
 * answers and the tool results); `instructions` are steering messages received since the
 * last step, put last so the model reads them first.
 */
export const agentStepRequest = (options: {
  readonly goal: string
  readonly maxSteps: number
  readonly transcript: ReadonlyArray<LlmMessage>
  readonly instructions?: ReadonlyArray<string>
  readonly stepsTaken?: number
}): LlmChatInput => ({
  purpose: "agent-step",
  maxSteps: options.maxSteps,
  ...(options.stepsTaken === undefined ? {} : { stepsTaken: options.stepsTaken }),
  messages: [
    ...agentOpening(options.goal, options.maxSteps),
    ...options.transcript,
    ...(options.instructions ?? []).map(steeringMessage)
  ]
})

const truncate = (text: string, max: number): string =>
  text.length <= max ? text : `${text.slice(0, max)}… (${text.length - max} more characters)`

// ---------------------------------------------------------------------------------------------
// Parsing answers

/**
 * The first JSON object in a model's answer: real models wrap JSON in prose or a ```json
 * fence; the scripted model answers with bare JSON.
 */
export const extractJson = (content: string): unknown => {
  const trimmed = content.trim()
  try {
    return JSON.parse(trimmed)
  } catch {
    // fall through to look for an object inside prose or a fence
  }
  const start = trimmed.indexOf("{")
  const end = trimmed.lastIndexOf("}")
  if (start >= 0 && end > start) {
    try {
      return JSON.parse(trimmed.slice(start, end + 1))
    } catch {
      // reported below
    }
  }
  throw new SyntaxError(`the model's answer is not JSON: ${truncate(JSON.stringify(content), 200)}`)
}

const decodeAnswer = <A, I>(schema: Schema.Schema<A, I>, what: string, content: string): A => {
  const result = Schema.decodeUnknownEither(schema)(extractJson(content))
  if (Either.isLeft(result))
    throw new SyntaxError(
      `the model's ${what} does not have the expected shape: ${ParseResult.TreeFormatter.formatErrorSync(result.left)}`
    )
  return result.right
}

/** Parses a `review` answer; throws `SyntaxError` naming what is missing. */
export const parseReview = (content: string): Review => decodeAnswer(Review, "review", content)

const Plan = Schema.Struct({ subtasks: Schema.Array(Schema.String).pipe(Schema.minItems(1)) })

/** Parses a `plan` answer into its subtasks; throws `SyntaxError` naming what is missing. */
export const parsePlan = (content: string): ReadonlyArray<string> =>
  decodeAnswer(Plan, "plan", content).subtasks

/** Parses an `agent-step` answer into a tool call; throws `SyntaxError` naming what is wrong. */
export const parseToolCall = (content: string): ToolCall => decodeAnswer(ToolCall, "tool call", content)

/** The code of an answer: the first fenced block if there is one, else the whole answer. */
export const extractCode = (content: string): string => {
  const match = /(`{3,})[^\n]*\n([\s\S]*?)\n\1/.exec(content)
  return match ? match[2]! : content.trim()
}
