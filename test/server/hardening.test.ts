/**
 * Issue 22's server items on a real server: ids and stored names are well-formed Unicode
 * (item 2), one id length limit every route serves (item 6), writes are JSON from an allowed
 * origin to a Host this server answers to (item 8), and a refused upload or a slow client
 * holds nothing (item 9).
 */
import * as net from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { isWellFormed, MAX_WORKFLOW_ID_LENGTH } from "../../core"
import type { TestServer } from "./support"
import { request, startServer, waitForHistory } from "./support"

const TOKEN = "hardening-token"

let open: TestServer
let guarded: TestServer

beforeAll(async () => {
  ;[open, guarded] = await Promise.all([
    startServer({ corsOrigins: ["http://app.example"], requestTimeoutMs: 400, headersTimeoutMs: 300 }),
    startServer({ token: TOKEN, bodyLimit: 64 * 1024 })
  ])
})
afterAll(async () => {
  await Promise.all([open?.close(), guarded?.close()])
})

const start = (server: TestServer, body: unknown, headers: Record<string, string> = {}) =>
  request(server.url, "POST", "/api/workflows", body, headers)

describe("item 2: what is stored is well-formed Unicode", () => {
  it("an id, a type, a signal name or a reason with a lone surrogate is a 400 naming the field; nothing is stored", async () => {
    for (const id of ["ls-\ud800", "ls-\udc00"]) {
      const answer = await start(open, { type: "waiter", input: 1, id })
      expect(answer.status).toBe(400)
      expect(answer.body.error).toMatchObject({ code: "InvalidRequest", details: { path: ["id"] } })
      expect(answer.body.error.message).toContain("well-formed Unicode")
    }
    const type = await start(open, { type: "wait\udfffer", input: 1 })
    expect(type.status).toBe(400)
    expect(type.body.error.details.path).toEqual(["type"])

    expect((await start(open, { type: "waiter", input: 1, id: "u-1" })).status).toBe(201)
    const signal = await request(open.url, "POST", "/api/workflows/u-1/signal", { signalName: "g\ud800o" })
    expect(signal.status).toBe(400)
    expect(signal.body.error.details.path).toEqual(["signalName"])
    // A URL cannot carry a lone surrogate: bytes that are not UTF-8 stay as they were sent.
    const reason = await request(open.url, "POST", "/api/workflows/u-1/cancel?reason=%ED%A0%80")
    expect(reason.status).toBe(202)
    const cancelled = await waitForHistory(open.url, "u-1", (e) => e.type === "CancelRequested")
    expect(isWellFormed(cancelled.reason)).toBe(true)
    const listed = await request(open.url, "GET", "/api/workflows?limit=1000")
    expect(listed.body.workflows.map((w: { id: string }) => w.id)).not.toContain("ls-\ud800")
  })
})

describe("item 6: one id length limit, served by every route", () => {
  it(`ids of ${MAX_WORKFLOW_ID_LENGTH} characters start and every route serves them; one more is a 400 at start`, async () => {
    for (const id of ["i".repeat(MAX_WORKFLOW_ID_LENGTH), "é".repeat(MAX_WORKFLOW_ID_LENGTH)]) {
      expect((await start(open, { type: "waiter", input: 1, id })).status).toBe(201)
      const at = `/api/workflows/${encodeURIComponent(id)}`
      await waitForHistory(open.url, id, (e) => e.type === "ActivityCompleted")
      expect((await request(open.url, "GET", at)).body.id).toBe(id)
      expect((await request(open.url, "GET", `${at}/history`)).status).toBe(200)
      expect((await request(open.url, "POST", `${at}/signal`, { signalName: "go", data: {} })).status).toBe(
        202
      )
      await waitForHistory(open.url, id, (e) => e.type === "WorkflowCompleted")
      expect((await request(open.url, "POST", `${at}/cancel`)).body.error.code).toBe("WorkflowClosed")
    }
    const tooLong = await start(open, {
      type: "waiter",
      input: 1,
      id: "i".repeat(MAX_WORKFLOW_ID_LENGTH + 1)
    })
    expect(tooLong.status).toBe(400)
    expect(tooLong.body.error.message).toContain(`at most ${MAX_WORKFLOW_ID_LENGTH} characters`)
  })
})

