/// <reference types="vite/client" />
/**
 * The replay debugger page: wires the panels to one open session and the cursor on it.
 *
 * The cursor is an event seq (1…n): "at event n" shows the workflow after events 1…n were
 * applied. Everything shown derives from (session, seq, breakpoints), rendered by `show()`.
 * Deep links: `?workflow=<id>&run=<runId>&event=<seq>` (links.ts checks them); the URL follows
 * the cursor for server workflows, and a link to a related run is a new browser history entry.
 */
import * as Either from "effect/Either"
import { decodeHistoryFile, parseHistoryFile, type HistoryEvent, type HistoryFile } from "../../core"
import { renderAnalysis } from "./analysis-view"
import { createServerApi } from "./server-api"
import { takeTokenFromUrl } from "./auth"
import { createControls } from "./controls"
import { h, render } from "./dom"
import { createCompactView } from "./compact-view"
import { createEventList } from "./event-list"
import { acceptHistoryFiles } from "./history-input"
import { linkTo, parseDeepLink, relatedRuns } from "./links"
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
import { createTimelineView } from "./timeline-view"
import { createTokenPrompt } from "./token-prompt"
import { createWhatIfPanel } from "./what-if-view"
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
/** The right column's views of the history, one shown at a time. */
const views = [
  { id: "events", label: "Events", title: "every event, in order" },
  { id: "compact", label: "Compact", title: "each command with its attempts and outcome" },
  { id: "timeline", label: "Timeline", title: "commands as bars over time" }
] as const
type ViewId = (typeof views)[number]["id"]
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
      h("div", { id: "link-note", class: "notice", "data-testid": "link-note", hidden: true }),
      h("nav", { id: "related", "aria-label": "related runs", "data-testid": "related", hidden: true }),
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
        h("section", { class: "panel what-if", id: "what-if", "data-testid": "what-if", hidden: true }),
        h(
          "section",
          { class: "panel", id: "live-section", hidden: true },
          h("h3", {}, "Live output"),
          h("pre", { id: "live-output", "data-testid": "live-output" })
        )
      )
    ),
    h(
      "aside",
      { class: "right" },
      h(
        "div",
        { class: "view-tabs", role: "tablist" },
        views.map((v) =>
          h(
            "button",
            {
              role: "tab",
              id: `view-tab-${v.id}`,
              "data-testid": `view-tab-${v.id}`,
              title: v.title,
              onclick: () => showView(v.id)
            },
            v.label
          )
        )
      ),
      views.map((v) => h("div", { id: v.id, class: "view", "data-testid": v.id, role: "tabpanel" }))
    )
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
const compact = createCompactView($("compact"), (s) => goTo(s))
const timeline = createTimelineView($("timeline"), (s) => goTo(s))
const whatIf = createWhatIfPanel($("what-if"), { onShowPosition: (p) => showSource(p) })

function showView(id: ViewId) {
  for (const v of views) {
    $(v.id).hidden = v.id !== id
    $(`view-tab-${v.id}`).setAttribute("aria-selected", String(v.id === id))
  }
  events.setCurrent(seq)
}
showView("events")
const list = createWorkflowList($("workflows"), api, (id) => void navigate({ workflow: id }))
const controls = createControls($("controls"), api, {
  localTypes: [...workflows.keys()],
  onStarted: (id) => {
    void navigate({ workflow: id })
    void list.refresh()
  }
})

/** A workflow the page could not open for want of a token, opened once one is given. */
let openAfterToken:
  { readonly id: string; readonly at: number | undefined; readonly run?: string } | undefined
