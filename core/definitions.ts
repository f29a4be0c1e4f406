/**
 * Defining workflows, activities, signals and queries.
 *
 * Definitions are values: the runtime registers them, the server derives its validation
 * from their schemas, the debugger bundles them to replay in the browser.
 */
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import type * as Schema from "effect/Schema"
import { codecOf, type Codec } from "./codec"
import { makeDescriptor, type ActivityCall, type Descriptor } from "./descriptor"
import { InvalidPayload } from "./errors"
import type { ActivityOptions, RetryPolicy } from "./history"

/**
 * A definition's schema, `Schema<A, I>`: workflow code and activity implementations see `A`;
 * history, HTTP and the listings of workflow types carry its encoded form `I`, which must be
 * JSON. Transformations and defaults apply at the boundary (see codec.ts).
 */
export type AnySchema<A> = Schema.Schema<A, any, never>

export interface WorkflowDefinition<I = any, O = any> {
  readonly _tag: "WorkflowDefinition"
  readonly name: string
  readonly input: AnySchema<I> | undefined
  /**
   * Typed loosely on purpose: a schema is invariant in its type, so with `AnySchema<O>` a workflow
   * whose body never returns (`O` = never: it always throws or continues as new) would not be a
   * `WorkflowDefinition<any, any>` and could not be registered or replayed. `workflow()` still
   * checks the body's return type against the schema given.
   */
  readonly output: AnySchema<any> | undefined
  readonly signals: ReadonlyArray<SignalDefinition<any>>
  readonly queries: ReadonlyArray<QueryDefinition<any, any>>
  /** Called afresh for every replay: a generator function, never a generator object. */
  readonly body: (input: I) => Generator<Descriptor, O, any>
  /** The file that defined the workflow (from the stack at definition), for the debugger. */
  readonly sourceFile: string | undefined
}

export interface WorkflowOptions<I, O> {
  readonly input?: AnySchema<I>
  readonly output?: AnySchema<O>
  /** The signals this workflow accepts; a signal not listed is refused at the boundary. */
  readonly signals?: ReadonlyArray<SignalDefinition<any>>
  /** The queries this workflow answers; a query not listed is refused at the boundary. */
  readonly queries?: ReadonlyArray<QueryDefinition<any, any>>
}

/**
 * Defines a workflow type.
 *
 * The body runs again from the start on every replay, so it must reach the same yields in the
 * same order for the same history; everything it needs from the world comes through yields.
 *
 * @example
 * const greet = workflow("greet", { input: Schema.String }, function* (name) {
 *   return yield* hello(name)
 * })
 */
export const workflow = <I = void, O = unknown>(
  name: string,
  options: WorkflowOptions<I, O>,
  body: (input: I) => Generator<Descriptor, O, any>
): WorkflowDefinition<I, O> => ({
  _tag: "WorkflowDefinition",
  name,
  input: options.input,
  output: options.output,
  signals: options.signals ?? [],
  queries: options.queries ?? [],
  body,
  sourceFile: callerFile(new Error().stack)
})

/** The file of the first stack frame outside core/, as the stack names it. */
const callerFile = (stack: string | undefined): string | undefined => {
  if (!stack) return undefined
  for (const line of stack.split("\n").slice(1)) {
    const match = /\(?((?:file:\/\/|https?:\/\/|\/)[^()\s]+?):\d+:\d+\)?\s*$/.exec(line)
    if (match && !/\/core\/[^/]+\.[jt]s/.test(match[1]!)) return match[1]
  }
  return undefined
}

export interface SignalDefinition<A> {
  readonly _tag: "SignalDefinition"
  readonly name: string
  readonly schema: AnySchema<A> | undefined
}

/** Defines a signal: a named message, with a schema validating its payload on arrival. */
export const defineSignal = <A = void>(name: string, schema?: AnySchema<A>): SignalDefinition<A> => ({
  _tag: "SignalDefinition",
  name,
  schema
})

export interface QueryDefinition<A, Args = void> {
  readonly _tag: "QueryDefinition"
  readonly name: string
  readonly output: AnySchema<A> | undefined
  readonly args: AnySchema<Args> | undefined
}

/** Defines a query: a read-only question answered by a handler the workflow registers with `onQuery`. */
export const defineQuery = <A = unknown, Args = void>(
  name: string,
  options: { readonly output?: AnySchema<A>; readonly args?: AnySchema<Args> } = {}
): QueryDefinition<A, Args> => ({ _tag: "QueryDefinition", name, output: options.output, args: options.args })

