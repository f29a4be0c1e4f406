/**
 * The debugger in real headless Chromium against the real server: `temporal-lite serve` as a
 * child process with the examples' registry on a temp database, serving the debugger's build
 * at /debugger/. Every workflow here ran on that server through its HTTP API (or the page's
 * own forms): a code review approved and merged, a trip whose car booking fails, a coding
 * agent followed live, a code review made stuck by restarting the server with changed code,
 * and a server that requires a bearer token.
 */
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import type { Browser, BrowserContext, Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { collectPageErrors, dropFile, launchBrowser, screenshot, screenshotDir } from "./browser"
import { buildHookTimeout, distDir, ensureDebuggerBuild, repoRoot } from "./build"
import { api, expectApi, startRealServer, tempDir, waitForWorkflow, type RealServer } from "./real-server"

const TOKEN = "debugger-test-token"
const bearer = { authorization: `Bearer ${TOKEN}` }
// Each offline LLM call takes this long, so a running agent can be watched.
const LLM_DELAY = { LLM_OFFLINE_DELAY_MS: "300" }
const CHANGED_REGISTRY = join(import.meta.dirname, "fixtures", "changed-registry.ts")

/** The 1-based line of the first line of `file` (repository-relative) containing `needle`. */
const lineOf = (file: string, needle: string): number => {
  const index = readFileSync(join(repoRoot, file), "utf8")
    .split("\n")
    .findIndex((line) => line.includes(needle))
  if (index < 0) throw new Error(`${file} has no line containing ${JSON.stringify(needle)}`)
  return index + 1
}

const approve = { signalName: "CodeReviewApproval", data: { approved: true } }
const awaitingApproval = (d: any) => d.pending?.signals?.includes("CodeReviewApproval")

let dbPath: string
let main: RealServer
let secured: RealServer
let browser: Browser
let context: BrowserContext
let page: Page
let errors: Array<string>
let reviewEvents: Array<any>
let tripExport: any
const requested: Array<string> = []

beforeAll(async () => {
  const { builtMs } = await ensureDebuggerBuild()
  console.log(
    builtMs ? `debugger built in ${(builtMs / 1000).toFixed(1)}s` : "debugger build is fresh, reused"
  )
  console.log(`screenshots: ${screenshotDir}`)
  const started = Date.now()
  const lap = (what: string) => console.log(`${what} after ${((Date.now() - started) / 1000).toFixed(1)}s`)
  dbPath = join(tempDir("main"), "temporal-lite.db")
  ;[main, secured, browser] = await Promise.all([
    startRealServer({ dbPath, env: LLM_DELAY }),
    startRealServer({ env: { ...LLM_DELAY, TEMPORAL_LITE_TOKEN: TOKEN } }),
    launchBrowser()
  ])

  lap(`servers up (${main.url}, ${secured.url} with a token)`)
  // Through the real API: a code review approved to the end, one left waiting for approval
  // (made stuck later), one to cancel from the page, and a trip whose car booking fails.
  const start = (type: string, id: string, input: unknown) =>
    expectApi(main, 201, "POST", "/api/workflows", { type, id, input })
  await Promise.all([
    start("codeReview", "review-ok", { code: "let total = 1", reviewer: "ana" }),
    start("codeReview", "review-stuck", { code: "var old = 2", reviewer: "bo" }),
    start("codeReview", "review-cancel", { code: "let x = 3" }),
    start("bookTrip", "trip-failed", { traveler: "Ada", destination: "Lisbon" })
  ])
  await waitForWorkflow(main, "review-ok", awaitingApproval)
  await expectApi(main, 202, "POST", "/api/workflows/review-ok/signal", approve)
  await waitForWorkflow(main, "review-ok", (d) => d.status === "completed")
  await waitForWorkflow(main, "review-stuck", awaitingApproval)
  await waitForWorkflow(main, "review-cancel", awaitingApproval)
  await waitForWorkflow(main, "trip-failed", (d) => d.status === "failed")
  reviewEvents = (await expectApi(main, 200, "GET", "/api/workflows/review-ok/history")).events
  tripExport = await expectApi(main, 200, "GET", "/api/workflows/trip-failed/history")
  lap("workflows ready")

  context = await browser.newContext({ viewport: { width: 1440, height: 900 } })
  page = await context.newPage()
  page.on("dialog", (dialog) => void dialog.accept())
  page.on("request", (request) => requested.push(request.url()))
  page.on("worker", (worker) => requested.push(worker.url()))
  errors = collectPageErrors(page)
}, buildHookTimeout)

afterAll(async () => {
  await browser?.close()
  await Promise.all([main?.stop(), secured?.stop()])
})

const currentSeq = async (p: Page = page) =>
  Number(await p.locator(".event.current").getAttribute("data-seq"))
const currentLine = async (p: Page = page) =>
  Number(await p.locator("#source").getAttribute("data-current-line"))
const stepText = async () => (await page.locator("[data-testid=step-panel]").textContent()) ?? ""
const stateText = async () => (await page.locator("[data-testid=state-panel]").textContent()) ?? ""
const eventCount = (p: Page = page) => p.locator(".event-list .event").count()
const waitForText = (p: Page, selector: string, predicate: string) =>
  p.waitForFunction(
    ([selector, predicate]) =>
      new RegExp(predicate!).test(document.querySelector(selector!)?.textContent ?? ""),
    [selector, predicate]
  )

const seqOf = (events: ReadonlyArray<any>, predicate: (e: any) => boolean): number => {
  const event = events.find(predicate)
  if (!event) throw new Error("no such event")
  return event.seq
}

describe("the debugger served by the real server", () => {
  const review = {
    file: "examples/code-review.ts",
    llm: lineOf("examples/code-review.ts", "yield* llmChat(reviewRequest"),
    wait: lineOf("examples/code-review.ts", "yield* waitForSignal("),
    merge: lineOf("examples/code-review.ts", "yield* merge({ code })")
  }

  it("lists the server's workflows, and opens a completed code review and steps through every event", async () => {
    await page.goto(`${main.url}/debugger/`)
    await page.waitForSelector("body[data-ready=true]")
    await page.waitForSelector(".wf-item[data-id=review-ok]")
    expect(await page.locator(".wf-item[data-id=review-ok] .status").textContent()).toBe("completed")
    expect(await page.locator(".wf-item[data-id=trip-failed] .status").textContent()).toBe("failed")
    expect(await page.locator(".wf-item[data-id=review-stuck] .status").textContent()).toBe("running")
    await page.waitForSelector("#source .monaco-editor")
    await screenshot(page, "10-server-workflow-list")

    await page.click(".wf-item[data-id=review-ok]")
    await page.waitForSelector("body[data-loaded='workflow:review-ok']")
    expect(await eventCount()).toBe(reviewEvents.length)
    expect(await currentSeq()).toBe(1)
    // the source came with the page's bundle (and the server serves the same file)
    expect(await page.locator("#source").getAttribute("data-source")).toBe(review.file)

    const llmCmd = reviewEvents[seqOf(reviewEvents, (e) => e.name === "llm.chat") - 1].cmd
    const reviewed = seqOf(reviewEvents, (e) => e.type === "ActivityCompleted" && e.cmd === llmCmd)
    const signalled = seqOf(reviewEvents, (e) => e.type === "SignalReceived")
    const merged = seqOf(reviewEvents, (e) => e.type === "ActivityCompleted" && e.result?.ref !== undefined)
    const checks: Record<number, () => Promise<void>> = {
      [reviewed]: async () => {
        expect(await currentLine()).toBe(review.llm)
        expect(await stepText()).toContain("offline-scripted")
        expect(await stateText()).toContain('"stage": "reviewing"')
      },
      [signalled]: async () => {
        expect(await currentLine()).toBe(review.wait)
        expect(await stepText()).toContain('"approved": true')
        expect(await stateText()).toContain('"stage": "merging"')
      },
      [merged]: async () => {
        expect(await currentLine()).toBe(review.merge)
        expect(await stepText()).toMatch(/"ref": "[0-9a-f]+"/)
      }
    }
    // every event, one → at a time, to the end
    const seen: Array<number> = []
    for (let seq = 1; seq <= reviewEvents.length; seq++) {
      expect(await currentSeq()).toBe(seq)
      expect(await page.locator("[data-testid=position]").textContent()).toBe(
        `${seq} / ${reviewEvents.length}`
      )
      if (checks[seq]) {
        await checks[seq]!()
        seen.push(seq)
        if (seq === reviewed) await screenshot(page, "11-server-code-review-step")
      }
      if (seq < reviewEvents.length) await page.keyboard.press("ArrowRight")
    }
    expect(seen).toEqual([reviewed, signalled, merged])
    expect(await stepText()).toContain("workflow result")
    expect(await page.locator("#step-forward").isDisabled()).toBe(true)
    // the URL follows the cursor: a deep link to this event
    expect(new URL(page.url()).searchParams.get("event")).toBe(String(reviewEvents.length))

    // and back, one ← at a time
    for (let seq = reviewEvents.length; seq >= 1; seq--) {
      expect(await currentSeq()).toBe(seq)
      await checks[seq]?.()
      if (seq > 1) await page.keyboard.press("ArrowLeft")
    }
  })

  it("opens a deep link at that event", async () => {
    await page.goto(`${main.url}/debugger/?workflow=review-ok&event=4`)
    await page.waitForSelector("body[data-ready=true]")
    expect(await page.locator("body").getAttribute("data-loaded")).toBe("workflow:review-ok")
    expect(await currentSeq()).toBe(4)
    await page.keyboard.press("ArrowRight")
    expect(new URL(page.url()).searchParams.get("event")).toBe("5")
  })

  it("opens a dropped export of a workflow that failed on the server at its failure, with the error and its line", async () => {
    const failedSeq = tripExport.events.length
    expect(tripExport.events[failedSeq - 1].type).toBe("WorkflowFailed")
    await dropFile(page, "#dropzone", "trip-failed.json", JSON.stringify(tripExport))
    await page.waitForSelector("body[data-loaded='file:trip-failed.json']")
    expect(await currentSeq()).toBe(failedSeq)
    const failure = page.locator("[data-testid=failure]")
    expect(await failure.locator("[data-testid=failure-error]").textContent()).toBe(
      `TripBookingFailed: ${tripExport.workflow.error.message}`
    )
    expect(tripExport.workflow.error.message).toContain("the car booking failed")
    expect(await page.locator("#source").getAttribute("data-source")).toBe("examples/book-trip.ts")
    expect(await page.locator("#source").getAttribute("data-current-mark")).toBe("failure")
    expect(await currentLine()).toBe(lineOf("examples/book-trip.ts", "throw new WorkflowFailure({"))
    expect(await stepText()).toContain("TripBookingFailed")
    // the car booking's own failure is an event of the history, with its error
    const carFailed = seqOf(tripExport.events, (e) => e.type === "ActivityFailed")
    await page.locator(`.event[data-seq='${carFailed}']`).click()
    expect(await stepText()).toContain("no car available for Ada to Lisbon")
    expect(await currentLine()).toBe(lineOf("examples/book-trip.ts", "bookings.push(yield* step.book("))
    await page.keyboard.press("End")
    await screenshot(page, "12-server-failed-trip")
  })

  it("refuses a corrupted export naming the bad event and field, and keeps working", async () => {
    const history = await expectApi(main, 200, "GET", "/api/workflows/review-ok/history")
    const timer = history.events.find((e: any) => e.type === "TimerStarted")
    timer.durationMs = "a week"
    await dropFile(page, "#dropzone", "review-corrupt.json", JSON.stringify(history))
    const alert = page.locator("[data-testid=load-error]")
    await alert.waitFor({ state: "visible" })
    const message = (await alert.textContent()) ?? ""
    expect(message).toContain("review-corrupt.json")
    expect(message).toContain(`seq ${timer.seq}`)
    expect(message).toContain("durationMs")
    await screenshot(page, "13-server-corrupt-file")
    // the trip opened before is still open and steps; the server's workflows still open
    expect(await page.locator("body").getAttribute("data-loaded")).toBe("file:trip-failed.json")
    await page.keyboard.press("Home")
    await page.keyboard.press("ArrowRight")
    expect(await currentSeq()).toBe(2)
    await page.click(".wf-item[data-id=review-ok]")
    await page.waitForSelector("body[data-loaded='workflow:review-ok']")
    expect(await page.locator("[data-testid=load-error]").isHidden()).toBe(true)
  })

  it("queries, signals (schema-checked) and cancels a running workflow, showing the API's answers", async () => {
    await page.click(".wf-item[data-id=review-cancel]")
    await page.waitForSelector("body[data-loaded='workflow:review-cancel']")
    await page.fill("[data-testid=query-name]", "status")
    await page.click("text=Run query")
    await waitForText(page, "[data-testid=query-output]", '^200 [\\s\\S]*"stage": "awaiting-approval"')
    await page.fill("[data-testid=query-name]", "nope")
    await page.click("text=Run query")
    await waitForText(page, "[data-testid=query-output]", "^400 UnknownQuery: ")
    await page.fill("[data-testid=signal-name]", "CodeReviewApproval")
    await page.fill("[data-testid=signal-data]", '{ "approved": "yes" }')
    await page.click("text=Send signal")
    expect(await page.locator("[data-testid=signal-output]").textContent()).toBe(
      "not sent: approved: expected boolean, got string"
    )
    await page.click("text=Cancel workflow")
    await waitForText(page, "[data-testid=cancel-output]", "^202 ")
    // the workflow is followed live: its cancellation arrives over SSE
    await waitForText(page, "[data-testid=workflow-status]", "^cancelled$")
    expect(await page.locator(".event.current").getAttribute("data-type")).toBe("WorkflowCancelled")
  })

  it("starts a coding agent from the page (input checked first) and follows its new events live over SSE", async () => {
    await page.selectOption("[data-testid=start-type]", "codingAgent")
    await page.fill("[data-testid=start-input]", '{ "goal": 5 }')
    await page.click("form.control button[type=submit] >> text=Start")
    expect(await page.locator("[data-testid=start-output]").textContent()).toBe(
      "not sent: goal: expected string, got number"
    )
    await page.fill("[data-testid=start-input]", '{ "goal": "write a greeting script", "maxSteps": 4 }')
    await page.click("form.control button[type=submit] >> text=Start")
    await waitForText(page, "[data-testid=start-output]", "^201 ")
    const id = JSON.parse(
      ((await page.locator("[data-testid=start-output]").textContent()) ?? "").slice(4)
    ).id
    await page.waitForSelector(`body[data-loaded='workflow:${id}']`)
    const atOpen = await eventCount()
    // the signal form typed for the code review before is empty for the agent
    expect(await page.locator("[data-testid=signal-name]").inputValue()).toBe("")
    expect(await page.locator("[data-testid=signal-data]").inputValue()).toBe("")
    expect(await page.locator("[data-testid=signal-output]").textContent()).toBe("")
    await waitForText(page, "[data-testid=live-status]", "live")
    await screenshot(page, "14-server-live-agent-running")
    await waitForText(page, "[data-testid=workflow-status]", "^completed$")
    const final = await expectApi(main, 200, "GET", `/api/workflows/${id}/history`)
    expect(final.workflow.status).toBe("completed")
    // the events after the first load came over the stream, each once, in order
    expect(atOpen).toBeLessThan(final.events.length)
    expect(
      await page
        .locator(".event-list .event")
        .evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.seq))
    ).toEqual(final.events.map((e: any) => String(e.seq)))
    // following kept the cursor at the newest event; the LLM's tokens streamed alongside
    expect(await currentSeq()).toBe(final.events.length)
    expect(await page.locator("[data-testid=live-output]").textContent()).toContain("llm.chat")
    await page.waitForSelector(`.wf-item[data-id='${id}']`)
    await screenshot(page, "15-server-live-agent-done")
  })

  it("shows a workflow the server finds stuck after a code change: both sides of the divergence and the line", async () => {
    // The same database, served by changed code: codeReview now scans before notifying.
    await main.stop()
    main = await startRealServer({ dbPath, env: { ...LLM_DELAY, TEMPORAL_LITE_REGISTRY: CHANGED_REGISTRY } })
    // Replaying its history with the changed code diverges: the engine resumes open runs after
    // start, and the signal (stored all the same) would wake it otherwise.
    await expectApi(main, 202, "POST", "/api/workflows/review-stuck/signal", approve)
    const deadline = Date.now() + 20_000
    while ((await api(main, "GET", "/api/workflows?status=stuck")).body.workflows?.length !== 1) {
      if (Date.now() > deadline) throw new Error("review-stuck did not become stuck")
      await new Promise((r) => setTimeout(r, 50))
    }

    await page.goto(`${main.url}/debugger/`)
    await page.waitForSelector("body[data-ready=true]")
    await page.selectOption("[data-testid=status-filter]", "stuck")
    await page.waitForFunction(() => document.querySelectorAll(".wf-item").length === 1)
    await page.click(".wf-item[data-id=review-stuck]")
    await page.waitForSelector("body[data-loaded='workflow:review-stuck']")

    const history = await expectApi(main, 200, "GET", "/api/workflows/review-stuck/history")
    const notifySeq = seqOf(history.events, (e) => e.type === "ActivityScheduled" && e.name === "notify")
    const changed = "test/debugger/fixtures/code-review-changed.ts"
    const scanLine = lineOf(changed, "yield* securityScan(")

    const divergence = page.locator("[data-testid=divergence]")
    const notifyCmd = history.events[notifySeq - 1].cmd
    expect(await divergence.textContent()).toContain(`Non-determinism at cmd ${notifyCmd}`)
    expect(await divergence.textContent()).toContain("reported by the server")
    // the history's side: what was recorded at that cmd, and the event
    const expected = (await divergence.locator("[data-testid=divergence-expected]").textContent()) ?? ""
    expect(expected).toContain('ActivityScheduled "notify"')
    expect(expected).toContain(`event ${notifySeq}`)
    // the code's side: what the server's code yields now, and where
    const actual = (await divergence.locator("[data-testid=divergence-actual]").textContent()) ?? ""
    expect(actual).toContain('Activity "securityScan"')
    expect(actual).toContain(`${changed}:${scanLine}`)
    // the page opens at the recorded event, showing the server's source at the new yield
    expect(await currentSeq()).toBe(notifySeq)
    expect(await page.locator("#source").getAttribute("data-source")).toBe(changed)
    expect(await page.locator("#source").getAttribute("data-current-mark")).toBe("divergence")
    expect(await currentLine()).toBe(scanLine)
    expect(await page.locator("#source").getAttribute("data-problem-line")).toBe(String(scanLine))
    expect(await page.locator("[data-testid=session-note]").textContent()).toContain(
      "copy bundled with this page"
    )
    await screenshot(page, "16-server-stuck-divergence")

    // an export of the stuck workflow, dropped offline, shows the same divergence (from the file)
    await dropFile(page, "#dropzone", "review-stuck.json", JSON.stringify(history))
    await page.waitForSelector("body[data-loaded='file:review-stuck.json']")
    expect(await page.locator("[data-testid=divergence-actual]").textContent()).toContain(
      'Activity "securityScan"'
    )
    expect(await currentSeq()).toBe(notifySeq)
  })

  it("shows a run the server completed with changed code as completed, and the page's replay of it as stuck, both said", async () => {
    await expectApi(main, 201, "POST", "/api/workflows", {
      type: "codeReview",
      id: "review-changed",
      input: { code: "let z = 4" }
    })
    await waitForWorkflow(main, "review-changed", awaitingApproval)
    await expectApi(main, 202, "POST", "/api/workflows/review-changed/signal", approve)
    await waitForWorkflow(main, "review-changed", (d) => d.status === "completed")
    await page.goto(`${main.url}/debugger/?workflow=review-changed`)
    await page.waitForSelector("body[data-loaded='workflow:review-changed']")
    await page.keyboard.press("End")
    expect(await page.locator("[data-testid=workflow-status]").textContent()).toBe("completed")
    expect(await page.locator("[data-testid=state-status]").textContent()).toBe("completed")
    expect(await page.locator("[data-testid=state-replayed-status]").textContent()).toContain(
      "Replayed with this page's code: stuck"
    )
  })

  it("had no uncaught errors in the page, and loaded nothing from anywhere but the server (Monaco included)", async () => {
    expect(errors).toEqual([])
    // The page is one bundle (Monaco in it), which the server serves with its map
    const bundle = readdirSync(join(distDir, "assets")).find((f) => /^index-[\w-]+\.js$/.test(f))
    expect(requested).toContain(`${main.url}/debugger/assets/${bundle}`)
    expect(requested.filter((url) => !/^(http:\/\/127\.0\.0\.1:\d+\/|data:|blob:)/.test(url))).toEqual([])
    const map = await fetch(`${main.url}/debugger/assets/${bundle}.map`)
    expect(map.status).toBe(200)
    // Monaco's editor worker is inlined in the bundle (started from a blob: URL, see the file:// test)
    expect(readdirSync(join(distDir, "assets")).sort()).toEqual([bundle, `${bundle}.map`, `${bundle}.map.js`])
  })
})

