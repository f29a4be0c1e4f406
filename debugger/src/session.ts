/**
 * One opened history and what the debugger derives from it: the full replay in the page
 * (trace with source locations, divergence, outcome), the failure and divergence to show,
 * and the state at any event (a replay of the prefix `events.slice(0, seq)`, cached).
 *
 * Nothing here touches the DOM. Without a bundled definition of the workflow type the
 * session still works from the events alone (no source lines, no query state).
 */
import {
  NonDeterminismError,
  WorkflowInstance,
  isCommandEvent,
  terminalTypes,
  type ErrorInfo,
  type HistoryEvent,
  type HistoryFile,
  type InterpreterOptions,
  type SourceLocation,
  type TraceStep,
  type WorkflowDefinition
} from "../../core"
import { parseLocationString, parseStack } from "./source-map"
import type { Located, SourceLocator } from "./source-locator"
import { bundledSource, bundledSources, normalisePath, samePath, type SourceFile } from "./sources"
import { findReturnFrom, findYieldByName } from "./yield-finder"

export type Origin =
  { readonly kind: "server"; readonly workflowId: string } | { readonly kind: "file"; readonly name: string }

/** A position in a source file the page can show (1-based). */
export interface SourcePosition {
  readonly path: string
  readonly line: number
  readonly column: number
}

export interface MappedFrame {
  readonly text: string
  /** Where the frame is in a source the page has, when it is. */
  readonly position: SourcePosition | undefined
}

export interface Failure {
  readonly seq: number
  readonly error: ErrorInfo
  readonly frames: ReadonlyArray<MappedFrame>
  /** Whose stack `frames` is: the recorded error's, or the page's replay's (the record has none). */
  readonly framesFrom: "history" | "page"
  readonly position: SourcePosition | undefined
}

export interface Divergence {
  /** Who found it: this page replaying its bundled code, or the server replaying its code. */
  readonly foundBy: "page" | "server"
  readonly cmd: number
  readonly reason: string
  readonly message: string
  readonly expected: { readonly kind: string; readonly name?: string; readonly seq?: number }
  readonly actual: { readonly kind: string; readonly name?: string; readonly location?: string }
  readonly expectedEvent: HistoryEvent | undefined
  readonly position: SourcePosition | undefined
  /**
   * How `position` was found: the page's own replay, the location the server recorded, or
   * (neither being there) the yield's name looked up in the server's source.
   */
  readonly locatedBy: "replay" | "location" | "name" | undefined
  readonly seq: number
}

export interface Session {
  readonly origin: Origin
  readonly file: HistoryFile
  readonly events: ReadonlyArray<HistoryEvent>
  readonly definition: WorkflowDefinition<any, any> | undefined
  /** Why the page could not replay (no bundled definition, or the interpreter threw). */
  readonly replayProblem: string | undefined
  readonly full: WorkflowInstance | undefined
  readonly trace: ReadonlyArray<TraceStep>
  readonly positions: ReadonlyMap<TraceStep, SourcePosition>
  readonly sources: ReadonlyMap<string, string>
  /** The file shown when the current step has no position of its own. */
  readonly primarySource: string | undefined
  readonly failure: Failure | undefined
  readonly divergence: Divergence | undefined
  /** What the page wants the user to know about this session (shown above the source). */
  readonly notes: ReadonlyArray<string>
  /** The `return` the completed workflow left its body by (found in the source after its last yield). */
  readonly returnPosition: SourcePosition | undefined
  /** A source location the page's code recorded (a what-if's yields), as a position in a source it shows. */
  readonly locate: (location: SourceLocation) => Promise<SourcePosition>
}

export interface SessionInput {
  readonly origin: Origin
  readonly file: HistoryFile
  readonly definition: WorkflowDefinition<any, any> | undefined
  readonly locator: SourceLocator
  /** The source of the workflow type from the server, when it serves one. */
  readonly serverSource?: (type: string) => Promise<SourceFile | undefined>
}

