/**
 * The engine's public contract: what the server, the CLI and tests call. The Layer that
 * implements it is in engine.ts.
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Stream from "effect/Stream"
import type {
  Divergence,
  HistoryFile,
  QueryDefinition,
  RunStatus,
  SignalDefinition,
  StreamItem,
  WorkflowDefinition,
  WorkflowDescription,
  WorkflowSummary
} from "../core"
import type {
  InvalidPayload,
  InvalidWorkflowId,
  QueryFailed,
  StoreError,
  UnknownName,
  WorkflowAlreadyRunning,
  WorkflowClosed,
  WorkflowNotFound,
  WorkflowRunContinued,
  WorkflowRunFailed,
  WorkflowStuck
} from "./errors"

export type { RunStatus, StreamItem, WorkflowDescription, WorkflowSummary }

declare const ResultType: unique symbol

/** A started run. From a typed start it carries the workflow's result type, for `result`. */
export interface StartedWorkflow<O = unknown> {
  readonly id: string
  readonly runId: string
  readonly status: RunStatus
  /** Types only: never present. */
  readonly [ResultType]?: O
}

export interface StartOptions {
  /** The workflow id; a fresh time-ordered id by default. */
  readonly id?: string | undefined
}

export interface ResultOptions {
  /** The run to wait for (it must be of this workflow id); the id's current run by default. */
  readonly runId?: string | undefined
  /** Follow continue-as-new to the run that ends the chain (default true). */
  readonly followRuns?: boolean | undefined
}

/** A value argument that may be left out when `undefined` is one of its values. */
type Optional<A, Rest extends ReadonlyArray<unknown> = []> = undefined extends A
  ? [value?: A, ...Rest]
  : [value: A, ...Rest]

/** Which current runs a listing or a count takes. */
export interface RunFilter {
  /** The workflow id starts with this text. */
  readonly idPrefix?: string | undefined
  readonly status?: RunStatus | undefined
  readonly type?: string | undefined
  /** Started at or after this time (epoch ms). */
  readonly startedAfter?: number | undefined
  /** Started before this time (epoch ms). */
  readonly startedBefore?: number | undefined
  /** Closed at or after this time (epoch ms): open runs are left out. */
  readonly closedAfter?: number | undefined
  /** Closed before this time (epoch ms): open runs are left out. */
  readonly closedBefore?: number | undefined
}

export interface ListFilter extends RunFilter {
  readonly limit?: number | undefined
  /** Opaque: the `nextCursor` of the previous page. */
  readonly cursor?: string | undefined
}

export type StartError =
  UnknownName | InvalidPayload | InvalidWorkflowId | WorkflowAlreadyRunning | WorkflowStuck | StoreError
export type SignalError = WorkflowNotFound | UnknownName | InvalidPayload | WorkflowClosed | StoreError
export type QueryError = WorkflowNotFound | UnknownName | InvalidPayload | QueryFailed | StoreError
export type ResultError =
  WorkflowNotFound | WorkflowRunFailed | WorkflowRunContinued | InvalidPayload | StoreError

export interface WorkflowTypeInfo {
  readonly name: string
  /** JSON Schema of the input's encoded form, when the workflow declared one. */
  readonly inputSchema: unknown
  readonly signals: ReadonlyArray<{ readonly name: string; readonly schema: unknown }>
  readonly queries: ReadonlyArray<string>
  readonly sourceFile: string | undefined
}

