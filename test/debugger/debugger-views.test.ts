/**
 * The debugger's views beyond stepping, in real headless Chromium against one real server
 * child process (`temporal-lite serve`, the examples' registry): what-if on a code review,
 * the compact view and timeline of a fan-out, links between a parent and its children and
 * along a continue-as-new chain, the list's search and paging, and deep links with bad
 * parameters. Screenshots at 1440×900 and 1280×720 go to test/.artifacts/screenshots.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import type { Browser, Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { collectPageErrors, launchBrowser, screenshot } from "./browser"
import { buildHookTimeout, ensureDebuggerBuild, repoRoot } from "./build"
import { expectApi, startRealServer, waitForWorkflow, type RealServer } from "./real-server"

let server: RealServer
let browser: Browser
let page: Page
let errors: Array<string>

const start = (type: string, id: string, input: unknown) =>
  expectApi(server, 201, "POST", "/api/workflows", { type, id, input })
const history = (id: string) =>
  expectApi(server, 200, "GET", `/api/workflows/${encodeURIComponent(id)}/history`)

beforeAll(async () => {
  await ensureDebuggerBuild()
  // Each offline LLM call takes this long: the coding agent's first run lasts long enough to open it.
  ;[server, browser] = await Promise.all([
    startRealServer({ env: { LLM_OFFLINE_DELAY_MS: "400" } }),
    launchBrowser()
  ])
  await Promise.all([
    start("codeReview", "wi-review", { code: "let total = 1", reviewer: "ana" }),
    start("fanOutFanIn", "fan-1", {
      items: ["durable execution", "for AI agents", "on one SQLite file", "in the browser"]
    }),
    start("multiAgent", "team-1", { task: "write a changelog", workers: 2 }),
    ...Array.from({ length: 55 }, (_, i) => start("fanOutFanIn", `page-${i}`, { items: [`item ${i}`] }))
  ])
  await waitForWorkflow(server, "wi-review", (d) => d.pending?.signals?.includes("CodeReviewApproval"))
  await expectApi(server, 202, "POST", "/api/workflows/wi-review/signal", {
    signalName: "CodeReviewApproval",
    data: { approved: true }
  })
  await Promise.all(
    ["wi-review", "fan-1", "team-1", ...Array.from({ length: 55 }, (_, i) => `page-${i}`)].map((id) =>
      waitForWorkflow(server, id, (d) => d.status === "completed")
    )
  )
  page = await browser.newPage({ viewport: { width: 1440, height: 900 } })
  errors = collectPageErrors(page)
}, buildHookTimeout)

afterAll(async () => {
  await browser?.close()
  await server?.stop()
})

/** Screenshots at 1440×900 and at 1280×720 (the page is left at 1440×900). */
const screenshots = async (name: string) => {
  await screenshot(page, `${name}-1440x900`)
  await page.setViewportSize({ width: 1280, height: 720 })
  await screenshot(page, `${name}-1280x720`)
  await page.setViewportSize({ width: 1440, height: 900 })
}

const currentSeq = async () => Number(await page.locator(".event.current").getAttribute("data-seq"))
const open = async (query: string, loaded: string) => {
  await page.goto(`${server.url}/debugger/${query}`)
  await page.waitForSelector("body[data-ready=true]")
  await page.waitForSelector(`body[data-loaded='${loaded}']`)
}

describe("what-if", () => {
  it("edits the recorded approval of a code review to approved: false and shows the refactor branch's commands, hypothetical", async () => {
    const events = (await history("wi-review")).events
    const approval = events.find((e: any) => e.type === "SignalReceived")
    await open(`?workflow=wi-review&event=${approval.seq}`, "workflow:wi-review")
    const panel = page.locator("[data-testid=what-if]")
    await panel.waitFor({ state: "visible" })
    expect(JSON.parse(await page.locator("[data-testid=what-if-input]").inputValue())).toEqual({
      approved: true
    })

    // a value the signal's schema refuses: an error naming the field, nothing replayed
    await page.fill("[data-testid=what-if-input]", '{ "approved": "no" }')
    await page.click("[data-testid=what-if-run]")
    const refusal = page.locator("[data-testid=what-if-error]")
    await refusal.waitFor()
    expect(await refusal.textContent()).toContain("approved")
    expect(await page.locator("[data-testid=what-if-commands]").count()).toBe(0)

    await page.fill("[data-testid=what-if-input]", '{ "approved": false, "feedback": "split it up" }')
    await page.click("[data-testid=what-if-run]")
    const commands = page.locator("[data-testid=what-if-commands] .hypothetical-command")
    await commands.first().waitFor()
    // the refactor branch asks the LLM again; the recorded merge is not what the code does now
    expect(
      await commands.evaluateAll((els) =>
        els.map((e) => `${(e as HTMLElement).dataset.type} ${(e as HTMLElement).dataset.name}`)
      )
    ).toEqual(["ActivityScheduled llm.chat"])
    expect(await commands.first().textContent()).toContain("hypothetical")
    expect(await page.locator("[data-testid=what-if-status]").textContent()).toContain("running")
    // the recorded merge is where the edited run leaves the history
    const merge = events.find((e: any) => e.type === "ActivityScheduled" && e.name === "merge")
    expect(await page.locator("[data-testid=what-if-result]").textContent()).toContain(
      `From event ${merge.seq} on the history is left out`
    )
    // the fork waits for the fork API; the override it would send is ready
    const fork = page.locator("[data-testid=what-if-fork]")
    expect(await fork.isDisabled()).toBe(true)
    expect(JSON.parse((await fork.getAttribute("data-override"))!)).toEqual({
      seq: approval.seq,
      value: { approved: false, feedback: "split it up" }
    })
    await screenshots("20-what-if-code-review-rejected")
  })
})

