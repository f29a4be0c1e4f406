/**
 * The engine's failures, classified by what the caller does next. These cross the HTTP
 * boundary, so they are `Schema.TaggedError`s; the server maps each to a status code.
 */
import * as Data from "effect/Data"
import * as Schema from "effect/Schema"
import { Divergence, ErrorInfo, InvalidPayload, RunStatus } from "../core"

/**
 * An input, signal payload or query argument failed its schema or holds what JSON cannot
 * carry (400); `path` names the field from the value's root. Declared in core: workflow code
 * gets it too, where it produces such a value.
 */
export { InvalidPayload }

/** No workflow with this id (404). */
export class WorkflowNotFound extends Schema.TaggedError<WorkflowNotFound>()("WorkflowNotFound", {
  workflowId: Schema.String
}) {
  override get message() {
    return `no workflow with id "${this.workflowId}"`
  }
}

/** A run with this id is still open (409). */
export class WorkflowAlreadyRunning extends Schema.TaggedError<WorkflowAlreadyRunning>()(
  "WorkflowAlreadyRunning",
  {
    workflowId: Schema.String,
    runId: Schema.String
  }
) {
  override get message() {
    return `workflow "${this.workflowId}" is already running (run ${this.runId})`
  }
}

/**
 * The id's run is stuck: the deployed code no longer matches its history (409). It keeps its
 * id until code that matches resumes it, or it is terminated or reset.
 */
export class WorkflowStuck extends Schema.TaggedError<WorkflowStuck>()("WorkflowStuck", {
  workflowId: Schema.String,
  runId: Schema.String,
  divergence: Divergence
}) {
  override get message() {
    return (
      `workflow "${this.workflowId}" is stuck (${this.divergence.message}); deploy code that matches its ` +
      `history to resume it, or terminate it (POST /api/workflows/${encodeURIComponent(this.workflowId)}/terminate) ` +
      `or reset it (POST /api/workflows/${encodeURIComponent(this.workflowId)}/reset) before starting the id again`
    )
  }
}

/** A workflow id the engine cannot keep: empty, too long, control characters, ill-formed Unicode (400). */
export class InvalidWorkflowId extends Schema.TaggedError<InvalidWorkflowId>()("InvalidWorkflowId", {
  workflowId: Schema.String,
  problem: Schema.String
}) {
  override get message() {
    return `invalid workflow id: ${this.problem}`
  }
}

/** The workflow has ended; it takes no more signals or cancels (409). */
export class WorkflowClosed extends Schema.TaggedError<WorkflowClosed>()("WorkflowClosed", {
  workflowId: Schema.String,
  status: RunStatus
}) {
  override get message() {
    return `workflow "${this.workflowId}" is ${this.status}`
  }
}

/** Unknown workflow type, signal or query (400): names it and lists the known ones. */
export class UnknownName extends Schema.TaggedError<UnknownName>()("UnknownName", {
  kind: Schema.Literal("workflow type", "signal", "query", "activity"),
  name: Schema.String,
  known: Schema.Array(Schema.String),
  workflowType: Schema.optional(Schema.String)
}) {
  override get message() {
    const owner = this.workflowType ? ` of workflow type "${this.workflowType}"` : ""
    const known = this.known.length ? this.known.map((k) => `"${k}"`).join(", ") : "none"
    return `unknown ${this.kind} "${this.name}"${owner}; known: ${known}`
  }
}

/** A query handler threw (its error is the answer; the workflow is unharmed). */
export class QueryFailed extends Schema.TaggedError<QueryFailed>()("QueryFailed", {
  workflowId: Schema.String,
  query: Schema.String,
  error: ErrorInfo
}) {
  override get message() {
    return `query "${this.query}" failed: ${this.error.message}`
  }
}

/** The run `engine.result` waited for closed without a result: it failed or was cancelled. */
export class WorkflowRunFailed extends Schema.TaggedError<WorkflowRunFailed>()("WorkflowRunFailed", {
  workflowId: Schema.String,
  runId: Schema.String,
  status: Schema.Literal("failed", "cancelled"),
  error: ErrorInfo
}) {
  override get message() {
    return `workflow "${this.workflowId}" (run ${this.runId}) ${this.status}: ${this.error.name}: ${this.error.message}`
  }
}

/** The run `engine.result` waited for, asked not to follow continue-as-new, continued as new. */
export class WorkflowRunContinued extends Schema.TaggedError<WorkflowRunContinued>()("WorkflowRunContinued", {
  workflowId: Schema.String,
  runId: Schema.String,
  /** The run that took over the workflow id. */
  nextRunId: Schema.String
}) {
  override get message() {
    return `workflow "${this.workflowId}" (run ${this.runId}) continued as new as run ${this.nextRunId}`
  }
}

/**
 * The database failed under us, or refused us; nothing was half-written. The reason says what
 * the caller does next, and the message names the cause:
 * - `DiskFull`, `ReadOnly`, `Io` (an I/O error, or a cause not known), `Busy`, `Unavailable`
 *   (the database cannot be reached): the store failed, whatever was written; retry later.
 * - `Rejected`: the database refused this write's data (a constraint, a value too big); the
 *   same write fails again, and writes committed with it are retried without it.
 * - `Dropped`: not attempted, because an earlier commit of the same workflow failed: retry.
 * - `ShuttingDown`: the engine is draining and takes nothing new: retry on a running engine.
 * - `Locked`: another engine holds the database: stop, or start again once it has gone.
 * - `Fenced`: this engine lost the database to another while running and writes nothing more:
 *   restart it (recovery reads what is stored).
 * - `Denied` (credentials or rights), `NewerSchema`, `NotOurs`, `Corrupt`: refused at start:
 *   fix the configuration, upgrade, or point at the right database.
 */
export class StoreError extends Data.TaggedError("StoreError")<{
  readonly reason:
    | "DiskFull"
    | "ReadOnly"
    | "Io"
    | "Busy"
    | "Unavailable"
    | "Rejected"
    | "Dropped"
    | "ShuttingDown"
    | "Locked"
    | "Fenced"
    | "Denied"
    | "NewerSchema"
    | "NotOurs"
    | "Corrupt"
  readonly message: string
  readonly cause?: unknown
}> {}

export type EngineError =
  | WorkflowNotFound
  | WorkflowAlreadyRunning
  | WorkflowStuck
  | WorkflowClosed
  | InvalidWorkflowId
  | UnknownName
  | InvalidPayload
  | QueryFailed
  | WorkflowRunFailed
  | WorkflowRunContinued
