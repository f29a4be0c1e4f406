/**
 * The HTTP server as one Layer: the API, the docs, the debugger's files, behind the guard,
 * on Node's HTTP server. It needs an `Engine`.
 *
 * Invariants (releasing the layer: SIGTERM/SIGINT in `serve`, the end of a test):
 * 1. Live SSE streams end first (clients resume later with Last-Event-ID), so the listener
 *    can close.
 * 2. The requests in flight are answered (they still have the engine), for at most
 *    `drainGraceMs`; then every connection is closed and the listener stops.
 * 3. The engine is released last (it finishes its in-flight commits): it was acquired first.
 */
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpMiddleware from "@effect/platform/HttpMiddleware"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServer from "@effect/platform/HttpServer"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { createServer } from "node:http"
import type { Duplex } from "node:stream"
import { Api, envelope } from "../api"
import { MAX_WORKFLOW_ID_LENGTH, type WorkflowDefinition } from "../core"
import { AuthorizationLive } from "./auth"
import { HandlersLive, ServerRuntime } from "./handlers"
import { ApiFailuresAsEnvelope, guard, JsonBodyLive, type GuardOptions } from "./request-guard"
import { DocsLive, debuggerRoutes, staticRoutes } from "./static"

export interface ServerOptions extends GuardOptions {
  /** 0 picks a free port (tests); read it from `HttpServer.HttpServer`'s address. */
  readonly port: number
  /** The registered workflows, whose schemas the OpenAPI document shows. */
  readonly workflows: ReadonlyArray<WorkflowDefinition<any, any>>
  /** How long a request's headers may take to arrive (408 after). */
  readonly headersTimeoutMs: number
  /** How long a whole request, body included, may take to arrive (408 after). */
  readonly requestTimeoutMs: number
  /** The debugger's build folder, served at /debugger/. */
  readonly debuggerDir: string
  readonly heartbeatMs?: number
  /** How long busy connections may take to finish once draining starts. */
  readonly drainGraceMs?: number
  /**
   * A span per request (default off): worth it only with a tracer that exports them, and it
   * costs a URL parse and a dozen attributes on every request.
   */
  readonly tracing?: boolean
}

/**
 * Serves the API on `options.host:options.port`. The layer's output is the running
 * `HttpServer` (its address gives the port when 0 was asked for).
 */
export const ServerLive = (options: ServerOptions) =>
  // Node's server is made when the layer is built, so each build listens on its own.
  Layer.unwrapEffect(Effect.sync(() => makeServerLayer(options)))

