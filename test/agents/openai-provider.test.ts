/**
 * The OpenAI-compatible provider against a real HTTP server on loopback that speaks the
 * chat-completions streaming protocol (SSE `data:` chunks, a usage chunk, `[DONE]`).
 * The server's behaviour is chosen per request by the `model` field.
 */
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { ActivityContext } from "../../runtime"
import { llmChat } from "../../agents"
import {
  agentActivities,
  chatCompletionsUrl,
  LlmCallLedger,
  llmFromEnv,
  NonRetryableError,
  openAiCompatibleProvider,
  type LlmRequest
} from "../../runtime/agents"
import { attemptError, nextRetryDelay, resolvePolicy } from "../../runtime/activities"
import { failure } from "../support/failure"

interface Seen {
  readonly url: string
  readonly headers: http.IncomingHttpHeaders
  readonly body: any
}

const seen: Seen[] = []
const attemptsByModel = new Map<string, number>()
let server: http.Server
let base: string

const sse = (res: http.ServerResponse, chunks: ReadonlyArray<unknown>, options: { done?: boolean } = {}) => {
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" })
  let i = 0
  // Chunks go out on separate ticks, the way a real server trickles tokens.
  const next = () => {
    if (i < chunks.length) {
      res.write(`data: ${JSON.stringify(chunks[i++])}\n\n`)
      setTimeout(next, 2)
    } else {
      if (options.done !== false) res.write("data: [DONE]\n\n")
      res.end()
    }
  }
  res.write(": keep-alive comment\n\n")
  next()
}

const deltas = (model: string, pieces: ReadonlyArray<string>) => [
  {
    id: "c1",
    object: "chat.completion.chunk",
    model,
    choices: [{ index: 0, delta: { role: "assistant", content: "" } }]
  },
  ...pieces.map((content) => ({
    id: "c1",
    object: "chat.completion.chunk",
    model,
    choices: [{ index: 0, delta: { content } }]
  })),
  {
    id: "c1",
    object: "chat.completion.chunk",
    model,
    choices: [{ index: 0, delta: {}, finish_reason: "stop" }]
  }
]

const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
  let raw = ""
  req.on("data", (d) => (raw += d))
  req.on("end", () => {
    const body = JSON.parse(raw)
    seen.push({ url: req.url!, headers: req.headers, body })
    if (req.url !== "/v1/chat/completions") {
      res.writeHead(404, { "content-type": "application/json" })
      return res.end(JSON.stringify({ error: { message: `no route ${req.url}` } }))
    }
    const model: string = body.model
    const attempt = (attemptsByModel.get(model) ?? 0) + 1
    attemptsByModel.set(model, attempt)
    const error = (status: number, message: string) => {
      res.writeHead(status, { "content-type": "application/json", "retry-after": "1" })
      res.end(JSON.stringify({ error: { message, type: "test" } }))
    }
    switch (model) {
      case "stream":
        return sse(res, [
          ...deltas("stream-1", ["Hello", ", ", "durable", " world"]),
          {
            id: "c1",
            object: "chat.completion.chunk",
            model: "stream-1",
            choices: [],
            usage: { prompt_tokens: 11, completion_tokens: 4, total_tokens: 15 }
          }
        ])
      case "flaky":
        if (attempt === 1) return error(429, "Rate limit reached, retry in 1s")
        return sse(res, [
          ...deltas("flaky-1", ["second ", "time ", "lucky"]),
          { choices: [], usage: { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 } }
        ])
      case "bad-request":
        return error(400, "messages[0].role must be one of system, user, assistant")
      case "unauthorized":
        return error(401, "Incorrect API key provided")
      case "overloaded":
        return error(503, "The server is overloaded")
      case "no-usage":
        return sse(res, deltas("no-usage", ["twelve chars"]))
      case "cut":
        return sse(res, deltas("cut", ["half an ans"]), { done: false })
      case "slow":
        res.writeHead(200, { "content-type": "text/event-stream" })
        res.write(`data: ${JSON.stringify(deltas("slow", ["first"])[1])}\n\n`)
        return // never finishes: the client must abort
      case "plain-json":
        res.writeHead(200, { "content-type": "application/json" })
        return res.end(
          JSON.stringify({
            model: "plain-json",
            choices: [{ index: 0, message: { role: "assistant", content: "not streamed" } }],
            usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 }
          })
        )
      default:
        return error(404, `The model ${model} does not exist`)
    }
  })
}

beforeAll(async () => {
  server = http.createServer(handler)
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
})

