/**
 * The current step: the event at the cursor, the yield it belongs to (descriptor, input, its
 * outcome as of this event or "pending"), the result or error the history recorded for it,
 * and for activities every failed attempt so far with its error.
 */
import { terminalTypes, type ErrorInfo, type HistoryEvent } from "../../core"
import { h, json, relativeTime, render } from "./dom"
import { attemptsAt, positionForEvent, stepForEvent, type Session } from "./session"

const completionOf = (session: Session, cmd: number): HistoryEvent | undefined =>
  session.events.find(
    (e) =>
      "cmd" in e &&
      e.cmd === cmd &&
      (e.type === "ActivityCompleted" ||
        e.type === "ActivityFailed" ||
        e.type === "ChildWorkflowCompleted" ||
        e.type === "ChildWorkflowFailed" ||
        e.type === "TimerFired" ||
        e.type === "SideEffectRecorded" ||
        e.type === "MarkerRecorded")
  )

const recorded = (e: HistoryEvent): { label: string; value: unknown; error: boolean } => {
  switch (e.type) {
    case "ActivityCompleted":
    case "ChildWorkflowCompleted":
      return { label: "recorded result", value: e.result, error: false }
    case "ActivityFailed":
    case "ChildWorkflowFailed":
      return { label: "recorded error", value: e.error, error: true }
    case "SideEffectRecorded":
      return { label: `recorded ${e.kind}`, value: e.value, error: false }
    case "MarkerRecorded":
      return { label: "recorded marker", value: e.patchId, error: false }
    default:
      return { label: "recorded", value: e.type, error: false }
  }
}

/** What the event itself carries, for events that no yield explains (or when nothing was replayed). */
const eventPayload = (e: HistoryEvent): { label: string; value: unknown; cls: string } | undefined => {
  switch (e.type) {
    case "WorkflowStarted":
    case "ActivityScheduled":
    case "ChildWorkflowStarted":
    case "WorkflowContinuedAsNew":
      return { label: "input", value: e.input, cls: "input" }
    case "WorkflowCompleted":
      return { label: "workflow result", value: e.result, cls: "result" }
    case "WorkflowFailed":
    case "ActivityAttemptFailed":
      return { label: "error", value: e.error, cls: "error" }
    case "SignalReceived":
      return { label: `signal ${e.name}`, value: e.payload, cls: "input" }
    case "CancelRequested":
    case "WorkflowCancelled":
      return { label: "reason", value: e.reason, cls: "" }
    default:
      return undefined
  }
}

const isErrorInfo = (v: unknown): v is ErrorInfo =>
  typeof v === "object" &&
  v !== null &&
  typeof (v as ErrorInfo).name === "string" &&
  typeof (v as ErrorInfo).message === "string"

const withoutInput = ({ input: _input, ...rest }: Record<string, unknown>) => rest

const block = (label: string, value: unknown, cls = "") =>
  h(
    "div",
    { class: `kv ${cls}` },
    h("div", { class: "kv-label" }, label),
    cls.includes("error") && isErrorInfo(value)
      ? [
          h(
            "pre",
            { class: "kv-value" },
            h("span", { class: "error-name" }, value.name),
            `: ${value.message}`
          ),
          value.details !== undefined && h("pre", {}, json(value.details)),
          value.stack &&
            h("details", { class: "stack-details" }, h("summary", {}, "stack"), h("pre", {}, value.stack))
        ]
      : h("pre", { class: "kv-value" }, json(value))
  )

export const renderStepPanel = (host: HTMLElement, session: Session | undefined, seq: number) => {
  if (!session || seq === 0)
    return render(host, h("p", { class: "muted" }, "Open a workflow or drop a history file."))
  const event = session.events[seq - 1]!
  const start = session.events[0]?.at ?? event.at
  const step = stepForEvent(session, seq)
  const cmd = "cmd" in event ? event.cmd : step?.cmd
  const completion = cmd === undefined ? undefined : completionOf(session, cmd)
  const attempts = cmd === undefined ? [] : attemptsAt(session, cmd, seq)
  const position = positionForEvent(session, seq)
  const payload = eventPayload(event)
  const payloadBlock = payload && block(payload.label, payload.value, payload.cls)
  const resolvedHere =
    step?.completedSeq !== undefined
      ? step.completedSeq <= seq
      : step?.outcome !== undefined && step.atSeq <= seq

  render(
    host,
    h(
      "div",
      { class: "step-head" },
      h("strong", { "data-testid": "step-title" }, `Event ${seq} of ${session.events.length}: ${event.type}`),
      h("span", { class: "muted" }, ` ${relativeTime(event.at - start)}`),
      cmd !== undefined && h("span", { class: "pill" }, `cmd ${cmd}`),
      step && step.fiber !== 0 && h("span", { class: "pill" }, `branch fiber ${step.fiber}`),
      position &&
        h("span", { class: "pill", "data-testid": "step-location" }, `${position.path}:${position.line}`)
    ),
    step
      ? [
          block(`yield: ${String(step.descriptor._tag)}`, withoutInput(step.descriptor), "descriptor"),
          "input" in step.descriptor && block("input", step.descriptor.input, "input"),
          step.outcome && resolvedHere
            ? step.outcome._tag === "value"
              ? block("result (as the code received it)", step.outcome.value, "result")
              : block("error (thrown into the code)", step.outcome.error, "error")
            : h(
                "div",
                { class: "kv pending" },
                h("div", { class: "kv-label" }, "outcome"),
                h("pre", { class: "kv-value" }, "pending at this event")
              )
        ]
      : [
          !terminalTypes.has(event.type) &&
            h(
              "p",
              { class: "muted" },
              session.definition ? "No yield belongs to this event." : session.replayProblem
            ),
          payloadBlock
        ],
    step && event.type.startsWith("Workflow") && payloadBlock,
    completion &&
      completion.seq <= seq &&
      (() => {
        const r = recorded(completion)
        return block(
          `${r.label} (event ${completion.seq})`,
          r.value,
          r.error ? "error recorded" : "result recorded"
        )
      })(),
    attempts.length > 0 &&
      h(
        "div",
        { class: "attempts" },
        h("div", { class: "kv-label" }, `failed attempts (${attempts.length})`),
        h(
          "ol",
          {},
          attempts.map((a) =>
            h(
              "li",
              { "data-seq": a.seq },
              h("strong", {}, `attempt ${a.attempt}`),
              ` ${a.error.name}: ${a.error.message}`,
              h(
                "span",
                { class: "muted" },
                ` · retry ${relativeTime(a.nextRetryAt - start)} (event ${a.seq})`
              )
            )
          )
        )
      ),
    h("details", { class: "raw-event" }, h("summary", {}, "event JSON"), h("pre", {}, json(event)))
  )
}
