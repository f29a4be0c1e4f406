/**
 * The PostgreSQL store: the `WorkflowStore` contract (../contract.ts) on a database named by a
 * `postgres://` URL, through @effect/sql-pg. Commits go through the writer (writer.ts), the
 * session that holds the database for this engine; reads go through a pool beside it.
 *
 * Invariants (beyond the contract's):
 * 1. One engine per database until shard leases exist: the writer's advisory lock (contract
 *    invariant 6) is taken before anything is read or written.
 * 2. A commit that returns is durable: the writer's session runs with
 *    `synchronous_commit = on` unless the engine was configured with `synchronous: "NORMAL"`.
 * 3. Everything lives in the `temporal_lite` schema; a database whose `temporal_lite` schema
 *    holds other tables, or that a newer engine stamped, or that is not UTF-8, is refused
 *    before anything is written (contract invariant 7).
 */
import * as Reactivity from "@effect/experimental/Reactivity"
import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as os from "node:os"
import type { HistoryEvent } from "../../../core"
import { StoreError } from "../../errors"
import { WorkflowStore } from "../contract"
import { historiesByRun, historyFactsOf, recoveryReads, segmentsByRun, timerRows } from "../queries"
import { fromRecord, rowsOf, type RunRecord, type RunTail } from "../run-record"
import { parseDatabaseUrl, type Database } from "./connection"
import { connectError, storeError } from "./postgres-errors"
import { migrations, SCHEMA, SCHEMA_VERSION } from "./migrations"
import { commitStatements, SELECT_ROWS, SELECT_RUNS } from "./statements"
import { makeWriter } from "./writer"

export interface PostgresStoreOptions {
  /** `postgres://user:password@host:port/database` (`postgresql://` too). */
  readonly url: string
  /** FULL (default): a commit returns once durable. NORMAL: a server crash may drop the last commits. */
  readonly synchronous?: "FULL" | "NORMAL" | undefined
  /** Connections for reads, beside the writer's (default 8). */
  readonly readConnections?: number | undefined
}

/** Contract invariant 7 and store invariant 3: refuse what is not ours, or newer, or not UTF-8. */
const checkDatabase = (sql: SqlClient.SqlClient, db: Database) =>
  Effect.gen(function* () {
    const [encoding] = yield* sql<{ server_encoding: string }>`SHOW server_encoding`
    if (encoding?.server_encoding !== "UTF8") {
      return yield* new StoreError({
        reason: "NotOurs",
        message: `${db.named} is encoded ${encoding?.server_encoding}; Temporal Lite needs a UTF8 database (CREATE DATABASE … ENCODING 'UTF8')`
      })
    }
    const tables = yield* sql<{ name: string }>`SELECT table_name AS name FROM information_schema.tables
      WHERE table_schema = ${SCHEMA} ORDER BY table_name`
    if (tables.length === 0) return
    const names = tables.map((t) => t.name)
    if (!names.includes("meta")) {
      return yield* new StoreError({
        reason: "NotOurs",
        message: `${db.named} has a schema "${SCHEMA}" that is not Temporal Lite's (tables: ${names.slice(0, 5).join(", ")}); refusing to touch it`
      })
    }
    const [row] = yield* sql<{
      value: string
    }>`SELECT value FROM temporal_lite.meta WHERE key = 'schema_version'`
    const version = Number(row?.value ?? 0)
    if (version > SCHEMA_VERSION) {
      return yield* new StoreError({
        reason: "NewerSchema",
        message: `${db.named} has schema version ${version}, newer than this engine's ${SCHEMA_VERSION}; upgrade Temporal Lite to open it (nothing was changed)`
      })
    }
  }).pipe(Effect.catchTag("SqlError", (e) => Effect.fail(storeError(db, "reading the schema")(e))))

const migrate = (sql: SqlClient.SqlClient, db: Database) =>
  Effect.gen(function* () {
    yield* sql`CREATE SCHEMA IF NOT EXISTS temporal_lite`
    yield* Migrator.make({})({
      loader: Migrator.fromRecord(migrations),
      table: `${SCHEMA}.migrations`
    }).pipe(Effect.provideService(SqlClient.SqlClient, sql))
    yield* sql`INSERT INTO temporal_lite.meta (key, value) VALUES ('schema_version', ${String(SCHEMA_VERSION)})
      ON CONFLICT (key) DO UPDATE SET value = excluded.value`
  }).pipe(Effect.mapError(storeError(db, "migrating")))