const replayOf = (
  definition: WorkflowDefinition<any, any>,
  events: ReadonlyArray<HistoryEvent>,
  options: InterpreterOptions
): { instance: WorkflowInstance } | { problem: string } => {
  try {
    return { instance: WorkflowInstance.replay(definition, events, options) }
  } catch (error) {
    return { problem: `the interpreter failed replaying this history: ${String(error)}` }
  }
}

/** Replays the history in the page and maps every yield and the failure stack to source lines. */
export const openSession = async (input: SessionInput): Promise<Session> => {
  const { file, definition, locator } = input
  const events = file.events
  const sources = new Map<string, string>()

  let full: WorkflowInstance | undefined
  let replayProblem: string | undefined
  if (!definition) {
    replayProblem = `workflow type "${file.workflow.type}" is not bundled with this page: showing the recorded events only`
  } else {
    const outcome = replayOf(definition, events, { trace: true, locations: true })
    if ("problem" in outcome) replayProblem = outcome.problem
    else full = outcome.instance
  }
  const trace = full?.trace ?? []

  const toPosition = (located: Located): SourcePosition => {
    const bundled = bundledSource(located.source)
    const path = bundled?.path ?? normalisePath(located.source)
    if (!sources.has(path)) {
      const text = bundled?.text ?? locator.embeddedSource(located.source)
      if (text !== undefined) sources.set(path, text)
    }
    return { path, line: located.line, column: located.column }
  }

  const locate = async (location: SourceLocation) => toPosition(await locator.locate(location))
  const positions = new Map<TraceStep, SourcePosition>()
  await Promise.all(
    trace.map(async (step) => {
      if (step.location) positions.set(step, await locate(step.location))
    })
  )

  let primarySource = mostCommon(
    [...positions.values()].filter((p) => sources.has(p.path)).map((p) => p.path)
  )
  if (primarySource === undefined) {
    const server = await input.serverSource?.(file.workflow.type).catch(() => undefined)
    const byName = server ?? bundledSources().find((s) => s.text.includes(`"${file.workflow.type}"`))
    if (byName) {
      sources.set(byName.path, byName.text)
      primarySource = byName.path
    }
  }

  // The workflow's own files: those its yields are in (or the one the server named). Stack
  // frames elsewhere (core/, effect, the runtime) are shown but never chosen as "the line".
  const workflowFiles = new Set([...positions.values()].map((p) => p.path))
  if (primarySource !== undefined) workflowFiles.add(primarySource)
  const inWorkflow = async (at: {
    file: string
    line: number
    column: number
  }): Promise<SourcePosition | undefined> => {
    const located = await locator.locate(at)
    const path = [...workflowFiles].find((f) => samePath(f, located.source))
    return path === undefined ? undefined : { path, line: located.line, column: located.column }
  }
  const mapStack = async (stack: string | undefined): Promise<Array<MappedFrame>> =>
    Promise.all(
      parseStack(stack ?? "").map(async (frame) => ({ text: frame.text, position: await inWorkflow(frame) }))
    )

  // A divergence only the server found: it runs other code than the copy bundled here (or the
  // page cannot replay this type). Its side of the divergence is in the server's source.
  const notes: Array<string> = []
  const serverOnly = full?.divergence ? undefined : serverDivergence(file)
  let codeOfServer: SourceFile | undefined
  if (serverOnly) {
    const at = serverOnly.actual.location ? parseLocationString(serverOnly.actual.location) : undefined
    const server = await input.serverSource?.(file.workflow.type).catch(() => undefined)
    const bundled = at ? bundledSource(at.file) : undefined
    const code =
      [server, bundled].find(
        (c): c is SourceFile => c !== undefined && at !== undefined && samePath(c.path, at.file)
      ) ?? server
    if (code) {
      sources.set(code.path, code.text)
      workflowFiles.add(code.path)
      codeOfServer = code
    }
    if (full) {
      notes.push(
        `The server's code for "${file.workflow.type}" no longer matches this history, but the copy bundled with this page does: ` +
          `the steps are replayed with the bundled copy, the divergence is the server's` +
          (code ? `, shown in its source ${code.path}.` : ".")
      )
    }
  }

  const failure = await failureOf(events, file, definition, full, trace, positions, mapStack)
  const divergence = await divergenceOf(
    events,
    file,
    full,
    trace,
    positions,
    async (location) => {
      const parsed = parseLocationString(location)
      return parsed && inWorkflow(parsed)
    },
    codeOfServer
  )

  if (!divergence && file.workflow.status === "stuck") {
    const reason = (file.workflow.divergence as { reason?: unknown } | undefined)?.reason
    notes.push(
      `The server marks this workflow stuck${typeof reason === "string" ? `: ${reason}` : " (it recorded no divergence the page can show)"}.`
    )
  }

  const lastYield = trace.findLast((s) => s.fiber === 0)
  const lastPosition = lastYield && positions.get(lastYield)
  const lastText = lastPosition && sources.get(lastPosition.path)
  const returned =
    full?.status === "completed" && lastText ? findReturnFrom(lastText, lastPosition.line) : undefined

  return {
    origin: input.origin,
    file,
    events,
    definition,
    replayProblem,
    full,
    trace,
    positions,
    sources,
    primarySource,
    failure,
    divergence,
    notes,
    returnPosition: returned && lastPosition && { path: lastPosition.path, ...returned },
    locate
  }
}

