/**
 * The examples as a server registry (Node): the module `npm start` loads by default. It
 * exports what the server's loader reads:
 *
 * - `workflows`: every example workflow (from `examples/index.ts`, the browser-safe half);
 * - `activities(config)`: their implementations (`examples/activities.ts`), with the
 *   workspaces under `<dataDir>/workspaces` and the LLM the environment asks for;
 * - `banner(config)`: the line saying which LLM answers, printed under the start line, so
 *   nobody mistakes the offline scripted model for a real one.
 */
import { llmFromEnv } from "../runtime/agents"
import { activities as exampleActivities, type ExampleActivitiesConfig } from "./activities"

export { workflows } from "./index"

/** What the server hands the registry: its data folder and environment. */
export interface RegistryConfig {
  readonly dataDir: string
  readonly env: Readonly<Record<string, string | undefined>>
}

/**
 * The example activities for a server with this data folder and environment. Throws when
 * the LLM settings in `env` are malformed (the server stops at start, naming the variable).
 */
export const activities = (config: RegistryConfig & Omit<ExampleActivitiesConfig, "dataDir" | "env">) =>
  exampleActivities(config)

/** `LLM: offline scripted model (…)` or `LLM: OpenAI-compatible … model …`. */
export const banner = (config: RegistryConfig): string => llmFromEnv(config.env).description
