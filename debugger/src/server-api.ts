/**
 * The server's API as the page uses it: the client derived from the API's declaration
 * (api/: `HttpApiClient`), with each call settled as a result. A network failure or an error
 * answer comes back as `{ ok: false, status, error }` (the API's `{ code, message, details }`,
 * or one made up for an unreachable server, status 0), never as a thrown exception.
 *
 * Every request carries the bearer token the page holds (auth.ts); a 401 is also reported
 * to `onUnauthorized`, so the page can ask for the token. The live stream is read with
 * `fetch` (sse-reader.ts), since `EventSource` cannot send the token.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpApiClient from "@effect/platform/HttpApiClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { Api, type WorkflowTypeInfo } from "../../api"
import type { HistoryFile, RunStatus, WorkflowSummary } from "../../core"
import { authHeaders } from "./auth"
import { readSse } from "./sse-reader"

export type { WorkflowSummary, WorkflowTypeInfo }

export interface ApiError {
  readonly code: string
  readonly message: string
  readonly details?: unknown
}

export type ApiResult<A> =
  | { readonly ok: true; readonly status: number; readonly value: A }
  | { readonly ok: false; readonly status: number; readonly error: ApiError }

export interface StreamHandlers {
  readonly onHistory: (event: unknown) => void
  readonly onChunk?: (chunk: unknown) => void
  readonly onEnd?: () => void
  /** The stream ended without `end`: refused (4xx) or an `event: error` from the server. */
  readonly onError?: (message: string) => void
  /** Connection state for display: "following", or why it is reconnecting. */
  readonly onStatus?: (status: string) => void
}

/** The list API's search (GET /api/workflows): every filter optional. */
export interface ListFilter {
  readonly idPrefix?: string
  readonly status?: RunStatus
  readonly type?: string
  readonly startedAfter?: number
  readonly startedBefore?: number
  readonly closedAfter?: number
  readonly closedBefore?: number
  readonly limit?: number
  readonly cursor?: string
}

/** One run of an id, as the runs API (issue 14) lists it. */
export interface RunInfo {
  readonly runId: string
  readonly status?: string
}

export interface ServerApi {
  listWorkflows(filter: ListFilter): Promise<
    ApiResult<{
      readonly workflows: ReadonlyArray<WorkflowSummary>
      readonly nextCursor?: string | undefined
    }>
  >
  countWorkflows(filter: Omit<ListFilter, "limit" | "cursor">): Promise<ApiResult<number>>
  /**
   * The history of the id's current run, or of run `runId`. A server without the runs API
   * (issue 14) answers its current run whatever `runId` says: callers compare the runId.
   */
  history(id: string, runId?: string): Promise<ApiResult<HistoryFile>>
  /** The id's runs, newest first; undefined when the server has no runs API. */
  runs(id: string): Promise<ReadonlyArray<RunInfo> | undefined>
  start(body: { type: string; input: unknown; id?: string }): Promise<ApiResult<{ readonly id: string }>>
  signal(id: string, signalName: string, data: unknown): Promise<ApiResult<unknown>>
  /** `args` is the query's argument (sent as JSON), when it takes one. */
  query(id: string, name: string, args?: unknown): Promise<ApiResult<unknown>>
  cancel(id: string): Promise<ApiResult<unknown>>
  workflowTypes(): Promise<ApiResult<ReadonlyArray<WorkflowTypeInfo>>>
  /** The source file of a registered workflow type; undefined when the server has none to give. */
  workflowSource(type: string): Promise<{ path: string; text: string } | undefined>
  /**
   * Follows a workflow's history over SSE, from the event after `afterSeq` (from the start
   * when omitted); returns a function that stops following.
   */
  stream(id: string, handlers: StreamHandlers, afterSeq?: number): () => void
}

const enc = encodeURIComponent

export interface ServerApiOptions {
  readonly base?: string
  /** No server to ask (a page opened from file://): every call answers Unreachable at once. */
  readonly offline?: boolean
  /** Called on every 401 answer (the API, or the stream). */
  readonly onUnauthorized?: (message: string) => void
}

/** The HTTP status each of the API's error classes answers with. */
const statusOf: Record<string, number> = {
  BadRequest: 400,
  Unauthorized: 401,
  Forbidden: 403,
  NotFound: 404,
  RequestTimeout: 408,
  Conflict: 409,
  PayloadTooLarge: 413,
  UnsupportedMediaType: 415,
  QueryHandlerFailed: 422,
  Internal: 500,
  Unavailable: 503
}

const unreachable = (message: string): ApiResult<never> => ({
  ok: false,
  status: 0,
  error: { code: "Unreachable", message }
})
const offline = unreachable("no server: the page was opened from a file")

