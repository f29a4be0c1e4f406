/**
 * The soak benchmark (not a test): `npm run bench:soak [-- --minutes 30] [-- --json]`.
 *
 * Runs the real server (soak-server.ts, a child process on a temp SQLite file with the default
 * durability) under a steady mixed load for `--minutes` (default 30) and samples it every
 * minute, to show what stays flat after warm-up and what grows:
 * - load, each second: 20 starts of a session (soak-registry.ts: five rounds of a signal or a
 *   2-second timer, an activity each, then a 1-second sleep), 60 signals to open sessions, 20
 *   queries and 10 descriptions of them, and 10 SSE streams open at all times, each following
 *   a session to its end and then replaced;
 * - each minute: the server's RSS, its heap after a full GC, its open file descriptors, what
 *   its engine holds (open runs, cached instances, streamed runs), and the p50/p99 latency of
 *   the minute's requests (SSE excluded), with the count of requests, refusals and errors.
 * Minute 1 is warm-up; the last line compares the last minute with minute 2.
 * `--minutes 1` checks that it works.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { repoRoot, spawnListening, sseEvents } from "../../scripts/server-process"
import { flag, option } from "./args"
import { percentile } from "./percentile"

const json = flag("json")
const minutes = Number(option("minutes") ?? 30)
if (!Number.isInteger(minutes) || minutes < 1)
  throw new Error(`--minutes: a whole number ≥ 1, not ${minutes}`)

const rates = { starts: 20, signals: 60, queries: 20, describes: 10 }
const STREAMS = 10
const ROUNDS = 5
/** Requests in flight at most: past it a tick's requests are skipped (and counted), not queued. */
const MAX_IN_FLIGHT = 400

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tl-bench-soak-"))
const log = (line: string) => (json ? process.stderr : process.stdout).write(`${line}\n`)
const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits

/** The table's columns: a row's key and its title. */
const COLUMNS = [
  ["minute", "minute"],
  ["rssMiB", "RSS MiB"],
  ["heapAfterGcMiB", "heap after GC MiB"],
  ["fds", "fds"],
  ["openRuns", "open runs"],
  ["instances", "instances"],
  ["streamedRuns", "streamed"],
  ["p50Ms", "p50 ms"],
  ["p99Ms", "p99 ms"],
  ["requests", "requests"],
  ["refused", "refused"],
  ["errors", "errors"],
  ["skipped", "skipped"],
  ["streamsDone", "streams done"]
] as const

interface Sample {
  readonly rssMiB: number
  readonly heapAfterGcMiB: number
  readonly fds: number
  readonly retained: { readonly openRuns: number; readonly instances: number; readonly streamedRuns: number }
}

