/**
 * What every request passes through before and after the API: CORS, the bearer token, the
 * body (size limit, JSON syntax, nesting depth) and the last word on errors.
 *
 * Invariants:
 * 1. Every answer that is not a success is the envelope `{ error: { code, message, details } }`.
 * 2. Bad input never reaches a handler as a defect: a body over the limit is a 413 before it
 *    is buffered past the limit, malformed or too-deeply nested JSON is a 400, an unknown
 *    route a 404 (405 with `Allow` when only the method is wrong).
 * 3. With a token configured, nothing but `GET /api/health` (and CORS preflights) is served
 *    without it: the API, the SSE stream, the docs, the OpenAPI document, the debugger files.
 * 4. A 500 means a bug of ours; it is logged with its cause.
 */
import * as HttpApi from "@effect/platform/HttpApi"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import type * as HttpApp from "@effect/platform/HttpApp"
import * as Headers from "@effect/platform/Headers"
import * as HttpMethod from "@effect/platform/HttpMethod"
import * as HttpMiddleware from "@effect/platform/HttpMiddleware"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { createHash, timingSafeEqual } from "node:crypto"
import type * as Http from "node:http"
import { Api } from "./api"
import { BadRequest, envelope } from "./api-errors"

export interface GuardOptions {
  /** When set, `Authorization: Bearer <token>` is required on every route but health. */
  readonly token: string | undefined
  /** Largest accepted request body, in bytes. */
  readonly bodyLimit: number
  /** `undefined`: no CORS headers (same origin only); `"*"`: any origin; else the allowed origins. */
  readonly corsOrigins: ReadonlyArray<string> | "*" | undefined
  /** Deepest accepted JSON nesting (arrays and objects). */
  readonly maxJsonDepth?: number
}

export const TOKEN_COOKIE = "temporal_lite_token"
const DEFAULT_MAX_DEPTH = 128

const errorResponse = (
  status: number,
  code: string,
  message: string,
  details: unknown = null,
  headers?: Headers.Input
) =>
  HttpServerResponse.unsafeJson(envelope(code, message, details), { status, ...(headers ? { headers } : {}) })

const pathOf = (url: string): string => {
  const q = url.indexOf("?")
  return q === -1 ? url : url.slice(0, q)
}

// ---------------------------------------------------------------------------------------
// Routes known to the server, for 404 vs 405
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

const knownRoutes = (extra: ReadonlyArray<readonly [string, string]>): ReadonlyArray<KnownRoute> => {
  const routes: Array<KnownRoute> = extra.map(([method, route]) => ({ method, pattern: toPattern(route) }))
  HttpApi.reflect(Api, {
    onGroup: () => {},
    onEndpoint: ({ endpoint }) => routes.push({ method: endpoint.method, pattern: toPattern(endpoint.path) })
  })
  return routes
}

// ---------------------------------------------------------------------------------------
// The layers of the guard, innermost first
// ---------------------------------------------------------------------------------------

/** Invariants 1, 2 (404/405) and 4: whatever escaped the API becomes the envelope. */
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
              { path }
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
        return errorResponse(500, "Internal", "the server failed unexpectedly; the failure is logged")
      })
    )

/** How deep `text` nests arrays and objects, stopping early past `max`. Strings are skipped. */
export const jsonDepthExceeds = (text: string, max: number): boolean => {
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 92 /* \ */) i++
      else if (c === 34 /* " */) inString = false
    } else if (c === 34) inString = true
    else if (c === 91 /* [ */ || c === 123 /* { */) {
      if (++depth > max) return true
    } else if (c === 93 || c === 125) depth--
  }
  return false
}

type BodyOutcome =
  | { readonly _tag: "Body"; readonly text: string }
  | { readonly _tag: "TooLarge"; readonly size: number }
  | { readonly _tag: "Unreadable"; readonly message: string }

/** Buffers the raw body up to `limit` bytes; past it, stops buffering and lets Node discard the rest. */
const readBody = (source: Http.IncomingMessage, limit: number): Effect.Effect<BodyOutcome> =>
  Effect.async<BodyOutcome>((resume) => {
    const chunks: Array<Buffer> = []
    let size = 0
    const cleanup = () => {
      source.off("data", onData)
      source.off("end", onEnd)
      source.off("error", onError)
    }
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) {
        cleanup()
        source.resume()
        resume(Effect.succeed({ _tag: "TooLarge", size }))
      } else chunks.push(chunk)
    }
    const onEnd = () => {
      cleanup()
      resume(Effect.succeed({ _tag: "Body", text: Buffer.concat(chunks).toString("utf8") }))
    }
    const onError = (error: Error) => {
      cleanup()
      resume(Effect.succeed({ _tag: "Unreadable", message: error.message }))
    }
    source.on("data", onData)
    source.on("end", onEnd)
    source.on("error", onError)
    return Effect.sync(cleanup)
  })

/**
 * The request the API sees once the body is checked: JSON whatever the content type said
 * (so `curl -d` works without a header), its text and parsed value already in hand.
 */
const withCheckedBody = (request: HttpServerRequest.HttpServerRequest, text: string, json: unknown) => {
  const asJson = request.modify({ headers: Headers.set(request.headers, "content-type", "application/json") })
  return Object.create(asJson, {
    text: { value: Effect.succeed(text) },
    json: { value: Effect.succeed(json) }
  }) as HttpServerRequest.HttpServerRequest
}

