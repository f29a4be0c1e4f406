/**
 * The whole life of a workflow over HTTP on a real server and engine: start → query →
 * signal → completion → history export (through the CLI) → `replay` of the export passes
 * against the code it was recorded with and fails, naming the divergence, against changed
 * code. Also every refusal of DESIGN §6/§8 with its status and code.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { TestServer } from "./support"
import {
  REGISTRY,
  REGISTRY_V2,
  readSideEffects,
  request,
  runBin,
  runCli,
  runCliHere,
  startServer,
  waitForHistory
} from "./support"

let server: TestServer

beforeAll(async () => {
  server = await startServer()
})
afterAll(async () => {
  await server?.close()
})

const exportFile = () => path.join(server.dataDir, "approval-1.json")

describe("a workflow's whole life over HTTP", () => {
  it("start → query → signal → completed → exported history → replay matches; changed code diverges", async () => {
    const started = await request(server.url, "POST", "/api/workflows", {
      type: "approval",
      input: { code: "let x = 1" },
      id: "approval-1"
    })
    expect(started.status).toBe(201)
    expect(started.body).toEqual({ id: "approval-1", runId: expect.any(String), status: "running" })

    // The review has run once it is recorded; then the workflow waits and says so.
    await waitForHistory(server.url, "approval-1", (e) => e.type === "ActivityCompleted")
    const stage = await request(server.url, "GET", "/api/workflows/approval-1/query/stage")
    expect(stage).toMatchObject({ status: 200, body: { result: "awaiting approval" } })
    const waiting = await request(server.url, "GET", "/api/workflows/approval-1")
    expect(waiting.status).toBe(200)
    expect(waiting.body).toMatchObject({
      id: "approval-1",
      type: "approval",
      status: "running",
      input: { code: "let x = 1" },
      pending: { signals: ["approve"] },
      debuggerUrl: "/debugger/?workflow=approval-1"
    })

    const signalled = await request(server.url, "POST", "/api/workflows/approval-1/signal", {
      signalName: "approve",
      data: { approved: true }
    })
    expect(signalled).toMatchObject({ status: 202, body: { id: "approval-1", accepted: true } })

    await waitForHistory(server.url, "approval-1", (e) => e.type === "WorkflowCompleted")
    const done = await request(server.url, "GET", "/api/workflows/approval-1")
    expect(done.body).toMatchObject({
      status: "completed",
      result: { outcome: "merged", summary: "9 characters, looks fine", merged: "merged 9 characters" }
    })
    expect((await request(server.url, "GET", "/api/workflows/approval-1/query/stage")).body).toEqual({
      result: "done"
    })

    // The export over plain HTTP and through the CLI's derived client are the same document.
    const exported = await request(server.url, "GET", "/api/workflows/approval-1/history")
    expect(exported.status).toBe(200)
    expect(exported.body.format).toBe("temporal-lite/history@1")
    expect(exported.body.events.map((e: { type: string }) => e.type)).toEqual([
      "WorkflowStarted",
      "ActivityScheduled",
      "ActivityCompleted",
      "SignalReceived",
      "ActivityScheduled",
      "ActivityCompleted",
      "WorkflowCompleted"
    ])
    const cli = await runCliHere(["history", "approval-1", "--out", exportFile(), "--server", server.url])
    expect(cli.stderr).toContain(`wrote 7 events of approval approval-1 to ${exportFile()}`)
    expect(cli.status).toBe(0)
    expect(JSON.parse(readFileSync(exportFile(), "utf8"))).toEqual(exported.body)

    // Each activity ran exactly once.
    const effects = readSideEffects(server.dataDir).filter((e) => e.key.startsWith("approval-1/"))
    expect(effects.map((e) => `${e.phase} ${e.activity}`)).toEqual([
      "start test.review",
      "done test.review",
      "start test.merge",
      "done test.merge"
    ])

    const [matched, diverged] = await Promise.all([
      runCli(["replay", exportFile(), "--registry", REGISTRY]),
      runCli(["replay", exportFile(), "--registry", REGISTRY_V2])
    ])
    expect(matched.stdout).toContain(
      "✓ approval approval-1 (7 events): the current code reproduces the history (status completed)"
    )
    expect(matched.status).toBe(0)

    expect(diverged.status).toBe(1)
    const lines = diverged.stderr.split("\n")
    expect(lines[0]).toMatch(
      /^✗ approval approval-1 \(7 events\): the current code diverges from the history at cmd \d+$/
    )
    expect(diverged.stderr).toContain('history has: ActivityScheduled "test.review"')
    expect(diverged.stderr).toContain('code yields: Activity "test.lint"')
    // The location is the yield of the changed code: `yield* lint(code)` in approval-v2.ts.
    const source = readFileSync(path.join(import.meta.dirname, "fixtures", "approval-v2.ts"), "utf8").split(
      "\n"
    )
    const lintLine = source.findIndex((line) => line.includes("yield* lint(code)")) + 1
    expect(diverged.stderr).toMatch(new RegExp(`at: +test/server/fixtures/approval-v2\\.ts:${lintLine}:\\d+`))
  })

  it("replay refuses a file that is not a history, or whose type is not registered, with exit code 2", async () => {
    const foreign = path.join(server.dataDir, "foreign.json")
    writeFileSync(foreign, JSON.stringify({ format: "something-else", events: [] }))
    const bad = await runCliHere(["replay", foreign, "--registry", REGISTRY])
    expect(bad.status).toBe(2)
    expect(bad.stderr).toContain('"format" is "something-else", expected "temporal-lite/history@1"')

    expect(existsSync(exportFile())).toBe(true)
    const other = path.join(server.dataDir, "other-type.json")
    const file = JSON.parse(readFileSync(exportFile(), "utf8"))
    file.workflow.type = "nope"
    writeFileSync(other, JSON.stringify(file))
    const unknown = await runCliHere(["replay", other, "--registry", REGISTRY])
    expect(unknown.status).toBe(2)
    expect(unknown.stderr).toContain('workflow type "nope" is not registered')
  })
})

describe("the CLI against the server (--server, exit codes)", () => {
  it("start, describe, list, query, signal, cancel; a refusal prints its code and exits 1", async () => {
    const at = ["--server", server.url]
    const started = await runCliHere(["start", "waiter", "--input", "5", "--id", "cli-1", ...at])
    expect(started.status).toBe(0)
    expect(JSON.parse(started.stdout)).toMatchObject({ id: "cli-1", status: "running" })
    await waitForHistory(server.url, "cli-1", (e) => e.type === "ActivityCompleted")

    const described = await runCliHere(["describe", "cli-1", ...at])
    expect(JSON.parse(described.stdout)).toMatchObject({
      id: "cli-1",
      status: "running",
      pending: { signals: ["go"] }
    })
    const listed = await runCliHere(["list", "--type", "waiter", "--status", "running", ...at])
    expect(listed.stdout.split("\n")[0]).toMatch(/^ID +TYPE +STATUS +UPDATED$/)
    expect(listed.stdout).toMatch(/\ncli-1 +waiter +running +\d{4}-/)
    const unknownType = await runCliHere(["start", "nope", ...at])
    expect(unknownType.status).toBe(1)
    expect(unknownType.stderr).toContain('temporal-lite: UnknownWorkflowType: unknown workflow type "nope"')
    const badJson = await runCliHere(["start", "waiter", "--input", "{oops", ...at])
    expect(badJson.status).toBe(2)
    expect(badJson.stderr).toContain("--input is not valid JSON")

    const queried = await runCliHere(["query", "cli-1", "nothing", ...at])
    expect(queried.status).toBe(1)
    expect(queried.stderr).toContain("UnknownQuery")
    const signalled = await runCliHere(["signal", "cli-1", "go", "--data", '{"note":"from the cli"}', ...at])
    expect(signalled.status).toBe(0)
    expect(JSON.parse(signalled.stdout)).toEqual({ id: "cli-1", accepted: true })
    await waitForHistory(server.url, "cli-1", (e) => e.type === "WorkflowCompleted")
    const cancelled = await runCliHere(["cancel", "cli-1", ...at])
    expect(cancelled.status).toBe(1)
    expect(cancelled.stderr).toContain('WorkflowClosed: workflow "cli-1" is completed')
    const unreachable = await runCliHere(["describe", "cli-1", "--server", "http://127.0.0.1:1"])
    expect(unreachable.status).toBe(1)
    expect(unreachable.stderr).toContain("cannot reach the server at http://127.0.0.1:1")
  })

  it("the `temporal-lite` binary (the package's bin) runs the CLI", async () => {
    const version = await runBin(["--version"])
    expect(version.stdout.trim()).toBe("0.1.0")
    expect(version.status).toBe(0)
  })
})

describe("refusals: the status, the code and the field", () => {
  it("malformed JSON is a 400 MalformedJson", async () => {
    const answer = await request(server.url, "POST", "/api/workflows", '{"type": "approval", ')
    expect(answer.status).toBe(400)
    expect(answer.body.error).toMatchObject({ code: "MalformedJson", details: null })
    expect(answer.body.error.message).toMatch(/^the request body is not valid JSON: /)
  })

  it("a body over the limit is a 413", async () => {
    const answer = await request(server.url, "POST", "/api/workflows", {
      type: "approval",
      input: { code: "x".repeat(1024 * 1024) }
    })
    expect(answer.status).toBe(413)
    expect(answer.body.error).toMatchObject({ code: "PayloadTooLarge", details: { limit: 1024 * 1024 } })
  })

  it("a request-shape violation names the field path", async () => {
    const answer = await request(server.url, "POST", "/api/workflows", { type: 42 })
    expect(answer.status).toBe(400)
    expect(answer.body.error).toMatchObject({
      code: "InvalidRequest",
      message: 'the request does not match the API\'s schema at "type": Expected string, actual 42',
      details: { path: ["type"] }
    })
    const extra = await request(server.url, "POST", "/api/workflows/approval-1/signal", {
      signalName: "approve",
      payload: {}
    })
    expect(extra.status).toBe(400)
    expect(extra.body.error.details.path).toEqual(["payload"])
    expect(extra.body.error.message).toContain("is unexpected")
  })

  it("an input that violates the workflow's schema names the field from the body's root", async () => {
    const answer = await request(server.url, "POST", "/api/workflows", {
      type: "approval",
      input: { code: 7 }
    })
    expect(answer.status).toBe(400)
    expect(answer.body.error).toMatchObject({ code: "InvalidPayload", details: { path: ["input", "code"] } })
    expect(answer.body.error.message).toMatch(/^invalid .*at "input\.code"/)
  })

  it("an unknown workflow type is a 400 listing the registered ones", async () => {
    const answer = await request(server.url, "POST", "/api/workflows", { type: "nope", input: {} })
    expect(answer.status).toBe(400)
    expect(answer.body.error).toMatchObject({
      code: "UnknownWorkflowType",
      details: { name: "nope", known: ["approval", "waiter", "worker", "chatty"] }
    })
  })

  it("an unknown id is a 404 on every workflow route", async () => {
    for (const [method, route, body] of [
      ["GET", "/api/workflows/ghost", undefined],
      ["GET", "/api/workflows/ghost/history", undefined],
      ["POST", "/api/workflows/ghost/signal", { signalName: "approve", data: { approved: true } }],
      ["GET", "/api/workflows/ghost/query/stage", undefined],
      ["POST", "/api/workflows/ghost/cancel", undefined],
      ["GET", "/api/workflows/ghost/stream", undefined]
    ] as const) {
      const answer = await request(server.url, method, route, body)
      expect([route, answer.status, answer.body.error.code]).toEqual([route, 404, "WorkflowNotFound"])
    }
  })

  it("a running id is a 409; a finished workflow refuses signals and cancels with 409", async () => {
    const first = await request(server.url, "POST", "/api/workflows", { type: "waiter", input: 1, id: "dup" })
    expect(first.status).toBe(201)
    const again = await request(server.url, "POST", "/api/workflows", { type: "waiter", input: 1, id: "dup" })
    expect(again.status).toBe(409)
    expect(again.body.error).toMatchObject({ code: "WorkflowAlreadyRunning", details: { workflowId: "dup" } })

    const cancel = await request(server.url, "POST", "/api/workflows/dup/cancel?reason=test")
    expect(cancel).toMatchObject({ status: 202, body: { id: "dup", accepted: true } })
    await waitForHistory(server.url, "dup", (e) => e.type === "WorkflowCancelled")
    const signal = await request(server.url, "POST", "/api/workflows/dup/signal", {
      signalName: "go",
      data: {}
    })
    expect(signal.status).toBe(409)
    expect(signal.body.error).toMatchObject({
      code: "WorkflowClosed",
      details: { workflowId: "dup", status: "cancelled" }
    })
    const cancelAgain = await request(server.url, "POST", "/api/workflows/dup/cancel")
    expect(cancelAgain.status).toBe(409)
    expect(cancelAgain.body.error.code).toBe("WorkflowClosed")
  })

  it("a signal or query the workflow does not define is a 400 naming it", async () => {
    await request(server.url, "POST", "/api/workflows", { type: "waiter", input: 2, id: "names" })
    const signal = await request(server.url, "POST", "/api/workflows/names/signal", {
      signalName: "approve",
      data: {}
    })
    expect(signal.status).toBe(400)
    expect(signal.body.error).toMatchObject({
      code: "UnknownSignal",
      details: { name: "approve", known: ["go"] }
    })
    const query = await request(server.url, "GET", "/api/workflows/names/query/stage")
    expect(query.status).toBe(400)
    expect(query.body.error).toMatchObject({ code: "UnknownQuery", details: { name: "stage" } })
    const payload = await request(server.url, "POST", "/api/workflows/names/signal", {
      signalName: "go",
      data: { note: 5 }
    })
    expect(payload.status).toBe(400)
    expect(payload.body.error).toMatchObject({ code: "InvalidPayload", details: { path: ["data", "note"] } })
  })

  it("a query whose handler throws is a 422 carrying the handler's error; the workflow goes on", async () => {
    await request(server.url, "POST", "/api/workflows", { type: "chatty", input: 1, id: "explodes" })
    const answer = await request(server.url, "GET", "/api/workflows/explodes/query/explode")
    expect(answer.status).toBe(422)
    expect(answer.body.error).toMatchObject({
      code: "QueryFailed",
      message: 'query "explode" failed: kaboom',
      details: { query: "explode", error: { name: "Error", message: "kaboom" } }
    })
    expect((await request(server.url, "GET", "/api/workflows/explodes")).body.status).toBe("running")
  })

  it("an unknown route is a 404, a wrong method a 405 with Allow, both as the envelope", async () => {
    const missing = await request(server.url, "GET", "/api/nothing-here")
    expect(missing.status).toBe(404)
    expect(missing.body.error).toMatchObject({ code: "RouteNotFound" })
    const method = await request(server.url, "DELETE", "/api/workflows/approval-1")
    expect(method.status).toBe(405)
    expect(method.headers.get("allow")).toBe("GET")
    expect(method.body.error.code).toBe("MethodNotAllowed")
  })

  it("lists newest first, filters by status and type, pages with the cursor", async () => {
    const all = await request(server.url, "GET", "/api/workflows?limit=1000")
    expect(all.status).toBe(200)
    const ids = all.body.workflows.map((w: { id: string }) => w.id)
    expect(ids.slice(-1)).toEqual(["approval-1"])
    const completed = await request(server.url, "GET", "/api/workflows?status=completed&type=approval")
    expect(completed.body.workflows.map((w: { id: string }) => w.id)).toEqual(["approval-1"])
    const page1 = await request(server.url, "GET", "/api/workflows?limit=1")
    expect(page1.body.workflows).toHaveLength(1)
    const page2 = await request(server.url, "GET", `/api/workflows?limit=1&cursor=${page1.body.nextCursor}`)
    expect(page2.body.workflows[0].id).toBe(ids[1])
    const bad = await request(server.url, "GET", "/api/workflows?status=sleeping")
    expect(bad.status).toBe(400)
    expect(bad.body.error.details.path).toEqual(["status"])
  })

  it("workflow types and their source: only the registered workflow's file", async () => {
    const types = await request(server.url, "GET", "/api/workflow-types")
    expect(types.body.workflowTypes.map((t: { name: string }) => t.name)).toEqual([
      "approval",
      "waiter",
      "worker",
      "chatty"
    ])
    expect(types.body.workflowTypes[0]).toMatchObject({
      queries: ["stage"],
      signals: [{ name: "approve" }],
      sourceUrl: "/api/workflow-types/approval/source"
    })
    const source = await request(server.url, "GET", "/api/workflow-types/approval/source")
    expect(source.status).toBe(200)
    expect(source.body.path).toBe("test/server/fixtures/approval.ts")
    expect(source.body.source).toBe(
      readFileSync(path.join(import.meta.dirname, "fixtures", "approval.ts"), "utf8")
    )
    const traversal = await request(server.url, "GET", "/api/workflow-types/..%2F..%2Fpackage.json/source")
    expect(traversal.status).toBe(404)
    expect(traversal.body.error.code).toBe("UnknownWorkflowType")
  })

  it("the OpenAPI document is generated from the API and the docs page inlines its UI", async () => {
    const spec = await request(server.url, "GET", "/api/openapi.json")
    expect(spec.status).toBe(200)
    expect(Object.keys(spec.body.paths).sort()).toEqual([
      "/api/health",
      "/api/workflow-count",
      "/api/workflow-types",
      "/api/workflow-types/{type}/source",
      "/api/workflows",
      "/api/workflows/{id}",
      "/api/workflows/{id}/cancel",
      "/api/workflows/{id}/history",
      "/api/workflows/{id}/query/{name}",
      "/api/workflows/{id}/signal",
      "/api/workflows/{id}/stream"
    ])
    // A 400 is one of the bad-request codes, each its envelope with its own details.
    const bad = spec.body.paths["/api/workflows"].post.responses["400"].content["application/json"].schema
    expect(bad.anyOf.map((s: { $ref: string }) => s.$ref)).toContain(
      "#/components/schemas/InvalidPayloadError"
    )
    expect(spec.body.components.schemas.InvalidPayloadError).toMatchObject({
      type: "object",
      required: ["error"],
      properties: { error: { type: "object", properties: { code: { enum: ["InvalidPayload"] } } } }
    })
    // The envelope any error fits is a component of the document too, its code an enum.
    expect(spec.body.components.schemas.ErrorEnvelope).toMatchObject({
      type: "object",
      required: ["error"],
      properties: { error: { type: "object" } }
    })
    const docs = await fetch(`${server.url}/docs`)
    const html = await docs.text()
    expect(docs.status).toBe(200)
    expect(html).toContain("SwaggerUIBundle")
    expect(html).not.toMatch(/<script[^>]+src=["']https?:/)
    expect(html).not.toMatch(/<link[^>]+href=["']https?:/)
  })
})