describe("a server that requires a bearer token", () => {
  let tokenPage: Page
  let tokenErrors: Array<string>

  it("guards the debugger's files; ?access_token= opens the page, which keeps the token in sessionStorage", async () => {
    expect((await api(secured, "GET", "/debugger/")).status).toBe(401)
    await expectApi(
      secured,
      201,
      "POST",
      "/api/workflows",
      { type: "codeReview", id: "tok-review", input: { code: "x" } },
      bearer
    )
    await waitForWorkflow(secured, "tok-review", awaitingApproval, bearer)

    const tokenContext = await browser.newContext({ viewport: { width: 1440, height: 900 } })
    tokenPage = await tokenContext.newPage()
    tokenErrors = collectPageErrors(tokenPage)
    await tokenPage.goto(`${secured.url}/debugger/?access_token=${TOKEN}&workflow=tok-review`)
    await tokenPage.waitForSelector("body[data-ready=true]")
    // the token left the URL (the deep link stayed) for sessionStorage
    const url = new URL(tokenPage.url())
    expect(url.searchParams.has("access_token")).toBe(false)
    expect(url.searchParams.get("workflow")).toBe("tok-review")
    expect(await tokenPage.evaluate(() => sessionStorage.getItem("temporal-lite.token"))).toBe(TOKEN)
    expect(await tokenPage.locator("body").getAttribute("data-loaded")).toBe("workflow:tok-review")
    await tokenPage.waitForSelector(".wf-item[data-id=tok-review]")
    expect(await tokenPage.locator("[data-testid=token-prompt]").isHidden()).toBe(true)
    expect(await tokenPage.locator("[data-testid=token-state]").textContent()).toContain("token set")
  })

  it("works on the token alone (no cookie): API calls and the live stream carry Authorization", async () => {
    await tokenPage.context().clearCookies()
    await tokenPage.selectOption("[data-testid=start-type]", "codingAgent")
    await tokenPage.fill("[data-testid=start-input]", '{ "goal": "say hello", "maxSteps": 3 }')
    await tokenPage.click("form.control button[type=submit] >> text=Start")
    await waitForText(tokenPage, "[data-testid=start-output]", "^201 ")
    const id = JSON.parse(
      ((await tokenPage.locator("[data-testid=start-output]").textContent()) ?? "").slice(4)
    ).id
    await tokenPage.waitForSelector(`body[data-loaded='workflow:${id}']`)
    const atOpen = await eventCount(tokenPage)
    await waitForText(tokenPage, "[data-testid=workflow-status]", "^completed$")
    const final = await expectApi(secured, 200, "GET", `/api/workflows/${id}/history`, undefined, bearer)
    expect(atOpen).toBeLessThan(final.events.length)
    expect(await eventCount(tokenPage)).toBe(final.events.length)
    expect(await currentSeq(tokenPage)).toBe(final.events.length)
    expect(await currentLine(tokenPage)).toBeGreaterThan(0)
  })

  it("asks for the token when the server answers 401, and takes it", async () => {
    await tokenPage.click("[data-testid=token-state] button")
    expect(await tokenPage.evaluate(() => sessionStorage.getItem("temporal-lite.token"))).toBeNull()
    await tokenPage.click("#workflows button[title=refresh]")
    const prompt = tokenPage.locator("[data-testid=token-prompt]")
    await prompt.waitFor({ state: "visible" })
    expect(await prompt.textContent()).toContain("a bearer token is required")
    await tokenPage.fill("[data-testid=token-input]", "wrong-token")
    await tokenPage.click("[data-testid=token-submit]")
    await waitForText(tokenPage, "[data-testid=token-reason]", "not valid")
    expect(await prompt.isVisible()).toBe(true)
    await screenshot(tokenPage, "17-token-prompt")
    await tokenPage.fill("[data-testid=token-input]", TOKEN)
    await tokenPage.click("[data-testid=token-submit]")
    await prompt.waitFor({ state: "hidden" })
    await tokenPage.waitForSelector(".wf-item[data-id=tok-review]")
    expect(await tokenPage.evaluate(() => sessionStorage.getItem("temporal-lite.token"))).toBe(TOKEN)
  })

  it("had no uncaught errors in the page", () => {
    expect(tokenErrors).toEqual([])
  })
})
