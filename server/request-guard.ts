/**
 * What every request passes through around the API: the checks a browser or a slow client
 * cannot get past, CORS, the token outside the API, and the last word on errors. The API's
 * own token check, body limit and decoding are the platform's (api/security.ts, auth.ts,
 * `HttpIncomingMessage.MaxBodySize`); this module turns their failures into the envelope.
 *
 * Invariants:
 * 1. Every answer that is not a success is the envelope `{ error: { code, message, details } }`.
 * 2. A request whose Host is not one this server answers to is refused (DNS rebinding): the
 *    bound address, loopback names and ALLOWED_HOSTS.
 * 3. A state-changing request from a browser page of another origin is refused unless
 *    CORS_ORIGINS allows it; a request with a body must say `application/json` (a page can
 *    send `text/plain` anywhere without asking).
 * 4. A body is never read past the limit: a declared length over it is a 413 before any of
 *    it is read. Any refusal of a request whose body is unread closes the connection after
 *    the answer, so a client cannot make the server read (and drop) an endless upload.
 * 5. Bad input never reaches a handler as a defect: malformed JSON is a 400, an unknown
 *    route a 404 (405 with `Allow` when only the method is wrong), a path parameter the
 *    router cannot decode a 400. A 500 means a bug of ours; it is logged with its cause.
 */
import * as HttpApi from "@effect/platform/HttpApi"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpMethod from "@effect/platform/HttpMethod"
import * as HttpMiddleware from "@effect/platform/HttpMiddleware"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import {
  Api,
  BadRequest,
  envelope,
  JsonBody,
  jsonDepthExceeds,
  MAX_JSON_DEPTH,
  PayloadTooLarge,
  type ErrorCode,
  type ErrorDetails
} from "../api"
import { requireTokenOutsideApi, WWW_AUTHENTICATE } from "./auth"

export interface GuardOptions {
  /** When set, required on every route but health (auth.ts). */
  readonly token: Redacted.Redacted | undefined
  /** Largest accepted request body, in bytes. */
  readonly bodyLimit: number
  /** `undefined`: no CORS headers (same origin only); `"*"`: any origin; else the allowed origins. */
  readonly corsOrigins: ReadonlyArray<string> | "*" | undefined
  /** Host names answered besides the bound address and loopback names; `"*"`: any Host. */
  readonly allowedHosts: ReadonlyArray<string> | "*"
  /** The address the server binds. */
  readonly host: string
}

export const errorResponse = <C extends ErrorCode>(
  status: number,
  code: C,
  message: string,
  details: ErrorDetails<C>,
  headers?: Record<string, string>
) =>
  HttpServerResponse.unsafeJson(envelope(code, message, details), { status, ...(headers ? { headers } : {}) })

const pathOf = (url: string): string => {
  const q = url.indexOf("?")
  return q === -1 ? url : url.slice(0, q)
}

// ---------------------------------------------------------------------------------------
// Routes known to the server, for 404 vs 405 and for what the API guards itself
// ---------------------------------------------------------------------------------------

interface KnownRoute {
  readonly method: string
  readonly pattern: RegExp
}

const toPattern = (route: string): RegExp =>
  new RegExp(
    "^" +
      route
        .split("/")
        .map((part) =>
          part.startsWith(":") ? "[^/]+" : part === "*" ? ".*" : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
        )
        .join("/") +
      "$"
  )

const apiRoutes = (): ReadonlyArray<KnownRoute> => {
  const routes: Array<KnownRoute> = []
  HttpApi.reflect(Api, {
    onGroup: () => {},
    onEndpoint: ({ endpoint }) => routes.push({ method: endpoint.method, pattern: toPattern(endpoint.path) })
  })
  return routes
}

// ---------------------------------------------------------------------------------------
// Invariant 2: Host
// ---------------------------------------------------------------------------------------

const LOOPBACK = ["localhost", "127.0.0.1", "::1", "[::1]"]
const WILDCARD = ["0.0.0.0", "::", "[::]"]

