/**
 * The writer: the one connection that holds the database for this engine (contract invariant
 * 6) and makes every commit on it.
 *
 * Invariants:
 * 1. The writer's session holds the engine's advisory lock; PostgreSQL releases it when the
 *    session ends, so an engine that dies (SIGKILL included) never blocks the next one.
 * 2. Every commit runs on that session and, in its own transaction, checks the owner epoch this
 *    engine took and counts itself in the owner row: a commit can never land for an engine
 *    that has lost the database (the fence), and a commit whose answer was lost can be looked
 *    up.
 * 3. A lost connection is replaced before the next commit: the new session takes the lock again
 *    (ending this engine's former session first when the server still keeps it, as it does
 *    through a partition) and must find the owner row as this engine left it (no other engine
 *    held the database meanwhile); otherwise the store is fenced for good (`Fenced`).
 * 4. A commit whose COMMIT lost its answer is looked up before it is answered (contract
 *    invariant 2): landed is success, absent is a failure that wrote nothing; when it cannot
 *    be looked up, the store is fenced.
 * 5. Commits run one at a time, in the order they are called.
 */
import type { Connection } from "@effect/sql/SqlConnection"
import type * as SqlClient from "@effect/sql/SqlClient"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import { StoreError } from "../../errors"
import type { Database } from "./connection"
import { isConnectionLoss, storeError } from "./postgres-errors"
import type { Statement } from "./statements"

/** The advisory lock's two keys: "TL", and 1 for the whole database (shards will take others). */
const LOCK = "21580, 1"
/** The lock in pg_locks (two int4 keys show as classid, objid and objsubid 2). */
const HOLDER = `FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
  WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 21580 AND l.objid = 1 AND l.objsubid = 2
    AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`

export interface WriterOptions {
  readonly sql: SqlClient.SqlClient
  readonly db: Database
  /** Who this engine is, as a second engine is told: host and pid. */
  readonly holder: string
  /** "on" (FULL, the default) or "off" (NORMAL: a server crash may drop the last commits). */
  readonly synchronousCommit: "on" | "off"
}

interface Held {
  readonly conn: Connection
  readonly scope: Scope.CloseableScope
}

const exec = (conn: Connection, text: string, params: ReadonlyArray<unknown> = []) =>
  conn.execute(text, params, undefined) as Effect.Effect<ReadonlyArray<Record<string, unknown>>, unknown>

/**
 * Opens the writer: a session of its own holding the lock (invariant 1), or `Locked` naming the
 * engine that holds it. `take` then makes the engine the owner (once the schema exists);
 * `commit` runs a commit's statements.
 */
