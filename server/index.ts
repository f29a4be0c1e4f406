/**
 * Temporal Lite server: the HTTP API (declared once in api.ts), its Layer on Node's HTTP
 * server, the typed client derived from it, and the `serve` program behind `npm start` and
 * `temporal-lite serve`.
 */
export { Api, WorkflowsGroup, WorkflowTypesGroup, SystemGroup, API_VERSION } from "./api"
export {
  BadRequest,
  Conflict,
  ErrorEnvelope,
  NotFound,
  PayloadTooLarge,
  QueryHandlerFailed,
  Unauthorized,
  Unavailable,
  type ApiError
} from "./api-errors"
export { makeApiClient, makeApiClientFetch, type ApiClient, type ClientOptions } from "./client"
export { settingsFromEnv, type ServeSettings } from "./config"
export { loadRegistry, type Registry, type RegistryConfig, RegistryError } from "./registry"
export { replayFile, type ReplayOutcome } from "./replay"
export { serve, serverLayer, serverUrl } from "./serve"
export { ServerLive, type ServerOptions } from "./server"
