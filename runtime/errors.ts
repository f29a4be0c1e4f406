/**
 * The engine's failures, classified by what the caller does next. These cross the HTTP
 * boundary, so they are `Schema.TaggedError`s; the server maps each to a status code.
 */
import * as Data from "effect/Data"
import * as Schema from "effect/Schema"
import { ErrorInfo } from "../core"

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

/** The workflow has ended; it takes no more signals or cancels (409). */
export class WorkflowClosed extends Schema.TaggedError<WorkflowClosed>()("WorkflowClosed", {
  workflowId: Schema.String,
  status: Schema.String
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

/** An input, signal payload or query argument failed its schema (400); `path` names the field. */
export class InvalidPayload extends Schema.TaggedError<InvalidPayload>()("InvalidPayload", {
  what: Schema.String,
  path: Schema.Array(Schema.Union(Schema.String, Schema.Number)),
  detail: Schema.String
}) {
  override get message() {
    const at = this.path.length ? ` at "${this.path.join(".")}"` : ""
    return `invalid ${this.what}${at}: ${this.detail}`
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

/**
 * The database failed under us, or refused us; nothing was half-written. The reason says what
 * the caller does next:
 * - `Busy`, `Unavailable` (the database cannot be reached), `Io` (a write failed): retry later.
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
    | "Busy"
    | "Unavailable"
    | "Io"
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
  WorkflowNotFound | WorkflowAlreadyRunning | WorkflowClosed | UnknownName | InvalidPayload | QueryFailed
