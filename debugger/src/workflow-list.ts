/**
 * The workflows the server knows, searched as the list API searches (GET /api/workflows):
 * by id prefix, type, status, and a start or close time range, newest first, a page at a
 * time ("more" follows `nextCursor`, through any number of runs), with how many match.
 * A search the server refuses shows its answer (which names the parameter); an unreachable
 * server (an offline file, a static host) shows a note, not an error page.
 */
import { RunStatus } from "../../core"
import type { ListFilter, ServerApi, WorkflowSummary } from "./server-api"
import { dateTime, h, render } from "./dom"

/** The filter's choices: every status, or any. */
export const STATUSES = ["", ...RunStatus.literals] as const

const PAGE = 50

export interface WorkflowList {
  refresh(): Promise<void>
  setSelected(id: string | undefined): void
  /** The type names the search offers. */
  setTypes(types: ReadonlyArray<string>): void
}

/** A `datetime-local` field's value as epoch ms (in the page's time zone); undefined when empty. */
const timeOf = (input: HTMLInputElement): number | undefined =>
  input.value === "" ? undefined : new Date(input.value).getTime()

export const createWorkflowList = (
  host: HTMLElement,
  api: ServerApi,
  onOpen: (id: string) => void
): WorkflowList => {
  let selected: string | undefined
  let cursor: string | undefined
  let shown: Array<WorkflowSummary> = []

  const search = () => void list.refresh()
  const field = (name: string, label: string, attrs: Record<string, string> = {}) =>
    h("input", { name, "aria-label": label, title: label, "data-testid": `search-${name}`, ...attrs })
  const idPrefix = field("idPrefix", "workflow id starts with", { placeholder: "id prefix", type: "search" })
  const type = h(
    "select",
    { name: "type", "aria-label": "filter by type", "data-testid": "type-filter", onchange: search },
    h("option", { value: "" }, "all types")
  )
  const status = h(
    "select",
    { "aria-label": "filter by status", "data-testid": "status-filter", onchange: search },
    STATUSES.map((s) => h("option", { value: s }, s || "all statuses"))
  )
  const times = {
    startedAfter: field("startedAfter", "started at or after", { type: "datetime-local", step: "1" }),
    startedBefore: field("startedBefore", "started before", { type: "datetime-local", step: "1" }),
    closedAfter: field("closedAfter", "closed at or after", { type: "datetime-local", step: "1" }),
    closedBefore: field("closedBefore", "closed before", { type: "datetime-local", step: "1" })
  }
  const count = h("span", { class: "muted small", "data-testid": "workflow-count" })
  const body = h("div", { class: "wf-body" })
  const more = h(
    "button",
    { class: "wf-more", "data-testid": "list-more", hidden: true, onclick: () => void page(false) },
    "more"
  )
  render(
    host,
    h(
      "div",
      { class: "wf-head" },
      h("h3", {}, "Workflows"),
      count,
      h("button", { title: "refresh", onclick: search }, "↻")
    ),
    h(
      "form",
      {
        class: "wf-search",
        "data-testid": "search",
        onsubmit: (e: Event) => (e.preventDefault(), search())
      },
      h("div", { class: "wf-search-row" }, idPrefix, h("button", { type: "submit" }, "Search")),
      h("div", { class: "wf-search-row" }, type, status),
      h(
        "details",
        { class: "wf-times" },
        h("summary", { class: "small" }, "time range"),
        h("label", { class: "small" }, "started from ", times.startedAfter),
        h("label", { class: "small" }, "started before ", times.startedBefore),
        h("label", { class: "small" }, "closed from ", times.closedAfter),
        h("label", { class: "small" }, "closed before ", times.closedBefore)
      )
    ),
    body,
    more
  )

  const filter = (): ListFilter => {
    const f: Record<string, unknown> = {}
    if (idPrefix.value !== "") f.idPrefix = idPrefix.value
    if (type.value !== "") f.type = type.value
    if (status.value !== "") f.status = status.value
    for (const [name, input] of Object.entries(times)) {
      const t = timeOf(input)
      if (t !== undefined) f[name] = t
    }
    return f as ListFilter
  }

  const item = (w: WorkflowSummary) =>
    h(
      "li",
      {
        class: `wf-item${w.id === selected ? " selected" : ""}`,
        "data-id": w.id,
        tabindex: 0,
        onclick: () => onOpen(w.id),
        onkeydown: (e: KeyboardEvent) => e.key === "Enter" && onOpen(w.id)
      },
      h("div", {}, h("span", { class: `status status-${w.status}` }, w.status), " ", h("strong", {}, w.type)),
      h("div", { class: "wf-id" }, w.id),
      h(
        "div",
        { class: "muted small" },
        `started ${dateTime(w.createdAt)}`,
        ` · last ${w.lastEventType ?? "event"} ${dateTime(w.updatedAt)}`
      )
    )

  /** The first page of the search (`fresh`), or the next one. */
  const page = async (fresh: boolean) => {
    const f = filter()
    const [result, counted] = await Promise.all([
      api.listWorkflows({ ...f, limit: PAGE, ...(fresh || cursor === undefined ? {} : { cursor }) }),
      fresh ? api.countWorkflows(f) : undefined
    ])
    if (!result.ok) {
      shown = []
      cursor = undefined
      more.hidden = true
      count.textContent = ""
      render(
        body,
        h(
          "p",
          { class: "muted", "data-testid": "server-unavailable" },
          result.error.code === "Unreachable" || result.status === 404
            ? "No server here: drop an exported history file to debug it offline."
            : `Could not list workflows: ${result.error.message}`
        )
      )
      return
    }
    shown = fresh ? [...result.value.workflows] : [...shown, ...result.value.workflows]
    cursor = result.value.nextCursor
    more.hidden = cursor === undefined
    if (counted?.ok) count.textContent = `${counted.value} match`
    render(
      body,
      shown.length === 0
        ? h("p", { class: "muted" }, "No workflows.")
        : h("ul", { class: "wf-list", "data-testid": "workflow-list" }, shown.map(item))
    )
  }

  const list: WorkflowList = {
    refresh: () => page(true),
    setSelected(id) {
      selected = id
      for (const el of body.querySelectorAll<HTMLElement>(".wf-item"))
        el.classList.toggle("selected", el.dataset.id === id)
    },
    setTypes(names) {
      const current = type.value
      render(
        type,
        h("option", { value: "" }, "all types"),
        names.map((n) => h("option", { value: n }, n))
      )
      type.value = names.includes(current) ? current : ""
    }
  }
  return list
}
