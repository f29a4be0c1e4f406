/**
 * A typed client of the API, derived from its declaration (api.ts): what the CLI and the
 * debugger use, and what another TypeScript service can use to drive a server. Runs wherever
 * `fetch` does (Node, a browser).
 *
 * Failures are the API's error classes (`BadRequest`, `NotFound`, …, each with `code`,
 * `message`, `details`), or the HTTP client's own when the server cannot be reached.
 *
 * @example
 * const client = yield* makeApiClient({ baseUrl: "http://127.0.0.1:8233", token: process.env.TEMPORAL_LITE_TOKEN })
 * const { id } = yield* client.workflows.start({ payload: { type: "codeReview", input: { code } } })
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpApiClient from "@effect/platform/HttpApiClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Effect from "effect/Effect"
import { Api } from "./api"

export interface ClientOptions {
  /** The server's base URL, e.g. http://127.0.0.1:8233. */
  readonly baseUrl: string
  /** Sent as `Authorization: Bearer <token>` when set. */
  readonly token?: string | undefined
}

/** The client; needs an `HttpClient` (see {@link makeApiClientFetch} for one on `fetch`). */
export const makeApiClient = (options: ClientOptions) =>
  HttpApiClient.make(Api, {
    baseUrl: options.baseUrl.replace(/\/+$/, ""),
    ...(options.token
      ? { transformClient: HttpClient.mapRequest(HttpClientRequest.bearerToken(options.token)) }
      : {})
  })

/** The client on the platform's `fetch`. */
export const makeApiClientFetch = (options: ClientOptions) =>
  makeApiClient(options).pipe(Effect.provide(FetchHttpClient.layer))

export type ApiClient = Effect.Effect.Success<ReturnType<typeof makeApiClient>>
