/**
 * Browser test helpers: headless Chromium through playwright-core, a tiny static server for
 * debugger/dist (the offline case; the real server serves it too), screenshots to a folder a
 * reviewer opens.
 */
import { mkdirSync, readFileSync, statSync } from "node:fs"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { extname, join, normalize } from "node:path"
import { chromium, type Browser, type Page } from "playwright-core"
import { distDir, repoRoot } from "./build"

export const screenshotDir = join(repoRoot, "test", ".artifacts", "screenshots")

export const launchBrowser = (): Promise<Browser> =>
  chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run"
    ]
  })

const types: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".map": "application/json",
  ".json": "application/json",
  ".ttf": "font/ttf",
  ".svg": "image/svg+xml"
}

export interface StaticServer {
  readonly url: string
  close(): Promise<void>
}

/**
 * Serves debugger/dist under /debugger/ on 127.0.0.1, and nothing else: the page as a static
 * host or an offline copy has it, with no API behind it (`/api/*` answers 404 in the API's
 * error format). The tests with a server use the real one (real-server.ts).
 */
export const serveDebugger = async (): Promise<StaticServer> => {
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname)
    if (path.startsWith("/api/")) {
      res.writeHead(404, { "content-type": "application/json" })
      res.end(JSON.stringify({ error: { code: "NotFound", message: `no route ${path}` } }))
      return
    }
    if (path === "/debugger") {
      res.writeHead(301, { location: "/debugger/" })
      return res.end()
    }
    if (!path.startsWith("/debugger/")) {
      res.writeHead(404)
      return res.end()
    }
    const rel = normalize(path.slice("/debugger/".length) || "index.html")
    if (rel.startsWith("..")) {
      res.writeHead(403)
      return res.end()
    }
    const file = join(distDir, rel)
    try {
      if (!statSync(file).isFile()) throw new Error("not a file")
      res.writeHead(200, { "content-type": types[extname(file)] ?? "application/octet-stream" })
      res.end(readFileSync(file))
    } catch {
      res.writeHead(404)
      res.end()
    }
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve()))
  }
}

/** Saves a full-page screenshot as `<name>.png` in the screenshot folder; returns its path. */
export const screenshot = async (page: Page, name: string): Promise<string> => {
  mkdirSync(screenshotDir, { recursive: true })
  const path = join(screenshotDir, `${name}.png`)
  await page.screenshot({ path, fullPage: false })
  return path
}

/** Collects uncaught page errors and console errors, so a test can assert there were none. */
export const collectPageErrors = (page: Page): Array<string> => {
  const errors: Array<string> = []
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`))
  page.on("console", (m) => {
    if (m.type() === "error" && !/Failed to load resource/.test(m.text())) errors.push(`console: ${m.text()}`)
  })
  return errors
}

/** Drops `content` as a file named `name` onto `selector`, as a user dragging a file would. */
export const dropFile = async (
  page: Page,
  selector: string,
  name: string,
  content: string
): Promise<void> => {
  await page.evaluate(
    ({ selector, name, content }) => {
      const target = document.querySelector(selector)
      if (!target) throw new Error(`no element ${selector}`)
      const transfer = new DataTransfer()
      transfer.items.add(new File([content], name, { type: "application/json" }))
      for (const type of ["dragenter", "dragover", "drop"]) {
        target.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: transfer }))
      }
    },
    { selector, name, content }
  )
}
