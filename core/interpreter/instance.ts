/**
 * The interpreter: a pure state machine over (workflow definition, input, history).
 *
 * Invariants:
 * 1. A yield that puts a command in history takes the next command id (`cmd`), in the order
 *    the interpreter meets yields: an activity call, a sleep, a signal wait with a timeout (its
 *    timer) when no signal is buffered, `now`/`random`/`uuid`, a child's start, and `patched`
 *    where it records its marker. A yield that puts none there takes none: `onQuery`,
 *    `workflowInfo`, `all`/`allSettled`/`race` themselves, a child's `result()`, a signal wait
 *    without a timer, `continueAsNew` (the terminal event has no cmd). So adding, moving or
 *    removing one of those changes no id of a recorded command, and a running workflow of the
 *    edited code replays its history. A history whose `WorkflowStarted.flags` lacks
 *    `command-ids` was recorded when every yield took the next cmd, and replays so.
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
 *
 * The parts: machine.ts (the state and how a run ends), recorded.ts (the history read ahead by
 * cmd), yields.ts and events.ts (a handler per kind of yield and of event), fibers.ts (the
 * body and its branches), waits.ts (what blocked fibers wait on), trace.ts.
 */
import * as Either from "effect/Either"
import type { WorkflowDefinition } from "../definitions"
import type { WorkflowInfo } from "../descriptor"
import { withLogicalEnvironment } from "../determinism"
import { InvalidPayload, toErrorInfo, type ErrorInfo, type NonDeterminismError } from "../errors"
import type { Command, HistoryEvent } from "../history"
import type { RunStatus } from "../run-model"
import { Machine } from "./machine"
import { RecordedHistory } from "./recorded"
import type { TraceStep } from "./trace"
import type { PendingWait } from "./waits"

export type WorkflowStatus = RunStatus

export interface InterpreterOptions {
  /** Keep a trace step per yield (default true). The runtime turns it off. */
  readonly trace?: boolean
  /** Capture the source location of each yield (costs a stack trace per yield). */
  readonly locations?: boolean
}

/** A live workflow run: feed it events, take its commands. */
export class WorkflowInstance {
  private readonly m: Machine

  private constructor(
    definition: WorkflowDefinition<any, any>,
    history: ReadonlyArray<HistoryEvent>,
    options: InterpreterOptions
  ) {
    this.m = new Machine(definition, new RecordedHistory(history), {
      trace: options.trace ?? true,
      locations: options.locations ?? false
    })
  }

  /**
   * Rebuilds an instance from a recorded history (which starts with `WorkflowStarted`) by
   * replaying it. The result is the same as if the events had been fed live one by one; a
   * history the code no longer matches leaves it `stuck` with its `divergence`.
   *
   * @example const instance = WorkflowInstance.replay(codeReview, events, { trace: false })
   */
  static replay(
    definition: WorkflowDefinition<any, any>,
    history: ReadonlyArray<HistoryEvent>,
    options: InterpreterOptions = {}
  ): WorkflowInstance {
    const instance = new WorkflowInstance(definition, history, options)
    const m = instance.m
    // The logical globals are installed once for the whole (synchronous) replay, not per event.
    withLogicalEnvironment(m, () => {
      for (const event of history) {
        if (m.status === "stuck") break
        m.apply(event)
      }
    })
    return instance
  }

  /**
   * Starts an instance with no history yet: the runtime's live path. Feed it `WorkflowStarted` first.
   *
   * @example const instance = WorkflowInstance.create(codeReview, { trace: false })
   */
  static create(
    definition: WorkflowDefinition<any, any>,
    options: InterpreterOptions = {}
  ): WorkflowInstance {
    return new WorkflowInstance(definition, [], options)
  }

  get definition(): WorkflowDefinition<any, any> {
    return this.m.definition
  }
  get status(): WorkflowStatus {
    return this.m.status
  }
  /** The workflow's result in its stored (encoded) form: what `WorkflowCompleted` records. */
  get result(): unknown {
    return this.m.result
  }
  get error(): ErrorInfo | undefined {
    return this.m.error
  }
  get divergence(): NonDeterminismError | undefined {
    return this.m.divergence
  }
  get info(): WorkflowInfo | undefined {
    return this.m.info
  }
  get trace(): ReadonlyArray<TraceStep> {
    return this.m.trace.steps
  }
  /** Seq of the last applied event. */
  get processedSeq(): number {
    return this.m.processedSeq
  }

  /** True while the recorded history still has events to apply. */
  get isReplaying(): boolean {
    return this.m.recorded.isReplaying
  }

  /**
   * Applies the next event of the history (replay) or a new one (live), then runs workflow
   * code until it blocks (invariant 2). New commands accumulate for `takeCommands`; a
   * divergence leaves the instance `stuck` and later events are ignored.
   */
  apply(event: HistoryEvent): void {
    this.m.apply(event)
  }

  /** The commands produced since the last call, in order; empty once stuck. */
  takeCommands(): Array<Command> {
    const out = this.m.commands
    this.m.commands = []
    return out
  }

  /** Query handlers registered so far. */
  queryNames(): Array<string> {
    return [...this.m.queries.keys()]
  }

  /** Signals received and not yet consumed by a `waitForSignal`, in arrival order (payloads as recorded). */
  pendingSignals(): Array<{ readonly name: string; readonly payload: unknown; readonly seq: number }> {
    return this.m.signalBuffer.map((e) => ({ name: e.name, payload: e.payload, seq: e.seq }))
  }

  /** What the workflow is blocked on: open activities, timers, signal waits and children. */
  pending(): Array<PendingWait> {
    return this.m.waits.pending()
  }

  /**
   * Answers a query with the handler the workflow registered: `args` in their encoded form are
   * decoded for the handler, and its answer is encoded by the query's output schema into a
   * copy the caller owns. A handler that throws answers with its error, and arguments or an
   * answer that do not fit answer with an `InvalidPayload`; the workflow is left as it was.
   *
   * @example const answer = instance.query("status") // { ok: true, value: "reviewing" }
   */
  query(
    name: string,
    args?: unknown
  ): { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: ErrorInfo } {
    const registered = this.m.queries.get(name)
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
      const env = { now: this.m.now, random: this.m.random.copy() }
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
}
