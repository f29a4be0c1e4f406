/**
 * The real server for the debugger's browser tests: `temporal-lite serve` as a child process
 * (the engine on a SQLite file in a temp folder, the examples' registry unless told
 * otherwise, the HTTP API and the debugger's build at /debugger/), configured through the
 * environment as a user configures `npm start`, on a free port.
 *
 * It runs with `--no-debugger-build`: the tests build the debugger once per run (build.ts),
 * and a server rebuilding it while another test file's page loads it would pull the files
 * from under that page.
 */
import { spawn, type ChildProcess } from "node:child_process"
import { mkdirSync, mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { repoRoot } from "./build"

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

export const tempDir = (label: string): string => {
  const root = join(tmpdir(), "temporal-lite-debugger-tests")
  mkdirSync(root, { recursive: true })
  return mkdtempSync(join(root, `${label}-`))
}

// The server's settings come from these variables only as the test sets them, never from the
// environment the tests happen to run in.
const SERVER_VARIABLES =
  /^(HOST|PORT|DB_PATH|DB_SYNCHRONOUS|BODY_LIMIT|CORS_ORIGINS|ACTIVITY_CONCURRENCY|TEMPORAL_LITE_.*|LLM_.*)$/

export const startRealServer = (options: RealServerOptions = {}): Promise<RealServer> => {
  const dbPath = options.dbPath ?? join(tempDir("server"), "temporal-lite.db")
  const env: Record<string, string> = {}
  for (const [key, value] of Object.entries(process.env))
    if (value !== undefined && !SERVER_VARIABLES.test(key)) env[key] = value
  Object.assign(env, { HOST: "127.0.0.1", PORT: "0", DB_PATH: dbPath }, options.env)

  const child: ChildProcess = spawn(
    process.execPath,
    ["--import", "tsx", join(repoRoot, "server", "cli.ts"), "serve", "--no-debugger-build"],
    { cwd: repoRoot, env, stdio: ["ignore", "pipe", "pipe"] }
  )
  let output = ""
  // A test process that dies (a crashed worker, ^C) takes its servers with it.
  const killOnExit = () => child.kill("SIGKILL")
  process.once("exit", killOnExit)
  const exited = new Promise<void>((resolve) =>
    child.once("exit", () => {
      process.off("exit", killOnExit)
      resolve()
    })
  )
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill("SIGTERM")
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000)
    await exited
    clearTimeout(timer)
  }
  return new Promise<RealServer>((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop()
      reject(new Error(`the server did not start within 60 s:\n${output}`))
    }, 60_000)
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()))
    child.stdout!.on("data", (chunk: Buffer) => {
      output += chunk.toString()
      const match = /listening on (http:\/\/\S+)/.exec(output)
      if (match) {
        clearTimeout(timer)
        resolve({ url: match[1]!, dbPath, output: () => output, stop })
      }
    })
    void exited.then(() => {
      clearTimeout(timer)
      reject(new Error(`the server exited before listening:\n${output}`))
    })
  })
}

// ---- the API, as the tests drive it ------------------------------------------------------

export interface Answer<A = any> {
  readonly status: number
  readonly body: A
}

export const api = async <A = any>(
  server: { readonly url: string },
  method: string,
  route: string,
  body?: unknown,
  headers: Record<string, string> = {}
): Promise<Answer<A>> => {
  const response = await fetch(`${server.url}${route}`, {
    method,
    headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
  const text = await response.text()
  let parsed: unknown = text
  try {
    parsed = text === "" ? undefined : JSON.parse(text)
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, body: parsed as A }
}

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
