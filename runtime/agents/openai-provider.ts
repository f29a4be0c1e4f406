/**
 * An LLM provider speaking the OpenAI chat-completions API, which OpenAI, Azure OpenAI,
 * vLLM, Ollama, LM Studio, llama.cpp and most gateways serve.
 *
 * Each call is one `POST <base>/v1/chat/completions` with `stream: true` and
 * `stream_options: { include_usage: true }`; the Server-Sent Events stream is read as it
 * arrives and every content delta goes to `onToken`. The final message and the usage chunk
 * make the result; a server that sends no usage gets an estimate (`estimateTokens`), and one
 * that ignores `stream` and answers with a plain JSON completion is read as such.
 *
 * Errors: 408, 409, 429, 5xx, network failures and a stream cut before `[DONE]` are
 * `LlmRetryableError`; other 4xx (400, 401, 403, 404, 422…) are `NonRetryableError`. The
 * message names the URL and status and quotes the start of the server's answer; the API key
 * never appears in an error.
 */
import {
  estimatePromptTokens,
  estimateTokens,
  LlmRetryableError,
  NonRetryableError,
  throwIfAborted,
  type LlmCallOptions,
  type LlmProvider,
  type LlmRequest,
  type LlmResponse
} from "./llm-provider"

export interface OpenAiCompatibleOptions {
  /** The server's base URL, with or without the trailing `/v1` (`https://api.openai.com`, `http://127.0.0.1:11434/v1`). */
  readonly baseUrl: string
  /** Sent as `Authorization: Bearer <apiKey>` when given. */
  readonly apiKey?: string | undefined
  readonly model: string
  /** The fetch to use; the global one by default (tests and proxies may pass another). */
  readonly fetch?: typeof globalThis.fetch
}

/** `…/v1/chat/completions` from a base given with or without `/v1` and trailing slashes. */
export const chatCompletionsUrl = (baseUrl: string): string => {
  let base = baseUrl.trim().replace(/\/+$/, "")
  if (!/^https?:\/\//i.test(base))
    throw new Error(`LLM_BASE_URL must be an http(s) URL, got ${JSON.stringify(baseUrl)}`)
  if (base.endsWith("/chat/completions")) return base
  if (!/\/v1$/.test(base)) base = `${base}/v1`
  return `${base}/chat/completions`
}

const retryableStatus = (status: number): boolean =>
  status === 408 || status === 409 || status === 429 || status >= 500

const quote = (text: string): string => {
  const oneLine = text.replace(/\s+/g, " ").trim()
  return oneLine.length > 300 ? `${oneLine.slice(0, 300)}…` : oneLine
}

interface StreamChunk {
  readonly model?: string
  readonly choices?: ReadonlyArray<{
    readonly delta?: { readonly content?: string | null }
    readonly message?: { readonly content?: string | null }
    readonly finish_reason?: string | null
  }>
  readonly usage?: {
    readonly prompt_tokens?: number
    readonly completion_tokens?: number
    readonly total_tokens?: number
  } | null
  readonly error?: { readonly message?: string; readonly type?: string; readonly code?: unknown }
}

/**
 * An OpenAI-compatible provider. See the module doc for streaming and error classification.
 *
 * @example
 * const llm = openAiCompatibleProvider({ baseUrl: "https://api.openai.com", apiKey, model: "gpt-4o-mini" })
 * const { content, usage } = await llm.complete(reviewRequest(code), { signal, onToken: (t) => process.stdout.write(t) })
 */
export const openAiCompatibleProvider = (options: OpenAiCompatibleOptions): LlmProvider => {
  const url = chatCompletionsUrl(options.baseUrl)
  const doFetch = options.fetch ?? globalThis.fetch
  return {
    kind: "openai-compatible",
    description: `LLM: OpenAI-compatible API at ${url}, model ${options.model}`,
    complete: (request, callOptions = {}) => complete(url, options, doFetch, request, callOptions)
  }
}

const complete = async (
  url: string,
  options: OpenAiCompatibleOptions,
  doFetch: typeof globalThis.fetch,
  request: LlmRequest,
  { signal, onToken }: LlmCallOptions
): Promise<LlmResponse> => {
  throwIfAborted(signal)
  const body = {
    model: options.model,
    messages: request.messages.map((m) => ({ role: m.role, content: m.content })),
    stream: true,
    stream_options: { include_usage: true },
    ...(request.temperature === undefined ? {} : { temperature: request.temperature })
  }
  let response: Response
  try {
    response = await doFetch(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "text/event-stream, application/json",
        ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {})
      },
      body: JSON.stringify(body),
      ...(signal === undefined ? {} : { signal })
    })
  } catch (error) {
    // An abort is the caller's decision, not a failure of the server: pass it through as is.
    throwIfAborted(signal)
    throw new LlmRetryableError(`LLM request to ${url} failed before an answer: ${describeCause(error)}`, {
      url,
      cause: describeCause(error)
    })
  }

  if (!response.ok) {
    const text = await response.text().catch(() => "")
    const detail = errorMessageOf(text)
    const message = `LLM endpoint ${url} answered ${response.status}${response.statusText ? ` ${response.statusText}` : ""}${detail ? `: ${detail}` : ""}`
    const details = {
      url,
      status: response.status,
      retryAfter: response.headers.get("retry-after") ?? undefined
    }
    if (retryableStatus(response.status)) throw new LlmRetryableError(message, details)
    throw new NonRetryableError({ message, details })
  }

  const contentType = response.headers.get("content-type") ?? ""
  const state: { content: string; model: string | undefined; usage: StreamChunk["usage"] } = {
    content: "",
    model: undefined,
    usage: undefined
  }
  if (!contentType.includes("text/event-stream")) {
    // The server ignored `stream: true` and sent the whole completion at once.
    const text = await response.text()
    let parsed: StreamChunk
    try {
      parsed = JSON.parse(text) as StreamChunk
    } catch {
      throw new LlmRetryableError(
        `LLM endpoint ${url} sent a body that is neither SSE nor JSON: ${quote(text)}`,
        { url }
      )
    }
    if (parsed.error) throw streamError(url, parsed.error)
    state.content = parsed.choices?.[0]?.message?.content ?? ""
    state.model = parsed.model
    state.usage = parsed.usage
    if (state.content) onToken?.(state.content)
  } else {
    await readEventStream(url, response, signal, (chunk) => {
      if (chunk.error) throw streamError(url, chunk.error)
      if (chunk.model) state.model = chunk.model
      if (chunk.usage) state.usage = chunk.usage
      const delta = chunk.choices?.[0]?.delta?.content
      if (delta) {
        state.content += delta
        onToken?.(delta)
      }
    })
  }

  const promptTokens = state.usage?.prompt_tokens ?? estimatePromptTokens(request.messages)
  const completionTokens = state.usage?.completion_tokens ?? estimateTokens(state.content)
  return {
    content: state.content,
    model: state.model ?? options.model,
    usage: {
      promptTokens,
      completionTokens,
      totalTokens: state.usage?.total_tokens ?? promptTokens + completionTokens
    }
  }
}

