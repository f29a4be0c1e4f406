/**
 * The interpreter: a pure state machine over (workflow definition, input, history).
 *
 * Invariants:
 * 1. Every yield gets the next command id (`cmd`) in the order the interpreter meets yields.
 *    Branches of `all`/`allSettled`/`race` start in their given order, and every event wakes
 *    at most the fibers it completes, run to their next block in a fixed FIFO order; so the
 *    ids are the same on every replay of the same history.
 * 2. Events are applied one at a time in history order; after each, workflow code runs until
 *    every fiber is blocked again, and only then is the next event applied.
 * 3. A yield whose cmd has a recorded scheduling event must match it (same kind, same name);
 *    otherwise the instance is `stuck` with a `NonDeterminismError` carrying both sides.
 * 4. A yield that would produce a new command is legal only past the end of the recorded
 *    history: when the history holds no later cmd and no unapplied event from outside. A
 *    recorded command event that the code never produced is a divergence too.
 * 5. Workflow code sees logical time (the `at` of the event being applied) and a generator
 *    seeded from the run; `now`, `random` and `uuid` are recorded and replayed from history.
 * 6. Nothing here performs I/O: new commands are returned for the runtime to persist, in the
 *    order they were produced, with every cancel command before the terminal one.
 * 7. Branches are structured: the code that yielded `all`/`allSettled`/`race` resumes only when
 *    every branch it started has finished. Branches cancelled because a sibling settled (or the
 *    waiter itself was cancelled) get `Cancelled` once and run their `finally` blocks first.
 * 8. Values cross the boundary of workflow code through codecs (codec.ts), the same way live
 *    and on replay: what the code receives (its input, results, payloads, query arguments) is
 *    decoded from the recorded form into a fresh copy, and what it gives (its result, a
 *    continue-as-new input, query answers) is encoded into an owned copy. A recorded value the
 *    code's schema cannot decode leaves the instance `stuck`, as a divergence does.
 */
import * as Either from "effect/Either"
import { codecOf, type Codec } from "./codec"
import {
  describeDescriptor,
  isDescriptor,
  yieldTrace,
  type ChildResult,
  type Combine,
  type Descriptor,
  type StartChild,
  type WaitForSignal,
  type WorkflowInfo
} from "./descriptor"
import type { WorkflowDefinition } from "./definitions"
import {
  enterLogicalEnvironment,
  leaveLogicalEnvironment,
  SeededRandom,
  withLogicalEnvironment
} from "./determinism"
import {
  ActivityFailure,
  Cancelled,
  ChildWorkflowFailure,
  InvalidPayload,
  NonDeterminismError,
  cancelledError,
  toErrorInfo,
  type DivergenceSide,
  type ErrorInfo
} from "./errors"
import type { Command, EventOf, EventType, HistoryEvent } from "./history"
import { childHandle } from "./primitives"
import type { RunStatus } from "./run-model"
import { parseLocation, type SourceLocation } from "./source-location"

export type WorkflowStatus = RunStatus

export type Outcome =
  { readonly _tag: "value"; readonly value: unknown } | { readonly _tag: "error"; readonly error: ErrorInfo }

/** One yield of the workflow, as the debugger and `replay` show it. */
export interface TraceStep {
  readonly cmd: number
  /** Which fiber yielded: 0 is the workflow body, others are branches of all/race. */
  readonly fiber: number
  readonly descriptor: Record<string, unknown>
  /** The seq of the event that was applied when the code reached this yield. */
  readonly atSeq: number
  location?: SourceLocation
  scheduledSeq?: number
  completedSeq?: number
  outcome?: Outcome
  attempts?: Array<{ readonly seq: number; readonly attempt: number; readonly error: ErrorInfo }>
}

export interface InterpreterOptions {
  /** Keep a trace step per yield (default true). The runtime turns it off. */
  readonly trace?: boolean
  /** Capture the source location of each yield (costs a stack trace per yield). */
  readonly locations?: boolean
}

type Resume = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: unknown }

interface Group {
  readonly mode: Combine["mode"]
  readonly keys: ReadonlyArray<string> | undefined
  readonly waiter: Fiber
  readonly children: Array<Fiber>
  readonly results: Array<unknown>
  remaining: number
  /** Branches started and not finished; the waiter resumes when none is left (invariant 7). */
  running: number
  settled: Resume | undefined
  step: TraceStep | undefined
}

interface Fiber {
  readonly id: number
  readonly gen: Iterator<unknown, unknown, unknown>
  readonly group: Group | undefined
  readonly index: number
  done: boolean
  /** Cancelled already: a fiber gets `Cancelled` once, so its compensations are not cancelled in turn. */
  cancelled: boolean
  /** A branch given as a bare descriptor has no frame of its own: its yield is where the group was. */
  readonly location: SourceLocation | undefined
  /** What the fiber is blocked on (an op or a group); undefined while it runs or is ready. */
  wait: Op | Group | undefined
}

type OpKind = "activity" | "timer" | "signal" | "child"
interface Op {
  readonly cmd: number
  readonly kind: OpKind
  readonly fiber: Fiber
  readonly step: TraceStep | undefined
  /** The activity's name, the signal's name, or the child's workflow type. */
  readonly name?: string
  /** For signal waits: whether a timeout timer runs. */
  readonly timer?: boolean
  /** For child waits: the cmd that started the child. */
  readonly childCmd?: number
  /** For activity and signal waits: decodes what completes it. */
  readonly codec?: Codec<unknown>
}

interface ChildState {
  readonly workflowType: string
  readonly workflowId: string
  /** Decodes the child's recorded result for each waiter. */
  readonly output: Codec<unknown>
  /** Its outcome, with the result in its recorded form. */
  outcome: Resume | undefined
  /** The event that recorded the outcome. */
  outcomeEvent: HistoryEvent | undefined
  cancelRequested: boolean
}

