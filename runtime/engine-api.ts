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
  RunStatus,
  StreamItem,
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
  WorkflowStuck
} from "./errors"

export type { RunStatus, StreamItem, WorkflowDescription, WorkflowSummary }

export interface StartedWorkflow {
  readonly id: string
  readonly runId: string
  readonly status: RunStatus
}

/** Which current runs a listing or a count takes. */
export interface RunFilter {
  readonly status?: RunStatus | undefined
  readonly type?: string | undefined
  /** Started at or after this time (epoch ms). */
  readonly startedAfter?: number | undefined
  /** Started before this time (epoch ms). */
  readonly startedBefore?: number | undefined
}

export interface ListFilter extends RunFilter {
  readonly limit?: number | undefined
  /** Opaque: the `nextCursor` of the previous page. */
  readonly cursor?: string | undefined
}

export interface WorkflowTypeInfo {
  readonly name: string
  /** JSON Schema of the input, when the workflow declared one. */
  readonly inputSchema: unknown
  readonly signals: ReadonlyArray<{ readonly name: string; readonly schema: unknown }>
  readonly queries: ReadonlyArray<string>
  readonly sourceFile: string | undefined
}

export class Engine extends Context.Tag("temporal-lite/Engine")<
  Engine,
  {
    /** Starts a run; acknowledged after its WorkflowStarted is committed. */
    readonly start: (
      type: string,
      input: unknown,
      options?: { readonly id?: string | undefined }
    ) => Effect.Effect<
      StartedWorkflow,
      UnknownName | InvalidPayload | InvalidWorkflowId | WorkflowAlreadyRunning | WorkflowStuck | StoreError
    >
    /** Stores the signal (acknowledged after commit), whether or not the workflow waits yet. */
    readonly signal: (
      id: string,
      name: string,
      payload: unknown
    ) => Effect.Effect<void, WorkflowNotFound | UnknownName | InvalidPayload | WorkflowClosed | StoreError>
    /** Answers from the live instance, rebuilding an evicted one by replay first. */
    readonly query: (
      id: string,
      name: string,
      args?: unknown
    ) => Effect.Effect<unknown, WorkflowNotFound | UnknownName | InvalidPayload | QueryFailed | StoreError>
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
    /** The current run's history in the export format. */
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
  }
>() {}
