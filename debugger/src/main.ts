/// <reference types="vite/client" />
/**
 * The replay debugger page: wires the panels to one open session and the cursor on it.
 *
 * The cursor is an event seq (1…n): "at event n" shows the workflow after events 1…n were
 * applied. Everything shown derives from (session, seq, breakpoints), rendered by `show()`.
 * Deep links: `?workflow=<id>&event=<seq>`; the URL follows the cursor for server workflows.
 */
import * as Either from "effect/Either"
import { decodeHistoryFile, parseHistoryFile, type HistoryEvent, type HistoryFile } from "../../core"
import { renderAnalysis } from "./analysis-view"
import { createServerApi } from "./server-api"
import { takeTokenFromUrl } from "./auth"
import { createControls } from "./controls"
import { h, render } from "./dom"
import { createEventList } from "./event-list"
import { acceptHistoryFiles } from "./history-input"
import { follow } from "./live"
import { createSourceView } from "./monaco-view"
import {
  initialSeq,
  openSession,
  positionForEvent,
  type Origin,
  type Session,
  type SourcePosition
} from "./session"
import { browserSourceLocator } from "./source-locator"
import { bundledWorkflows } from "./sources"
import { renderStatePanel } from "./state-panel"
import { renderStepPanel } from "./step-panel"
import { createTokenPrompt } from "./token-prompt"
import { createWorkflowList } from "./workflow-list"

// Before anything reads the URL or calls the API: `?access_token=` moves into sessionStorage.
takeTokenFromUrl()
const api = createServerApi({
  onUnauthorized: (message) => tokenPrompt.show(message),
  offline: location.protocol === "file:"
})
const locator = browserSourceLocator()
const workflows = bundledWorkflows()

// ---- layout --------------------------------------------------------------------------------

const $ = (id: string) => document.getElementById(id)!
const button = (label: string, title: string, onclick: () => void, id: string) =>
  h("button", { id, title, "aria-label": title, onclick }, label)

const fileInput = h("input", {
  type: "file",
  id: "file-input",
  accept: ".json,application/json",
  "data-testid": "file-input"
})
const followBox = h("input", { type: "checkbox", id: "follow", checked: true })
render(
  $("app"),
  h(
    "header",
    { class: "topbar" },
    h("h1", {}, "Temporal Lite ", h("span", {}, "replay debugger")),
    h("div", { id: "title", "data-testid": "title" }),
    h(
      "nav",
      { class: "stepper", "aria-label": "step controls" },
      button("|◀", "first event (Home)", () => goTo(1), "step-first"),
      button("◀", "previous event (←)", () => goTo(seq - 1), "step-back"),
      h("span", { id: "position", "data-testid": "position" }, "–"),
      button("▶", "next event (→)", () => goTo(seq + 1), "step-forward"),
      button("▶|", "last event (End)", () => goTo(lastSeq()), "step-last"),
      button("▶▶", "run to the next breakpoint, or to the end", () => runToBreakpoint(), "run"),
      button("●", "toggle breakpoint on this event (b)", () => toggleEventBreakpoint(seq), "toggle-bp"),
      h(
        "label",
        { class: "follow", id: "follow-label", title: "move to new events as they arrive", hidden: true },
        followBox,
        " follow live"
      ),
      h("span", { id: "live-status", class: "muted", "data-testid": "live-status" })
    ),
    h("span", { id: "token-state" }),
    h("label", { class: "file-button" }, "Open history file…", fileInput)
  ),
  h("section", { id: "token-prompt", class: "token-prompt", "data-testid": "token-prompt", hidden: true }),
  h(
    "main",
    { class: "layout" },
    h(
      "aside",
      { class: "left" },
      h("section", { id: "workflows" }),
      h(
        "section",
        { id: "dropzone", "data-testid": "dropzone" },
        "Drop an exported history file (",
        h("code", {}, "temporal-lite/history@1"),
        ") anywhere on the page."
      ),
      h("section", { id: "controls" })
    ),
    h(
      "section",
      { class: "center" },
      h("div", { id: "load-error", role: "alert", "data-testid": "load-error", hidden: true }),
      h("div", { id: "analysis" }),
      h(
        "div",
        { class: "source-head" },
        h("span", { id: "source-path", "data-testid": "source-path" }),
        h("span", { class: "muted small" }, "click the gutter to set a line breakpoint")
      ),
      h("div", { id: "source", "data-testid": "source" }),
      h(
        "div",
        { class: "panels" },
        h(
          "section",
          { class: "panel" },
          h("h3", {}, "Current step"),
          h("div", { id: "step-panel", "data-testid": "step-panel" })
        ),
        h(
          "section",
          { class: "panel" },
          h("h3", {}, "State at this event"),
          h("div", { id: "state-panel", "data-testid": "state-panel" })
        ),
        h(
          "section",
          { class: "panel", id: "live-section", hidden: true },
          h("h3", {}, "Live output"),
          h("pre", { id: "live-output", "data-testid": "live-output" })
        )
      )
    ),
    h("aside", { class: "right" }, h("h3", {}, "Events"), h("div", { id: "events", "data-testid": "events" }))
  )
)