/**
 * Reads an SSE body, handing each `data:` payload (parsed JSON) to `onChunk` until `[DONE]`.
 * Events may span reads and lines may end in CRLF; comments and other fields are skipped. A
 * body that ends without `[DONE]` is a cut stream: retryable, since the answer is incomplete.
 */
const readEventStream = async (
  url: string,
  response: Response,
  signal: AbortSignal | undefined,
  onChunk: (chunk: StreamChunk) => void
): Promise<void> => {
  if (!response.body) throw new LlmRetryableError(`LLM endpoint ${url} sent an empty stream`, { url })
  const reader = response.body.getReader()
  const decoder = new TextDecoder()
  let buffer = ""
  let data: string[] = []
  const dispatch = (): boolean => {
    if (data.length === 0) return false
    const payload = data.join("\n")
    data = []
    if (payload.trim() === "[DONE]") return true
    let chunk: StreamChunk
    try {
      chunk = JSON.parse(payload) as StreamChunk
    } catch {
      throw new LlmRetryableError(
        `LLM endpoint ${url} sent an SSE event that is not JSON: ${quote(payload)}`,
        { url }
      )
    }
    onChunk(chunk)
    return false
  }
  try {
    for (;;) {
      let read: ReadableStreamReadResult<Uint8Array>
      try {
        read = await reader.read()
      } catch (error) {
        throwIfAborted(signal)
        throw new LlmRetryableError(`LLM stream from ${url} broke: ${describeCause(error)}`, { url })
      }
      buffer += read.done ? decoder.decode() : decoder.decode(read.value, { stream: true })
      let newline: number
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, newline).replace(/\r$/, "")
        buffer = buffer.slice(newline + 1)
        if (line === "") {
          if (dispatch()) return
        } else if (line.startsWith("data:")) {
          data.push(line.slice(5).replace(/^ /, ""))
        }
        // `event:`, `id:`, `retry:` and `:` comments carry nothing we use.
      }
      if (read.done) {
        if (buffer.startsWith("data:")) data.push(buffer.slice(5).replace(/^ /, ""))
        if (dispatch()) return
        throw new LlmRetryableError(`LLM stream from ${url} ended before [DONE]: the answer is incomplete`, {
          url
        })
      }
    }
  } finally {
    // Stop the download when we return early ([DONE]) or fail; harmless once the body is read.
    reader.cancel().catch(() => {})
  }
}

const streamError = (url: string, error: NonNullable<StreamChunk["error"]>): Error =>
  new LlmRetryableError(
    `LLM endpoint ${url} reported an error mid-stream: ${error.message ?? JSON.stringify(error)}`,
    {
      url,
      error
    }
  )

/** The `error.message` of an OpenAI-style error body, else the body itself, shortened. */
const errorMessageOf = (text: string): string => {
  try {
    const parsed = JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown }
    if (typeof parsed.error === "string") return quote(parsed.error)
    if (typeof parsed.error?.message === "string") return quote(parsed.error.message)
    if (typeof parsed.message === "string") return quote(parsed.message)
  } catch {
    // not JSON: quote it as is
  }
  return quote(text)
}

const describeCause = (error: unknown): string => {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause
    const inner =
      cause instanceof Error ? ` (${(cause as { code?: string }).code ?? cause.name}: ${cause.message})` : ""
    return `${error.name}: ${error.message}${inner}`
  }
  return String(error)
}
