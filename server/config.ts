/**
 * The server's settings, read with `effect/Config` from the environment (flags of `serve`
 * override them). A bad value stops the server at start with one line naming the variable;
 * the token is `Redacted`, so no log or error ever prints it.
 *
 * | variable | default |
 * | --- | --- |
 * | `HOST` | `127.0.0.1` |
 * | `PORT` | `8233` |
 * | `DB_PATH` | `./data/temporal-lite.db` |
 * | `DATABASE_URL` | unset: the SQLite file of `DB_PATH`; `postgres://…`: that PostgreSQL database |
 * | `TEMPORAL_LITE_TOKEN` | unset: no auth; set: bearer token on every route but `/api/health` |
 * | `CORS_ORIGINS` | unset: same origin only; `*` or a comma list of origins |
 * | `ALLOWED_HOSTS` | unset: the bound address and loopback names; a comma list of more (`*`: any) |
 * | `BODY_LIMIT` | `1mb` (bytes, or with `kb`/`mb`, `kib`/`mib`) |
 * | `HEADERS_TIMEOUT` | `10 seconds` for a request's headers to arrive (408 after) |
 * | `REQUEST_TIMEOUT` | `30 seconds` for a whole request, body included (408 after) |
 * | `TEMPORAL_LITE_REGISTRY` | `examples/registry.ts` |
 * | `DB_SYNCHRONOUS` | `FULL` (or `NORMAL`) |
 * | `ACTIVITY_CONCURRENCY` | the engine's default |
 */
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as path from "node:path"
import { parseDatabaseUrl, StoreError } from "../runtime"
import { DEFAULT_REGISTRY, repoRoot } from "./registry"