const mostCommon = (values: ReadonlyArray<string>): string | undefined => {
  const counts = new Map<string, number>()
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1)
  let best: string | undefined
  for (const [v, n] of counts) if (best === undefined || n > counts.get(best)!) best = v
  return best
}

/**
 * The stack of what the workflow's body threw when replaying `events` (its final failure),
 * caught by a wrapper that delegates to the body unchanged (`yield*` passes every value,
 * throw and return through, so the replay is the same).
 */
const stackThrownBy = (
  definition: WorkflowDefinition<any, any>,
  events: ReadonlyArray<HistoryEvent>
): string | undefined => {
  let thrown: unknown
  const body = definition.body
  const capturing: WorkflowDefinition<any, any> = {
    ...definition,
    body: function* (input) {
      try {
        return yield* body(input)
      } catch (error) {
        thrown = error
        throw error
      }
    }
  }
  try {
    WorkflowInstance.replay(capturing, events, { trace: false })
  } catch {
    // the full replay already said what went wrong
  }
  return thrown instanceof Error ? thrown.stack : undefined
}

const failureOf = async (
  events: ReadonlyArray<HistoryEvent>,
  file: HistoryFile,
  definition: WorkflowDefinition<any, any> | undefined,
  full: WorkflowInstance | undefined,
  trace: ReadonlyArray<TraceStep>,
  positions: ReadonlyMap<TraceStep, SourcePosition>,
  mapStack: (stack: string | undefined) => Promise<Array<MappedFrame>>
): Promise<Failure | undefined> => {
  const recorded = events.findLast((e) => e.type === "WorkflowFailed")
  const recordedError = recorded?.type === "WorkflowFailed" ? recorded.error : undefined
  const replayed = full?.status === "failed" ? full.error : undefined
  const error =
    recordedError ?? replayed ?? (file.workflow.status === "failed" ? file.workflow.error : undefined)
  if (!error) return undefined
  // A deliberate failure (`throw new WorkflowFailure(…)`) is recorded without a stack; the
  // page's own replay throws it again, in the page, where its stack says where it was thrown.
  const thrownStack =
    error.stack === undefined && replayed?.stack === undefined && definition && full?.status === "failed"
      ? stackThrownBy(definition, events)
      : undefined
  const frames = await mapStack(error.stack ?? thrownStack)
  // The page's own replay of the failure has a stack in the bundle, mapped to the source too.
  const replayedFrames = replayed && replayed !== error ? await mapStack(replayed.stack) : []
  const lastError = trace.findLast((s) => s.outcome?._tag === "error" && s.fiber === 0)
  const position =
    replayedFrames.find((f) => f.position)?.position ??
    frames.find((f) => f.position)?.position ??
    (lastError ? positions.get(lastError) : undefined) ??
    (trace.length ? positions.get(trace[trace.length - 1]!) : undefined)
  return {
    seq: recorded?.seq ?? events.length,
    error,
    frames,
    framesFrom: error.stack === undefined && thrownStack !== undefined ? "page" : "history",
    position
  }
}

