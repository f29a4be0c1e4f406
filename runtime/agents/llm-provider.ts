/**
 * The interface every LLM provider implements, and the errors they fail with.
 *
 * Failures are classified by what the engine should do next:
 * - `LlmRetryableError` (429, 5xx, network, a stream cut short): the attempt fails and the
 *   activity's retry policy tries again.
 * - `NonRetryableError` (400, 401, 403, 404, a refused request): the activity fails at once,
 *   since sending the same request again cannot succeed.
 * - An aborted call rejects with the signal's reason (an `AbortError`), untouched.
 */
import { NonRetryableError } from "../activities"
import type { LlmChatInput, LlmChatOutput } from "../../agents"

/** A chat request: the messages, and what the call is for (which the scripted model reads). */
export type LlmRequest = LlmChatInput

/** The final answer with its token usage: what history records. */
export type LlmResponse = LlmChatOutput

export interface LlmCallOptions {
  /** Aborts the call (the activity was cancelled or timed out); the promise rejects with its reason. */
  readonly signal?: AbortSignal
  /** Receives each piece of the answer as it arrives, in order; their concatenation is `content`. */
  readonly onToken?: (text: string) => void
}

export interface LlmProvider {
  /** `"openai-compatible"` or `"offline-scripted"`. */
  readonly kind: string
  /** One line for the server's start message, saying plainly which model answers. */
  readonly description: string
  /**
   * Runs one chat completion, streaming the answer through `onToken`.
   * Rejects with `LlmRetryableError` or `NonRetryableError` (see the module doc).
   */
  complete(request: LlmRequest, options?: LlmCallOptions): Promise<LlmResponse>
}

/**
 * A failure that may pass if the call is made again: rate limited, server error, network
 * down. A plain `Error` whose `name` is `LlmRetryableError`, so the engine's policy retries it.
 */
export class LlmRetryableError extends Error {
  constructor(
    message: string,
    readonly details?: unknown
  ) {
    super(message)
    this.name = "LlmRetryableError"
  }
}

export { NonRetryableError }

/**
 * A rough token count for providers that report none: about four characters per token for
 * English text and code, the usual rule of thumb for GPT tokenizers.
 */
export const estimateTokens = (text: string): number => (text.length === 0 ? 0 : Math.ceil(text.length / 4))

/** The estimated prompt size of a conversation: its texts plus a few tokens per message of framing. */
export const estimatePromptTokens = (messages: LlmRequest["messages"]): number =>
  messages.reduce((sum, m) => sum + estimateTokens(m.content) + 4, 0)

/** Rejects with the signal's reason if it is aborted: checked before each step that costs. */
export const throwIfAborted = (signal: AbortSignal | undefined): void => {
  if (signal?.aborted) throw signal.reason ?? new DOMException("The operation was aborted.", "AbortError")
}

/** Waits `ms`, rejecting with the signal's reason as soon as it aborts. */
export const abortableDelay = (ms: number, signal: AbortSignal | undefined): Promise<void> =>
  new Promise((resolve, reject) => {
    if (signal?.aborted)
      return reject(signal.reason ?? new DOMException("The operation was aborted.", "AbortError"))
    const onAbort = () => {
      clearTimeout(timer)
      reject(signal!.reason ?? new DOMException("The operation was aborted.", "AbortError"))
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort)
      resolve()
    }, ms)
    signal?.addEventListener("abort", onAbort, { once: true })
  })
