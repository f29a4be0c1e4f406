/**
 * The examples as a server registry (Node): the module `npm start` loads by default. It
 * exports what the server's loader reads:
 *
 * - `workflows`: every example workflow (from `examples/index.ts`, the browser-safe half);
 * - `activities(config)`: their implementations (`examples/activities.ts`), with the
 *   workspaces under `<dataDir>/workspaces` and the LLM the environment asks for (it throws
 *   when the LLM settings in `env` are malformed: the server stops at start, naming the
 *   variable);
 * - `banner(config)`: the line saying which LLM answers, printed under the start line, so
 *   nobody mistakes the offline scripted model for a real one.
 */
import { llmFromEnv } from "../runtime/agents"
import type { RegistryConfig } from "../server/registry"

export { workflows } from "./index"
export { activities } from "./activities"
export type { RegistryConfig }

/** `LLM: offline scripted model (…)` or `LLM: OpenAI-compatible … model …`. */
export const banner = (config: Pick<RegistryConfig, "dataDir" | "env">): string =>
  llmFromEnv(config.env).description
