/**
 * What-if, in the page: at a recorded outcome (an activity's or child's result or failure, a
 * signal's payload, a signal wait's timeout) edit the value and replay forward with the code
 * bundled here (core's `whatIf`), to see what the workflow would do next: the commands it
 * would issue, marked hypothetical, until it needs an outcome never recorded. A value the
 * code's schema refuses is shown as the refusal, naming the field, and nothing is replayed.
 *
 * The override is data (`{ seq, value }` or `{ seq, error }`): exactly what a fork from this
 * point takes. The fork button waits for the fork API (issue 14: `POST /api/workflows/:id/fork`).
 */
import * as Either from "effect/Either"
import { whatIf, type Command, type HistoryEvent, type Override, type WhatIf } from "../../core"
import { h, json, render } from "./dom"
import { summarise } from "./event-list"
import type { Session, SourcePosition } from "./session"

export interface WhatIfHandlers {
  readonly onShowPosition: (position: SourcePosition) => void
}

/** What the value at `seq` is, when the event is an outcome a what-if can replace. */
export const editableOutcome = (
  events: ReadonlyArray<HistoryEvent>,
  seq: number
):
  | { readonly label: string; readonly value: unknown; readonly error: boolean; readonly canFail: boolean }
  | undefined => {
  const e = events[seq - 1]
  switch (e?.type) {
    case "ActivityCompleted":
    case "ChildWorkflowCompleted":
      return { label: "result", value: e.result, error: false, canFail: true }
    case "ActivityFailed":
    case "ChildWorkflowFailed":
      return { label: "error", value: e.error, error: true, canFail: true }
    case "SignalReceived":
      return { label: `signal ${e.name} payload`, value: e.payload, error: false, canFail: false }
    case "TimerFired": {
      const started = events.find((s) => s.type === "TimerStarted" && s.cmd === e.cmd)
      return started?.type === "TimerStarted" && started.purpose === "signal-timeout"
        ? { label: "signal payload (instead of the timeout)", value: undefined, error: false, canFail: false }
        : undefined
    }
    default:
      return undefined
  }
}

const commandText = (c: Command): string =>
  `${c.type}${"name" in c ? ` "${c.name}"` : ""}${"cmd" in c ? ` (cmd ${c.cmd})` : ""} ${summarise({ ...c, seq: 0, at: 0 } as HistoryEvent)}`

export interface WhatIfPanel {
  /** Shows the editor for the event at `seq` (hidden when it is no outcome, or the type is not bundled). */
  show(session: Session | undefined, seq: number): void
}

export const createWhatIfPanel = (host: HTMLElement, handlers: WhatIfHandlers): WhatIfPanel => {
  let at: { session: Session; seq: number } | undefined

  const run = async (
    session: Session,
    seq: number,
    text: string,
    asError: boolean,
    out: HTMLElement,
    fork: HTMLElement
  ) => {
    delete fork.dataset.override
    let parsed: unknown
    try {
      parsed = text.trim() === "" ? undefined : JSON.parse(text)
    } catch (error) {
      return render(
        out,
        h(
          "p",
          { class: "error", "data-testid": "what-if-error" },
          `invalid JSON: ${(error as Error).message}`
        )
      )
    }
    const override: Override = asError ? { seq, error: parsed as never } : { seq, value: parsed }
    const outcome = whatIf(session.definition!, session.events, override, { locations: true })
    if (Either.isLeft(outcome))
      return render(
        out,
        h(
          "p",
          { class: "error", "data-testid": "what-if-error", "data-path": outcome.left.path.join(".") },
          `Not replayed: ${outcome.left.message}`
        )
      )
    if (at?.session !== session || at.seq !== seq) return // the cursor moved on meanwhile
    render(out, await preview(session, outcome.right))
    out.scrollIntoView({ block: "nearest" })
    // What a fork from here sends (issue 14's fork API, with the override): ready as data.
    fork.dataset.override = JSON.stringify(override)
  }

  const preview = async (session: Session, result: WhatIf) => {
    const located = await Promise.all(
      result.commands.map(async (c) => {
        const step = "cmd" in c ? result.trace.find((s) => s.cmd === c.cmd) : undefined
        return step?.location ? session.locate(step.location) : undefined
      })
    )
    return [
      h(
        "p",
        { class: "small" },
        result.kept > 0 && `${result.kept} recorded event(s) after the edit still happen as recorded. `,
        result.stoppedAt &&
          `From event ${result.stoppedAt.seq} on the history is left out: ${result.stoppedAt.reason}.`
      ),
      h("div", { class: "kv-label" }, "hypothetical: what the code would do next"),
      result.commands.length === 0
        ? h("p", { class: "muted" }, "No new command.")
        : h(
            "ol",
            { class: "hypothetical", "data-testid": "what-if-commands" },
            result.commands.map((c, i) =>
              h(
                "li",
                {
                  class: "hypothetical-command",
                  "data-type": c.type,
                  "data-name": "name" in c ? c.name : undefined
                },
                h("span", { class: "pill hypo" }, "hypothetical"),
                " ",
                commandText(c),
                located[i] &&
                  h(
                    "button",
                    { class: "link", onclick: () => handlers.onShowPosition(located[i]!) },
                    ` ${located[i]!.path}:${located[i]!.line}`
                  )
              )
            )
          ),
      h(
        "p",
        { "data-testid": "what-if-status" },
        `The workflow would be ${result.status}`,
        result.status === "completed" && [" with ", h("code", {}, json(result.result))],
        result.error && `: ${result.error.name}: ${result.error.message}`,
        result.pending.length > 0 &&
          `, waiting on ${result.pending.map((p) => `cmd ${p.cmd} ${p.kind}${p.name ? ` ${p.name}` : ""}`).join(", ")} (never recorded)`,
        "."
      )
    ]
  }

  return {
    show(session, seq) {
      const editable = session?.definition ? editableOutcome(session.events, seq) : undefined
      host.hidden = editable === undefined
      if (!session || !editable) return render(host)
      if (at?.session === session && at.seq === seq) return // keep the draft and its preview
      at = { session, seq }
      const input = h("textarea", {
        rows: 5,
        "aria-label": "edited value (JSON)",
        "data-testid": "what-if-input",
        value: editable.value === undefined ? "" : json(editable.value)
      })
      const asError = h("input", {
        type: "checkbox",
        "data-testid": "what-if-as-error",
        checked: editable.error
      })
      const out = h("div", { class: "what-if-result", "data-testid": "what-if-result" })
      const fork = h(
        "button",
        {
          disabled: true,
          "data-testid": "what-if-fork",
          title:
            "needs the fork API (POST /api/workflows/:id/fork, issue 14), which this server does not have yet"
        },
        "Fork from here with this value"
      )
      render(
        host,
        h("h3", {}, `What if event ${seq}'s ${editable.label} were…`),
        input,
        editable.canFail &&
          h("label", { class: "small" }, asError, " an error (the activity or child fails with it)"),
        h(
          "div",
          { class: "what-if-actions" },
          h(
            "button",
            {
              "data-testid": "what-if-run",
              onclick: () => void run(session, seq, input.value, asError.checked, out, fork)
            },
            "Replay forward with this value"
          ),
          fork
        ),
        h(
          "p",
          { class: "muted small" },
          "Replayed in this page with the code bundled here; nothing is sent to the server."
        ),
        out
      )
    }
  }
}