const request: LlmRequest = {
  purpose: "review",
  messages: [
    { role: "system", content: "Be brief." },
    { role: "user", content: "Say hello." }
  ]
}

const provider = (model: string, baseUrl = base) =>
  openAiCompatibleProvider({ baseUrl, apiKey: "sk-test-123", model })

describe("chatCompletionsUrl", () => {
  it("accepts a base with or without /v1 and trailing slashes", () => {
    expect(chatCompletionsUrl("http://h:1")).toBe("http://h:1/v1/chat/completions")
    expect(chatCompletionsUrl("http://h:1/")).toBe("http://h:1/v1/chat/completions")
    expect(chatCompletionsUrl("http://h:1/v1")).toBe("http://h:1/v1/chat/completions")
    expect(chatCompletionsUrl("http://h:1/v1/")).toBe("http://h:1/v1/chat/completions")
    expect(() => chatCompletionsUrl("h:1")).toThrow(/LLM_BASE_URL must be an http\(s\) URL/)
  })
})

describe("OpenAI-compatible provider", () => {
  it("streams the deltas to onToken in order and returns the assembled message with the server's usage", async () => {
    const tokens: string[] = []
    const result = await provider("stream").complete(request, { onToken: (t) => tokens.push(t) })
    expect(tokens).toEqual(["Hello", ", ", "durable", " world"])
    expect(result).toEqual({
      content: "Hello, durable world",
      model: "stream-1",
      usage: { promptTokens: 11, completionTokens: 4, totalTokens: 15 }
    })
    const sent = seen.find((s) => s.body.model === "stream")!
    expect(sent.url).toBe("/v1/chat/completions")
    expect(sent.headers["authorization"]).toBe("Bearer sk-test-123")
    expect(sent.body).toEqual({
      model: "stream",
      messages: request.messages,
      stream: true,
      stream_options: { include_usage: true }
    })
  })

  it("works with a base URL that already ends in /v1", async () => {
    const result = await provider("stream", `${base}/v1/`).complete(request)
    expect(result.content).toBe("Hello, durable world")
  })

  it("classifies a 429 as retryable, and the retried call succeeds", async () => {
    const llm = provider("flaky")
    const error = await failure(llm.complete(request))
    expect(error.name).toBe("LlmRetryableError")
    expect(error.nonRetryable).not.toBe(true)
    expect(error.message).toContain("429")
    expect(error.message).toContain("Rate limit reached")
    expect(error.details).toMatchObject({ status: 429, retryAfter: "1" })
    expect(error.message).not.toContain("sk-test-123")

    const result = await llm.complete(request)
    expect(result).toEqual({
      content: "second time lucky",
      model: "flaky-1",
      usage: { promptTokens: 7, completionTokens: 3, totalTokens: 10 }
    })
  })

  it("classifies 400 and 401 as non-retryable (a NonRetryableError, known by its tag), naming the server's reason", async () => {
    const bad = await failure(provider("bad-request").complete(request))
    expect(bad.name).toBe("NonRetryableError")
    expect(bad).toBeInstanceOf(NonRetryableError)
    expect(bad.message).toMatch(/answered 400.*messages\[0\]\.role must be one of/)
    const unauthorized = await failure(provider("unauthorized").complete(request))
    expect(unauthorized.name).toBe("NonRetryableError")
    expect(unauthorized.message).toMatch(/answered 401.*Incorrect API key/)
    const missing = await failure(provider("no-such-model").complete(request))
    expect(missing.name).toBe("NonRetryableError")
    expect(missing.message).toContain("404")
  })

  it("classifies 5xx and network failures as retryable", async () => {
    const overloaded = await failure(provider("overloaded").complete(request))
    expect(overloaded.name).toBe("LlmRetryableError")
    expect(overloaded.message).toContain("503")

    // A port nothing listens on: bind one, note it, close it.
    const closed = http.createServer()
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve))
    const port = (closed.address() as AddressInfo).port
    await new Promise((resolve) => closed.close(resolve))
    const network = await failure(provider("stream", `http://127.0.0.1:${port}`).complete(request))
    expect(network.name).toBe("LlmRetryableError")
    expect(network.message).toMatch(/failed before an answer/)
  })

  it("estimates usage when the server sends none", async () => {
    const result = await provider("no-usage").complete(request)
    expect(result.content).toBe("twelve chars")
    // 12 characters → 3 tokens; each message ~ its characters / 4 plus 4 of framing.
    expect(result.usage).toEqual({ promptTokens: 3 + 4 + 3 + 4, completionTokens: 3, totalTokens: 17 })
  })

  it("treats a stream that ends before [DONE] as retryable: the answer is incomplete", async () => {
    const error = await failure(provider("cut").complete(request))
    expect(error.name).toBe("LlmRetryableError")
    expect(error.message).toContain("ended before [DONE]")
  })

  it("reads a server that ignores stream: true and answers with one JSON completion", async () => {
    const tokens: string[] = []
    const result = await provider("plain-json").complete(request, { onToken: (t) => tokens.push(t) })
    expect(tokens).toEqual(["not streamed"])
    expect(result).toEqual({
      content: "not streamed",
      model: "plain-json",
      usage: { promptTokens: 3, completionTokens: 2, totalTokens: 5 }
    })
  })

  it("aborts a call mid-stream with the signal's reason, not as a provider failure", async () => {
    const controller = new AbortController()
    const tokens: string[] = []
    const pending = provider("slow").complete(request, {
      signal: controller.signal,
      onToken: (t) => {
        tokens.push(t)
        controller.abort(new DOMException("activity cancelled", "AbortError"))
      }
    })
    const error = await failure(pending)
    expect(tokens).toEqual(["first"])
    expect(error.name).toBe("AbortError")
  })

  it("is what llmFromEnv picks when LLM_BASE_URL is set", () => {
    const llm = llmFromEnv({ LLM_BASE_URL: base, LLM_MODEL: "stream", LLM_API_KEY: "k" })
    expect(llm.kind).toBe("openai-compatible")
    expect(llm.description).toContain(`${base}/v1/chat/completions`)
    expect(llm.description).toContain("model stream")
  })
  it("gets the 429 retried and the 400 failed at once by llm.chat's retry policy", async () => {
    attemptsByModel.delete("flaky")
    const policy = resolvePolicy(llmChat.options.retry)
    const rateLimited = attemptError(await failure(provider("flaky").complete(request)))
    const badRequest = attemptError(await failure(provider("bad-request").complete(request)))
    expect(nextRetryDelay(policy, 1, rateLimited)).toBe(500)
    expect(nextRetryDelay(policy, 2, rateLimited)).toBe(1000)
    expect(nextRetryDelay(policy, 3, rateLimited)).toBeUndefined() // 3 attempts spent
    expect(nextRetryDelay(policy, 1, badRequest)).toBeUndefined()
  })
})

