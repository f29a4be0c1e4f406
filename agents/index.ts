/**
 * Agents as workflow code sees them: the LLM and workspace-tool activity definitions with
 * their schemas, the prompts and the parsers of answers, and LLM usage read from history.
 *
 * Pure: imports `effect` and `core/` only, so workflow code (examples/) and the browser
 * debugger can import it. The Node implementations (the providers, the workspace tools,
 * `agentActivities`) live in `runtime/agents`, which imports this folder, never the reverse.
 */
export * from "./definitions"
export * from "./prompts"
export * from "./usage"
