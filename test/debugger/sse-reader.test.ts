/**
 * The page's fetch-based SSE reader (debugger/src/sse-reader.ts), in Node against a small
 * HTTP server that plays the API's stream: its parser, and invariants 1–3 (resume with
 * Last-Event-ID after a drop, each event once; a 4xx ends it with the API's message; stop).
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { afterEach, describe, expect, it } from "vitest"
import { createSseParser, readSse, type SseEvent } from "../../debugger/src/sse-reader"

describe("createSseParser", () => {
  it("parses events split anywhere, with CRLF or LF, comments, multi-line data, ids and retry", () => {
    const events: Array<SseEvent> = []
    const retries: Array<number> = []
    const parser = createSseParser(
      (e) => events.push(e),
      (ms) => retries.push(ms)
    )
    const text =
      ': comment\r\nretry: 1500\r\n\r\nevent: history\r\nid: 1\r\ndata: {"seq":1}\r\n\r\n' +
      "event: chunk\ndata: line one\ndata: line two\n\ndata:no space\n\nid: 2\nevent: end\ndata: {}\n\n"
    for (const size of [1, 3, 7, text.length]) {
      events.length = 0
      for (let i = 0; i < text.length; i += size) parser.feed(text.slice(i, i + size))
      expect(events).toEqual([
        { event: "history", data: '{"seq":1}', id: "1" },
        { event: "chunk", data: "line one\nline two", id: undefined },
        { event: "message", data: "no space", id: undefined },
        { event: "end", data: "{}", id: "2" }
      ])
    }
    expect(retries).toEqual([1500, 1500, 1500, 1500])
  })

  it("dispatches nothing for a block without data", () => {
    const events: Array<SseEvent> = []
    const parser = createSseParser((e) => events.push(e))
    parser.feed("event: history\nid: 3\n\n: ping\n\n")
    expect(events).toEqual([])
  })
})

type Handler = (req: IncomingMessage, res: ServerResponse) => void
let close: (() => Promise<void>) | undefined
afterEach(async () => {
  await close?.()
  close = undefined
})

const serve = async (handler: Handler): Promise<string> => {
  const server = createServer(handler)
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/stream`
}

const history = (seq: number) => `event: history\nid: ${seq}\ndata: {"seq":${seq}}\n\n`

/** Runs a reader until it closes; what it delivered and how it ended. */
const readAll = (url: string, headers: Record<string, string> = {}) =>
  new Promise<{ events: Array<SseEvent>; problem?: { status: number; message: string }; reconnects: number }>(
    (resolve) => {
      const events: Array<SseEvent> = []
      let reconnects = 0
      readSse(
        { url, headers: () => headers, isEnd: (e) => e.event === "end" },
        {
          onEvent: (e) => events.push(e),
          onReconnecting: () => reconnects++,
          onClosed: (problem) => resolve({ events, ...(problem ? { problem } : {}), reconnects })
        }
      )
    }
  )

describe("readSse", () => {
  it("1. resumes after a dropped connection with Last-Event-ID: every event once, in order", async () => {
    const asked: Array<string | undefined> = []
    const url = await serve((req, res) => {
      const last = req.headers["last-event-id"] as string | undefined
      asked.push(last)
      res.writeHead(200, { "content-type": "text/event-stream" })
      res.write("retry: 10\n\n")
      if (last === undefined) {
        // the first connection drops after two events
        res.end(history(1) + history(2))
      } else {
        let out = ""
        for (let seq = Number(last) + 1; seq <= 4; seq++) out += history(seq)
        res.end(`${out}event: end\ndata: {"status":"completed"}\n\n`)
      }
    })
    const { events, problem, reconnects } = await readAll(url)
    expect(problem).toBeUndefined()
    expect(reconnects).toBe(1)
    expect(asked).toEqual([undefined, "2"])
    expect(events.map((e) => `${e.event}:${e.id ?? ""}`)).toEqual([
      "history:1",
      "history:2",
      "history:3",
      "history:4",
      "end:"
    ])
  })

  it("2. ends at once on a 4xx, with the API's code and message; sends the headers it is given", async () => {
    const seen: Array<string | undefined> = []
    const url = await serve((req, res) => {
      seen.push(req.headers["authorization"])
      res.writeHead(401, { "content-type": "application/json" })
      res.end(JSON.stringify({ error: { code: "Unauthorized", message: "the bearer token is not valid" } }))
    })
    const { events, problem, reconnects } = await readAll(url, { authorization: "Bearer nope" })
    expect(events).toEqual([])
    expect(reconnects).toBe(0)
    expect(seen).toEqual(["Bearer nope"])
    expect(problem).toEqual({ status: 401, message: "401 Unauthorized: the bearer token is not valid" })
  })

  it("3. delivers nothing after stop()", async () => {
    let send: ((text: string) => void) | undefined
    const url = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" })
      res.write(history(1))
      send = (text) => res.write(text)
    })
    const events: Array<SseEvent> = []
    let first: () => void = () => undefined
    const firstArrived = new Promise<void>((resolve) => (first = resolve))
    const reader = readSse(
      { url, headers: () => ({}), isEnd: () => false },
      { onEvent: (e) => (events.push(e), first()), onClosed: () => undefined }
    )
    await firstArrived
    reader.stop()
    send?.(history(2))
    await new Promise((r) => setTimeout(r, 50))
    expect(events.map((e) => e.id)).toEqual(["1"])
  })
})
