/**
 * Where a PostgreSQL store connects, said without its password (its failures are classified
 * in postgres-errors.ts).
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
