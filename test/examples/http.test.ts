/**
 * Every example end to end over HTTP on a real server: `temporal-lite serve` as a child
 * process on a loopback port, a temporary database and workspaces, the examples' registry
 * and the offline scripted model at 100 ms per LLM call. One server for the whole file; the
 * tests run at once against it, each with its own workflow ids.
 */
import { spawn } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, it } from "vitest"
import { LLM_CALL_LEDGER_FILE, TOOL_LEDGER_FILE, workspaceDirName } from "../../runtime/agents"
import {
  call,
  followStream,
  repoRoot,
  request,
  startServer,
  until,
  waitForClose,
  workflowRoute,
  type ServerProcess
} from "../../scripts/server-process"

const LLM_DELAY_MS = 100

let server: ServerProcess
let dataDir: string

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), "temporal-lite-examples-http-"))
  server = await startServer({ dataDir, env: { LLM_OFFLINE_DELAY_MS: String(LLM_DELAY_MS) } })
})

afterAll(async () => {
  await server?.stop()
  if (dataDir) rmSync(dataDir, { recursive: true, force: true })
})

// ---------------------------------------------------------------------------------------------

const start = (type: string, id: string, input: unknown) =>
  call(server.url, "POST", "/api/workflows", { type, id, input })
const describeWorkflow = (id: string) => call(server.url, "GET", workflowRoute(id))
const historyOf = async (id: string): Promise<Array<any>> =>
  (await call(server.url, "GET", workflowRoute(id, "/history"))).events
const queryOf = async (id: string, name: string) =>
  (await call(server.url, "GET", workflowRoute(id, `/query/${name}`))).result
const signal = (id: string, signalName: string, data: unknown) =>
  call(server.url, "POST", workflowRoute(id, "/signal"), { signalName, data })

/** The names of the activities scheduled, in history order. */
const scheduledNames = (events: ReadonlyArray<any>) =>
  events.filter((e) => e.type === "ActivityScheduled").map((e) => e.name as string)
/** The inputs of the LLM calls, in history order. */
const llmInputs = (events: ReadonlyArray<any>) =>
  events.filter((e) => e.type === "ActivityScheduled" && e.name === "llm.chat").map((e) => e.input)
/** The tokens history records: the sum of the usage of every recorded LLM answer. */
const recordedTokens = (events: ReadonlyArray<any>) =>
  events
    .filter((e) => e.type === "ActivityCompleted" && e.result?.usage)
    .reduce((sum, e) => sum + e.result.usage.totalTokens, 0)
/** The LLM calls the provider answered for `id`, from the call ledger file. */
const ledgerCalls = (id: string) =>
  readFileSync(path.join(dataDir, "workspaces", LLM_CALL_LEDGER_FILE), "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l))
    .filter((r) => r.workflowId === id)

const waitForStage = (id: string, stage: string) =>
  until(`${id} at stage ${stage}`, async () => (await queryOf(id, "status")).stage === stage)

/** `npm run --silent cli -- <args>`: the command the README shows. */
const runCli = (
  args: ReadonlyArray<string>
): Promise<{ status: number | null; stdout: string; stderr: string }> =>
  new Promise((resolve, reject) => {
    const child = spawn("npm", ["run", "--silent", "cli", "--", ...args], {
      cwd: repoRoot,
      env: { ...process.env, TEMPORAL_LITE_TOKEN: "" },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()))
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()))
    child.once("error", reject)
    child.once("close", (status) => resolve({ status, stdout, stderr }))
  })

// ---------------------------------------------------------------------------------------------