/** What a registered query handler answers with, and how its arguments and answer cross. */
interface QueryHandler {
  readonly handler: (args: any) => unknown
  readonly args: Codec<unknown>
  readonly answer: Codec<unknown>
}

const BLOCKED: unique symbol = Symbol("blocked")
const CONTINUE_AS_NEW: unique symbol = Symbol("continueAsNew")

/** A live workflow run: feed it events, take its commands. */
export class WorkflowInstance {
  status: WorkflowStatus = "running"
  /** The workflow's result in its stored (encoded) form: what `WorkflowCompleted` records. */
  result: unknown = undefined
  error: ErrorInfo | undefined = undefined
  divergence: NonDeterminismError | undefined = undefined
  info: WorkflowInfo | undefined = undefined
  readonly trace: Array<TraceStep> = []
  /** Seq of the last applied event. */
  processedSeq = 0

  private readonly tracing: boolean
  private readonly locations: boolean
  private commands: Array<Command> = []
  private root: Fiber | undefined
  private nextFiberId = 0
  /**
   * The last cmd taken. Every cmd up to it was produced by the code: a yield takes its cmd and
   * then either matches the history or leaves the instance stuck.
   */
  private lastCmd = 0
  private readonly ops = new Map<number, Op>()
  private readonly children = new Map<number, ChildState>()
  private readonly childWaiters = new Map<number, Array<Op>>()
  /** Signals received and not yet consumed, in arrival order. */
  private readonly signalBuffer: Array<EventOf<"SignalReceived">> = []
  private readonly signalWaiters: Array<Op> = []
  private readonly queries = new Map<string, QueryHandler>()
  private readonly ready: Array<{ fiber: Fiber; resume: Resume }> = []
  /** Trace steps by cmd, when tracing. */
  private readonly stepsByCmd: Array<TraceStep | undefined> = []
  /** Cancel commands the code produced, as `type:cmd`. */
  private readonly producedCancels = new Set<string>()
  private terminal: Command | undefined
  private cancelRequested: string | undefined
  /** @internal The logical clock and generator workflow code sees (see determinism.ts). */
  now = 0
  /** @internal */
  random = new SeededRandom("")
  private applying = false

  // The recorded history this instance replays: looked ahead into by cmd (invariant 3/4).
  /** Scheduling events by cmd (an array: cmds are small, dense integers, and this is the hot lookup). */
  private recorded: Array<HistoryEvent | undefined> = []
  private readonly recordedCancels = new Set<string>()
  private recordedTerminal: HistoryEvent | undefined
  private maxRecordedCmd = 0
  private recordedLength = 0
  private lastIncomingIndex = -1
  private applied = 0

  private constructor(
    readonly definition: WorkflowDefinition<any, any>,
    options: InterpreterOptions
  ) {
    this.tracing = options.trace ?? true
    this.locations = options.locations ?? false
  }

  /**
   * Rebuilds an instance from a recorded history (which starts with `WorkflowStarted`) by
   * replaying it. The result is the same as if the events had been fed live one by one.
   */
  static replay(
    definition: WorkflowDefinition<any, any>,
    history: ReadonlyArray<HistoryEvent>,
    options: InterpreterOptions = {}
  ): WorkflowInstance {
    const instance = new WorkflowInstance(definition, options)
    instance.record(history)
    // The logical globals are installed once for the whole (synchronous) replay, not per event.
    withLogicalEnvironment(instance, () => {
      for (const event of history) {
        if (instance.status === "stuck") break
        instance.apply(event)
      }
    })
    return instance
  }

  /** Starts an instance with no history yet: the runtime's live path. Feed it `WorkflowStarted` first. */
  static create(
    definition: WorkflowDefinition<any, any>,
    options: InterpreterOptions = {}
  ): WorkflowInstance {
    return new WorkflowInstance(definition, options)
  }

  private record(history: ReadonlyArray<HistoryEvent>) {
    this.recordedLength = history.length
    // Sized once, a slot per event (a cmd past that grows it): growing a large array copies it.
    this.recorded = new Array<HistoryEvent | undefined>(history.length + 1).fill(undefined)
    for (let index = 0; index < history.length; index++) {
      const event = history[index]!
      switch (event.type) {
        case "ActivityScheduled":
        case "TimerStarted":
        case "SideEffectRecorded":
        case "MarkerRecorded":
        case "ChildWorkflowStarted":
          this.recorded[event.cmd] = event
          if (event.cmd > this.maxRecordedCmd) this.maxRecordedCmd = event.cmd
          break
        case "ActivityCancelRequested":
        case "TimerCancelled":
        case "ChildWorkflowCancelRequested":
          this.recordedCancels.add(`${event.type}:${event.cmd}`)
          break
        case "WorkflowCompleted":
        case "WorkflowFailed":
        case "WorkflowCancelled":
        case "WorkflowContinuedAsNew":
          this.recordedTerminal = event
          break
        default:
          // From outside: a start, a completion, a signal or a cancel request.
          this.lastIncomingIndex = index
      }
    }
  }

  /** True while the recorded history still has events to apply. */
  get isReplaying(): boolean {
    return this.applied < this.recordedLength
  }

  /** The commands produced since the last call, in order; empty once stuck. */
  takeCommands(): Array<Command> {
    const out = this.commands
    this.commands = []
    return out
  }

  /** Query handlers registered so far. */
  queryNames(): Array<string> {
    return [...this.queries.keys()]
  }

  /** Signals received and not yet consumed by a `waitForSignal`, in arrival order (payloads as recorded). */
  pendingSignals(): Array<{ readonly name: string; readonly payload: unknown; readonly seq: number }> {
    return this.signalBuffer.map((e) => ({ name: e.name, payload: e.payload, seq: e.seq }))
  }

