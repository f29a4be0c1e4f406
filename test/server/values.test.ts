/**
 * Exact values over HTTP (issue 13): a start without `input` passes `undefined`, so a default
 * parameter applies; a payload failing its schema is a 400 naming the field's path, and
 * nothing is stored.
 */
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { fixtures, request, runCliHere, startServer, until, type TestServer } from "./support"

let server: TestServer
beforeAll(async () => {
  server = await startServer({ registry: path.join(fixtures, "values-registry.ts") })
}, 30_000)
afterAll(() => server?.close())

/** The workflow's description once it has closed. */
const closed = async (id: string) => {
  let body: any
  await until(`${id} closed`, async () => {
    body = (await request(server.url, "GET", `/api/workflows/${encodeURIComponent(id)}`)).body
    return body.status !== "running"
  })
  return body
}

describe("exact values over HTTP", () => {
  it("POST /api/workflows without input starts the workflow with undefined: its default applies", async () => {
    const started = await request(server.url, "POST", "/api/workflows", { type: "greeting", id: "g-http" })
    expect(started.status).toBe(201)
    expect(await closed("g-http")).toMatchObject({ status: "completed", result: { greeting: "hello world" } })
    const given = await request(server.url, "POST", "/api/workflows", {
      type: "greeting",
      id: "g-given",
      input: "you"
    })
    expect(given.status).toBe(201)
    expect(await closed("g-given")).toMatchObject({ result: { greeting: "hello you" } })
  })

  it("`cli start` without --input starts the workflow with undefined", async () => {
    const out = await runCliHere(["start", "greeting", "--id", "g-cli", "--server", server.url])
    expect(out.status).toBe(0)
    expect(await closed("g-cli")).toMatchObject({ status: "completed", result: { greeting: "hello world" } })
  })

  it("an input or a signal's data failing its schema is a 400 naming the path; nothing is stored", async () => {
    const bad = { items: [{ at: 1 }, { at: 2 }, { at: 3 }, { at: "x" }] }
    const refused = await request(server.url, "POST", "/api/workflows", {
      type: "noted",
      id: "n-bad",
      input: bad
    })
    expect(refused.status).toBe(400)
    expect(refused.body).toEqual({
      error: {
        code: "InvalidPayload",
        message: 'invalid input of workflow "noted" at "input.items[3].at": Expected number, actual "x"',
        details: {
          path: ["input", "items", 3, "at"],
          what: 'input of workflow "noted"',
          detail: 'Expected number, actual "x"'
        }
      }
    })
    expect((await request(server.url, "GET", "/api/workflows/n-bad")).status).toBe(404)

    expect(
      (
        await request(server.url, "POST", "/api/workflows", {
          type: "noted",
          id: "n-ok",
          input: { items: [] }
        })
      ).status
    ).toBe(201)
    const data = { lines: [{ at: 1 }, { at: "y" }] }
    const signal = await request(server.url, "POST", "/api/workflows/n-ok/signal", {
      signalName: "note",
      data
    })
    expect(signal.status).toBe(400)
    expect(signal.body.error).toMatchObject({
      code: "InvalidPayload",
      message: 'invalid payload of signal "note" at "data.lines[1].at": Expected number, actual "y"',
      details: { path: ["data", "lines", 1, "at"] }
    })
    const described = await request(server.url, "GET", "/api/workflows/n-ok")
    expect(described.body).toMatchObject({
      status: "running",
      historyLength: 1,
      pending: { bufferedSignals: [] }
    })
  })
})
