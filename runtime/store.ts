/**
 * The workflow store: runs, their histories, timers and snapshots. Open activities have no
 * table: they are read from the histories (engine invariant 4).
 *
 * Invariants:
 * 1. Everything one `commit` carries is written in one transaction, or nothing is.
 * 2. A run's events are appended in seq order with no gaps; nothing stored is ever rewritten.
 * 3. Only one process writes a database file: the store holds SQLite's exclusive lock for
 *    its lifetime (released by the OS when the process dies, so a killed holder never blocks
 *    a restart), and names the holder's pid to a second opener.
 * 4. A file from a newer schema, or not ours, is refused before anything is written.
 * 5. A run's row is written when it starts and when its status or flags change, never for a
 *    step alone: a row read back takes its last seq, last event type and update time from
 *    the run's last event.
 *
 * The engine talks to the `WorkflowStore` interface only; SQLite is the default layer, so a
 * PostgreSQL store can follow without touching the engine.
 */
import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Reactivity from "@effect/experimental/Reactivity"
import * as fs from "node:fs"
import * as path from "node:path"
import type { ErrorInfo, HistoryEvent } from "../core"
import type { RunStatus } from "./engine-api"
import { StoreError } from "./errors"
import { migrations, SCHEMA_VERSION } from "./migrations"
import { classify, codeOf, storeErrorOf } from "./sqlite-errors"

export interface RunRow {
  readonly runId: string
  readonly workflowId: string
  readonly type: string
  status: RunStatus
  readonly inputJson: string
  resultJson: string | undefined
  error: ErrorInfo | undefined
  divergenceJson: string | undefined
  readonly parent: { readonly workflowId: string; readonly runId: string; readonly cmd: number } | undefined
  readonly createdAt: number
  /** The time, seq and type of the run's last event (invariant 5). */
  updatedAt: number
  closedAt: number | undefined
  lastSeq: number
  lastEventType: string | undefined
  current: boolean
  /** For a child run: whether its parent has recorded the outcome. */
  parentNotified: boolean
  /** 0 none, 1 requested by a parent and not yet recorded in this run, 2 recorded. */
  cancelRequested: 0 | 1 | 2
}

export interface TimerRow {
  readonly runId: string
  readonly cmd: number
  readonly fireAt: number
}

export interface Key {
  readonly runId: string
  readonly cmd: number
}

/** What one workflow task (or several, grouped) writes. */
export interface WriteSet {
  /** Workflow ids whose closed current run stops being current (a new run takes the id). */
  readonly retire: Array<string>
  /** New runs, whole (invariant 5). */
  readonly runsAdded: Array<RunRow>
  /**
   * Runs whose status or flags changed (invariant 5). Everything but `current`, which only
   * `retire` clears (after these are written, so a run that just closed is retired).
   */
  readonly runsChanged: Array<RunRow>
  readonly events: Array<{ readonly runId: string; readonly body: string; readonly seq: number }>
  readonly timersAdd: Array<TimerRow>
  readonly timersDelete: Array<Key>
  /** Snapshot segments, each of a run's events since its previous one (snapshot.ts): added. */
  readonly snapshots: Array<{ readonly runId: string; readonly seq: number; readonly body: string }>
  /** Runs whose snapshots are of no more use (they closed): their segments are deleted. */
  readonly snapshotsDropped: Array<string>
  /** Flag updates on runs not otherwise written (a child's parent-notified / cancel state). */
  readonly flags: Array<{
    readonly runId: string
    readonly parentNotified?: boolean
    readonly cancelRequested?: 0 | 1 | 2
  }>
}

export const emptyWriteSet = (): WriteSet => ({
  retire: [],
  runsAdded: [],
  runsChanged: [],
  events: [],
  timersAdd: [],
  timersDelete: [],
  snapshots: [],
  snapshotsDropped: [],
  flags: []
})

