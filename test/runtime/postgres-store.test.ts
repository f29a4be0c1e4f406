/**
 * What the PostgreSQL store does beyond the shared contract: its writer session lost, its
 * database taken by another engine, a COMMIT whose answer never came (runtime/store/postgres/
 * writer.ts, invariants named in the titles), and the databases it refuses at start.
 */
import { expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as fs from "node:fs"
import { workflow } from "../../core"
import { Engine, EngineLive, PostgresStore, type StoreError } from "../../runtime"
import { WorkflowStore } from "../../runtime/store"
import { awaitClosed, tempDb } from "../support/engine-harness"
import { freePort } from "../support/postgres-server"
import {
  databaseUrl,
  describePostgres,
  freshDatabase,
  needsThrowawayServer,
  postgresServerUrl,
  queryDatabase
} from "../support/postgres"
import { run, starting } from "../support/store-rows"
import { startTcpProxy } from "../support/tcp-proxy"

/** The writes that start a run under id `id` (run id `run-<id>`). */
const start = (id: string) => starting(run({ runId: `run-${id}`, workflowId: id }))

/** An open store on `url`, and what closes it. */
const openStore = (url: string) =>
  Effect.gen(function* () {
    const scope = yield* Effect.scope
    const context = yield* Layer.buildWithScope(PostgresStore({ url }), scope)
    return Context.get(context, WorkflowStore)
  })

/** A TCP proxy in front of the database's server for the test's life, and the URL through it. */
const behindProxy = (url: string) =>
  Effect.gen(function* () {
    const target = new URL(url)
    const proxy = yield* Effect.acquireRelease(
      Effect.promise(() => startTcpProxy({ host: target.hostname, port: Number(target.port) })),
      (p) => Effect.promise(p.close)
    )
    const through = new URL(url)
    through.port = String(proxy.port)
    return { arm: proxy.arm, url: through.toString() }
  })

/** The workflow ids with a current run in the database (read past any store). */
const idsIn = (url: string) =>
  Effect.map(
    queryDatabase<{ workflow_id: string }>(
      url,
      "SELECT workflow_id FROM temporal_lite.runs WHERE current = 1 ORDER BY workflow_id"
    ),
    (rows) => rows.map((r) => r.workflow_id)
  )

/** Ends the session holding the engine's lock on the database, as a server restart would, and waits until it has. */
const endWriterSession = (url: string) =>
  queryDatabase(
    url,
    `SELECT pg_terminate_backend(l.pid, 10000) FROM pg_locks l
     WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 21580 AND l.objid = 1
       AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`
  )

const failure = <A>(effect: Effect.Effect<A, StoreError>) =>
  Effect.map(Effect.flip(effect), (e) => ({ reason: e.reason, message: e.message }))

describePostgres("the PostgreSQL store", () => {
  it.scoped(
    "writer invariant 3: a writer session the server ended is replaced, and the next commit goes through",
    () =>
      Effect.gen(function* () {
        const url = yield* freshDatabase("writer_lost")
        const store = yield* openStore(url)
        yield* store.commit(start("a"))
        yield* endWriterSession(url)
        yield* store.commit(start("b"))
        expect(yield* idsIn(url)).toEqual(["a", "b"])
      })
  )

  it.scoped(
    "writer invariants 2 and 3: a store whose session was lost while another engine took the database is fenced for good",
    () =>
      Effect.gen(function* () {
        const url = yield* freshDatabase("writer_fenced")
        const first = yield* openStore(url)
        yield* first.commit(start("a"))
        yield* endWriterSession(url)
        // Another engine takes the database meanwhile and writes.
        yield* Effect.scoped(
          Effect.gen(function* () {
            const second = yield* openStore(url)
            yield* second.commit(start("b"))
            // While it holds the database, the first cannot take it back.
            const held = yield* failure(first.commit(start("c")))
            expect(held.reason).toBe("Fenced")
            expect(held.message).toMatch(
              /^database "\w+" on 127\.0\.0\.1:\d+: another engine took the database while this one was disconnected \(.* is in use by another Temporal Lite engine \(temporal-lite .* pid \d+, connected since .*\); one engine owns one database\); this engine writes nothing more \(restart it\)$/
            )
          })
        )
        // Released by the other, the database is still not the first's again.
        const after = yield* failure(first.commit(start("d")))
        expect(after.reason).toBe("Fenced")
        expect(yield* idsIn(url)).toEqual(["a", "b"])
      })
  )

  it.scoped(
    "writer invariants 2 and 3: a store the other engine wrote past while it was away is fenced when it reconnects",
    () =>
      Effect.gen(function* () {
        const url = yield* freshDatabase("writer_epoch")
        const first = yield* openStore(url)
        yield* first.commit(start("a"))
        yield* endWriterSession(url)
        yield* Effect.scoped(Effect.flatMap(openStore(url), (second) => second.commit(start("b"))))
        const fenced = yield* failure(first.commit(start("c")))
        expect(fenced.reason).toBe("Fenced")
        expect(fenced.message).toMatch(/: another engine wrote to it \(epoch 2, this engine's 1\);/)
        expect(yield* idsIn(url)).toEqual(["a", "b"])
      })
  )

  it.scoped(
    "writer invariant 4: a COMMIT whose answer was lost is looked up; it landed, so the commit succeeds once",
    () =>
      Effect.gen(function* () {
        const url = yield* freshDatabase("writer_answer_lost")
        const proxy = yield* behindProxy(url)
        const store = yield* openStore(proxy.url)
        yield* store.commit(start("a"))
        const cut = proxy.arm("COMMIT\u0000", "afterAnswer")
        yield* store.commit(start("b"))
        yield* Effect.promise(() => cut)
        expect(yield* idsIn(url)).toEqual(["a", "b"])
        // The store goes on, on a new session.
        yield* store.commit(start("c"))
        expect(yield* idsIn(url)).toEqual(["a", "b", "c"])
      })
  )

  it.scoped(
    "writer invariant 4: a COMMIT cut before the server saw it wrote nothing and fails with Unavailable; the next goes through",
    () =>
      Effect.gen(function* () {
        const url = yield* freshDatabase("writer_commit_cut")
        const proxy = yield* behindProxy(url)
        const store = yield* openStore(proxy.url)
        yield* store.commit(start("a"))
        const cut = proxy.arm("COMMIT\u0000", "before")
        const failed = yield* failure(store.commit(start("b")))
        yield* Effect.promise(() => cut)
        expect(failed.reason).toBe("Unavailable")
        expect(yield* idsIn(url)).toEqual(["a"])
        yield* store.commit(start("c"))
        expect(yield* idsIn(url)).toEqual(["a", "c"])
      })
  )

  it.live(
    "selection: EngineLive runs on the database DATABASE_URL names (read through Effect's Config), not on its SQLite file",
    () =>
      Effect.gen(function* () {
        const url = yield* freshDatabase("selection")
        const { dbPath } = tempDb("selection")
        const quick = workflow("quick", {}, function* () {
          return "done"
        })
        const status = yield* Effect.flatMap(Engine, (engine) =>
          engine.start("quick", undefined, { id: "chosen" })
        ).pipe(
          Effect.zipRight(awaitClosed("chosen")),
          Effect.provide(EngineLive({ dbPath, workflows: [quick], activities: [] })),
          Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["DATABASE_URL", url]])))
        )
        expect(status).toBe("completed")
        expect(yield* idsIn(url)).toEqual(["chosen"])
        expect(fs.existsSync(dbPath)).toBe(false)
      })
  )

  it.effect(
    "bad input: nothing listening at the URL's host is refused at start, naming the host and the cause",
    () =>
      Effect.gen(function* () {
        const port = yield* Effect.promise(freePort)
        const refused = yield* failure(
          Effect.scoped(
            Layer.build(PostgresStore({ url: `postgres://app:secret@127.0.0.1:${port}/workflows` }))
          )
        )
        expect(refused).toEqual({
          reason: "Unavailable",
          message: `cannot connect to PostgreSQL at 127.0.0.1:${port} (database "workflows", user "app"): connect ECONNREFUSED 127.0.0.1:${port}`
        })
      })
  )

  it.effect("bad input: an unknown user, and a database that does not exist, are refused with Denied", () =>
    Effect.gen(function* () {
      const server = new URL(yield* Effect.promise(postgresServerUrl))
      const stranger = new URL(server)
      stranger.username = "stranger"
      const unknownUser = yield* failure(
        Effect.scoped(Layer.build(PostgresStore({ url: stranger.toString() })))
      )
      expect(unknownUser.reason).toBe("Denied")
      expect(unknownUser.message).toMatch(
        new RegExp(
          `^cannot connect to PostgreSQL at ${server.hostname}:${server.port} \\(database "postgres", user "stranger"\\): .*"stranger".*$`
        )
      )
      const missing = yield* failure(
        Effect.scoped(Layer.build(PostgresStore({ url: databaseUrl(server.toString(), "no_such_database") })))
      )
      expect(missing).toEqual({
        reason: "Denied",
        message: `cannot connect to PostgreSQL at ${server.hostname}:${server.port} (database "no_such_database", user "${decodeURIComponent(server.username)}"): database "no_such_database" does not exist (3D000)`
      })
    })
  )

  it.effect("bad input: a wrong password is refused with Denied, the password never shown", () =>
    Effect.gen(function* () {
      needsThrowawayServer()
      const url = new URL(yield* Effect.promise(postgresServerUrl))
      url.password = "not-the-password"
      const denied = yield* failure(Effect.scoped(Layer.build(PostgresStore({ url: url.toString() }))))
      expect(denied).toEqual({
        reason: "Denied",
        message: `cannot connect to PostgreSQL at ${url.hostname}:${url.port} (database "postgres", user "temporal_lite"): password authentication failed for user "temporal_lite" (28P01)`
      })
    })
  )

  it.effect("bad input: a URL that is not postgres:// is refused before anything connects", () =>
    Effect.gen(function* () {
      const wrong = yield* failure(
        Effect.scoped(Layer.build(PostgresStore({ url: "mysql://app:secret@db/workflows" })))
      )
      expect(wrong).toEqual({
        reason: "Denied",
        message: "the database URL must be postgres:// or postgresql://, not mysql://…"
      })
      const garbage = yield* failure(Effect.scoped(Layer.build(PostgresStore({ url: "not a url" }))))
      expect(garbage.message).toBe(
        "the database URL is not a URL; expected postgres://user:password@host:port/database"
      )
    })
  )

  it.effect(
    "store invariant 3: a temporal_lite schema of another application is refused and left untouched",
    () =>
      Effect.gen(function* () {
        const url = yield* freshDatabase("foreign_schema")
        yield* queryDatabase(url, "CREATE SCHEMA temporal_lite")
        yield* queryDatabase(url, "CREATE TABLE temporal_lite.customers (id int primary key, name text)")
        const refused = yield* failure(Effect.scoped(Layer.build(PostgresStore({ url }))))
        const u = new URL(url)
        expect(refused).toEqual({
          reason: "NotOurs",
          message: `database "${u.pathname.slice(1)}" on ${u.hostname}:${u.port} has a schema "temporal_lite" that is not Temporal Lite's (tables: customers); refusing to touch it`
        })
        const tables = yield* queryDatabase<{ table_name: string }>(
          url,
          "SELECT table_name FROM information_schema.tables WHERE table_schema = 'temporal_lite'"
        )
        expect(tables).toEqual([{ table_name: "customers" }])
      })
  )

  it.effect("store invariant 3: a database that is not UTF-8 is refused before anything is written", () =>
    Effect.gen(function* () {
      const server = yield* Effect.promise(postgresServerUrl)
      const url = yield* freshDatabase("latin1")
      const name = new URL(url).pathname.slice(1)
      yield* queryDatabase(server, `DROP DATABASE "${name}"`)
      yield* queryDatabase(
        server,
        `CREATE DATABASE "${name}" ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0`
      )
      const refused = yield* failure(Effect.scoped(Layer.build(PostgresStore({ url }))))
      expect(refused.reason).toBe("NotOurs")
      expect(refused.message).toMatch(/ is encoded LATIN1; Temporal Lite needs a UTF8 database/)
      const schemas = yield* queryDatabase(
        url,
        "SELECT 1 FROM information_schema.schemata WHERE schema_name = 'temporal_lite'"
      )
      expect(schemas).toEqual([])
    })
  )
})
