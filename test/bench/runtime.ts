/**
 * The runtime benchmark (not a test): `npm run bench:runtime [-- --json] [-- --quick]`.
 *
 * On embedded SQLite files with the default durability (WAL, synchronous=FULL), in a temp
 * folder (or `--dir <folder>`, to measure another disk), it measures:
 * - raw: 100-row grouped inserts with better-sqlite3 directly, the disk's ceiling, and the
 *   same through @effect/sql-sqlite-node (the store's client), a statement per row;
 * - throughput: 2,000 workflows × 3 no-op activities, 200 in flight, after 1,000 not counted
 *   (on a file of their own) so that compiling the engine is not timed: workflows/s, steps/s,
 *   history rows/s (and its ratio to raw), from the median of 5 runs, each on a fresh file
 *   (the raw figures too are medians of 5);
 * - aged: the same 2,000 on a file that already holds 100,000 completed workflows (run first by
 *   the same engine, not timed): a figure that falls as the file grows is a scan somewhere;
 * - latency: step latency with one workflow in flight (see `StepClock`), and under load;
 * - resume: a child starts 10,000 workflows blocked in an activity and is SIGKILLed; the time
 *   from spawning a fresh process to all 10,000 having taken their next step;
 * - waiting: RSS of a child with 100,000 workflows waiting on a signal (default cacheSize), right
 *   after starting them and over the 40 s it then idles (V8 returns the burst's garbage late);
 * - signals: 100,000 signals to one workflow, 64 in flight: the signal rate in each tenth (a
 *   cost that grows with the history shows as a falling rate), and the bytes of history and of
 *   snapshots written.
 *
 * The wall-clock figures depend on what else the machine runs: the load average is printed,
 * and the throughput phase also reports the engine process's CPU time (steps per CPU-second).
 * `npm run bench:runtime` runs it (and its children) with the young generation `npm start`
 * gives the server (`--max-semi-space-size=64`); `nodeFlags` says what ran.
 *
 * Flags: `--quick` (sizes ÷ 10; the JSON keys keep their names, `sizes` says what ran),
 * `--json` (one JSON object on stdout, progress on stderr),
 * `--only raw,throughput,aged,latency,resume,waiting,signals`, `--dir <folder>`, `--keep` (keep the files),
 * `--synchronous NORMAL` (diagnosis only: the in-process phases without the per-commit fsync),
 * `--store pg`: every phase but raw on PostgreSQL instead, a fresh database per run, on the
 * server DATABASE_URL names or else a throwaway one from the system's binaries (fsync on,
 * synchronous_commit on: as durable as the SQLite runs).
 */
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import * as SqlClient from "@effect/sql/SqlClient"
import Database from "better-sqlite3"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { Engine, EngineLive, EngineOnStore, StoreLive } from "../../runtime"
import { wrappedStore } from "../support/engine-harness"
import { databaseUrl, findPostgres, queryDatabase, startServer } from "../support/postgres-server"
import { flag, option } from "./args"
import { percentile } from "./percentile"
import { inbox, noopImpl, removeDb, StepClock, steps, Tick } from "./runtime-shared"

const quick = flag("quick")
const json = flag("json")
const phases = new Set(
  (option("only") ?? "raw,throughput,aged,latency,resume,waiting,signals").split(",").map((s) => s.trim())
)
const store = option("store") === "pg" ? ("pg" as const) : ("sqlite" as const)
// DATABASE_URL names the server of `--store pg`; the SQLite runs must not be moved to it.
const serverFromEnv = process.env["DATABASE_URL"]
delete process.env["DATABASE_URL"]
/** For diagnosis only (how much of a figure is the fsync): the figures to report use FULL. */
const synchronous = option("synchronous") === "NORMAL" ? ("NORMAL" as const) : ("FULL" as const)
const scale = quick ? 10 : 1
const sizes = {
  rawTransactions: 800 / scale,
  warmup: 1_000 / scale,
  workflows: 2_000 / scale,
  /** Runs of each raw measurement and of the throughput phase; the figures are the medians. */
  repeats: 5,
  aged: 100_000 / scale,
  stepsPerWorkflow: 3,
  inFlight: 200 / scale,
  latencyWorkflows: 10,
  latencySteps: quick ? 21 : 101,
  resume: 10_000 / scale,
  waiting: 100_000 / scale,
  signals: 100_000 / scale,
  signalsInFlight: 64
}

