/**
 * The Node side of the agents: the LLM providers (OpenAI-compatible HTTP, offline scripted),
 * the workspace tools, and `agentActivities`, the implementations the engine registers.
 *
 * Public API of `runtime/agents`. Workflow code (and anything bundled for the browser)
 * imports the pure definitions from `agents/` instead; they are re-exported here so Node
 * callers need one import.
 */
export * from "../../agents"
export {
  abortableDelay,
  estimatePromptTokens,
  estimateTokens,
  LlmRetryableError,
  NonRetryableError,
  type LlmCallOptions,
  type LlmProvider,
  type LlmRequest,
  type LlmResponse
} from "./llm-provider"
export { chatCompletionsUrl, openAiCompatibleProvider, type OpenAiCompatibleOptions } from "./openai-provider"
export { OFFLINE_MODEL, scriptedProvider, type ScriptedProviderOptions } from "./scripted-provider"
export { DEFAULT_OPENAI_MODEL, llmFromEnv } from "./llm"
export { defaultCommands, type CommandAllowList, type CommandSpec } from "./command-policy"
export { readToolLedger, TOOL_LEDGER_FILE, type ToolCallMeta, type ToolLedgerEntry } from "./tool-ledger"
export { workspaceDirName } from "./workspace-names"
export {
  Workspace,
  WorkspaceTools,
  type ListFilesResult,
  type ReadFileResult,
  type RunCommandResult,
  type WorkspaceToolsOptions,
  type WriteFileResult
} from "./workspace-tools"
export { makeSandbox, SANDBOX_WORKSPACE, type Sandbox, type SandboxMode } from "./sandbox"
export {
  agentActivities,
  LLM_CALL_LEDGER_FILE,
  LlmCallLedger,
  toolCallMeta,
  type AgentActivitiesOptions,
  type LlmCallRecord,
  type LlmCallTotals
} from "./activities"
