/**
 * The SQLite store: the `WorkflowStore` contract (../contract.ts) on one embedded file in WAL
 * mode, fsynced on every commit by default.
 *
 * Invariants (beyond the contract's):
 * 1. The single owner (contract invariant 6) is SQLite's exclusive lock, held for the store's
 *    life and released by the OS when the process dies, so a killed holder never blocks a
 *    restart; a second opener is told the holder's pid (from a pid file that only names it).
 * 2. A file that is refused (contract invariant 7) is not modified: WAL is switched on only
 *    after the schema check.
 */
import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Reactivity from "@effect/experimental/Reactivity"
import * as fs from "node:fs"
import * as path from "node:path"
import type { HistoryEvent } from "../../../core"
import { StoreError } from "../../errors"
import { WorkflowStore, type WriteSet } from "../contract"
import { historiesByRun, historyFactsOf, recoveryReads, segmentsByRun, timerRows } from "../queries"
import { fromRecord, rowsOf, type RunRecord } from "../run-record"
import { migrations, SCHEMA_VERSION } from "./migrations"
import {
  addRuns,
  addSnapshots,
  addTimers,
  changeRuns,
  chunks,
  deleteTimers,
  dropSnapshots,
  insertEvents,
  placeholders,
  retireIds
} from "./statements"
import { classify, codeOf, storeErrorOf } from "./sqlite-errors"

export interface SqliteStoreOptions {
  readonly filename: string
  /** FULL (default): every commit is fsynced. NORMAL: a power loss may drop the last commits. */
  readonly synchronous?: "FULL" | "NORMAL" | undefined
}

/** Pages written to the -wal file between checkpoints (see `open`). */
const WAL_CHECKPOINT_PAGES = 1000

const lockFile = (filename: string) => `${filename}.lock`

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"
  }
}

/** The pid of the live holder of the lock, when the lock file names one. */
const readHolder = (filename: string): number | undefined => {
  try {
    const pid = Number(JSON.parse(fs.readFileSync(lockFile(filename), "utf8")).pid)
    return Number.isInteger(pid) && isAlive(pid) ? pid : undefined
  } catch {
    return undefined
  }
}

/** Why the file or its folder cannot be written, when the OS says it cannot. */
const unwritable = (filename: string): Option.Option<StoreError> => {
  for (const file of [path.dirname(filename), filename]) {
    try {
      if (fs.existsSync(file)) fs.accessSync(file, fs.constants.W_OK)
    } catch (cause) {
      return Option.some(storeErrorOf(`cannot open ${filename}`)(cause))
    }
  }
  return Option.none()
}

const lockedError = (filename: string, pid: number | undefined) =>
  new StoreError({
    reason: "Locked",
    message: `database ${filename} is in use by another Temporal Lite engine${pid === undefined ? "" : ` (pid ${pid})`}; one engine owns one database file`
  })

/**
 * Creates the folder of a database file if it is missing; fails with a `StoreError` naming the
 * folder and the cause (a file in the way, a read-only file system, a full disk).
 *
 * @example yield* ensureFolderOf("./data/temporal-lite.db")
 */
export const ensureFolderOf = (filename: string): Effect.Effect<void, StoreError> => {
  const folder = path.dirname(filename)
  return Effect.try({
    try: () => void fs.mkdirSync(folder, { recursive: true }),
    catch: (error) =>
      storeErrorOf(`cannot create the folder ${folder} of the database ${filename}`)(
        mkdirCause(folder, error)
      )
  })
}

/**
 * Why `folder` cannot be created: a recursive mkdir reports ENOENT on a read-only file system,
 * so the first missing folder is made on its own, which fails with the real cause.
 */
const mkdirCause = (folder: string, error: unknown): unknown => {
  let missing = folder
  while (!fs.existsSync(path.dirname(missing)) && path.dirname(missing) !== missing)
    missing = path.dirname(missing)
  try {
    fs.mkdirSync(missing)
  } catch (cause) {
    return cause
  }
  return error
}

