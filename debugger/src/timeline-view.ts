/**
 * The timeline: each command as a bar over the run's time (activities, timers and signal
 * waits, children), a failed attempt as a red tick and the wait before its retry as a
 * hatched stretch, signals as marks on their own row; a cursor line at the current event's
 * time, the current command's row highlighted. Clicking a bar moves the cursor to the event
 * that issued it.
 *
 * Positions are percentages of the run's span, so the view needs no measuring and keeps its
 * shape at any width.
 */
import type { HistoryEvent } from "../../core"
import { commandView, type CommandRow, type CommandView } from "./commands"
import { markRows, type CommandList } from "./compact-view"
import { h, relativeTime, render } from "./dom"

const BARRED = new Set(["activity", "timer", "wait", "child"])

export const createTimelineView = (host: HTMLElement, onSelect: (seq: number) => void): CommandList => {
  let view: CommandView = commandView([])
  let events: ReadonlyArray<HistoryEvent> = []
  let rows: Array<{ row: CommandRow; el: HTMLElement }> = []
  const cursors: Array<HTMLElement> = []

  const span = () => Math.max(1, view.end - view.start)
  const pct = (at: number) => `${(((at - view.start) / span()) * 100).toFixed(3)}%`
  const width = (from: number, to: number) => `${((Math.max(0, to - from) / span()) * 100).toFixed(3)}%`

  const track = (...children: Array<Node | false | undefined | ReadonlyArray<Node>>) => {
    const cursor = h("div", { class: "tl-cursor" })
    cursors.push(cursor)
    return h("div", { class: "tl-track" }, ...children, cursor)
  }

  const bar = (row: CommandRow) => {
    const end =
      row.outcome?.at ?? (row.cancelSeq !== undefined ? events[row.cancelSeq - 1]?.at : undefined) ?? view.end
    const open = row.outcome === undefined && row.cancelSeq === undefined
    const title = `#${row.cmd} ${row.label}: ${row.outcome ? `${row.outcome.type} after ${relativeTime(end - row.at).slice(1)}` : open ? "open at the end of the history" : "cancelled"}`
    if (!BARRED.has(row.kind)) return h("div", { class: "tl-tick", style: `left:${pct(row.at)}`, title })
    return [
      h("div", {
        class: `tl-bar${open ? " open" : ""}${row.outcome && !row.outcome.ok ? " failed" : ""}`,
        "data-testid": "tl-bar",
        "data-from": row.at,
        "data-to": end,
        style: `left:${pct(row.at)};width:${width(row.at, end)}`,
        title
      }),
      ...row.attempts.flatMap((a) => [
        h("div", {
          class: "tl-retry-wait",
          "data-testid": "tl-retry-wait",
          style: `left:${pct(a.at)};width:${width(a.at, Math.min(a.nextRetryAt, end))}`,
          title: `attempt ${a.attempt} failed (${a.error.name}); next attempt after ${relativeTime(a.nextRetryAt - a.at).slice(1)}`
        }),
        h("div", {
          class: "tl-attempt-failed",
          style: `left:${pct(a.at)}`,
          title: `attempt ${a.attempt}: ${a.error.name}: ${a.error.message}`
        })
      ])
    ]
  }

  const line = (row: CommandRow) =>
    h(
      "div",
      {
        class: `tl-row tl-${row.kind}`,
        "data-cmd": row.cmd,
        "data-kind": row.kind,
        onclick: () => onSelect(row.seq)
      },
      h("span", { class: "tl-label", title: row.label }, `#${row.cmd} ${row.label}`),
      track(bar(row))
    )

  const signalRow = () =>
    h(
      "div",
      { class: "tl-row tl-signals" },
      h("span", { class: "tl-label" }, "signals"),
      track(
        view.signals.map((s) =>
          h("div", {
            class: "tl-signal",
            style: `left:${pct(s.at)}`,
            title: `${s.name} (event ${s.seq})`,
            onclick: (e: MouseEvent) => {
              e.stopPropagation()
              onSelect(s.seq)
            }
          })
        )
      )
    )

  return {
    setEvents(next) {
      events = next
      view = commandView(next)
      cursors.length = 0
      rows = view.rows.map((row) => ({ row, el: line(row) }))
      render(
        host,
        h(
          "div",
          { class: "tl-axis" },
          h("span", { class: "tl-label" }),
          h("span", { class: "muted small" }, "+0"),
          h("span", { class: "muted small", "data-testid": "tl-span" }, relativeTime(view.end - view.start))
        ),
        rows.length === 0 && h("p", { class: "muted" }, "No commands."),
        rows.map((r) => r.el),
        view.signals.length > 0 && signalRow()
      )
    },
    setCurrent(seq) {
      const at = events[seq - 1]?.at
      for (const cursor of cursors) {
        cursor.hidden = at === undefined
        if (at !== undefined) cursor.style.left = pct(at)
      }
      markRows(rows, seq)
    }
  }
}