/** The host name of a Host header (`name:port`, `[v6]:port`), lower-cased. */
const hostName = (host: string): string => {
  const trimmed = host.trim().toLowerCase()
  if (trimmed.startsWith("[")) return trimmed.slice(0, trimmed.indexOf("]") + 1)
  const colon = trimmed.lastIndexOf(":")
  return colon === -1 ? trimmed : trimmed.slice(0, colon)
}

const isIpLiteral = (name: string) => /^\d{1,3}(\.\d{1,3}){3}$/.test(name) || name.startsWith("[")

const hostAllowed = (options: GuardOptions) => {
  if (options.allowedHosts === "*") return () => true
  const names = new Set([
    ...LOOPBACK,
    options.host.toLowerCase(),
    ...options.allowedHosts.map((h) => h.toLowerCase())
  ])
  const anyAddress = WILDCARD.includes(options.host)
  // Bound to every interface, the server is reached by whatever address the client used;
  // a rebinding attack needs a name, so addresses pass and names must be listed.
  return (name: string) => names.has(name) || (anyAddress && isIpLiteral(name))
}

// ---------------------------------------------------------------------------------------
// Invariant 3: Origin and content type
// ---------------------------------------------------------------------------------------

const STATE_CHANGING = new Set(["POST", "PUT", "PATCH", "DELETE"])

const originAllowed = (options: GuardOptions) => (origin: string, host: string | undefined) => {
  if (options.corsOrigins === "*") return true
  if (options.corsOrigins?.includes(origin)) return true
  // Same origin: the page was served by this server, at the Host the request names.
  try {
    const url = new URL(origin)
    return url.protocol === "http:" && host !== undefined && url.host === host.toLowerCase()
  } catch {
    return false
  }
}

const hasBody = (request: HttpServerRequest.HttpServerRequest) =>
  request.headers["transfer-encoding"] !== undefined || Number(request.headers["content-length"] ?? 0) > 0

const isJson = (contentType: string | undefined) =>
  contentType !== undefined && /^application\/(?:[\w.+-]+\+)?json\s*(;|$)/i.test(contentType.trim())

// ---------------------------------------------------------------------------------------
// The layers, innermost first
// ---------------------------------------------------------------------------------------

/** Invariants 2, 3 and the declared half of 4: refused before the body is touched. */
const checks = (options: GuardOptions) => {
  const allowedHost = hostAllowed(options)
  const allowedOrigin = originAllowed(options)
  return <E, R>(app: HttpApp.Default<E, R>): HttpApp.Default<E, R | HttpServerRequest.HttpServerRequest> =>
    Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      const host = request.headers["host"]
      if (host === undefined || !allowedHost(hostName(host))) {
        return errorResponse(
          403,
          "ForbiddenHost",
          `this server does not answer to the Host ${JSON.stringify(host ?? "")} (set ALLOWED_HOSTS to add a name)`,
          {
            host: host ?? "",
            allowed:
              options.allowedHosts === "*" ? ["*"] : [...LOOPBACK, options.host, ...options.allowedHosts]
          }
        )
      }
      const origin = request.headers["origin"]
      if (STATE_CHANGING.has(request.method) && origin !== undefined && !allowedOrigin(origin, host)) {
        return errorResponse(
          403,
          "ForbiddenOrigin",
          `writes from the origin ${origin} are not allowed (set CORS_ORIGINS to allow it)`,
          {
            origin,
            allowed:
              options.corsOrigins === undefined
                ? []
                : options.corsOrigins === "*"
                  ? ["*"]
                  : [...options.corsOrigins]
          }
        )
      }
      if (HttpMethod.hasBody(request.method)) {
        // A body says it is JSON; so does an empty one that names a type (a parser for another
        // type would wait for a body that never comes).
        const contentType = request.headers["content-type"]
        if ((contentType !== undefined || hasBody(request)) && !isJson(contentType)) {
          return errorResponse(
            415,
            "UnsupportedMediaType",
            `a request body must be application/json, not ${contentType ?? "untyped"}`,
            { contentType: contentType ?? null, expected: "application/json" }
          )
        }
        const declared = Number(request.headers["content-length"])
        if (Number.isFinite(declared) && declared > options.bodyLimit) {
          return errorResponse(
            413,
            "PayloadTooLarge",
            `the request body (${declared} bytes) is over the limit of ${options.bodyLimit} bytes`,
            { limit: options.bodyLimit, size: declared }
          )
        }
      }
      return yield* HttpServerRequest.withMaxBodySize(app, Option.some(options.bodyLimit))
    })
}

