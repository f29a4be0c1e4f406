/**
 * The offline scripted model: a stand-in LLM for demos, tests and machines without an API
 * key. It is NOT a language model. Every answer is computed from the request by a fixed
 * script, says `model: "offline-scripted"`, and is the same for the same request, so runs
 * are reproducible and have a known length.
 *
 * Like the real provider it streams its answer through `onToken` in several chunks, reports
 * token usage (word counts: prompt words in, answer words out), honours the AbortSignal, and
 * fails with `LlmRetryableError` / `NonRetryableError`. `delayMs` (`LLM_OFFLINE_DELAY_MS`)
 * spreads a delay over the chunks of each call, so a demo can watch an agent work or kill it
 * mid-run.
 *
 * The script, by `purpose` (prompt conventions from `agents/prompts.ts`; "the prompt" is the last
 * user message):
 * - `review`: a JSON review `{ summary, issues[], verdict }` of the code in the prompt's
 *   fenced block, from fixed checks (`var`, `==`, `any`, `console.log`, `eval`, TODO, long
 *   lines). Any warning or error gives `"request-changes"`, else `"approve"`.
 * - `refactor`: the code with `var`→`let`, `==`→`===`, `!=`→`!==`, under a comment quoting
 *   the prompt's `Feedback:` line verbatim, so a test sees the feedback reached the prompt.
 * - `plan`: `{"subtasks": [...]}` with exactly `subtaskCount` items. A task written as parts
 *   separated by `;` becomes those parts (extra parts merge into the last; missing ones are
 *   filled with "Check the combined result (k of N)"); otherwise the task is prefixed with
 *   Research / Design / Implement / Test / Document / Review in turn.
 * - `subtask`: a short report on the prompt's `Subtask:` line. A subtask containing the word
 *   `FAIL` throws `LlmRetryableError` on every attempt, so a test can make one worker fail
 *   after its retries.
 * - `summary`: counts the `- [status] …` result lines of the prompt and lists them.
 * - `agent-step`: a tool call `{ "tool", "args", "summary" }` as JSON. The step number is
 *   `stepsTaken`, or else the number of `Tool result` messages. While it is below `maxSteps`
 *   the tools cycle write_file (`step-<n>.txt`) → read_file (the file just written) →
 *   list_files (`.`) → run_command (`wc -w` on it); at `maxSteps` the answer is `done`. So a
 *   run takes exactly `maxSteps` tool steps (`codingAgent` stops at its budget without
 *   asking once more, so it makes `maxSteps` calls; a loop that asks makes one more, answered
 *   `done`). When the latest user message is a steering message (`Human instruction: …`),
 *   the step's summary quotes it.
 * Any other purpose is refused with `NonRetryableError`.
 */
import { createHash } from "node:crypto"
import {
  abortableDelay,
  LlmRetryableError,
  NonRetryableError,
  throwIfAborted,
  type LlmCallOptions,
  type LlmProvider,
  type LlmRequest,
  type LlmResponse
} from "./llm-provider"
import {
  extractCode,
  HUMAN_INSTRUCTION_PREFIX,
  llmPurposes,
  TOOL_RESULT_PREFIX,
  type LlmMessage
} from "../../agents"

/** The `model` of every scripted answer. */
export const OFFLINE_MODEL = "offline-scripted"

export interface ScriptedProviderOptions {
  /** Milliseconds each call takes, spread over its chunks (default 0). */
  readonly delayMs?: number
}

/**
 * The offline scripted model (see the module doc for its script).
 *
 * @example
 * const llm = scriptedProvider({ delayMs: 50 })
 * const { content, model } = await llm.complete(planRequest("ship v2", 3)) // model === "offline-scripted"
 */
export const scriptedProvider = (options: ScriptedProviderOptions = {}): LlmProvider => {
  const delayMs = options.delayMs ?? 0
  if (!Number.isFinite(delayMs) || delayMs < 0)
    throw new RangeError(`the scripted model's delay must be a non-negative number of ms, got ${delayMs}`)
  return {
    kind: OFFLINE_MODEL,
    description:
      `LLM: offline scripted model (model "${OFFLINE_MODEL}", not a real LLM: deterministic answers from the prompt` +
      `${delayMs > 0 ? `, ${delayMs} ms per call` : ""}); set LLM_BASE_URL to use a real one`,
    complete: (request, callOptions) => complete(request, delayMs, callOptions ?? {})
  }
}

const complete = async (
  request: LlmRequest,
  delayMs: number,
  { signal, onToken }: LlmCallOptions
): Promise<LlmResponse> => {
  throwIfAborted(signal)
  const content = answer(request)
  const chunks = chunk(content)
  for (const piece of chunks) {
    if (delayMs > 0) await abortableDelay(delayMs / chunks.length, signal)
    throwIfAborted(signal)
    onToken?.(piece)
  }
  const promptTokens = request.messages.reduce((sum, m) => sum + words(m.content), 0)
  const completionTokens = words(content)
  return {
    content,
    model: OFFLINE_MODEL,
    usage: { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens }
  }
}

