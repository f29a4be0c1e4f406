/**
 * The workflow's state at the current event, as a replay of the history up to it shows it:
 * every query handler registered so far (evaluated there), the signals received and not yet
 * consumed, and what the workflow is waiting on.
 */
import { terminalTypes } from "../../core"
import { h, json, render } from "./dom"
import { stateAt, type Session } from "./session"

const closedAs: Readonly<Record<string, string>> = {
  WorkflowCompleted: "completed",
  WorkflowFailed: "failed",
  WorkflowCancelled: "cancelled",
  WorkflowContinuedAsNew: "continued-as-new"
}

/** The run's status once event `seq` is applied, as the history (and the server's record) says. */
const recordedStatusAt = (session: Session, seq: number): string => {
  const event = session.events[seq - 1]
  if (event && terminalTypes.has(event.type)) return closedAs[event.type] ?? event.type
  const recorded = session.file.workflow.status
  // Not closed yet at this event: running, unless the server holds it stuck at its end.
  return seq === session.events.length && recorded === "stuck" ? "stuck" : "running"
}

export const renderStatePanel = (host: HTMLElement, session: Session | undefined, seq: number) => {
  if (!session || seq === 0) return render(host, h("p", { class: "muted" }, "No history open."))
  const state = stateAt(session, seq)
  if (typeof state === "string") return render(host, h("p", { class: "muted" }, state))
  const recorded = recordedStatusAt(session, seq)
  render(
    host,
    h(
      "div",
      { class: "kv" },
      h("div", { class: "kv-label" }, "status at this event"),
      h("strong", { "data-testid": "state-status" }, recorded),
      recorded !== state.status &&
        h(
          "p",
          { class: "small", "data-testid": "state-replayed-status" },
          `Replayed with this page's code: ${state.status}`,
          session.divergence?.foundBy === "page"
            ? ` (it no longer matches the history at cmd ${session.divergence.cmd}; the history records ${recorded}).`
            : "."
        )
    ),
    h("h4", {}, "Queries"),
    state.queries.length === 0
      ? h(
          "p",
          { class: "muted", "data-testid": "queries-empty" },
          session.definition?.queries.length === 0
            ? "This workflow type has no queries."
            : "No query handler registered yet."
        )
      : h(
          "dl",
          { class: "queries" },
          state.queries.map((q) => [
            h("dt", {}, q.name),
            h(
              "dd",
              { class: q.result.ok ? "" : "error" },
              h(
                "pre",
                {},
                q.result.ok ? json(q.result.value) : `${q.result.error.name}: ${q.result.error.message}`
              )
            )
          ])
        ),
    h("h4", {}, "Buffered signals"),
    state.pendingSignals.length === 0
      ? h("p", { class: "muted", "data-testid": "signals-empty" }, "None buffered.")
      : h(
          "ol",
          { class: "signals" },
          state.pendingSignals.map((s) =>
            h("li", {}, h("strong", {}, s.name), ` (event ${s.seq}) `, h("code", {}, json(s.payload)))
          )
        ),
    h("h4", {}, "Waiting on"),
    state.pending.length === 0
      ? h("p", { class: "muted" }, "Nothing.")
      : h(
          "ul",
          {},
          state.pending.map((p) => h("li", {}, `cmd ${p.cmd}: ${p.kind}${p.name ? ` ${p.name}` : ""}`))
        )
  )
}
