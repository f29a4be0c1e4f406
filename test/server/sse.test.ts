/**
 * SSE on a real server and engine (sse.ts invariants 1–4): every history event in order
 * with its seq as id, side-channel chunks as `chunk` events, `end` last; a reconnect with
 * `Last-Event-ID` (or `?lastEventId=`) resumes with no gap and no duplicate, and one after
 * `end` is answered 204 (no reconnect loop).
 */
import type * as Sse from "@effect/experimental/Sse"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { TestServer } from "./support"
import { collectStream, request, startServer, waitForHistory } from "./support"

let server: TestServer

beforeAll(async () => {
  server = await startServer()
})
afterAll(async () => {
  await server?.close()
})

const historyOf = (events: ReadonlyArray<Sse.Event>) =>
  events.filter((e) => e.event === "history").map((e) => ({ id: e.id, event: JSON.parse(e.data) }))

describe("GET /api/workflows/:id/stream", () => {
  it("invariants 1–4: in order, chunks live, end last; Last-Event-ID resumes without gap or duplicate", async () => {
    const started = await request(server.url, "POST", "/api/workflows", {
      type: "chatty",
      input: 5,
      id: "chatty-1"
    })
    expect(started.status).toBe(201)

    // First connection: the start, then (after `go`) the activity with its chunks.
    const first = collectStream(
      server.url,
      "chatty-1",
      (e) => e.event === "history" && JSON.parse(e.data).type === "ActivityCompleted"
    )
    await waitForHistory(server.url, "chatty-1", (e) => e.type === "WorkflowStarted")
    expect(
      (await request(server.url, "POST", "/api/workflows/chatty-1/signal", { signalName: "go", data: {} }))
        .status
    ).toBe(202)
    const seen = await first

    const history = historyOf(seen)
    expect(history.map((h) => h.event.type)).toEqual([
      "WorkflowStarted",
      "SignalReceived",
      "ActivityScheduled",
      "ActivityCompleted"
    ])
    expect(history.map((h) => h.id)).toEqual(["1", "2", "3", "4"])
    expect(history.map((h) => h.event.seq)).toEqual([1, 2, 3, 4])

    const scheduled = history[2]!.event
    const chunks = seen.filter((e) => e.event === "chunk").map((e) => JSON.parse(e.data))
    expect(chunks).toEqual(
      ["token-0", "token-1", "token-2", "token-3", "token-4"].map((chunk) => ({
        cmd: scheduled.cmd,
        activity: "test.chatter",
        chunk
      }))
    )
    // Chunks carry no id (a reconnect resumes from the last history event) and come before the completion.
    expect(seen.filter((e) => e.event === "chunk").every((e) => e.id === undefined)).toBe(true)
    const order = seen.map((e) => (e.event === "chunk" ? "chunk" : JSON.parse(e.data).type))
    expect(order.lastIndexOf("chunk")).toBeLessThan(order.indexOf("ActivityCompleted"))
    expect(order.indexOf("chunk")).toBeGreaterThan(order.indexOf("ActivityScheduled"))

    // Disconnected: the workflow goes on without us.
    expect(
      (
        await request(server.url, "POST", "/api/workflows/chatty-1/signal", {
          signalName: "go",
          data: { note: "2" }
        })
      ).status
    ).toBe(202)
    await waitForHistory(server.url, "chatty-1", (e) => e.type === "WorkflowCompleted")

    // Reconnect after seq 4: exactly 5 and 6, then end.
    const resumed = await collectStream(server.url, "chatty-1", () => false, { "last-event-id": "4" })
    expect(historyOf(resumed).map((h) => [h.id, h.event.type])).toEqual([
      ["5", "SignalReceived"],
      ["6", "WorkflowCompleted"]
    ])
    expect(resumed.at(-1)).toMatchObject({
      event: "end",
      id: "end",
      data: JSON.stringify({ status: "completed" })
    })
    expect(resumed.filter((e) => e.event === "end")).toHaveLength(1)

    // Reconnecting after the end (what an EventSource does by itself) is told there is nothing more.
    const afterEnd = await fetch(`${server.url}/api/workflows/chatty-1/stream`, {
      headers: { "last-event-id": "end" }
    })
    expect(afterEnd.status).toBe(204)
    expect(await afterEnd.text()).toBe("")

    // An unknown id is a 404 before any stream starts, whatever the client had already seen.
    for (const headers of [{}, { "last-event-id": "end" }] as Array<Record<string, string>>) {
      const unknown = await request(server.url, "GET", "/api/workflows/no-such-id/stream", undefined, headers)
      expect(unknown.status).toBe(404)
      expect(unknown.body.error).toMatchObject({
        code: "WorkflowNotFound",
        details: { workflowId: "no-such-id" }
      })
    }

    // The query fallback for clients that cannot set the header.
    const fallback = await collectStream(server.url, "chatty-1", () => false, {}, "?lastEventId=2")
    expect(historyOf(fallback).map((h) => h.id)).toEqual(["3", "4", "5", "6"])

    // From scratch, a closed workflow's stream is its whole history, as the export has it, then end.
    const all = await collectStream(server.url, "chatty-1", () => false)
    const exported = await request(server.url, "GET", "/api/workflows/chatty-1/history")
    expect(historyOf(all).map((h) => h.event)).toEqual(exported.body.events)
    expect(all.map((e) => e.event)).toEqual([
      "history",
      "history",
      "history",
      "history",
      "history",
      "history",
      "end"
    ])

    // Stitching the first connection and the resumed one gives every event once, in order.
    expect([...history, ...historyOf(resumed)].map((h) => h.event)).toEqual(exported.body.events)
  })

  it("answers text/event-stream without caching, and a bad Last-Event-ID is a 400 naming the header", async () => {
    await request(server.url, "POST", "/api/workflows", { type: "waiter", input: 3, id: "headers-1" })
    const controller = new AbortController()
    const response = await fetch(`${server.url}/api/workflows/headers-1/stream`, {
      signal: controller.signal
    })
    expect(response.status).toBe(200)
    expect(response.headers.get("content-type")).toBe("text/event-stream")
    expect(response.headers.get("cache-control")).toBe("no-cache, no-transform")
    controller.abort()

    const bad = await request(server.url, "GET", "/api/workflows/headers-1/stream", undefined, {
      "last-event-id": "abc"
    })
    expect(bad.status).toBe(400)
    expect(bad.body.error).toMatchObject({ code: "InvalidRequest", details: { path: ["last-event-id"] } })
  })
})