  /** What the workflow is blocked on: open activities, timers, signal waits and children, by cmd. */
  pending(): Array<{ readonly cmd: number; readonly kind: OpKind; readonly name?: string }> {
    return [...this.ops.values()].map((op) => ({
      cmd: op.cmd,
      kind: op.kind,
      ...(op.name === undefined ? {} : { name: op.name })
    }))
  }

  /**
   * Answers a query with the handler the workflow registered: `args` in their encoded form are
   * decoded for the handler, and its answer is encoded by the query's output schema into a
   * copy the caller owns. A handler that throws answers with its error, and arguments or an
   * answer that do not fit answer with an `InvalidPayload`; the workflow is left as it was.
   */
  query(
    name: string,
    args?: unknown
  ): { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: ErrorInfo } {
    const registered = this.queries.get(name)
    if (!registered) {
      const known = this.queryNames()
      return {
        ok: false,
        error: {
          name: "QueryNotFound",
          message: `query "${name}" has no handler registered${known.length ? `; registered: ${known.join(", ")}` : ""}`
        }
      }
    }
    const decoded = registered.args.decode(args)
    if (Either.isLeft(decoded))
      return {
        ok: false,
        error: toErrorInfo(InvalidPayload.of(`arguments of query "${name}"`, "args", decoded.left))
      }
    let value: unknown
    try {
      // A copy of the generator: a handler's Math.random() must not shift what the workflow draws next.
      const env = { now: this.now, random: this.random.copy() }
      value = withLogicalEnvironment(env, () => registered.handler(decoded.right))
    } catch (error) {
      return { ok: false, error: toErrorInfo(error) }
    }
    const answer = registered.answer.encode(value)
    if (Either.isLeft(answer))
      return {
        ok: false,
        error: toErrorInfo(InvalidPayload.of(`answer of query "${name}"`, "answer", answer.left))
      }
    return { ok: true, value: answer.right }
  }

  /**
   * Applies the next event of the history (replay) or a new one (live), then runs workflow
   * code until it blocks. New commands accumulate for `takeCommands`.
   */
  apply(event: HistoryEvent): void {
    if (this.status === "stuck" || this.applying) return
    this.applying = true
    this.applied++
    this.processedSeq = event.seq
    this.now = event.at
    const outer = enterLogicalEnvironment(this)
    try {
      ;(handlers[event.type] as (this: WorkflowInstance, e: HistoryEvent) => void).call(this, event)
      this.drain()
    } catch (error) {
      if (!(error instanceof NonDeterminismError)) throw error
      this.diverge(error)
    } finally {
      leaveLogicalEnvironment(outer)
      this.applying = false
    }
  }

  // ---- events -------------------------------------------------------------------------

  /** @internal */ onStarted(e: EventOf<"WorkflowStarted">) {
    if (this.root)
      throw this.divergeAt(0, "WorkflowStarted applied twice", describeEvent(e), { kind: "nothing" })
    this.info = { workflowId: e.workflowId, runId: e.runId, workflowType: e.workflowType }
    this.random = new SeededRandom(e.randomSeed)
    const input = this.decodeRecorded(
      codecOf(this.definition.input),
      e.input,
      0,
      e,
      { kind: "Workflow", name: this.definition.name },
      () => `input of workflow "${this.definition.name}"`,
      "input"
    )
    let gen: Iterator<unknown, unknown, unknown>
    try {
      gen = this.definition.body(input)
    } catch (error) {
      this.finish({ ok: false, error })
      return
    }
    this.root = this.newFiber(gen, undefined, 0)
    this.ready.push({ fiber: this.root, resume: { ok: true, value: undefined } })
  }

  /** @internal */ onCommandEvent(e: HistoryEvent & { readonly cmd: number }) {
    const step = this.stepsByCmd[e.cmd]
    if (step) step.scheduledSeq = e.seq
    if (e.cmd > this.lastCmd) {
      throw this.divergeAt(e.cmd, "the history has a command the code did not yield", describeEvent(e), {
        kind: "nothing"
      })
    }
  }

  /** @internal */ onCancelEvent(e: HistoryEvent & { readonly cmd: number }) {
    if (!this.producedCancels.has(`${e.type}:${e.cmd}`)) {
      throw this.divergeAt(e.cmd, "the history cancels a command the code did not cancel", describeEvent(e), {
        kind: "nothing"
      })
    }
  }

  /** @internal */ onTerminalEvent(e: HistoryEvent) {
    if (this.terminal?.type !== e.type) {
      throw this.divergeAt(
        this.lastCmd + 1,
        "the history ends the workflow where the code does not",
        describeEvent(e),
        {
          kind: this.terminal ? this.terminal.type : "nothing"
        }
      )
    }
  }

  /** @internal */ onAttemptFailed(e: EventOf<"ActivityAttemptFailed">) {
    const step = this.stepsByCmd[e.cmd]
    if (step) (step.attempts ??= []).push({ seq: e.seq, attempt: e.attempt, error: e.error })
  }

  /** @internal */ onActivityOutcome(e: EventOf<"ActivityCompleted"> | EventOf<"ActivityFailed">) {
    const op = this.takeOp(e, "activity")
    if (!op) return
    const resume: Resume =
      e.type === "ActivityCompleted"
        ? {
            ok: true,
            value: this.decodeRecorded(
              op.codec!,
              e.result,
              e.cmd,
              e,
              { kind: "Activity", name: op.name! },
              () => `result of activity "${op.name}"`,
              "result"
            )
          }
        : {
            ok: false,
            error: new ActivityFailure({
              activity: op.name!,
              cmd: e.cmd,
              cause: e.error
            })
          }
    this.complete(op, resume, e.seq)
  }

  /** @internal */ onTimerFired(e: EventOf<"TimerFired">) {
    const op = this.ops.get(e.cmd)
    if (!op) return this.checkLateCompletion(e)
    if (op.kind === "signal") {
      this.signalWaiters.splice(this.signalWaiters.indexOf(op), 1)
    } else if (op.kind !== "timer") {
      throw this.divergeAt(e.cmd, "a timer fired for a command that is not a timer", describeEvent(e), {
        kind: op.kind
      })
    }
    this.ops.delete(e.cmd)
    this.complete(op, { ok: true, value: undefined }, e.seq)
  }

