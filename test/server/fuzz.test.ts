/**
 * http-guard.ts invariants 1 and 2 under fire: 2,000+ generated malformed requests (random
 * JSON, wrong types, huge and deeply nested bodies, bad ids and percent-encodings, odd
 * methods and content types) against every route of a real server. None is answered with a
 * 5xx, every refusal is the envelope, the server still answers its health check after, and
 * the workflows in the database are exactly as before.
 */
import fc from "fast-check"
import * as http from "node:http"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { TestServer } from "./support"
import { request, startServer, waitForHistory } from "./support"

const RUNS = 2_200
const REGISTERED = ["approval", "waiter", "worker", "chatty"]
const RUNNING = "fz-running"
const DONE = "fz-done"

let server: TestServer
let agent: http.Agent

const snapshot = async () => {
  const list = await request(server.url, "GET", "/api/workflows?limit=1000")
  const histories = await Promise.all(
    list.body.workflows.map((w: { id: string }) =>
      request(server.url, "GET", `/api/workflows/${encodeURIComponent(w.id)}/history`)
    )
  )
  return { list: list.body, histories: histories.map((h) => h.body) }
}

let before: Awaited<ReturnType<typeof snapshot>>

beforeAll(async () => {
  server = await startServer()
  agent = new http.Agent({ keepAlive: true, maxSockets: 8 })
  await request(server.url, "POST", "/api/workflows", { type: "waiter", input: 1, id: RUNNING })
  await request(server.url, "POST", "/api/workflows", { type: "waiter", input: 2, id: DONE })
  await request(server.url, "POST", `/api/workflows/${DONE}/signal`, { signalName: "go", data: {} })
  await waitForHistory(server.url, DONE, (e) => e.type === "WorkflowCompleted")
  await waitForHistory(server.url, RUNNING, (e) => e.type === "ActivityCompleted")
  before = await snapshot()
  expect(before.list.workflows).toHaveLength(2)
})
afterAll(async () => {
  agent?.destroy()
  await server?.close()
})

// ---------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------

const json = (value: unknown) => JSON.stringify(value) ?? "null"

const anyJson = fc.jsonValue({ maxDepth: 4 })
const notANumber = anyJson.filter((v) => typeof v !== "number")
const notApprovalInput = anyJson.filter(
  (v) =>
    !(
      typeof v === "object" &&
      v !== null &&
      !Array.isArray(v) &&
      typeof (v as { code?: unknown }).code === "string"
    )
)

/** Ids: the two real ones (only ever sent what they must refuse), and everything else. */
const badId = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ minLength: 257, maxLength: 3000 }),
  fc.constantFrom(
    "..",
    "../..",
    ".",
    "a/b",
    " ",
    "\u0000",
    "😀",
    "%",
    "null",
    "undefined",
    "-1",
    "0",
    "[object Object]"
  )
)
const id = fc.oneof({ arbitrary: badId, weight: 3 }, { arbitrary: fc.constantFrom(RUNNING, DONE), weight: 2 })

/** A path segment as a client could send it: encoded, or with a raw malformed %-sequence. */
const segment = (value: fc.Arbitrary<string>) =>
  fc.oneof(
    { arbitrary: value.map(encodeURIComponent), weight: 5 },
    { arbitrary: fc.constantFrom("%ZZ", "%", "%E0%A4%A", "%00", "%2e%2e", "%2F"), weight: 1 }
  )

const huge = fc
  .integer({ min: 1024 * 1024 + 1, max: 2 * 1024 * 1024 })
  .map((n) => `{"type":"${"x".repeat(n)}"}`)
const deep = fc.integer({ min: 129, max: 50_000 }).map((n) => "[".repeat(n) + "]".repeat(n))
const malformedText = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.constantFrom(
    "{",
    "[",
    '{"type":',
    "{'type': 'waiter'}",
    "undefined",
    "NaN",
    '{"a":1,}',
    "\u0000",
    "--\r\n"
  )
)

