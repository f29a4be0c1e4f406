/**
 * What went wrong under the SQLite store, from SQLite's result codes (and the OS's errno for
 * file operations), as a `StoreError` whose reason and message name the cause: a full disk, a
 * read-only file, an I/O error, a write the database refused. The PostgreSQL store classifies
 * its own codes into the same reasons (../postgres/postgres-errors.ts).
 */
import { StoreError } from "../../errors"
import { namedCause, type Reason } from "../causes"

/** SQLite's primary result codes (`SQLITE_IOERR_FSYNC` is an `SQLITE_IOERR`) and errno codes. */
const reasons: ReadonlyArray<readonly [prefix: string, reason: Reason]> = [
  ["SQLITE_FULL", "DiskFull"],
  ["ENOSPC", "DiskFull"],
  ["EDQUOT", "DiskFull"],
  ["SQLITE_READONLY", "ReadOnly"],
  ["EROFS", "ReadOnly"],
  ["EACCES", "ReadOnly"],
  ["EPERM", "ReadOnly"],
  ["SQLITE_PERM", "ReadOnly"],
  ["SQLITE_BUSY", "Busy"],
  ["SQLITE_LOCKED", "Busy"],
  ["SQLITE_IOERR", "Io"],
  ["EIO", "Io"],
  ["SQLITE_CORRUPT", "Corrupt"],
  ["SQLITE_NOTADB", "Corrupt"],
  // The data of the write, not the store, is at fault: retrying it without the others helps them.
  ["SQLITE_CONSTRAINT", "Rejected"],
  ["SQLITE_TOOBIG", "Rejected"],
  ["SQLITE_MISMATCH", "Rejected"],
  ["SQLITE_RANGE", "Rejected"]
]

/** The SQLite or errno code of a failure, looking through @effect/sql's `SqlError` wrapper. */
export const codeOf = (cause: unknown): string => {
  const inner = (cause as { cause?: unknown } | undefined)?.cause ?? cause
  const code =
    (inner as { code?: unknown } | undefined)?.code ?? (cause as { code?: unknown } | undefined)?.code
  return typeof code === "string" ? code : ""
}

const known = (cause: unknown): Reason | undefined => {
  const code = codeOf(cause)
  for (const [prefix, reason] of reasons) if (code.startsWith(prefix)) return reason
  return undefined
}

/** The reason a failure is classified as; `Io` for an I/O error and for a code not known. */
export const classify = (cause: unknown): Reason => known(cause) ?? "Io"

/** The failure's own words, with its code: `SQLITE_FULL: database or disk is full`. */
const describeCause = (cause: unknown): string => {
  const inner = (cause as { cause?: unknown } | undefined)?.cause ?? cause
  const message = inner instanceof Error ? inner.message : String(inner)
  const code = codeOf(cause)
  return code && !message.startsWith(code) ? `${code}: ${message}` : message
}

/**
 * The `StoreError` for `what` failing, its reason from the code and its message naming the
 * cause: `commit to /data/tl.db failed: disk full (SQLITE_FULL: database or disk is full)`.
 * `reason` overrides the classification (a file that is no database is `NotOurs` at open).
 *
 * @example Effect.mapError(statement, storeErrorOf(`reading ${file} failed`))
 */
export const storeErrorOf =
  (what: string, reason?: Reason) =>
  (cause: unknown): StoreError => {
    const named = reason ?? known(cause)
    return new StoreError({
      reason: named ?? "Io",
      message: namedCause(what, named, describeCause(cause)),
      cause
    })
  }