  /** @internal */ onSignal(e: EventOf<"SignalReceived">) {
    const index = this.signalWaiters.findIndex((op) => op.name === e.name)
    if (index < 0) {
      this.signalBuffer.push(e)
      return
    }
    const [op] = this.signalWaiters.splice(index, 1)
    this.ops.delete(op!.cmd)
    if (op!.timer) this.emitCancel("TimerCancelled", op!.cmd)
    this.complete(op!, { ok: true, value: this.decodeSignal(op!.codec!, op!.cmd, e) }, e.seq)
  }

  /** @internal */ onChildOutcome(e: EventOf<"ChildWorkflowCompleted"> | EventOf<"ChildWorkflowFailed">) {
    const child = this.children.get(e.cmd)
    if (!child) return this.checkLateCompletion(e)
    const step = this.stepsByCmd[e.cmd]
    if (step) step.completedSeq = e.seq
    child.outcomeEvent = e
    child.outcome =
      e.type === "ChildWorkflowCompleted"
        ? { ok: true, value: e.result }
        : {
            ok: false,
            error: new ChildWorkflowFailure({
              workflowType: child.workflowType,
              workflowId: child.workflowId,
              cmd: e.cmd,
              cause: e.error
            })
          }
    const waiters = this.childWaiters.get(e.cmd) ?? []
    this.childWaiters.delete(e.cmd)
    for (const op of waiters) {
      this.ops.delete(op.cmd)
      this.complete(op, this.childOutcome(child, op.cmd), e.seq)
    }
  }

  /** A child's outcome for the waiter at `cmd`: each gets its own decoded copy of the result. */
  private childOutcome(child: ChildState, cmd: number): Resume {
    const outcome = child.outcome!
    if (!outcome.ok) return outcome
    const value = this.decodeRecorded(
      child.output,
      outcome.value,
      cmd,
      child.outcomeEvent!,
      { kind: "StartChild", name: child.workflowType },
      () => `result of child workflow "${child.workflowType}"`,
      "result"
    )
    return { ok: true, value }
  }

  private decodeSignal(codec: Codec<unknown>, cmd: number, e: EventOf<"SignalReceived">): unknown {
    return this.decodeRecorded(
      codec,
      e.payload,
      cmd,
      e,
      { kind: "WaitForSignal", name: e.name },
      () => `payload of signal "${e.name}"`,
      "payload"
    )
  }

  /**
   * Invariant 8: a fresh decoded copy of a recorded value for workflow code. A value the
   * code's schema refuses is a history this code cannot run: a divergence at `cmd`.
   */
  private decodeRecorded(
    codec: Codec<unknown>,
    stored: unknown,
    cmd: number,
    event: HistoryEvent,
    actual: DivergenceSide,
    what: () => string,
    root: string
  ): unknown {
    const decoded = codec.decode(stored)
    if (Either.isRight(decoded)) return decoded.right
    const error = InvalidPayload.of(what(), root, decoded.left)
    throw this.divergeAt(
      cmd,
      `the recorded ${root} does not decode: ${error.message}`,
      describeEvent(event),
      actual
    )
  }

  /** @internal */ onCancelRequested(e: EventOf<"CancelRequested">) {
    if (this.cancelRequested !== undefined || !this.root || this.root.done) return
    this.cancelRequested = e.reason
    this.cancelFiber(this.root, e.reason)
  }

  // ---- fibers -------------------------------------------------------------------------

  private newFiber(
    gen: Iterator<unknown, unknown, unknown>,
    group: Group | undefined,
    index: number,
    location?: SourceLocation
  ): Fiber {
    return {
      id: this.nextFiberId++,
      gen,
      group,
      index,
      done: false,
      cancelled: false,
      wait: undefined,
      location
    }
  }

  private drain() {
    while (this.ready.length > 0 && this.status === "running") {
      const { fiber, resume } = this.ready.shift()!
      if (!fiber.done) this.step(fiber, resume)
    }
  }

  private step(fiber: Fiber, first: Resume) {
    let input: Resume = first
    for (;;) {
      let result: IteratorResult<unknown, unknown>
      if (this.locations) yieldTrace.enabled = true
      try {
        result = input.ok ? fiber.gen.next(input.value) : fiber.gen.throw!(input.error)
      } catch (error) {
        if (error instanceof NonDeterminismError) throw error
        this.fiberDone(fiber, { ok: false, error })
        return
      } finally {
        yieldTrace.enabled = false
      }
      if (result.done) {
        this.fiberDone(fiber, { ok: true, value: result.value })
        return
      }
      const stack = yieldTrace.stack
      yieldTrace.stack = undefined
      const next = this.onYield(fiber, result.value, stack)
      if (next === BLOCKED || this.status !== "running") return
      input = next
    }
  }

