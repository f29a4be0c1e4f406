/**
 * Where a PostgreSQL store connects, said without its password, and its failures as
 * `StoreError`s whose reason says what the caller does next. Foreign errors (node-postgres's,
 * the socket's) are wrapped here, once.
 */
import { StoreError } from "../../errors"

/** The parts of a `postgres://` URL a message may name. */
export interface Database {
  readonly host: string
  readonly port: number
  readonly database: string
  readonly user: string
  /** `database "tl" on 127.0.0.1:5432`: how messages name it. */
  readonly named: string
}

/**
 * The database a URL names, or a `Denied` StoreError saying what is wrong with the URL (it
 * never repeats the password).
 *
 * @example
 * parseDatabaseUrl("postgres://app:secret@db.internal:5432/workflows").named
 * // 'database "workflows" on db.internal:5432'
 */
export const parseDatabaseUrl = (url: string): Database | StoreError => {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return new StoreError({
      reason: "Denied",
      message: "the database URL is not a URL; expected postgres://user:password@host:port/database"
    })
  }
  if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:") {
    return new StoreError({
      reason: "Denied",
      message: `the database URL must be postgres:// or postgresql://, not ${parsed.protocol}//…`
    })
  }
  const user = decodeURIComponent(parsed.username) || process.env["USER"] || "postgres"
  const host = parsed.searchParams.get("host") ?? (parsed.hostname || "localhost")
  const port = Number(parsed.port || parsed.searchParams.get("port") || 5432)
  const database = decodeURIComponent(parsed.pathname.slice(1)) || user
  return { host, port, database, user, named: `database "${database}" on ${host}:${port}` }
}

/** A node-postgres or socket error's SQLSTATE or errno code, and its message. */
const inner = (cause: unknown): { readonly code: string; readonly message: string } => {
  const error = (cause as { cause?: unknown })?.cause ?? cause
  // Node's connect to a name with several addresses fails with an AggregateError (empty message).
  if (error instanceof AggregateError && error.errors.length > 0) return inner(error.errors[0])
  const code = String((error as { code?: unknown })?.code ?? "")
  const message = error instanceof Error ? error.message : String(error)
  return { code, message: message || code || "unknown error" }
}

/** SQLSTATE classes and codes, by what the caller does next. */
const reasonOf = (code: string): StoreError["reason"] => {
  if (code === "" || /^E[A-Z]+$/.test(code)) return "Unavailable" // the socket: no server answered
  if (code.startsWith("08") || ["57P01", "57P02", "57P03", "53300"].includes(code)) return "Unavailable"
  if (["40001", "40P01", "55P03"].includes(code)) return "Busy"
  if (code.startsWith("28") || code === "42501" || code === "3D000") return "Denied"
  if (code === "XX001" || code === "XX002") return "Corrupt"
  return "Io"
}

/**
 * Whether the error came from the connection rather than from a statement: the server's own
 * errors carry a SQLSTATE, a lost or refused socket does not (or names a connection class).
 */
export const isConnectionLoss = (cause: unknown): boolean => reasonOf(inner(cause).code) === "Unavailable"

/** The StoreError for a failed `what` on `db`, classified by the error's code. */
export const storeError = (db: Database, what: string) => (cause: unknown) => {
  const { code, message } = inner(cause)
  return new StoreError({
    reason: reasonOf(code),
    message: `${what} on ${db.named} failed: ${message}`,
    cause
  })
}

/** The StoreError for a connection that could not be made at start: names the host and the cause. */
export const connectError = (db: Database) => (cause: unknown) => {
  const { code, message } = inner(cause)
  const because = code && !message.includes(code) ? `${message} (${code})` : message
  return new StoreError({
    reason: reasonOf(code),
    message: `cannot connect to PostgreSQL at ${db.host}:${db.port} (database "${db.database}", user "${db.user}"): ${because}`,
    cause
  })
}