export class Engine extends Context.Tag("temporal-lite/Engine")<
  Engine,
  {
    /**
     * Starts a run; acknowledged after its WorkflowStarted is committed. Given the definition,
     * it takes the decoded input (`A`) and encodes it; given a type name (HTTP, the CLI), the
     * encoded input (`I`), checked by decoding it. A start without input passes `undefined`.
     * An input that fails the schema or that JSON cannot hold fails with `InvalidPayload`
     * naming the field, and nothing is stored.
     *
     * @example const run = yield* engine.start(codeReview, { code }, { id: "review-1" })
     */
    readonly start: {
      <A, O>(
        workflow: WorkflowDefinition<A, O>,
        ...args: Optional<A, [options?: StartOptions]>
      ): Effect.Effect<StartedWorkflow<O>, StartError>
      (type: string, input?: unknown, options?: StartOptions): Effect.Effect<StartedWorkflow, StartError>
    }
    /**
     * Stores the signal (acknowledged after commit), whether or not the workflow waits yet.
     * Given the definition, the payload is decoded (`A`); given a name, encoded (`I`).
     *
     * @example yield* engine.signal("review-1", CodeReviewApproval, { approved: true })
     */
    readonly signal: {
      <A>(id: string, signal: SignalDefinition<A>, ...payload: Optional<A>): Effect.Effect<void, SignalError>
      (id: string, name: string, payload?: unknown): Effect.Effect<void, SignalError>
    }
    /**
     * Answers from the live instance, rebuilding an evicted one by replay first. Given the
     * definition, the arguments and the answer are decoded (`Args`, `A`); given a name, both
     * are in their encoded form. The answer is the caller's own copy.
     *
     * @example const stage = yield* engine.query("review-1", CodeReviewStatus)
     */
    readonly query: {
      <A, Args>(
        id: string,
        query: QueryDefinition<A, Args>,
        ...args: Optional<Args>
      ): Effect.Effect<A, QueryError>
      (id: string, name: string, args?: unknown): Effect.Effect<unknown, QueryError>
    }
    /**
     * Waits for a run to close: its decoded result, or `WorkflowRunFailed` with its error.
     * Follows continue-as-new unless `followRuns` is false (then `WorkflowRunContinued`).
     * Waiting holds one entry that the close resolves (no stream, no polling); a run closed
     * long ago costs one read; it works for runs started before a restart. Given what a typed
     * `start` returned, it waits for that run and is typed by its workflow.
     *
     * @example const review = yield* engine.result(yield* engine.start(codeReview, { code }))
     */
    readonly result: {
      <O>(started: StartedWorkflow<O>, options?: ResultOptions): Effect.Effect<O, ResultError>
      (id: string, options?: ResultOptions): Effect.Effect<unknown, ResultError>
    }
    /** Records a cancel request: Cancelled is thrown at the workflow's current yield. */
    readonly cancel: (
      id: string,
      reason?: string
    ) => Effect.Effect<void, WorkflowNotFound | WorkflowClosed | StoreError>
    readonly describe: (id: string) => Effect.Effect<WorkflowDescription, WorkflowNotFound | StoreError>
    /** The current run's summary as committed, and why it is stuck if it is: cheap, no replay. */
    readonly summary: (
      id: string
    ) => Effect.Effect<
      WorkflowSummary & { readonly divergence: Divergence | undefined },
      WorkflowNotFound | StoreError
    >
    readonly list: (
      filter: ListFilter
    ) => Effect.Effect<
      { readonly workflows: ReadonlyArray<WorkflowSummary>; readonly nextCursor: string | undefined },
      StoreError
    >
    /** How many current runs match (pages through the listing). */
    readonly count: (filter: RunFilter) => Effect.Effect<number, StoreError>
    /** The current run's history in the export format (values in their stored, encoded form). */
    readonly history: (id: string) => Effect.Effect<HistoryFile, WorkflowNotFound | StoreError>
    /**
     * History events with seq > `afterSeq` (all by default), then each new one as it is
     * committed, side-channel chunks as they come, and `end` once the run has closed. The id
     * is looked up first, so an unknown one fails before any stream exists (an HTTP 404).
     */
    readonly subscribe: (
      id: string,
      options?: { readonly afterSeq?: number | undefined }
    ) => Effect.Effect<Stream.Stream<StreamItem, StoreError>, WorkflowNotFound | StoreError>
    readonly workflowTypes: () => ReadonlyArray<WorkflowTypeInfo>
    /** Whether this engine registers the workflow type `type`. */
    readonly registered: (type: string) => boolean
    /** What the engine holds in memory now, by count (see `EngineRetained`). */
    readonly retained: () => EngineRetained
  }
>() {}

/**
 * The entries the engine keeps in memory, by count: each is bounded by what is open or
 * watched now, so one that grows with what has finished is a leak.
 *
 * @example const { streamedRuns } = engine.retained() // 0 once nobody streams an open run
 */
export interface EngineRetained {
  /** Open runs (running or stuck): a small row each. */
  readonly openRuns: number
  /** Instances in the cache (at most the cache size, plus a batch). */
  readonly instances: number
  /** Runs with a stream subscriber now. */
  readonly streamedRuns: number
  /** Open runs with open children. */
  readonly parentsWithChildren: number
}
