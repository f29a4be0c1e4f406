/**
 * A Temporal Lite server as a child process, and the few HTTP calls the demos and the
 * tests make to it. The one place that spawns `temporal-lite serve` for a caller: the crash
 * demo and the examples' end-to-end tests (`startServer`), and, built on `spawnServer`,
 * `request` and `until`, the server tests (test/server/support.ts) and the debugger's browser
 * tests (test/debugger/real-server.ts).
 *
 * `startServer`'s server is `temporal-lite serve` (server/cli.ts, the same code `npm start`
 * runs) on a free loopback port, its database in a folder of the caller's (the examples'
 * workspaces go under it too), with the examples' registry and the offline scripted model:
 * `LLM_BASE_URL` and `TEMPORAL_LITE_TOKEN` are cleared in the child's environment whatever the
 * caller's says.
 */
import * as Sse from "@effect/experimental/Sse"
import { spawn, type ChildProcess } from "node:child_process"
import { mkdirSync, mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { DEFAULT_REGISTRY, repoRoot } from "../server/registry"

export { repoRoot }
export const cliPath = path.join(repoRoot, "server", "cli.ts")

/** A fresh folder `<tmp>/<group>/<label>-XXXXXX`. */
export const makeTempDir = (group: string, label: string): string => {
  const root = path.join(tmpdir(), group)
  mkdirSync(root, { recursive: true })
  return mkdtempSync(path.join(root, `${label}-`))
}

export interface ServerProcess {
  /** `http://127.0.0.1:<port>` */
  readonly url: string
  readonly child: ChildProcess
  /** Everything the process printed so far (stdout and stderr). */
  readonly output: () => string
  /** Resolves once the process has ended. */
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>
  /** SIGTERM (the server drains), then SIGKILL if it is still there after `graceMs`. */
  readonly stop: (graceMs?: number) => Promise<void>
}

export interface SpawnServerOptions {
  /** More arguments of `serve` (it always runs with `--no-debugger-build`). */
  readonly args?: ReadonlyArray<string>
  /** The child's whole environment. */
  readonly env: Readonly<Record<string, string | undefined>>
  /** Fail if the server has not printed its start line by then (default 60 s). */
  readonly timeoutMs?: number
  /** Node's own flags, before the script (the benchmark's: the young generation `npm start` sets). */
  readonly nodeArgs?: ReadonlyArray<string>
}

// Servers still running when this process exits (a test that timed out, an error) go with it.
const live = new Set<ChildProcess>()
process.once("exit", () => {
  for (const child of live) child.kill("SIGKILL")
})

/**
 * `temporal-lite serve --no-debugger-build` as a child process; resolves once it prints its
 * start line (with the port it chose).
 */
export const spawnServer = (options: SpawnServerOptions): Promise<ServerProcess> =>
  spawnListening(cliPath, { ...options, args: ["serve", "--no-debugger-build", ...(options.args ?? [])] })

/**
 * The TypeScript `script` with `options.args` as a child process; resolves once it prints
 * `listening on <url>` (as `serve` and the benchmark's floor server do).
 */
export const spawnListening = (script: string, options: SpawnServerOptions): Promise<ServerProcess> =>
  new Promise((resolve, reject) => {
    const timeoutMs = options.timeoutMs ?? 60_000
    const child = spawn(
      process.execPath,
      [...(options.nodeArgs ?? []), "--import", "tsx", script, ...(options.args ?? [])],
      { cwd: repoRoot, env: options.env, stdio: ["ignore", "pipe", "pipe"] }
    )
    let output = ""
    let listening = false
    live.add(child)
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
      child.once("exit", (code, signal) => {
        live.delete(child)
        done({ code, signal })
      })
    )
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`the server did not start within ${timeoutMs} ms:\n${output}`))
    }, timeoutMs)
    child.stdout!.on("data", (chunk: Buffer) => {
      output += chunk.toString()
      const match = listening ? null : /listening on (http:\/\/[^\s]+)/.exec(output)
      if (!match) return
      listening = true
      clearTimeout(timer)
      const stop = async (graceMs = 10_000) => {
        if (child.exitCode !== null || child.signalCode !== null) return
        child.kill("SIGTERM")
        const killer = setTimeout(() => child.kill("SIGKILL"), graceMs)
        await exited
        clearTimeout(killer)
      }
      resolve({ url: match[1]!, child, output: () => output, exited, stop })
    })
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()))
    child.once("error", (error) => {
      clearTimeout(timer)
      reject(error)
    })
    void exited.then(({ code, signal }) => {
      clearTimeout(timer)
      if (!listening) reject(new Error(`the server exited (${code ?? signal}) before listening:\n${output}`))
    })
  })

export interface StartServerOptions {
  /** The data folder: the database is `<dataDir>/temporal-lite.db`, the workspaces `<dataDir>/workspaces`. */
  readonly dataDir: string
  /** More environment for the server, e.g. `{ LLM_OFFLINE_DELAY_MS: "20" }`. */
  readonly env?: Readonly<Record<string, string>>
  /** Fail if the server has not printed its start line by then (default 60 s). */
  readonly timeoutMs?: number
}

