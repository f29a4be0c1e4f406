/**
 * How a store's failure names its cause, on every store: each `StoreError` reason's phrase,
 * and the message `what: phrase (CODE: the database's own words)`. Each store classifies its
 * own codes (sqlite/sqlite-errors.ts, postgres/postgres-errors.ts) into the same reasons.
 */
import type { StoreError } from "../errors"

export type Reason = StoreError["reason"]

/** How each reason reads in a message. */
const phrases: Readonly<Record<Reason, string>> = {
  DiskFull: "disk full",
  ReadOnly: "read-only",
  Io: "I/O error",
  Busy: "busy",
  Unavailable: "unreachable",
  Rejected: "write refused",
  Dropped: "dropped",
  ShuttingDown: "shutting down",
  Locked: "locked",
  Fenced: "fenced",
  Denied: "denied",
  NewerSchema: "newer schema",
  Corrupt: "corrupt",
  NotOurs: "not a Temporal Lite database"
}

/**
 * The message of a failed `what`: the reason's phrase and the cause in the database's words
 * when the code was known, the cause alone when it was not.
 *
 * @example
 * namedCause("commit to tl.db failed", "DiskFull", "SQLITE_FULL: database or disk is full")
 * // 'commit to tl.db failed: disk full (SQLITE_FULL: database or disk is full)'
 */
export const namedCause = (what: string, reason: Reason | undefined, cause: string): string =>
  reason === undefined ? `${what}: ${cause}` : `${what}: ${phrases[reason]} (${cause})`
