/**
 * `serve`: the engine on its database (the SQLite file, or PostgreSQL with DATABASE_URL), the
 * registry's workflows, the HTTP API and the debugger, until SIGTERM/SIGINT (which drain: see
 * server.ts).
 */
import * as HttpServer from "@effect/platform/HttpServer"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as HashSet from "effect/HashSet"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as path from "node:path"
import { EngineLive, ensureFolderOf, parseDatabaseUrl, StoreError } from "../runtime"
import { API_VERSION } from "../api"
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

/**
 * The server and its engine for `settings` and an already loaded registry, as one Layer (the
 * `Engine` too is in its output, for what runs beside the server).
 */
export const serverLayer = (settings: ServeSettings, registry: Registry) =>
  ServerLive({
    host: settings.host,
    port: settings.port,
    token: settings.token,
    corsOrigins: settings.corsOrigins,
    allowedHosts: settings.allowedHosts,
    bodyLimit: settings.bodyLimit,
    headersTimeoutMs: settings.headersTimeoutMs,
    requestTimeoutMs: settings.requestTimeoutMs,
    debuggerDir: settings.debuggerDir,
    workflows: registry.workflows
  }).pipe(
    Layer.provideMerge(
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

/**
 * The registry of `settings`, its data folder created (the database's folder); fails with a
 * `StoreError` naming the folder and the cause when it cannot be created.
 */
export const loadServeRegistry = (settings: ServeSettings) =>
  Effect.gen(function* () {
    const dbPath = path.resolve(settings.dbPath)
    yield* ensureFolderOf(dbPath)
    return yield* loadRegistry(settings.registryPath, {
      dataDir: path.dirname(dbPath),
      dbPath,
      env: process.env
    })
  })

/** The base URL of a listening server. */
export const serverUrl = (server: HttpServer.HttpServer): string => {
  const address = server.address
  return address._tag === "TcpAddress"
    ? `http://${address.hostname.includes(":") ? `[${address.hostname}]` : address.hostname}:${address.port}`
    : `unix:${address.path}`
}

/**
 * What the server logs, one plain line each (a level, the message, the cause when there is
 * one), on stderr: a stuck run, a failed task, a request that failed unexpectedly.
 */
export const serverLogger = Logger.make(({ logLevel, message, cause, date }) => {
  const text = (Array.isArray(message) ? message : [message])
    .map((part) =>
      Cause.isCause(part)
        ? Cause.pretty(part)
        : part instanceof Error
          ? (part.stack ?? String(part))
          : String(part)
    )
    .join(" ")
  const why = Cause.isEmpty(cause) ? "" : `\n${Cause.pretty(cause)}`
  console.error(`${date.toISOString()} ${logLevel.label} ${text}${why}`)
})

/** Runs the server until interrupted; fails when the registry, the database or the port refuses. */
export const serve = (settings: ServeSettings, options: ServeOptions = {}) =>
  Effect.scoped(
    Effect.gen(function* () {
      const log = options.log ?? ((line: string) => console.log(line))
      // Before the build, which takes a while: a database folder that cannot be made fails at once.
      const registry = yield* loadServeRegistry(settings)
      if (options.buildDebugger !== false) yield* ensureDebuggerBuild(settings.debuggerDir, log)
      const context = yield* Layer.build(serverLayer(settings, registry))
      const url = serverUrl(Context.get(context, HttpServer.HttpServer))
      for (const line of startLines(url, settings, registry)) log(line)
      return yield* Effect.never
    })
  ).pipe(Effect.locallyWith(FiberRef.currentLoggers, () => HashSet.make(serverLogger)))

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