/** The demo's and the examples' server: see the top of this file. */
export const startServer = (options: StartServerOptions): Promise<ServerProcess> =>
  spawnServer({
    env: {
      ...process.env,
      HOST: "127.0.0.1",
      PORT: "0",
      DB_PATH: path.join(options.dataDir, "temporal-lite.db"),
      TEMPORAL_LITE_REGISTRY: DEFAULT_REGISTRY,
      TEMPORAL_LITE_TOKEN: "",
      LLM_BASE_URL: "",
      ...options.env
    },
    timeoutMs: options.timeoutMs
  })

export interface JsonAnswer<A = any> {
  readonly status: number
  readonly headers: Headers
  readonly body: A
}

/**
 * One request, its body sent as JSON (a string as it is); the answer's body parsed (or its
 * text when it is not JSON).
 */
export const request = async <A = any>(
  url: string,
  method: string,
  route: string,
  body?: unknown,
  headers: Record<string, string> = {}
): Promise<JsonAnswer<A>> => {
  const response = await fetch(`${url}${route}`, {
    method,
    headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) })
  })
  const text = await response.text()
  let parsed: unknown = text
  try {
    parsed = text === "" ? undefined : JSON.parse(text)
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, headers: response.headers, body: parsed as A }
}

/** Like `request`, but fails unless the status is 2xx; returns the body. */
export const call = async <A = any>(
  url: string,
  method: "GET" | "POST",
  route: string,
  body?: unknown
): Promise<A> => {
  const answer = await request<A>(url, method, route, body)
  if (answer.status < 200 || answer.status > 299)
    throw new Error(`${method} ${route} answered ${answer.status}: ${JSON.stringify(answer.body)}`)
  return answer.body
}

/** `/api/workflows/<id>` with the id encoded (`m1/task-2` → `m1%2Ftask-2`). */
export const workflowRoute = (id: string, rest = ""): string =>
  `/api/workflows/${encodeURIComponent(id)}${rest}`

/** One item of a workflow's event stream: a history event, an LLM token chunk, or the end. */
export type StreamItem =
  | {
      readonly kind: "history"
      readonly event: { readonly seq: number; readonly type: string } & Record<string, any>
    }
  | {
      readonly kind: "chunk"
      readonly data: { readonly cmd: number; readonly activity: string; readonly chunk: unknown }
    }
  | { readonly kind: "end"; readonly status: string }

/**
 * Follows `GET /api/workflows/:id/stream`, calling `onItem` for each item as it arrives,
 * until `onItem` returns true, the stream sends `end`, the server goes away (a kill ends the
 * stream: it then resolves too) or `signal` aborts. `after` resumes after that seq.
 */
export const followStream = async (
  url: string,
  id: string,
  onItem: (item: StreamItem) => boolean | void,
  options: { readonly after?: number; readonly signal?: AbortSignal } = {}
): Promise<void> => {
  const controller = new AbortController()
  const abort = () => controller.abort()
  options.signal?.addEventListener("abort", abort)
  try {
    const response = await fetch(`${url}${workflowRoute(id, "/stream")}`, {
      headers: options.after === undefined ? {} : { "last-event-id": String(options.after) },
      signal: controller.signal
    })
    if (response.status !== 200)
      throw new Error(`the stream of ${id} answered ${response.status}: ${await response.text()}`)
    for await (const event of sseEvents(response)) {
      const data = JSON.parse(event.data)
      const item: StreamItem =
        event.event === "history"
          ? { kind: "history", event: data }
          : event.event === "end"
            ? { kind: "end", status: data.status }
            : { kind: "chunk", data }
      if (onItem(item) === true || item.kind === "end") return
    }
  } catch (error) {
    // Our own abort, or the server killed under the stream: the stream simply ended.
    if (controller.signal.aborted || isConnectionLoss(error)) return
    throw error
  } finally {
    options.signal?.removeEventListener("abort", abort)
    controller.abort()
  }
}

/** The SSE events of a response body, as they arrive. */
export async function* sseEvents(response: Response): AsyncGenerator<Sse.Event> {
  const parsed: Array<Sse.AnyEvent> = []
  const parser = Sse.makeParser((event) => parsed.push(event))
  const decoder = new TextDecoder()
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    parser.feed(decoder.decode(chunk, { stream: true }))
    while (parsed.length > 0) {
      const event = parsed.shift()!
      if (event._tag === "Event") yield event
    }
  }
}

const isConnectionLoss = (error: unknown): boolean => {
  const text = `${(error as Error)?.message} ${String((error as { cause?: unknown })?.cause)}`
  return /terminated|ECONNRESET|socket|other side closed|fetch failed/i.test(text)
}

/** Resolves once the workflow's run has closed; returns its description. */
export const waitForClose = async (url: string, id: string, timeoutMs = 30_000): Promise<any> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const described = await call(url, "GET", workflowRoute(id))
    if (described.status !== "running") return described
    if (Date.now() > deadline) throw new Error(`workflow ${id} still running after ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

/** Resolves once `condition` holds, checking every `everyMs`; fails after `timeoutMs`. */
export const until = async (
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 20_000,
  everyMs = 25
) => {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, everyMs))
  }
}
