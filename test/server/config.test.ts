/**
 * The server's settings from the environment (config.ts): defaults, sizes, origins, and a
 * bad value refused with a message naming its variable.
 */
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import { describe, expect, it } from "vitest"
import { DEFAULT_BODY_LIMIT, parseCorsOrigins, parseSize, settingsFromEnv } from "../../server/config"
import { jsonDepthExceeds } from "../../api"
import { resolveDebuggerFile } from "../../server/static"

describe("settings from the environment", () => {
  it("defaults: 127.0.0.1:8233, ./data/temporal-lite.db, 1 MiB bodies, no token, no CORS", () => {
    const settings = Either.getOrThrow(settingsFromEnv({}))
    expect(settings).toMatchObject({
      host: "127.0.0.1",
      port: 8233,
      dbPath: "./data/temporal-lite.db",
      bodyLimit: DEFAULT_BODY_LIMIT,
      token: undefined,
      corsOrigins: undefined
    })
    expect(DEFAULT_BODY_LIMIT).toBe(1024 * 1024)
  })

  it("reads HOST, PORT, DB_PATH, TEMPORAL_LITE_TOKEN, CORS_ORIGINS, BODY_LIMIT", () => {
    const settings = Either.getOrThrow(
      settingsFromEnv({
        HOST: "0.0.0.0",
        PORT: "9000",
        DB_PATH: "/tmp/x.db",
        TEMPORAL_LITE_TOKEN: "t",
        CORS_ORIGINS: "http://a.example, http://b.example",
        BODY_LIMIT: "2mb"
      })
    )
    expect(settings).toMatchObject({
      host: "0.0.0.0",
      port: 9000,
      dbPath: "/tmp/x.db",
      corsOrigins: ["http://a.example", "http://b.example"],
      bodyLimit: 2_000_000
    })
    // The token is Redacted: it prints as <redacted>, and only Redacted.value reads it.
    expect(Redacted.value(settings.token!)).toBe("t")
    expect(String(settings.token)).toBe("<redacted>")
    expect(JSON.stringify(settings)).not.toContain('"t"')
  })

  it("reads ALLOWED_HOSTS and the request timeouts", () => {
    const settings = Either.getOrThrow(
      settingsFromEnv({
        ALLOWED_HOSTS: "temporal.internal, ci.example",
        HEADERS_TIMEOUT: "5 seconds",
        REQUEST_TIMEOUT: "60000"
      })
    )
    expect(settings).toMatchObject({
      allowedHosts: ["temporal.internal", "ci.example"],
      headersTimeoutMs: 5_000,
      requestTimeoutMs: 60_000
    })
    const bad = settingsFromEnv({ REQUEST_TIMEOUT: "soon" })
    expect(Either.isLeft(bad) && bad.left.message).toBe(
      'REQUEST_TIMEOUT: expected a duration such as 30 seconds, got "soon"'
    )
  })

  it("sizes and origins", () => {
    expect([parseSize("1048576"), parseSize("512kb"), parseSize("1MiB"), parseSize("64k")]).toEqual([
      1048576, 512_000, 1048576, 65536
    ])
    expect([parseSize("lots"), parseSize("0"), parseSize("-1"), parseSize("1 parsec")]).toEqual([
      undefined,
      undefined,
      undefined,
      undefined
    ])
    expect([parseCorsOrigins(undefined), parseCorsOrigins(" "), parseCorsOrigins("*")]).toEqual([
      undefined,
      undefined,
      "*"
    ])
  })

  it("DATABASE_URL selects PostgreSQL; unset, the SQLite file of DB_PATH; another scheme names the variable", () => {
    const url = "postgres://app:secret@db.internal:5432/workflows"
    expect(Either.getOrThrow(settingsFromEnv({ DATABASE_URL: url })).databaseUrl).toBe(url)
    expect(Either.getOrThrow(settingsFromEnv({ DATABASE_URL: " " })).databaseUrl).toBeUndefined()
    expect(Either.getOrThrow(settingsFromEnv({})).databaseUrl).toBeUndefined()
    const wrong = settingsFromEnv({ DATABASE_URL: "sqlite:///data/x.db" })
    expect(Either.isLeft(wrong) && wrong.left.message).toBe(
      "DATABASE_URL: must be postgres:// or postgresql://, not sqlite://…"
    )
  })

  it("a bad value names its variable", () => {
    const port = settingsFromEnv({ PORT: "http" })
    expect(Either.isLeft(port) && port.left.message).toBe('PORT: expected a port number 0–65535, got "http"')
    const limit = settingsFromEnv({ BODY_LIMIT: "big" })
    expect(Either.isLeft(limit) && limit.left.message).toBe(
      'BODY_LIMIT: expected a size such as 1048576, 512kb or 1mb, got "big"'
    )
  })
})

describe("guards", () => {
  it("JSON nesting depth skips strings and stops at the limit", () => {
    expect(jsonDepthExceeds(JSON.parse('{"a":[1,{"b":2}]}'), 3)).toBe(false)
    expect(jsonDepthExceeds(JSON.parse('{"a":[1,{"b":2}]}'), 2)).toBe(true)
    expect(jsonDepthExceeds(JSON.parse('"[[[[[[[[[[\\"[[["'), 2)).toBe(false)
  })

  it("debugger files never resolve outside the dist folder", () => {
    const dist = "/srv/dist"
    expect(resolveDebuggerFile(dist, "/debugger/../../etc/passwd")).toBeUndefined()
    expect(resolveDebuggerFile(dist, "/debugger/%2e%2e/%2e%2e/etc/passwd")).toBeUndefined()
    expect(resolveDebuggerFile(dist, "/debugger/%E0%A4%A")).toBeUndefined()
    expect(resolveDebuggerFile(dist, "/debugger/a%00b")).toBeUndefined()
  })
})
