/**
 * A throwaway PostgreSQL server from the system's binaries (Debian's `postgresql` package
 * puts them in /usr/lib/postgresql/<version>/bin): initdb in a temp folder, run as an
 * unprivileged user (PostgreSQL refuses root), on a free port of 127.0.0.1; and statements run on
 * a database past any store. Used by the test harness (postgres.ts) and the benchmarks.
 */
import * as Reactivity from "@effect/experimental/Reactivity"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { execFileSync, spawnSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"

export interface PostgresBinaries {
  readonly dir: string
  readonly version: string
}

const hasServer = (dir: string) =>
  ["postgres", "initdb", "pg_ctl"].every((name) => fs.existsSync(path.join(dir, name)))

/**
 * The folder of `postgres`, `initdb` and `pg_ctl`: from `pg_config --bindir`, else the newest
 * /usr/lib/postgresql/<version>/bin, else beside a `postgres` on the PATH; undefined when none.
 */
export const findPostgres = (): PostgresBinaries | undefined => {
  const candidates: Array<string> = []
  try {
    candidates.push(
      execFileSync("pg_config", ["--bindir"], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"]
      }).trim()
    )
  } catch {
    // No pg_config on the PATH.
  }
  const debian = "/usr/lib/postgresql"
  if (fs.existsSync(debian)) {
    const versions = fs
      .readdirSync(debian)
      .filter((v) => /^\d+(\.\d+)?$/.test(v))
      .sort((a, b) => Number(b) - Number(a))
    for (const v of versions) candidates.push(path.join(debian, v, "bin"))
  }
  for (const dir of (process.env["PATH"] ?? "").split(path.delimiter)) {
    const postgres = path.join(dir, "postgres")
    if (dir && fs.existsSync(postgres)) candidates.push(path.dirname(fs.realpathSync(postgres)))
  }
  const dir = candidates.find(hasServer)
  if (!dir) return undefined
  const version = execFileSync(path.join(dir, "postgres"), ["--version"], { encoding: "utf8" }).trim()
  return { dir, version }
}

/** Who runs the server: this process, or (as root) an unprivileged user PostgreSQL accepts. */
const serverUser = (): { readonly name: string; readonly uid: number; readonly gid: number } | undefined => {
  if (process.getuid?.() !== 0) return undefined
  for (const name of ["postgres", "nobody"]) {
    const uid = spawnSync("id", ["-u", name], { encoding: "utf8" })
    const gid = spawnSync("id", ["-g", name], { encoding: "utf8" })
    if (uid.status === 0 && gid.status === 0)
      return { name, uid: Number(uid.stdout), gid: Number(gid.stdout) }
  }
  throw new Error("running as root, and neither a postgres nor a nobody user exists to run PostgreSQL as")
}

/** Runs a PostgreSQL binary as the server's user; throws with its output when it fails. */
const run = (
  binaries: PostgresBinaries,
  user: ReturnType<typeof serverUser>,
  name: string,
  args: Array<string>
) => {
  const command = path.join(binaries.dir, name)
  const result = user
    ? spawnSync("runuser", ["-u", user.name, "--", command, ...args], { encoding: "utf8" })
    : spawnSync(command, args, { encoding: "utf8" })
  if (result.status !== 0)
    throw new Error(`${name} ${args.join(" ")} failed (${result.status}): ${result.stderr || result.stdout}`)
}

export const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = net.createServer()
    server.unref()
    server.on("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })

/** A running throwaway server: what connects to it, and what stops it (and removes its files). */
export interface PostgresServer {
  /** The superuser's URL, on the `postgres` database. */
  readonly url: string
  readonly dir: string
  readonly stop: () => void
}

/** What `stopServer` needs, also written to a file when another process stops the server. */
export interface ServerRecord {
  readonly url: string
  readonly dir: string
  readonly binDir: string
  readonly user: string | undefined
}

/**
 * Starts a server in a new folder of the OS temp dir, durable as a deployment is (fsync on:
 * with it off, commits cost nothing and the crash tests' engines ran far ahead of their kills).
 */
export const startServer = async (
  binaries: PostgresBinaries
): Promise<PostgresServer & { readonly record: ServerRecord }> => {
  const user = serverUser()
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tl-pg-"))
  if (user) fs.chownSync(dir, user.uid, user.gid)
  const data = path.join(dir, "data")
  // Password authentication over TCP, so a wrong password is refused as a deployment refuses it.
  const password = randomBytes(12).toString("hex")
  const pwfile = path.join(dir, "pwfile")
  fs.writeFileSync(pwfile, password, { mode: 0o600 })
  if (user) fs.chownSync(pwfile, user.uid, user.gid)
  run(binaries, user, "initdb", [
    "-D",
    data,
    "-U",
    "temporal_lite",
    `--pwfile=${pwfile}`,
    "--auth-local=trust",
    "--auth-host=scram-sha-256",
    "-E",
    "UTF8",
    "--locale=C",
    "--no-sync"
  ])
  fs.rmSync(pwfile)
  const port = await freePort()
  const settings = [
    `-p ${port}`,
    `-k ${dir}`,
    "-c listen_addresses=127.0.0.1",
    "-c max_connections=200"
  ].join(" ")
  run(binaries, user, "pg_ctl", [
    "start",
    "-w",
    "-t",
    "60",
    "-D",
    data,
    "-l",
    path.join(dir, "server.log"),
    "-o",
    settings
  ])
  const record: ServerRecord = {
    url: `postgres://temporal_lite:${password}@127.0.0.1:${port}/postgres`,
    dir,
    binDir: binaries.dir,
    user: user?.name
  }
  return { url: record.url, dir, record, stop: () => stopServer(record) }
}

/** Stops the server at once (no checkpoint: it is thrown away) and removes its folder. */
export const stopServer = (record: ServerRecord) => {
  const pgCtl = path.join(record.binDir, "pg_ctl")
  const args = ["stop", "-w", "-m", "immediate", "-D", path.join(record.dir, "data")]
  if (record.user) spawnSync("runuser", ["-u", record.user, "--", pgCtl, ...args])
  else spawnSync(pgCtl, args)
  fs.rmSync(record.dir, { recursive: true, force: true })
}

/** Runs one statement on the database `url` names, on a connection of its own; its rows. */
export const queryDatabase = <A = Record<string, unknown>>(
  url: string,
  statement: string,
  params: ReadonlyArray<unknown> = []
): Effect.Effect<ReadonlyArray<A>> =>
  Effect.gen(function* () {
    const sql = yield* PgClient.make({ url: Redacted.make(url) })
    return (yield* sql.unsafe(statement, params)) as unknown as ReadonlyArray<A>
  }).pipe(Effect.scoped, Effect.provide(Reactivity.layer), Effect.orDie)

/** The server's URL with another database. */
export const databaseUrl = (serverUrl: string, database: string) => {
  const u = new URL(serverUrl)
  u.pathname = `/${database}`
  return u.toString()
}