interface DivergenceFields {
  readonly cmd: number
  readonly reason: string
  readonly message: string
  readonly expected: Divergence["expected"]
  readonly actual: Divergence["actual"]
}

const isSide = (v: unknown): v is Divergence["expected"] =>
  typeof v === "object" && v !== null && typeof (v as { kind?: unknown }).kind === "string"

/** Divergence fields out of whatever the server recorded (a NonDeterminismError's JSON), if they are there. */
const asDivergenceFields = (value: unknown): DivergenceFields | undefined => {
  if (typeof value !== "object" || value === null) return undefined
  const d = value as Partial<Record<keyof DivergenceFields, unknown>>
  if (typeof d.cmd !== "number" || !isSide(d.expected) || !isSide(d.actual)) return undefined
  const reason = typeof d.reason === "string" ? d.reason : "the code no longer matches the history"
  return {
    cmd: d.cmd,
    expected: d.expected,
    actual: d.actual,
    reason,
    message:
      typeof d.message === "string"
        ? d.message
        : // Validation off: the sides are checked as leniently as above, the message is core's.
          new NonDeterminismError({ cmd: d.cmd, expected: d.expected, actual: d.actual, reason }, true)
            .message
  }
}

/**
 * The divergence the server found for a stuck workflow: the one the export's summary carries
 * (the server writes it with the history, so an offline file has it too), else one carried in
 * the summary's error details.
 */
const serverDivergence = (file: HistoryFile): DivergenceFields | undefined => {
  const summarised = asDivergenceFields(file.workflow.divergence)
  if (summarised) return summarised
  const error = file.workflow.error
  if (file.workflow.status !== "stuck" || !error) return undefined
  const d = (error.details ?? {}) as Partial<DivergenceFields>
  return {
    cmd: typeof d.cmd === "number" ? d.cmd : 0,
    reason: typeof d.reason === "string" ? d.reason : error.message,
    message: error.message,
    expected: d.expected && typeof d.expected.kind === "string" ? d.expected : { kind: "unknown" },
    actual: d.actual && typeof d.actual.kind === "string" ? d.actual : { kind: "unknown" }
  }
}

const divergenceOf = async (
  events: ReadonlyArray<HistoryEvent>,
  file: HistoryFile,
  full: WorkflowInstance | undefined,
  trace: ReadonlyArray<TraceStep>,
  positions: ReadonlyMap<TraceStep, SourcePosition>,
  locate: (location: string) => Promise<SourcePosition | undefined>,
  codeOfServer: SourceFile | undefined
): Promise<Divergence | undefined> => {
  const page = full?.divergence
  const fields: DivergenceFields | undefined = page
    ? {
        cmd: page.cmd,
        reason: page.reason,
        message: page.message,
        expected: page.expected,
        actual: page.actual
      }
    : serverDivergence(file)
  if (!fields) return undefined
  const expectedEvent =
    fields.expected.seq !== undefined
      ? events[fields.expected.seq - 1]
      : events.find((e) => isCommandEvent(e) && "cmd" in e && e.cmd === fields.cmd)
  const step = page ? trace.findLast((s) => s.cmd === fields.cmd) : undefined
  let position = step && positions.get(step)
  let locatedBy: Divergence["locatedBy"] = position ? "replay" : undefined
  if (!position && fields.actual.location) {
    position = await locate(fields.actual.location)
    if (position) locatedBy = "location"
  }
  if (!position && codeOfServer) {
    const found = findYieldByName(codeOfServer.text, fields.actual)
    if (found) {
      position = { path: codeOfServer.path, ...found }
      locatedBy = "name"
    }
  }
  return {
    foundBy: page ? "page" : "server",
    ...fields,
    expectedEvent,
    position,
    locatedBy,
    seq: expectedEvent?.seq ?? (page ? full!.processedSeq : events.length)
  }
}