const tokenPrompt = createTokenPrompt($("token-prompt"), $("token-state"), () => {
  void list.refresh()
  void controls.refreshTypes()
  const s = session
  const retry =
    openAfterToken ??
    (s?.origin.kind === "server"
      ? { id: s.origin.workflowId, at: seq, run: s.file.workflow.runId }
      : undefined)
  openAfterToken = undefined
  if (retry) void openWorkflow(retry.id, retry.at, retry.run)
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
  compact.setCurrent(seq)
  timeline.setCurrent(seq)
  whatIf.show(s, seq)
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
    url.search = linkTo({ workflow: s.origin.workflowId, run: s.file.workflow.runId, event: seq })
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
  compact.setEvents(file.events)
  timeline.setEvents(file.events)
  renderRelated(file, origin)
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

/** Closed runs this page has loaded, by runId: a closed run never changes, so links back to one open it again. */
const closedRuns = new Map<string, HistoryFile>()

/**
 * Opens the id's current run, or run `run`: from the server when it has the runs API (issue
 * 14), else from the runs this page has seen; otherwise the current run, with a note saying
 * why the asked one is not shown.
 */
async function openWorkflow(id: string, at?: number, run?: string) {
  const seen = run === undefined ? undefined : closedRuns.get(run)
  const result = seen ? ({ ok: true, status: 200, value: seen } as const) : await api.history(id, run)
  if (!result.ok) {
    if (result.status === 401) openAfterToken = { id, at, ...(run === undefined ? {} : { run }) }
    return showError(`workflow ${id}: ${result.error.message}`)
  }
  const decoded = decodeHistoryFile(result.value)
  if (Either.isLeft(decoded)) return showError(`workflow ${id}: ${decoded.left.message}`)
  const file = decoded.right
  const other = run !== undefined && file.workflow.runId !== run
  if (other)
    addLinkNote(
      `Run ${run} of ${id} cannot be opened: this server gives an id's current run only (earlier runs need the runs API, ` +
        `GET /api/workflows/:id/runs and ?runId=); showing the current run ${file.workflow.runId}.`
    )
  stopFollowing()
  if (file.workflow.status !== "running" && file.workflow.status !== "stuck")
    closedRuns.set(file.workflow.runId, file)
  await openHistory(file, { kind: "server", workflowId: id }, other ? undefined : at)
  if (at !== undefined && !other && at > file.events.length)
    addLinkNote(`event ${at} is past the last event (${file.events.length}): opened at ${seq}.`)
  // A stuck run keeps storing what arrives for it (signals), so it is followed too.
  const open = file.workflow.status === "running" || file.workflow.status === "stuck"
  if (open) startFollowing(id, file)
}

/** Opens a run as a link does: a new entry in the browser's history, so Back returns. */
async function navigate(target: {
  readonly workflow: string
  readonly run?: string
  readonly event?: number
}) {
  history.pushState(null, "", new URL(linkTo(target), location.href))
  clearLinkNotes()
  await openWorkflow(target.workflow, target.event, target.run)
}

/** Opens what the URL says (the first load, Back and Forward), noting what it ignored. */
async function openLinked() {
  const link = parseDeepLink(location.search)
  clearLinkNotes()
  for (const note of link.notes) addLinkNote(note)
  if (link.workflow !== undefined) await openWorkflow(link.workflow, link.event, link.run)
}
window.addEventListener("popstate", () => void openLinked())

const linkNotes: Array<string> = []
function addLinkNote(note: string) {
  linkNotes.push(note)
  const el = $("link-note")
  el.hidden = false
  render(
    el,
    linkNotes.map((n) => h("div", {}, n)),
    h("button", { class: "link", onclick: () => clearLinkNotes() }, "dismiss")
  )
}
function clearLinkNotes() {
  linkNotes.length = 0
  $("link-note").hidden = true
}

/** The runs this one names (parent, children, predecessor, successor) and the id's runs, as links. */
function renderRelated(file: HistoryFile, origin: Origin) {
  const el = $("related")
  const related = relatedRuns(file)
  const id = file.workflow.id
  const link = (
    label: string,
    target: { readonly workflow: string; readonly run?: string },
    testid: string,
    title?: string
  ) =>
    h(
      "a",
      {
        href: linkTo(target),
        "data-testid": testid,
        title: title ?? `open ${target.workflow}${target.run ? ` run ${target.run}` : ""}`,
        onclick: (e: MouseEvent) => {
          e.preventDefault()
          void navigate(target)
        }
      },
      label
    )
  const parts = [
    related.parent && [
      "parent ",
      link(
        related.parent.workflowId,
        { workflow: related.parent.workflowId, run: related.parent.runId },
        "related-parent"
      )
    ],
    related.children.length > 0 && [
      `children (${related.children.length}) `,
      related.children.map((c, i) => [
        i > 0 && ", ",
        link(
          c.workflowId,
          { workflow: c.workflowId },
          "related-child",
          `${c.type}, started at event ${c.seq}`
        )
      ])
    ],
    related.continuedFrom && [
      "← continued from ",
      link(`run ${related.continuedFrom}`, { workflow: id, run: related.continuedFrom }, "related-previous")
    ],
    related.continuedAs && [
      "continued as new → ",
      link(`run ${related.continuedAs}`, { workflow: id, run: related.continuedAs }, "related-next")
    ]
  ].filter(Boolean)
  el.hidden = parts.length === 0
  render(
    el,
    parts.map((p, i) => [i > 0 && h("span", { class: "muted" }, " · "), p])
  )
  if (origin.kind === "server")
    void api.runs(id).then((runs) => {
      if (!runs || runs.length < 2 || session?.file !== file) return
      el.hidden = false
      el.append(
        h("span", { class: "muted" }, " · "),
        `runs of ${id}: `,
        ...runs
          .map((r, i) => [
            i > 0 ? ", " : "",
            r.runId === file.workflow.runId
              ? h("strong", {}, r.runId)
              : link(
                  r.runId,
                  { workflow: id, run: r.runId },
                  "related-run",
                  `run ${r.runId}${r.status ? ` (${r.status})` : ""}`
                )
          ])
          .flat()
      )
    })
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
  if (followed.workflow.closedAt !== undefined) closedRuns.set(followed.workflow.runId, followed)
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

show()
void list.refresh()
void controls.refreshTypes().then((types) => list.setTypes(types))
void openLinked().then(() => (document.body.dataset.ready = "true"))
