/**
 * The engine's failures as API answers: each engine error maps to one status and a `code`
 * a client can switch on. Field paths of schema failures are given from the request body's
 * root (`input.code`, `data.approved`, `args`), so the client sees where in what it sent.
 */
import { BadRequest, Conflict, NotFound, QueryHandlerFailed, Unavailable } from "../api"
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
} from "../runtime"
import { formatPath } from "../core"

export const workflowNotFound = (e: WorkflowNotFound): NotFound =>
  new NotFound({ code: "WorkflowNotFound", message: e.message, details: { workflowId: e.workflowId } })

export const alreadyRunning = (e: WorkflowAlreadyRunning): Conflict =>
  new Conflict({
    code: "WorkflowAlreadyRunning",
    message: e.message,
    details: { workflowId: e.workflowId, runId: e.runId }
  })

export const workflowStuck = (e: WorkflowStuck): Conflict =>
  new Conflict({
    code: "WorkflowStuck",
    message: e.message,
    details: { workflowId: e.workflowId, runId: e.runId, divergence: e.divergence }
  })

export const workflowClosed = (e: WorkflowClosed): Conflict =>
  new Conflict({
    code: "WorkflowClosed",
    message: e.message,
    details: { workflowId: e.workflowId, status: e.status }
  })

export const invalidWorkflowId = (e: InvalidWorkflowId): BadRequest =>
  new BadRequest({
    code: "InvalidWorkflowId",
    message: e.message,
    details: { workflowId: e.workflowId, problem: e.problem }
  })

const unknownCodes = {
  "workflow type": "UnknownWorkflowType",
  signal: "UnknownSignal",
  query: "UnknownQuery",
  activity: "UnknownWorkflowType"
} as const

export const unknownName = (e: UnknownName): BadRequest =>
  new BadRequest({
    code: unknownCodes[e.kind],
    message: e.message,
    details: {
      kind: e.kind,
      name: e.name,
      known: e.known,
      ...(e.workflowType ? { workflowType: e.workflowType } : {})
    }
  })

/**
 * `field` is where the validated value sits in the request (`input`, `data` or `args`): it
 * takes the place of the engine's name for the value's root.
 */
export const invalidPayload =
  (field: string) =>
  (e: InvalidPayload): BadRequest => {
    const path = [field, ...e.path.slice(1)]
    return new BadRequest({
      code: "InvalidPayload",
      message: `invalid ${e.what} at "${formatPath(path)}": ${e.detail}`,
      details: { path, what: e.what, detail: e.detail }
    })
  }

export const queryFailed = (e: QueryFailed): QueryHandlerFailed =>
  new QueryHandlerFailed({
    code: "QueryFailed",
    message: e.message,
    details: { query: e.query, error: e.error }
  })

export const storeUnavailable = (e: StoreError): Unavailable =>
  new Unavailable({
    code: "StoreUnavailable",
    message: `the database is unavailable (${e.reason}): ${e.message}; nothing was half-written, retry later`,
    details: { reason: e.reason }
  })
