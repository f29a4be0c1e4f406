/**
 * Temporal Lite server: the HTTP API (declared once in api/), implemented on the engine as a
 * Layer on Node's HTTP server, and the `serve` program behind `npm start` and
 * `temporal-lite serve`.
 */
export { readSettings, ServeConfig, settingsFromEnv, type ServeSettings } from "./config"
export { loadRegistry, type Registry, type RegistryConfig, RegistryError } from "./registry"
export { replayFile, type ReplayOutcome } from "./replay"
export { serve, serverLayer, serverUrl } from "./serve"
export { ServerLive, type ServerOptions } from "./server"