/**
 * Invariant 4's second half: an error answered while the body is still unread closes the
 * connection (Node reads and drops the rest of a kept-alive request's body otherwise). A 401
 * also says how to authenticate.
 */
const closeOnRefusal = <E, R>(
  app: HttpApp.Default<E, R>
): HttpApp.Default<E, R | HttpServerRequest.HttpServerRequest> =>
  Effect.gen(function* () {
    const response = yield* app
    if (response.status < 400) return response
    const request = yield* HttpServerRequest.HttpServerRequest
    const incoming = NodeHttpServerRequest.toIncomingMessage(request)
    let out = response
    if (response.status === 401) out = HttpServerResponse.setHeader(out, "www-authenticate", WWW_AUTHENTICATE)
    if (!incoming.complete && hasBody(request)) out = HttpServerResponse.setHeader(out, "connection", "close")
    return out
  })

/** Invariants 1 and 5: whatever escaped the API becomes the envelope. */
const lastWord =
  (routes: ReadonlyArray<KnownRoute>) =>
  <E, R>(app: HttpApp.Default<E, R>): HttpApp.Default<never, R | HttpServerRequest.HttpServerRequest> =>
    Effect.catchAllCause(app, (cause) =>
      Effect.gen(function* () {
        const failure = Cause.failureOption(cause)
        const error = failure._tag === "Some" ? (failure.value as { _tag?: string }) : undefined
        if (error?._tag === "RouteNotFound") {
          const request = yield* HttpServerRequest.HttpServerRequest
          const path = pathOf(request.url)
          const allowed = [...new Set(routes.filter((r) => r.pattern.test(path)).map((r) => r.method))]
          if (allowed.includes(request.method)) {
            // The shape matches a route the router could not take: a parameter it could not decode.
            return errorResponse(
              400,
              "InvalidPath",
              `the path ${path} could not be decoded (bad percent-encoding?)`,
              {
                path
              }
            )
          }
          if (allowed.length > 0) {
            return errorResponse(
              405,
              "MethodNotAllowed",
              `${request.method} is not allowed on ${path}; allowed: ${allowed.join(", ")}`,
              { method: request.method, allowed },
              { allow: allowed.join(", ") }
            )
          }
          return errorResponse(404, "RouteNotFound", `no route ${request.method} ${path}`, {
            method: request.method,
            path
          })
        }
        if (Cause.isInterruptedOnly(cause)) return yield* Effect.failCause(cause as Cause.Cause<never>)
        yield* Effect.logError("unexpected failure while serving a request", cause)
        return errorResponse(500, "Internal", "the server failed unexpectedly; the failure is logged", null)
      })
    )

/**
 * The whole guard around the server's app (see the module invariants). `extraRoutes` are the
 * routes served outside the API (docs, debugger), so a wrong method on them is a 405.
 */
