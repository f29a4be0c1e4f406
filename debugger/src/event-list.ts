/**
 * The event list: one row per history event, coloured by type, with its time relative to
 * the first event; the current event is highlighted and kept in view. Clicking a row jumps
 * to it; clicking its dot toggles a breakpoint on it.
 */
import type { HistoryEvent } from "../../core"
import { eventCategory, h, relativeTime } from "./dom"

export interface EventListHandlers {
  readonly onSelect: (seq: number) => void
  readonly onToggleBreakpoint: (seq: number) => void
}

export interface EventList {
  setEvents(events: ReadonlyArray<HistoryEvent>, marks?: { failure?: number; divergence?: number }): void
  setCurrent(seq: number): void
  setBreakpoints(seqs: ReadonlySet<number>): void
}

const short = (value: unknown, max = 60): string => {
  let text: string
  try {
    text = JSON.stringify(value) ?? "undefined"
  } catch {
    text = String(value)
  }
  return text.length > max ? `${text.slice(0, max - 1)}…` : text
}

/** A one-line summary of what an event says. */
export const summarise = (e: HistoryEvent): string => {
  switch (e.type) {
    case "WorkflowStarted":
      return `${e.workflowType} ${short(e.input)}`
    case "ActivityScheduled":
      return `${e.name} ${short(e.input, 40)}`
    case "ActivityAttemptFailed":
      return `attempt ${e.attempt}: ${e.error.name}: ${e.error.message}`
    case "ActivityCompleted":
      return `→ ${short(e.result)}`
    case "ActivityFailed":
    case "ChildWorkflowFailed":
      return `${e.error.name}: ${e.error.message}`
    case "WorkflowFailed":
      return `${e.error.name}: ${e.error.message}`
    case "TimerStarted":
      return `${e.purpose} ${e.durationMs} ms`
    case "SignalReceived":
      return `${e.name} ${short(e.payload, 40)}`
    case "SideEffectRecorded":
      return `${e.kind} = ${short(e.value)}`
    case "MarkerRecorded":
      return `patch ${e.patchId}`
    case "ChildWorkflowStarted":
      return `${e.workflowType} ${e.workflowId}`
    case "ChildWorkflowCompleted":
    case "WorkflowCompleted":
      return `→ ${short(e.result)}`
    case "CancelRequested":
    case "WorkflowCancelled":
      return e.reason
    case "WorkflowContinuedAsNew":
      return short(e.input)
    case "ActivityCancelRequested":
    case "TimerFired":
    case "TimerCancelled":
    case "ChildWorkflowCancelRequested":
      return ""
  }
}

export const createEventList = (host: HTMLElement, handlers: EventListHandlers): EventList => {
  const list = h("ol", { class: "event-list", "aria-label": "history events" })
  host.replaceChildren(list)
  let rows: Array<HTMLLIElement> = []
  let current = 0

  const row = (e: HistoryEvent, start: number, marks: { failure?: number; divergence?: number }) => {
    const cmd = "cmd" in e ? h("span", { class: "ev-cmd" }, `#${e.cmd}`) : h("span", { class: "ev-cmd" })
    const li = h(
      "li",
      {
        class: `event ${eventCategory(e.type)}${marks.failure === e.seq ? " is-failure" : ""}${marks.divergence === e.seq ? " is-divergence" : ""}`,
        "data-seq": e.seq,
        "data-type": e.type,
        title: `event ${e.seq} · ${new Date(e.at).toISOString()}`,
        onclick: () => handlers.onSelect(e.seq)
      },
      h("button", {
        class: "ev-bp",
        title: "toggle breakpoint (b)",
        "aria-label": `toggle breakpoint on event ${e.seq}`,
        onclick: (ev: MouseEvent) => {
          ev.stopPropagation()
          handlers.onToggleBreakpoint(e.seq)
        }
      }),
      h("span", { class: "ev-seq" }, e.seq),
      h("span", { class: "ev-time" }, relativeTime(e.at - start)),
      h("span", { class: "ev-type" }, e.type),
      cmd,
      h("span", { class: "ev-summary" }, summarise(e))
    )
    return li
  }

  return {
    setEvents(events, marks = {}) {
      const start = events[0]?.at ?? 0
      rows = events.map((e) => row(e, start, marks))
      list.replaceChildren(...rows)
      if (current) this.setCurrent(current)
    },
    setCurrent(seq) {
      rows[current - 1]?.classList.remove("current")
      rows[current - 1]?.removeAttribute("aria-current")
      current = seq
      const el = rows[seq - 1]
      if (!el) return
      el.classList.add("current")
      el.setAttribute("aria-current", "step")
      el.scrollIntoView({ block: "nearest" })
    },
    setBreakpoints(seqs) {
      for (const el of rows) el.classList.toggle("has-breakpoint", seqs.has(Number(el.dataset.seq)))
    }
  }
}
