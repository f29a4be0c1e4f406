/**
 * Effect descriptors: what workflow code yields.
 *
 * A descriptor is plain data tagged with `_tag` saying what the workflow asks for. It is
 * also iterable, so `yield* descriptor` hands it to the interpreter and evaluates to the
 * typed result the interpreter resumes the generator with (the technique of Effect.gen).
 * Workflow code never performs the effect itself.
 */
import type { Codec } from "./codec"
import type { ActivityOptions } from "./history"

/** Something `yield*` can run inside a workflow, evaluating to `A`. */
export interface Yieldable<A> {
  [Symbol.iterator](): Generator<Descriptor, A, any>
}

/** A branch of `all`/`allSettled`/`race`: a descriptor, a generator object, or a generator function. */
export type Branch<A> = Yieldable<A> | (() => Generator<Descriptor, A, any>)
export type BranchResult<B> = B extends () => Generator<any, infer A, any>
  ? A
  : B extends { [Symbol.iterator](): Iterator<any, infer A, any> }
    ? A
    : never

export interface ActivityCall<A = unknown> extends Yieldable<A> {
  readonly _tag: "Activity"
  readonly name: string
  /** The stored form: encoded by the activity's input schema at the call. */
  readonly input: unknown
  readonly options: ActivityOptions
  /** Decodes the recorded result for the workflow. */
  readonly output: Codec<any>
}
export interface Sleep extends Yieldable<void> {
  readonly _tag: "Sleep"
  readonly durationMs: number
}
export interface WaitForSignal<A = unknown> extends Yieldable<A> {
  readonly _tag: "WaitForSignal"
  readonly name: string
  readonly timeoutMs: number | undefined
  /** Decodes the recorded payload for the workflow. */
  readonly payload: Codec<any>
}
export interface OnQuery extends Yieldable<void> {
  readonly _tag: "OnQuery"
  readonly name: string
  readonly handler: (args: any) => unknown
  /** Decodes the caller's arguments for the handler. */
  readonly args: Codec<any>
  /** Encodes the handler's answer for the caller. */
  readonly answer: Codec<any>
}
export interface SideEffect<A = unknown> extends Yieldable<A> {
  readonly _tag: "SideEffect"
  readonly kind: "now" | "random" | "uuid"
}
export interface Info extends Yieldable<WorkflowInfo> {
  readonly _tag: "Info"
}
export interface StartChild<A = unknown> extends Yieldable<A> {
  readonly _tag: "StartChild"
  readonly workflowType: string
  /** The stored form: encoded by the child's input schema at the call. */
  readonly input: unknown
  readonly workflowId: string | undefined
  /** `child` waits for the result; `startChild` resolves at once to a handle. */
  readonly wait: boolean
  /** Decodes the child's recorded result for the workflow. */
  readonly output: Codec<any>
}
export interface ChildResult<A = unknown> extends Yieldable<A> {
  readonly _tag: "ChildResult"
  readonly childCmd: number
  readonly workflowId: string
}
export interface Combine<A = unknown> extends Yieldable<A> {
  readonly _tag: "Combine"
  readonly mode: "all" | "allSettled" | "race"
  readonly branches: ReadonlyArray<Branch<unknown>>
  /** Set when the branches were given as an object: the result is an object with these keys. */
  readonly keys: ReadonlyArray<string> | undefined
}
export interface Patched extends Yieldable<boolean> {
  readonly _tag: "Patched"
  readonly patchId: string
}
export interface ContinueAsNew extends Yieldable<never> {
  readonly _tag: "ContinueAsNew"
  readonly input: unknown
}

export type Descriptor =
  | ActivityCall
  | Sleep
  | WaitForSignal
  | OnQuery
  | SideEffect
  | Info
  | StartChild
  | ChildResult
  | Combine
  | Patched
  | ContinueAsNew

/** Who the running workflow is; stable across replays. */
export interface WorkflowInfo {
  readonly workflowId: string
  readonly runId: string
  readonly workflowType: string
}

/** Handle of a child started with `startChild`; `yield* handle.result()` waits for it. */
export interface ChildHandle<A> {
  readonly workflowId: string
  readonly cmd: number
  result(): Yieldable<A>
}

/**
 * Where the interpreter reads the source location of the yield being taken. Set only while
 * the interpreter steps workflow code with tracing on; never kept between steps.
 */
export const yieldTrace: { enabled: boolean; stack: string | undefined } = {
  enabled: false,
  stack: undefined
}

class SingleYield<A> implements Generator<Descriptor, A, any> {
  private yielded = false
  constructor(private readonly descriptor: Descriptor) {}
  next(value?: any): IteratorResult<Descriptor, A> {
    if (this.yielded) return { done: true, value }
    this.yielded = true
    if (yieldTrace.enabled) yieldTrace.stack = new Error().stack
    return { done: false, value: this.descriptor }
  }
  return(value: A): IteratorResult<Descriptor, A> {
    return { done: true, value }
  }
  throw(error: unknown): IteratorResult<Descriptor, A> {
    throw error
  }
  [Symbol.iterator]() {
    return this
  }
  [Symbol.dispose]() {}
}

const DescriptorProto = {
  [Symbol.iterator](this: Descriptor) {
    return new SingleYield(this)
  },
  toJSON(this: Record<string, unknown>) {
    return describeDescriptor(this as unknown as Descriptor)
  }
}

/** Builds a descriptor: the data, with the iterator on its prototype so it stays plain to JSON. */
export const makeDescriptor = <D extends Descriptor>(data: Omit<D, typeof Symbol.iterator>): D =>
  Object.assign(Object.create(DescriptorProto), data)

export const isDescriptor = (value: unknown): value is Descriptor =>
  typeof value === "object" && value !== null && Object.getPrototypeOf(value) === DescriptorProto

/** The serialisable view of a descriptor, for traces, the debugger and error messages. */
export const describeDescriptor = (d: Descriptor): Record<string, unknown> => {
  switch (d._tag) {
    case "Activity":
      return { _tag: d._tag, name: d.name, input: d.input, options: d.options }
    case "Sleep":
      return { _tag: d._tag, durationMs: d.durationMs }
    case "WaitForSignal":
      return { _tag: d._tag, name: d.name, timeoutMs: d.timeoutMs }
    case "OnQuery":
      return { _tag: d._tag, name: d.name }
    case "SideEffect":
      return { _tag: d._tag, kind: d.kind }
    case "Info":
      return { _tag: d._tag }
    case "StartChild":
      return {
        _tag: d._tag,
        workflowType: d.workflowType,
        input: d.input,
        workflowId: d.workflowId,
        wait: d.wait
      }
    case "ChildResult":
      return { _tag: d._tag, childCmd: d.childCmd, workflowId: d.workflowId }
    case "Combine":
      return { _tag: d._tag, mode: d.mode, branches: d.branches.length, keys: d.keys }
    case "Patched":
      return { _tag: d._tag, patchId: d.patchId }
    case "ContinueAsNew":
      return { _tag: d._tag, input: d.input }
  }
}