const here = path.dirname(fileURLToPath(import.meta.url))
const root = path.resolve(here, "../..")
const dir = option("dir") ?? fs.mkdtempSync(path.join(os.tmpdir(), "tl-bench-"))
fs.mkdirSync(dir, { recursive: true })

const log = (line: string) => (json ? process.stderr : process.stdout).write(`${line}\n`)
const round = (x: number, digits = 0) => Math.round(x * 10 ** digits) / 10 ** digits

/**
 * Measures `times` times: a run lasts about half a second, and the machine's other work moves
 * it by ±15%. Returns the run with the median figure, and every run's figure in run order.
 */
const repeated = async <A>(times: number, measure: () => A | Promise<A>, figure: (a: A) => number) => {
  const results: Array<A> = []
  for (let i = 0; i < times; i++) results.push(await measure())
  const sorted = [...results].sort((a, b) => figure(a) - figure(b))
  return { median: sorted[Math.floor(sorted.length / 2)]!, figures: results.map((r) => round(figure(r))) }
}

// ---- raw: the disk's ceiling ------------------------------------------------------------

const EVENT_BODY = JSON.stringify({
  type: "ActivityCompleted",
  cmd: 3,
  attempt: 1,
  result: 2,
  seq: 7,
  at: Date.now()
})

/** The engine's `events` table, and the rows both raw phases write into it. */
const EVENTS_TABLE = `CREATE TABLE events (run_id TEXT NOT NULL, seq INTEGER NOT NULL, body TEXT NOT NULL,
  PRIMARY KEY (run_id, seq)) WITHOUT ROWID`
const INSERT_EVENT = `INSERT INTO events (run_id, seq, body) VALUES (?, ?, ?)`
const rawRow = (t: number, i: number) => [`run-${t}-${i % 10}-0000-0000-000000000000`, i, EVENT_BODY]

/** 100-row transactions into a table shaped like the engine's `events`, WAL, synchronous=FULL. */
const rawGroupedInserts = () => {
  const file = path.join(dir, "raw.db")
  removeDb(file)
  const db = new Database(file)
  try {
    db.pragma("journal_mode = WAL")
    db.pragma("synchronous = FULL")
    db.exec(EVENTS_TABLE)
    const insert = db.prepare(INSERT_EVENT)
    const group = db.transaction((t: number) => {
      for (let i = 0; i < 100; i++) insert.run(...rawRow(t, i))
    })
    for (let t = 0; t < 20; t++) group(-1 - t) // warm-up
    const began = performance.now()
    for (let t = 0; t < sizes.rawTransactions; t++) group(t)
    return (sizes.rawTransactions * 100) / ((performance.now() - began) / 1000)
  } finally {
    db.close()
    removeDb(file)
  }
}

/**
 * The same 100-row transactions through the client the store is built on
 * (@effect/sql-sqlite-node: one statement per row, as an application would write them).
 */
const rawGroupedInsertsViaSqlClient = () => {
  const file = path.join(dir, "raw-sql.db")
  removeDb(file)
  const program = Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* sql.unsafe(`PRAGMA synchronous = FULL`)
    yield* sql.unsafe(EVENTS_TABLE)
    const group = (t: number) =>
      sql.withTransaction(
        Effect.forEach(
          Array.from({ length: 100 }, (_, i) => i),
          (i) => sql.unsafe(INSERT_EVENT, rawRow(t, i)),
          { discard: true }
        )
      )
    for (let t = 0; t < 20; t++) yield* group(-1 - t)
    const began = performance.now()
    for (let t = 0; t < sizes.rawTransactions; t++) yield* group(t)
    return (sizes.rawTransactions * 100) / ((performance.now() - began) / 1000)
  })
  return Effect.runPromise(
    program.pipe(
      Effect.provide(SqliteClient.layer({ filename: file })),
      Effect.withTracerEnabled(false),
      Effect.ensuring(Effect.sync(() => removeDb(file)))
    )
  )
}