/** Opens (creating if needed) the SQLite file, takes its lock, checks and migrates its schema. */
const open = (options: SqliteStoreOptions) =>
  Effect.gen(function* () {
    const filename = path.resolve(options.filename)
    // The pid file only names the holder once SQLite refuses the lock: after a SIGKILL the pid
    // may belong to another process, and a stale file must never block a restart (invariant 3).
    yield* ensureFolderOf(filename)
    // WAL is switched on only after the schema check, so a file that is refused is not modified.
    const sql = yield* SqliteClient.make({ filename, disableWAL: true }).pipe(
      Effect.provide(Reactivity.layer),
      Effect.catchAllDefect((cause) =>
        Effect.fail(
          classify(cause) === "Busy"
            ? lockedError(filename, readHolder(filename))
            : storeErrorOf(
                `cannot open ${filename}`,
                classify(cause) === "Corrupt" ? "NotOurs" : undefined
              )(cause)
        )
      )
    )
    // SQLite names neither the holder of the lock nor why it cannot open a file (a WAL
    // database on a read-only file system cannot make its `-shm` file): ask the OS.
    const locked = (error: StoreError) =>
      error.reason === "Busy"
        ? lockedError(filename, readHolder(filename))
        : codeOf(error.cause).startsWith("SQLITE_CANTOPEN")
          ? Option.getOrElse(unwritable(filename), () => error)
          : error
    yield* checkSchema(sql, filename).pipe(Effect.mapError(locked))
    const pragma = (statement: string) =>
      sql
        .unsafe(statement)
        .pipe(Effect.mapError((e) => locked(storeErrorOf(`${statement} failed on ${filename}`)(e))))
    yield* pragma("PRAGMA locking_mode = EXCLUSIVE")
    yield* pragma("PRAGMA journal_mode = WAL")
    yield* pragma(`PRAGMA synchronous = ${options.synchronous ?? "FULL"}`)
    // A checkpoint every 1,000 pages (4 MiB, SQLite's default): what is committed lives only
    // in the -wal file until one copies it into the database file, and at 10,000 pages that
    // was about 40 MB under steady load. After a checkpoint the -wal file is cut back to 8 MiB
    // (it kept the size of the largest burst).
    yield* pragma(`PRAGMA wal_autocheckpoint = ${WAL_CHECKPOINT_PAGES}`)
    yield* pragma("PRAGMA journal_size_limit = 8388608")
    // Taking a write lock now makes the exclusive lock ours for the life of the connection.
    yield* sql.unsafe("BEGIN IMMEDIATE").pipe(
      Effect.zipRight(sql.unsafe("COMMIT")),
      Effect.mapError((error) => locked(storeErrorOf(`cannot lock ${filename}`)(error)))
    )
    yield* Migrator.make({})({ loader: Migrator.fromRecord(migrations) }).pipe(
      Effect.provideService(SqlClient.SqlClient, sql),
      Effect.mapError(storeErrorOf(`migrating ${filename} failed`))
    )
    yield* sql`INSERT INTO temporal_lite_meta (key, value) VALUES ('schema_version', ${String(SCHEMA_VERSION)})
      ON CONFLICT(key) DO UPDATE SET value = excluded.value`.pipe(
      Effect.mapError(storeErrorOf("writing the schema version failed"))
    )
    yield* Effect.acquireRelease(
      Effect.sync(() =>
        fs.writeFileSync(
          lockFile(filename),
          JSON.stringify({ pid: process.pid, since: new Date().toISOString() })
        )
      ),
      () => Effect.sync(() => fs.rmSync(lockFile(filename), { force: true }))
    )
    return { sql, filename }
  })

/** Invariant 4: refuse files that are not ours or that a newer version wrote. */
const checkSchema = (sql: SqlClient.SqlClient, filename: string) =>
  Effect.gen(function* () {
    const tables = yield* sql<{
      name: string
    }>`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`
    if (tables.length === 0) return
    const names = new Set(tables.map((t) => t.name))
    if (!names.has("temporal_lite_meta")) {
      return yield* Effect.fail(
        new StoreError({
          reason: "NotOurs",
          message: `${filename} is a SQLite database but not a Temporal Lite one (tables: ${[...names].slice(0, 5).join(", ")}); refusing to touch it`
        })
      )
    }
    const rows = yield* sql<{
      value: string
    }>`SELECT value FROM temporal_lite_meta WHERE key = 'schema_version'`
    const version = Number(rows[0]?.value ?? 0)
    if (version > SCHEMA_VERSION) {
      return yield* Effect.fail(
        new StoreError({
          reason: "NewerSchema",
          message: `${filename} has schema version ${version}, newer than this engine's ${SCHEMA_VERSION}; upgrade Temporal Lite to open it (nothing was changed)`
        })
      )
    }
  }).pipe(Effect.catchTag("SqlError", (error) => Effect.fail(storeErrorOf(`cannot read ${filename}`)(error))))

