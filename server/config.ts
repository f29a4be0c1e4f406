/**
 * The server's settings, from the environment (flags of `serve` override them). A bad value
 * stops the server at start with a message naming the variable.
 *
 * | variable | default |
 * | --- | --- |
 * | `HOST` | `127.0.0.1` |
 * | `PORT` | `8233` |
 * | `DB_PATH` | `./data/temporal-lite.db` |
 * | `DATABASE_URL` | unset: the SQLite file of `DB_PATH`; `postgres://…`: that PostgreSQL database |
 * | `TEMPORAL_LITE_TOKEN` | unset: no auth; set: bearer token on every route but `/api/health` |
 * | `CORS_ORIGINS` | unset: same origin only; `*` or a comma list of origins |
 * | `BODY_LIMIT` | `1mb` (bytes, or with `kb`/`mb`, `kib`/`mib`) |
 * | `TEMPORAL_LITE_REGISTRY` | `examples/registry.ts` |
 * | `DB_SYNCHRONOUS` | `FULL` (or `NORMAL`) |
 * | `ACTIVITY_CONCURRENCY` | the engine's default |
 */
import * as Data from "effect/Data"
import * as Either from "effect/Either"
import * as path from "node:path"
import { parseDatabaseUrl, StoreError } from "../runtime"
import { DEFAULT_REGISTRY, repoRoot } from "./registry"

export interface ServeSettings {
  readonly host: string
  readonly port: number
  readonly dbPath: string
  /** `postgres://…`: the engine runs on that PostgreSQL database instead of the SQLite file. */
  readonly databaseUrl: string | undefined
  readonly token: string | undefined
  readonly corsOrigins: ReadonlyArray<string> | "*" | undefined
  readonly bodyLimit: number
  readonly registryPath: string
  readonly debuggerDir: string
  readonly synchronous: "FULL" | "NORMAL" | undefined
  readonly activityConcurrency: number | undefined
}

export class SettingsError extends Data.TaggedError("SettingsError")<{
  readonly variable: string
  readonly message: string
}> {}

export const DEFAULT_PORT = 8233
export const DEFAULT_HOST = "127.0.0.1"
export const DEFAULT_DB_PATH = "./data/temporal-lite.db"
export const DEFAULT_BODY_LIMIT = 1024 * 1024
export const DEFAULT_SERVER_URL = `http://${DEFAULT_HOST}:${DEFAULT_PORT}`

const units: Record<string, number> = {
  "": 1,
  b: 1,
  kb: 1000,
  k: 1024,
  kib: 1024,
  mb: 1000 ** 2,
  m: 1024 ** 2,
  mib: 1024 ** 2
}

/** `1048576`, `512kb`, `1mb`, `2MiB` → bytes; undefined when it is not a positive size. */
export const parseSize = (text: string): number | undefined => {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text)
  if (!match) return undefined
  const unit = units[match[2]!.toLowerCase()]
  if (unit === undefined) return undefined
  const bytes = Math.floor(Number(match[1]) * unit)
  return bytes > 0 ? bytes : undefined
}

export const parseCorsOrigins = (text: string | undefined): ReadonlyArray<string> | "*" | undefined => {
  if (text === undefined || text.trim() === "") return undefined
  if (text.trim() === "*") return "*"
  return text
    .split(",")
    .map((o) => o.trim())
    .filter((o) => o !== "")
}

type Env = Readonly<Record<string, string | undefined>>

/** The settings from `env`, each `overrides` entry replacing its variable's value. */
export const settingsFromEnv = (
  env: Env,
  overrides: Partial<ServeSettings> = {}
): Either.Either<ServeSettings, SettingsError> => {
  const value = (name: string) => {
    const v = env[name]?.trim()
    return v === undefined || v === "" ? undefined : v
  }
  const bad = (variable: string, message: string) =>
    Either.left(new SettingsError({ variable, message: `${variable}: ${message}` }))

  const portText = value("PORT")
  const port = overrides.port ?? (portText === undefined ? DEFAULT_PORT : Number(portText))
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    return bad("PORT", `expected a port number 0–65535, got ${JSON.stringify(portText)}`)

  const limitText = value("BODY_LIMIT")
  const bodyLimit =
    overrides.bodyLimit ?? (limitText === undefined ? DEFAULT_BODY_LIMIT : parseSize(limitText))
  if (bodyLimit === undefined)
    return bad(
      "BODY_LIMIT",
      `expected a size such as 1048576, 512kb or 1mb, got ${JSON.stringify(limitText)}`
    )

  const syncText = value("DB_SYNCHRONOUS")?.toUpperCase()
  if (syncText !== undefined && syncText !== "FULL" && syncText !== "NORMAL") {
    return bad("DB_SYNCHRONOUS", `expected FULL or NORMAL, got ${JSON.stringify(syncText)}`)
  }
  const concurrencyText = value("ACTIVITY_CONCURRENCY")
  const activityConcurrency = concurrencyText === undefined ? undefined : Number(concurrencyText)
  if (
    activityConcurrency !== undefined &&
    (!Number.isInteger(activityConcurrency) || activityConcurrency < 1)
  ) {
    return bad("ACTIVITY_CONCURRENCY", `expected a positive integer, got ${JSON.stringify(concurrencyText)}`)
  }

  const databaseUrl = overrides.databaseUrl ?? value("DATABASE_URL")
  const database = databaseUrl === undefined ? undefined : parseDatabaseUrl(databaseUrl)
  if (database instanceof StoreError)
    return bad("DATABASE_URL", database.message.replace(/^the database URL /, ""))

  return Either.right({
    host: overrides.host ?? value("HOST") ?? DEFAULT_HOST,
    port,
    dbPath: overrides.dbPath ?? value("DB_PATH") ?? DEFAULT_DB_PATH,
    databaseUrl,
    token: overrides.token ?? value("TEMPORAL_LITE_TOKEN"),
    corsOrigins: overrides.corsOrigins ?? parseCorsOrigins(value("CORS_ORIGINS")),
    bodyLimit,
    registryPath: overrides.registryPath ?? value("TEMPORAL_LITE_REGISTRY") ?? DEFAULT_REGISTRY,
    debuggerDir: overrides.debuggerDir ?? path.join(repoRoot, "debugger", "dist"),
    synchronous: overrides.synchronous ?? (syncText as "FULL" | "NORMAL" | undefined),
    activityConcurrency: overrides.activityConcurrency ?? activityConcurrency
  })
}
