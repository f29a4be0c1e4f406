/**
 * Temporal Lite's HTTP contract, declared once: the `HttpApi` the server implements and the
 * CLI and debugger derive their clients from, the error schemas, and the OpenAPI document
 * over the registered workflow types. Browser-safe: it imports `effect`, `@effect/platform`
 * and core/ only (a test enforces it).
 */
export { Api, API_VERSION, documentedApi, makeApi, openApiDocument } from "./api"
export { makeApiClient, makeApiClientFetch, type ApiClient, type ClientOptions } from "./client"
export * from "./errors"
export { JsonBody } from "./json-body"
export { Authorization, TOKEN_COOKIE } from "./security"
export { Health, SystemGroup } from "./system"
export {
  jsonDepthExceeds,
  MAX_JSON_DEPTH,
  QueryName,
  SignalName,
  typedData,
  untypedData,
  WorkflowTypeName,
  type WorkflowData
} from "./workflow-data"
export { WorkflowSource, WorkflowTypeInfo, WorkflowTypes, WorkflowTypesGroup } from "./workflow-types"
export {
  Accepted,
  CountParams,
  DEFAULT_PAGE,
  END_EVENT_ID,
  ListParams,
  MAX_PAGE,
  RunFilter,
  StartedWorkflow,
  WorkflowCount,
  WorkflowList,
  workflowsGroup
} from "./workflows"