// ---- where a run's database is ---------------------------------------------------------

/** A fresh database for one run: the engine's configuration, a child's environment, the cleanup. */
interface Target {
  readonly config: { readonly dbPath: string; readonly databaseUrl?: string }
  readonly env: Record<string, string>
  readonly remove: () => Promise<void>
}

let server: Promise<{ readonly url: string; readonly stop: () => void }> | undefined
let databases = 0
const pgServer = () =>
  (server ??= serverFromEnv
    ? Promise.resolve({ url: serverFromEnv, stop: () => {} })
    : (async () => {
        const binaries = findPostgres()
        if (!binaries) throw new Error("--store pg: no DATABASE_URL and no postgres binary")
        log(`PostgreSQL: a throwaway server (${binaries.version}), fsync on`)
        return startServer(binaries)
      })())

/** A fresh database named after the run: a SQLite file in the folder, or a new PostgreSQL database. */
const target = async (name: string): Promise<Target> => {
  const file = path.join(dir, `${name}.db`)
  removeDb(file)
  if (store === "sqlite")
    return {
      config: { dbPath: file },
      env: {},
      remove: async () => (flag("keep") ? undefined : removeDb(file))
    }
  const { url } = await pgServer()
  const database = `bench_${name}_${++databases}`
  await Effect.runPromise(queryDatabase(url, `CREATE DATABASE "${database}"`))
  const databaseUrlOf = databaseUrl(url, database)
  return {
    config: { dbPath: file, databaseUrl: databaseUrlOf },
    env: { DATABASE_URL: databaseUrlOf },
    remove: async () => {
      if (!flag("keep"))
        await Effect.runPromise(queryDatabase(url, `DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`))
    }
  }
}

// ---- in-process engine runs ------------------------------------------------------------

/**
 * Runs `total` `bench.steps` workflows of `stepCount` steps on a fresh file, `inFlight` at a
 * time: a lane starts its next workflow when the last activity of its previous one has been
 * invoked (the in-process hook costs nothing; awaiting each end through `subscribe` would
 * charge the engine ~1 ms of Effect Stream set-up per workflow). The time ends when the store
 * holds no running workflow; every workflow's result is checked after the clock stops.
 * With `aged`, the same engine first completes that many workflows, untimed, so the timed ones
 * run on a file (and indexes) that already holds them.
 */
const runWorkflows = async (name: string, total: number, stepCount: number, inFlight: number, aged = 0) => {
  const db = await target(name)
  const clock = new StepClock()
  const lastStepInvoked = new Map<string, () => void>()
  clock.onLast = (id) => {
    lastStepInvoked.get(id)?.()
    lastStepInvoked.delete(id)
  }
  const expected = (stepCount * (stepCount - 1)) / 2
  const program = Effect.gen(function* () {
    const engine = yield* Engine
    const completed = (id: string) =>
      Effect.map(engine.describe(id), (d) =>
        d.status === "completed" && d.result === expected ? d.historyLength : undefined
      )
    const runAll = (ids: ReadonlyArray<string>) =>
      Effect.gen(function* () {
        let next = 0
        const lane = Effect.gen(function* () {
          while (next < ids.length) {
            const id = ids[next++]!
            const invoked = new Promise<void>((resolve) => lastStepInvoked.set(id, resolve))
            yield* engine.start(steps.name, stepCount, { id })
            yield* Effect.promise(() => invoked)
          }
        })
        yield* Effect.all(
          Array.from({ length: inFlight }, () => lane),
          { concurrency: "unbounded", discard: true }
        )
        // Every last activity is invoked: the time ends once the store holds no running run.
        // One query, not a describe of each of the last workflows: those read the store inside
        // the timed window and took about a seventh of a 2,000-workflow run's steps/s.
        while ((yield* engine.list({ status: "running", limit: 1 })).workflows.length > 0)
          yield* Effect.sleep("1 millis")
      })
    yield* runAll(Array.from({ length: aged }, (_, i) => `${name}-aged-${i}`))
    clock.samples.length = 0
    const ids = Array.from({ length: total }, (_, i) => `${name}-${i}`)
    const cpu = process.cpuUsage()
    const began = performance.now()
    yield* runAll(ids)
    const seconds = (performance.now() - began) / 1000
    const used = process.cpuUsage(cpu)
    let rows = 0
    for (const id of ids) {
      const length = yield* completed(id)
      if (length === undefined) throw new Error(`${name}: ${id} did not complete with ${expected}`)
      rows += length
    }
    return { seconds, cpuSeconds: (used.user + used.system) / 1e6, rows }
  })
  const { seconds, cpuSeconds, rows } = await Effect.runPromise(
    program.pipe(
      Effect.provide(
        EngineLive({
          ...db.config,
          synchronous,
          workflows: [steps],
          activities: [noopImpl(clock, stepCount)]
        })
      ),
      Effect.scoped
    )
  )
  await db.remove()
  const sorted = clock.samples.sort((a, b) => a - b)
  return {
    seconds,
    cpuSeconds,
    rows,
    latency: { p50: percentile(sorted, 50), p99: percentile(sorted, 99), n: sorted.length }
  }
}

