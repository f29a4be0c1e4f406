/**
 * `serve`: the engine on its database (the SQLite file, or PostgreSQL with DATABASE_URL), the
 * registry's workflows, the HTTP API and the debugger, until SIGTERM/SIGINT (which drain: see
 * server.ts).
 */
import * as HttpServer from "@effect/platform/HttpServer"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { mkdirSync } from "node:fs"
import * as path from "node:path"
import { EngineLive, parseDatabaseUrl, StoreError } from "../runtime"
import { API_VERSION } from "./api"
import type { ServeSettings } from "./config"
import { ensureDebuggerBuild } from "./debugger-build"
import { loadRegistry, type Registry } from "./registry"
import { ServerLive } from "./server"
import { DEBUGGER_PATH, DOCS_PATH } from "./static"

export interface ServeOptions {
  /** Where the start line and notes go (default: stdout). */
  readonly log?: (line: string) => void
  /** Build the debugger first when it is missing or stale (default true). */
  readonly buildDebugger?: boolean
}

const displayPath = (file: string) => {
  const relative = path.relative(process.cwd(), file)
  return relative.startsWith("..") ? file : relative
}

/** Where the engine's database is, as the start line shows it (never a password). */
const databaseLine = (settings: ServeSettings) => {
  const durable = settings.synchronous !== "NORMAL"
  if (settings.databaseUrl === undefined)
    return `${displayPath(path.resolve(settings.dbPath))} (SQLite, synchronous=${durable ? "FULL" : "NORMAL"})`
  const database = parseDatabaseUrl(settings.databaseUrl)
  const named = database instanceof StoreError ? "DATABASE_URL" : database.named
  return `PostgreSQL ${named} (synchronous_commit=${durable ? "on" : "off"})`
}

/** The lines printed once the server listens; the first names the docs and debugger URLs. */
export const startLines = (
  url: string,
  settings: ServeSettings,
  registry: Registry
): ReadonlyArray<string> => [
  `Temporal Lite ${API_VERSION} listening on ${url} — API docs ${url}${DOCS_PATH} · debugger ${url}${DEBUGGER_PATH}`,
  `  database   ${databaseLine(settings)}`,
  `  workflows  ${registry.workflows.map((w) => w.name).join(", ") || "none"} (${displayPath(registry.modulePath)})`,
  `  auth       ${settings.token ? "bearer token required on every route but /api/health" : "none (set TEMPORAL_LITE_TOKEN to require a bearer token)"}`,
  ...(settings.corsOrigins
    ? [`  cors       ${settings.corsOrigins === "*" ? "any origin" : settings.corsOrigins.join(", ")}`]
    : []),
  // The registry's own line, e.g. which LLM provider its activities call.
  ...(registry.banner ? [`  ${registry.banner}`] : [])
]

/** The server and its engine for `settings` and an already loaded registry, as one Layer. */
export const serverLayer = (settings: ServeSettings, registry: Registry) =>
  ServerLive({
    host: settings.host,
    port: settings.port,
    token: settings.token,
    corsOrigins: settings.corsOrigins,
    bodyLimit: settings.bodyLimit,
    debuggerDir: settings.debuggerDir
  }).pipe(
    Layer.provide(
      EngineLive({
        dbPath: path.resolve(settings.dbPath),
        databaseUrl: settings.databaseUrl,
        workflows: registry.workflows,
        activities: registry.activities,
        ...(settings.synchronous ? { synchronous: settings.synchronous } : {}),
        ...(settings.activityConcurrency ? { activityConcurrency: settings.activityConcurrency } : {})
      })
    )
  )

/** The registry of `settings`, its data folder created (the database's folder). */
export const loadServeRegistry = (settings: ServeSettings) =>
  Effect.gen(function* () {
    const dbPath = path.resolve(settings.dbPath)
    const dataDir = path.dirname(dbPath)
    yield* Effect.sync(() => mkdirSync(dataDir, { recursive: true }))
    return yield* loadRegistry(settings.registryPath, { dataDir, dbPath, env: process.env })
  })

/** The base URL of a listening server. */
export const serverUrl = (server: HttpServer.HttpServer): string => {
  const address = server.address
  return address._tag === "TcpAddress"
    ? `http://${address.hostname.includes(":") ? `[${address.hostname}]` : address.hostname}:${address.port}`
    : `unix:${address.path}`
}

/** Runs the server until interrupted; fails when the registry, the database or the port refuses. */
export const serve = (settings: ServeSettings, options: ServeOptions = {}) =>
  Effect.scoped(
    Effect.gen(function* () {
      const log = options.log ?? ((line: string) => console.log(line))
      if (options.buildDebugger !== false) yield* ensureDebuggerBuild(settings.debuggerDir, log)
      const registry = yield* loadServeRegistry(settings)
      const context = yield* Layer.build(serverLayer(settings, registry))
      const url = serverUrl(Context.get(context, HttpServer.HttpServer))
      for (const line of startLines(url, settings, registry)) log(line)
      return yield* Effect.never
    })
  )

/** One line for a failure to start, naming what refused. */
export const describeStartFailure = (error: unknown): string => {
  const e = error as { _tag?: string; message?: string; cause?: unknown; reason?: string }
  switch (e._tag) {
    case "ServeError": {
      const code = (e.cause as { code?: string } | undefined)?.code
      return code === "EADDRINUSE"
        ? "cannot listen: the address is in use (another server on this port? set PORT)"
        : `cannot listen: ${(e.cause as Error | undefined)?.message ?? String(e.cause)}`
    }
    case "StoreError":
      return `cannot open the database (${e.reason}): ${e.message}`
    case "RegistryError":
    case "SettingsError":
      return e.message ?? String(error)
    default:
      return e.message ?? String(error)
  }
}