/** Bodies for POST /api/workflows that never start a workflow. */
const startBody = fc.oneof(
  anyJson.map(json),
  malformedText,
  fc
    .record(
      { type: anyJson.filter((t) => !REGISTERED.includes(t as string)), input: anyJson },
      { requiredKeys: [] }
    )
    .map(json),
  fc
    .record({ type: fc.constantFrom("waiter", "worker", "chatty"), input: notANumber, id: fc.string() })
    .map(json),
  fc.record({ type: fc.constant("approval"), input: notApprovalInput }).map(json),
  fc
    .record({
      type: fc.constantFrom(...REGISTERED),
      input: fc.constant(1),
      id: fc.constantFrom("", "x".repeat(300), "\u0001")
    })
    .map(json),
  fc.record({ type: fc.constantFrom(...REGISTERED), input: fc.constant(1), extra: anyJson }).map(json)
)

/** Bodies for POST …/signal that the running workflow must refuse (it takes `go` with `{ note?: string }`). */
const signalBody = fc.oneof(
  anyJson.map(json),
  malformedText,
  fc.record({ signalName: anyJson.filter((n) => n !== "go"), data: anyJson }, { requiredKeys: [] }).map(json),
  fc
    .record({
      signalName: fc.constant("go"),
      data: anyJson.filter((d) => typeof d !== "object" || d === null || Array.isArray(d))
    })
    .map(json),
  fc
    .record({
      signalName: fc.constant("go"),
      data: fc.record({ note: anyJson.filter((n) => typeof n !== "string") })
    })
    .map(json),
  fc.record({ signalName: fc.constant("go"), data: fc.constant({}), extra: anyJson }).map(json)
)

const queryString = fc
  .array(
    fc.tuple(
      fc.constantFrom(
        "status",
        "type",
        "limit",
        "cursor",
        "args",
        "lastEventId",
        "reason",
        "x",
        "access_token"
      ),
      fc.oneof(
        fc.string({ maxLength: 30 }),
        fc.constantFrom("-1", "0", "1001", "1e9", "NaN", "running", "{", "[1,", "99999999999999999999")
      )
    ),
    { maxLength: 3 }
  )
  .map((pairs) =>
    pairs.length === 0 ? "" : `?${pairs.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join("&")}`
  )

const method = fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "FOO")
const contentType = fc.constantFrom(
  undefined,
  "application/json",
  "text/plain",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=x",
  "application/octet-stream",
  "application/json; charset=latin1"
)

interface Fuzzed {
  readonly method: string
  readonly path: string
  readonly body: string | undefined
  readonly headers: Record<string, string>
}

const withBody = (body: fc.Arbitrary<string>) =>
  fc.oneof({ arbitrary: body, weight: 30 }, { arbitrary: huge, weight: 1 }, { arbitrary: deep, weight: 1 })

/** One request for each route shape, with what that route must refuse. */
const routeRequest: fc.Arbitrary<Omit<Fuzzed, "headers">> = fc.oneof(
  fc.record({
    method: fc.constant("POST"),
    path: queryString.map((q) => `/api/workflows${q}`),
    body: withBody(startBody)
  }),
  fc.record({ method, path: queryString.map((q) => `/api/workflows${q}`), body: fc.constant(undefined) }),
  fc.record({
    method,
    path: fc.tuple(segment(id), queryString).map(([i, q]) => `/api/workflows/${i}${q}`),
    body: fc.constant(undefined)
  }),
  fc.record({
    method: fc.constant("GET"),
    path: segment(id).map((i) => `/api/workflows/${i}/history`),
    body: fc.constant(undefined)
  }),
  fc.record({
    method: fc.constant("POST"),
    path: segment(id).map((i) => `/api/workflows/${i}/signal`),
    body: withBody(signalBody)
  }),
  fc.record({
    method: fc.constantFrom("GET", "POST"),
    path: fc
      .tuple(segment(id), segment(fc.string({ maxLength: 20 })), queryString)
      .map(([i, n, q]) => `/api/workflows/${i}/query/${n}${q}`),
    body: fc.constant(undefined)
  }),
  // Cancel: never the running workflow (that would be a valid request), the finished one refuses.
  fc.record({
    method: fc.constantFrom("POST", "GET"),
    path: fc
      .tuple(segment(badId.filter((i) => i !== RUNNING)), queryString)
      .map(([i, q]) => `/api/workflows/${i}/cancel${q}`),
    body: fc.option(malformedText, { nil: undefined })
  }),
  fc.record({
    method: fc.constant("POST"),
    path: fc.constant(`/api/workflows/${DONE}/cancel`),
    body: fc.option(anyJson.map(json), { nil: undefined })
  }),
  fc.record({
    method,
    path: fc.tuple(segment(id), queryString).map(([i, q]) => `/api/workflows/${i}/stream${q}`),
    body: fc.constant(undefined)
  }),
  fc.record({
    method,
    path: queryString.map((q) => `/api/workflow-types${q}`),
    body: fc.constant(undefined)
  }),
  fc.record({
    method,
    path: segment(
      fc.oneof(fc.string(), fc.constantFrom("../../package.json", "/etc/passwd", ...REGISTERED))
    ).map((t) => `/api/workflow-types/${t}/source`),
    body: fc.constant(undefined)
  }),
  fc.record({
    method,
    path: fc.constantFrom("/api/health", "/api/openapi.json", "/docs", "/", "/debugger"),
    body: fc.constant(undefined)
  }),
  fc.record({
    method,
    path: segment(fc.string()).map((f) => `/debugger/${f}`),
    body: fc.constant(undefined)
  }),
  fc.record({
    method,
    path: fc.array(segment(fc.string({ maxLength: 12 })), { maxLength: 5 }).map((s) => `/${s.join("/")}`),
    body: fc.constant(undefined)
  })
)

