/**
 * What blocked fibers wait on: each wait a tagged value of its kind, carrying the id that kind
 * is known by in history, and the table of open waits the completions are matched against.
 */
import { Cancelled, ChildWorkflowFailure } from "../errors"
import type { Codec } from "../codec"
import type { EventOf, HistoryEvent } from "../history"
import { describeEvent, divergence, NOTHING } from "./divergence"
import type { Fiber } from "./fibers"
import { BLOCKED, type Blocked, type Resume } from "./resume"
import type { Machine } from "./machine"
import { settle, type TraceStep } from "./trace"

interface WaitOf<Tag extends string> {
  readonly _tag: Tag
  /** The cmd of the yield that blocked; 0 when it gave no command (invariant 1). */
  readonly cmd: number
  readonly fiber: Fiber
  readonly step: TraceStep | undefined
}

/** An activity's completion, at the cmd of its `ActivityScheduled`. */
export interface ActivityWait extends WaitOf<"Activity"> {
  readonly name: string
  /** Decodes the recorded result for the code. */
  readonly output: Codec<unknown>
}
/** A sleep's `TimerFired`, at the cmd of its `TimerStarted`. */
export interface TimerWait extends WaitOf<"Timer"> {}
/** The next signal of a name, or the timeout timer at the wait's cmd when `timer` is set. */
export interface SignalWait extends WaitOf<"Signal"> {
  readonly name: string
  readonly timer: boolean
  /** Decodes the recorded payload for the code. */
  readonly payload: Codec<unknown>
}
/** The outcome of the child started at `childCmd`. */
export interface ChildWait extends WaitOf<"Child"> {
  readonly childCmd: number
  readonly workflowType: string
}

export type Wait = ActivityWait | TimerWait | SignalWait | ChildWait

/** A child started by the code: what its waiters need and how it ended. */
interface Child {
  readonly workflowType: string
  readonly workflowId: string
  /** Decodes the child's recorded result for each waiter. */
  readonly output: Codec<unknown>
  /** The event that recorded its outcome, once it has one. */
  outcome: EventOf<"ChildWorkflowCompleted"> | EventOf<"ChildWorkflowFailed"> | undefined
  cancelRequested: boolean
  readonly waiters: Array<ChildWait>
}

/** What the workflow is blocked on, as `pending()` lists it. */
export interface PendingWait {
  /** The command's id (a child's: the cmd that started it); 0 for a signal wait without timeout. */
  readonly cmd: number
  readonly kind: "activity" | "timer" | "signal" | "child"
  readonly name?: string
}

export class Waits {
  /**
   * Open waits in the order they blocked, by cmd (what completions name); one that took no cmd
   * under a key below 0 of its own. One map: the hot path (an activity) costs one set, one delete.
   */
  private readonly open = new Map<number, Wait>()
  /** The keys of open waits that took no cmd. */
  private readonly keyless = new Map<Wait, number>()
  private lastKeyless = 0
  /** Signal waits in the order they began: a signal goes to the oldest wait for its name. */
  private readonly signalWaits: Array<SignalWait> = []
  private readonly children = new Map<number, Child>()

  constructor(private readonly m: Machine) {}

  /** Blocks the fiber on `wait`. */
  block(wait: Wait): Blocked {
    if (wait.cmd > 0) this.open.set(wait.cmd, wait)
    else {
      const key = --this.lastKeyless
      this.keyless.set(wait, key)
      this.open.set(key, wait)
    }
    if (wait._tag === "Signal") this.signalWaits.push(wait)
    else if (wait._tag === "Child") this.children.get(wait.childCmd)!.waiters.push(wait)
    wait.fiber.wait = wait
    return BLOCKED
  }

  /** Unblocks the wait's fiber with `resume`; `seq` is the event that completed it. */
  complete(wait: Wait, resume: Resume, seq: number): void {
    this.remove(wait)
    if (wait.step) wait.step.completedSeq = seq
    settle(wait.step, resume)
    wait.fiber.wait = undefined
    this.m.fibers.wake(wait.fiber, resume)
  }

  /**
   * The wait a completion of kind `tag` at `e.cmd` is for. A completion for a cmd no one waits
   * on is fine if that wait was cancelled or the run is over (undefined), a divergence otherwise.
   */
  take<Tag extends Wait["_tag"]>(
    e: HistoryEvent & { readonly cmd: number },
    tag: Tag
  ): Extract<Wait, { readonly _tag: Tag }> | undefined {
    const wait = this.open.get(e.cmd)
    if (!wait) {
      this.late(e)
      return undefined
    }
    if (wait._tag !== tag) {
      throw divergence(
        e.cmd,
        `a completion for a ${waitKind(tag)} arrived for a ${waitKind(wait._tag)}`,
        describeEvent(e),
        {
          kind: waitKind(wait._tag)
        }
      )
    }
    return wait as Extract<Wait, { readonly _tag: Tag }>
  }

