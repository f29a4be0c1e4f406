/**
 * The store: the `WorkflowStore` contract, its SQLite implementation and the group commit that
 * feeds it.
 */
export { makeGroupCommitter, type Submission } from "./group-commit"
export {
  emptyWriteSet,
  SqliteStore,
  WorkflowStore,
  type HistoryFacts,
  type Key,
  type RunQuery,
  type RunRow,
  type SqliteStoreOptions,
  type TimerRow,
  type WriteSet
} from "./sqlite/store"
