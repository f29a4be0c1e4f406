/**
 * The HTTP benchmark (not a test): `npm run bench:http [-- --json] [-- --clients 50] [-- --seconds 5]`.
 *
 * Starts `temporal-lite serve` as a child process on a temp SQLite file with the embedded
 * default (WAL, synchronous=FULL), then drives it over loopback with autocannon: `--clients`
 * keep-alive connections (default 50), each sending its next request once answered:
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
import autocannon from "autocannon"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { call, repoRoot, spawnListening, spawnServer } from "../../scripts/server-process"
import { flag, option } from "./args"
import { percentile } from "./percentile"

const json = flag("json")
const clients = Number(option("clients") ?? 50)
const seconds = Number(option("seconds") ?? 5)
const warmupSeconds = 1

const registry = path.join(repoRoot, "test", "server", "fixtures", "bench-registry.ts")
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tl-bench-http-"))
const log = (line: string) => (json ? process.stderr : process.stdout).write(`${line}\n`)

/** The server's young generation, as `npm start` and `temporal-lite` size it (see server/bin.js). */
const SERVER_NODE_FLAG = "--max-semi-space-size=64"

interface Phase {
  readonly count: number
  readonly perSecond: number
  readonly p50: number
  readonly p99: number
}

/**
 * `clients` keep-alive connections, each sending `request` (set up per connection by
 * `setup`) one at a time for `durationS`, every answer `expected`. The client is autocannon: a
 * loop on Node's own HTTP client spends three times its CPU, taken from the server's two cores.
 * Latencies are its per-response times (float ms), not its histogram's whole milliseconds.
 */
const run = (
  url: string,
  durationS: number,
  expected: number,
  request: autocannon.Request & { readonly setup?: (context: Record<string, unknown>) => string }
): Promise<Phase> =>
  new Promise((resolve, reject) => {
    const latencies: Array<number> = []
    const unexpected: Array<string> = []
    const { setup, ...fixed } = request
    const instance = autocannon(
      {
        url,
        connections: clients,
        duration: durationS,
        headers: { "content-type": "application/json" },
        requests: [
          {
            ...fixed,
            ...(setup
              ? {
                  setupRequest: (req, context) => ({
                    ...req,
                    path: setup(context as Record<string, unknown>)
                  })
                }
              : {}),
            onResponse: (status, body) => {
              if (status !== expected && unexpected.length < 3) unexpected.push(`${status} ${body}`)
            }
          }
        ]
      },
      (error, result) => {
        if (error) return reject(error)
        if (unexpected.length > 0 || result.non2xx > 0 || result.errors > 0)
          return reject(
            new Error(
              `expected ${expected} only; ${result.non2xx} other answers, ${result.errors} errors: ${unexpected.join("; ")}`
            )
          )
        latencies.sort((a, b) => a - b)
        resolve({
          count: latencies.length,
          perSecond: latencies.length / result.duration,
          p50: percentile(latencies, 50),
          p99: percentile(latencies, 99)
        })
      }
    )
    instance.on("response", (_client, _status, _bytes, responseTime) => latencies.push(responseTime))
  })

const round = (x: number, digits = 0) => Math.round(x * 10 ** digits) / 10 ** digits

const given = option("url")
const server = given
  ? undefined
  : await spawnServer({
      nodeArgs: [SERVER_NODE_FLAG],
      args: ["--port", "0", "--db", path.join(dir, "bench.db"), "--registry", registry],
      env: process.env
    })
const url = server?.url ?? new URL(given!).origin
log(
  given
    ? `server at ${url} (already running); ${clients} clients, ${os.cpus().length} CPUs`
    : `server at ${url} (child process), database ${path.join(dir, "bench.db")} (synchronous=FULL); ${clients} clients, ${os.cpus().length} CPUs`
)
/** A workflow that then waits for a signal; its id is the server's (a fresh UUIDv7). */
const startRequest: autocannon.Request = {
  method: "POST",
  path: "/api/workflows",
  body: JSON.stringify({ type: "benchWait" })
}

const describePhase = (name: string, phase: Phase) =>
  `${name} ${phase.count} in ${seconds}s = ${round(phase.perSecond)}/s  p50 ${round(phase.p50, 2)} ms  p99 ${round(phase.p99, 2)} ms`

let starts: Phase
let signals: Phase
try {
  await run(url, warmupSeconds, 201, startRequest)
  starts = await run(url, seconds, 201, startRequest)
  log(describePhase("starts: ", starts))

  // Each connection signals a workflow of its own (the one its context picks on first use).
  const loops = Array.from({ length: clients }, (_, client) => `loop-${client}`)
  for (const id of loops)
    await call(url, "POST", "/api/workflows", { type: "benchLoop", input: 1_000_000_000, id })
  let picked = 0
  const signalRequest = {
    method: "POST" as const,
    body: JSON.stringify({ signalName: "ping", data: { n: 1 } }),
    setup: (context: Record<string, unknown>) => {
      context.loop ??= loops[picked++ % loops.length]
      return `/api/workflows/${context.loop as string}/signal`
    }
  }
  await run(url, warmupSeconds, 202, signalRequest)
  signals = await run(url, seconds, 202, signalRequest)
  log(describePhase("signals:", signals))
} finally {
  if (server) {
    await server.stop()
    const { code } = await server.exited
    if (code !== 0) log(`the server exited with ${code} on SIGTERM`)
  }
  fs.rmSync(dir, { recursive: true, force: true })
}

// The same start loop against the start endpoint with nothing behind it (http-floor-server.ts),
// once the server above has exited: what the HTTP stack alone allows on this machine.
let floor: Phase | undefined
if (!given) {
  const floorServer = await spawnListening(path.join(import.meta.dirname, "http-floor-server.ts"), {
    nodeArgs: [SERVER_NODE_FLAG],
    env: process.env
  })
  try {
    await run(floorServer.url, warmupSeconds, 201, startRequest)
    floor = await run(floorServer.url, seconds, 201, startRequest)
    log(describePhase("floor:  ", floor) + "  (the start endpoint answered at once: no engine, no database)")
  } finally {
    await floorServer.stop()
  }
}
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