  /** A completion that finds no wait: the step it belongs to still learns its seq. */
  late(e: HistoryEvent & { readonly cmd: number }): void {
    if (this.m.status !== "running" || e.cmd <= this.m.lastCmd) {
      const step = this.m.trace.at(e.cmd)
      if (step && step.completedSeq === undefined) step.completedSeq = e.seq
      return
    }
    throw divergence(
      e.cmd,
      "the history completes a command the code did not yield",
      describeEvent(e),
      NOTHING
    )
  }

  /** The open wait at `cmd`, if any. */
  at(cmd: number): Wait | undefined {
    return this.open.get(cmd)
  }

  /** The oldest signal wait for `name`, taken off the waits, if any. */
  takeSignalWait(name: string): SignalWait | undefined {
    const index = this.signalWaits.findIndex((wait) => wait.name === name)
    if (index < 0) return undefined
    const wait = this.signalWaits[index]!
    this.remove(wait)
    return wait
  }

  /** Withdraws a wait whose fiber is cancelled: what it waited on gets its cancel command. */
  cancel(wait: Wait): void {
    this.remove(wait)
    settle(wait.step, { ok: false, error: new Cancelled({ reason: "cancelled" }) })
    switch (wait._tag) {
      case "Activity":
        return this.m.emitCancel("ActivityCancelRequested", wait.cmd)
      case "Timer":
        return this.m.emitCancel("TimerCancelled", wait.cmd)
      case "Signal":
        if (wait.timer) this.m.emitCancel("TimerCancelled", wait.cmd)
        return
      case "Child": {
        const child = this.children.get(wait.childCmd)!
        if (!child.outcome && !child.cancelRequested) {
          child.cancelRequested = true
          this.m.emitCancel("ChildWorkflowCancelRequested", wait.childCmd)
        }
        return
      }
    }
  }

  /** Cancels every open wait, in the order they blocked. */
  cancelAll(): void {
    for (const wait of [...this.open.values()]) this.cancel(wait)
  }

  private remove(wait: Wait): void {
    if (wait.cmd > 0) this.open.delete(wait.cmd)
    else {
      this.open.delete(this.keyless.get(wait)!)
      this.keyless.delete(wait)
    }
    if (wait._tag === "Signal") {
      const index = this.signalWaits.indexOf(wait)
      if (index >= 0) this.signalWaits.splice(index, 1)
    } else if (wait._tag === "Child") {
      const waiters = this.children.get(wait.childCmd)!.waiters
      const index = waiters.indexOf(wait)
      if (index >= 0) waiters.splice(index, 1)
    }
  }

  // ---- children ------------------------------------------------------------------------

  /** Records a child the code started at `cmd`. */
  addChild(cmd: number, workflowType: string, workflowId: string, output: Codec<unknown>): void {
    this.children.set(cmd, {
      workflowType,
      workflowId,
      output,
      outcome: undefined,
      cancelRequested: false,
      waiters: []
    })
  }

  /** The child started at `cmd`, if the code started one there. */
  child(cmd: number): { readonly workflowType: string } | undefined {
    return this.children.get(cmd)
  }

  /**
   * The child's outcome for a waiter whose yield took `cmd` (0 when it took none: a result
   * that does not decode is then a divergence at the child's cmd), or undefined while it runs.
   */
  childOutcome(childCmd: number, cmd: number): Resume | undefined {
    const child = this.children.get(childCmd)!
    const outcome = child.outcome
    if (outcome === undefined) return undefined
    if (outcome.type === "ChildWorkflowFailed")
      return {
        ok: false,
        error: new ChildWorkflowFailure({
          workflowType: child.workflowType,
          workflowId: child.workflowId,
          cmd: outcome.cmd,
          cause: outcome.error
        })
      }
    // Each waiter gets its own decoded copy of the result.
    const value = this.m.decodeRecorded(
      child.output,
      outcome.result,
      cmd > 0 ? cmd : childCmd,
      outcome,
      "StartChild",
      child.workflowType
    )
    return { ok: true, value }
  }

  /** A child's outcome arrived: every waiter for it resumes. */
  childDone(e: EventOf<"ChildWorkflowCompleted"> | EventOf<"ChildWorkflowFailed">): void {
    const child = this.children.get(e.cmd)
    if (!child) return this.late(e)
    const step = this.m.trace.at(e.cmd)
    if (step) step.completedSeq = e.seq
    child.outcome = e
    for (const wait of [...child.waiters]) this.complete(wait, this.childOutcome(e.cmd, wait.cmd)!, e.seq)
  }

  /** What the workflow is blocked on, in the order it blocked. */
  pending(): Array<PendingWait> {
    return [...this.open.values()].map((wait) => {
      const kind = waitKind(wait._tag)
      switch (wait._tag) {
        case "Activity":
        case "Signal":
          return { cmd: wait.cmd, kind, name: wait.name }
        case "Child":
          return { cmd: wait.childCmd, kind, name: wait.workflowType }
        case "Timer":
          return { cmd: wait.cmd, kind }
      }
    })
  }
}

const kinds = { Activity: "activity", Timer: "timer", Signal: "signal", Child: "child" } as const
/** A wait's kind, as `pending()` and divergences name it. */
export const waitKind = (tag: Wait["_tag"]) => kinds[tag]