export interface ServeSettings {
  readonly host: string
  readonly port: number
  /** The SQLite file, when no `databaseUrl` is given. */
  readonly dbPath: string
  /** `postgres://…`: the engine runs on that PostgreSQL database instead of the SQLite file. */
  readonly databaseUrl: string | undefined
  readonly token: Redacted.Redacted | undefined
  readonly corsOrigins: ReadonlyArray<string> | "*" | undefined
  /** Host names answered besides the bound address and loopback names; `"*"`: any. */
  readonly allowedHosts: ReadonlyArray<string> | "*"
  readonly bodyLimit: number
  readonly headersTimeoutMs: number
  readonly requestTimeoutMs: number
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

/** A comma list; `*` alone for any; undefined when empty. */
export const parseList = (text: string | undefined): ReadonlyArray<string> | "*" | undefined => {
  if (text === undefined || text.trim() === "") return undefined
  if (text.trim() === "*") return "*"
  return text
    .split(",")
    .map((o) => o.trim())
    .filter((o) => o !== "")
}
export const parseCorsOrigins = parseList

const optionalText = (name: string) =>
  Config.string(name).pipe(
    Config.map((v) => v.trim()),
    Config.option,
    Config.map(Option.filter((v) => v !== "")),
    Config.map(Option.getOrUndefined)
  )

const withDefault = <A>(config: Config.Config<A | undefined>, fallback: A) =>
  Config.map(config, (v) => v ?? fallback)

/** A variable parsed by `parse`, which names what it expected when the text does not fit. */
const parsed = <A>(name: string, expected: string, parse: (text: string) => A | undefined) =>
  Config.mapOrFail(optionalText(name), (text) => {
    if (text === undefined) return Either.right(undefined)
    const value = parse(text)
    return value === undefined
      ? Either.left(ConfigError.InvalidData([name], `expected ${expected}, got ${JSON.stringify(text)}`))
      : Either.right(value)
  })

const durationMs = (text: string): number | undefined => {
  const asNumber = Number(text)
  if (Number.isFinite(asNumber) && asNumber > 0) return asNumber
  const decoded = Duration.decodeUnknown(text)
  return Option.isSome(decoded) && Duration.toMillis(decoded.value) > 0
    ? Duration.toMillis(decoded.value)
    : undefined
}

const positiveInteger = (text: string) => {
  const n = Number(text)
  return Number.isInteger(n) && n >= 1 ? n : undefined
}

/** The settings as `effect/Config` reads them (from the environment, or any ConfigProvider). */
export const ServeConfig: Config.Config<ServeSettings> = Config.all({
  host: withDefault(optionalText("HOST"), DEFAULT_HOST),
  port: withDefault(
    parsed("PORT", "a port number 0–65535", (t) => {
      const n = Number(t)
      return Number.isInteger(n) && n >= 0 && n <= 65535 ? n : undefined
    }),
    DEFAULT_PORT
  ),
  dbPath: withDefault(optionalText("DB_PATH"), DEFAULT_DB_PATH),
  // What is wrong with a URL is said without repeating it: it may hold a password.
  databaseUrl: Config.mapOrFail(optionalText("DATABASE_URL"), (url) => {
    const database = url === undefined ? undefined : parseDatabaseUrl(url)
    return database instanceof StoreError
      ? Either.left(
          ConfigError.InvalidData(["DATABASE_URL"], database.message.replace(/^the database URL /, ""))
        )
      : Either.right(url)
  }),
  token: Config.map(optionalText("TEMPORAL_LITE_TOKEN"), (t) =>
    t === undefined ? undefined : Redacted.make(t)
  ),
  corsOrigins: Config.map(optionalText("CORS_ORIGINS"), parseList),
  allowedHosts: Config.map(optionalText("ALLOWED_HOSTS"), (t) => parseList(t) ?? []),
  bodyLimit: withDefault(
    parsed("BODY_LIMIT", "a size such as 1048576, 512kb or 1mb", parseSize),
    DEFAULT_BODY_LIMIT
  ),
  headersTimeoutMs: withDefault(
    parsed("HEADERS_TIMEOUT", "a duration such as 10 seconds", durationMs),
    10_000
  ),
  requestTimeoutMs: withDefault(
    parsed("REQUEST_TIMEOUT", "a duration such as 30 seconds", durationMs),
    30_000
  ),
  registryPath: withDefault(optionalText("TEMPORAL_LITE_REGISTRY"), DEFAULT_REGISTRY),
  debuggerDir: Config.succeed(path.join(repoRoot, "debugger", "dist")),
  synchronous: parsed("DB_SYNCHRONOUS", "FULL or NORMAL", (t) => {
    const upper = t.toUpperCase()
    return upper === "FULL" || upper === "NORMAL" ? (upper as "FULL" | "NORMAL") : undefined
  }),
  activityConcurrency: parsed("ACTIVITY_CONCURRENCY", "a positive integer", positiveInteger)
})

/** One line for a configuration error: the variable, then what is wrong with it. */
const describeConfigError = (error: ConfigError.ConfigError): SettingsError => {
  const first = (e: ConfigError.ConfigError): { path: ReadonlyArray<string>; message: string } => {
    switch (e._op) {
      case "And":
      case "Or":
        return first(e.left)
      case "InvalidData":
      case "MissingData":
      case "SourceUnavailable":
      case "Unsupported":
        return { path: e.path, message: e.message }
    }
  }
  const { path: at, message } = first(error)
  const variable = at.join("_") || "configuration"
  return new SettingsError({ variable, message: `${variable}: ${message}` })
}

/**
 * The settings from `env`, each `overrides` entry replacing its variable's value.
 *
 * @example
 * const settings = yield* readSettings(process.env, { port: 0 })
 */
export const readSettings = (
  env: Readonly<Record<string, string | undefined>>,
  overrides: Partial<ServeSettings> = {}
): Effect.Effect<ServeSettings, SettingsError> =>
  ServeConfig.pipe(
    Effect.withConfigProvider(
      ConfigProvider.fromMap(
        new Map(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined))
      )
    ),
    Effect.map((settings) => ({ ...settings, ...definedOnly(overrides) })),
    Effect.mapError(describeConfigError)
  )

/** `readSettings`, run at once (reading a map is synchronous). */
export const settingsFromEnv = (
  env: Readonly<Record<string, string | undefined>>,
  overrides: Partial<ServeSettings> = {}
): Either.Either<ServeSettings, SettingsError> => Effect.runSync(Effect.either(readSettings(env, overrides)))

const definedOnly = <A extends object>(value: A): Partial<A> =>
  Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<A>