  private onYield(fiber: Fiber, value: unknown, stack: string | undefined): Resume | typeof BLOCKED {
    if (!isDescriptor(value)) {
      return {
        ok: false,
        error: new TypeError(
          `workflow code yielded ${describeValue(value)}; use yield* with a descriptor (an activity call, sleep, waitForSignal, …)`
        )
      }
    }
    const d = value
    if (d._tag === "Patched") return this.onPatched(fiber, d.patchId, stack)
    const cmd = ++this.lastCmd
    const step = this.traceStep(cmd, fiber, d, stack)
    switch (d._tag) {
      case "Activity":
        if (!this.expect(cmd, d, "ActivityScheduled", d.name))
          this.emitNew(cmd, d, {
            type: "ActivityScheduled",
            cmd,
            name: d.name,
            input: d.input,
            options: d.options
          })
        return this.block(fiber, { cmd, kind: "activity", fiber, step, name: d.name, codec: d.output })
      case "Sleep":
        if (!this.expect(cmd, d, "TimerStarted", "sleep"))
          this.emitNew(cmd, d, {
            type: "TimerStarted",
            cmd,
            durationMs: d.durationMs,
            fireAt: this.now + d.durationMs,
            purpose: "sleep"
          })
        return this.block(fiber, { cmd, kind: "timer", fiber, step })
      case "WaitForSignal":
        return this.onWaitForSignal(fiber, cmd, d, step)
      case "OnQuery":
        this.expect(cmd, d, undefined)
        this.queries.set(d.name, { handler: d.handler, args: d.args, answer: d.answer })
        return this.resolved(step, undefined)
      case "SideEffect": {
        const recorded = this.expect(cmd, d, "SideEffectRecorded", d.kind)
        // The generator advances on replay too, so Math.random() after this agrees.
        const fresh =
          d.kind === "now" ? this.now : d.kind === "random" ? this.random.next() : this.random.uuid()
        const value = recorded ? recorded.value : fresh
        if (!recorded) this.emitNew(cmd, d, { type: "SideEffectRecorded", cmd, kind: d.kind, value })
        return this.resolved(step, value)
      }
      case "Info":
        this.expect(cmd, d, undefined)
        return this.resolved(step, { ...this.info! })
      case "StartChild":
        return this.onStartChild(fiber, cmd, d, step)
      case "ChildResult":
        return this.onChildResult(fiber, cmd, d, step)
      case "Combine":
        return this.onCombine(fiber, cmd, d, step)
      case "ContinueAsNew": {
        this.expect(cmd, d, undefined)
        const input = codecOf(this.definition.input).encode(d.input)
        if (Either.isLeft(input)) {
          const what = `continue-as-new input of workflow "${this.definition.name}"`
          return { ok: false, error: InvalidPayload.of(what, "input", input.left) }
        }
        this.finish({ ok: false, error: { [CONTINUE_AS_NEW]: true, input: input.right } })
        return BLOCKED
      }
    }
  }

  private onPatched(fiber: Fiber, patchId: string, stack: string | undefined): Resume {
    const cmd = this.lastCmd + 1
    const recorded = this.recorded[cmd]
    const hasMarker = recorded?.type === "MarkerRecorded" && recorded.patchId === patchId
    // Old histories took the old branch: no marker there, and the cmd stays free for what follows.
    if (!hasMarker && (recorded !== undefined || this.isReplaying || cmd <= this.maxRecordedCmd)) {
      return { ok: true, value: false }
    }
    this.lastCmd = cmd
    const d = { _tag: "Patched", patchId } as Descriptor
    const step = this.traceStep(cmd, fiber, d, stack)
    if (!hasMarker) this.emitNew(cmd, d, { type: "MarkerRecorded", cmd, patchId })
    return this.resolved(step, true)
  }

  private onWaitForSignal(
    fiber: Fiber,
    cmd: number,
    d: WaitForSignal,
    step: TraceStep | undefined
  ): Resume | typeof BLOCKED {
    const index = this.signalBuffer.findIndex((s) => s.name === d.name)
    if (index >= 0) {
      this.expect(cmd, d, undefined)
      const [signal] = this.signalBuffer.splice(index, 1)
      if (step) step.completedSeq = signal!.seq
      return this.resolved(step, this.decodeSignal(d.payload, cmd, signal!))
    }
    if (d.timeoutMs === 0) {
      // A poll: nothing buffered means nothing arrived, at once and with no timer.
      this.expect(cmd, d, undefined)
      return this.resolved(step, undefined)
    }
    const timer = d.timeoutMs !== undefined
    if (timer) {
      if (!this.expect(cmd, d, "TimerStarted", "signal-timeout"))
        this.emitNew(cmd, d, {
          type: "TimerStarted",
          cmd,
          durationMs: d.timeoutMs!,
          fireAt: this.now + d.timeoutMs!,
          purpose: "signal-timeout"
        })
    } else {
      this.expect(cmd, d, undefined)
    }
    const op: Op = { cmd, kind: "signal", fiber, step, name: d.name, timer, codec: d.payload }
    this.signalWaiters.push(op)
    return this.block(fiber, op)
  }

  private onStartChild(
    fiber: Fiber,
    cmd: number,
    d: StartChild,
    step: TraceStep | undefined
  ): Resume | typeof BLOCKED {
    const recorded = this.expect(cmd, d, "ChildWorkflowStarted", d.workflowType)
    const workflowId = d.workflowId ?? `${this.info!.workflowId}/${cmd}`
    if (!recorded)
      this.emitNew(cmd, d, {
        type: "ChildWorkflowStarted",
        cmd,
        workflowType: d.workflowType,
        workflowId,
        input: d.input
      })
    this.children.set(cmd, {
      workflowType: d.workflowType,
      workflowId,
      output: d.output,
      outcome: undefined,
      outcomeEvent: undefined,
      cancelRequested: false
    })
    if (!d.wait) return this.resolved(step, childHandle(workflowId, cmd))
    return this.waitChild(fiber, cmd, cmd, step)
  }

  private onChildResult(
    fiber: Fiber,
    cmd: number,
    d: ChildResult,
    step: TraceStep | undefined
  ): Resume | typeof BLOCKED {
    this.expect(cmd, d, undefined)
    const child = this.children.get(d.childCmd)
    if (!child)
      return {
        ok: false,
        error: new TypeError(`no child workflow was started at cmd ${d.childCmd}`)
      } as const
    if (child.outcome) return this.settleStep(step, this.childOutcome(child, cmd))
    return this.waitChild(fiber, cmd, d.childCmd, step)
  }

