/**
 * Who may call the API: with a token configured (TEMPORAL_LITE_TOKEN), every route but
 * `/api/health` requires it, as `Authorization: Bearer <token>` or, for the debugger's pages,
 * the same-site cookie a page load with `?access_token=` sets. Declared here, so the OpenAPI
 * document's security section is derived from it; the server implements the check.
 */
import * as HttpApiMiddleware from "@effect/platform/HttpApiMiddleware"
import * as HttpApiSecurity from "@effect/platform/HttpApiSecurity"
import * as OpenApi from "@effect/platform/OpenApi"
import { UnauthorizedWire } from "./errors"

/** The cookie a page load with `?access_token=` sets, so the page's own API calls carry the token. */
export const TOKEN_COOKIE = "temporal_lite_token"

/** Required on every group but the system one (health answers without a token). */
export class Authorization extends HttpApiMiddleware.Tag<Authorization>()("temporal-lite/Authorization", {
  failure: UnauthorizedWire,
  security: {
    bearer: HttpApiSecurity.bearer.pipe(
      HttpApiSecurity.annotate(
        OpenApi.Description,
        "The server's TEMPORAL_LITE_TOKEN; required when the server is started with one"
      )
    ),
    cookie: HttpApiSecurity.apiKey({ in: "cookie", key: TOKEN_COOKIE }).pipe(
      HttpApiSecurity.annotate(
        OpenApi.Description,
        "Set by a page load with ?access_token=<token> (HttpOnly, SameSite=Strict): how the debugger's pages call the API"
      )
    )
  }
}) {}
