/**
 * The bearer token check (api/security.ts declares it): the API's `Authorization` middleware,
 * and the same check for what the server serves outside the API (the docs, the OpenAPI
 * document, the debugger's files, unknown routes).
 *
 * Invariants:
 * 1. With a token configured, nothing but `GET /api/health` (and CORS preflights) is served
 *    without it; the comparison takes the same time whatever the given token.
 * 2. The token never appears in a log, an error or an answer (it is `Redacted`).
 * 3. A browser cannot add a header to a page load: a page load with `?access_token=` sets an
 *    HttpOnly, SameSite=Strict cookie, which the page's own API calls then carry.
 */
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import type * as HttpApp from "@effect/platform/HttpApp"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { createHash, timingSafeEqual } from "node:crypto"
import { Authorization, TOKEN_COOKIE, Unauthorized, UnauthorizedWire } from "../api"
import * as Schema from "effect/Schema"

const digest = (value: string) => createHash("sha256").update(value).digest()

/** Whether `given` is the token, in time that does not depend on how much of it matches. */
const makeCheck = (token: Redacted.Redacted) => {
  const expected = digest(Redacted.value(token))
  return (given: string | undefined): boolean =>
    given !== undefined && given !== "" && timingSafeEqual(expected, digest(given))
}

const refusal = (request: HttpServerRequest.HttpServerRequest) =>
  new Unauthorized({
    code: "Unauthorized",
    message:
      request.headers["authorization"] === undefined
        ? "a bearer token is required (Authorization: Bearer <token>)"
        : "the bearer token is not valid",
    details: null
  })

export const WWW_AUTHENTICATE = 'Bearer realm="temporal-lite"'

/** The API's check: the bearer header, else the debugger's cookie (none configured: all pass). */
export const AuthorizationLive = (token: Redacted.Redacted | undefined) =>
  Layer.succeed(
    Authorization,
    token === undefined
      ? { bearer: () => Effect.void, cookie: () => Effect.void }
      : (() => {
          const check = makeCheck(token)
          const verify = (given: Redacted.Redacted) =>
            Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
              check(Redacted.value(given)) ? Effect.void : Effect.fail(refusal(request))
            )
          return { bearer: verify, cookie: verify }
        })()
  )

const encodeRefusal = Schema.encodeSync(UnauthorizedWire)

/**
 * Invariants 1 and 3 for what is not an API endpoint (`isApiRoute` says which requests are):
 * the same token, as a header, the cookie, or `?access_token=` on a page load (which sets the
 * cookie).
 */
export const requireTokenOutsideApi =
  (token: Redacted.Redacted | undefined, isApiRoute: (method: string, path: string) => boolean) =>
  <E, R>(app: HttpApp.Default<E, R>): HttpApp.Default<E, R | HttpServerRequest.HttpServerRequest> => {
    if (token === undefined) return app
    const check = makeCheck(token)
    return Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      const url = new URL(request.url, "http://server")
      if (request.method === "OPTIONS" || isApiRoute(request.method, url.pathname)) return yield* app
      const header = request.headers["authorization"]
      const bearer = header?.startsWith("Bearer ") ? header.slice(7) : undefined
      if (check(bearer) || check(request.cookies[TOKEN_COOKIE])) return yield* app
      if (check(url.searchParams.get("access_token") ?? undefined)) {
        const response = yield* app
        return request.method === "GET"
          ? HttpServerResponse.unsafeSetCookie(response, TOKEN_COOKIE, Redacted.value(token), {
              httpOnly: true,
              sameSite: "strict",
              path: "/"
            })
          : response
      }
      return HttpServerResponse.unsafeJson(encodeRefusal(refusal(request)), {
        status: 401,
        headers: { "www-authenticate": WWW_AUTHENTICATE }
      })
    })
  }
