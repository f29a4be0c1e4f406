/**
 * The debugger build in real headless Chromium, served statically with no API behind it
 * (the offline case): dropped export files open, the keyboard and breakpoints step through
 * them, the bundled `codeReview` example replays in the page with its source lines, failures
 * and divergences are shown where they happen, and damaged or foreign files are refused with
 * a message naming what is wrong while the page keeps working.
 */
import * as Either from "effect/Either"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import type { Browser, Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { decodeHistoryFile, type HistoryEvent } from "../../core"
import {
  collectPageErrors,
  dropFile,
  launchBrowser,
  screenshot,
  screenshotDir,
  serveDebugger,
  type StaticServer
} from "./browser"
import { buildHookTimeout, distDir, ensureDebuggerBuild } from "./build"
import {
  codeReviewLine,
  completedReview,
  corruptHistory,
  divergedReview,
  failedReview,
  foreignFile,
  legacyEvents,
  legacyHistory,
  seqOf
} from "./fixtures"

let server: StaticServer
let browser: Browser
let page: Page
let errors: Array<string>

beforeAll(async () => {
  const { builtMs } = await ensureDebuggerBuild()
  console.log(
    builtMs ? `debugger built in ${(builtMs / 1000).toFixed(1)}s` : "debugger build is fresh, reused"
  )
  console.log(`screenshots: ${screenshotDir}`)
  server = await serveDebugger()
  browser = await launchBrowser()
  page = await browser.newPage({ viewport: { width: 1440, height: 900 } })
  errors = collectPageErrors(page)
  await page.goto(`${server.url}/debugger/`)
  await page.waitForSelector("body[data-ready=true]", { timeout: 30_000 })
}, buildHookTimeout)

afterAll(async () => {
  await browser?.close()
  await server?.close()
})

const currentSeq = async () => Number(await page.locator(".event.current").getAttribute("data-seq"))
const currentLine = async () => Number(await page.locator("#source").getAttribute("data-current-line"))
const stepText = async () => (await page.locator("[data-testid=step-panel]").textContent()) ?? ""
const stateText = async () => (await page.locator("[data-testid=state-panel]").textContent()) ?? ""

const openFile = async (name: string, history: unknown) => {
  await dropFile(page, "#dropzone", name, JSON.stringify(history))
  await page.waitForSelector(`body[data-loaded='file:${name}']`)
}

/** Presses → until the cursor is at `seq` (the cursor must be before it). */
const stepTo = async (seq: number) => {
  while ((await currentSeq()) < seq) await page.keyboard.press("ArrowRight")
  expect(await currentSeq()).toBe(seq)
}

describe("debugger page, offline (static build, no server)", () => {
  it("the fixtures are valid exports", () => {
    for (const file of [legacyHistory, completedReview, failedReview, divergedReview]) {
      expect(Either.isRight(decodeHistoryFile(file))).toBe(true)
    }
  })

  it("starts empty, with Monaco loaded from the bundle and a note that no server answers", async () => {
    await page.waitForSelector("#source .monaco-editor", { timeout: 20_000 })
    await expect(page.locator("[data-testid=server-unavailable]").textContent()).resolves.toContain(
      "drop an exported history file"
    )
    await screenshot(page, "01-offline-empty")
  })

  it("renders the event list of a dropped history file, type-coloured, with times relative to the start", async () => {
    await openFile("legacy-1.json", legacyHistory)
    const rows = page.locator(".event-list .event")
    await expect(rows.count()).resolves.toBe(legacyEvents.length)
    expect(await rows.evaluateAll((els) => els.map((el) => (el as HTMLElement).dataset.type))).toEqual(
      legacyEvents.map((e) => e.type)
    )
    expect(await rows.nth(2).getAttribute("class")).toContain("ev-failure")
    expect(await rows.nth(1).getAttribute("class")).toContain("ev-activity")
    expect(await rows.nth(7).locator(".ev-time").textContent()).toBe("+1h 0m")
    expect(await rows.nth(3).locator(".ev-time").textContent()).toBe("+5.000s")
    // a completed workflow opens at its first event; a type the page does not bundle shows events only
    expect(await currentSeq()).toBe(1)
    await expect(page.locator("[data-testid=title]").textContent()).resolves.toContain("legacyReview")
    await expect(page.locator("[data-testid=workflow-status]").textContent()).resolves.toBe("completed")
    await expect(page.locator("[data-testid=replay-notice]").textContent()).resolves.toContain("not bundled")
    await screenshot(page, "02-offline-history-file")
  })

  it("steps with the keyboard and by clicking, and shows the recorded result and failed attempts of the step", async () => {
    await page.keyboard.press("ArrowRight")
    await page.keyboard.press("ArrowRight")
    await page.keyboard.press("ArrowRight")
    expect(await currentSeq()).toBe(4)
    const step = page.locator("[data-testid=step-panel]")
    await expect(step.locator("[data-testid=step-title]").textContent()).resolves.toBe(
      "Event 4 of 12: ActivityCompleted"
    )
    expect(await step.textContent()).toContain('"summary": "looks fine"')
    expect(await step.locator(".attempts li").count()).toBe(1)
    expect(await step.locator(".attempts").textContent()).toContain("RateLimited: 429 Too Many Requests")
    await page.keyboard.press("ArrowLeft")
    expect(await currentSeq()).toBe(3)
    await page.keyboard.press("End")
    expect(await currentSeq()).toBe(12)
    await page.keyboard.press("Home")
    expect(await currentSeq()).toBe(1)
    await page.locator(".event[data-seq='8']").click()
    expect(await currentSeq()).toBe(8)
    await expect(page.locator("[data-testid=position]").textContent()).resolves.toBe("8 / 12")
  })

  it("runs to an event breakpoint set with `b`, then to the end", async () => {
    await page.locator(".event[data-seq='10']").click()
    await page.keyboard.press("b")
    expect(await page.locator(".event[data-seq='10']").getAttribute("class")).toContain("has-breakpoint")
    await page.keyboard.press("Home")
    await page.locator("#run").click()
    expect(await currentSeq()).toBe(10)
    await page.locator("#run").click()
    expect(await currentSeq()).toBe(12)
  })

  it("refuses a corrupt file naming the first bad event and field, and keeps the open history working", async () => {
    await page.setInputFiles("[data-testid=file-input]", {
      name: "corrupt.json",
      mimeType: "application/json",
      buffer: Buffer.from(JSON.stringify(corruptHistory))
    })
    const alert = page.locator("[data-testid=load-error]")
    await alert.waitFor({ state: "visible" })
    const message = await alert.textContent()
    expect(message).toContain("corrupt.json")
    expect(message).toContain("seq 7")
    expect(message).toContain("durationMs")
    await screenshot(page, "03-offline-corrupt-file")
    // the page still works: the previous history is open and steps
    await page.keyboard.press("Home")
    await page.keyboard.press("ArrowRight")
    expect(await currentSeq()).toBe(2)
  })

  it("refuses a foreign JSON file and a non-JSON file with a clear message", async () => {
    // (the file is read asynchronously: wait for its own message, not the one shown before)
    const alert = (text: string) => page.locator("[data-testid=load-error]", { hasText: text }).waitFor()
    await dropFile(page, "#dropzone", "other.json", JSON.stringify(foreignFile))
    await alert('other.json: not a history file: "format" is missing, expected "temporal-lite/history@1"')
    await dropFile(page, "#dropzone", "notes.txt", "hello")
    await alert("notes.txt: not a history file: invalid JSON")
  })
})

describe("the bundled codeReview example, replayed in the page", () => {
  const events = completedReview.events as ReadonlyArray<HistoryEvent>
  const reviewed = seqOf(events, (e) => e.type === "ActivityCompleted" && e.cmd === 2)
  const signalled = seqOf(events, (e) => e.type === "SignalReceived")
  const merged = seqOf(
    events,
    (e) => e.type === "ActivityCompleted" && e.result !== null && "ref" in (e.result as object)
  )
  const lines = {
    query: codeReviewLine("yield* onQuery("),
    review: codeReviewLine("yield* llmChat(reviewRequest"),
    notify: codeReviewLine("yield* notify({"),
    wait: codeReviewLine("yield* waitForSignal("),
    merge: codeReviewLine("yield* merge({ code })")
  }

  const checkReviewed = async () => {
    expect(await currentLine()).toBe(lines.review)
    const text = await stepText()
    expect(text).toContain("scripted-model")
    expect(text).toContain("failed attempts (1)")
    expect(text).toContain("RateLimited: 429 Too Many Requests")
    expect(await stateText()).toContain('"stage": "reviewing"')
  }
  const checkSignalled = async () => {
    expect(await currentLine()).toBe(lines.wait)
    expect(await stepText()).toContain('"approved": true')
    expect(await stateText()).toContain('"stage": "merging"')
  }
  const checkMerged = async () => {
    expect(await currentLine()).toBe(lines.merge)
    expect(await stepText()).toContain('"ref": "abc123"')
  }

  it("steps through every event, with the current yield's line highlighted and the step's result shown", async () => {
    await openFile("review-ok.json", completedReview)
    expect(await page.locator("[data-testid=replay-notice]").count()).toBe(0)
    expect(await page.locator("#source").getAttribute("data-source")).toBe("examples/code-review.ts")
    expect(await page.locator("#source").getAttribute("data-yield-lines")).toBe(
      [lines.query, lines.review, lines.notify, lines.wait, lines.merge].join(",")
    )
    expect(await currentSeq()).toBe(1)
    await stepTo(reviewed)
    await checkReviewed()
    await screenshot(page, "04-offline-code-review-reviewed")
    await stepTo(signalled)
    await checkSignalled()
    await stepTo(merged)
    await checkMerged()
    await screenshot(page, "05-offline-code-review-merged")
    await stepTo(events.length)
    expect(await stepText()).toContain("workflow result")
    expect(await page.locator("#step-forward").isDisabled()).toBe(true)
  })

  it("steps back and shows the same lines and results again", async () => {
    while ((await currentSeq()) > merged) await page.keyboard.press("ArrowLeft")
    await checkMerged()
    while ((await currentSeq()) > signalled) await page.keyboard.press("ArrowLeft")
    await checkSignalled()
    while ((await currentSeq()) > reviewed) await page.keyboard.press("ArrowLeft")
    await checkReviewed()
  })

  it("runs to a breakpoint set by clicking a source line in the gutter", async () => {
    await page.keyboard.press("Home")
    const gutter = await page.locator("#source .margin-view-overlays").boundingBox()
    const y = await page.evaluate((line) => {
      const el = [...document.querySelectorAll("#source .line-numbers")].find(
        (e) => e.textContent?.trim() === String(line)
      )
      const r = el!.getBoundingClientRect()
      return r.top + r.height / 2
    }, lines.wait)
    await page.mouse.click(gutter!.x + 6, y)
    expect(await page.locator("#source").getAttribute("data-breakpoints")).toBe(String(lines.wait))
    await page.locator("#run").click()
    expect(await currentSeq()).toBe(seqOf(events, (e) => e.type === "TimerStarted"))
    expect(await currentLine()).toBe(lines.wait)
  })

  it("opens a failed workflow at its failure, with the error and the line it failed at", async () => {
    await openFile("review-failed.json", failedReview)
    expect(await currentSeq()).toBe(failedReview.events.length)
    const failure = page.locator("[data-testid=failure]")
    await expect(failure.locator("[data-testid=failure-error]").textContent()).resolves.toBe(
      "ActivityFailure: activity merge (cmd 5) failed: NonRetryableError: merge conflict in main.ts"
    )
    expect(await failure.textContent()).toContain(`examples/code-review.ts:${lines.merge}`)
    expect(await page.locator("#source").getAttribute("data-current-mark")).toBe("failure")
    expect(await currentLine()).toBe(lines.merge)
    await screenshot(page, "06-offline-failed-workflow")
  })

  it("shows the first divergence side by side for a history the current code no longer matches", async () => {
    await openFile("review-old.json", divergedReview)
    const notifySeq = seqOf(
      divergedReview.events as ReadonlyArray<HistoryEvent>,
      (e) => e.type === "ActivityScheduled" && e.name === "notify.v0"
    )
    expect(await currentSeq()).toBe(notifySeq)
    const divergence = page.locator("[data-testid=divergence]")
    expect(await divergence.textContent()).toContain("Non-determinism at cmd 3")
    expect(await divergence.locator("[data-testid=divergence-expected]").textContent()).toContain(
      'ActivityScheduled "notify.v0"'
    )
    expect(await divergence.locator("[data-testid=divergence-actual]").textContent()).toContain(
      'Activity "notify"'
    )
    expect(await divergence.locator("[data-testid=divergence-actual]").textContent()).toContain(
      `examples/code-review.ts:${lines.notify}`
    )
    // the code's side names its line, not the bundle's URL the location was recorded in
    expect(await divergence.textContent()).not.toMatch(/https?:|assets\//)
    expect(await page.locator("#source").getAttribute("data-current-mark")).toBe("divergence")
    expect(await currentLine()).toBe(lines.notify)
    expect(await page.locator("#source").getAttribute("data-problem-line")).toBe(String(lines.notify))
    await screenshot(page, "07-offline-divergence")
  })

  it("had no uncaught errors in the page", () => {
    expect(errors).toEqual([])
  })
})

describe("the built page opened from file://, no server", () => {
  it("opens a dropped export and replays it beside its source, its yields mapped to lines", async () => {
    const events = completedReview.events as ReadonlyArray<HistoryEvent>
    const reviewed = seqOf(events, (e) => e.type === "ActivityCompleted" && e.cmd === 2)
    for (const viewport of [
      { width: 1440, height: 900 },
      { width: 1280, height: 720 }
    ]) {
      const local = await browser.newPage({ viewport })
      const localErrors = collectPageErrors(local)
      await local.goto(pathToFileURL(join(distDir, "index.html")).href)
      await local.waitForSelector("body[data-ready=true]")
      await local.waitForSelector("#source .monaco-editor")
      expect(await local.locator("[data-testid=server-unavailable]").textContent()).toContain(
        "drop an exported history file"
      )
      await dropFile(local, "#dropzone", "review-ok.json", JSON.stringify(completedReview))
      await local.waitForSelector("body[data-loaded='file:review-ok.json']")
      await local.locator(`.event[data-seq='${reviewed}']`).click()
      // the line comes from the bundle's source map, read as a script (file:// cannot fetch)
      expect(await local.locator("#source").getAttribute("data-source")).toBe("examples/code-review.ts")
      expect(Number(await local.locator("#source").getAttribute("data-current-line"))).toBe(
        codeReviewLine("yield* llmChat(reviewRequest")
      )
      expect(await local.locator("[data-testid=step-panel]").textContent()).toContain("scripted-model")
      await screenshot(local, `08-file-url-dropped-review-${viewport.width}x${viewport.height}`)
      expect(localErrors).toEqual([])
      await local.close()
    }
  })
})