const words = (text: string): number => text.match(/\S+/g)?.length ?? 0

/** Splits an answer into up to 16 chunks of a few words; their concatenation is the answer. */
const chunk = (content: string): string[] => {
  const pieces = content.split(/(?<=\s)(?=\S)/)
  const size = Math.max(4, Math.ceil(pieces.length / 16))
  const chunks: string[] = []
  for (let i = 0; i < pieces.length; i += size) chunks.push(pieces.slice(i, i + size).join(""))
  return chunks.length === 0 ? [""] : chunks
}

const hashOf = (request: LlmRequest): string =>
  createHash("sha256")
    .update(
      JSON.stringify([
        request.purpose,
        request.messages,
        request.maxSteps,
        request.stepsTaken,
        request.subtaskCount
      ])
    )
    .digest("hex")
    .slice(0, 8)

const lastUser = (messages: ReadonlyArray<LlmMessage>): string =>
  [...messages].reverse().find((m) => m.role === "user")?.content ?? messages[messages.length - 1]!.content

/** The text after `label` on its line, searched from the last message back. */
const field = (messages: ReadonlyArray<LlmMessage>, label: string): string | undefined => {
  const pattern = new RegExp(`^${label}:[ \\t]*(.*)$`, "m")
  for (let i = messages.length - 1; i >= 0; i--) {
    const match = pattern.exec(messages[i]!.content)
    if (match) return match[1]!.trim()
  }
  return undefined
}

const answer = (request: LlmRequest): string => {
  switch (request.purpose) {
    case "review":
      return review(request)
    case "refactor":
      return refactor(request)
    case "plan":
      return plan(request)
    case "subtask":
      return subtask(request)
    case "summary":
      return summary(request)
    case "agent-step":
      return agentStep(request)
    default:
      throw new NonRetryableError({
        message:
          `the offline scripted model has no script for purpose ${JSON.stringify(request.purpose)}; ` +
          `it serves ${llmPurposes.slice(0, -1).join(", ")} and ${llmPurposes.at(-1)} (set LLM_BASE_URL for a real model)`
      })
  }
}

interface Issue {
  line?: number
  severity: "info" | "warning" | "error"
  message: string
}

