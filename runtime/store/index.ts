/**
 * The store: the `WorkflowStore` contract, its implementations and the group commit that
 * feeds it. The engine imports the store from here only.
 */
export {
  emptyWriteSet,
  WorkflowStore,
  type HistoryFacts,
  type Key,
  type RunQuery,
  type RunRow,
  type TimerRow,
  type WriteSet
} from "./contract"
export { makeGroupCommitter, type Submission } from "./group-commit"
export { ensureFolderOf, SqliteStore, type SqliteStoreOptions } from "./sqlite/store"
export { PostgresStore, type PostgresStoreOptions } from "./postgres/store"
export { parseDatabaseUrl } from "./postgres/connection"
export { StoreLive, type StoreConfig } from "./select"
