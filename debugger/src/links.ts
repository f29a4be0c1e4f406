/**
 * Links between runs and into the page: the deep link's parameters, checked (a bad value is
 * ignored with a note saying so, never a broken page), and the runs a history names as
 * related: its parent, its children, the run it continued from and the run it continued as.
 */
import { workflowIdProblem, type HistoryFile } from "../../core"

export interface DeepLink {
  readonly workflow: string | undefined
  readonly run: string | undefined
  readonly event: number | undefined
  /** What the link held that the page ignored, and why. */
  readonly notes: ReadonlyArray<string>
}

const RUN_ID = /^[\w.:-]{1,200}$/

/**
 * `?workflow=<id>&run=<runId>&event=<seq>`, each checked: a workflow id the server would
 * refuse, a run id that is no id, an event that is not a whole number from 1 (`7)`, `abc`,
 * `2.5`) is left out, with a note naming the parameter and the value.
 */
export const parseDeepLink = (search: string): DeepLink => {
  const params = new URLSearchParams(search)
  const notes: Array<string> = []
  /** The parameter's value when `problem` finds none, else a note and nothing. */
  const take = <A>(name: string, parse: (raw: string) => A, problem: (raw: string) => string | undefined) => {
    const raw = params.get(name)
    if (raw === null) return undefined
    const wrong = problem(raw)
    if (wrong === undefined) return parse(raw)
    notes.push(`ignored ${name}=${JSON.stringify(raw)} in the link: ${wrong}`)
    return undefined
  }
  return {
    workflow: take("workflow", String, workflowIdProblem),
    run: take("run", String, (raw) => (RUN_ID.test(raw) ? undefined : "not a run id")),
    event: take("event", Number, (raw) =>
      /^[1-9]\d{0,8}$/.test(raw) ? undefined : "not an event number (a whole number from 1)"
    ),
    notes
  }
}

export interface RelatedRuns {
  readonly parent: { readonly workflowId: string; readonly runId: string } | undefined
  readonly children: ReadonlyArray<{
    readonly workflowId: string
    readonly type: string
    readonly seq: number
  }>
  readonly continuedFrom: string | undefined
  readonly continuedAs: string | undefined
}

/** The runs this history names: its WorkflowStarted's parent and predecessor, its children, its successor. */
export const relatedRuns = (file: HistoryFile): RelatedRuns => {
  const started = file.events.find((e) => e.type === "WorkflowStarted")
  const next = file.events.findLast((e) => e.type === "WorkflowContinuedAsNew")
  const seen = new Set<string>()
  const children: Array<RelatedRuns["children"][number]> = []
  for (const e of file.events)
    if (e.type === "ChildWorkflowStarted" && !seen.has(e.workflowId)) {
      seen.add(e.workflowId)
      children.push({ workflowId: e.workflowId, type: e.workflowType, seq: e.seq })
    }
  return {
    parent: started?.type === "WorkflowStarted" ? started.parent : undefined,
    children,
    continuedFrom: started?.type === "WorkflowStarted" ? started.continuedFromRunId : undefined,
    continuedAs: next?.type === "WorkflowContinuedAsNew" ? next.nextRunId : undefined
  }
}

/** The page's own link to a run (and an event in it). */
export const linkTo = (target: {
  readonly workflow: string
  readonly run?: string | undefined
  readonly event?: number | undefined
}): string => {
  const params = new URLSearchParams({ workflow: target.workflow })
  if (target.run !== undefined) params.set("run", target.run)
  if (target.event !== undefined) params.set("event", String(target.event))
  return `?${params}`
}
