/**
 * The compact view: one row per command (not per event), each with its outcome and its
 * attempts, so a long history reads as what the workflow did. The row the cursor is on (the
 * command the current event issues or settles) is highlighted; rows in flight at the cursor
 * are marked; clicking a row's events moves the cursor there.
 */
import type { HistoryEvent } from "../../core"
import { commandView, type CommandRow, type CommandView } from "./commands"
import { h, relativeTime, render } from "./dom"

export interface CommandList {
  setEvents(events: ReadonlyArray<HistoryEvent>): void
  setCurrent(seq: number): void
}

/** Whether the command is under way once event `seq` is applied (issued, not yet settled). */
export const inFlight = (row: CommandRow, seq: number): boolean =>
  row.seq <= seq &&
  (row.outcome === undefined || row.outcome.seq > seq) &&
  (row.cancelSeq === undefined || row.cancelSeq > seq)

/** The events of a row: issue, attempts, outcome, cancel. */
export const seqsOf = (row: CommandRow): ReadonlyArray<number> => [
  row.seq,
  ...row.attempts.map((a) => a.seq),
  ...(row.outcome ? [row.outcome.seq] : []),
  ...(row.cancelSeq === undefined ? [] : [row.cancelSeq])
]

/**
 * Marks the row of the command the event at `seq` belongs to as current (scrolled into view)
 * and the commands under way at `seq` as in flight.
 */
export const markRows = (rows: ReadonlyArray<{ row: CommandRow; el: HTMLElement }>, seq: number) => {
  for (const { row, el } of rows) {
    const here = seqsOf(row).includes(seq)
    el.classList.toggle("current", here)
    el.classList.toggle("in-flight", !here && inFlight(row, seq))
    if (here) el.scrollIntoView({ block: "nearest" })
  }
}

export const createCompactView = (host: HTMLElement, onSelect: (seq: number) => void): CommandList => {
  let view: CommandView = commandView([])
  let rows: Array<{ row: CommandRow; el: HTMLElement }> = []

  const jump = (seq: number, label: string) =>
    h(
      "button",
      {
        class: "link",
        onclick: (e: MouseEvent) => {
          e.stopPropagation()
          onSelect(seq)
        }
      },
      label
    )

  const item = (row: CommandRow) => {
    const outcome = row.outcome
    return h(
      "li",
      {
        class: `cmd-row cmd-${row.kind}${outcome && !outcome.ok ? " cmd-failed" : ""}`,
        "data-cmd": row.cmd,
        "data-kind": row.kind,
        onclick: () => onSelect(row.seq)
      },
      h("span", { class: "cmd-id" }, `#${row.cmd}`),
      h("span", { class: "cmd-label" }, row.label),
      h(
        "span",
        { class: "cmd-outcome", "data-testid": "cmd-outcome" },
        outcome
          ? jump(
              outcome.seq,
              `${outcome.type.replace(/^(Activity|ChildWorkflow|Timer)/, "").toLowerCase() || outcome.type} (event ${outcome.seq})`
            )
          : row.cancelSeq !== undefined
            ? jump(row.cancelSeq, `cancelled (event ${row.cancelSeq})`)
            : h("span", { class: "muted" }, "open")
      ),
      h(
        "span",
        { class: "cmd-meta muted" },
        `event ${row.seq}`,
        outcome && outcome.seq !== row.seq ? ` · ${relativeTime(outcome.at - row.at).slice(1)}` : "",
        row.attempts.length > 0 &&
          h(
            "span",
            { class: "cmd-attempts", "data-testid": "cmd-attempts" },
            ` · ${row.attempts.length + (outcome ? 1 : 0)} attempts: `,
            row.attempts.map((a, i) => [i > 0 && ", ", jump(a.seq, `#${a.attempt} ${a.error.name}`)])
          )
      )
    )
  }

  const list = h("ol", { class: "cmd-list", "aria-label": "commands and outcomes" })
  const signals = h("p", { class: "muted small" })
  render(host, list, signals)

  return {
    setEvents(events) {
      view = commandView(events)
      rows = view.rows.map((row) => ({ row, el: item(row) }))
      list.replaceChildren(...rows.map((r) => r.el))
      if (rows.length === 0) list.append(h("li", { class: "muted" }, "No commands."))
      render(
        signals,
        view.signals.length > 0 && [
          "Signals received: ",
          view.signals.map((s, i) => [i > 0 && ", ", jump(s.seq, `${s.name} (event ${s.seq})`)])
        ]
      )
    },
    setCurrent: (seq) => markRows(rows, seq)
  }
}
