/**
 * The HTTP API of DESIGN §6, as the page uses it. Every call settles: a network failure or
 * an error answer comes back as `{ ok: false, error }` (the API's `{ error: { code, message } }`
 * or one made up for an unreachable server), never as a thrown exception.
 *
 * Every request carries the bearer token the page holds (auth.ts); a 401 is also reported
 * to `onUnauthorized`, so the page can ask for the token. The live stream is read with
 * `fetch` (sse-reader.ts), since `EventSource` cannot send the token.
 */
import { authHeaders } from "./auth"
import { readSse } from "./sse-reader"

export interface ApiError {
  readonly code: string
  readonly message: string
  readonly details?: unknown
}

export type ApiResult<A> =
  | { readonly ok: true; readonly status: number; readonly value: A }
  | { readonly ok: false; readonly status: number; readonly error: ApiError }

export interface WorkflowListItem {
  readonly id: string
  readonly type: string
  readonly status: string
  readonly runId?: string
  readonly createdAt?: number
  readonly startedAt?: number
  readonly closedAt?: number
  readonly updatedAt?: number
  readonly lastEventAt?: number
  readonly lastEventType?: string
}

export interface WorkflowTypeInfo {
  readonly name: string
  /** JSON schema of the input, when the type declares one. */
  readonly inputSchema?: unknown
  readonly signals?: ReadonlyArray<string | { readonly name: string; readonly schema?: unknown }>
  readonly queries?: ReadonlyArray<string | { readonly name: string }>
}

export interface StreamHandlers {
  readonly onHistory: (event: unknown) => void
  readonly onChunk?: (chunk: unknown) => void
  readonly onEnd?: () => void
  /** The stream ended without `end`: refused (4xx) or an `event: error` from the server. */
  readonly onError?: (message: string) => void
  /** Connection state for display: "following", or why it is reconnecting. */
  readonly onStatus?: (status: string) => void
}

export interface ApiClient {
  listWorkflows(filter: {
    status?: string
    type?: string
    limit?: number
  }): Promise<ApiResult<ReadonlyArray<WorkflowListItem>>>
  history(id: string): Promise<ApiResult<unknown>>
  start(body: { type: string; input: unknown; id?: string }): Promise<ApiResult<unknown>>
  signal(id: string, signalName: string, data: unknown): Promise<ApiResult<unknown>>
  /** `args` is the query's argument (sent as JSON), when it takes one. */
  query(id: string, name: string, args?: unknown): Promise<ApiResult<unknown>>
  cancel(id: string): Promise<ApiResult<unknown>>
  workflowTypes(): Promise<ApiResult<ReadonlyArray<WorkflowTypeInfo>>>
  /** The source file of a registered workflow type; undefined when the server has no such endpoint. */
  workflowSource(type: string): Promise<{ path: string; text: string } | undefined>
  /**
   * Follows a workflow's history over SSE, from the event after `afterSeq` (from the start
   * when omitted); returns a function that stops following.
   */
  stream(id: string, handlers: StreamHandlers, afterSeq?: number): () => void
}

const enc = encodeURIComponent

export interface ApiClientOptions {
  readonly base?: string
  /** Called on every 401 answer (the API, or the stream). */
  readonly onUnauthorized?: (message: string) => void
}