/**
 * Sends `total` signals to one workflow, `inFlight` at a time, on a fresh file: the rate in
 * each tenth of them, and the bytes of events and of snapshots the store was given to write.
 */
const signalRate = async (total: number, inFlight: number) => {
  const db = await target("signals")
  const written = { events: 0, snapshots: 0, snapshotCount: 0 }
  const counting = EngineOnStore({ workflows: [inbox], activities: [] }).pipe(
    Layer.provide(
      wrappedStore(StoreLive({ ...db.config, synchronous }), (real) => ({
        commit: (writes) =>
          Effect.tap(real.commit(writes), () => {
            for (const e of writes.events) written.events += e.body.length
            for (const s of writes.snapshots) written.snapshots += s.body.length
            written.snapshotCount += writes.snapshots.length
          })
      }))
    )
  )
  const program = Effect.gen(function* () {
    const engine = yield* Engine
    yield* engine.start(inbox.name, null, { id: "inbox" })
    const tenth = total / 10
    const windows: Array<number> = []
    let sent = 0
    let acknowledged = 0
    let windowStart = performance.now()
    const began = windowStart
    const lane = Effect.gen(function* () {
      while (sent < total) {
        sent++
        yield* engine.signal("inbox", Tick.name, 1)
        if (++acknowledged % tenth === 0) {
          const now = performance.now()
          windows.push(tenth / ((now - windowStart) / 1000))
          windowStart = now
        }
      }
    })
    yield* Effect.all(
      Array.from({ length: inFlight }, () => lane),
      { concurrency: "unbounded", discard: true }
    )
    const seconds = (performance.now() - began) / 1000
    yield* engine.signal("inbox", Tick.name, -1)
    while ((yield* engine.describe("inbox")).status === "running") yield* Effect.sleep("1 millis")
    const result = (yield* engine.describe("inbox")).result
    if (result !== total) throw new Error(`signals: the workflow counted ${String(result)}, not ${total}`)
    return { seconds, windows }
  })
  const { seconds, windows } = await Effect.runPromise(program.pipe(Effect.provide(counting), Effect.scoped))
  await db.remove()
  return { seconds, windows, ...written }
}

// ---- child processes -------------------------------------------------------------------

interface ChildRun {
  readonly lines: AsyncGenerator<Record<string, unknown>>
  readonly kill: () => Promise<void>
  readonly exited: Promise<number | null>
  readonly stderr: () => string
}

const runChild = (
  script: string,
  childArgs: ReadonlyArray<string>,
  env: Record<string, string>,
  nodeFlags: ReadonlyArray<string> = []
) => {
  // The children run with this process's node flags (`--import tsx` among them).
  const child = spawn(
    process.execPath,
    [...process.execArgv, ...nodeFlags, path.join(here, script), ...childArgs],
    {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"]
    }
  )
  let stderr = ""
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d))
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
  async function* lines() {
    let partial = ""
    for await (const chunk of child.stdout.setEncoding("utf8")) {
      partial += chunk as string
      const parts = partial.split("\n")
      partial = parts.pop()!
      for (const part of parts) if (part.startsWith("{")) yield JSON.parse(part) as Record<string, unknown>
    }
  }
  const run: ChildRun = {
    lines: lines(),
    exited,
    stderr: () => stderr,
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
      await exited
    }
  }
  return run
}

