/**
 * Choosing the LLM provider from the environment.
 *
 * - `LLM_BASE_URL` set: the OpenAI-compatible HTTP provider (`openai-provider.ts`) at that
 *   URL, with `LLM_API_KEY` (optional: local servers need none) and `LLM_MODEL`
 *   (default `gpt-4o-mini`).
 * - `LLM_BASE_URL` unset or empty: the offline scripted model (`scripted-provider.ts`),
 *   deterministic and free, with `LLM_OFFLINE_DELAY_MS` ms per call (default 0).
 *
 * Print `provider.description` at start so nobody mistakes the scripted model for a real one.
 */
import type { LlmProvider } from "./llm-provider"
import { openAiCompatibleProvider } from "./openai-provider"
import { scriptedProvider } from "./scripted-provider"

/** The model used when `LLM_BASE_URL` is set but `LLM_MODEL` is not. */
export const DEFAULT_OPENAI_MODEL = "gpt-4o-mini"

/**
 * The provider the environment asks for (see the module doc). Throws an `Error` naming the
 * variable when one is malformed (a non-http URL, a negative or non-numeric delay), so a bad
 * configuration stops the server at start rather than failing every LLM call.
 *
 * @example const llm = llmFromEnv(process.env); console.log(llm.description)
 */
export const llmFromEnv = (env: Readonly<Record<string, string | undefined>> = process.env): LlmProvider => {
  const baseUrl = env["LLM_BASE_URL"]?.trim()
  if (baseUrl) {
    return openAiCompatibleProvider({
      baseUrl,
      apiKey: env["LLM_API_KEY"]?.trim() || undefined,
      model: env["LLM_MODEL"]?.trim() || DEFAULT_OPENAI_MODEL
    })
  }
  const rawDelay = env["LLM_OFFLINE_DELAY_MS"]?.trim()
  const delayMs = rawDelay ? Number(rawDelay) : 0
  if (!Number.isFinite(delayMs) || delayMs < 0)
    throw new Error(
      `LLM_OFFLINE_DELAY_MS must be a non-negative number of milliseconds, got ${JSON.stringify(rawDelay)}`
    )
  return scriptedProvider({ delayMs })
}