export const createApiClient = (options: ApiClientOptions = {}): ApiClient => {
  const base = options.base ?? ""
  const call = async <A>(method: string, path: string, body?: unknown): Promise<ApiResult<A>> => {
    let response: Response
    try {
      response = await fetch(`${base}${path}`, {
        method,
        headers: { ...authHeaders(), ...(body === undefined ? {} : { "content-type": "application/json" }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) })
      })
    } catch (error) {
      return {
        ok: false,
        status: 0,
        error: { code: "Unreachable", message: `server unreachable: ${String(error)}` }
      }
    }
    const text = await response.text()
    let json: unknown = undefined
    try {
      json = text === "" ? undefined : JSON.parse(text)
    } catch {
      json = undefined
    }
    if (response.ok) return { ok: true, status: response.status, value: (json ?? text) as A }
    const error = (json as { error?: Partial<ApiError> } | undefined)?.error
    if (response.status === 401) options.onUnauthorized?.(error?.message ?? "a bearer token is required")
    return {
      ok: false,
      status: response.status,
      error: {
        code: typeof error?.code === "string" ? error.code : `HTTP${response.status}`,
        message:
          typeof error?.message === "string"
            ? error.message
            : `${response.status} ${response.statusText} ${text.slice(0, 200)}`.trim(),
        ...(error?.details === undefined ? {} : { details: error.details })
      }
    }
  }

  const listOf = <A>(value: unknown, ...keys: Array<string>): ReadonlyArray<A> => {
    if (Array.isArray(value)) return value as Array<A>
    for (const key of keys) {
      const inner = (value as Record<string, unknown> | undefined)?.[key]
      if (Array.isArray(inner)) return inner as Array<A>
    }
    return []
  }

  return {
    async listWorkflows(filter) {
      const params = new URLSearchParams()
      if (filter.status) params.set("status", filter.status)
      if (filter.type) params.set("type", filter.type)
      if (filter.limit) params.set("limit", String(filter.limit))
      const result = await call<unknown>("GET", `/api/workflows${params.size ? `?${params}` : ""}`)
      return result.ok
        ? { ...result, value: listOf<WorkflowListItem>(result.value, "workflows", "items") }
        : result
    },
    history: (id) => call("GET", `/api/workflows/${enc(id)}/history`),
    start: (body) => call("POST", "/api/workflows", body),
    signal: (id, signalName, data) => call("POST", `/api/workflows/${enc(id)}/signal`, { signalName, data }),
    query: (id, name, args) =>
      call(
        "GET",
        `/api/workflows/${enc(id)}/query/${enc(name)}${args === undefined ? "" : `?args=${enc(JSON.stringify(args))}`}`
      ),
    cancel: (id) => call("POST", `/api/workflows/${enc(id)}/cancel`),
    async workflowTypes() {
      const result = await call<unknown>("GET", "/api/workflow-types")
      return result.ok
        ? { ...result, value: listOf<WorkflowTypeInfo>(result.value, "types", "workflowTypes", "items") }
        : result
    },
    async workflowSource(type) {
      const result = await call<unknown>("GET", `/api/workflow-types/${enc(type)}/source`)
      if (!result.ok) return undefined
      const value = result.value
      if (typeof value === "string") return { path: `${type}.ts`, text: value }
      const v = value as { path?: unknown; file?: unknown; source?: unknown; text?: unknown }
      const text = typeof v.source === "string" ? v.source : typeof v.text === "string" ? v.text : undefined
      if (text === undefined) return undefined
      const path = typeof v.path === "string" ? v.path : typeof v.file === "string" ? v.file : `${type}.ts`
      return { path, text }
    },
    stream(id, handlers, afterSeq) {
      const parse = (data: string): unknown => {
        try {
          return JSON.parse(data)
        } catch {
          return data
        }
      }
      const reader = readSse(
        {
          url: `${base}/api/workflows/${enc(id)}/stream`,
          headers: authHeaders,
          ...(afterSeq === undefined ? {} : { lastEventId: String(afterSeq) }),
          isEnd: (e) => e.event === "end"
        },
        {
          onOpen: () => handlers.onStatus?.("following"),
          onEvent: (e) => {
            if (e.event === "history") handlers.onHistory(parse(e.data))
            else if (e.event === "chunk") handlers.onChunk?.(parse(e.data))
            else if (e.event === "end") handlers.onEnd?.()
            else if (e.event === "error") {
              const error = (parse(e.data) as { error?: { message?: string } } | undefined)?.error
              handlers.onError?.(`the live stream failed: ${error?.message ?? e.data}`)
            }
          },
          onClosed: (problem) => {
            if (!problem) return
            if (problem.status === 401) options.onUnauthorized?.(problem.message)
            handlers.onError?.(`the live stream was refused: ${problem.message}`)
          },
          onReconnecting: (reason, ms) =>
            handlers.onStatus?.(`${reason}; reconnecting in ${(ms / 1000).toFixed(0)} s…`)
        }
      )
      return reader.stop
    }
  }
}
