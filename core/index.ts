/**
 * Temporal Lite core: the authoring API, history format and pure interpreter.
 * Imports `effect` only; runs unchanged in Node and in the browser.
 */
export {
  activity,
  defineQuery,
  defineSignal,
  workflow,
  type ActivityDefineOptions,
  type ActivityDefinition,
  type AnySchema,
  type QueryDefinition,
  type RetryOptions,
  type SignalDefinition,
  type WorkflowDefinition,
  type WorkflowOptions
} from "./definitions"
export {
  all,
  allSettled,
  child,
  continueAsNew,
  now,
  onQuery,
  patched,
  race,
  random,
  sleep,
  startChild,
  uuid,
  waitForSignal,
  workflowInfo,
  type ChildOptions,
  type Settled
} from "./primitives"
export {
  describeDescriptor,
  isDescriptor,
  type Branch,
  type ChildHandle,
  type Descriptor,
  type WorkflowInfo,
  type Yieldable
} from "./descriptor"
export {
  ActivityFailure,
  Cancelled,
  ChildWorkflowFailure,
  DivergenceSide,
  ErrorInfo,
  InvalidPayload,
  NonDeterminismError,
  WorkflowFailure,
  cancelledError,
  toErrorInfo
} from "./errors"
export {
  codecOf,
  formatPath,
  jsonCodec,
  toJson,
  type Codec,
  type CodecIssue,
  type PathSegment
} from "./codec"
export * from "./history"
export * from "./history-file"
export {
  replay,
  WorkflowInstance,
  type InterpreterOptions,
  type Outcome,
  type ReplayResult,
  type TraceStep,
  type WorkflowStatus
} from "./interpreter"
export { replayHistory, type ReplayReport } from "./replay-history"
export { Override, OverrideRefused, overriddenHistory, whatIf, type WhatIf } from "./what-if"
export {
  descriptionFields,
  Divergence,
  divergenceOf,
  isWellFormed,
  JsonValue,
  MAX_WORKFLOW_ID_LENGTH,
  PendingWork,
  RunStatus,
  StreamItem,
  summaryFields,
  WellFormedString,
  WorkflowDescription,
  WorkflowId,
  workflowIdProblem,
  WorkflowSummary
} from "./run-model"
export { SeededRandom } from "./determinism"
export type { SourceLocation } from "./source-location"
