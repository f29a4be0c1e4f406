/**
 * The real server for the debugger's browser tests: `temporal-lite serve` as a child process
 * (the engine on a SQLite file in a temp folder, the examples' registry unless told
 * otherwise, the HTTP API and the debugger's build at /debugger/), configured through the
 * environment as a user configures `npm start`, on a free port.
 *
 * It runs with `--no-debugger-build`: the tests build the debugger once per run (build.ts),
 * and a server rebuilding it while another test file's page loads it would pull the files
 * from under that page. The process itself, and the JSON request under `api`, are
 * scripts/server-process.ts's.
 */
import { join } from "node:path"
import { makeTempDir, request, spawnServer, type JsonAnswer } from "../../scripts/server-process"

export interface RealServer {
  readonly url: string
  readonly dbPath: string
  /** Everything the server printed. */
  readonly output: () => string
  /** SIGTERM (the server drains and exits 0), SIGKILL after 10 s. */
  readonly stop: () => Promise<void>
}

export interface RealServerOptions {
  /** The database file (default: a new one in a fresh temp folder). */
  readonly dbPath?: string
  /** `TEMPORAL_LITE_TOKEN`, `TEMPORAL_LITE_REGISTRY`, `LLM_OFFLINE_DELAY_MS`, … */
  readonly env?: Readonly<Record<string, string>>
}

export const tempDir = (label: string): string => makeTempDir("temporal-lite-debugger-tests", label)

// The server's settings come from these variables only as the test sets them, never from the
// environment the tests happen to run in.
const SERVER_VARIABLES =
  /^(HOST|PORT|DB_PATH|DB_SYNCHRONOUS|BODY_LIMIT|CORS_ORIGINS|ACTIVITY_CONCURRENCY|TEMPORAL_LITE_.*|LLM_.*)$/

export const startRealServer = async (options: RealServerOptions = {}): Promise<RealServer> => {
  const dbPath = options.dbPath ?? join(tempDir("server"), "temporal-lite.db")
  const env: Record<string, string> = {}
  for (const [key, value] of Object.entries(process.env))
    if (value !== undefined && !SERVER_VARIABLES.test(key)) env[key] = value
  Object.assign(env, { HOST: "127.0.0.1", PORT: "0", DB_PATH: dbPath }, options.env)
  const server = await spawnServer({ env })
  return { url: server.url, dbPath, output: server.output, stop: () => server.stop() }
}

// ---- the API, as the tests drive it ------------------------------------------------------

export const api = <A = any>(
  server: { readonly url: string },
  method: string,
  route: string,
  body?: unknown,
  headers: Record<string, string> = {}
): Promise<JsonAnswer<A>> => request<A>(server.url, method, route, body, headers)

/** The API call, which must answer `status`; its body. */
export const expectApi = async <A = any>(
  server: { readonly url: string },
  status: number,
  method: string,
  route: string,
  body?: unknown,
  headers?: Record<string, string>
): Promise<A> => {
  const answer = await api<A>(server, method, route, body, headers)
  if (answer.status !== status)
    throw new Error(
      `${method} ${route} answered ${answer.status}, expected ${status}: ${JSON.stringify(answer.body)}`
    )
  return answer.body
}

/** Polls the workflow's description until `done` accepts it (20 s at most); returns it. */
export const waitForWorkflow = async (
  server: { readonly url: string },
  id: string,
  done: (description: any) => boolean,
  headers?: Record<string, string>
): Promise<any> => {
  const deadline = Date.now() + 20_000
  for (;;) {
    const described = await expectApi(
      server,
      200,
      "GET",
      `/api/workflows/${encodeURIComponent(id)}`,
      undefined,
      headers
    )
    if (done(described)) return described
    if (Date.now() > deadline)
      throw new Error(`workflow ${id} did not reach the awaited state; last: ${JSON.stringify(described)}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}