describe("compact view and timeline", () => {
  it("shows a fan-out's activities as overlapping bars, in step with the cursor", async () => {
    const events = (await history("fan-1")).events
    await open("?workflow=fan-1", "workflow:fan-1")
    await page.click("[data-testid=view-tab-timeline]")
    const bars = page.locator(".tl-row[data-kind=activity]")
    expect(await bars.count()).toBe(4) // one per item
    const spans = await page
      .locator(".tl-row[data-kind=activity] [data-testid=tl-bar]")
      .evaluateAll((els) =>
        els.map((e) => [Number((e as HTMLElement).dataset.from), Number((e as HTMLElement).dataset.to)])
      )
    // the four item activities were all scheduled before any finished: they ran at once
    for (const [from] of spans) for (const [, to] of spans) expect(from).toBeLessThanOrEqual(to!)
    // the cursor: a completion's row is current; clicking a bar moves to the event that scheduled it
    const third = events.filter((e: any) => e.type === "ActivityCompleted")[2]
    await page.keyboard.press("Home")
    for (let k = 1; k < third.seq; k++) await page.keyboard.press("ArrowRight")
    expect(await page.locator(".tl-row.current").getAttribute("data-cmd")).toBe(String(third.cmd))
    await page.locator(".tl-row[data-kind=activity]").nth(1).click()
    const scheduled = events.filter((e: any) => e.type === "ActivityScheduled")[1]
    expect(await currentSeq()).toBe(scheduled.seq)
    expect(await page.locator(".tl-row.current").getAttribute("data-cmd")).toBe(String(scheduled.cmd))
    await screenshots("21-timeline-fan-out")

    await page.click("[data-testid=view-tab-compact]")
    const rows = page.locator(".cmd-row")
    expect(await rows.count()).toBe(4)
    expect(await page.locator(".cmd-row.current").getAttribute("data-cmd")).toBe(String(scheduled.cmd))
    await page.keyboard.press("End")
    expect(await page.locator(".cmd-row.current").count()).toBe(0)
    await page.locator(".cmd-row").first().locator("[data-testid=cmd-outcome] button").click()
    const firstCmd = events.find((e: any) => e.type === "ActivityScheduled").cmd
    const firstDone = events.find((e: any) => e.type === "ActivityCompleted" && e.cmd === firstCmd)
    expect(await currentSeq()).toBe(firstDone.seq)
    await screenshots("22-compact-fan-out")
    await page.click("[data-testid=view-tab-events]")
  })
})

