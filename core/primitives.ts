/**
 * The workflow primitives: each returns a descriptor to `yield*`.
 *
 * On replay every primitive resolves from the recorded history (timers do not wait again,
 * side effects return the recorded value); live, the engine performs and records it.
 */
import type * as Duration from "effect/Duration"
import {
  makeDescriptor,
  type Branch,
  type BranchResult,
  type ChildHandle,
  type ChildResult,
  type Combine,
  type ContinueAsNew,
  type Info,
  type OnQuery,
  type Patched,
  type SideEffect,
  type Sleep,
  type StartChild,
  type WaitForSignal,
  type WorkflowInfo,
  type Yieldable
} from "./descriptor"
import { codecOf } from "./codec"
import {
  durationToMillis,
  encodeOrThrow,
  type QueryDefinition,
  type SignalDefinition,
  type WorkflowDefinition
} from "./definitions"

/**
 * Waits durably: a timer row survives restarts, and a timer that fell due while the process
 * was down fires on the next start. Cancelling the workflow cancels the timer.
 *
 * @example yield* sleep("3 days")
 */
export const sleep = (duration: Duration.DurationInput): Sleep =>
  makeDescriptor<Sleep>({ _tag: "Sleep", durationMs: durationToMillis(duration) })

/**
 * Takes the oldest unconsumed signal of this name, waiting for one if none has arrived.
 * Signals are stored on arrival, so one sent before the workflow waits is not lost. With a
 * timeout, resolves to `undefined` when the timeout fires first; `timeout: 0` polls: the
 * oldest buffered signal, or `undefined` at once (no timer, nothing recorded). The payload is
 * a decoded copy of the recorded one (the signal's schema applies), live and on replay.
 *
 * @example const approval = yield* waitForSignal(Approval, { timeout: "7 days" })
 */
export function waitForSignal<A>(signal: SignalDefinition<A>): WaitForSignal<A>
export function waitForSignal<A>(
  signal: SignalDefinition<A>,
  options: { readonly timeout: Duration.DurationInput }
): WaitForSignal<A | undefined>
export function waitForSignal<A>(
  signal: SignalDefinition<A>,
  options?: { readonly timeout?: Duration.DurationInput }
): WaitForSignal<A | undefined> {
  return makeDescriptor<WaitForSignal<A | undefined>>({
    _tag: "WaitForSignal",
    name: signal.name,
    timeoutMs: options?.timeout === undefined ? undefined : durationToMillis(options.timeout),
    payload: codecOf(signal.schema)
  })
}

/**
 * Registers the handler that answers a query from now on (a later registration replaces it).
 * Handlers must only read workflow state; one that throws answers with its error and the
 * workflow is unharmed. The handler gets decoded arguments and its answer is encoded by the
 * query's schemas: the caller gets a copy, never the workflow's own object.
 *
 * @example yield* onQuery(Status, () => stage)
 */
export const onQuery = <A, Args>(query: QueryDefinition<A, Args>, handler: (args: Args) => A): OnQuery =>
  makeDescriptor<OnQuery>({
    _tag: "OnQuery",
    name: query.name,
    handler,
    args: codecOf(query.args),
    answer: codecOf(query.output)
  })

/** The current time in epoch ms, recorded: a replay returns the same value. */
export const now = (): SideEffect<number> =>
  makeDescriptor<SideEffect<number>>({ _tag: "SideEffect", kind: "now" })

/** A random number in [0, 1), recorded: a replay returns the same value. */
export const random = (): SideEffect<number> =>
  makeDescriptor<SideEffect<number>>({ _tag: "SideEffect", kind: "random" })

/** A random v4 UUID, recorded: a replay returns the same value. */
export const uuid = (): SideEffect<string> =>
  makeDescriptor<SideEffect<string>>({ _tag: "SideEffect", kind: "uuid" })

/** The workflow's id, run id and type. */
export const workflowInfo = (): Info => makeDescriptor<Info>({ _tag: "Info" })

export interface ChildOptions {
  /** The child's workflow id; by default `<parent id>/<cmd>`, stable across replays. */
  readonly id?: string
}

const startChildDescriptor = <A>(
  definition: WorkflowDefinition<any, any>,
  input: unknown,
  options: ChildOptions,
  wait: boolean
) =>
  makeDescriptor<StartChild<A>>({
    _tag: "StartChild",
    workflowType: definition.name,
    input: encodeOrThrow(
      codecOf(definition.input),
      input,
      `input of child workflow "${definition.name}"`,
      "input"
    ),
    workflowId: options.id,
    wait,
    output: codecOf(definition.output)
  })

