/**
 * The acknowledgement a committed (or failed) write set resolves: group commit resolves it,
 * the engine's runs hold it (engine/run-state.ts). Here, below both, until the store moves
 * to runtime/store/, whose group commit declares its own.
 */
import type * as Exit from "effect/Exit"
import type { StoreError, WorkflowClosed } from "./errors"

/**
 * Told once the event is committed (or failed to be): resumes a caller waiting for durability.
 * A signal that reached its run in the task that closed it is refused (`WorkflowClosed`).
 */
export type Ack = (exit: Exit.Exit<void, StoreError | WorkflowClosed>) => void