describe("related runs", () => {
  it("navigates parent → child → parent", async () => {
    const parent = await history("team-1")
    const children = parent.events.filter((e: any) => e.type === "ChildWorkflowStarted")
    expect(children.length).toBe(2)
    await open("?workflow=team-1", "workflow:team-1")
    const links = page.locator("[data-testid=related-child]")
    expect(await links.allTextContents()).toEqual(children.map((c: any) => c.workflowId))
    await screenshots("23-related-parent")
    await links.nth(1).click()
    await page.waitForSelector(`body[data-loaded='workflow:${children[1].workflowId}']`)
    const url = new URL(page.url())
    expect(url.searchParams.get("workflow")).toBe(children[1].workflowId)
    expect(await page.locator("[data-testid=related-parent]").textContent()).toBe("team-1")
    await screenshots("24-related-child")
    await page.click("[data-testid=related-parent]")
    await page.waitForSelector("body[data-loaded='workflow:team-1']")
    expect(new URL(page.url()).searchParams.get("run")).toBe(parent.workflow.runId)
    // back in the browser's history: the child again
    await page.goBack()
    await page.waitForSelector(`body[data-loaded='workflow:${children[1].workflowId}']`)
  })

  it("follows a continue-as-new chain to the successor run, and back to the run the page has seen", async () => {
    await page.goto(`${server.url}/debugger/`)
    await page.waitForSelector("body[data-ready=true]")
    // Started from the page, which opens it at once: its first run (eight LLM calls) is still going
    await page.selectOption("[data-testid=start-type]", "codingAgent")
    await page.fill("[aria-label='workflow id']", "chain-1")
    await page.fill(
      "[data-testid=start-input]",
      '{ "goal": "say hello", "maxSteps": 10, "continueEvery": 8 }'
    )
    await page.click("form.control button[type=submit] >> text=Start")
    await page.waitForSelector("body[data-loaded='workflow:chain-1']")
    const first = new URL(page.url()).searchParams.get("run")!
    expect(await page.locator("[data-testid=related-previous]").count()).toBe(0)
    // followed live to its end: it continued as new, and links to the run that took over
    const next = page.locator("[data-testid=related-next]")
    await next.waitFor({ timeout: 30_000 }).catch(async (e) => {
      const types = await page
        .locator(".event")
        .evaluateAll((els) => els.map((el) => (el as HTMLElement).dataset.type))
      throw new Error(
        `${e}: at ${page.url()}, events ${types.join(" ")}, ${await page.locator("[data-testid=live-status]").textContent()}`
      )
    })
    await screenshots("25-continued-as-new-first-run")
    const successor = ((await next.textContent()) ?? "").replace(/^run /, "")
    await next.click()
    await page.waitForFunction((run) => new URL(location.href).searchParams.get("run") === run, successor)
    await page.waitForSelector("[data-testid=related-previous]")
    expect(await page.locator("[data-testid=related-previous]").textContent()).toBe(`run ${first}`)
    expect(await page.locator("[data-testid=link-note]").isHidden()).toBe(true)
    await screenshots("26-continued-as-new-second-run")
    await page.click("[data-testid=related-previous]")
    await page.waitForFunction((run) => new URL(location.href).searchParams.get("run") === run, first)
    expect(await page.locator("[data-testid=related-next]").textContent()).toBe(`run ${successor}`)
    expect(await page.locator(".event").last().getAttribute("data-type")).toBe("WorkflowContinuedAsNew")
  })

  it("says so when a link names a run this server cannot give (no runs API yet), and shows the current run", async () => {
    const current = (await history("fan-1")).workflow.runId
    await open("?workflow=fan-1&run=run-of-another-time&event=2", "workflow:fan-1")
    expect(await page.locator("[data-testid=link-note]").textContent()).toContain(
      "Run run-of-another-time of fan-1 cannot be opened"
    )
    expect(new URL(page.url()).searchParams.get("run")).toBe(current)
  })
})

describe("deep links with bad parameters", () => {
  for (const [i, bad] of ["7)", "abc", "2.5"].entries())
    it(`ignores event=${bad} with a note, opens the run and steps`, async () => {
      await open(`?workflow=fan-1&event=${encodeURIComponent(bad)}`, "workflow:fan-1")
      expect(await page.locator("[data-testid=link-note]").textContent()).toContain(
        `ignored event=${JSON.stringify(bad)} in the link: not an event number`
      )
      const total = (await history("fan-1")).events.length
      expect(await page.locator("[data-testid=position]").textContent()).toBe(`1 / ${total}`)
      await page.keyboard.press("ArrowRight")
      expect(await currentSeq()).toBe(2)
      expect(await page.locator("[data-testid=position]").textContent()).toBe(`2 / ${total}`)
      await screenshots(`27-bad-deep-link-${i + 1}`)
    })

  it("clamps an event past the end, with a note", async () => {
    const total = (await history("fan-1")).events.length
    await open("?workflow=fan-1&event=999", "workflow:fan-1")
    expect(await currentSeq()).toBe(total)
    expect(await page.locator("[data-testid=link-note]").textContent()).toContain(
      `event 999 is past the last event (${total})`
    )
  })
})