describe("llm.chat activity over the HTTP provider", () => {
  const context = (attempt: number, emitted: unknown[]): ActivityContext => ({
    workflowId: "review-1",
    runId: "run-1",
    cmd: 3,
    activityName: "llm.chat",
    attempt,
    idempotencyKey: "review-1/3",
    signal: new AbortController().signal,
    lastHeartbeat: undefined,
    heartbeat: () => {},
    emit: (chunk) => emitted.push(chunk)
  })

  it("fails the 429 attempt retryably, then streams the second attempt's tokens to the side channel; the ledger counts both calls", async () => {
    attemptsByModel.delete("flaky")
    const ledger = new LlmCallLedger()
    const activities = agentActivities({
      llm: provider("flaky"),
      workspaceRoot: "/nonexistent-unused",
      callLedger: ledger
    })
    const chat = activities.find((a) => a.definition.activityName === "llm.chat")!
    expect(chat.definition.options.retry?.nonRetryableErrors).toEqual(["NonRetryableError"])

    const emitted: unknown[] = []
    const first = await failure(Promise.resolve().then(() => chat.run(request, context(1, emitted))))
    expect(first.name).toBe("LlmRetryableError")
    // The engine retries any error not named in nonRetryableErrors that is not a NonRetryableError.
    expect(chat.definition.options.retry?.nonRetryableErrors).not.toContain(first.name)

    const result = await chat.run(request, context(2, emitted))
    expect(result).toEqual({
      content: "second time lucky",
      model: "flaky-1",
      usage: { promptTokens: 7, completionTokens: 3, totalTokens: 10 }
    })
    expect(emitted).toEqual([
      { type: "llm.token", cmd: 3, purpose: "review", text: "second " },
      { type: "llm.token", cmd: 3, purpose: "review", text: "time " },
      { type: "llm.token", cmd: 3, purpose: "review", text: "lucky" }
    ])
    expect(ledger.totalsFor("review-1")).toEqual({
      calls: 2,
      failedCalls: 1,
      promptTokens: 7,
      completionTokens: 3,
      totalTokens: 10
    })
    expect(ledger.entries("review-1").map((e) => [e.attempt, e.outcome])).toEqual([
      [1, "failed"],
      [2, "completed"]
    ])
  })
})