export const createServerApi = (options: ServerApiOptions = {}): ServerApi => {
  const client = Effect.runSync(
    HttpApiClient.make(Api, {
      baseUrl: options.base ?? "",
      // Read per request: the token may be given after the page loaded.
      transformClient: HttpClient.mapRequest((request) =>
        HttpClientRequest.setHeaders(request, authHeaders())
      )
    }).pipe(Effect.provide(FetchHttpClient.layer))
  )

  const call = async <A>(
    status: number,
    effect: (c: typeof client) => Effect.Effect<A, unknown>
  ): Promise<ApiResult<A>> => {
    if (options.offline) return offline
    const outcome = await Effect.runPromise(Effect.either(effect(client)))
    if (Either.isRight(outcome)) return { ok: true, status, value: outcome.right }
    const e = outcome.left as {
      _tag?: string
      code?: string
      message?: string
      details?: unknown
      response?: { status: number }
    }
    if (typeof e.code === "string") {
      const answered = statusOf[e._tag ?? ""] ?? 0
      if (answered === 401) options.onUnauthorized?.(e.message ?? "a bearer token is required")
      return {
        ok: false,
        status: answered,
        error: { code: e.code, message: e.message ?? "", details: e.details }
      }
    }
    if (e._tag === "ResponseError") {
      const answered = e.response?.status ?? 0
      return {
        ok: false,
        status: answered,
        error: { code: `HTTP${answered}`, message: e.message ?? "unexpected answer" }
      }
    }
    // The client checks a request against the API's schema before sending it.
    if (e._tag === "ParseError")
      return { ok: false, status: 0, error: { code: "InvalidRequest", message: e.message ?? "" } }
    return unreachable(`server unreachable: ${e.message ?? String(e)}`)
  }

  /**
   * A GET of a route api/ does not declare yet (issue 14's runs API: `?runId=`, `/runs`), so
   * the derived client cannot call it; replaced by the client once api/ declares it.
   */
  const getUndeclared = async <A>(route: string): Promise<ApiResult<A>> => {
    if (options.offline) return offline
    try {
      const response = await fetch(`${options.base ?? ""}${route}`, { headers: authHeaders() })
      const body = (await response.json().catch(() => undefined)) as
        { error?: { code?: string; message?: string } } | undefined
      if (response.ok) return { ok: true, status: response.status, value: body as A }
      if (response.status === 401)
        options.onUnauthorized?.(body?.error?.message ?? "a bearer token is required")
      return {
        ok: false,
        status: response.status,
        error: {
          code: body?.error?.code ?? `HTTP${response.status}`,
          message: body?.error?.message ?? response.statusText
        }
      }
    } catch (e) {
      return unreachable(`server unreachable: ${String(e)}`)
    }
  }

  return {
    listWorkflows: (filter) => call(200, (c) => c.workflows.list({ urlParams: filter })),
    countWorkflows: async (filter) => {
      const result = await call(200, (c) => c.workflows.count({ urlParams: filter }))
      return result.ok ? { ...result, value: result.value.count } : result
    },
    history: (id, runId) =>
      runId === undefined
        ? call(200, (c) => c.workflows.history({ path: { id: enc(id) } }))
        : getUndeclared<HistoryFile>(`/api/workflows/${enc(id)}/history?runId=${enc(runId)}`),
    async runs(id) {
      const result = await getUndeclared<{ runs?: unknown }>(`/api/workflows/${enc(id)}/runs`)
      if (!result.ok || !Array.isArray(result.value.runs)) return undefined
      return result.value.runs.filter(
        (r): r is RunInfo => typeof r === "object" && r !== null && typeof (r as RunInfo).runId === "string"
      )
    },
    start: (body) => call(201, (c) => c.workflows.start({ payload: body })),
    signal: (id, signalName, data) =>
      call(202, (c) =>
        c.workflows.signal({
          path: { id: enc(id) },
          payload: { signalName, ...(data === undefined ? {} : { data }) }
        })
      ),
    query: (id, name, args) =>
      call(200, (c) =>
        c.workflows.query({
          path: { id: enc(id), name: enc(name) },
          urlParams: args === undefined ? {} : { args }
        })
      ),
    cancel: (id) => call(202, (c) => c.workflows.cancel({ path: { id: enc(id) }, urlParams: {} })),
    workflowTypes: async () => {
      const result = await call(200, (c) => c.workflowTypes.list())
      return result.ok ? { ...result, value: result.value.workflowTypes } : result
    },
    async workflowSource(type) {
      const result = await call(200, (c) => c.workflowTypes.source({ path: { type: enc(type) } }))
      return result.ok ? { path: result.value.path, text: result.value.source } : undefined
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
          url: `${options.base ?? ""}/api/workflows/${enc(id)}/stream`,
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