describe("search in the workflow list", () => {
  it("filters by id prefix, type and status, pages through the matches, and shows a refused search's reason", async () => {
    await page.goto(`${server.url}/debugger/`)
    await page.waitForSelector("body[data-ready=true]")
    await page.fill("[data-testid=search-idPrefix]", "page-")
    await page.click(".wf-search button[type=submit]")
    await page.waitForFunction(
      () => document.querySelector("[data-testid=workflow-count]")?.textContent === "55 match"
    )
    expect(await page.locator(".wf-item").count()).toBe(50)
    await page.click("[data-testid=list-more]")
    await page.waitForFunction(() => document.querySelectorAll(".wf-item").length === 55)
    const ids = await page
      .locator(".wf-item")
      .evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.id))
    expect(new Set(ids).size).toBe(55)
    expect(ids.every((id) => id!.startsWith("page-"))).toBe(true)
    expect(await page.locator("[data-testid=list-more]").isHidden()).toBe(true)
    await screenshots("28-search-id-prefix")

    await page.fill("[data-testid=search-idPrefix]", "")
    await page.selectOption("[data-testid=type-filter]", "multiAgent")
    await page.waitForFunction(
      () => document.querySelector("[data-testid=workflow-count]")?.textContent === "1 match"
    )
    expect(
      await page.locator(".wf-item").evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.id))
    ).toEqual(["team-1"])
    await page.selectOption("[data-testid=status-filter]", "failed")
    await page.waitForFunction(
      () => document.querySelector("[data-testid=workflow-count]")?.textContent === "0 match"
    )

    // a range that ends before it starts is refused, naming the parameter
    await page.selectOption("[data-testid=type-filter]", "")
    await page.selectOption("[data-testid=status-filter]", "")
    await page.click(".wf-times summary")
    await page.fill("[data-testid=search-startedAfter]", "2030-01-02T00:00:00")
    await page.fill("[data-testid=search-startedBefore]", "2030-01-01T00:00:00")
    await page.click(".wf-search button[type=submit]")
    await page.waitForSelector("text=Could not list workflows")
    expect(await page.locator(".wf-body").textContent()).toContain("startedBefore")
  })
})

describe("the rough edges", () => {
  it("opens a cancelled run at the cancel", async () => {
    await start("codeReview", "cx-1", { code: "let y = 2" })
    await waitForWorkflow(server, "cx-1", (d) => d.pending?.signals?.includes("CodeReviewApproval"))
    await expectApi(server, 202, "POST", "/api/workflows/cx-1/cancel")
    await waitForWorkflow(server, "cx-1", (d) => d.status === "cancelled")
    await open("?workflow=cx-1", "workflow:cx-1")
    expect(await page.locator(".event.current").getAttribute("data-type")).toBe("CancelRequested")
  })

  it("maps WorkflowCompleted to the return line; a type with no queries says so", async () => {
    await open("?workflow=wi-review", "workflow:wi-review")
    await page.keyboard.press("End")
    const source = readFileSync(join(repoRoot, "examples/code-review.ts"), "utf8").split("\n")
    const merge = source.findIndex((l) => l.includes("yield* merge({ code })"))
    const returned = source.findIndex((l, i) => i > merge && l.trim().startsWith("return {")) + 1
    expect(Number(await page.locator("#source").getAttribute("data-current-line"))).toBe(returned)
    await open("?workflow=fan-1", "workflow:fan-1")
    await page.keyboard.press("End")
    expect(await page.locator("[data-testid=queries-empty]").textContent()).toBe(
      "This workflow type has no queries."
    )
  })

  it("shows a failure banner that is collapsible, shows the workflow's own frames, and leaves the source its room", async () => {
    await start("bookTrip", "trip-1", { traveler: "Ada", destination: "Lisbon" })
    await waitForWorkflow(server, "trip-1", (d) => d.status === "failed")
    for (const viewport of [
      { width: 1440, height: 900 },
      { width: 1280, height: 720 }
    ]) {
      await page.setViewportSize(viewport)
      await open("?workflow=trip-1", "workflow:trip-1")
      const own = await page
        .locator("[data-testid=stack-own] li")
        .evaluateAll((els) => els.map((e) => e.className))
      expect(own.length).toBeGreaterThan(0)
      expect(own.every((c) => c === "in-source")).toBe(true)
      expect(await page.locator("[data-testid=stack-all]").getAttribute("open")).toBeNull()
      const banner = (await page.locator("#analysis").boundingBox())!
      const sourceBox = (await page.locator("#source").boundingBox())!
      expect(banner.y + banner.height).toBeLessThanOrEqual(sourceBox.y)
      expect(sourceBox.height).toBeGreaterThanOrEqual(220)
      await screenshot(page, `29-failure-banner-${viewport.width}x${viewport.height}`)
    }
    await page.click("[data-testid=failure] > summary")
    expect(await page.locator("[data-testid=failure]").getAttribute("open")).toBeNull()
    await page.setViewportSize({ width: 1440, height: 900 })
  })

  it("had no uncaught errors in the page", () => {
    expect(errors).toEqual([])
  })
})