describe.concurrent("the examples over HTTP on a real server", () => {
  it("codeReview approved: review, notify, wait, merge; the code lands in the workspace", async ({
    expect
  }) => {
    const id = "http-review-approved"
    const code = "const total = 1\nexport { total }"
    await start("codeReview", id, { code, reviewer: "ada" })
    await waitForStage(id, "awaiting-approval")
    const status = await queryOf(id, "status")
    expect(status.review.verdict).toBe("approve")
    expect((await describeWorkflow(id)).pending.signals).toEqual(["CodeReviewApproval"])

    expect(await signal(id, "CodeReviewApproval", { approved: true })).toEqual({ id, accepted: true })
    const done = await waitForClose(server.url, id)
    expect(done.status).toBe("completed")
    expect(done.result).toMatchObject({ outcome: "merged", merge: { path: "merged/code.txt" } })
    expect(await queryOf(id, "status")).toMatchObject({ stage: "done" })
    expect(
      readFileSync(path.join(dataDir, "workspaces", workspaceDirName(id), "merged", "code.txt"), "utf8")
    ).toBe(code)
    expect(scheduledNames(await historyOf(id))).toEqual(["llm.chat", "notify", "merge"])
    expect(done.llmUsage).toMatchObject({ calls: 1 })
  })

  it("codeReview rejected with feedback: the feedback reaches the refactor prompt; describe shows 2 LLM calls and their tokens", async ({
    expect
  }) => {
    const id = "http-review-rejected"
    const feedback = "Use const and strict equality"
    await start("codeReview", id, {
      code: "var total = 0\nif (total == 1) console.log(total)",
      reviewer: "ada"
    })
    await waitForStage(id, "awaiting-approval")
    expect((await queryOf(id, "status")).review.verdict).toBe("request-changes")
    await signal(id, "CodeReviewApproval", { approved: false, feedback })

    const done = await waitForClose(server.url, id)
    expect(done.status).toBe("completed")
    expect(done.result).toMatchObject({ outcome: "refactored", feedback, model: "offline-scripted" })
    expect(done.result.code).toContain(`following feedback: ${feedback}`)
    expect(done.result.code).toContain("let total = 0\nif (total === 1)")

    const events = await historyOf(id)
    expect(scheduledNames(events)).toEqual(["llm.chat", "notify", "llm.chat"])
    const refactor = llmInputs(events)[1]
    expect(refactor.purpose).toBe("refactor")
    expect(refactor.messages.at(-1).content).toMatch(new RegExp(`^Feedback: ${feedback}\\n`))

    // describe: the LLM calls recorded and their tokens, the same as the provider billed.
    const tokens = recordedTokens(events)
    expect(tokens).toBeGreaterThan(0)
    expect(done.llmUsage).toEqual({ calls: 2, totalTokens: tokens })
    const billed = ledgerCalls(id)
    expect(billed).toHaveLength(2)
    expect(billed.reduce((sum, r) => sum + r.usage.totalTokens, 0)).toBe(tokens)

    // The CLI says the same: npm run cli -- describe <id>
    const cli = await runCli(["describe", id, "--server", server.url])
    expect(cli.stderr).toBe("")
    expect(cli.status).toBe(0)
    expect(JSON.parse(cli.stdout)).toMatchObject({
      id,
      status: "completed",
      llmUsage: { calls: 2, totalTokens: tokens }
    })
  })

  it("codeReview nobody answers times out after approvalTimeout; nothing is merged", async ({ expect }) => {
    const id = "http-review-timeout"
    const started = Date.now()
    await start("codeReview", id, { code: "const x = 1", approvalTimeout: "1 second" })
    const done = await waitForClose(server.url, id)
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000)
    expect(done.status).toBe("completed")
    expect(done.result).toMatchObject({ outcome: "timed-out", waited: "1 second" })
    const events = await historyOf(id)
    expect(events.filter((e) => e.type === "TimerStarted")).toEqual([
      expect.objectContaining({ durationMs: 1000, purpose: "signal-timeout" })
    ])
    expect(events.some((e) => e.type === "TimerFired")).toBe(true)
    expect(scheduledNames(events)).toEqual(["llm.chat", "notify", "notify"])
    expect(existsSync(path.join(dataDir, "workspaces", workspaceDirName(id), "merged"))).toBe(false)
  })

  it("multiAgent with one child failing after its retries keeps its siblings' results", async ({
    expect
  }) => {
    const id = "http-multi"
    await start("multiAgent", id, { task: "Write the docs; Fix the FAIL bug; Add tests", workers: 3 })
    const done = await waitForClose(server.url, id)
    expect(done.status).toBe("completed")
    const { results, summary } = done.result
    expect(results.map((r: any) => [r.subtask, r.status])).toEqual([
      ["Write the docs", "completed"],
      ["Fix the FAIL bug", "failed"],
      ["Add tests", "completed"]
    ])
    expect(results[0].output).toContain("Write the docs")
    expect(results[2].output).toContain("Add tests")
    expect(results[1].error).toContain("FAIL")
    expect(summary).toContain("3 subtasks (2 completed, 1 failed)")
    expect(await queryOf(id, "progress")).toEqual({ done: 3, total: 3 })

    // The children are workflows of their own: the failed one failed after 2 attempts.
    const failed = await describeWorkflow(`${id}-task-2`)
    expect(failed).toMatchObject({ type: "agentTask", status: "failed", parentId: id })
    const attempts = (await historyOf(`${id}-task-2`)).filter(
      (e) => e.type === "ActivityAttemptFailed"
    ).length
    expect(attempts).toBe(1) // the first attempt; the second is the ActivityFailed
    expect((await describeWorkflow(`${id}-task-1`)).status).toBe("completed")
    const children = await call(server.url, "GET", "/api/workflows?type=agentTask&limit=1000")
    expect(children.workflows.filter((w: any) => w.parentId === id)).toHaveLength(3)
    // The parent's own LLM calls: the plan and the summary.
    expect(done.llmUsage.calls).toBe(2)
  })

  it("bookTrip: the car fails; the hotel then the flight are compensated, in that order, as the history shows", async ({
    expect
  }) => {
    const id = "http-trip"
    await start("bookTrip", id, { traveler: "Ada", destination: "Lisbon" })
    const done = await waitForClose(server.url, id)
    expect(done.status).toBe("failed")
    expect(done.error).toMatchObject({ name: "TripBookingFailed" })
    expect(done.error.details).toMatchObject({
      failed: "car",
      compensated: [
        { kind: "hotel", reservation: `${id}/hotel` },
        { kind: "flight", reservation: `${id}/flight` }
      ]
    })

    const events = await historyOf(id)
    expect(scheduledNames(events)).toEqual([
      "bookFlight",
      "bookHotel",
      "bookCar",
      "cancelHotel",
      "cancelFlight"
    ])
    // Each compensation completed before the next was asked for.
    const cmdOf = (name: string) => events.find((e) => e.type === "ActivityScheduled" && e.name === name).cmd
    const seqOf = (type: string, name: string) =>
      events.find((e) => e.type === type && e.cmd === cmdOf(name)).seq
    expect(seqOf("ActivityFailed", "bookCar")).toBeLessThan(seqOf("ActivityScheduled", "cancelHotel"))
    expect(seqOf("ActivityCompleted", "cancelHotel")).toBeLessThan(seqOf("ActivityScheduled", "cancelFlight"))
    expect(events.at(-1)).toMatchObject({ type: "WorkflowFailed" })
  })

  it("codingAgent: a Steer signal reaches the next LLM prompt; maxSteps LLM and tool calls; steps query", async ({
    expect
  }) => {
    const id = "http-agent"
    const instruction = "use British spelling"
    await start("codingAgent", id, { goal: "Write release notes", maxSteps: 6 })

    // Send the signal while the second LLM call runs (each takes LLM_DELAY_MS).
    let llmCalls = 0
    await followStream(server.url, id, (item) => {
      if (
        item.kind === "history" &&
        item.event.type === "ActivityScheduled" &&
        item.event["name"] === "llm.chat"
      )
        llmCalls += 1
      return llmCalls === 2
    })
    await signal(id, "Steer", { instruction })
    const done = await waitForClose(server.url, id)
    expect(done.status).toBe("completed")
    expect(done.result).toMatchObject({ outcome: "max-steps", stepsTaken: 6 })

    // The instruction is in the prompt of the first LLM call after the first poll that
    // followed its arrival: a poll runs when a tool's result comes in.
    const events = await historyOf(id)
    const received = events.find((e) => e.type === "SignalReceived")
    expect(received).toMatchObject({ name: "Steer", payload: { instruction } })
    const names = new Map(events.filter((e) => e.type === "ActivityScheduled").map((e) => [e.cmd, e.name]))
    const poll = events.find(
      (e) => e.seq > received.seq && e.type === "ActivityCompleted" && names.get(e.cmd).startsWith("tool.")
    )
    const next = events.find(
      (e) => e.seq > poll.seq && e.type === "ActivityScheduled" && e.name === "llm.chat"
    )
    expect(next.input.messages.at(-1).content).toBe(`Human instruction: ${instruction}`)
    // Once: no other prompt ends with it.
    const prompts = llmInputs(events)
    expect(prompts.filter((p) => p.messages.at(-1).content.startsWith("Human instruction:"))).toHaveLength(1)

    const steps = (await queryOf(id, "steps")) as Array<{ step: number; tool: string; summary: string }>
    expect(steps.map((s) => s.step)).toEqual([1, 2, 3, 4, 5, 6])
    expect(
      steps.filter((s) => s.summary.includes(`(following human instruction: "${instruction}")`))
    ).toHaveLength(1)

    // Exactly maxSteps LLM calls and tool calls: at the budget the model is not asked again.
    expect(prompts).toHaveLength(6)
    expect(scheduledNames(events).filter((n) => n.startsWith("tool."))).toHaveLength(6)
    expect(done.llmUsage).toEqual({ calls: 6, totalTokens: recordedTokens(events) })
    expect(ledgerCalls(id)).toHaveLength(6)
    const toolLedger = readFileSync(
      path.join(dataDir, "workspaces", workspaceDirName(id), TOOL_LEDGER_FILE),
      "utf8"
    )
    expect(toolLedger.trim().split("\n")).toHaveLength(6)
  })

  it("an LLM call streams its tokens as event: chunk while it runs; history records only the final answer", async ({
    expect
  }) => {
    // The refactor call starts only when the signal is sent, and the signal is sent once the
    // stream is connected (it has delivered events): no chunk of that call can be missed.
    const id = "http-review-chunks"
    await start("codeReview", id, { code: "var a = 1", approvalTimeout: "1 hour" })
    const items: Array<any> = []
    let signalled: Promise<unknown> | undefined
    await followStream(server.url, id, (item) => {
      items.push(item)
      if (item.kind === "history" && item.event.type === "TimerStarted" && !signalled)
        signalled = signal(id, "CodeReviewApproval", { approved: false, feedback: "Use let" })
    })
    await signalled

    const events = items.filter((i) => i.kind === "history").map((i) => i.event)
    const refactor = events.filter((e) => e.type === "ActivityScheduled" && e.name === "llm.chat")[1]
    const answer = events.find((e) => e.type === "ActivityCompleted" && e.cmd === refactor.cmd).result
    const chunks = items.filter((i) => i.kind === "chunk" && i.data.cmd === refactor.cmd).map((i) => i.data)
    expect(chunks.length).toBeGreaterThan(1)
    expect(chunks.every((c) => c.activity === "llm.chat" && c.chunk.purpose === "refactor")).toBe(true)
    expect(chunks.map((c) => c.chunk.text).join("")).toBe(answer.content)
    // Every chunk came before the answer was recorded.
    const completedAt = items.findIndex(
      (i) =>
        i.kind === "history" &&
        i.event.seq === events.find((e) => e.type === "ActivityCompleted" && e.cmd === refactor.cmd).seq
    )
    expect(items.findLastIndex((i) => i.kind === "chunk" && i.data.cmd === refactor.cmd)).toBeLessThan(
      completedAt
    )
    expect(items.at(-1)).toEqual({ kind: "end", status: "completed" })
  })

  it("fanOutFanIn runs one activity per item and sums them", async ({ expect }) => {
    const id = "http-fan"
    await start("fanOutFanIn", id, { items: ["durable execution", "for AI agents", "on one SQLite file"] })
    const done = await waitForClose(server.url, id)
    expect(done.result).toMatchObject({ items: 3, words: 9 })
    expect(scheduledNames(await historyOf(id))).toEqual(["analyzeText", "analyzeText", "analyzeText"])
  })

  it("monitor polls with durable sleeps until ready, and gives up at its deadline", async ({ expect }) => {
    await start("monitor", "http-monitor-ready", {
      target: "build",
      interval: "100 millis",
      readyAfterChecks: 3
    })
    await start("monitor", "http-monitor-late", {
      target: "flaky",
      interval: "200 millis",
      deadline: "500 millis",
      readyAfterChecks: 100
    })
    const ready = await waitForClose(server.url, "http-monitor-ready")
    expect(ready.result).toMatchObject({ outcome: "ready", checks: 3 })
    const late = await waitForClose(server.url, "http-monitor-late")
    expect(late.result.outcome).toBe("deadline-exceeded")
    expect(await queryOf("http-monitor-late", "status")).toMatchObject({ state: "deadline-exceeded" })
  })

  it("refuses a bad input with the schema's message", async ({ expect }) => {
    const answer = await request(server.url, "POST", "/api/workflows", {
      type: "codeReview",
      id: "http-bad",
      input: { code: "x", approvalTimeout: "soon" }
    })
    expect(answer.status).toBe(400)
    expect(JSON.stringify(answer.body)).toContain("expected a duration")
  })
})
