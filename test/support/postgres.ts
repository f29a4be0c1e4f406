/**
 * PostgreSQL for the test suites: the run's server (the one DATABASE_URL names, else a
 * throwaway one that the first suite to ask starts and every other suite of the run shares;
 * see postgres-global.ts) and a fresh database on it per suite or test. A PostgreSQL suite
 * says where it runs in one line, and is skipped only when there is neither a URL nor a
 * `postgres` binary.
 */
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import { afterAll, describe, inject, it } from "vitest"
import { serverFile } from "./postgres-global"
import {
  databaseUrl,
  findPostgres,
  queryDatabase,
  startServer,
  type PostgresBinaries
} from "./postgres-server"

export { databaseUrl, queryDatabase }

type Where =
  | { readonly _tag: "Url"; readonly url: string }
  | { readonly _tag: "Throwaway"; readonly binaries: PostgresBinaries }
  | { readonly _tag: "None" }

let where: Where | undefined
const locate = (): Where => {
  if (where) return where
  const url = inject("postgresUrl")
  if (url) return (where = { _tag: "Url", url })
  const binaries = findPostgres()
  return (where = binaries ? { _tag: "Throwaway", binaries } : { _tag: "None" })
}

/** The URL without its password, for the visible line. */
const shown = (url: string) => {
  const u = new URL(url)
  if (u.password) u.password = "***"
  return u.toString()
}

/**
 * `describe` for a suite that needs PostgreSQL: prints where it runs, and drops the databases
 * it created on a DATABASE_URL server when it ends. With no server to run on, its one test fails
 * naming what is missing (a skipped test proves nothing).
 */
export const describePostgres = (title: string, body: () => void) => {
  const found = locate()
  console.log(
    found._tag === "Url"
      ? `PostgreSQL suite "${title}": on the server of DATABASE_URL (${shown(found.url)})`
      : found._tag === "Throwaway"
        ? `PostgreSQL suite "${title}": on a throwaway server (${found.binaries.version}, ${found.binaries.dir})`
        : `PostgreSQL suite "${title}": no DATABASE_URL and no postgres binary (install the postgresql package)`
  )
  if (found._tag === "None")
    return describe(title, () => {
      it("needs PostgreSQL", () => {
        throw new Error(
          "no DATABASE_URL and no postgres binary: install the postgresql package (.ci/run does)"
        )
      })
    })
  describe(title, () => {
    afterAll(async () => {
      if (found._tag === "Url" && created.length > 0) await Effect.runPromise(dropAll(found.url))
    })
    body()
  })
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** The run's throwaway server: started by the first process to take the lock, shared by all. */
const sharedServer = async (binaries: PostgresBinaries): Promise<string> => {
  const runDir = inject("postgresRunDir")
  const file = serverFile(runDir)
  const lock = `${file}.lock`
  const deadline = Date.now() + 180_000
  while (Date.now() < deadline) {
    if (fs.existsSync(file)) return (JSON.parse(fs.readFileSync(file, "utf8")) as { url: string }).url
    try {
      fs.mkdirSync(lock)
    } catch {
      // Another suite is starting it: the file appears when it is up.
      await delay(50)
      continue
    }
    try {
      if (fs.existsSync(file)) continue
      const server = await startServer(binaries)
      fs.writeFileSync(`${file}.tmp`, JSON.stringify(server.record))
      fs.renameSync(`${file}.tmp`, file)
      return server.url
    } finally {
      fs.rmdirSync(lock)
    }
  }
  throw new Error(`no PostgreSQL server for this run after 180 s (lock ${lock})`)
}

let server: Promise<string> | undefined
/** The URL of the run's server, on its maintenance database. */
export const postgresServerUrl = (): Promise<string> => {
  const found = locate()
  if (found._tag === "None") return Promise.reject(new Error("no PostgreSQL for this run"))
  return (server ??= found._tag === "Url" ? Promise.resolve(found.url) : sharedServer(found.binaries))
}

const created: Array<string> = []
let counter = 0

const dropAll = (url: string) =>
  Effect.forEach(
    created.splice(0),
    (name) => queryDatabase(url, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
    {
      discard: true
    }
  )

/** The URL of a new, empty database on the run's server. */
export const freshDatabase = (label: string): Effect.Effect<string> =>
  Effect.gen(function* () {
    const url = yield* Effect.promise(postgresServerUrl)
    const name = `tl_${label.toLowerCase().replace(/[^a-z0-9]+/g, "_")}_${process.pid}_${++counter}`
    yield* queryDatabase(url, `CREATE DATABASE "${name}"`)
    created.push(name)
    return databaseUrl(url, name)
  })

/**
 * Fails a test that needs the run's throwaway server, whose authentication is known (passwords
 * over TCP), when DATABASE_URL names another one.
 */
export const needsThrowawayServer = () => {
  if (locate()._tag !== "Throwaway")
    throw new Error("this test needs the throwaway server (password authentication): unset DATABASE_URL")
}