describe("item 8: cross-origin writes and DNS rebinding", () => {
  it("a write that is not application/json is a 415, even a no-cors text/plain one; nothing starts", async () => {
    const plain = await fetch(`${open.url}/api/workflows`, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: JSON.stringify({ type: "waiter", input: 1, id: "csrf-1" })
    })
    expect(plain.status).toBe(415)
    expect((await plain.json()).error).toMatchObject({
      code: "UnsupportedMediaType",
      details: { contentType: "text/plain", expected: "application/json" }
    })
    expect((await request(open.url, "GET", "/api/workflows/csrf-1")).status).toBe(404)
  })

  it("a write from another origin is a 403; the same origin and the allowed ones pass", async () => {
    const port = new URL(open.url).port
    const evil = await start(
      open,
      { type: "waiter", input: 1, id: "o-1" },
      { origin: `http://127.0.0.1:${Number(port) + 1}` }
    )
    expect(evil.status).toBe(403)
    expect(evil.body.error).toMatchObject({ code: "ForbiddenOrigin" })
    expect((await request(open.url, "GET", "/api/workflows/o-1")).status).toBe(404)
    expect((await start(open, { type: "waiter", input: 1, id: "o-2" }, { origin: open.url })).status).toBe(
      201
    )
    expect(
      (await start(open, { type: "waiter", input: 1, id: "o-3" }, { origin: "http://app.example" })).status
    ).toBe(201)
    // A read from another origin is answered (the browser keeps it from the page without CORS).
    expect(
      (await request(open.url, "GET", "/api/workflows/o-2", undefined, { origin: "http://evil.example" }))
        .status
    ).toBe(200)
  })

  it("a Host the server does not answer to (DNS rebinding) is a 403 on every route; its own names pass", async () => {
    const port = new URL(open.url).port
    const rebound = await rawRequest(
      open.url,
      `GET /api/health HTTP/1.1\r\nHost: evil.example:${port}\r\nConnection: close\r\n\r\n`
    )
    expect(rebound.head).toMatch(/^HTTP\/1\.1 403 /)
    expect(JSON.parse(rebound.body).error).toMatchObject({
      code: "ForbiddenHost",
      details: { host: `evil.example:${port}` }
    })
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`]) {
      const ok = await rawRequest(
        open.url,
        `GET /api/health HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`
      )
      expect(ok.head).toMatch(/^HTTP\/1\.1 200 /)
    }
  })
})

describe("item 9: refused uploads and slow clients hold nothing", () => {
  it("a 401 or a 413 closes the connection instead of reading the rest of a large body", async () => {
    const head = (headers: string) =>
      `POST /api/workflows HTTP/1.1\r\nHost: ${new URL(guarded.url).host}\r\nContent-Type: application/json\r\n${headers}`
    for (const [headers, chunked, status] of [
      // No token, a body with no declared end: refused before any of it is read.
      ["Transfer-Encoding: chunked\r\n\r\n", true, 401],
      // The token, and half a gigabyte declared: over the limit before any of it is read.
      [`Authorization: Bearer ${TOKEN}\r\nContent-Length: ${512 * 1024 * 1024}\r\n\r\n`, false, 413]
    ] as const) {
      const outcome = await endlessUpload(guarded.url, head(headers), chunked)
      expect(outcome.head).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `))
      expect(outcome.head.toLowerCase()).toContain("connection: close")
      expect(outcome.closedByServer).toBe(true)
      // What the kernel buffers, not the endless body the client offered.
      expect(outcome.written).toBeLessThan(64 * 1024 * 1024)
    }
    // With the token and no declared end, the body is read up to the limit, then the connection closes.
    const over = await endlessUpload(
      guarded.url,
      head(`Authorization: Bearer ${TOKEN}\r\nTransfer-Encoding: chunked\r\n\r\n`),
      true
    )
    expect(over.closedByServer).toBe(true)
    expect(over.written).toBeLessThan(64 * 1024 * 1024)
  })

  it("headers that never finish, and a body that stalls, are answered 408 and the connection closed", async () => {
    const host = new URL(open.url).host
    const headers = await rawRequest(open.url, `POST /api/workflows HTTP/1.1\r\nHost: ${host}\r\nContent-Ty`)
    expect(headers.head).toMatch(/^HTTP\/1\.1 408 /)
    expect(JSON.parse(headers.body).error.code).toBe("RequestTimeout")
    const body = await rawRequest(
      open.url,
      `POST /api/workflows HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"type":`
    )
    expect(body.head).toMatch(/^HTTP\/1\.1 408 /)
    expect(JSON.parse(body.body).error.code).toBe("RequestTimeout")
  })
})

interface RawAnswer {
  readonly head: string
  readonly body: string
}

/** Sends `text` on a fresh socket and reads until the server closes it. */
const rawRequest = (url: string, text: string): Promise<RawAnswer> =>
  new Promise((resolve, reject) => {
    const { hostname, port } = new URL(url)
    const socket = net.connect(Number(port), hostname, () => socket.write(text))
    let received = ""
    socket.setEncoding("utf8")
    socket.on("data", (chunk: string) => (received += chunk))
    socket.on("error", reject)
    socket.on("close", () => {
      const at = received.indexOf("\r\n\r\n")
      resolve({ head: received.slice(0, at), body: dechunk(received.slice(at + 4), received.slice(0, at)) })
    })
  })

const dechunk = (body: string, head: string): string => {
  if (!/transfer-encoding: chunked/i.test(head)) return body
  let out = ""
  let rest = body
  for (;;) {
    const line = rest.indexOf("\r\n")
    const size = parseInt(rest.slice(0, line), 16)
    if (!size) return out
    out += rest.slice(line + 2, line + 2 + size)
    rest = rest.slice(line + 2 + size + 2)
  }
}

/**
 * Sends `head`, then body bytes as fast as the connection takes them, until the server
 * answers and closes; how much was written by then.
 */
const endlessUpload = (url: string, head: string, chunked: boolean) =>
  new Promise<{ head: string; written: number; closedByServer: boolean }>((resolve) => {
    const { hostname, port } = new URL(url)
    const socket = net.connect(Number(port), hostname)
    const data = Buffer.alloc(256 * 1024, 0x20)
    const chunk = chunked
      ? Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`), data, Buffer.from("\r\n")])
      : data
    let written = 0
    let received = ""
    let done = false
    const pump = () => {
      while (!done && socket.write(chunk)) written += chunk.length
      if (!done) written += chunk.length
    }
    socket.on("connect", () => {
      socket.write(head)
      pump()
    })
    socket.on("drain", pump)
    socket.setEncoding("utf8")
    socket.on("data", (data: string) => (received += data))
    const finish = (closedByServer: boolean) => {
      if (done) return
      done = true
      socket.destroy()
      resolve({ head: received.split("\r\n\r\n")[0] ?? "", written, closedByServer })
    }
    socket.on("error", () => finish(true))
    socket.on("end", () => finish(true))
    socket.on("close", () => finish(true))
    setTimeout(() => finish(false), 20_000).unref()
  })
