/**
 * The implementations of the agent activities (`llm.chat`, `tool.readFile`,
 * `tool.writeFile`, `tool.listFiles`, `tool.runCommand`) for the engine's registry.
 *
 * Invariants:
 * 1. `llm.chat` streams every token to the workflow's subscribers (`ctx.emit`) as it
 *    arrives and returns only the final `{ content, model, usage }`, which history records.
 * 2. Each LLM call the process makes (answered or failed) is appended to the call ledger
 *    with its workflow, cmd, attempt and usage before the activity returns, so the calls
 *    really made (as opposed to the answers recorded) can be counted across restarts.
 * 3. Tools act inside the calling workflow's workspace only, keyed by the activity's
 *    idempotency key and run (see `workspace-tools.ts`).
 */
import { appendFileSync, mkdirSync } from "node:fs"
import * as path from "node:path"
import { implement, type ActivityContext, type RegisteredActivity } from "../activities"
import { listFiles, llmChat, readFile, runCommand, writeFile, type LlmUsage } from "../../agents"
import { forEachJsonLine } from "./json-lines"
import type { LlmProvider } from "./llm-provider"
import type { ToolCallMeta } from "./tool-ledger"
import { WorkspaceTools, type WorkspaceToolsOptions } from "./workspace-tools"

/** One LLM call made by this process (or an earlier one, read back from the file). */
export interface LlmCallRecord {
  readonly workflowId: string
  readonly runId: string
  readonly cmd: number
  readonly attempt: number
  readonly purpose: string
  readonly outcome: "completed" | "failed"
  readonly model?: string
  readonly usage?: LlmUsage
  readonly error?: string
  /** Epoch ms when the call ended. */
  readonly at: number
}

/** What one workflow's LLM calls cost, as the call ledger counts them. */
export interface LlmCallTotals {
  /** Calls made, answered or failed: what the provider saw. */
  readonly calls: number
  readonly failedCalls: number
  readonly promptTokens: number
  readonly completionTokens: number
  readonly totalTokens: number
}

/**
 * Counts the LLM calls really made, per workflow. With a file, each call is appended as a
 * JSON line, and the counts are read from the file when asked, so they survive restarts (the
 * crash demo compares them with history to show a replay called no model) and the ledger
 * holds no call in memory, however many were made. Without one it keeps the calls in memory
 * (tests).
 *
 * History (`usageFromHistory`) says what was billed for recorded answers; this ledger also
 * sees calls whose answer was lost (a crash before the completion was recorded).
 *
 * @example new LlmCallLedger("./data/workspaces/.llm-calls.jsonl").totalsFor("agent-1")
 */
export class LlmCallLedger {
  private readonly records: LlmCallRecord[] = []

  constructor(readonly file?: string) {}

  /** The calls held in memory: none with a file. */
  get retained(): number {
    return this.records.length
  }

  /** Appends a call. Synchronous on purpose: the line is on disk before the activity's result is. */
  record(record: LlmCallRecord): void {
    if (this.file === undefined) return void this.records.push(record)
    mkdirSync(path.dirname(this.file), { recursive: true })
    appendFileSync(this.file, JSON.stringify(record) + "\n", "utf8")
  }

  /** The calls recorded, oldest first; only those of `workflowId` when given. */
  entries(workflowId?: string): ReadonlyArray<LlmCallRecord> {
    const out: Array<LlmCallRecord> = []
    this.forEach((r) => {
      if (workflowId === undefined || r.workflowId === workflowId) out.push(r)
    })
    return out
  }

  /** The calls and tokens of one workflow (all its runs). */
  totalsFor(workflowId: string): LlmCallTotals {
    let calls = 0
    let failedCalls = 0
    let promptTokens = 0
    let completionTokens = 0
    let totalTokens = 0
    this.forEach((r) => {
      if (r.workflowId !== workflowId) return
      calls += 1
      if (r.outcome === "failed") failedCalls += 1
      promptTokens += r.usage?.promptTokens ?? 0
      completionTokens += r.usage?.completionTokens ?? 0
      totalTokens += r.usage?.totalTokens ?? 0
    })
    return { calls, failedCalls, promptTokens, completionTokens, totalTokens }
  }