/**
 * Starts a child workflow and waits for its result. The child has its own history, linked to
 * the parent; its failure throws `ChildWorkflowFailure`; cancelling the parent cancels it.
 * The input is encoded by the child's input schema at the call (`InvalidPayload` is thrown
 * there when it does not fit); the result is a decoded copy of the child's recorded result.
 *
 * @example const out = yield* child(agentTask, { subtask }, { id: `task-${i}` })
 */
export const child = <I, O>(definition: WorkflowDefinition<I, O>, input: I, options: ChildOptions = {}) =>
  startChildDescriptor<O>(definition, input, options, true)

/** Starts a child workflow without waiting; `yield* handle.result()` waits later. */
export const startChild = <I, O>(
  definition: WorkflowDefinition<I, O>,
  input: I,
  options: ChildOptions = {}
) => startChildDescriptor<ChildHandle<O>>(definition, input, options, false)

/** What `startChild` resolves to. */
export const childHandle = <A>(workflowId: string, cmd: number): ChildHandle<A> => ({
  workflowId,
  cmd,
  result: () => makeDescriptor<ChildResult<A>>({ _tag: "ChildResult", childCmd: cmd, workflowId })
})

type Branches = ReadonlyArray<Branch<any>> | Readonly<Record<string, Branch<any>>>
type Results<T extends Branches> = { -readonly [K in keyof T]: BranchResult<T[K]> }
/** What a race gives: the result of whichever branch wins, over an array or an object of branches. */
type RaceResult<T extends Branches> =
  T extends ReadonlyArray<any> ? BranchResult<T[number]> : BranchResult<T[keyof T]>
export type Settled<A> =
  | { readonly status: "fulfilled"; readonly value: A }
  | { readonly status: "rejected"; readonly error: import("./errors").ErrorInfo }

const combine = <A>(mode: Combine["mode"], branches: Branches): Combine<A> => {
  const isArray = Array.isArray(branches)
  const keys = isArray ? undefined : Object.keys(branches)
  const list = isArray ? (branches as ReadonlyArray<Branch<unknown>>) : keys!.map((k) => (branches as any)[k])
  return makeDescriptor<Combine<A>>({ _tag: "Combine", mode, branches: list, keys })
}

/**
 * Runs branches concurrently and waits for all. The first failure cancels the other branches
 * (Cancelled is thrown into them, so their `finally` blocks compensate) and is rethrown once
 * those branches have finished.
 *
 * @example const { review, tests } = yield* all({ review: llm(code), tests: runTests(code) })
 */
export const all = <const T extends Branches>(branches: T): Combine<Results<T>> => combine("all", branches)

/**
 * Runs branches concurrently and waits for all; every outcome is kept, a failure loses no sibling.
 * A rejected branch's error is its stored form without the stack, the same on every replay.
 */
export const allSettled = <const T extends Branches>(
  branches: T
): Combine<{ -readonly [K in keyof T]: Settled<BranchResult<T[K]>> }> => combine("allSettled", branches)

/**
 * Runs branches concurrently; the first to settle wins (its value or error), the losers are
 * cancelled: their pending activities, timers and children get cancel commands, and the race
 * returns once their `finally` blocks have run. Over an object, it gives the winner's value.
 */
export const race = <const T extends Branches>(branches: T): Combine<RaceResult<T>> =>
  combine("race", branches)

/**
 * A versioning marker. New runs record it and take the new branch (`true`); a replay of a
 * history recorded before the change finds no marker there and takes the old one (`false`).
 *
 * @example if (yield* patched("send-receipt")) yield* sendReceipt(order)
 */
export const patched = (patchId: string): Patched => makeDescriptor<Patched>({ _tag: "Patched", patchId })

/**
 * Ends this run and starts a new one of the same workflow with `input` and an empty history.
 * The input is encoded by the workflow's input schema at the yield; one that does not fit
 * throws `InvalidPayload` there.
 */
export const continueAsNew = <I>(input: I): ContinueAsNew =>
  makeDescriptor<ContinueAsNew>({ _tag: "ContinueAsNew", input })

export type { WorkflowInfo, Yieldable }