  private waitChild(
    fiber: Fiber,
    cmd: number,
    childCmd: number,
    step: TraceStep | undefined
  ): Resume | typeof BLOCKED {
    const op: Op = {
      cmd,
      kind: "child",
      fiber,
      step,
      childCmd,
      name: this.children.get(childCmd)!.workflowType
    }
    const waiters = this.childWaiters.get(childCmd)
    if (waiters) waiters.push(op)
    else this.childWaiters.set(childCmd, [op])
    return this.block(fiber, op)
  }

  private onCombine(
    fiber: Fiber,
    cmd: number,
    d: Combine,
    step: TraceStep | undefined
  ): Resume | typeof BLOCKED {
    this.expect(cmd, d, undefined)
    if (d.branches.length === 0) {
      if (d.mode === "race") return { ok: false, error: new TypeError("race needs at least one branch") }
      return this.resolved(step, d.keys ? {} : [])
    }
    const group: Group = {
      mode: d.mode,
      keys: d.keys,
      waiter: fiber,
      children: [],
      results: new Array(d.branches.length),
      remaining: d.branches.length,
      running: 0,
      settled: undefined,
      step
    }
    for (let i = 0; i < d.branches.length && !group.settled; i++) {
      const branch = d.branches[i]!
      const child = this.newFiber(
        branchIterator(branch),
        group,
        i,
        isDescriptor(branch) ? step?.location : undefined
      )
      group.children.push(child)
      group.running++
      this.step(child, { ok: true, value: undefined })
      if (this.status !== "running") return BLOCKED
    }
    if (group.settled && group.running === 0) return group.settled
    fiber.wait = group
    return BLOCKED
  }

  private fiberDone(fiber: Fiber, outcome: Resume) {
    fiber.done = true
    fiber.wait = undefined
    const group = fiber.group
    if (!group) return this.finish(outcome)
    group.running--
    if (!group.settled) this.collect(group, fiber, outcome)
    this.resumeWaiter(group)
  }

  private collect(group: Group, fiber: Fiber, outcome: Resume) {
    switch (group.mode) {
      case "all":
        if (!outcome.ok) return this.settleGroup(group, outcome)
        group.results[fiber.index] = outcome.value
        if (--group.remaining === 0) this.settleGroup(group, { ok: true, value: assemble(group) })
        return
      case "allSettled": {
        // Without the stack: it names this run's frames, and the value must be the same on every replay.
        const { stack: _stack, ...error } = outcome.ok ? { stack: undefined } : toErrorInfo(outcome.error)
        group.results[fiber.index] = outcome.ok
          ? { status: "fulfilled", value: outcome.value }
          : { status: "rejected", error }
        if (--group.remaining === 0) this.settleGroup(group, { ok: true, value: assemble(group) })
        return
      }
      case "race":
        return this.settleGroup(group, outcome)
    }
  }

  private settleGroup(group: Group, outcome: Resume) {
    group.settled = outcome
    for (const sibling of group.children) this.cancelFiber(sibling, "a sibling branch settled first")
    this.settleStep(group.step, outcome)
  }

  /** Invariant 7: a settled group hands its outcome to the waiter once no branch is running. */
  private resumeWaiter(group: Group) {
    if (!group.settled || group.running > 0) return
    const waiter = group.waiter
    if (waiter.wait === group) {
      waiter.wait = undefined
      this.ready.push({ fiber: waiter, resume: group.settled })
    }
  }

  /** Throws `Cancelled` into the fiber at its current yield, cancelling what it waits on first. */
  private cancelFiber(fiber: Fiber, reason: string) {
    if (fiber.done || fiber.cancelled) return
    fiber.cancelled = true
    const wait = fiber.wait
    const resume: Resume = { ok: false, error: new Cancelled({ reason }) }
    if (!wait) {
      const queued = this.ready.find((r) => r.fiber === fiber)
      if (queued) queued.resume = resume
      return
    }
    if (isOp(wait)) {
      fiber.wait = undefined
      this.cancelOp(wait)
      this.ready.push({ fiber, resume })
      return
    }
    // Waiting on a group: its branches are cancelled, and the fiber gets Cancelled once they are done.
    const group = wait
    group.settled = resume
    this.settleStep(group.step, resume)
    for (const child of group.children) this.cancelFiber(child, reason)
    this.resumeWaiter(group)
  }

  private cancelOp(op: Op) {
    this.ops.delete(op.cmd)
    this.settleStep(op.step, { ok: false, error: new Cancelled({ reason: "cancelled" }) })
    switch (op.kind) {
      case "activity":
        return this.emitCancel("ActivityCancelRequested", op.cmd)
      case "timer":
        return this.emitCancel("TimerCancelled", op.cmd)
      case "signal":
        this.signalWaiters.splice(this.signalWaiters.indexOf(op), 1)
        if (op.timer) this.emitCancel("TimerCancelled", op.cmd)
        return
      case "child": {
        const waiters = this.childWaiters.get(op.childCmd!)
        if (waiters) waiters.splice(waiters.indexOf(op), 1)
        const child = this.children.get(op.childCmd!)
        if (child && !child.outcome && !child.cancelRequested) {
          child.cancelRequested = true
          this.emitCancel("ChildWorkflowCancelRequested", op.childCmd!)
        }
        return
      }
    }
  }

