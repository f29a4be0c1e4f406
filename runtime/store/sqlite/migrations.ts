/**
 * The store's schema, as @effect/sql migrations. Append new migrations; never edit one that
 * has shipped. `SCHEMA_VERSION` is the newest migration id: a file stamped with a higher one
 * was written by a newer engine and is refused.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"

export const migrations = {
  "1_initial": Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* sql`CREATE TABLE temporal_lite_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`
    yield* sql`CREATE TABLE runs (
      run_id TEXT PRIMARY KEY,
      workflow_id TEXT NOT NULL,
      type TEXT NOT NULL,
      status TEXT NOT NULL,
      input TEXT NOT NULL,
      result TEXT,
      error TEXT,
      divergence TEXT,
      parent_workflow_id TEXT,
      parent_run_id TEXT,
      parent_cmd INTEGER,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL,
      closed_at INTEGER,
      last_seq INTEGER NOT NULL,
      last_event_type TEXT,
      current INTEGER NOT NULL,
      parent_notified INTEGER NOT NULL DEFAULT 0,
      cancel_requested INTEGER NOT NULL DEFAULT 0
    )`
    yield* sql`CREATE UNIQUE INDEX runs_current ON runs (workflow_id) WHERE current = 1`
    yield* sql`CREATE INDEX runs_listing ON runs (current, created_at DESC, run_id DESC)`
    yield* sql`CREATE INDEX runs_status ON runs (status)`
    yield* sql`CREATE INDEX runs_parent ON runs (parent_run_id) WHERE parent_run_id IS NOT NULL`
    yield* sql`CREATE TABLE events (
      run_id TEXT NOT NULL,
      seq INTEGER NOT NULL,
      body TEXT NOT NULL,
      PRIMARY KEY (run_id, seq)
    ) WITHOUT ROWID`
    yield* sql`CREATE TABLE timers (
      run_id TEXT NOT NULL,
      cmd INTEGER NOT NULL,
      fire_at INTEGER NOT NULL,
      PRIMARY KEY (run_id, cmd)
    ) WITHOUT ROWID`
    yield* sql`CREATE TABLE tasks (
      run_id TEXT NOT NULL,
      workflow_id TEXT NOT NULL,
      cmd INTEGER NOT NULL,
      name TEXT NOT NULL,
      input TEXT NOT NULL,
      options TEXT NOT NULL,
      attempt INTEGER NOT NULL,
      next_attempt_at INTEGER NOT NULL,
      heartbeat TEXT,
      PRIMARY KEY (run_id, cmd)
    ) WITHOUT ROWID`
    yield* sql`CREATE TABLE snapshots (run_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, body TEXT NOT NULL)`
  }),
  // Open activities are read from the histories (a row written and deleted per activity cost
  // about 7% of the engine's throughput). Heartbeat details of attempts that failed before
  // this migration were kept only here: those retries start without them.
  "2_activities_from_history": Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* sql`DROP TABLE tasks`
  }),
  // Snapshots in segments, each the events since the previous one (a snapshot rewrote the
  // whole compact history: 1.3 GiB written for a 4.7 MB one). A snapshot of before becomes
  // its run's first segment, which the engine still reads (runtime/snapshot.ts).
  "3_snapshot_segments": Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* sql`CREATE TABLE snapshot_segments (
      run_id TEXT NOT NULL,
      seq INTEGER NOT NULL,
      body TEXT NOT NULL,
      PRIMARY KEY (run_id, seq)
    ) WITHOUT ROWID`
    yield* sql`INSERT INTO snapshot_segments (run_id, seq, body) SELECT run_id, seq, body FROM snapshots`
    yield* sql`DROP TABLE snapshots`
    yield* sql`ALTER TABLE snapshot_segments RENAME TO snapshots`
  })
}

export const SCHEMA_VERSION = 3
