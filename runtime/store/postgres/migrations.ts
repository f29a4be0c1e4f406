/**
 * The PostgreSQL store's schema, as @effect/sql migrations, in a schema of its own
 * (`temporal_lite`) so it shares a database with an application's tables without touching
 * them. Append new migrations; never edit one that has shipped. `SCHEMA_VERSION` is the newest
 * migration id: a database stamped with a higher one was written by a newer engine and is
 * refused.
 *
 * The columns are SQLite's (runtime/store/run-record.ts reads both), with PostgreSQL's types:
 * ids compare as bytes (`COLLATE "C"`, so listings page in the same order on both stores),
 * times are epoch milliseconds in BIGINT, read back as float8 (exact below 2^53).
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"

/** The schema that holds every table of the store. */
export const SCHEMA = "temporal_lite"

export const migrations = {
  "1_initial": Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* sql`CREATE TABLE temporal_lite.meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`
    // The single owner (contract invariant 6): `epoch` grows each time an engine takes the
    // database, and every commit checks it and counts itself in `commits` in its own
    // transaction, so a commit whose answer was lost can be looked up.
    yield* sql`CREATE TABLE temporal_lite.owner (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      epoch BIGINT NOT NULL,
      commits BIGINT NOT NULL,
      holder TEXT NOT NULL,
      since BIGINT NOT NULL
    )`
    yield* sql`INSERT INTO temporal_lite.owner (id, epoch, commits, holder, since) VALUES (1, 0, 0, '', 0)`
    yield* sql`CREATE TABLE temporal_lite.runs (
      run_id TEXT COLLATE "C" PRIMARY KEY,
      workflow_id TEXT COLLATE "C" NOT NULL,
      type TEXT NOT NULL,
      status TEXT NOT NULL,
      input TEXT NOT NULL,
      result TEXT,
      error TEXT,
      divergence TEXT,
      parent_workflow_id TEXT COLLATE "C",
      parent_run_id TEXT COLLATE "C",
      parent_cmd INTEGER,
      created_at BIGINT NOT NULL,
      updated_at BIGINT NOT NULL,
      closed_at BIGINT,
      last_seq INTEGER NOT NULL,
      last_event_type TEXT,
      current INTEGER NOT NULL,
      parent_notified INTEGER NOT NULL DEFAULT 0,
      cancel_requested INTEGER NOT NULL DEFAULT 0
    )`
    yield* sql`CREATE UNIQUE INDEX runs_current ON temporal_lite.runs (workflow_id) WHERE current = 1`
    yield* sql`CREATE INDEX runs_listing ON temporal_lite.runs (current, created_at DESC, run_id DESC)`
    yield* sql`CREATE INDEX runs_status ON temporal_lite.runs (status)`
    yield* sql`CREATE INDEX runs_parent ON temporal_lite.runs (parent_run_id) WHERE parent_run_id IS NOT NULL`
    yield* sql`CREATE TABLE temporal_lite.events (
      run_id TEXT COLLATE "C" NOT NULL,
      seq INTEGER NOT NULL,
      body TEXT NOT NULL,
      PRIMARY KEY (run_id, seq)
    )`
    yield* sql`CREATE TABLE temporal_lite.timers (
      run_id TEXT COLLATE "C" NOT NULL,
      cmd INTEGER NOT NULL,
      fire_at BIGINT NOT NULL,
      PRIMARY KEY (run_id, cmd)
    )`
    // Snapshot segments (runtime/snapshot.ts): each run's in seq order, one row each.
    yield* sql`CREATE TABLE temporal_lite.snapshots (
      run_id TEXT COLLATE "C" NOT NULL,
      seq INTEGER NOT NULL,
      body TEXT NOT NULL,
      PRIMARY KEY (run_id, seq)
    )`
  })
}

export const SCHEMA_VERSION = 1