/** Invariant 2: the body is read here, once, under the limit; the API receives it parsed. */
const checkedBody =
  (bodyLimit: number, maxDepth: number) =>
  <E, R>(app: HttpApp.Default<E, R>): HttpApp.Default<E, R | HttpServerRequest.HttpServerRequest> =>
    Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      if (!HttpMethod.hasBody(request.method)) return yield* app
      const limitText = `${bodyLimit} bytes`
      const declared = Number(request.headers["content-length"])
      if (Number.isFinite(declared) && declared > bodyLimit) {
        return errorResponse(
          413,
          "PayloadTooLarge",
          `the request body (${declared} bytes) is over the limit of ${limitText}`,
          {
            limit: bodyLimit,
            size: declared
          }
        )
      }
      const body = yield* readBody(NodeHttpServerRequest.toIncomingMessage(request), bodyLimit)
      switch (body._tag) {
        case "TooLarge":
          return errorResponse(413, "PayloadTooLarge", `the request body is over the limit of ${limitText}`, {
            limit: bodyLimit
          })
        case "Unreadable":
          return errorResponse(400, "UnreadableBody", `the request body could not be read: ${body.message}`)
        case "Body": {
          if (body.text.trim() === "")
            return yield* Effect.provideService(
              app,
              HttpServerRequest.HttpServerRequest,
              withCheckedBody(request, "", null)
            )
          if (jsonDepthExceeds(body.text, maxDepth)) {
            return errorResponse(
              400,
              "MalformedJson",
              `the request body nests deeper than ${maxDepth} levels`,
              {
                maxDepth
              }
            )
          }
          const parsed = Either.try(() => JSON.parse(body.text) as unknown)
          if (Either.isLeft(parsed)) {
            return errorResponse(
              400,
              "MalformedJson",
              `the request body is not valid JSON: ${(parsed.left as Error).message}`
            )
          }
          return yield* Effect.provideService(
            app,
            HttpServerRequest.HttpServerRequest,
            withCheckedBody(request, body.text, parsed.right)
          )
        }
      }
    })

const digest = (value: string) => createHash("sha256").update(value).digest()

const tokenMatches = (expected: Buffer, given: string | undefined): boolean =>
  given !== undefined && given !== "" && timingSafeEqual(expected, digest(given))

/** Invariant 3. Browsers cannot add a header to a page load, so `?access_token=` also works and sets a cookie. */
const bearerAuth =
  (token: string) =>
  <E, R>(app: HttpApp.Default<E, R>): HttpApp.Default<E, R | HttpServerRequest.HttpServerRequest> => {
    const expected = digest(token)
    return Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      const path = pathOf(request.url)
      if (path === "/api/health") return yield* app
      const header = request.headers["authorization"]
      const bearer = header?.toLowerCase().startsWith("bearer ") ? header.slice(7).trim() : undefined
      if (tokenMatches(expected, bearer) || tokenMatches(expected, request.cookies[TOKEN_COOKIE]))
        return yield* app
      const query = new URLSearchParams(request.url.slice(path.length)).get("access_token") ?? undefined
      if (tokenMatches(expected, query)) {
        const response = yield* app
        return request.method === "GET" && !path.startsWith("/api/")
          ? HttpServerResponse.unsafeSetCookie(response, TOKEN_COOKIE, token, {
              httpOnly: true,
              sameSite: "strict",
              path: "/"
            })
          : response
      }
      return errorResponse(
        401,
        "Unauthorized",
        header === undefined
          ? "a bearer token is required (Authorization: Bearer <token>)"
          : "the bearer token is not valid",
        null,
        { "www-authenticate": 'Bearer realm="temporal-lite"' }
      )
    })
  }

/**
 * The whole guard around the server's app (see the module invariants). `extraRoutes` are the
 * routes served outside the API (docs, debugger), so a wrong method on them is a 405.
 */
export const guard = (options: GuardOptions, extraRoutes: ReadonlyArray<readonly [string, string]> = []) => {
  const routes = knownRoutes(extraRoutes)
  return <E, R>(
    app: HttpApp.Default<E, R>
  ): HttpApp.Default<never, R | HttpServerRequest.HttpServerRequest> => {
    let guarded = checkedBody(
      options.bodyLimit,
      options.maxJsonDepth ?? DEFAULT_MAX_DEPTH
    )(lastWord(routes)(app))
    if (options.token !== undefined) guarded = bearerAuth(options.token)(guarded)
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

/**
 * The API-level middleware that answers the framework's own schema failures (path, query,
 * headers, body) as a 400 envelope naming the first failing field.
 */
export const DecodeErrorsAsEnvelope = HttpApiBuilder.middleware(
  Api,
  (app) =>
    Effect.catchIf(
      app as HttpApp.Default<unknown>,
      (e): e is DecodeError => (e as { _tag?: unknown })?._tag === "HttpApiDecodeError",
      (e) => Effect.fail(decodeErrorToBadRequest(e))
    ) as HttpApp.Default<BadRequest>
)

interface DecodeError {
  readonly _tag: "HttpApiDecodeError"
  readonly issues: ReadonlyArray<{ readonly path: ReadonlyArray<PropertyKey>; readonly message: string }>
  readonly message: string
}

const MAX_MESSAGE = 400
const clip = (text: string) => (text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE)}…` : text)

export const decodeErrorToBadRequest = (e: DecodeError): BadRequest => {
  const all = e.issues.map((issue) => ({
    path: issue.path.filter((p): p is string | number => typeof p !== "symbol"),
    message: clip(issue.message)
  }))
  // An optional field's schema is `X | undefined`: its "Expected undefined" branch says nothing.
  const telling = all.filter((issue) => !issue.message.startsWith("Expected undefined"))
  const issues = (telling.length > 0 ? telling : all).slice(0, 10)
  const first = issues[0]
  const at = first && first.path.length > 0 ? ` at "${first.path.join(".")}"` : ""
  return new BadRequest({
    code: "InvalidRequest",
    message: `the request does not match the API's schema${at}: ${first?.message ?? clip(e.message)}`,
    details: { path: first?.path ?? [], issues }
  })
}