const makeServerLayer = (options: ServerOptions) => {
  const node = createServer({
    keepAliveTimeout: 5_000,
    headersTimeout: options.headersTimeoutMs,
    requestTimeout: options.requestTimeoutMs,
    // How often Node looks for requests past those timeouts: often enough that a short one holds.
    connectionsCheckingInterval: Math.max(50, Math.min(1_000, options.headersTimeoutMs / 4))
  })
  const NodeServer = NodeHttpServer.layer(() => node, { port: options.port, host: options.host })
  const inflight = new InflightRequests()
  node.on("clientError", answerUnparsable(options))

  // Built after the listener (it asks for it), so it is released before the listener closes.
  const RuntimeLive = Layer.scoped(
    ServerRuntime,
    Effect.gen(function* () {
      yield* HttpServer.HttpServer
      const shutdown = yield* Deferred.make<void>()
      yield* Effect.addFinalizer(() =>
        Effect.gen(function* () {
          // Invariant 1, then 2: streams end, requests in flight finish, then every
          // connection (idle keep-alive ones, and any a client opened but never used) closes.
          yield* Deferred.succeed(shutdown, undefined)
          yield* inflight.settled(options.drainGraceMs ?? 5_000)
          yield* Effect.sync(() => node.closeAllConnections())
        })
      )
      return { startedAt: Date.now(), shutdown, heartbeatMs: options.heartbeatMs ?? 15_000 }
    })
  )

  const ApiLive = HttpApiBuilder.api(Api).pipe(
    Layer.provide(HandlersLive),
    Layer.provide([AuthorizationLive(options.token), JsonBodyLive(options.bodyLimit)])
  )
  const guarded = guard(options, staticRoutes)

  // What HttpApiBuilder.serve does, with the guard around the app itself rather than given to
  // HttpServer.serve as a middleware: that one only sees answers already written, so it could
  // neither rewrite an unknown route's 404 nor add CORS headers to an error.
  const Serve = HttpApiBuilder.httpApp.pipe(
    Effect.map((app) => HttpServer.serve(inflight.track(guarded(app)))),
    Layer.unwrapEffect,
    Layer.provide([HttpApiBuilder.Router.Live, HttpApiBuilder.Middleware.layer]),
    // Every id the engine takes is served by every route: the router's limit is on the
    // decoded parameter, in UTF-16 units (a character is at most two).
    Layer.provide(HttpRouter.setRouterConfig({ maxParamLength: 2 * MAX_WORKFLOW_ID_LENGTH })),
    HttpMiddleware.withTracerDisabledWhen(() => options.tracing !== true)
  )

  return Serve.pipe(
    Layer.provide([DocsLive(options.workflows), debuggerRoutes(options.debuggerDir), ApiFailuresAsEnvelope]),
    Layer.provide(ApiLive),
    Layer.provide(RuntimeLive),
    Layer.provideMerge(NodeServer)
  )
}

/** Counts the requests being answered, so draining can wait for them. */
class InflightRequests {
  private count = 0
  private waiters: Array<() => void> = []

  track<A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> {
    return Effect.acquireUseRelease(
      Effect.sync(() => this.count++),
      () => effect,
      () =>
        Effect.sync(() => {
          if (--this.count === 0) for (const wake of this.waiters.splice(0)) wake()
        })
    )
  }

  /** Resolves when no request is being answered, or after `graceMs`. */
  settled(graceMs: number): Effect.Effect<void> {
    return Effect.async<void>((resume) => {
      if (this.count === 0) return resume(Effect.void)
      const timer = setTimeout(() => resume(Effect.void), graceMs)
      this.waiters.push(() => {
        clearTimeout(timer)
        resume(Effect.void)
      })
      return Effect.sync(() => clearTimeout(timer))
    })
  }
}

/**
 * Requests Node refuses before they reach the app (an unknown method, a malformed request
 * line or header, headers or a body that took too long) get the envelope rather than Node's
 * bare answer, and the connection is closed.
 */
const answerUnparsable =
  (timeouts: { readonly headersTimeoutMs: number; readonly requestTimeoutMs: number }) =>
  (error: Error & { code?: string }, socket: Duplex): void => {
    if (error.code === "ECONNRESET" || !socket.writable) return void socket.destroy()
    const [status, reason, body] =
      error.code === "ERR_HTTP_REQUEST_TIMEOUT"
        ? ([
            408,
            "Request Timeout",
            envelope(
              "RequestTimeout",
              `the request did not arrive in time (headers within ${timeouts.headersTimeoutMs} ms, all of it within ${timeouts.requestTimeoutMs} ms)`,
              { headersTimeoutMs: timeouts.headersTimeoutMs, requestTimeoutMs: timeouts.requestTimeoutMs }
            )
          ] as const)
        : error.code === "HPE_HEADER_OVERFLOW"
          ? ([
              431,
              "Request Header Fields Too Large",
              envelope("HeaderFieldsTooLarge", `the request's headers are too large: ${error.message}`, {
                parserCode: error.code
              })
            ] as const)
          : ([
              400,
              "Bad Request",
              envelope("UnparsableRequest", `the request could not be parsed: ${error.message}`, {
                parserCode: error.code ?? null
              })
            ] as const)
    const text = JSON.stringify(body)
    socket.end(
      `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`
    )
  }