  private forEach(each: (record: LlmCallRecord) => void): void {
    if (this.file === undefined) for (const r of this.records) each(r)
    else forEachJsonLine(this.file, each)
  }
}

/** The name of the call ledger file kept at the workspace root by default. */
export const LLM_CALL_LEDGER_FILE = ".llm-calls.jsonl"

export interface AgentActivitiesOptions {
  readonly llm: LlmProvider
  /** The folder holding one workspace folder per workflow, e.g. `./data/workspaces`. */
  readonly workspaceRoot: string
  /** Where LLM calls are counted; by default a ledger file `.llm-calls.jsonl` in `workspaceRoot`. */
  readonly callLedger?: LlmCallLedger
  /** Command allow-list, timeout and size limits of the tools. */
  readonly tools?: Omit<WorkspaceToolsOptions, "root">
  /**
   * The process's `WorkspaceTools`, when other activities write to the same workspaces: one
   * instance serialises each workspace's writes (`tools` is then not used).
   */
  readonly workspaceTools?: WorkspaceTools
}

/** What a tool call needs of its activity's context: the keys that make a write happen once. */
export const toolCallMeta = (ctx: ActivityContext): ToolCallMeta => ({
  idempotencyKey: ctx.idempotencyKey,
  // The key is workflowId/cmd, and cmds start again at 1 after continueAsNew: the run id
  // keeps a write of the new run from being mistaken for one of the old run.
  runId: ctx.runId,
  attempt: ctx.attempt,
  signal: ctx.signal
})

/**
 * The agent activities, ready for the engine's registry: `llm.chat` backed by `llm`, and the
 * four workspace tools confined to `<workspaceRoot>/<workflowId>`.
 *
 * @example
 * const activities = agentActivities({ llm: llmFromEnv(process.env), workspaceRoot: "./data/workspaces" })
 */
export const agentActivities = (options: AgentActivitiesOptions): RegisteredActivity[] => {
  const { llm } = options
  const ledger =
    options.callLedger ?? new LlmCallLedger(path.join(options.workspaceRoot, LLM_CALL_LEDGER_FILE))
  const tools =
    options.workspaceTools ?? new WorkspaceTools({ ...options.tools, root: options.workspaceRoot })

  const chat = implement(llmChat, async (input, ctx) => {
    const base = {
      workflowId: ctx.workflowId,
      runId: ctx.runId,
      cmd: ctx.cmd,
      attempt: ctx.attempt,
      purpose: input.purpose
    }
    try {
      const result = await llm.complete(input, {
        signal: ctx.signal,
        onToken: (text) => ctx.emit({ type: "llm.token", cmd: ctx.cmd, purpose: input.purpose, text })
      })
      ledger.record({
        ...base,
        outcome: "completed",
        model: result.model,
        usage: result.usage,
        at: Date.now()
      })
      return result
    } catch (error) {
      ledger.record({
        ...base,
        outcome: "failed",
        error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
        at: Date.now()
      })
      throw error
    }
  })

  return [
    chat,
    implement(readFile, (input, ctx) =>
      tools.workspace(ctx.workflowId).readFile(input.path, toolCallMeta(ctx))
    ),
    implement(writeFile, (input, ctx) =>
      tools.workspace(ctx.workflowId).writeFile(input.path, input.content, toolCallMeta(ctx))
    ),
    implement(listFiles, (input, ctx) =>
      tools.workspace(ctx.workflowId).listFiles(input.path, toolCallMeta(ctx))
    ),
    implement(runCommand, (input, ctx) =>
      tools.workspace(ctx.workflowId).runCommand(input.command, input.args ?? [], toolCallMeta(ctx))
    )
  ]
}
