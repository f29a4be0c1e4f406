/**
 * Temporal Lite runtime: the durable engine on SQLite (or PostgreSQL), as Effect services and Layers.
 */
export {
  implement,
  NonRetryableError,
  type ActivityContext,
  type ActivityImplementation,
  type RegisteredActivity
} from "./activities"
export {
  Engine,
  type EngineRetained,
  type ListFilter,
  type RunFilter,
  type RunStatus,
  type StartedWorkflow,
  type StreamItem,
  type WorkflowDescription,
  type WorkflowSummary,
  type WorkflowTypeInfo
} from "./engine-api"
export { EngineLive, EngineOnStore, type EngineConfig, type EngineOptions } from "./engine"
export * from "./errors"
export {
  ensureFolderOf,
  parseDatabaseUrl,
  PostgresStore,
  SqliteStore,
  StoreLive,
  WorkflowStore,
  type PostgresStoreOptions,
  type SqliteStoreOptions,
  type StoreConfig
} from "./store"