const firstLine = async (child: ChildRun, what: string) => {
  const { value, done } = await child.lines.next()
  if (done || !value) throw new Error(`${what}: the child ended without reporting (${child.stderr().trim()})`)
  return value
}

/** Seeds n workflows blocked in an activity, SIGKILLs the process, times a fresh one's resume. */
const resume = async (n: number) => {
  const db = await target("resume")
  const file = db.config.dbPath
  const marker = path.join(dir, "resume.marker")
  fs.rmSync(marker, { force: true })
  const seeder = runChild("runtime-resume-child.ts", ["seed", file, marker, String(n)], db.env)
  const seeded = await firstLine(seeder, "resume seed")
  await seeder.kill()
  log(`  seeded ${n} in ${round(Number(seeded.startMs))} ms, then SIGKILLed`)
  fs.writeFileSync(marker, "go")
  const spawnedAt = performance.now()
  const resumer = runChild("runtime-resume-child.ts", ["resume", file, marker, String(n)], db.env)
  const resumed = await firstLine(resumer, "resume")
  const seconds = (performance.now() - spawnedAt) / 1000
  await resumer.kill()
  await db.remove()
  fs.rmSync(marker, { force: true })
  return {
    seconds,
    loadedAtMs: Number(resumed.loadedAtMs),
    recoveredAtMs: Number(resumed.recoveredAtMs),
    resumedAtMs: Number(resumed.resumedAtMs),
    cpuMs: Number(resumed.cpuMs)
  }
}

const waiting = async (n: number) => {
  const db = await target("waiting")
  const child = runChild("runtime-waiting-child.ts", [db.config.dbPath, String(n)], db.env, ["--expose-gc"])
  const result = await firstLine(child, "waiting")
  await child.kill()
  await db.remove()
  return result
}

// ---- the run ---------------------------------------------------------------------------

