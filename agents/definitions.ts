/**
 * The agent activities as workflow code sees them: `llmChat` and the four workspace tools,
 * with the schemas of their inputs and outputs.
 *
 * This module is pure (it imports `effect` and `core/` only), so workflow code and the
 * browser debugger can import it; the Node implementations live in
 * `runtime/agents/activities.ts`.
 *
 * Invariants:
 * 1. An `llm.chat` result carries its token `usage`, so history alone says what a workflow
 *    was billed (`usageFromHistory`), across restarts and replays.
 * 2. A replayed activity returns its recorded result: a replay calls no model and touches no
 *    file.
 */
import type * as Duration from "effect/Duration"
import * as Schema from "effect/Schema"
import { activity, type RetryOptions, type Yieldable } from "../core"

// ---------------------------------------------------------------------------------------------
// LLM

/** One message of a chat conversation, as OpenAI-compatible APIs take it. */
export const LlmMessage = Schema.Struct({
  role: Schema.Literal("system", "user", "assistant"),
  content: Schema.String
})
export type LlmMessage = typeof LlmMessage.Type

/**
 * What a call is for. A real model reads only the messages; the offline scripted model uses
 * the purpose to choose its script (see `runtime/agents/scripted-provider.ts`). Other strings are allowed
 * for real models; the scripted model refuses them.
 */
export const llmPurposes = ["review", "refactor", "plan", "subtask", "summary", "agent-step"] as const
export type LlmPurpose = (typeof llmPurposes)[number]

const Count = Schema.Int.pipe(Schema.nonNegative())

export const LlmChatInput = Schema.Struct({
  purpose: Schema.String,
  messages: Schema.Array(LlmMessage).pipe(Schema.minItems(1)),
  /** `agent-step`: the number of tool steps the agent may take before it must say done. */
  maxSteps: Schema.optional(Count),
  /**
   * `agent-step`: tool steps already taken. Defaults to the number of tool-result messages in
   * `messages`; give it when the conversation was trimmed or restarted by `continueAsNew`.
   */
  stepsTaken: Schema.optional(Count),
  /** `plan`: how many subtasks to split the task into. */
  subtaskCount: Schema.optional(Schema.Int.pipe(Schema.positive())),
  /** Sampling temperature, passed to real models. */
  temperature: Schema.optional(Schema.Number)
})
export type LlmChatInput = typeof LlmChatInput.Type

export const LlmUsage = Schema.Struct({
  promptTokens: Count,
  completionTokens: Count,
  totalTokens: Count
})
export type LlmUsage = typeof LlmUsage.Type

export const LlmChatOutput = Schema.Struct({
  content: Schema.String,
  /** The model that answered; `"offline-scripted"` for the scripted model. */
  model: Schema.String,
  usage: LlmUsage
})
export type LlmChatOutput = typeof LlmChatOutput.Type

/** The activity name of `llmChat`, which `usageFromHistory` counts. */
export const LLM_CHAT_ACTIVITY = "llm.chat"

const defaultLlmRetry: RetryOptions = {
  initialInterval: "500 millis",
  backoffCoefficient: 2,
  maximumInterval: "30 seconds",
  maximumAttempts: 3,
  nonRetryableErrors: ["NonRetryableError"]
}

/**
 * `llmChat` with another retry policy or timeout: the same activity (`llm.chat`, one
 * implementation), scheduled with these options. Fields not given keep `llmChat`'s; a
 * `NonRetryableError` is never retried whatever the policy says.
 *
 * @example const quickChat = llmChatWith({ retry: { maximumAttempts: 2, initialInterval: "100 millis" } })
 */
export const llmChatWith = (options: {
  readonly retry?: RetryOptions
  readonly timeout?: Duration.DurationInput
}) =>
  activity(LLM_CHAT_ACTIVITY, {
    input: LlmChatInput,
    output: LlmChatOutput,
    retry: { ...defaultLlmRetry, ...options.retry },
    timeout: options.timeout ?? "5 minutes"
  })

/**
 * One chat completion. Tokens stream to the workflow's subscribers as side-channel chunks
 * (`{ type: "llm.token", cmd, purpose, text }`) while the call runs; history records only the
 * final `{ content, model, usage }`.
 *
 * On failure: 429, 5xx and network errors are retried (3 attempts, 0.5 s then 1 s apart);
 * 400/401/403/404 fail at once with `NonRetryableError`. On replay the recorded answer is
 * returned and no model is called.
 *
 * @example const { content } = yield* llmChat(reviewRequest(code))
 */
export const llmChat = llmChatWith({})

// ---------------------------------------------------------------------------------------------
// Workspace tools

/** A path relative to the workflow's workspace folder; `..`, absolute paths and symlinks out are refused. */
const WorkspacePath = Schema.String.pipe(Schema.minLength(1))

const toolRetry = {
  initialInterval: "200 millis",
  backoffCoefficient: 2,
  maximumAttempts: 3,
  nonRetryableErrors: ["NonRetryableError"]
} as const

export const ReadFileInput = Schema.Struct({ path: WorkspacePath })
export const ReadFileOutput = Schema.Struct({ path: Schema.String, content: Schema.String, bytes: Count })
export type ReadFileOutput = typeof ReadFileOutput.Type