export interface RetryOptions {
  readonly initialInterval?: Duration.DurationInput
  readonly backoffCoefficient?: number
  readonly maximumInterval?: Duration.DurationInput
  readonly maximumAttempts?: number
  /** Error names (the `name` or `_tag` of what the implementation throws) never retried. */
  readonly nonRetryableErrors?: ReadonlyArray<string>
}

export interface ActivityDefineOptions<I, O> {
  readonly input?: AnySchema<I>
  readonly output?: AnySchema<O>
  readonly retry?: RetryOptions
  /** Start-to-close timeout of one attempt. */
  readonly timeout?: Duration.DurationInput
  /** An attempt that does not heartbeat within this long is failed and retried. */
  readonly heartbeatTimeout?: Duration.DurationInput
}

export interface ActivityDefinition<I, O> {
  (input: I): ActivityCall<O>
  readonly activityName: string
  readonly input: AnySchema<I> | undefined
  readonly output: AnySchema<O> | undefined
  readonly options: ActivityOptions
}

/**
 * Defines an activity: work with side effects, run by the engine, at least once, never again
 * once its completion is recorded. The implementation is registered with the engine; the
 * definition is what workflow code calls.
 *
 * The call encodes its input with the input schema (an input that fails it, or that JSON
 * cannot hold, throws `InvalidPayload` at the call, naming the field); the implementation
 * gets a decoded copy per attempt, and the workflow a decoded copy of the recorded result.
 * On failure the engine retries by the policy; when retries are exhausted (or the error is
 * non-retryable) the yield throws `ActivityFailure`. On replay the recorded result is returned
 * and nothing runs.
 *
 * @example
 * const review = activity("llm.review", { input: Schema.String, output: Review, retry: { maximumAttempts: 5 }, timeout: "2 minutes" })
 * const analysis = yield* review(code)
 */
export const activity = <I = void, O = unknown>(
  name: string,
  options: ActivityDefineOptions<I, O> = {}
): ActivityDefinition<I, O> => {
  const stored = activityOptions(options)
  const inputCodec = codecOf(options.input)
  const output = codecOf(options.output)
  const inputWhat = `input of activity "${name}"`
  const call = (input: I): ActivityCall<O> =>
    makeDescriptor<ActivityCall<O>>({
      _tag: "Activity",
      name,
      input: encodeOrThrow(inputCodec, input, inputWhat, "input"),
      options: stored,
      output
    })
  return Object.assign(call, {
    activityName: name,
    input: options.input,
    output: options.output,
    options: stored
  })
}

/** The stored form of a value workflow code produces, or `InvalidPayload` thrown where the code produced it. */
export const encodeOrThrow = <A>(codec: Codec<A>, value: A, what: string, root: string): unknown => {
  const encoded = codec.encode(value)
  if (Either.isLeft(encoded)) throw InvalidPayload.of(what, root, encoded.left)
  return encoded.right
}

const millis = (d: Duration.DurationInput): number => Duration.toMillis(Duration.decode(d))

const activityOptions = (o: ActivityDefineOptions<any, any>): ActivityOptions => {
  const retry: RetryPolicy | undefined = o.retry && {
    ...(o.retry.initialInterval === undefined ? {} : { initialIntervalMs: millis(o.retry.initialInterval) }),
    ...(o.retry.backoffCoefficient === undefined ? {} : { backoffCoefficient: o.retry.backoffCoefficient }),
    ...(o.retry.maximumInterval === undefined ? {} : { maximumIntervalMs: millis(o.retry.maximumInterval) }),
    ...(o.retry.maximumAttempts === undefined ? {} : { maximumAttempts: o.retry.maximumAttempts }),
    ...(o.retry.nonRetryableErrors === undefined
      ? {}
      : { nonRetryableErrors: [...o.retry.nonRetryableErrors] })
  }
  return {
    ...(retry === undefined ? {} : { retry }),
    ...(o.timeout === undefined ? {} : { timeoutMs: millis(o.timeout) }),
    ...(o.heartbeatTimeout === undefined ? {} : { heartbeatTimeoutMs: millis(o.heartbeatTimeout) })
  }
}

export { millis as durationToMillis }
