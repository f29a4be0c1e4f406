/**
 * What went wrong under the PostgreSQL store, from the server's SQLSTATE codes (and the
 * socket's errno codes), as a `StoreError` whose reason says what the caller does next and
 * whose message names the cause, in the same reasons as the SQLite store's
 * (../sqlite/sqlite-errors.ts). Foreign errors (node-postgres's, the socket's) are wrapped
 * here, once.
 */
import { StoreError } from "../../errors"
import { namedCause, type Reason } from "../causes"
import type { Database } from "./connection"

/** A node-postgres or socket error's SQLSTATE or errno code, its message and its detail. */
const inner = (
  cause: unknown
): { readonly code: string; readonly message: string; readonly detail: string } => {
  const error = (cause as { cause?: unknown })?.cause ?? cause
  // Node's connect to a name with several addresses fails with an AggregateError (empty message).
  if (error instanceof AggregateError && error.errors.length > 0) return inner(error.errors[0])
  const code = String((error as { code?: unknown })?.code ?? "")
  const detail = (error as { detail?: unknown })?.detail
  const message = error instanceof Error ? error.message : String(error)
  return {
    code,
    message: message || code || "unknown error",
    detail: typeof detail === "string" ? detail : ""
  }
}

/**
 * The data of a write, not the store, is at fault (class 23: a constraint; 22001: a string too
 * long; 54000: a value too big, such as an index row): the same write fails again, and the
 * writes committed with it go through without it.
 */
const isDataAtFault = (code: string) => code.startsWith("23") || code === "22001" || code === "54000"

/** The reason of a SQLSTATE or errno code; undefined for a code not known (read as `Io`). */
const known = (code: string): Reason | undefined => {
  if (code === "" || /^E[A-Z]+$/.test(code)) return "Unavailable" // the socket: no server answered
  if (code.startsWith("08") || ["57P01", "57P02", "57P03", "53300"].includes(code)) return "Unavailable"
  if (code === "53100") return "DiskFull"
  if (code === "25006") return "ReadOnly"
  if (code === "58030") return "Io"
  if (["40001", "40P01", "55P03"].includes(code)) return "Busy"
  if (code.startsWith("28") || code === "42501" || code === "3D000") return "Denied"
  if (code === "XX001" || code === "XX002") return "Corrupt"
  if (isDataAtFault(code)) return "Rejected"
  return undefined
}

/**
 * Whether the error came from the connection rather than from a statement: the server's own
 * errors carry a SQLSTATE, a lost or refused socket does not (or names a connection class).
 */
export const isConnectionLoss = (cause: unknown): boolean => known(inner(cause).code) === "Unavailable"

/**
 * The `StoreError` for `what` failing on `db`, its reason from the code and its message naming
 * the cause: `a commit on database "tl" on db:5432 failed: disk full (53100: could not extend
 * file …)`. Only a write set's own statements (`writes`) fail with `Rejected`: refused data
 * anywhere else (a read, a migration) is the store's fault, an `Io`.
 *
 * @example Effect.mapError(statement, storeError(db, "reading runs"))
 */
export const storeError =
  (db: Database, what: string, options: { readonly writes?: boolean } = {}) =>
  (cause: unknown): StoreError => {
    const { code, message, detail } = inner(cause)
    const reason = known(code)
    const named = reason === "Rejected" && !options.writes ? undefined : reason
    const words = `${code && !message.startsWith(code) ? `${code}: ` : ""}${message}${detail ? `; ${detail}` : ""}`
    return new StoreError({
      reason: named ?? "Io",
      message: namedCause(`${what} on ${db.named} failed`, named, words),
      cause
    })
  }

/** The StoreError for a connection that could not be made at start: names the host and the cause. */
export const connectError = (db: Database) => (cause: unknown) => {
  const { code, message } = inner(cause)
  const because = code && !message.includes(code) ? `${message} (${code})` : message
  return new StoreError({
    reason: known(code) ?? "Io",
    message: `cannot connect to PostgreSQL at ${db.host}:${db.port} (database "${db.database}", user "${db.user}"): ${because}`,
    cause
  })
}
