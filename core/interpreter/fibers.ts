/**
 * Fibers: the workflow body and each branch of `all`/`allSettled`/`race`, a generator the
 * interpreter steps. Branches start in their given order and ready fibers run in FIFO order
 * (invariant 1); a group hands its outcome to the code that yielded it only once every branch
 * it started has finished, and a cancelled fiber gets `Cancelled` once (invariant 7).
 */
import type { Combine } from "../descriptor"
import { isDescriptor, yieldTrace } from "../descriptor"
import { Cancelled, NonDeterminismError, toErrorInfo } from "../errors"
import type { SourceLocation } from "../source-location"
import type { Machine } from "./machine"
import { BLOCKED, type Blocked, type Resume } from "./resume"
import { onYield } from "./yields"
import { describeValue } from "./divergence"
import { resolved, settle, type TraceStep } from "./trace"
import type { Wait } from "./waits"

/** The branches of one `all`/`allSettled`/`race`, and the fiber waiting for them. */
export interface Group {
  readonly _tag: "Group"
  readonly mode: Combine["mode"]
  readonly keys: ReadonlyArray<string> | undefined
  readonly waiter: Fiber
  readonly children: Array<Fiber>
  readonly results: Array<unknown>
  remaining: number
  /** Branches started and not finished; the waiter resumes when none is left (invariant 7). */
  running: number
  settled: Resume | undefined
  readonly step: TraceStep | undefined
}

export interface Fiber {
  readonly id: number
  readonly gen: Iterator<unknown, unknown, unknown>
  readonly group: Group | undefined
  readonly index: number
  done: boolean
  /** Cancelled already: a fiber gets `Cancelled` once, so its compensations are not cancelled in turn. */
  cancelled: boolean
  /** A branch given as a bare descriptor has no frame of its own: its yield is where the group was. */
  readonly location: SourceLocation | undefined
  /** What the fiber is blocked on; undefined while it runs or is ready. */
  wait: Wait | Group | undefined
}

export class Scheduler {
  private readonly ready: Array<{ readonly fiber: Fiber; resume: Resume }> = []
  private nextId = 0

  constructor(
    private readonly m: Machine,
    private readonly locations: boolean
  ) {}

  spawn(
    gen: Iterator<unknown, unknown, unknown>,
    group: Group | undefined,
    index: number,
    location?: SourceLocation
  ): Fiber {
    return { id: this.nextId++, gen, group, index, done: false, cancelled: false, wait: undefined, location }
  }

  /** Queues the fiber to resume with `resume` (invariant 2: it runs at the next drain). */
  wake(fiber: Fiber, resume: Resume): void {
    this.ready.push({ fiber, resume })
  }

  /** Drops every queued resumption: the run is over. */
  clear(): void {
    this.ready.length = 0
  }

  /** Runs ready fibers, in the order they became ready, until every fiber is blocked. */
  drain(): void {
    while (this.ready.length > 0 && this.m.status === "running") {
      const { fiber, resume } = this.ready.shift()!
      if (!fiber.done) this.step(fiber, resume)
    }
  }

  /** Runs one fiber from `first` to its next block, or to its end. */
  private step(fiber: Fiber, first: Resume): void {
    let input: Resume = first
    for (;;) {
      let result: IteratorResult<unknown, unknown>
      if (this.locations) yieldTrace.enabled = true
      try {
        result = input.ok ? fiber.gen.next(input.value) : fiber.gen.throw!(input.error)
      } catch (error) {
        if (error instanceof NonDeterminismError) throw error
        this.done(fiber, { ok: false, error })
        return
      } finally {
        yieldTrace.enabled = false
      }
      if (result.done) {
        this.done(fiber, { ok: true, value: result.value })
        return
      }
      const stack = yieldTrace.stack
      yieldTrace.stack = undefined
      const next = onYield(this.m, fiber, result.value, stack)
      if (next === BLOCKED || this.m.status !== "running") return
      input = next
    }
  }

  /** Starts the branches of a `Combine` yielded by `fiber` (invariants 1 and 7). */
  startGroup(fiber: Fiber, d: Combine, step: TraceStep | undefined): Resume | Blocked {
    if (d.branches.length === 0) {
      if (d.mode === "race") return { ok: false, error: new TypeError("race needs at least one branch") }
      return resolved(step, d.keys ? {} : [])
    }
    const group: Group = {
      _tag: "Group",
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
      const child = this.spawn(
        branchIterator(branch),
        group,
        i,
        isDescriptor(branch) ? step?.location : undefined
      )
      group.children.push(child)
      group.running++
      this.step(child, { ok: true, value: undefined })
      if (this.m.status !== "running") return BLOCKED
    }
    if (group.settled && group.running === 0) return group.settled
    fiber.wait = group
    return BLOCKED
  }

  private done(fiber: Fiber, outcome: Resume): void {
    fiber.done = true
    fiber.wait = undefined
    const group = fiber.group
    if (!group)
      return this.m.finish(
        outcome.ok ? { _tag: "Returned", value: outcome.value } : { _tag: "Threw", error: outcome.error }
      )
    group.running--
    if (!group.settled) this.collect(group, fiber, outcome)
    this.resumeWaiter(group)
  }

  private collect(group: Group, fiber: Fiber, outcome: Resume): void {
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

  private settleGroup(group: Group, outcome: Resume): void {
    group.settled = outcome
    for (const sibling of group.children) this.cancel(sibling, "a sibling branch settled first")
    settle(group.step, outcome)
  }

  /** Invariant 7: a settled group hands its outcome to the waiter once no branch is running. */
  private resumeWaiter(group: Group): void {
    if (!group.settled || group.running > 0) return
    const waiter = group.waiter
    if (waiter.wait === group) {
      waiter.wait = undefined
      this.wake(waiter, group.settled)
    }
  }

  /** Throws `Cancelled` into the fiber at its current yield, cancelling what it waits on first. */
  cancel(fiber: Fiber, reason: string): void {
    if (fiber.done || fiber.cancelled) return
    fiber.cancelled = true
    const wait = fiber.wait
    const resume: Resume = { ok: false, error: new Cancelled({ reason }) }
    if (!wait) {
      const queued = this.ready.find((r) => r.fiber === fiber)
      if (queued) queued.resume = resume
      return
    }
    if (wait._tag !== "Group") {
      fiber.wait = undefined
      this.m.waits.cancel(wait)
      this.wake(fiber, resume)
      return
    }
    // Waiting on a group: its branches are cancelled, and the fiber gets Cancelled once they are done.
    wait.settled = resume
    settle(wait.step, resume)
    for (const child of wait.children) this.cancel(child, reason)
    this.resumeWaiter(wait)
  }
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

const assemble = (group: Group): unknown => {
  if (!group.keys) return group.results
  const out: Record<string, unknown> = {}
  group.keys.forEach((key, i) => (out[key] = group.results[i]))
  return out
}