/** Reads a UTF-8 file of the workspace. A missing file fails at once (`NonRetryableError`). */
export const readFile = activity("tool.readFile", {
  input: ReadFileInput,
  output: ReadFileOutput,
  retry: toolRetry,
  timeout: "30 seconds"
})

export const WriteFileInput = Schema.Struct({ path: WorkspacePath, content: Schema.String })
export const WriteFileOutput = Schema.Struct({
  path: Schema.String,
  bytes: Count,
  sha256: Schema.String,
  /** True when an earlier attempt of this same call had already written it: nothing was written again. */
  deduplicated: Schema.Boolean
})
export type WriteFileOutput = typeof WriteFileOutput.Type

/**
 * Writes a UTF-8 file of the workspace (creating folders), once per call: the write is keyed
 * by the activity's idempotency key, so an attempt retried after a crash finds it done.
 */
export const writeFile = activity("tool.writeFile", {
  input: WriteFileInput,
  output: WriteFileOutput,
  retry: toolRetry,
  timeout: "30 seconds"
})

export const ListFilesInput = Schema.Struct({ path: Schema.optional(WorkspacePath) })
export const FileEntry = Schema.Struct({
  name: Schema.String,
  type: Schema.Literal("file", "directory", "symlink", "other"),
  bytes: Count
})
export const ListFilesOutput = Schema.Struct({ path: Schema.String, entries: Schema.Array(FileEntry) })
export type ListFilesOutput = typeof ListFilesOutput.Type

/** Lists one folder of the workspace (default: its root), sorted by name. */
export const listFiles = activity("tool.listFiles", {
  input: ListFilesInput,
  output: ListFilesOutput,
  retry: toolRetry,
  timeout: "30 seconds"
})

export const RunCommandInput = Schema.Struct({
  command: Schema.String.pipe(Schema.minLength(1)),
  args: Schema.optional(Schema.Array(Schema.String))
})
export const RunCommandOutput = Schema.Struct({
  command: Schema.String,
  args: Schema.Array(Schema.String),
  /** `null` when the command was killed (timeout, output cap). */
  exitCode: Schema.NullOr(Schema.Int),
  stdout: Schema.String,
  stderr: Schema.String,
  timedOut: Schema.Boolean,
  /** True when output passed the cap and was cut. */
  truncated: Schema.Boolean,
  durationMs: Count
})
export type RunCommandOutput = typeof RunCommandOutput.Type

/**
 * Runs an allow-listed command (no shell) in the workspace, with a timeout and an output cap.
 * A non-zero exit or a timeout is a result, not a failure, so the agent can read it; a command
 * off the allow-list fails at once (`NonRetryableError`).
 */
export const runCommand = activity("tool.runCommand", {
  input: RunCommandInput,
  output: RunCommandOutput,
  retry: toolRetry,
  timeout: "1 minute"
})

// ---------------------------------------------------------------------------------------------
// Tool calls chosen by the model

export const toolNames = ["write_file", "read_file", "list_files", "run_command", "done"] as const
export type ToolName = (typeof toolNames)[number]

/** What an `agent-step` answer asks for: `{ "tool", "args", "summary" }`. */
export const ToolCall = Schema.Struct({
  tool: Schema.Literal(...toolNames),
  args: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.Unknown }), {
    default: () => ({})
  }),
  summary: Schema.optionalWith(Schema.String, { default: () => "" })
})
export type ToolCall = typeof ToolCall.Type

/** What any tool activity returns. */
export type ToolOutput = ReadFileOutput | typeof WriteFileOutput.Type | ListFilesOutput | RunCommandOutput

/** A tool call that is not `done`. */
export type ToolStep = ToolCall & { readonly tool: Exclude<ToolName, "done"> }

/**
 * The activity call that performs a tool call, to `yield*` in workflow code. Arguments of the
 * wrong shape are refused here, with the tool and the argument named, before anything runs.
 *
 * @example const result = yield* toolActivity(call)
 */
export const toolActivity = (call: ToolStep): Yieldable<ToolOutput> => {
  const args = call.args
  const str = (key: string, optional = false): string | undefined => {
    const value = args[key]
    if (value === undefined && optional) return undefined
    if (typeof value !== "string" || value === "")
      throw new TypeError(
        `tool ${call.tool}: argument "${key}" must be a non-empty string, got ${JSON.stringify(value)}`
      )
    return value
  }
  switch (call.tool) {
    case "write_file": {
      const content = args["content"]
      if (typeof content !== "string")
        throw new TypeError(
          `tool write_file: argument "content" must be a string, got ${JSON.stringify(content)}`
        )
      return writeFile({ path: str("path")!, content })
    }
    case "read_file":
      return readFile({ path: str("path")! })
    case "list_files": {
      const path = str("path", true)
      return listFiles(path === undefined ? {} : { path })
    }
    case "run_command": {
      const rest = args["args"]
      if (rest !== undefined && !(Array.isArray(rest) && rest.every((a) => typeof a === "string")))
        throw new TypeError(
          `tool run_command: argument "args" must be an array of strings, got ${JSON.stringify(rest)}`
        )
      return runCommand({
        command: str("command")!,
        ...(rest === undefined ? {} : { args: rest as string[] })
      })
    }
  }
}
