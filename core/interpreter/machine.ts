/**
 * The interpreter's state, shared by the modules of this folder: the run's status and outcome,
 * the commands produced, and the parts (recorded history, fibers, waits, trace) that the
 * handlers of yields (yields.ts) and of events (events.ts) work on. Internal: `WorkflowInstance`
 * is its public face. The invariants are stated in instance.ts.
 */
import * as Either from "effect/Either"
import { codecOf, type Codec } from "../codec"
import type { WorkflowDefinition } from "../definitions"
import type { Descriptor, WorkflowInfo } from "../descriptor"
import { enterLogicalEnvironment, leaveLogicalEnvironment, SeededRandom } from "../determinism"
import {
  Cancelled,
  cancelledError,
  InvalidPayload,
  NonDeterminismError,
  toErrorInfo,
  type ErrorInfo
} from "../errors"
import type { CancelType, Command, EventOf, EventType, HistoryEvent } from "../history"
import type { RunStatus } from "../run-model"
import { describeEvent, describeYield, divergence } from "./divergence"
import { eventHandlers } from "./events"
import { Scheduler, type Fiber } from "./fibers"
import type { RecordedHistory } from "./recorded"
import { Trace, type TraceStep } from "./trace"
import { Waits } from "./waits"

/** How the workflow code ended: the body returned or threw, or it continued as new. */
export type Ending =
  | { readonly _tag: "Returned"; readonly value: unknown }
  | { readonly _tag: "Threw"; readonly error: unknown }
  | { readonly _tag: "ContinuedAsNew"; readonly input: unknown }

/** What a registered query handler answers with, and how its arguments and answer cross. */
export interface QueryHandler {
  readonly handler: (args: any) => unknown
  readonly args: Codec<unknown>
  readonly answer: Codec<unknown>
}

export class Machine {
  status: RunStatus = "running"
  /** The workflow's result in its stored (encoded) form: what `WorkflowCompleted` records. */
  result: unknown = undefined
  error: ErrorInfo | undefined = undefined
  divergence: NonDeterminismError | undefined = undefined
  info: WorkflowInfo | undefined = undefined
  /** Seq of the last applied event. */
  processedSeq = 0
  /** The logical clock and generator workflow code sees (invariant 5, determinism.ts). */
  now = 0
  random = new SeededRandom("")
  /** New commands since the last `takeCommands`. */
  commands: Array<Command> = []
  /**
   * The last cmd taken. Every cmd up to it was produced by the code: a yield takes its cmd and
   * then either matches the history or leaves the instance stuck.
   */
  lastCmd = 0
  /**
   * Whether only yields that give a command take a cmd (invariant 1): set from the run's
   * `WorkflowStarted.flags`; a history recorded without the flag numbered every yield.
   */
  commandIds = false
  root: Fiber | undefined = undefined
  /** The reason of the run's cancel request, once one was applied. */
  cancelRequested: string | undefined = undefined
  /** The terminal command the code gave, once it ended. */
  terminal: Command | undefined = undefined
  readonly queries = new Map<string, QueryHandler>()
  /** Signals received and not yet consumed, in arrival order. */
  readonly signalBuffer: Array<EventOf<"SignalReceived">> = []
  /** Cancel commands the code produced, as `type:cmd`. */
  readonly producedCancels = new Set<string>()
  readonly trace: Trace
  readonly fibers: Scheduler
  readonly waits = new Waits(this)
  private applying = false

  constructor(
    readonly definition: WorkflowDefinition<any, any>,
    readonly recorded: RecordedHistory,
    options: { readonly trace: boolean; readonly locations: boolean }
  ) {
    this.trace = new Trace(options.trace)
    this.fibers = new Scheduler(this, options.locations)
  }

  /** Invariant 2: applies one event, then runs workflow code until every fiber is blocked. */
  apply(event: HistoryEvent): void {
    if (this.status === "stuck" || this.applying) return
    this.applying = true
    this.recorded.advance()
    this.processedSeq = event.seq
    this.now = event.at
    const outer = enterLogicalEnvironment(this)
    try {
      ;(eventHandlers[event.type] as (m: Machine, e: HistoryEvent) => void)(this, event)
      this.fibers.drain()
    } catch (error) {
      if (!(error instanceof NonDeterminismError)) throw error
      this.diverge(error)
    } finally {
      leaveLogicalEnvironment(outer)
      this.applying = false
    }
  }

