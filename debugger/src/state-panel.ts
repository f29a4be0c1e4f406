/**
 * The workflow's state at the current event, as a replay of the history up to it shows it:
 * every query handler registered so far (evaluated there), the signals received and not yet
 * consumed, and what the workflow is waiting on.
 */
import { h, json, render } from "./dom"
import { stateAt, type Session } from "./session"

export const renderStatePanel = (host: HTMLElement, session: Session | undefined, seq: number) => {
  if (!session || seq === 0) return render(host, h("p", { class: "muted" }, "No history open."))
  const state = stateAt(session, seq)
  if (typeof state === "string") return render(host, h("p", { class: "muted" }, state))
  render(
    host,
    h(
      "div",
      { class: "kv" },
      h("div", { class: "kv-label" }, "status at this event"),
      h("strong", { "data-testid": "state-status" }, state.status)
    ),
    h("h4", {}, "Queries"),
    state.queries.length === 0
      ? h("p", { class: "muted" }, "No query handler registered yet.")
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
