/**
 * The workflows the server knows: status, type, started, last event; filtered by status.
 * An unreachable server (an offline file, a static host) shows a note, not an error page.
 */
import { RunStatus } from "../../core"
import type { ServerApi, WorkflowSummary } from "./server-api"
import { dateTime, h, render } from "./dom"

/** The filter's choices: every status, or any. */
export const STATUSES = ["", ...RunStatus.literals] as const

export interface WorkflowList {
  refresh(): Promise<void>
  setSelected(id: string | undefined): void
}

export const createWorkflowList = (
  host: HTMLElement,
  api: ServerApi,
  onOpen: (id: string) => void
): WorkflowList => {
  let status: RunStatus | "" = ""
  let selected: string | undefined
  const filter = h(
    "select",
    {
      "aria-label": "filter by status",
      "data-testid": "status-filter",
      onchange: (e: Event) => (
        (status = (e.target as HTMLSelectElement).value as RunStatus | ""),
        void list.refresh()
      )
    },
    STATUSES.map((s) => h("option", { value: s }, s || "all statuses"))
  )
  const body = h("div", { class: "wf-body" })
  render(
    host,
    h(
      "div",
      { class: "wf-head" },
      h("h3", {}, "Workflows"),
      filter,
      h("button", { title: "refresh", onclick: () => void list.refresh() }, "↻")
    ),
    body
  )

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

  const list: WorkflowList = {
    async refresh() {
      const result = await api.listWorkflows({ ...(status === "" ? {} : { status }), limit: 200 })
      if (!result.ok) {
        render(
          body,
          h(
            "p",
            { class: "muted", "data-testid": "server-unavailable" },
            result.status === 0 || result.status === 404
              ? "No server here: drop an exported history file to debug it offline."
              : `Could not list workflows: ${result.error.message}`
          )
        )
        return
      }
      render(
        body,
        result.value.length === 0
          ? h("p", { class: "muted" }, "No workflows.")
          : h("ul", { class: "wf-list" }, result.value.map(item))
      )
    },
    setSelected(id) {
      selected = id
      for (const el of body.querySelectorAll<HTMLElement>(".wf-item"))
        el.classList.toggle("selected", el.dataset.id === id)
    }
  }
  return list
}