const checks: ReadonlyArray<readonly [RegExp, Issue["severity"], string]> = [
  [/\beval\s*\(/, "error", "eval runs arbitrary code; parse the input instead"],
  [/\bvar\s/, "warning", "use let or const instead of var"],
  [/[^=!<>]==(?!=)|!=(?!=)/, "warning", "use strict equality (=== / !==)"],
  [/:\s*any\b|\bas any\b/, "warning", "avoid `any`; give the value a type"],
  [/console\.log\(/, "info", "remove console.log before merging"],
  [/\b(TODO|FIXME)\b/, "info", "unresolved TODO/FIXME"]
]

const review = (request: LlmRequest): string => {
  const code = extractCode(lastUser(request.messages).replace(/^[\s\S]*?Review this code:\s*/, ""))
  const lines = code.split("\n")
  const issues: Issue[] = []
  if (code.trim() === "") issues.push({ severity: "error", message: "no code was given to review" })
  lines.forEach((text, i) => {
    for (const [pattern, severity, message] of checks)
      if (pattern.test(text)) issues.push({ line: i + 1, severity, message })
    if (text.length > 120)
      issues.push({ line: i + 1, severity: "info", message: "line longer than 120 characters" })
  })
  const blocking = issues.filter((i) => i.severity !== "info").length
  const reviewer = field(request.messages, "Reviewer")
  return JSON.stringify({
    summary:
      `Offline scripted review (ref ${hashOf(request)})${reviewer ? ` for ${reviewer}` : ""} of ${lines.length} ` +
      `line${lines.length === 1 ? "" : "s"}: ${issues.length === 0 ? "no issues found" : `${issues.length} issue${issues.length === 1 ? "" : "s"} (${blocking} blocking)`}.`,
    issues,
    verdict: blocking > 0 ? "request-changes" : "approve"
  })
}

const refactor = (request: LlmRequest): string => {
  const prompt = lastUser(request.messages)
  // Feedback may span lines: it runs up to the next section of the prompt.
  const feedback = (
    /^Feedback:[ \t]*([\s\S]*?)\n(?:Review summary:|Code:)/m.exec(prompt)?.[1] ?? "(no feedback given)"
  )
    .trim()
    .replace(/\n/g, "\n// ")
  const code = extractCode(prompt.replace(/^[\s\S]*?\nCode:\s*/, ""))
  const rewritten = code
    .replace(/\bvar(\s)/g, "let$1")
    .replace(/([^=!<>])==(?!=)/g, "$1===")
    .replace(/!=(?!=)/g, "!==")
  return `// Refactored by the offline scripted model (ref ${hashOf(request)}) following feedback: ${feedback}\n${rewritten}`
}

const aspects = ["Research", "Design", "Implement", "Test", "Document", "Review"]

const plan = (request: LlmRequest): string => {
  const count = request.subtaskCount
  if (count === undefined)
    throw new NonRetryableError({
      message: "a plan request needs subtaskCount (how many subtasks to split the task into)"
    })
  const prompt = lastUser(request.messages)
  const task = (/^Task:[ \t]*([\s\S]*)$/m.exec(prompt)?.[1] ?? prompt).trim()
  const parts = task
    .split(";")
    .map((p) => p.trim())
    .filter((p) => p !== "")
  let subtasks: string[]
  if (parts.length >= 2) {
    subtasks = parts.slice(0, count)
    if (parts.length > count) subtasks[count - 1] = parts.slice(count - 1).join("; ")
    for (let k = subtasks.length + 1; k <= count; k++)
      subtasks.push(`Check the combined result (${k} of ${count})`)
  } else {
    subtasks = Array.from(
      { length: count },
      (_, i) => `${aspects[i % aspects.length]}: ${task} (part ${i + 1} of ${count})`
    )
  }
  return JSON.stringify({ subtasks })
}

const subtask = (request: LlmRequest): string => {
  const text = field(request.messages, "Subtask") ?? lastUser(request.messages)
  if (/\bFAIL\b/.test(text))
    throw new LlmRetryableError(
      `offline scripted model: the subtask ${JSON.stringify(text)} contains the word FAIL, so this call fails on every attempt (a scripted failure)`
    )
  return `Done (offline scripted, ref ${hashOf(request)}): ${text}. Finished in ${words(text)} scripted moves.`
}

const summary = (request: LlmRequest): string => {
  const prompt = lastUser(request.messages)
  const task = field([{ role: "user", content: prompt }], "Task") ?? "the task"
  const results = [...prompt.matchAll(/^- \[([^\]]+)\] (.*)$/gm)].map((m) => ({ status: m[1]!, text: m[2]! }))
  const byStatus = new Map<string, number>()
  for (const r of results) byStatus.set(r.status, (byStatus.get(r.status) ?? 0) + 1)
  const counts = [...byStatus].map(([status, n]) => `${n} ${status}`).join(", ")
  return (
    `Summary (offline scripted, ref ${hashOf(request)}) of "${task}": ${results.length} subtask${results.length === 1 ? "" : "s"}` +
    `${counts ? ` (${counts})` : ""}.` +
    results.map((r) => `\n- ${r.text.split(":")[0]}: ${r.status}`).join("")
  )
}

const agentStep = (request: LlmRequest): string => {
  const maxSteps = request.maxSteps
  if (maxSteps === undefined)
    throw new NonRetryableError({
      message: "an agent-step request needs maxSteps (how many tool steps the agent may take)"
    })
  const taken =
    request.stepsTaken ??
    request.messages.filter((m) => m.role === "user" && m.content.startsWith(TOOL_RESULT_PREFIX)).length
  const goal = field(request.messages, "Goal") ?? "the goal"
  const latest = lastUser(request.messages)
  // Only a steering message itself counts: a tool result quoting an instruction (a file
  // written under one, read back) does not steer again.
  const instruction = latest.startsWith(HUMAN_INSTRUCTION_PREFIX)
    ? latest.slice(HUMAN_INSTRUCTION_PREFIX.length).split("\n")[0]!.trim() || undefined
    : undefined
  const steered = instruction ? ` (following human instruction: "${instruction}")` : ""
  const say = (tool: string, args: Record<string, unknown>, summary: string) =>
    JSON.stringify({ tool, args, summary: summary + steered })

  if (taken >= maxSteps) return say("done", {}, `Done after ${maxSteps} tool steps toward: ${goal}`)
  const n = taken + 1
  switch (taken % 4) {
    case 0:
      return say(
        "write_file",
        {
          path: `step-${n}.txt`,
          content: `Step ${n} of ${maxSteps} toward: ${goal}\n${instruction ? `${HUMAN_INSTRUCTION_PREFIX} ${instruction}\n` : ""}`
        },
        `Write step-${n}.txt with notes for step ${n}`
      )
    case 1:
      return say("read_file", { path: `step-${n - 1}.txt` }, `Read back step-${n - 1}.txt to check it`)
    case 2:
      return say("list_files", { path: "." }, "List the workspace")
    default:
      return say(
        "run_command",
        { command: "wc", args: ["-w", `step-${n - 3}.txt`] },
        `Count the words of step-${n - 3}.txt`
      )
  }
}