  /** A command the history does not have: legal only past its end (invariant 4). */
  emitNew(command: Command & { readonly cmd: number }, d: Descriptor, step: TraceStep | undefined): void {
    const refused = this.recorded.refusesNew(command.cmd)
    if (refused) throw divergence(command.cmd, refused.reason, refused.expected, describeYield(d, step))
    this.commands.push(command)
  }

  /** A cancel command, produced unless the history recorded it already. */
  emitCancel(type: CancelType, cmd: number): void {
    this.producedCancels.add(`${type}:${cmd}`)
    if (this.recorded.hasCancel(type, cmd)) return
    this.commands.push({ type, cmd })
  }

  /**
   * Invariant 8: a fresh decoded copy of a recorded value for workflow code: the workflow's
   * input, an activity's or a child's result, a signal's payload (`received`), for the yield
   * named `name`. A value the code's schema refuses is a history this code cannot run: a
   * divergence at `cmd`.
   */
  decodeRecorded(
    codec: Codec<unknown>,
    stored: unknown,
    cmd: number,
    event: HistoryEvent,
    received: keyof typeof receivedValues,
    name: string
  ): unknown {
    const decoded = codec.decode(stored)
    if (Either.isRight(decoded)) return decoded.right
    const { what, root } = receivedValues[received]
    const error = InvalidPayload.of(`${what} "${name}"`, root, decoded.left)
    throw divergence(cmd, `the recorded ${root} does not decode: ${error.message}`, describeEvent(event), {
      kind: received,
      name
    })
  }

  /** The workflow code ended: every open wait is cancelled and the terminal command given (invariant 6). */
  finish(ending: Ending): void {
    if (this.status !== "running") return
    const encoded = ending._tag === "Returned" ? this.encodeResult(ending.value) : ending
    this.waits.cancelAll()
    this.fibers.clear()
    let terminal: Command
    switch (encoded._tag) {
      case "Returned":
        terminal = { type: "WorkflowCompleted", result: encoded.value }
        this.result = encoded.value
        this.status = "completed"
        break
      case "ContinuedAsNew":
        terminal = { type: "WorkflowContinuedAsNew", input: encoded.input }
        this.status = "continued-as-new"
        break
      case "Threw":
        if (encoded.error instanceof Cancelled) {
          terminal = { type: "WorkflowCancelled", reason: this.cancelRequested ?? encoded.error.reason }
          this.error = cancelledError(terminal.reason)
          this.status = "cancelled"
        } else {
          terminal = { type: "WorkflowFailed", error: toErrorInfo(encoded.error) }
          this.error = terminal.error
          this.status = "failed"
        }
    }
    this.terminal = terminal
    const recorded = this.recorded.terminal
    if (recorded) {
      if (recorded.type !== terminal.type)
        throw divergence(
          this.lastCmd,
          "the code ends the workflow differently from the history",
          describeEvent(recorded),
          { kind: terminal.type }
        )
      return
    }
    const refused = this.recorded.refusesNew(this.lastCmd + 1)
    if (refused) throw divergence(this.lastCmd + 1, refused.reason, refused.expected, { kind: terminal.type })
    this.commands.push(terminal)
  }

  /** Invariant 8: the workflow's result in its stored form, or the run fails where it cannot be stored. */
  private encodeResult(value: unknown): Ending {
    const encoded = codecOf(this.definition.output).encode(value)
    if (Either.isRight(encoded)) return { _tag: "Returned", value: encoded.right }
    return {
      _tag: "Threw",
      error: InvalidPayload.of(`result of workflow "${this.definition.name}"`, "result", encoded.left)
    }
  }

  private diverge(error: NonDeterminismError): void {
    this.divergence = error
    this.status = "stuck"
    this.commands = []
    this.fibers.clear()
  }
}

/** The values workflow code receives from history, by the kind of yield (or start) that receives them. */
const receivedValues = {
  Workflow: { what: "input of workflow", root: "input" },
  Activity: { what: "result of activity", root: "result" },
  StartChild: { what: "result of child workflow", root: "result" },
  WaitForSignal: { what: "payload of signal", root: "payload" }
} as const

export type EventHandlers = { readonly [T in EventType]: (m: Machine, event: EventOf<T>) => void }
