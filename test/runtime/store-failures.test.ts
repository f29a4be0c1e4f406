/**
 * A store that fails under the engine names the cause (issue 22 item 4): each store's codes
 * classified, a commit on a full disk, a database on a read-only file system. The disk-full
 * and read-only cases run on a real tmpfs of a few hundred KiB (root only; skipped with a line
 * saying so otherwise).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as path from "node:path"
import { defineSignal, waitForSignal, workflow } from "../../core"
import { Engine, EngineLive, parseDatabaseUrl, StoreError } from "../../runtime"
import type { Database } from "../../runtime/store/postgres/connection"
import { storeError } from "../../runtime/store/postgres/postgres-errors"
import { classify, storeErrorOf } from "../../runtime/store/sqlite/sqlite-errors"
import { capturedLogs } from "../support/captured-logs"
import { settle } from "../support/engine-harness"
import { smallDisk } from "../support/small-disk"

const Note = defineSignal("note", Schema.String)
const inbox = workflow("inbox", { input: Schema.Null, signals: [Note] }, function* () {
  const note = yield* waitForSignal(Note)
  return note.length
})

const engineOn = (dir: string) =>
  EngineLive({ dbPath: path.join(dir, "temporal-lite.db"), workflows: [inbox], activities: [] })

const sqliteError = (code: string, message: string) => Object.assign(new Error(message), { code })

describe("the cause of a store failure", () => {
  it("SQLite's and the OS's codes are classified into the StoreError reason, and the message names the cause", () => {
    const cases = [
      sqliteError("SQLITE_FULL", "database or disk is full"),
      sqliteError("SQLITE_READONLY", "attempt to write a readonly database"),
      sqliteError("SQLITE_READONLY_DBMOVED", "attempt to write a readonly database"),
      sqliteError("SQLITE_IOERR_FSYNC", "disk I/O error"),
      sqliteError("SQLITE_BUSY", "database is locked"),
      sqliteError("SQLITE_CORRUPT", "database disk image is malformed"),
      sqliteError("SQLITE_CONSTRAINT_UNIQUE", "UNIQUE constraint failed: runs.workflow_id"),
      sqliteError("SQLITE_TOOBIG", "string or blob too big"),
      Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" }),
      Object.assign(new Error("EROFS: read-only file system, mkdir '/ro/data'"), { code: "EROFS" }),
      Object.assign(new Error("ENOTDIR: not a directory, mkdir '/f/data'"), { code: "ENOTDIR" }),
      new Error("something else")
    ]
    // As @effect/sql hands them over: a SqlError whose cause is SQLite's error.
    const wrapped = cases.map((cause) => ({
      _tag: "SqlError",
      message: "Failed to execute statement",
      cause
    }))
    expect(wrapped.map((e) => [classify(e), storeErrorOf("commit to tl.db failed")(e).message])).toEqual([
      ["DiskFull", "commit to tl.db failed: disk full (SQLITE_FULL: database or disk is full)"],
      [
        "ReadOnly",
        "commit to tl.db failed: read-only (SQLITE_READONLY: attempt to write a readonly database)"
      ],
      [
        "ReadOnly",
        "commit to tl.db failed: read-only (SQLITE_READONLY_DBMOVED: attempt to write a readonly database)"
      ],
      ["Io", "commit to tl.db failed: I/O error (SQLITE_IOERR_FSYNC: disk I/O error)"],
      ["Busy", "commit to tl.db failed: busy (SQLITE_BUSY: database is locked)"],
      ["Corrupt", "commit to tl.db failed: corrupt (SQLITE_CORRUPT: database disk image is malformed)"],
      [
        "Rejected",
        "commit to tl.db failed: write refused (SQLITE_CONSTRAINT_UNIQUE: UNIQUE constraint failed: runs.workflow_id)"
      ],
      ["Rejected", "commit to tl.db failed: write refused (SQLITE_TOOBIG: string or blob too big)"],
      ["DiskFull", "commit to tl.db failed: disk full (ENOSPC: no space left on device, write)"],
      ["ReadOnly", "commit to tl.db failed: read-only (EROFS: read-only file system, mkdir '/ro/data')"],
      ["Io", "commit to tl.db failed: ENOTDIR: not a directory, mkdir '/f/data'"],
      ["Io", "commit to tl.db failed: something else"]
    ])
  })

  it("PostgreSQL's codes are classified into the same reasons; only a write set's own statements fail with Rejected", () => {
    const db = parseDatabaseUrl("postgres://app@db.internal:5432/tl") as Database
    // As @effect/sql hands them over: a SqlError whose cause is node-postgres's error.
    const pgError = (code: string, message: string, detail?: string) => ({
      _tag: "SqlError",
      message: "Failed to execute statement",
      cause: Object.assign(new Error(message), { code, detail })
    })
    const commitFailed = storeError(db, "a commit", { writes: true })
    const at = `a commit on database "tl" on db.internal:5432 failed`
    expect(
      [
        pgError("53100", 'could not extend file "base/16384/16399": No space left on device'),
        pgError("25006", "cannot execute INSERT in a read-only transaction"),
        pgError("58030", 'could not write to file "pg_wal/xlogtemp.42": Input/output error'),
        pgError("40001", "could not serialize access due to concurrent update"),
        pgError("40P01", "deadlock detected"),
        pgError("55P03", "could not obtain lock on row"),
        pgError(
          "23505",
          'duplicate key value violates unique constraint "events_pkey"',
          "Key (run_id, seq)=(r1, 1) already exists."
        ),
        pgError("22001", "value too long for type character varying(8)"),
        pgError("54000", "index row size 9000 exceeds btree version 4 maximum 2704"),
        pgError("42P01", 'relation "temporal_lite.runs" does not exist'),
        { _tag: "SqlError", message: "Failed", cause: new Error("Connection terminated unexpectedly") }
      ]
        .map(commitFailed)
        .map((e) => [e.reason, e.message])
    ).toEqual([
      [
        "DiskFull",
        `${at}: disk full (53100: could not extend file "base/16384/16399": No space left on device)`
      ],
      ["ReadOnly", `${at}: read-only (25006: cannot execute INSERT in a read-only transaction)`],
      ["Io", `${at}: I/O error (58030: could not write to file "pg_wal/xlogtemp.42": Input/output error)`],
      ["Busy", `${at}: busy (40001: could not serialize access due to concurrent update)`],
      ["Busy", `${at}: busy (40P01: deadlock detected)`],
      ["Busy", `${at}: busy (55P03: could not obtain lock on row)`],
      [
        "Rejected",
        `${at}: write refused (23505: duplicate key value violates unique constraint "events_pkey"; Key (run_id, seq)=(r1, 1) already exists.)`
      ],
      ["Rejected", `${at}: write refused (22001: value too long for type character varying(8))`],
      ["Rejected", `${at}: write refused (54000: index row size 9000 exceeds btree version 4 maximum 2704)`],
      ["Io", `${at}: 42P01: relation "temporal_lite.runs" does not exist`],
      ["Unavailable", `${at}: unreachable (Connection terminated unexpectedly)`]
    ])
    // Refused data outside a commit's writes (a migration, a read) is the store's fault.
    const migrating = storeError(db, "migrating")(pgError("23505", "duplicate key value"))
    expect([migrating.reason, migrating.message]).toEqual([
      "Io",
      'migrating on database "tl" on db.internal:5432 failed: 23505: duplicate key value'
    ])
  })

  it.scoped(
    "a commit on a full disk fails with DiskFull naming the cause, in the error and the log; nothing stored is lost and commits go on once space is freed",
    () => {
      const logs = capturedLogs()
      return Effect.gen(function* () {
        const disk = yield* smallDisk("1m")
        yield* Effect.gen(function* () {
          const engine = yield* Engine
          yield* engine.start("inbox", null, { id: "w1" })
          yield* settle
          disk.fill()
          // Larger than what the write-ahead file holds already: the commit must grow it.
          const note = "n".repeat(300_000)
          const error = yield* Effect.flip(engine.signal("w1", "note", note))
          const dbPath = path.join(disk.dir, "temporal-lite.db")
          const cause = `commit to ${dbPath} failed: disk full (SQLITE_FULL: database or disk is full)`
          expect(error).toBeInstanceOf(StoreError)
          expect([(error as StoreError).reason, error.message]).toEqual(["DiskFull", cause])
          expect(logs.lines.filter((line) => line.includes("disk full"))).toEqual([
            `ERROR commits fail: ${cause}`
          ])
          yield* settle
          expect((yield* engine.describe("w1")).status).toBe("running")
          disk.free()
          yield* engine.signal("w1", "note", note)
          yield* settle
          const done = yield* engine.describe("w1")
          expect([done.status, done.result]).toEqual(["completed", 300_000])
          expect(logs.lines.filter((line) => line.includes("commits go through again"))).toHaveLength(1)
        }).pipe(Effect.provide(engineOn(disk.dir)))
      }).pipe(Effect.provide(logs.layer))
    }
  )

  it.scoped("a database on a read-only file system is refused at open with ReadOnly, naming the file", () =>
    Effect.gen(function* () {
      const disk = yield* smallDisk("1m")
      yield* Effect.scoped(Layer.build(engineOn(disk.dir)))
      disk.makeReadOnly()
      const error = yield* Effect.flip(Layer.build(engineOn(disk.dir)))
      expect([error.reason, error.message]).toEqual([
        "ReadOnly",
        `cannot open ${path.join(disk.dir, "temporal-lite.db")}: read-only (EROFS: read-only file system, access '${disk.dir}')`
      ])
    })
  )
})