export interface HistoryFacts {
  /** LLM calls: completed activities whose result reports `usage.totalTokens` as a number. */
  readonly llmUsage: { readonly calls: number; readonly totalTokens: number }
  /** Failed attempts so far, by activity cmd (the highest `ActivityAttemptFailed.attempt`). */
  readonly failedAttempts: ReadonlyMap<number, number>
}

export interface RunQuery {
  readonly idPrefix?: string | undefined
  readonly status?: RunStatus | undefined
  readonly type?: string | undefined
  /** Closed at or after / before (epoch ms); either leaves open runs out. */
  readonly closedAfter?: number | undefined
  readonly closedBefore?: number | undefined
  readonly limit: number
  readonly before?: { readonly createdAt: number; readonly runId: string } | undefined
}

export class WorkflowStore extends Context.Tag("temporal-lite/WorkflowStore")<
  WorkflowStore,
  {
    /** Writes the set in one transaction (invariant 1). */
    readonly commit: (writes: WriteSet) => Effect.Effect<void, StoreError>
    readonly currentRun: (workflowId: string) => Effect.Effect<RunRow | undefined, StoreError>
    readonly runsByIds: (runIds: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<RunRow>, StoreError>
    /** The snapshot segments of the given runs, by run id, each run's in seq order. */
    readonly snapshotsOf: (
      runIds: ReadonlyArray<string>
    ) => Effect.Effect<Map<string, Array<{ readonly seq: number; readonly body: string }>>, StoreError>
    /** Events of each run after its `afterSeq`, in seq order, by run id. */
    readonly historiesOf: (
      runs: ReadonlyArray<{ readonly runId: string; readonly afterSeq: number }>
    ) => Effect.Effect<Map<string, Array<HistoryEvent>>, StoreError>
    /** Runs still running or stuck: what recovery resumes. */
    readonly openRuns: Effect.Effect<ReadonlyArray<RunRow>, StoreError>
    readonly events: (
      runId: string,
      afterSeq?: number
    ) => Effect.Effect<ReadonlyArray<HistoryEvent>, StoreError>
    /** What `describe` tells of a run's history, read without decoding the history. */
    readonly historyFacts: (runId: string) => Effect.Effect<HistoryFacts, StoreError>
    readonly timers: Effect.Effect<ReadonlyArray<TimerRow>, StoreError>
    readonly listRuns: (query: RunQuery) => Effect.Effect<ReadonlyArray<RunRow>, StoreError>
    /** Closed child runs whose parent has not recorded their outcome. */
    readonly unnotifiedChildren: Effect.Effect<ReadonlyArray<RunRow>, StoreError>
    /** Run ids of open runs whose parent's run has closed: cancelled by the parent-close policy. */
    readonly orphans: Effect.Effect<ReadonlyArray<string>, StoreError>
    /**
     * Open child runs whose parent asked the run they continued from to cancel, and which have
     * not recorded a cancel: the request reached the old run after it had continued as new.
     */
    readonly inheritedCancels: Effect.Effect<ReadonlyArray<string>, StoreError>
  }
>() {}

export interface SqliteStoreOptions {
  readonly filename: string
  /** FULL (default): every commit is fsynced. NORMAL: a power loss may drop the last commits. */
  readonly synchronous?: "FULL" | "NORMAL" | undefined
}

const CHUNK = 256

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

interface RunRecord {
  run_id: string
  workflow_id: string
  type: string
  status: RunStatus
  input: string
  result: string | null
  error: string | null
  divergence: string | null
  parent_workflow_id: string | null
  parent_run_id: string | null
  parent_cmd: number | null
  created_at: number
  updated_at: number
  closed_at: number | null
  last_seq: number
  last_event_type: string | null
  current: number
  parent_notified: number
  cancel_requested: number
}

/** A run's progress as its last event tells it (invariant 5); only `selectRuns` reads it. */
interface RunTail {
  tail_seq?: number | null
  tail_type?: string | null
  tail_at?: number | null
}

const fromRecord = (r: RunRecord & RunTail): RunRow => ({
  runId: r.run_id,
  workflowId: r.workflow_id,
  type: r.type,
  status: r.status,
  inputJson: r.input,
  resultJson: r.result ?? undefined,
  error: r.error === null ? undefined : JSON.parse(r.error),
  divergenceJson: r.divergence ?? undefined,
  parent:
    r.parent_workflow_id === null
      ? undefined
      : { workflowId: r.parent_workflow_id, runId: r.parent_run_id!, cmd: r.parent_cmd! },
  createdAt: r.created_at,
  updatedAt: r.tail_at ?? r.updated_at,
  closedAt: r.closed_at ?? undefined,
  lastSeq: r.tail_seq ?? r.last_seq,
  lastEventType: r.tail_type ?? r.last_event_type ?? undefined,
  current: r.current === 1,
  parentNotified: r.parent_notified === 1,
  cancelRequested: r.cancel_requested as 0 | 1 | 2
})

const toRecord = (r: RunRow): RunRecord => ({
  run_id: r.runId,
  workflow_id: r.workflowId,
  type: r.type,
  status: r.status,
  input: r.inputJson,
  result: r.resultJson ?? null,
  error: r.error === undefined ? null : JSON.stringify(r.error),
  divergence: r.divergenceJson ?? null,
  parent_workflow_id: r.parent?.workflowId ?? null,
  parent_run_id: r.parent?.runId ?? null,
  parent_cmd: r.parent?.cmd ?? null,
  created_at: r.createdAt,
  updated_at: r.updatedAt,
  closed_at: r.closedAt ?? null,
  last_seq: r.lastSeq,
  last_event_type: r.lastEventType ?? null,
  current: r.current ? 1 : 0,
  parent_notified: r.parentNotified ? 1 : 0,
  cancel_requested: r.cancelRequested
})

const RUN_COLUMNS = Object.keys(toRecord({ parent: undefined } as unknown as RunRow)) as Array<
  keyof RunRecord
>
const RUN_UPDATES = RUN_COLUMNS.filter(
  (c) =>
    ![
      "run_id",
      "workflow_id",
      "type",
      "input",
      "created_at",
      "parent_workflow_id",
      "parent_run_id",
      "parent_cmd"
    ].includes(c)
)

/**
 * Splits rows into power-of-two chunks (256, 128, …, 1): multi-row statements then come in
 * a handful of shapes, so their prepared statements are reused instead of re-prepared.
 */
const chunks = <A>(items: ReadonlyArray<A>, max = CHUNK): Array<ReadonlyArray<A>> => {
  const out: Array<ReadonlyArray<A>> = []
  let i = 0
  for (let size = max; size >= 1; size >>= 1) {
    while (items.length - i >= size) {
      out.push(items.slice(i, i + size))
      i += size
    }
  }
  return out
}

const placeholderCache = new Map<number, string>()
/** `(?, ?), (?, ?), …`: built once per shape, since chunks come in a handful of sizes. */
const placeholders = (rows: number, columns: number) => {
  const key = rows * 1000 + columns
  let text = placeholderCache.get(key)
  if (text === undefined) {
    const row = `(${Array.from({ length: columns }, () => "?").join(", ")})`
    text = Array.from({ length: rows }, () => row).join(", ")
    placeholderCache.set(key, text)
  }
  return text
}

/**
 * A statement over many rows, in `chunks`. A commit runs several per batch: each chunk shape's
 * text is built once, and a chunk's parameters go straight into one array.
 */
class MultiRow<A> {
  private readonly texts = new Map<number, string>()
  constructor(
    /** The statement, given the placeholders of its rows. */
    private readonly text: (rows: string) => string,
    private readonly columns: number,
    private readonly bind: (row: A, params: Array<unknown>) => void,
    private readonly max = CHUNK
  ) {}

  /** What writes `rows`: the text and parameters of each chunk. */
  statements(rows: ReadonlyArray<A>): Array<readonly [string, Array<unknown>]> {
    return chunks(rows, this.max).map((chunk) => {
      const params: Array<unknown> = []
      for (const row of chunk) this.bind(row, params)
      return [this.textOf(chunk.length), params] as const
    })
  }

  private textOf(rows: number) {
    let text = this.texts.get(rows)
    if (text === undefined) this.texts.set(rows, (text = this.text(placeholders(rows, this.columns))))
    return text
  }
}

// Without INDEXED BY, SQLite's planner picks runs_listing (current = 1) and scans every
// current run for each chunk. One statement per chunk: most starts take a fresh id, and a
// statement per id cost more than all of the batch's events together.
const retireIds = new MultiRow<string>(
  (rows) => `UPDATE runs INDEXED BY runs_current SET current = 0
    WHERE current = 1 AND workflow_id IN (${rows})
    AND status NOT IN ('running', 'stuck')`,
  1,
  (id, params) => params.push(id)
)

const addRuns = new MultiRow<RunRow>(
  (rows) => `INSERT INTO runs (${RUN_COLUMNS.join(", ")}) VALUES ${rows}
    ON CONFLICT(run_id) DO UPDATE SET ${RUN_UPDATES.map((c) => `${c} = excluded.${c}`).join(", ")}`,
  RUN_COLUMNS.length,
  (row, params) => {
    const record = toRecord(row)
    for (const c of RUN_COLUMNS) params.push(record[c])
  },
  32
)

/** Only the columns that change: an upsert rewrote every index that has one of its columns. */
const CHANGED_COLUMNS = RUN_UPDATES.filter((c) => c !== "current")
const changeRuns = new MultiRow<RunRow>(
  // The flags never step back: a parent's request (a flag written by the parent's commit) is
  // not undone by a row of the child built before it arrived.
  (rows) => `UPDATE runs SET ${CHANGED_COLUMNS.map((c, i) =>
    c === "cancel_requested" || c === "parent_notified"
      ? `${c} = MAX(${c}, v.column${i + 2})`
      : `${c} = v.column${i + 2}`
  ).join(", ")}
    FROM (VALUES ${rows}) AS v WHERE runs.run_id = v.column1`,
  1 + CHANGED_COLUMNS.length,
  (row, params) => {
    const record = toRecord(row)
    params.push(record.run_id)
    for (const c of CHANGED_COLUMNS) params.push(record[c])
  },
  32
)

const insertEvents = new MultiRow<WriteSet["events"][number]>(
  (rows) => `INSERT INTO events (run_id, seq, body) VALUES ${rows}`,
  3,
  (e, params) => params.push(e.runId, e.seq, e.body)
)

const addTimers = new MultiRow<TimerRow>(
  (rows) => `INSERT OR REPLACE INTO timers (run_id, cmd, fire_at) VALUES ${rows}`,
  3,
  (t, params) => params.push(t.runId, t.cmd, t.fireAt)
)

const deleteTimers = new MultiRow<Key>(
  (rows) => `DELETE FROM timers WHERE (run_id, cmd) IN (VALUES ${rows})`,
  2,
  (k, params) => params.push(k.runId, k.cmd)
)

// OR REPLACE: a segment that did not chain (a corrupt one) may hold the seq a new one takes.
const addSnapshots = new MultiRow<WriteSet["snapshots"][number]>(
  (rows) => `INSERT OR REPLACE INTO snapshots (run_id, seq, body) VALUES ${rows}`,
  3,
  (s, params) => params.push(s.runId, s.seq, s.body),
  16
)

const dropSnapshots = new MultiRow<string>(
  (rows) => `DELETE FROM snapshots WHERE run_id IN (${rows})`,
  1,
  (runId, params) => params.push(runId)
)

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
          // A run added and changed in the same batch is added as it ends up; a run changed
          // twice is written once, as it ends up (one UPDATE may not name a row twice).
          const added = new Map(w.runsAdded.map((row) => [row.runId, row]))
          const changed = new Map<string, RunRow>()
          for (const row of w.runsChanged) (added.has(row.runId) ? added : changed).set(row.runId, row)
          // Of the runs added under one id, a closed one followed by a newer one goes in
          // retired: retire runs before they are in the table.
          const newest = new Map<string, RunRow>()
          for (const row of added.values()) newest.set(row.workflowId, row)
          const addedRows = [...added.values()].map((row) =>
            row.current &&
            newest.get(row.workflowId) !== row &&
            row.status !== "running" &&
            row.status !== "stuck"
              ? { ...row, current: false }
              : row
          )
          const rowWrites = [
            ...changeRuns.statements([...changed.values()]),
            ...retireIds.statements(w.retire),
            ...addRuns.statements(addedRows),
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
        ).pipe(
          Effect.map((parts) => {
            const out = new Map<string, Array<{ seq: number; body: string }>>()
            for (const r of parts.flat()) {
              let list = out.get(r.run_id)
              if (!list) out.set(r.run_id, (list = []))
              list.push({ seq: r.seq, body: r.body })
            }
            return out
          })
        ),
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
        ).pipe(
          Effect.map((parts) => {
            const out = new Map<string, Array<HistoryEvent>>()
            for (const row of parts.flat()) {
              let list = out.get(row.run_id)
              if (!list) out.set(row.run_id, (list = []))
              list.push(JSON.parse(row.body) as HistoryEvent)
            }
            return out
          })
        ),
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
        }).pipe(
          Effect.map(({ usage, failed }) => ({
            llmUsage: { calls: usage[0]?.calls ?? 0, totalTokens: usage[0]?.totalTokens ?? 0 },
            failedAttempts: new Map(failed.map((r) => [r.cmd, r.attempt]))
          }))
        ),
      timers: read(
        sql<{ run_id: string; cmd: number; fire_at: number }>`SELECT run_id, cmd, fire_at FROM timers`,
        "reading timers"
      ).pipe(Effect.map((rows) => rows.map((r) => ({ runId: r.run_id, cmd: r.cmd, fireAt: r.fire_at })))),
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
      unnotifiedChildren: read(
        sql<RunRecord>`SELECT * FROM runs WHERE parent_run_id IS NOT NULL AND parent_notified = 0
          AND status NOT IN ('running', 'stuck', 'continued-as-new')`,
        "reading children"
      ).pipe(Effect.map((rows) => rows.map(fromRecord))),
      orphans: read(
        sql<{ run_id: string }>`SELECT c.run_id FROM runs c JOIN runs p ON p.run_id = c.parent_run_id
          WHERE c.status IN ('running', 'stuck') AND p.status NOT IN ('running', 'stuck')`,
        "reading orphaned children"
      ).pipe(Effect.map((rows) => rows.map((r) => r.run_id))),
      inheritedCancels: read(
        sql<{ run_id: string }>`SELECT c.run_id FROM runs o JOIN runs c
            ON c.workflow_id = o.workflow_id AND c.current = 1 AND c.run_id <> o.run_id
          WHERE o.status = 'continued-as-new' AND o.cancel_requested = 1 AND o.parent_run_id IS NOT NULL
            AND c.parent_run_id = o.parent_run_id AND c.status IN ('running', 'stuck')
            AND c.cancel_requested = 0`,
        "reading inherited cancels"
      ).pipe(Effect.map((rows) => rows.map((r) => r.run_id)))
    })
  })

/** The SQLite store on `filename`, held (and locked) for the life of the layer. */
export const SqliteStore = (options: SqliteStoreOptions): Layer.Layer<WorkflowStore, StoreError> =>
  Layer.scoped(WorkflowStore, make(options))