const make = (options: PostgresStoreOptions) =>
  Effect.gen(function* () {
    const parsed = parseDatabaseUrl(options.url)
    if (parsed instanceof StoreError) return yield* parsed
    const db = parsed
    const holder = `temporal-lite ${os.hostname()} pid ${process.pid}`
    const sql = yield* PgClient.make({
      url: Redacted.make(options.url),
      applicationName: holder,
      maxConnections: 1 + (options.readConnections ?? 8),
      connectTimeout: "10 seconds"
    }).pipe(Effect.provide(Reactivity.layer), Effect.mapError(connectError(db)))
    const writer = yield* makeWriter({
      sql,
      db,
      holder,
      synchronousCommit: options.synchronous === "NORMAL" ? "off" : "on"
    })
    yield* checkDatabase(sql, db)
    yield* migrate(sql, db)
    yield* writer.take

    const read = <A>(effect: Effect.Effect<A, unknown>, what: string) =>
      effect.pipe(Effect.mapError(storeError(db, what)), Effect.withTracerEnabled(false))
    const runs = (rows: ReadonlyArray<RunRecord & RunTail>) => rows.map(fromRecord)
    const selectRuns = sql.literal(SELECT_RUNS)

    return WorkflowStore.of({
      commit: (w) => writer.commit(commitStatements(w, rowsOf(w))).pipe(Effect.withTracerEnabled(false)),
      currentRun: (workflowId) =>
        read(
          sql<RunRecord & RunTail>`${selectRuns} WHERE r.workflow_id = ${workflowId} AND r.current = 1`,
          "reading a run"
        ).pipe(Effect.map((rows) => (rows[0] ? fromRecord(rows[0]) : undefined))),
      runsByIds: (runIds) =>
        read(
          sql<RunRecord & RunTail>`${selectRuns} WHERE r.run_id = ANY(${runIds}::text[])`,
          "reading runs"
        ).pipe(Effect.map(runs)),
      snapshotsOf: (runIds) =>
        read(
          sql<{
            run_id: string
            seq: number
            body: string
          }>`SELECT run_id, seq, body FROM temporal_lite.snapshots
            WHERE run_id = ANY(${runIds}::text[]) ORDER BY run_id, seq`,
          "reading snapshots"
        ).pipe(Effect.map(segmentsByRun)),
      historiesOf: (wanted) =>
        read(
          sql<{ run_id: string; body: string }>`SELECT e.run_id, e.body
            FROM unnest(${wanted.map((w) => w.runId)}::text[], ${wanted.map((w) => w.afterSeq)}::int[]) AS w(run_id, after_seq)
            JOIN temporal_lite.events e ON e.run_id = w.run_id AND e.seq > w.after_seq
            ORDER BY e.run_id, e.seq`,
          "reading histories"
        ).pipe(Effect.map(historiesByRun)),
      openRuns: read(
        sql<RunRecord & RunTail>`${selectRuns} WHERE r.status IN ('running', 'stuck')`,
        "reading open runs"
      ).pipe(Effect.map(runs)),
      events: (runId, afterSeq = 0) =>
        read(
          sql<{ body: string }>`SELECT body FROM temporal_lite.events
            WHERE run_id = ${runId} AND seq > ${afterSeq} ORDER BY seq`,
          "reading history"
        ).pipe(Effect.map((rows) => rows.map((r) => JSON.parse(r.body) as HistoryEvent))),
      historyFacts: (runId) =>
        Effect.all({
          usage: read(
            sql<{ calls: number; totalTokens: number }>`SELECT count(*)::int AS calls,
                coalesce(sum((body::json #>> '{result,usage,totalTokens}')::float8), 0)::float8 AS "totalTokens"
              FROM temporal_lite.events
              WHERE run_id = ${runId} AND body::json ->> 'type' = 'ActivityCompleted'
                AND json_typeof(body::json #> '{result,usage,totalTokens}') = 'number'`,
            "reading LLM usage"
          ),
          failed: read(
            sql<{ cmd: number; attempt: number }>`SELECT (body::json ->> 'cmd')::int AS cmd,
                max((body::json ->> 'attempt')::int) AS attempt
              FROM temporal_lite.events
              WHERE run_id = ${runId} AND body::json ->> 'type' = 'ActivityAttemptFailed'
              GROUP BY 1`,
            "reading failed attempts"
          )
        }).pipe(Effect.map(historyFactsOf)),
      timers: read(
        sql<{ run_id: string; cmd: number; fire_at: number }>`SELECT run_id, cmd, fire_at::float8 AS fire_at
          FROM temporal_lite.timers`,
        "reading timers"
      ).pipe(Effect.map(timerRows)),
      listRuns: (q) =>
        read(
          sql<RunRecord & RunTail>`${selectRuns} WHERE r.current = 1
            ${q.status ? sql`AND r.status = ${q.status}` : sql``}
            ${q.type ? sql`AND r.type = ${q.type}` : sql``}
            ${q.idPrefix ? sql`AND r.workflow_id >= ${q.idPrefix} AND starts_with(r.workflow_id, ${q.idPrefix})` : sql``}
            ${q.closedAfter === undefined ? sql`` : sql`AND r.closed_at >= ${q.closedAfter}`}
            ${q.closedBefore === undefined ? sql`` : sql`AND r.closed_at < ${q.closedBefore}`}
            ${q.before ? sql`AND (r.created_at < ${q.before.createdAt} OR (r.created_at = ${q.before.createdAt} AND r.run_id < ${q.before.runId}))` : sql``}
            ORDER BY r.created_at DESC, r.run_id DESC LIMIT ${q.limit}`,
          "listing runs"
        ).pipe(Effect.map(runs)),
      ...recoveryReads(sql, read, { runs: "temporal_lite.runs", rows: SELECT_ROWS })
    })
  })

/**
 * The PostgreSQL store on the database `url` names, held (and locked) for the life of the
 * layer. Fails at build with one `StoreError` naming the host and the cause when the database
 * cannot be reached or refuses us, `Locked` when another engine holds it, `NewerSchema` or
 * `NotOurs` when it is not ours to write.
 *
 * @example
 * const store = PostgresStore({ url: "postgres://app:secret@db.internal/workflows" })
 */
export const PostgresStore = (options: PostgresStoreOptions): Layer.Layer<WorkflowStore, StoreError> =>
  Layer.scoped(WorkflowStore, make(options))
