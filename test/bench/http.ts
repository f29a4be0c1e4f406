/**
 * The HTTP benchmark (not a test): `npm run bench:http [-- --json] [-- --clients 50] [-- --seconds 5]`.
 *
 * Starts `temporal-lite serve` as a child process on a temp SQLite file with the embedded
 * default (WAL, synchronous=FULL), then drives it over loopback with `--clients` concurrent
 * clients (default 50), each a bounded loop of keep-alive HTTP requests:
 * - starts: `POST /api/workflows` (a workflow that then waits for a signal), answered 201
 *   once WorkflowStarted is committed;
 * - signal round trips: `POST /api/workflows/:id/signal`, answered 202 once the signal is
 *   committed; each client signals its own workflow, one signal at a time.
 * - floor: the same starts against the start endpoint with nothing behind it
 *   (http-floor-server.ts), after the server has exited: what Effect's HTTP stack alone
 *   allows on this machine with these clients.
 * Prints throughput and p50/p99 latency, with the ratio to the targets (≥ 3,000 starts/s,
 * p99 start latency < 20 ms). `--json` prints one JSON object on stdout (progress on stderr).
 * `--url <base>` drives a server already running instead (it must register the workflows of
 * test/server/fixtures/bench-registry.ts).
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as http from "node:http"
import * as os from "node:os"
import * as path from "node:path"
import { performance } from "node:perf_hooks"

const args = process.argv.slice(2)
const option = (name: string) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? args[i + 1] : undefined
}
const json = args.includes("--json")
const clients = Number(option("clients") ?? 50)
const seconds = Number(option("seconds") ?? 5)
const warmupSeconds = 1

const root = path.resolve(import.meta.dirname, "..", "..")
const registry = path.join(root, "test", "server", "fixtures", "bench-registry.ts")
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tl-bench-http-"))
const log = (line: string) => (json ? process.stderr : process.stdout).write(`${line}\n`)

/** The server's young generation, as `npm start` and `temporal-lite` size it (see server/bin.js). */
const SERVER_NODE_FLAG = "--max-semi-space-size=64"

/** A server child process (`node <flag> --import tsx <script> …args`) and its URL once it listens. */
const spawnServer = (
  script: string,
  scriptArgs: ReadonlyArray<string>
): Promise<{ url: URL; stop: () => Promise<number | null> }> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SERVER_NODE_FLAG, "--import", "tsx", script, ...scriptArgs], {
      cwd: root,
      stdio: ["ignore", "pipe", "inherit"]
    })
    let output = ""
    child.stdout!.on("data", (chunk: Buffer) => {
      output += chunk.toString()
      const match = /listening on (http:\/\/\S+)/.exec(output)
      if (match) {
        child.stdout!.removeAllListeners("data")
        child.stdout!.resume()
        resolve({
          url: new URL(match[1]!),
          stop: () =>
            new Promise((done) => {
              child.once("exit", (code) => done(code))
              child.kill("SIGTERM")
            })
        })
      }
    })
    child.once("exit", (code) => reject(new Error(`server exited (${code}) before listening:\n${output}`)))
  })

const agent = new http.Agent({ keepAlive: true, maxSockets: clients })

const post = (url: URL, route: string, body: unknown): Promise<{ status: number; text: string }> =>
  new Promise((resolve, reject) => {
    const payload = JSON.stringify(body)
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: route,
        method: "POST",
        agent,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(payload) }
      },
      (res) => {
        let text = ""
        res.setEncoding("utf8")
        res.on("data", (chunk: string) => (text += chunk))
        res.on("end", () => resolve({ status: res.statusCode!, text }))
        res.on("error", reject)
      }
    )
    req.on("error", reject)
    req.end(payload)
  })

const percentile = (sorted: ReadonlyArray<number>, p: number) =>
  sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!

interface Phase {
  readonly count: number
  readonly perSecond: number
  readonly p50: number
  readonly p99: number
}

/** `clients` loops calling `call(client, i)` until `durationS` has passed; each call must answer `expected`. */
const run = async (
  durationS: number,
  expected: number,
  call: (client: number, i: number) => Promise<{ status: number; text: string }>
): Promise<Phase> => {
  const latencies: Array<number> = []
  const started = performance.now()
  const deadline = started + durationS * 1000
  await Promise.all(
    Array.from({ length: clients }, async (_, client) => {
      for (let i = 0; performance.now() < deadline; i++) {
        const t = performance.now()
        const answer = await call(client, i)
        latencies.push(performance.now() - t)
        if (answer.status !== expected)
          throw new Error(`expected ${expected}, got ${answer.status}: ${answer.text}`)
      }
    })
  )
  const elapsed = (performance.now() - started) / 1000
  latencies.sort((a, b) => a - b)
  return {
    count: latencies.length,
    perSecond: latencies.length / elapsed,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99)
  }
}

