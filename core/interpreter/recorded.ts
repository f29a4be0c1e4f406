/**
 * The recorded history an instance replays, read ahead of the code by cmd: what the yield at a
 * cmd must match (interpreter invariant 3) and whether a new command is legal yet (invariant 4).
 */
import type { Descriptor } from "../descriptor"
import type { DivergenceSide } from "../errors"
import {
  kindOf,
  type CancelType,
  type EventOf,
  type HistoryEvent,
  type SchedulingType,
  type TerminalType
} from "../history"
import { describeEvent, describeYield, divergence, NOTHING } from "./divergence"
import type { TraceStep } from "./trace"

/** The name a scheduling event is matched by: a yield of the same kind must carry it. */
const scheduledName = (e: EventOf<SchedulingType>): string => {
  switch (e.type) {
    case "ActivityScheduled":
      return e.name
    case "TimerStarted":
      return e.purpose
    case "SideEffectRecorded":
      return e.kind
    case "MarkerRecorded":
      return e.patchId
    case "ChildWorkflowStarted":
      return e.workflowType
  }
}

export class RecordedHistory {
  /** Scheduling events by cmd (an array: cmds are small, dense integers, and this is the hot lookup). */
  private readonly scheduled: Array<EventOf<SchedulingType> | undefined>
  private readonly cancels = new Set<string>()
  readonly terminal: EventOf<TerminalType> | undefined
  /** The highest cmd the history schedules at. */
  readonly maxCmd: number
  private readonly length: number
  /** Index of the last event from outside: the code may give no new command before it is applied. */
  private readonly lastIncomingIndex: number
  private applied = 0

  constructor(history: ReadonlyArray<HistoryEvent>) {
    this.length = history.length
    // Sized once, a slot per event (a cmd past that grows it): growing a large array copies it.
    this.scheduled = new Array<EventOf<SchedulingType> | undefined>(history.length + 1).fill(undefined)
    let maxCmd = 0
    let lastIncomingIndex = -1
    let terminal: EventOf<TerminalType> | undefined
    for (let index = 0; index < history.length; index++) {
      const event = history[index]!
      const kind = kindOf(event)
      if (kind.by === "outside") lastIncomingIndex = index
      else if (kind.role === "schedule") {
        const scheduled = event as EventOf<SchedulingType>
        this.scheduled[scheduled.cmd] = scheduled
        if (scheduled.cmd > maxCmd) maxCmd = scheduled.cmd
      } else if (kind.role === "cancel") {
        const cancel = event as EventOf<CancelType>
        this.cancels.add(cancelKey(cancel.type, cancel.cmd))
      } else terminal = event as EventOf<TerminalType>
    }
    this.maxCmd = maxCmd
    this.lastIncomingIndex = lastIncomingIndex
    this.terminal = terminal
  }

  /** Counts one more event applied. */
  advance(): void {
    this.applied++
  }

  /** True while the history still has events to apply. */
  get isReplaying(): boolean {
    return this.applied < this.length
  }

  /** The scheduling event recorded at `cmd`, if any. */
  at(cmd: number): EventOf<SchedulingType> | undefined {
    return this.scheduled[cmd]
  }

  hasCancel(type: CancelType, cmd: number): boolean {
    return this.cancels.has(cancelKey(type, cmd))
  }

  /**
   * Invariant 3: the event recorded at `cmd`, which must be a `type` matched by `name`;
   * undefined when nothing is recorded there (the command is new). `d` and `step` describe
   * the yield for the error.
   */
  expect<T extends SchedulingType>(
    cmd: number,
    type: T,
    name: string,
    d: Descriptor,
    step: TraceStep | undefined
  ): EventOf<T> | undefined {
    const recorded = this.scheduled[cmd]
    if (recorded === undefined || (recorded.type === type && scheduledName(recorded) === name))
      return recorded as EventOf<T> | undefined
    throw differentCommand(cmd, recorded, d, step)
  }

  /** Invariant 3, for a yield that records nothing at its `cmd`: the history must have nothing there. */
  expectNothing(cmd: number, d: Descriptor, step: TraceStep | undefined): void {
    const recorded = this.scheduled[cmd]
    if (recorded !== undefined) throw differentCommand(cmd, recorded, d, step)
  }

  /**
   * Invariant 4: why a new command at `cmd` is not legal yet, or undefined when it is: only past
   * the end of the recorded history, which holds no later cmd, no unapplied event from outside
   * and no end of the run.
   */
  refusesNew(cmd: number): { readonly reason: string; readonly expected: DivergenceSide } | undefined {
    if (this.lastIncomingIndex >= this.applied || cmd <= this.maxCmd)
      return { reason: "the code yields a command where the history had none", expected: NOTHING }
    if (this.terminal)
      return {
        reason: "the code yields a command where the history ended the workflow",
        expected: describeEvent(this.terminal)
      }
    return undefined
  }
}

const differentCommand = (cmd: number, recorded: HistoryEvent, d: Descriptor, step: TraceStep | undefined) =>
  divergence(
    cmd,
    "the code yields a different command than the history recorded",
    describeEvent(recorded),
    describeYield(d, step)
  )

const cancelKey = (type: CancelType, cmd: number) => `${type}:${cmd}`