// ---- state ---------------------------------------------------------------------------------

let session: Session | undefined
let seq = 0
let shownPath: string | undefined
const eventBreakpoints = new Set<number>()
const lineBreakpoints = new Set<string>()
let stopLive: (() => void) | undefined
let loads = 0

const lastSeq = () => session?.events.length ?? 0
const lineKey = (path: string, line: number) => `${path}:${line}`

const source = createSourceView($("source"))
const events = createEventList($("events"), {
  onSelect: (s) => goTo(s),
  onToggleBreakpoint: (s) => toggleEventBreakpoint(s)
})
const list = createWorkflowList($("workflows"), api, (id) => void openWorkflow(id))
const controls = createControls($("controls"), api, {
  localTypes: [...workflows.keys()],
  onStarted: (id) => {
    void openWorkflow(id)
    void list.refresh()
  }
})

/** A workflow the page could not open for want of a token, opened once one is given. */
let openAfterToken: { readonly id: string; readonly at: number | undefined } | undefined
const tokenPrompt = createTokenPrompt($("token-prompt"), $("token-state"), () => {
  void list.refresh()
  void controls.refreshTypes()
  const s = session
  const retry =
    openAfterToken ?? (s?.origin.kind === "server" ? { id: s.origin.workflowId, at: seq } : undefined)
  openAfterToken = undefined
  if (retry) void openWorkflow(retry.id, retry.at)
})

const showError = (message: string | undefined) => {
  const el = $("load-error")
  el.hidden = message === undefined
  render(
    el,
    message ?? "",
    message && h("button", { class: "link", onclick: () => showError(undefined) }, "dismiss")
  )
}

// ---- rendering -----------------------------------------------------------------------------

const showSource = (
  position: SourcePosition | undefined,
  mark: "current" | "failure" | "divergence" = "current"
) => {
  const s = session
  const path = position?.path ?? shownPath ?? s?.primarySource
  shownPath = path
  const text = path === undefined ? undefined : s?.sources.get(path)
  source.setSource(path, s ? text : "// Open a workflow or drop a history file to see its source here.")
  const line = position !== undefined && position.path === path ? position.line : undefined
  $("source-path").textContent = path
    ? `${path}${line === undefined ? "" : `:${line}`}`
    : s
      ? "no source"
      : ""
  const yieldLines = new Set<number>()
  for (const [, p] of s?.positions ?? []) if (p.path === path) yieldLines.add(p.line)
  source.setYieldLines(yieldLines)
  source.setBreakpoints(
    new Set(
      [...lineBreakpoints]
        .filter((k) => k.startsWith(`${path}:`))
        .map((k) => Number(k.slice(k.lastIndexOf(":") + 1)))
    )
  )
  const problem = s?.divergence?.position ?? s?.failure?.position
  source.setProblemLine(
    problem && problem.path === path ? problem.line : undefined,
    s?.divergence ? "divergence" : "failure"
  )
  source.setCurrentLine(line, mark)
}

function show() {
  const s = session
  document.body.dataset.seq = String(seq)
  $("position").textContent = s ? `${seq} / ${s.events.length}` : "–"
  for (const id of ["step-first", "step-back"]) ($(id) as HTMLButtonElement).disabled = !s || seq <= 1
  for (const id of ["step-forward", "step-last", "run"])
    ($(id) as HTMLButtonElement).disabled = !s || seq >= lastSeq()
  events.setCurrent(seq)
  const event = s?.events[seq - 1]
  const mark =
    s?.divergence && seq === s.divergence.seq
      ? "divergence"
      : event?.type === "WorkflowFailed"
        ? "failure"
        : "current"
  showSource(s && seq ? positionForEvent(s, seq) : undefined, mark)
  renderStepPanel($("step-panel"), s, seq)
  renderStatePanel($("state-panel"), s, seq)
  if (s?.origin.kind === "server") {
    const url = new URL(location.href)
    url.searchParams.set("workflow", s.origin.workflowId)
    url.searchParams.set("event", String(seq))
    history.replaceState(null, "", url)
  }
}

