/**
 * The engine's public contract: what the server, the CLI and tests call. The Layer that
 * implements it is in engine.ts.
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Stream from "effect/Stream"
import type { ErrorInfo, HistoryEvent, HistoryFile, NonDeterminismError } from "../core"
import type {
  InvalidPayload,
  QueryFailed,
  StoreError,
  UnknownName,
  WorkflowAlreadyRunning,
  WorkflowClosed,
  WorkflowNotFound
} from "./errors"

/** running → completed | failed | cancelled | continued-as-new; stuck until fixed code resumes it. */
export type RunStatus = "running" | "completed" | "failed" | "cancelled" | "continued-as-new" | "stuck"

export interface StartedWorkflow {
  readonly id: string
  readonly runId: string
  readonly status: RunStatus
}

export interface WorkflowSummaryRow {
  readonly id: string
  readonly runId: string
  readonly type: string
  readonly status: RunStatus
  readonly createdAt: number
  readonly updatedAt: number
  readonly closedAt: number | undefined
  readonly lastEventType: string | undefined
  readonly parentId: string | undefined
}

export interface WorkflowDescription extends WorkflowSummaryRow {
  readonly input: unknown
  readonly result: unknown
  readonly error: ErrorInfo | undefined
  readonly divergence: NonDeterminismError | undefined
  readonly historyLength: number
  readonly pending: {
    readonly activities: ReadonlyArray<{
      readonly cmd: number
      readonly name: string
      readonly attempt: number
    }>
    readonly timers: ReadonlyArray<{
      readonly cmd: number
      readonly fireAt: number
      readonly purpose: string
    }>
    /** Signal names the workflow is waiting for. */
    readonly signals: ReadonlyArray<string>
    /** Signals received and not yet consumed. */
    readonly bufferedSignals: ReadonlyArray<{ readonly name: string; readonly seq: number }>
    readonly children: ReadonlyArray<{
      readonly cmd: number
      readonly workflowId: string
      readonly workflowType: string
    }>
  }
  /** LLM calls executed and tokens used, from the recorded history: a replay bills nothing. */
  readonly llmUsage: { readonly calls: number; readonly totalTokens: number }
}

export interface ListFilter {
  readonly status?: RunStatus | undefined
  readonly type?: string | undefined
  readonly limit?: number | undefined
  /** Opaque: the `nextCursor` of the previous page. */
  readonly cursor?: string | undefined
}

export type StreamItem =
  | { readonly _tag: "history"; readonly event: HistoryEvent }
  | { readonly _tag: "chunk"; readonly cmd: number; readonly activity: string; readonly chunk: unknown }
  | { readonly _tag: "end"; readonly status: RunStatus }

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
    ) => Effect.Effect<StartedWorkflow, UnknownName | InvalidPayload | WorkflowAlreadyRunning | StoreError>
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
    readonly list: (
      filter: ListFilter
    ) => Effect.Effect<
      { readonly workflows: ReadonlyArray<WorkflowSummaryRow>; readonly nextCursor: string | undefined },
      StoreError
    >
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