/** The event the page opens at: a failure, a divergence, the live end, or the start. */
export const initialSeq = (session: Session): number => {
  if (session.events.length === 0) return 0
  if (session.divergence) return Math.min(session.divergence.seq, session.events.length)
  if (session.failure) return Math.min(session.failure.seq, session.events.length)
  if (session.file.workflow.status === "running") return session.events.length
  if (session.file.workflow.status === "cancelled") {
    const cancel =
      session.events.find((e) => e.type === "CancelRequested") ??
      session.events.find((e) => e.type === "WorkflowCancelled")
    if (cancel) return cancel.seq
  }
  return 1
}

/** The trace step an event belongs to: the yield it schedules or completes (or woke), if any. */
export const stepForEvent = (session: Session, seq: number): TraceStep | undefined => {
  const event = session.events[seq - 1]
  if (!event || session.trace.length === 0 || terminalTypes.has(event.type)) return undefined
  const byCmd = "cmd" in event ? session.trace.find((s) => s.cmd === event.cmd) : undefined
  if (byCmd) return byCmd
  const completed = session.trace.find((s) => s.completedSeq === seq || s.scheduledSeq === seq)
  if (completed) return completed
  // Otherwise the last yield the code reached while this event or an earlier one was applied.
  return session.trace.findLast((s) => s.atSeq <= seq && s.fiber === 0) ?? session.trace[0]
}

/** Where the source pane points at this event. */
export const positionForEvent = (session: Session, seq: number): SourcePosition | undefined => {
  const event = session.events[seq - 1]
  if (event?.type === "WorkflowFailed" && session.failure?.position) return session.failure.position
  if (session.divergence && seq === session.divergence.seq && session.divergence.position)
    return session.divergence.position
  if (event?.type === "WorkflowCompleted" && session.returnPosition) return session.returnPosition
  const step =
    stepForEvent(session, seq) ??
    (event && terminalTypes.has(event.type) ? session.trace.findLast((s) => s.fiber === 0) : undefined)
  return step ? session.positions.get(step) : undefined
}

/** The attempts that failed for the activity at `cmd`, up to and including event `seq`. */
export const attemptsAt = (session: Session, cmd: number, seq: number) =>
  session.events.filter(
    (e): e is Extract<HistoryEvent, { type: "ActivityAttemptFailed" }> =>
      e.type === "ActivityAttemptFailed" && e.cmd === cmd && e.seq <= seq
  )

export interface StateAt {
  readonly status: string
  readonly queries: ReadonlyArray<{
    readonly name: string
    readonly result: { ok: true; value: unknown } | { ok: false; error: ErrorInfo }
  }>
  readonly pendingSignals: ReadonlyArray<{
    readonly name: string
    readonly payload: unknown
    readonly seq: number
  }>
  readonly pending: ReadonlyArray<{ readonly cmd: number; readonly kind: string; readonly name?: string }>
}

const stateCache = new WeakMap<Session, Map<number, StateAt | string>>()

/**
 * The workflow's state once event `seq` is applied: each query handler registered so far
 * evaluated at that point, the signals buffered and not consumed, what it waits on. A string
 * says why there is none.
 */
export const stateAt = (session: Session, seq: number): StateAt | string => {
  if (!session.definition) return session.replayProblem ?? "no workflow definition"
  let cache = stateCache.get(session)
  if (!cache) stateCache.set(session, (cache = new Map()))
  const hit = cache.get(seq)
  if (hit !== undefined) return hit
  // The state needs no trace and no source locations (a stack capture per yield).
  const outcome = replayOf(session.definition, session.events.slice(0, seq), { trace: false })
  const state: StateAt | string =
    "problem" in outcome
      ? outcome.problem
      : {
          status: outcome.instance.status,
          queries: outcome.instance
            .queryNames()
            .map((name) => ({ name, result: outcome.instance.query(name) })),
          pendingSignals: outcome.instance.pendingSignals(),
          pending: outcome.instance.pending()
        }
  if (cache.size > 200) cache.clear()
  cache.set(seq, state)
  return state
}