const fuzzed: fc.Arbitrary<Fuzzed> = fc
  .tuple(
    routeRequest,
    contentType,
    fc.option(fc.constantFrom("abc", "-1", "1e3", "999999", "", "1.5"), { nil: undefined })
  )
  .map(([r, type, lastEventId]) => ({
    // Node's client refuses a body on these: they are sent without one.
    ...(r.method === "GET" || r.method === "HEAD" ? { ...r, body: undefined } : r),
    headers: {
      ...(type === undefined ? {} : { "content-type": type }),
      ...(lastEventId === undefined ? {} : { "last-event-id": lastEventId })
    }
  }))

// ---------------------------------------------------------------------------------------

interface Answer {
  readonly status: number
  readonly contentType: string | undefined
  readonly text: string
}

/** Sends the request raw (any method, any bytes); a stream is closed once its head arrives. */
const send = (base: URL, r: Fuzzed): Promise<Answer> =>
  new Promise((resolve, reject) => {
    const req = http.request(
      { host: base.hostname, port: base.port, method: r.method, path: r.path, headers: r.headers, agent },
      (res) => {
        const contentType = res.headers["content-type"]
        if (contentType === "text/event-stream") {
          req.destroy()
          return resolve({ status: res.statusCode!, contentType, text: "" })
        }
        let text = ""
        res.setEncoding("utf8")
        res.on("data", (chunk: string) => (text += chunk))
        res.on("end", () => resolve({ status: res.statusCode!, contentType, text }))
        res.on("error", reject)
      }
    )
    req.setTimeout(15_000, () => req.destroy(new Error(`no answer to ${r.method} ${r.path.slice(0, 200)}`)))
    req.on("error", reject)
    req.end(r.body)
  })

describe("fuzzing every route with malformed requests", () => {
  it(`${RUNS} requests: no 5xx, every refusal is the envelope, health after, the database unchanged`, async () => {
    const base = new URL(server.url)
    const statuses = new Map<number, number>()
    await fc.assert(
      fc.asyncProperty(fuzzed, async (r) => {
        const answer = await send(base, r)
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1)
        const what = `${r.method} ${r.path.slice(0, 120)} ${r.body === undefined ? "" : r.body.slice(0, 120)}`
        expect(answer.status, what).toBeLessThan(500)
        if (answer.status >= 400 && r.method !== "HEAD") {
          expect(answer.contentType, what).toBe("application/json")
          const body = JSON.parse(answer.text) as {
            error: { code: unknown; message: unknown; details: unknown }
          }
          expect(typeof body.error.code, what).toBe("string")
          expect(typeof body.error.message, what).toBe("string")
          expect("details" in body.error, what).toBe(true)
        }
      }),
      { numRuns: RUNS, endOnFailure: true }
    )
    console.log(
      `fuzz statuses: ${JSON.stringify(Object.fromEntries([...statuses].sort(([a], [b]) => a - b)))}`
    )
    expect([...statuses.keys()].every((s) => s < 500)).toBe(true)

    const health = await request(server.url, "GET", "/api/health")
    expect(health.status).toBe(200)
    expect(await snapshot()).toEqual(before)
  }, 110_000)
})