const main = async () => {
  const server = await spawnListening(path.join(repoRoot, "test", "bench", "soak-server.ts"), {
    args: [dir],
    env: { ...process.env, LLM_BASE_URL: "" },
    nodeArgs: ["--max-semi-space-size=64", "--expose-gc"]
  })
  // The child's sample lines, asked for with SIGUSR2.
  const samples: Array<(sample: Sample) => void> = []
  let partial = ""
  server.child.stdout!.on("data", (chunk: Buffer) => {
    partial += chunk.toString()
    const lines = partial.split("\n")
    partial = lines.pop()!
    for (const line of lines) if (line.startsWith('{"sample"')) samples.shift()?.(JSON.parse(line).sample)
  })
  const sample = () =>
    new Promise<Sample>((resolve) => {
      samples.push(resolve)
      server.child.kill("SIGUSR2")
    })

  let latencies: Array<number> = []
  const counts = { requests: 0, refused: 0, errors: 0, skipped: 0 }
  let inFlight = 0
  let next = 0
  /** Sessions started within their lifetime: where signals, queries and streams go. */
  const open: Array<string> = []
  const pick = () => open[Math.floor(Math.random() * open.length)]

  const timed = async (
    method: string,
    route: string,
    body?: unknown,
    expected: ReadonlyArray<number> = []
  ) => {
    if (inFlight >= MAX_IN_FLIGHT) return void counts.skipped++
    inFlight++
    const began = performance.now()
    try {
      const response = await fetch(`${server.url}${route}`, {
        method,
        ...(body === undefined
          ? {}
          : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) })
      })
      await response.arrayBuffer()
      latencies.push(performance.now() - began)
      counts.requests++
      if (response.status >= 500) counts.errors++
      else if (response.status >= 400 && !expected.includes(response.status)) counts.errors++
      else if (response.status >= 400) counts.refused++
      return response.status
    } catch {
      counts.errors++
    } finally {
      inFlight--
    }
  }

  const start = async () => {
    const id = `s${next++}`
    if ((await timed("POST", "/api/workflows", { type: "soak.session", input: ROUNDS, id })) !== 201) return
    open.push(id)
    // About its life with the signals it gets: then it takes no more.
    setTimeout(() => open.splice(open.indexOf(id), 1), 8_000)
  }
  const ofOpen = (f: (id: string) => Promise<unknown>) => {
    const id = pick()
    return id === undefined ? undefined : f(id)
  }
  // A signal or a query may reach a session just closed: 409 and 404 are refusals, not errors.
  const tick = () => {
    for (let i = 0; i < rates.starts / 10; i++) void start()
    for (let i = 0; i < rates.signals / 10; i++)
      void ofOpen((id) =>
        timed("POST", `/api/workflows/${id}/signal`, { signalName: "tick", data: 1 }, [409])
      )
    for (let i = 0; i < rates.queries / 10; i++)
      void ofOpen((id) => timed("GET", `/api/workflows/${id}/query/progress`, undefined, [404, 409]))
    for (let i = 0; i < rates.describes / 10; i++) void ofOpen((id) => timed("GET", `/api/workflows/${id}`))
  }

  let streamsDone = 0
  let stopping = false
  const follow = async (): Promise<void> => {
    while (!stopping) {
      const id = pick()
      if (id === undefined) {
        await new Promise((resolve) => setTimeout(resolve, 100))
        continue
      }
      const controller = new AbortController()
      try {
        const response = await fetch(`${server.url}/api/workflows/${id}/stream`, {
          signal: controller.signal
        })
        if (response.status !== 200) counts.errors++
        else for await (const event of sseEvents(response)) if (event.event === "end") break
        streamsDone++
      } catch {
        if (!stopping) counts.errors++
      } finally {
        controller.abort()
      }
    }
  }

  log(
    `soak: ${minutes} min on ${dir}, node ${process.version}, ${os.cpus().length} CPUs, load ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")}; each second ${rates.starts} starts, ${rates.signals} signals, ${rates.queries} queries, ` +
      `${rates.describes} describes, ${STREAMS} SSE streams open`
  )
  log(COLUMNS.map(([, title]) => title).join("  "))
  const loop = setInterval(tick, 100)
  const streams = Array.from({ length: STREAMS }, follow)
  const rows: Array<Record<string, number>> = []
  for (let minute = 1; minute <= minutes; minute++) {
    await new Promise((resolve) => setTimeout(resolve, 60_000))
    const taken = latencies.sort((a, b) => a - b)
    latencies = []
    const s = await sample()
    const row = {
      minute,
      rssMiB: s.rssMiB,
      heapAfterGcMiB: s.heapAfterGcMiB,
      fds: s.fds,
      openRuns: s.retained.openRuns,
      instances: s.retained.instances,
      streamedRuns: s.retained.streamedRuns,
      p50Ms: round(percentile(taken, 50), 2),
      p99Ms: round(percentile(taken, 99), 2),
      ...counts,
      streamsDone
    }
    rows.push(row)
    counts.requests = counts.refused = counts.errors = counts.skipped = 0
    streamsDone = 0
    log(COLUMNS.map(([key, title]) => String(row[key]).padStart(title.length)).join("  "))
  }
  clearInterval(loop)
  stopping = true
  await server.stop()
  await Promise.allSettled(streams)
  const databaseMiB = round(fs.statSync(path.join(dir, "temporal-lite.db")).size / 2 ** 20)
  fs.rmSync(dir, { recursive: true, force: true })

  const first = rows[Math.min(1, rows.length - 1)]!
  const last = rows.at(-1)!
  const ratios = Object.fromEntries(
    (["rssMiB", "heapAfterGcMiB", "fds", "p99Ms"] as const).map((k) => [k, round(last[k]! / first[k]!, 3)])
  )
  log(
    `last minute ÷ minute ${first.minute}: RSS ${ratios.rssMiB}, heap after GC ${ratios.heapAfterGcMiB}, ` +
      `fds ${ratios.fds}, p99 ${ratios.p99Ms}; database file ${databaseMiB} MiB at the end`
  )
  if (json)
    process.stdout.write(
      `${JSON.stringify({ minutes, rates, streams: STREAMS, rows, ratios, databaseMiB })}\n`
    )
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error)
    process.exit(1)
  }
)