  private finish(returned: Resume) {
    if (this.status !== "running") return
    const outcome = returned.ok ? this.encodeResult(returned.value) : returned
    for (const op of [...this.ops.values()]) this.cancelOp(op)
    this.ready.length = 0
    let terminal: Command
    if (outcome.ok) {
      terminal = { type: "WorkflowCompleted", result: outcome.value }
      this.result = outcome.value
      this.status = "completed"
    } else if (isContinueAsNew(outcome.error)) {
      terminal = { type: "WorkflowContinuedAsNew", input: outcome.error.input }
      this.status = "continued-as-new"
    } else if (outcome.error instanceof Cancelled) {
      terminal = { type: "WorkflowCancelled", reason: this.cancelRequested ?? outcome.error.reason }
      this.error = cancelledError(terminal.reason)
      this.status = "cancelled"
    } else {
      terminal = { type: "WorkflowFailed", error: toErrorInfo(outcome.error) }
      this.error = terminal.error
      this.status = "failed"
    }
    this.terminal = terminal
    if (this.recordedTerminal) {
      if (this.recordedTerminal.type !== terminal.type) {
        throw this.divergeAt(
          this.lastCmd,
          "the code ends the workflow differently from the history",
          describeEvent(this.recordedTerminal),
          {
            kind: terminal.type
          }
        )
      }
      return
    }
    this.checkNew(this.lastCmd + 1, () => ({ kind: terminal.type }))
    this.commands.push(terminal)
  }

  /** Invariant 8: the workflow's result in its stored form, or the run fails where it cannot be stored. */
  private encodeResult(value: unknown): Resume {
    const encoded = codecOf(this.definition.output).encode(value)
    if (Either.isRight(encoded)) return { ok: true, value: encoded.right }
    return {
      ok: false,
      error: InvalidPayload.of(`result of workflow "${this.definition.name}"`, "result", encoded.left)
    }
  }

  // ---- matching and producing ------------------------------------------------------------

  /** Invariant 3: the recorded event at `cmd`, if any, must be what the code yields now. */
  private expect(cmd: number, d: Descriptor, type: EventType | undefined, name?: string): any {
    const recorded = this.recorded[cmd]
    if (recorded === undefined) return undefined
    const matches =
      recorded.type === type &&
      (name === undefined ||
        (recorded.type === "ActivityScheduled" && recorded.name === name) ||
        (recorded.type === "ChildWorkflowStarted" && recorded.workflowType === name) ||
        (recorded.type === "SideEffectRecorded" && recorded.kind === name) ||
        (recorded.type === "TimerStarted" && recorded.purpose === name))
    if (!matches) {
      throw this.divergeAt(
        cmd,
        "the code yields a different command than the history recorded",
        describeEvent(recorded),
        describeYield(d, this.stepsByCmd[cmd])
      )
    }
    return recorded
  }

  /** A command the history does not have: legal only past its end (invariant 4). */
  private emitNew(cmd: number, d: Descriptor, command: Command) {
    this.checkNew(cmd, () => describeYield(d, this.stepsByCmd[cmd]))
    this.commands.push(command)
  }

  /**
   * Invariant 4: a new command is legal only past the end of the recorded history. `actual`
   * describes the yield for the error only: every live command passes here.
   */
  private checkNew(cmd: number, actual: () => DivergenceSide) {
    if (this.lastIncomingIndex >= this.applied || cmd <= this.maxRecordedCmd) {
      throw this.divergeAt(
        cmd,
        "the code yields a command where the history had none",
        { kind: "nothing" },
        actual()
      )
    }
    if (this.recordedTerminal) {
      throw this.divergeAt(
        cmd,
        "the code yields a command where the history ended the workflow",
        describeEvent(this.recordedTerminal),
        actual()
      )
    }
  }

  private emitCancel(
    type: "ActivityCancelRequested" | "TimerCancelled" | "ChildWorkflowCancelRequested",
    cmd: number
  ) {
    const key = `${type}:${cmd}`
    this.producedCancels.add(key)
    if (this.recordedCancels.has(key)) return
    this.commands.push({ type, cmd })
  }

  private takeOp(e: HistoryEvent & { readonly cmd: number }, kind: OpKind): Op | undefined {
    const op = this.ops.get(e.cmd)
    if (!op) {
      this.checkLateCompletion(e)
      return undefined
    }
    if (op.kind !== kind) {
      throw this.divergeAt(e.cmd, `a completion for a ${kind} arrived for a ${op.kind}`, describeEvent(e), {
        kind: op.kind
      })
    }
    this.ops.delete(e.cmd)
    return op
  }

  /** A completion for a cmd no one waits on: fine if it was cancelled or the run is over, a divergence otherwise. */
  private checkLateCompletion(e: HistoryEvent & { readonly cmd: number }) {
    if (this.status !== "running" || e.cmd <= this.lastCmd) {
      const step = this.stepsByCmd[e.cmd]
      if (step && step.completedSeq === undefined) step.completedSeq = e.seq
      return
    }
    throw this.divergeAt(e.cmd, "the history completes a command the code did not yield", describeEvent(e), {
      kind: "nothing"
    })
  }

  private block(fiber: Fiber, op: Op): typeof BLOCKED {
    this.ops.set(op.cmd, op)
    fiber.wait = op
    return BLOCKED
  }

  private complete(op: Op, resume: Resume, seq: number) {
    if (op.step) op.step.completedSeq = seq
    this.settleStep(op.step, resume)
    op.fiber.wait = undefined
    this.ready.push({ fiber: op.fiber, resume })
  }

  // ---- trace --------------------------------------------------------------------------

  private traceStep(
    cmd: number,
    fiber: Fiber,
    d: Descriptor,
    stack: string | undefined
  ): TraceStep | undefined {
    if (!this.tracing) return undefined
    const step: TraceStep = {
      cmd,
      fiber: fiber.id,
      descriptor: describeDescriptor(d),
      atSeq: this.processedSeq
    }
    if (fiber.location) step.location = fiber.location
    else if (stack) {
      const location = parseLocation(stack)
      if (location) step.location = location
    }
    this.trace.push(step)
    this.stepsByCmd[cmd] = step
    return step
  }

  private resolved(step: TraceStep | undefined, value: unknown): Resume {
    const resume: Resume = { ok: true, value }
    this.settleStep(step, resume)
    return resume
  }

  private settleStep(step: TraceStep | undefined, resume: Resume): Resume {
    if (step && step.outcome === undefined) {
      step.outcome = resume.ok
        ? { _tag: "value", value: resume.value }
        : { _tag: "error", error: toErrorInfo(resume.error) }
    }
    return resume
  }