const make = (options: SqliteStoreOptions) =>
  Effect.gen(function* () {
    const { sql, filename } = yield* open(options)

    const exec = (statement: string, params: ReadonlyArray<unknown>) =>
      sql.unsafe(statement, params as Array<any>)

    type Run = (statement: string, params: ReadonlyArray<unknown>) => Effect.Effect<unknown, SqlError>

    /**
     * `body` in one transaction on the store's connection (invariant 1). A failed statement or
     * COMMIT may leave the transaction open (SQLite leaves that to the application after
     * SQLITE_FULL, SQLITE_IOERR or SQLITE_BUSY): it is rolled back, and the failure is the
     * statement's own. (@effect/sql's withTransaction turns a failed COMMIT into a defect,
     * which lost its cause: a full disk read as "the commit was interrupted".)
     */
    const transaction = (body: (run: Run) => Effect.Effect<void, SqlError>) =>
      Effect.scoped(
        Effect.flatMap(sql.reserve, (connection) => {
          const run: Run = (statement, params) =>
            connection.execute(statement, params as Array<any>, undefined)
          return run("BEGIN", []).pipe(
            Effect.zipRight(body(run)),
            Effect.zipRight(run("COMMIT", [])),
            // Fails with "no transaction is active" when SQLite has rolled back already.
            Effect.tapError(() => Effect.ignore(run("ROLLBACK", [])))
          )
        })
      ).pipe(Effect.uninterruptible)

    const commit = (w: WriteSet) =>
      transaction((exec) =>
        Effect.gen(function* () {
          const { changed, added } = rowsOf(w)
          const rowWrites = [
            ...changeRuns.statements(changed),
            ...retireIds.statements(w.retire),
            ...addRuns.statements(added),
            ...insertEvents.statements(w.events),
            ...addTimers.statements(w.timersAdd),
            ...deleteTimers.statements(w.timersDelete)
          ]
          for (const [text, params] of rowWrites) yield* exec(text, params)
          // Dropped after the adds: a run's last segment may share a batch with its close.
          const snapshotWrites = [
            ...addSnapshots.statements(w.snapshots),
            ...dropSnapshots.statements(w.snapshotsDropped)
          ]
          for (const [text, params] of snapshotWrites) yield* exec(text, params)
          for (const f of w.flags) {
            if (f.parentNotified !== undefined) {
              yield* exec(`UPDATE runs SET parent_notified = ? WHERE run_id = ?`, [
                f.parentNotified ? 1 : 0,
                f.runId
              ])
            }
            if (f.cancelRequested !== undefined) {
              // Never step back: a recorded cancel (2) stays recorded.
              yield* exec(`UPDATE runs SET cancel_requested = MAX(cancel_requested, ?) WHERE run_id = ?`, [
                f.cancelRequested,
                f.runId
              ])
            }
          }
        })
      ).pipe(
        Effect.mapError(storeErrorOf(`commit to ${filename} failed`)),
        // A span per statement costs more than the statement on this hot path.
        Effect.withTracerEnabled(false)
      )

    // Invariant 5: a primary-key seek per run finds its last event.
    const selectRuns =
      sql.literal(`SELECT r.*, e.seq AS tail_seq, json_extract(e.body, '$.type') AS tail_type,
        json_extract(e.body, '$.at') AS tail_at
      FROM runs r LEFT JOIN events e ON e.run_id = r.run_id
        AND e.seq = (SELECT max(seq) FROM events WHERE run_id = r.run_id)`)

    const read = <A>(effect: Effect.Effect<A, SqlError>, what: string) =>
      effect.pipe(Effect.mapError(storeErrorOf(`${what} failed`)), Effect.withTracerEnabled(false))

    return WorkflowStore.of({
      commit,
      currentRun: (workflowId) =>
        read(
          sql<RunRecord>`${selectRuns} WHERE workflow_id = ${workflowId} AND current = 1`,
          "reading a run"
        ).pipe(Effect.map((rows) => (rows[0] ? fromRecord(rows[0]) : undefined))),
      runsByIds: (runIds) =>
        Effect.forEach(chunks(runIds), (chunk) =>
          read(sql<RunRecord>`${selectRuns} WHERE r.run_id IN ${sql.in(chunk)}`, "reading runs")
        ).pipe(Effect.map((parts) => parts.flat().map(fromRecord))),
      snapshotsOf: (runIds) =>
        Effect.forEach(chunks(runIds), (chunk) =>
          read(
            sql<{
              run_id: string
              seq: number
              body: string
            }>`SELECT run_id, seq, body FROM snapshots WHERE run_id IN ${sql.in(chunk)} ORDER BY run_id, seq`,
            "reading snapshots"
          )
        ).pipe(Effect.map((parts) => segmentsByRun(parts.flat()))),
      historiesOf: (wanted) =>
        Effect.forEach(chunks(wanted), (chunk) =>
          read(
            exec(
              `SELECT e.run_id AS run_id, e.body AS body FROM (VALUES ${placeholders(chunk.length, 2)}) AS v
               JOIN events e ON e.run_id = v.column1 AND e.seq > v.column2 ORDER BY e.run_id, e.seq`,
              chunk.flatMap((w) => [w.runId, w.afterSeq])
            ) as Effect.Effect<ReadonlyArray<{ run_id: string; body: string }>, SqlError>,
            "reading histories"
          )
        ).pipe(Effect.map((parts) => historiesByRun(parts.flat()))),
      openRuns: read(
        sql<RunRecord>`${selectRuns} WHERE status IN ('running', 'stuck')`,
        "reading open runs"
      ).pipe(Effect.map((rows) => rows.map(fromRecord))),
      events: (runId, afterSeq = 0) =>
        read(
          sql<{
            body: string
          }>`SELECT body FROM events WHERE run_id = ${runId} AND seq > ${afterSeq} ORDER BY seq`,
          "reading history"
        ).pipe(Effect.map((rows) => rows.map((r) => JSON.parse(r.body) as HistoryEvent))),
      // Scanned in SQLite (the json functions read each body in place), so a describe of a
      // long history allocates nothing per event.
      historyFacts: (runId) =>
        Effect.all({
          usage: read(
            sql<{ calls: number; totalTokens: number }>`SELECT count(*) AS calls,
                coalesce(sum(json_extract(body, '$.result.usage.totalTokens')), 0) AS totalTokens
              FROM events
              WHERE run_id = ${runId} AND json_extract(body, '$.type') = 'ActivityCompleted'
                AND json_type(body, '$.result.usage.totalTokens') IN ('integer', 'real')`,
            "reading LLM usage"
          ),
          failed: read(
            sql<{ cmd: number; attempt: number }>`SELECT json_extract(body, '$.cmd') AS cmd,
                max(json_extract(body, '$.attempt')) AS attempt
              FROM events
              WHERE run_id = ${runId} AND json_extract(body, '$.type') = 'ActivityAttemptFailed'
              GROUP BY 1`,
            "reading failed attempts"
          )
        }).pipe(Effect.map(historyFactsOf)),
      timers: read(
        sql<{ run_id: string; cmd: number; fire_at: number }>`SELECT run_id, cmd, fire_at FROM timers`,
        "reading timers"
      ).pipe(Effect.map(timerRows)),
      listRuns: (q) =>
        read(
          sql<RunRecord>`${selectRuns} WHERE current = 1
            ${q.status ? sql`AND status = ${q.status}` : sql``}
            ${q.type ? sql`AND type = ${q.type}` : sql``}
            ${q.idPrefix ? sql`AND workflow_id >= ${q.idPrefix} AND substr(workflow_id, 1, length(${q.idPrefix})) = ${q.idPrefix}` : sql``}
            ${q.closedAfter === undefined ? sql`` : sql`AND closed_at >= ${q.closedAfter}`}
            ${q.closedBefore === undefined ? sql`` : sql`AND closed_at < ${q.closedBefore}`}
            ${q.before ? sql`AND (created_at < ${q.before.createdAt} OR (created_at = ${q.before.createdAt} AND r.run_id < ${q.before.runId}))` : sql``}
            ORDER BY created_at DESC, r.run_id DESC LIMIT ${q.limit}`,
          "listing runs"
        ).pipe(Effect.map((rows) => rows.map(fromRecord))),
      ...recoveryReads(sql, read, { runs: "runs", rows: "SELECT * FROM runs r" })
    })
  })

/** The SQLite store on `filename`, held (and locked) for the life of the layer. */
export const SqliteStore = (options: SqliteStoreOptions): Layer.Layer<WorkflowStore, StoreError> =>
  Layer.scoped(WorkflowStore, make(options))
