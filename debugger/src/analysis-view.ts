/**
 * Failure and divergence views. A failed workflow shows its error (collapsible) with the stack
 * frames in the workflow's own sources, each mapped to its line (click to show it), and every
 * frame behind "show all"; a stuck one
 * shows the first divergence side by side: what the history recorded at that cmd, what the
 * code yields now, and where.
 */
import { h, json, render } from "./dom"
import type { MappedFrame, Session, SourcePosition } from "./session"

export interface AnalysisHandlers {
  readonly onShowPosition: (position: SourcePosition) => void
  readonly onSelect: (seq: number) => void
}

const at = (p: SourcePosition | undefined, handlers: AnalysisHandlers) =>
  p
    ? h(
        "button",
        { class: "link", onclick: () => handlers.onShowPosition(p) },
        `${p.path}:${p.line}:${p.column}`
      )
    : h("span", { class: "muted" }, "no source line")

/** Stack frames, each one in a source the page has linked to its line. */
const frameList = (frames: ReadonlyArray<MappedFrame>, handlers: AnalysisHandlers, testid: string) =>
  frames.length > 0 &&
  h(
    "ol",
    { class: "stack", "data-testid": testid },
    frames.map((f) =>
      h(
        "li",
        { class: f.position ? "in-source" : "" },
        h("code", {}, f.text),
        f.position && [" → ", at(f.position, handlers)]
      )
    )
  )

export const renderAnalysis = (
  host: HTMLElement,
  session: Session | undefined,
  handlers: AnalysisHandlers
) => {
  if (!session) return render(host)
  const { failure, divergence, replayProblem } = session
  render(
    host,
    replayProblem && h("div", { class: "notice", "data-testid": "replay-notice" }, replayProblem),
    session.notes.map((note) => h("div", { class: "notice", "data-testid": "session-note" }, note)),
    divergence &&
      h(
        "section",
        { class: "divergence", "data-testid": "divergence" },
        h(
          "header",
          {},
          h("strong", {}, `Non-determinism at cmd ${divergence.cmd}`),
          ` — ${divergence.reason} `,
          h(
            "span",
            { class: "muted" },
            divergence.foundBy === "page"
              ? "(found replaying the code bundled in this page)"
              : "(reported by the server)"
          )
        ),
        h(
          "div",
          { class: "sides" },
          h(
            "div",
            { class: "side expected", "data-testid": "divergence-expected" },
            h("h4", {}, "History recorded"),
            h(
              "p",
              {},
              h("strong", {}, divergence.expected.kind),
              divergence.expected.name ? ` "${divergence.expected.name}"` : ""
            ),
            divergence.expected.seq !== undefined &&
              h(
                "button",
                { class: "link", onclick: () => handlers.onSelect(divergence.expected.seq!) },
                `event ${divergence.expected.seq}`
              ),
            divergence.expectedEvent && h("pre", {}, json(divergence.expectedEvent))
          ),
          h(
            "div",
            { class: "side actual", "data-testid": "divergence-actual" },
            h("h4", {}, "Code yields now"),
            h(
              "p",
              {},
              h("strong", {}, divergence.actual.kind),
              divergence.actual.name ? ` "${divergence.actual.name}"` : ""
            ),
            h("p", {}, "at ", at(divergence.position, handlers)),
            divergence.locatedBy === "name" &&
              h(
                "p",
                { class: "muted small", "data-testid": "divergence-located-by-name" },
                "line found by the yield's name in the server's source: the server recorded no location"
              ),
            // A location in a bundle (the page's, or a URL) says nothing a reader can open: the
            // line above is where it maps to. A server's file path is worth showing.
            divergence.actual.location &&
              !/^(https?|file|blob):/.test(divergence.actual.location) &&
              h("p", { class: "muted small" }, divergence.actual.location)
          )
        )
      ),
    failure &&
      h(
        "details",
        { class: "failure", "data-testid": "failure", open: true },
        h(
          "summary",
          // its links act without folding the banner
          { onclick: (e: MouseEvent) => (e.target as Element).closest("button") && e.preventDefault() },
          h("strong", { "data-testid": "failure-error" }, `${failure.error.name}: ${failure.error.message}`),
          " ",
          h(
            "button",
            { class: "link", onclick: () => handlers.onSelect(failure.seq) },
            `event ${failure.seq}`
          ),
          " · failed at ",
          at(failure.position, handlers)
        ),
        failure.frames.length > 0 &&
          failure.framesFrom === "page" &&
          h(
            "p",
            { class: "muted small" },
            "The recorded error has no stack; this is the stack of the page's replay:"
          ),
        frameList(
          failure.frames.filter((f) => f.position),
          handlers,
          "stack-own"
        ),
        failure.frames.some((f) => !f.position) &&
          h(
            "details",
            { class: "stack-all", "data-testid": "stack-all" },
            h(
              "summary",
              { class: "small" },
              `show all ${failure.frames.length} frames (the engine's and libraries' too)`
            ),
            frameList(failure.frames, handlers, "stack")
          ),
        failure.error.details !== undefined && h("pre", {}, json(failure.error.details))
      )
  )
}