export const makeWriter = (options: WriterOptions) =>
  Effect.gen(function* () {
    const { sql, db } = options
    const failed = storeError(db, "a commit", { writes: true })
    let held: Held | undefined
    let epoch = 0
    let commits = 0
    let fenced: StoreError | undefined

    // The session goes back to the pool: it gives the lock up first, so the next engine finds
    // the database free as soon as this one has let it go (a dead session fails at once).
    const release = (h: Held | undefined) =>
      h
        ? exec(h.conn, "SELECT pg_advisory_unlock_all()").pipe(
            Effect.ignore,
            Effect.timeoutOption("2 seconds"),
            Effect.zipRight(Scope.close(h.scope, Exit.void))
          )
        : Effect.void

    const lockedError = (conn: Connection) =>
      exec(
        conn,
        `SELECT a.application_name AS name, (extract(epoch FROM a.backend_start) * 1000)::float8 AS since ${HOLDER}`
      ).pipe(
        Effect.orElseSucceed(() => []),
        Effect.map((rows) => {
          const row = rows[0] as { name?: string; since?: number } | undefined
          const who = row?.name
            ? ` (${row.name}, connected since ${new Date(row.since ?? 0).toISOString()})`
            : ""
          return new StoreError({
            reason: "Locked",
            message: `${db.named} is in use by another Temporal Lite engine${who}; one engine owns one database`
          })
        })
      )

    const tryLock = (conn: Connection) =>
      Effect.map(
        exec(conn, `SELECT pg_try_advisory_lock(${LOCK}) AS locked`),
        (rows) => rows[0]?.["locked"] === true
      )

    /** The backend of this engine's last writer session: after a loss, it may still hold the lock. */
    let lastPid: number | undefined

    /** A new session holding the lock (invariant 1). */
    const connect = Effect.gen(function* () {
      const scope = yield* Scope.make()
      const attach = Effect.gen(function* () {
        const conn = yield* Scope.extend(sql.reserve, scope)
        const [session] = yield* exec(
          conn,
          `SELECT pg_backend_pid() AS pid, set_config('synchronous_commit', $1, false) AS durability`,
          [options.synchronousCommit]
        )
        let locked = yield* tryLock(conn)
        if (!locked && lastPid !== undefined) {
          // This engine's own session from before a loss: the server has not noticed its client
          // is gone (a partition is silent). It writes nothing now; end it, and take the lock.
          const ended = yield* exec(
            conn,
            `SELECT pg_terminate_backend(l.pid, 10000) AS ended ${HOLDER} AND l.pid = $1 AND a.application_name = $2`,
            [lastPid, options.holder]
          )
          if (ended.length > 0) locked = yield* tryLock(conn)
        }
        if (!locked) return yield* Effect.flatMap(lockedError(conn), Effect.fail)
        lastPid = session?.["pid"] as number
        return { conn, scope }
      })
      return yield* attach.pipe(
        Effect.mapError((e) => (e instanceof StoreError ? e : storeError(db, "connecting")(e))),
        Effect.onError((cause) => Scope.close(scope, Exit.failCause(cause)))
      )
    })

    const ownerRow = (conn: Connection) =>
      Effect.map(
        exec(
          conn,
          `SELECT epoch::float8 AS epoch, commits::float8 AS commits FROM temporal_lite.owner WHERE id = 1`
        ),
        (rows) => rows[0] as { epoch: number; commits: number }
      )

    const fence = (message: string) => {
      fenced = new StoreError({
        reason: "Fenced",
        message: `${db.named}: ${message}; this engine writes nothing more (restart it)`
      })
      return Effect.zipRight(release(held), Effect.fail(fenced)).pipe(
        Effect.ensuring(Effect.sync(() => (held = undefined)))
      )
    }

    /** The session after a lost one (invariant 3): the lock again, and the owner row unchanged. */
    const reattach = Effect.gen(function* () {
      const next = yield* connect.pipe(
        Effect.catchIf(
          (e) => e.reason === "Locked",
          (e) => fence(`another engine took the database while this one was disconnected (${e.message})`)
        )
      )
      const owner = yield* ownerRow(next.conn).pipe(
        Effect.mapError(storeError(db, "reading the owner")),
        Effect.onError(() => release(next))
      )
      held = next
      return owner
    })

    const session = Effect.suspend(() =>
      held
        ? Effect.succeed(held.conn)
        : Effect.flatMap(reattach, (owner) =>
            owner.epoch === epoch && owner.commits === commits
              ? Effect.succeed(held!.conn)
              : fence(`another engine wrote to it (epoch ${owner.epoch}, this engine's ${epoch})`)
          )
    )

    /** Drops a session whose connection failed: the next commit opens another. */
    const lose = Effect.suspend(() => {
      const lost = held
      held = undefined
      return release(lost)
    })

    /** Invariant 4: whether the commit numbered `expected` landed, from a new session. */
    const lookUp = (expected: number) =>
      reattach.pipe(
        Effect.retry({
          schedule: Schedule.exponential("100 millis").pipe(Schedule.intersect(Schedule.recurs(6))),
          while: (e) => e.reason === "Unavailable"
        }),
        Effect.catchIf(
          (e) => e.reason === "Unavailable",
          (e) =>
            fence(
              `the connection was lost while a commit was being made, and whether it landed cannot be known (${e.message})`
            )
        ),
        Effect.flatMap((owner) => {
          if (owner.epoch !== epoch)
            return fence(`another engine took the database (epoch ${owner.epoch}, this engine's ${epoch})`)
          if (owner.commits === expected) return Effect.succeed(true)
          if (owner.commits === expected - 1) return Effect.succeed(false)
          return fence(`its commit count is ${owner.commits}, this engine's ${expected - 1}`)
        })
      )

    /** One commit; `again` when a session found lost before COMMIT may be replaced once. */
    const attempt = (statements: ReadonlyArray<Statement>, again: boolean): Effect.Effect<void, StoreError> =>
      Effect.gen(function* () {
        if (fenced) return yield* Effect.fail(fenced)
        const conn = yield* session
        const writes = Effect.gen(function* () {
          yield* exec(conn, "BEGIN")
          const owned = yield* exec(
            conn,
            `UPDATE temporal_lite.owner SET commits = commits + 1 WHERE id = 1 AND epoch = $1 RETURNING id`,
            [epoch]
          )
          if (owned.length === 0) return false
          for (const [text, params] of statements) yield* exec(conn, text, params)
          return true
        })
        const wrote = yield* Effect.either(writes)
        if (wrote._tag === "Left") {
          if (!isConnectionLoss(wrote.left)) {
            yield* exec(conn, "ROLLBACK").pipe(Effect.catchAll(() => lose))
            return yield* Effect.fail(failed(wrote.left))
          }
          // The server rolls back an open transaction whose session ends: nothing was written,
          // so the commit may run again on a new session (an idle one the server closed).
          yield* lose
          if (again) return yield* attempt(statements, false)
          return yield* Effect.fail(failed(wrote.left))
        }
        if (!wrote.right) {
          yield* exec(conn, "ROLLBACK").pipe(Effect.catchAll(() => lose))
          return yield* fence("another engine took the database")
        }
        const committed = yield* Effect.either(exec(conn, "COMMIT"))
        if (committed._tag === "Right") {
          commits++
          return
        }
        // A COMMIT the server refused wrote nothing; one whose answer was lost may have landed.
        if (!isConnectionLoss(committed.left)) return yield* Effect.fail(failed(committed.left))
        yield* lose
        if (yield* lookUp(commits + 1)) {
          commits++
          return
        }
        return yield* Effect.fail(failed(committed.left))
      })

    const lock = yield* Effect.makeSemaphore(1)
    held = yield* connect
    yield* Effect.addFinalizer(() => Effect.suspend(() => release(held)))

    return {
      /** Takes the database (invariant 2): the epoch grows, and this engine's becomes the fence. */
      take: Clock.currentTimeMillis.pipe(
        Effect.flatMap((now) =>
          exec(
            held!.conn,
            `UPDATE temporal_lite.owner SET epoch = epoch + 1, holder = $1, since = $2
            WHERE id = 1 RETURNING epoch::float8 AS epoch, commits::float8 AS commits`,
            [options.holder, now]
          )
        ),
        Effect.map((rows) => {
          const owner = rows[0] as { epoch: number; commits: number }
          epoch = owner.epoch
          commits = owner.commits
        }),
        Effect.mapError(storeError(db, "taking the database"))
      ),

      /** Runs the statements in one transaction (contract invariants 1–3, writer invariants 2–5). */
      commit: (statements: ReadonlyArray<Statement>) =>
        // Once begun, a commit runs to its answer: cut short, it would leave its session inside
        // a transaction.
        lock.withPermits(1)(Effect.uninterruptible(attempt(statements, true)))
    }
  })