export const guard = (options: GuardOptions, extraRoutes: ReadonlyArray<readonly [string, string]> = []) => {
  const api = apiRoutes()
  const routes = [...api, ...extraRoutes.map(([method, route]) => ({ method, pattern: toPattern(route) }))]
  const isApiRoute = (method: string, path: string) =>
    api.some((r) => r.method === method && r.pattern.test(path))
  return <E, R>(
    app: HttpApp.Default<E, R>
  ): HttpApp.Default<never, R | HttpServerRequest.HttpServerRequest> => {
    let guarded: HttpApp.Default<unknown, R | HttpServerRequest.HttpServerRequest> = requireTokenOutsideApi(
      options.token,
      isApiRoute
    )(lastWord(routes)(app))
    guarded = closeOnRefusal(checks(options)(guarded))
    if (options.corsOrigins !== undefined) {
      guarded = HttpMiddleware.cors({
        allowedOrigins: options.corsOrigins === "*" ? [] : options.corsOrigins,
        allowedHeaders: ["authorization", "content-type", "last-event-id"],
        exposedHeaders: ["www-authenticate", "allow"],
        maxAge: 600
      })(guarded)
    }
    return lastWord(routes)(guarded)
  }
}

// ---------------------------------------------------------------------------------------
// The API's own failures
// ---------------------------------------------------------------------------------------

const MAX_MESSAGE = 400
const clip = (text: string) => (text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE)}…` : text)

/** A body the platform could not read (over the limit, broken off) or parse as JSON. */
const bodyFailure = (
  error: { readonly cause?: unknown },
  bodyLimit: number
): BadRequest | PayloadTooLarge => {
  const cause = error.cause instanceof Error ? error.cause : new Error(String(error.cause))
  if (cause.message === "maxBytes exceeded") {
    return new PayloadTooLarge({
      code: "PayloadTooLarge",
      message: `the request body is over the limit of ${bodyLimit} bytes`,
      details: { limit: bodyLimit }
    })
  }
  return new BadRequest({
    code: "MalformedJson",
    message: `the request body is not valid JSON: ${clip(cause.message)}`,
    details: null
  })
}

/**
 * The API's `JsonBody` check (api/json-body.ts): the body read once by the platform, under
 * `MaxBodySize`, parsed, and its depth bounded; the handler's decoding reuses the read text.
 */
export const JsonBodyLive = (bodyLimit: number) =>
  Layer.succeed(
    JsonBody,
    Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      if (!HttpMethod.hasBody(request.method)) return
      const body = yield* Effect.mapError(request.json, (e) => bodyFailure(e, bodyLimit))
      if (jsonDepthExceeds(body, MAX_JSON_DEPTH)) {
        return yield* Effect.fail(
          new BadRequest({
            code: "MalformedJson",
            message: `the request body nests deeper than ${MAX_JSON_DEPTH} levels`,
            details: null
          })
        )
      }
    })
  )

/** The API-level middleware that answers the framework's decode failures with the envelope. */
export const ApiFailuresAsEnvelope = HttpApiBuilder.middleware(
  Api,
  (app) =>
    Effect.catchIf(
      app as HttpApp.Default<unknown>,
      (e): e is { _tag: "HttpApiDecodeError"; issues: unknown } =>
        (e as { _tag?: unknown })?._tag === "HttpApiDecodeError",
      (e) => Effect.fail(decodeErrorOf(e))
    ) as HttpApp.Default<BadRequest>
)

/** The framework's decode error carries its issues already formatted; rebuilt as ours. */
const decodeErrorOf = (e: { issues: unknown; message?: unknown }): BadRequest => {
  const issues = (e.issues as ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>).map(
    (i) => ({
      path: i.path.filter((p): p is string | number => typeof p !== "symbol"),
      message: clip(i.message)
    })
  )
  const telling = issues.filter((issue) => !issue.message.startsWith("Expected undefined"))
  const chosen = (telling.length > 0 ? telling : issues).slice(0, 10)
  const first = chosen[0]
  const at = first && first.path.length > 0 ? ` at "${first.path.join(".")}"` : ""
  return new BadRequest({
    code: "InvalidRequest",
    message: `the request does not match the API's schema${at}: ${first?.message ?? clip(String(e.message))}`,
    details: { path: first?.path ?? [], issues: chosen }
  })
}