const round = (x: number, digits = 0) => Math.round(x * 10 ** digits) / 10 ** digits

const given = option("url")
const server = given
  ? { url: new URL(given), stop: async () => null }
  : await spawnServer(path.join(root, "server", "cli.ts"), [
      "serve",
      "--port",
      "0",
      "--db",
      path.join(dir, "bench.db"),
      "--registry",
      registry,
      "--no-debugger-build"
    ])
log(
  given
    ? `server at ${server.url.origin} (already running); ${clients} clients, ${os.cpus().length} CPUs`
    : `server at ${server.url.origin} (child process), database ${path.join(dir, "bench.db")} (synchronous=FULL); ${clients} clients, ${os.cpus().length} CPUs`
)
const start = (url: URL) => (client: number, i: number) =>
  post(url, "/api/workflows", {
    type: "benchWait",
    id: `s-${client}-${i}-${Math.random().toString(36).slice(2, 8)}`
  })

const describePhase = (name: string, phase: Phase) =>
  `${name} ${phase.count} in ${seconds}s = ${round(phase.perSecond)}/s  p50 ${round(phase.p50, 2)} ms  p99 ${round(phase.p99, 2)} ms`

let starts: Phase
let signals: Phase
try {
  await run(warmupSeconds, 201, start(server.url))
  starts = await run(seconds, 201, start(server.url))
  log(describePhase("starts: ", starts))

  const loops = Array.from({ length: clients }, (_, client) => `loop-${client}`)
  for (const id of loops)
    await post(server.url, "/api/workflows", { type: "benchLoop", input: 1_000_000_000, id })
  const signal = (client: number, i: number) =>
    post(server.url, `/api/workflows/${loops[client]}/signal`, { signalName: "ping", data: { n: i } })
  await run(warmupSeconds, 202, signal)
  signals = await run(seconds, 202, signal)
  log(describePhase("signals:", signals))
} finally {
  const code = await server.stop()
  if (code !== 0) log(`the server exited with ${code} on SIGTERM`)
  fs.rmSync(dir, { recursive: true, force: true })
}

// The same start loop against the start endpoint with nothing behind it (http-floor-server.ts),
// once the server above has exited: what the HTTP stack alone allows on this machine.
let floor: Phase | undefined
if (!given) {
  const floorServer = await spawnServer(path.join(import.meta.dirname, "http-floor-server.ts"), [])
  try {
    await run(warmupSeconds, 201, start(floorServer.url))
    floor = await run(seconds, 201, start(floorServer.url))
    log(describePhase("floor:  ", floor) + "  (the start endpoint answered at once: no engine, no database)")
  } finally {
    await floorServer.stop()
  }
}
agent.destroy()

log(
  `targets: starts ${round(starts.perSecond)}/s vs 3,000/s = ${round(starts.perSecond / 3000, 2)}×; ` +
    `p99 ${round(starts.p99, 2)} ms vs 20 ms = ${round(starts.p99 / 20, 2)}× (${starts.p99 < 20 ? "met" : "missed"})` +
    (floor ? `; the floor's p99 is ${round(floor.p99, 2)} ms` : "")
)
if (json) {
  process.stdout.write(
    `${JSON.stringify({
      startsPerSecond: round(starts.perSecond),
      startP50Ms: round(starts.p50, 2),
      startP99Ms: round(starts.p99, 2),
      startCount: starts.count,
      signalRoundTripsPerSecond: round(signals.perSecond),
      signalP50Ms: round(signals.p50, 2),
      signalP99Ms: round(signals.p99, 2),
      signalCount: signals.count,
      ...(floor
        ? {
            floorStartsPerSecond: round(floor.perSecond),
            floorStartP50Ms: round(floor.p50, 2),
            floorStartP99Ms: round(floor.p99, 2)
          }
        : {}),
      clients,
      seconds,
      cpus: os.cpus().length,
      loadAverage: round(os.loadavg()[0]!, 1),
      synchronous: "FULL"
    })}\n`
  )
}