function goTo(target: number) {
  if (!session) return
  seq = Math.max(session.events.length ? 1 : 0, Math.min(lastSeq(), target))
  if (stopLive) followBox.checked = seq === lastSeq()
  show()
}

function runToBreakpoint() {
  const s = session
  if (!s) return
  for (let k = seq + 1; k <= s.events.length; k++) {
    const p = positionForEvent(s, k)
    if (eventBreakpoints.has(k) || (p && lineBreakpoints.has(lineKey(p.path, p.line)))) return goTo(k)
  }
  goTo(lastSeq())
}

function toggleEventBreakpoint(s: number) {
  if (s < 1) return
  if (!eventBreakpoints.delete(s)) eventBreakpoints.add(s)
  events.setBreakpoints(eventBreakpoints)
}

source.onGutterClick((line) => {
  if (!shownPath) return
  const key = lineKey(shownPath, line)
  if (!lineBreakpoints.delete(key)) lineBreakpoints.add(key)
  showSource(session && seq ? positionForEvent(session, seq) : undefined)
})

const renderTitle = (file: HistoryFile, origin: Origin) => {
  const w = file.workflow
  render(
    $("title"),
    h("span", { class: `status status-${w.status}`, "data-testid": "workflow-status" }, w.status),
    " ",
    h("strong", {}, w.type),
    " ",
    h("span", { class: "muted" }, origin.kind === "file" ? `${w.id} · from file ${origin.name}` : w.id)
  )
}

// ---- opening -------------------------------------------------------------------------------

const serverSources = new Map<string, Promise<{ path: string; text: string } | undefined>>()
const serverSource = (type: string) => {
  let source = serverSources.get(type)
  if (!source) serverSources.set(type, (source = api.workflowSource(type)))
  return source
}

/** Opens a decoded history; `at` overrides where the cursor starts. */
async function openHistory(file: HistoryFile, origin: Origin, at?: number) {
  const load = ++loads
  const next = await openSession({
    origin,
    file,
    definition: workflows.get(file.workflow.type),
    locator,
    serverSource: (type) => (origin.kind === "server" ? serverSource(type) : Promise.resolve(undefined))
  })
  if (load !== loads) return // a later load won
  const sameWorkflow =
    session && session.origin.kind === origin.kind && session.file.workflow.runId === file.workflow.runId
  if (!sameWorkflow) {
    eventBreakpoints.clear()
    shownPath = undefined
  }
  session = next
  showError(undefined)
  renderTitle(file, origin)
  events.setEvents(file.events, { failure: next.failure?.seq, divergence: next.divergence?.seq })
  events.setBreakpoints(eventBreakpoints)
  renderAnalysis($("analysis"), next, { onShowPosition: (p) => showSource(p), onSelect: (s) => goTo(s) })
  list.setSelected(origin.kind === "server" ? origin.workflowId : undefined)
  controls.setTarget(
    origin.kind === "server"
      ? {
          id: origin.workflowId,
          type: file.workflow.type,
          signals: next.definition?.signals.map((s) => s.name) ?? [],
          queries: next.definition?.queries.map((q) => q.name) ?? []
        }
      : undefined
  )
  seq = 0
  goTo(at ?? initialSeq(next))
  document.body.dataset.loaded =
    origin.kind === "file" ? `file:${origin.name}` : `workflow:${origin.workflowId}`
}

async function openFile(file: File) {
  const decoded = parseHistoryFile(await file.text())
  if (Either.isLeft(decoded)) return showError(`${file.name}: ${decoded.left.message}`)
  stopFollowing()
  if (location.search) history.replaceState(null, "", location.pathname)
  await openHistory(decoded.right, { kind: "file", name: file.name })
}

async function openWorkflow(id: string, at?: number) {
  const result = await api.history(id)
  if (!result.ok) {
    if (result.status === 401) openAfterToken = { id, at }
    return showError(`workflow ${id}: ${result.error.message}`)
  }
  const decoded = decodeHistoryFile(result.value)
  if (Either.isLeft(decoded)) return showError(`workflow ${id}: ${decoded.left.message}`)
  stopFollowing()
  await openHistory(decoded.right, { kind: "server", workflowId: id }, at)
  // A stuck run keeps storing what arrives for it (signals), so it is followed too.
  const open = decoded.right.workflow.status === "running" || decoded.right.workflow.status === "stuck"
  if (open) startFollowing(id, decoded.right)
}