const main = async () => {
  const out: Record<string, unknown> = {}
  const rows: Array<[string, string, string, boolean | undefined]> = []
  const row = (label: string, value: string, target = "", pass?: boolean) =>
    rows.push([label, value, target, pass])
  log(
    `runtime benchmark${quick ? " (quick)" : ""} on ${store === "pg" ? "PostgreSQL" : "SQLite"}: ${dir}, synchronous=${synchronous}, node ${process.version}, ${os.cpus().length} CPUs, ` +
      `load ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(" ")}`
  )

  if (phases.has("raw") && store === "pg") log("raw: SQLite's disk ceiling, skipped with --store pg")
  if (phases.has("raw") && store === "sqlite") {
    log(`raw: ${sizes.rawTransactions} transactions of 100 rows, ${sizes.repeats} times each way…`)
    const measurements = [
      [
        "rawGroupedInsert",
        "raw 100-row grouped inserts (better-sqlite3, WAL, FULL, events-shaped table)",
        rawGroupedInserts
      ],
      [
        "rawGroupedInsertViaSqlClient",
        "the same through @effect/sql-sqlite-node (a statement per row)",
        rawGroupedInsertsViaSqlClient
      ]
    ] as const
    for (const [key, label, measure] of measurements) {
      const raw = await repeated(sizes.repeats, measure, (x) => x)
      out[`${key}RowsPerSecond`] = round(raw.median)
      out[`${key}Runs`] = raw.figures
      row(`${label}, median`, `${round(raw.median)} rows/s (runs: ${raw.figures.join(", ")})`)
    }
  }

  if (phases.has("throughput")) {
    const { workflows: n, stepsPerWorkflow: k, inFlight } = sizes
    // Not counted: the first thousand workflows of a process also pay for compiling the engine.
    log(`warm-up: ${sizes.warmup} workflows on a file of their own…`)
    await runWorkflows("warmup", sizes.warmup, k, inFlight)
    log(`throughput: ${n} workflows × ${k} activities, ${inFlight} in flight, ${sizes.repeats} runs…`)
    const runs = await repeated(
      sizes.repeats,
      () => runWorkflows("throughput", n, k, inFlight),
      (r) => (n * k) / r.seconds
    )
    const t = runs.median
    out.stepsPerSecondRuns = runs.figures
    const stepsPerSecond = (n * k) / t.seconds
    const historyRowsPerSecond = t.rows / t.seconds
    out.workflowsPerSecond = round(n / t.seconds)
    out.stepsPerSecond = round(stepsPerSecond)
    out.historyRowsPerSecond = round(historyRowsPerSecond)
    out.historyRows = t.rows
    out.throughputSeconds = round(t.seconds, 3)
    out.throughputCpuSeconds = round(t.cpuSeconds, 3)
    out.stepsPerCpuSecond = round((n * k) / t.cpuSeconds)
    out.stepLatencyUnderLoadP50Ms = round(t.latency.p50, 3)
    out.stepLatencyUnderLoadP99Ms = round(t.latency.p99, 3)
    row("workflows/s", `${round(n / t.seconds)}`)
    row(
      "engine process CPU during the run",
      `${round(t.cpuSeconds, 2)} s for ${round(t.seconds, 2)} s wall: ${round((n * k) / t.cpuSeconds)} steps per CPU-second`
    )
    row(
      "steps/s (activities completed), the median run",
      `${round(stepsPerSecond)} (runs: ${runs.figures.join(", ")})`,
      "≥ 5,000",
      stepsPerSecond >= 5000
    )
    row(
      "history rows/s (events written)",
      `${round(historyRowsPerSecond)} (${t.rows} rows in ${round(t.seconds, 2)} s)`
    )
    row(
      `step latency with ${inFlight} in flight p50 / p99`,
      `${round(t.latency.p50, 2)} / ${round(t.latency.p99, 2)} ms`
    )
    if (typeof out.rawGroupedInsertRowsPerSecond === "number") {
      const ratio = historyRowsPerSecond / out.rawGroupedInsertRowsPerSecond
      out.ratioToRaw = round(ratio, 3)
      row("history rows/s ÷ raw grouped rows/s", `${round(ratio, 3)}`, "≥ 0.3", ratio >= 0.3)
    }
    if (typeof out.rawGroupedInsertViaSqlClientRowsPerSecond === "number") {
      const ratio = historyRowsPerSecond / out.rawGroupedInsertViaSqlClientRowsPerSecond
      out.ratioToRawViaSqlClient = round(ratio, 3)
      row("history rows/s ÷ the same through @effect/sql-sqlite-node", `${round(ratio, 3)}`)
    }
  }

  if (phases.has("aged")) {
    const { workflows: n, stepsPerWorkflow: k, inFlight, aged } = sizes
    log(`aged: ${aged} workflows completed first (not timed), then ${n} × ${k} timed…`)
    const t = await runWorkflows("aged", n, k, inFlight, aged)
    out.agedFileRuns = aged
    out.stepsPerSecondOnAgedFile = round((n * k) / t.seconds)
    out.historyRowsPerSecondOnAgedFile = round(t.rows / t.seconds)
    row(`steps/s on a file already holding ${aged} completed workflows`, `${round((n * k) / t.seconds)}`)
  }

  if (phases.has("latency")) {
    const { latencyWorkflows: n, latencySteps: k } = sizes
    log(`latency: ${n} workflows × ${k} activities, one in flight…`)
    const t = await runWorkflows("latency", n, k, 1)
    out.stepLatencyP50Ms = round(t.latency.p50, 3)
    out.stepLatencyP99Ms = round(t.latency.p99, 3)
    out.stepLatencySamples = t.latency.n
    row(
      "step latency, one in flight, p50 / p99",
      `${round(t.latency.p50, 2)} / ${round(t.latency.p99, 2)} ms (${t.latency.n} steps)`,
      "p50 < 2 ms",
      t.latency.p50 < 2
    )
  }

  if (phases.has("resume")) {
    log(`resume: ${sizes.resume} workflows blocked in an activity, SIGKILL, restart…`)
    const r = await resume(sizes.resume)
    out.resume10kSeconds = round(r.seconds, 3)
    out.resumeBreakdownMs = {
      modulesLoaded: round(r.loadedAtMs),
      engineRecovered: round(r.recoveredAtMs),
      allNextStepTaken: round(r.resumedAtMs),
      childCpu: round(r.cpuMs)
    }
    row(
      `resume ${sizes.resume} after SIGKILL (spawn → all took their next step)`,
      `${round(r.seconds, 2)} s (in the child: modules ${round(r.loadedAtMs)} ms, recovery done ${round(r.recoveredAtMs)} ms, all resumed ${round(r.resumedAtMs)} ms, CPU ${round(r.cpuMs)} ms)`,
      "< 5 s",
      r.seconds < 5
    )
  }

  if (phases.has("waiting")) {
    log(`waiting: ${sizes.waiting} workflows waiting on a signal…`)
    const w = await waiting(sizes.waiting)
    const rss = Number(w.rssMiB)
    const idle = w.idleRssMiB as ReadonlyArray<number>
    out.waiting100kRssMiB = rss
    out.waiting100kIdleRssMiB = idle.at(-1)
    out.waitingDetails = w
    row(
      `RSS with ${sizes.waiting} waiting on a signal (cacheSize 10,000), right after starting them`,
      `${rss} MiB (started in ${round(Number(w.startMs))} ms; live heap after a full GC ${w.heapUsedAfterGcMiB} MiB)`,
      "< 1 GiB",
      rss < 1024
    )
    row(`the same after ${w.idleSeconds} s idle (every 5 s)`, `${idle.join(", ")} MiB`)
  }

  if (phases.has("signals")) {
    const { signals: n, signalsInFlight } = sizes
    log(`signals: ${n} signals to one workflow, ${signalsInFlight} in flight…`)
    const s = await signalRate(n, signalsInFlight)
    const windows = s.windows.map((w) => round(w))
    out.signalsPerSecond = round(n / s.seconds)
    out.signalsPerSecondByTenth = windows
    out.signalsLastTenthToFirst = round(windows.at(-1)! / windows[0]!, 3)
    out.signalsHistoryBytes = s.events
    out.signalsSnapshotBytes = s.snapshots
    out.signalsSnapshots = s.snapshotCount
    row(`signals/s, ${n} to one workflow`, `${round(n / s.seconds)} (each tenth: ${windows.join(", ")})`)
    row(
      "  last tenth ÷ first",
      `${round(windows.at(-1)! / windows[0]!, 3)}`,
      "≥ 0.8 (flat)",
      windows.at(-1)! / windows[0]! >= 0.8
    )
    row(
      "  bytes written: history / snapshots",
      `${round(s.events / 2 ** 20, 1)} MiB / ${round(s.snapshots / 2 ** 20, 1)} MiB in ${s.snapshotCount} snapshots`
    )
  }

  if (!flag("keep") && !option("dir")) fs.rmSync(dir, { recursive: true, force: true })
  if (server) (await server).stop()
  out.store = store
  out.quick = quick
  out.sizes = sizes
  out.synchronous = synchronous
  out.loadAverage = os.loadavg().map((l) => round(l, 2))
  out.nodeFlags = process.execArgv.filter((f) => f !== "--import" && f !== "tsx")
  if (json) {
    process.stdout.write(`${JSON.stringify(out)}\n`)
    return
  }
  const width = Math.max(...rows.map((r) => r[0].length))
  log("")
  for (const [label, value, target, pass] of rows) {
    const verdict = pass === undefined ? "" : pass ? "  PASS" : "  MISS"
    log(`${label.padEnd(width)}  ${value}${target ? `  (target ${target})` : ""}${verdict}`)
  }
  log("")
  log("step latency: from a no-op activity returning to the next activity of the same workflow being")
  log("invoked (report → workflow task → group commit with fsync → dispatch to the worker pool).")
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error)
    process.exit(1)
  }
)
