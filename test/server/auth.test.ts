/**
 * http-guard.ts invariant 3 on a real server: with a token configured, every route but
 * `GET /api/health` answers 401 without it (the API, SSE, docs, OpenAPI, the debugger's
 * files, unknown routes) and 2xx with it. CORS answers preflights without the token and
 * puts its headers on errors too.
 */
import { mkdirSync, writeFileSync } from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { TestServer } from "./support"
import { request, startServer, tempDir, waitForHistory } from "./support"

const TOKEN = "s3cret-token"
const auth = { authorization: `Bearer ${TOKEN}` }

let server: TestServer

beforeAll(async () => {
  const dataDir = tempDir("auth")
  // A debugger build stand-in: the guard is under test here, not the build.
  const debuggerDir = path.join(dataDir, "debugger-dist")
  mkdirSync(path.join(debuggerDir, "assets"), { recursive: true })
  writeFileSync(path.join(debuggerDir, "index.html"), "<!doctype html><title>debugger</title>")
  writeFileSync(path.join(debuggerDir, "assets", "app.js"), "console.log('debugger')")
  server = await startServer({ dataDir, token: TOKEN, debuggerDir, corsOrigins: ["http://app.example"] })
  for (const [type, id, input] of [
    ["waiter", "auth-1", 1],
    ["waiter", "auth-2", 2],
    ["approval", "auth-q", { code: "x" }]
  ] as const) {
    expect((await request(server.url, "POST", "/api/workflows", { type, id, input }, auth)).status).toBe(201)
  }
  await waitForHistory(`${server.url}`, "auth-q", (e) => e.type === "ActivityCompleted").catch(
    () => undefined
  )
})
afterAll(async () => {
  await server?.close()
})

type Route = readonly [method: string, route: string, body: unknown, ok: number]

const routes: ReadonlyArray<Route> = [
  ["POST", "/api/workflows", { type: "waiter", input: 3, id: "auth-3" }, 201],
  ["GET", "/api/workflows", undefined, 200],
  ["GET", "/api/workflows/auth-1", undefined, 200],
  ["GET", "/api/workflows/auth-1/history", undefined, 200],
  ["POST", "/api/workflows/auth-1/signal", { signalName: "go", data: {} }, 202],
  ["GET", "/api/workflows/auth-q/query/stage", undefined, 200],
  ["POST", "/api/workflows/auth-2/cancel", undefined, 202],
  ["GET", "/api/workflows/auth-1/stream", undefined, 200],
  ["GET", "/api/workflow-types", undefined, 200],
  ["GET", "/api/workflow-types/approval/source", undefined, 200],
  ["GET", "/api/openapi.json", undefined, 200],
  ["GET", "/docs", undefined, 200],
  ["GET", "/debugger/", undefined, 200],
  ["GET", "/debugger/assets/app.js", undefined, 200]
]

/** Status, headers and (for non-streams) the body; a stream is closed once its head arrives. */
const call = async (method: string, route: string, body: unknown, headers: Record<string, string>) => {
  const controller = new AbortController()
  const response = await fetch(`${server.url}${route}`, {
    method,
    headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    redirect: "manual",
    signal: controller.signal
  })
  const streaming = response.headers.get("content-type") === "text/event-stream"
  const text = streaming ? "" : await response.text()
  controller.abort()
  return { status: response.status, headers: response.headers, text }
}

describe("bearer token (TEMPORAL_LITE_TOKEN)", () => {
  it("without the token: 401 with the envelope and WWW-Authenticate on every route but health", async () => {
    for (const [method, route, body] of [
      ...routes,
      ["GET", "/", undefined, 302],
      ["GET", "/api/not-a-route", undefined, 404]
    ] as const) {
      const answer = await call(method, route, body, {})
      expect([method, route, answer.status]).toEqual([method, route, 401])
      expect(answer.headers.get("www-authenticate")).toBe('Bearer realm="temporal-lite"')
      expect(JSON.parse(answer.text)).toEqual({
        error: {
          code: "Unauthorized",
          message: "a bearer token is required (Authorization: Bearer <token>)",
          details: null
        }
      })
    }
    const wrong = await call("GET", "/api/workflows", undefined, { authorization: "Bearer nope" })
    expect(wrong.status).toBe(401)
    expect(JSON.parse(wrong.text).error.message).toBe("the bearer token is not valid")
  })

  it("health needs no token", async () => {
    const health = await request(server.url, "GET", "/api/health")
    expect(health.status).toBe(200)
    expect(health.body).toMatchObject({ status: "ok" })
  })

  it("with the token: 2xx on every route (SSE included)", async () => {
    for (const [method, route, body, ok] of routes) {
      const answer = await call(method, route, body, auth)
      expect([method, route, answer.status]).toEqual([method, route, ok])
    }
  })

  it("a browser page load may carry ?access_token=, which sets a same-site cookie the page's API calls then carry", async () => {
    const page = await call("GET", `/debugger/?access_token=${TOKEN}`, undefined, {})
    expect(page.status).toBe(200)
    const cookie = page.headers.get("set-cookie")!
    expect(cookie).toMatch(/^temporal_lite_token=s3cret-token; Path=\/; HttpOnly; SameSite=Strict$/)
    const api = await call("GET", "/api/workflows", undefined, { cookie: cookie.split(";")[0]! })
    expect(api.status).toBe(200)
    const wrongQuery = await call("GET", "/debugger/?access_token=nope", undefined, {})
    expect(wrongQuery.status).toBe(401)
  })
})

describe("CORS (CORS_ORIGINS)", () => {
  it("answers a preflight from an allowed origin without the token, and puts the headers on errors", async () => {
    const preflight = await fetch(`${server.url}/api/workflows`, {
      method: "OPTIONS",
      headers: {
        origin: "http://app.example",
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type"
      }
    })
    expect(preflight.status).toBe(204)
    expect(preflight.headers.get("access-control-allow-origin")).toBe("http://app.example")
    expect(preflight.headers.get("access-control-allow-headers")).toBe(
      "authorization,content-type,last-event-id"
    )

    const refused = await call("GET", "/api/workflows", undefined, { origin: "http://app.example" })
    expect(refused.status).toBe(401)
    expect(refused.headers.get("access-control-allow-origin")).toBe("http://app.example")
    const allowed = await call("GET", "/api/workflows", undefined, { origin: "http://app.example", ...auth })
    expect(allowed.status).toBe(200)
    expect(allowed.headers.get("access-control-allow-origin")).toBe("http://app.example")
  })
})