function stopFollowing() {
  stopLive?.()
  stopLive = undefined
  followed = undefined
  $("live-status").textContent = ""
  $("follow-label").hidden = true
}

let lastChunkCmd: unknown

function startFollowing(id: string, file: HistoryFile) {
  followed = file
  lastChunkCmd = undefined
  $("live-output").textContent = ""
  $("follow-label").hidden = false
  followBox.checked = seq === lastSeq()
  stopLive = follow(api, id, file.events.length, {
    onEvents: (added) => appendEvents(id, added),
    onChunk: (chunk) => {
      $("live-section").hidden = false
      const out = $("live-output")
      const c = chunk as { cmd?: unknown; activity?: unknown; chunk?: unknown } | string
      if (typeof c === "object" && c !== null && c.cmd !== lastChunkCmd) {
        // a new call's output (e.g. the next LLM call): a heading line says which
        lastChunkCmd = c.cmd
        out.append(
          h(
            "span",
            { class: "chunk-head" },
            `${out.textContent ? "\n" : ""}— ${String(c.activity ?? "activity")} (cmd ${String(c.cmd)}) —\n`
          )
        )
      }
      const inner = typeof c === "object" && c !== null ? c.chunk : c
      const text =
        typeof inner === "string"
          ? inner
          : typeof (inner as { text?: unknown } | undefined)?.text === "string"
            ? (inner as { text: string }).text
            : JSON.stringify(inner)
      out.append(text)
      out.scrollTop = out.scrollHeight
    },
    onStatus: (status) => {
      $("live-status").textContent = status === "following" ? "● live" : status
      if (status === "ended") void list.refresh()
    },
    onGap: () => void openWorkflow(id, seq)
  })
}

/** The followed workflow's history, kept in step with the stream (rendering catches up asynchronously). */
let followed: HistoryFile | undefined

function appendEvents(id: string, added: ReadonlyArray<HistoryEvent>) {
  const s = session
  if (!followed || !s || s.origin.kind !== "server" || s.origin.workflowId !== id) return
  const atEnd = followBox.checked
  const last = added[added.length - 1]!
  followed = {
    ...followed,
    workflow: { ...followed.workflow, ...summaryAfter(last) },
    events: [...followed.events, ...added]
  }
  void openHistory(followed, s.origin, atEnd ? followed.events.length : seq)
}

/** The summary fields a terminal event settles. */
const summaryAfter = (e: HistoryEvent): Partial<HistoryFile["workflow"]> => {
  switch (e.type) {
    case "WorkflowCompleted":
      return { status: "completed", result: e.result, closedAt: e.at }
    case "WorkflowFailed":
      return { status: "failed", error: e.error, closedAt: e.at }
    case "WorkflowCancelled":
      return { status: "cancelled", closedAt: e.at }
    case "WorkflowContinuedAsNew":
      return { status: "continued-as-new", closedAt: e.at }
    default:
      return {}
  }
}

// ---- input ---------------------------------------------------------------------------------

acceptHistoryFiles(fileInput, $("dropzone"), (file) => void openFile(file).catch((e) => showError(String(e))))

window.addEventListener(
  "keydown",
  (e) => {
    const target = e.target as HTMLElement | null
    const inForm =
      target?.closest("input, textarea, select, [contenteditable]") && !target.closest(".monaco-editor")
    if (inForm || e.ctrlKey || e.metaKey || e.altKey || !session) return
    const actions: Record<string, () => void> = {
      ArrowLeft: () => goTo(seq - 1),
      ArrowRight: () => goTo(seq + 1),
      Home: () => goTo(1),
      End: () => goTo(lastSeq()),
      b: () => toggleEventBreakpoint(seq)
    }
    const action = actions[e.key]
    if (!action) return
    e.preventDefault()
    e.stopPropagation()
    action()
  },
  { capture: true }
)

window.addEventListener("error", (e) => showError(`unexpected error: ${e.message}`))
window.addEventListener("unhandledrejection", (e) => showError(`unexpected error: ${String(e.reason)}`))

// ---- start ---------------------------------------------------------------------------------

const params = new URLSearchParams(location.search)
const linked = params.get("workflow")
show()
void list.refresh()
void controls.refreshTypes()
void (async () => {
  if (linked) await openWorkflow(linked, params.has("event") ? Number(params.get("event")) : undefined)
  document.body.dataset.ready = "true"
})()
