/**
 * `npm start` with DATABASE_URL: the server runs on PostgreSQL (real child processes, the
 * run's PostgreSQL server), and a database it cannot use stops it at start with one line
 * naming the host and the cause.
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import * as Effect from "effect/Effect"
import { expect, it } from "vitest"
import { freePort } from "../support/postgres-server"
import {
  describePostgres,
  freshDatabase,
  needsThrowawayServer,
  postgresServerUrl,
  queryDatabase
} from "../support/postgres"
import { REGISTRY, repoRoot, request, tempDir } from "./support"
import { spawnServer, until, waitForClose } from "../../scripts/server-process"

const serverEnv = (dataDir: string, databaseUrl: string) => ({
  ...process.env,
  HOST: "127.0.0.1",
  PORT: "0",
  DB_PATH: path.join(dataDir, "temporal-lite.db"),
  DATABASE_URL: databaseUrl,
  TEMPORAL_LITE_REGISTRY: REGISTRY,
  TEMPORAL_LITE_TOKEN: ""
})

/** `npm start`'s entry until it exits: its exit code and everything it printed. */
const startToExit = (env: Record<string, string | undefined>) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", path.join(repoRoot, "server", "main.ts")], {
      cwd: repoRoot,
      env,
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()))
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
    child.on("exit", (code) => resolve({ code, stdout, stderr }))
  })

describePostgres("the server on PostgreSQL", () => {
  it("DATABASE_URL selects PostgreSQL: the start line names the database (not its password), and workflows run there", async () => {
    const url = await Effect.runPromise(freshDatabase("server"))
    const dataDir = tempDir("pg-server")
    const server = await spawnServer({ env: serverEnv(dataDir, url) })
    try {
      const u = new URL(url)
      const line = `  database   PostgreSQL database "${u.pathname.slice(1)}" on ${u.hostname}:${u.port} (synchronous_commit=on)`
      await until("the start lines", () => server.output().includes("  workflows  "))
      expect(server.output()).toContain(line)
      if (u.password) expect(server.output()).not.toContain(u.password)
      const started = await request(server.url, "POST", "/api/workflows", {
        type: "waiter",
        input: 4,
        id: "pg-1"
      })
      expect(started.status).toBe(201)
      await until(
        "pg-1 to wait for its signal",
        async () =>
          (await request(server.url, "GET", "/api/workflows/pg-1")).body.pending?.signals?.length === 1
      )
      expect(
        (await request(server.url, "POST", "/api/workflows/pg-1/signal", { signalName: "go", data: {} }))
          .status
      ).toBe(202)
      expect(await waitForClose(server.url, "pg-1")).toMatchObject({ status: "completed" })
      const rows = await Effect.runPromise(
        queryDatabase<{ workflow_id: string; status: string }>(
          url,
          "SELECT workflow_id, status FROM temporal_lite.runs"
        )
      )
      expect(rows).toEqual([{ workflow_id: "pg-1", status: "completed" }])
      expect(fs.existsSync(path.join(dataDir, "temporal-lite.db"))).toBe(false)
    } finally {
      await server.stop()
    }
  })

  it("bad input: a second server on the same database is refused at start, naming the first", async () => {
    const url = await Effect.runPromise(freshDatabase("server_twice"))
    const first = await spawnServer({ env: serverEnv(tempDir("pg-first"), url) })
    try {
      const second = await startToExit(serverEnv(tempDir("pg-second"), url))
      expect(second.code).toBe(1)
      const lines = second.stderr.trim().split("\n")
      expect(lines).toHaveLength(1)
      expect(lines[0]).toMatch(
        new RegExp(
          `^temporal-lite: cannot open the database \\(Locked\\): database "\\w+" on [\\d.]+:\\d+ is in use by another Temporal Lite engine \\(temporal-lite \\S+ pid ${first.child.pid}, connected since [^)]+\\); one engine owns one database$`
        )
      )
    } finally {
      await first.stop()
    }
  })

  it("bad input: nothing listening at DATABASE_URL stops the server with one line naming the host and the cause", async () => {
    const port = await freePort()
    const { code, stdout, stderr } = await startToExit(
      serverEnv(tempDir("pg-unreachable"), `postgres://app:secret@127.0.0.1:${port}/workflows`)
    )
    expect(code).toBe(1)
    expect(stdout).toBe("")
    expect(stderr).toBe(
      `temporal-lite: cannot open the database (Unavailable): cannot connect to PostgreSQL at 127.0.0.1:${port} (database "workflows", user "app"): connect ECONNREFUSED 127.0.0.1:${port}\n`
    )
  })

  it("bad input: a wrong password stops the server with one line, naming host and cause and not the password", async () => {
    needsThrowawayServer()
    const url = new URL(await postgresServerUrl())
    url.password = "wrong-secret"
    const { code, stderr } = await startToExit(serverEnv(tempDir("pg-password"), url.toString()))
    expect(code).toBe(1)
    expect(stderr).toBe(
      `temporal-lite: cannot open the database (Denied): cannot connect to PostgreSQL at ${url.hostname}:${url.port} (database "postgres", user "temporal_lite"): password authentication failed for user "temporal_lite" (28P01)\n`
    )
  })
})