  // ---- divergence ---------------------------------------------------------------------

  private divergeAt(cmd: number, reason: string, expected: DivergenceSide, actual: DivergenceSide) {
    return new NonDeterminismError({ cmd, expected, actual, reason })
  }

  private diverge(error: NonDeterminismError) {
    this.divergence = error
    this.status = "stuck"
    this.commands = []
    this.ready.length = 0
  }
}

/** The exhaustive table of event handlers: a new event type does not compile until it has one. */
const handlers: { readonly [T in EventType]: (this: WorkflowInstance, event: EventOf<T>) => void } = {
  WorkflowStarted: WorkflowInstance.prototype.onStarted,
  ActivityScheduled: WorkflowInstance.prototype.onCommandEvent,
  ActivityAttemptFailed: WorkflowInstance.prototype.onAttemptFailed,
  ActivityCompleted: WorkflowInstance.prototype.onActivityOutcome,
  ActivityFailed: WorkflowInstance.prototype.onActivityOutcome,
  ActivityCancelRequested: WorkflowInstance.prototype.onCancelEvent,
  TimerStarted: WorkflowInstance.prototype.onCommandEvent,
  TimerFired: WorkflowInstance.prototype.onTimerFired,
  TimerCancelled: WorkflowInstance.prototype.onCancelEvent,
  SignalReceived: WorkflowInstance.prototype.onSignal,
  SideEffectRecorded: WorkflowInstance.prototype.onCommandEvent,
  MarkerRecorded: WorkflowInstance.prototype.onCommandEvent,
  ChildWorkflowStarted: WorkflowInstance.prototype.onCommandEvent,
  ChildWorkflowCompleted: WorkflowInstance.prototype.onChildOutcome,
  ChildWorkflowFailed: WorkflowInstance.prototype.onChildOutcome,
  ChildWorkflowCancelRequested: WorkflowInstance.prototype.onCancelEvent,
  CancelRequested: WorkflowInstance.prototype.onCancelRequested,
  WorkflowCompleted: WorkflowInstance.prototype.onTerminalEvent,
  WorkflowFailed: WorkflowInstance.prototype.onTerminalEvent,
  WorkflowCancelled: WorkflowInstance.prototype.onTerminalEvent,
  WorkflowContinuedAsNew: WorkflowInstance.prototype.onTerminalEvent
}

/** The branch as an iterator; a branch that is none fails (the workflow can catch it), not the interpreter. */
const branchIterator = (branch: unknown): Iterator<unknown, unknown, unknown> => {
  try {
    const iterator =
      typeof branch === "function"
        ? branch()
        : branch !== null && typeof branch === "object" && Symbol.iterator in branch
          ? (branch as Iterable<unknown>)[Symbol.iterator]()
          : undefined
    if (typeof iterator?.next === "function") return iterator
    throw new TypeError(
      `a branch must be a descriptor, a generator or a generator function; got ${describeValue(branch)}`
    )
  } catch (error) {
    const fail = (): never => {
      throw error
    }
    return { next: fail, throw: fail }
  }
}

const isOp = (wait: Op | Group): wait is Op => "kind" in wait

const assemble = (group: Group): unknown => {
  if (!group.keys) return group.results
  const out: Record<string, unknown> = {}
  group.keys.forEach((key, i) => (out[key] = group.results[i]))
  return out
}

const isContinueAsNew = (error: unknown): error is { readonly input: unknown } =>
  typeof error === "object" && error !== null && CONTINUE_AS_NEW in error

const describeEvent = (e: HistoryEvent): DivergenceSide => {
  const name =
    e.type === "ActivityScheduled"
      ? e.name
      : e.type === "ChildWorkflowStarted"
        ? e.workflowType
        : e.type === "SideEffectRecorded"
          ? e.kind
          : e.type === "MarkerRecorded"
            ? e.patchId
            : e.type === "SignalReceived"
              ? e.name
              : undefined
  return { kind: e.type, seq: e.seq, ...(name === undefined ? {} : { name }) }
}

const describeYield = (d: Descriptor, step: TraceStep | undefined): DivergenceSide => {
  const name =
    d._tag === "Activity" || d._tag === "WaitForSignal" || d._tag === "OnQuery"
      ? d.name
      : d._tag === "StartChild"
        ? d.workflowType
        : d._tag === "SideEffect"
          ? d.kind
          : d._tag === "Patched"
            ? d.patchId
            : undefined
  const location = step?.location
  return {
    kind: d._tag,
    ...(name === undefined ? {} : { name }),
    ...(location ? { location: `${location.file}:${location.line}:${location.column}` } : {})
  }
}

const describeValue = (value: unknown): string => {
  if (value === null) return "null"
  if (typeof value === "object") return `an object (${Object.prototype.toString.call(value)})`
  return `a ${typeof value}`
}

export interface ReplayResult {
  readonly status: WorkflowStatus
  /** In its stored (encoded) form, as the history records it. */
  readonly result: unknown
  readonly error: ErrorInfo | undefined
  readonly divergence: NonDeterminismError | undefined
  readonly commands: ReadonlyArray<Command>
  readonly trace: ReadonlyArray<TraceStep>
  readonly instance: WorkflowInstance
}

/**
 * Replays a history against a workflow definition: what the code does with it, the
 * commands it would give next, and the first divergence if the code no longer matches.
 */
export const replay = (
  definition: WorkflowDefinition<any, any>,
  history: ReadonlyArray<HistoryEvent>,
  options: InterpreterOptions = {}
): ReplayResult => {
  const instance = WorkflowInstance.replay(definition, history, options)
  return {
    status: instance.status,
    result: instance.result,
    error: instance.error,
    divergence: instance.divergence,
    commands: instance.takeCommands(),
    trace: instance.trace,
    instance
  }
}
