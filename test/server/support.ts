/**
 * Real servers for the server tests: the real engine on a SQLite file in a temp folder,
 * the real HTTP server on a loopback port (in-process, or as a child process for crashes:
 * scripts/server-process.ts spawns it, and owns the JSON request and `until` helpers),
 * and small readers for SSE and the side-effect log.
 */
import * as Sse from "@effect/experimental/Sse"
import * as HttpServer from "@effect/platform/HttpServer"
import * as Console from "effect/Console"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Scope from "effect/Scope"
import { spawn } from "node:child_process"
import { existsSync, readFileSync } from "node:fs"
import * as path from "node:path"
import {
  cliPath,
  makeTempDir,
  repoRoot,
  sseEvents,
  spawnServer as spawnServerProcess,
  until as untilEvery,
  type ServerProcess
} from "../../scripts/server-process"
import { runCli as runCliEntry } from "../../server/cli"
import { settingsFromEnv, type ServeSettings } from "../../server/config"
import { loadServeRegistry, serverLayer, serverUrl } from "../../server/serve"
import type { SideEffect } from "./fixtures/registry"

export { cliPath, repoRoot, type ServerProcess }
export { request, sseEvents, type JsonAnswer } from "../../scripts/server-process"

export const fixtures = path.join(import.meta.dirname, "fixtures")
export const REGISTRY = path.join(fixtures, "registry.ts")
export const REGISTRY_V2 = path.join(fixtures, "registry-v2.ts")

export const tempDir = (label: string): string => makeTempDir("temporal-lite-server-tests", label)

export interface TestServer {
  readonly url: string
  readonly dataDir: string
  readonly dbPath: string
  /** Releases the server and then the engine, as SIGTERM does. */
  readonly close: () => Promise<void>
}

/** The server of `npm start`, in this process, on a free loopback port. */
export const startServer = async (
  options: { readonly dataDir?: string; readonly registry?: string; readonly token?: string } & Partial<
    Omit<ServeSettings, "token">
  > = {}
): Promise<TestServer> => {
  const dataDir = options.dataDir ?? tempDir("server")
  const dbPath = path.join(dataDir, "temporal-lite.db")
  const settings = settingsFromEnv(
    {},
    {
      port: 0,
      dbPath,
      registryPath: options.registry ?? REGISTRY,
      debuggerDir: options.debuggerDir ?? path.join(dataDir, "no-debugger"),
      ...options,
      token: options.token === undefined ? undefined : Redacted.make(options.token)
    }
  )
  if (Either.isLeft(settings)) throw new Error(settings.left.message)
  const scope = Effect.runSync(Scope.make())
  const url = await Effect.runPromise(
    Effect.gen(function* () {
      const registry = yield* loadServeRegistry(settings.right)
      const context = yield* Layer.buildWithScope(serverLayer(settings.right, registry), scope)
      return serverUrl(Context.get(context, HttpServer.HttpServer))
    })
  )
  return { url, dataDir, dbPath, close: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
}

// ---------------------------------------------------------------------------------------
// SSE
// ---------------------------------------------------------------------------------------

export const openStream = (base: string, id: string, headers: Record<string, string> = {}, query = "") => {
  const controller = new AbortController()
  const response = fetch(`${base}/api/workflows/${encodeURIComponent(id)}/stream${query}`, {
    headers,
    signal: controller.signal
  })
  return { response, close: () => controller.abort() }
}

/**
 * Follows a workflow's stream until `stop` says so (or `end`), collecting every event;
 * closes the connection after.
 */
export const collectStream = async (
  base: string,
  id: string,
  stop: (event: Sse.Event, all: ReadonlyArray<Sse.Event>) => boolean,
  headers: Record<string, string> = {},
  query = ""
): Promise<Array<Sse.Event>> => {
  const stream = openStream(base, id, headers, query)
  const events: Array<Sse.Event> = []
  try {
    const response = await stream.response
    if (response.status !== 200)
      throw new Error(`stream answered ${response.status}: ${await response.text()}`)
    for await (const event of sseEvents(response)) {
      events.push(event)
      if (event.event === "end" || stop(event, events)) break
    }
  } finally {
    stream.close()
  }
  return events
}

/** Waits, on the workflow's stream, for a history event `predicate` accepts; returns it. */
export const waitForHistory = async (
  base: string,
  id: string,
  predicate: (event: any) => boolean
): Promise<any> => {
  let found: any
  await collectStream(base, id, (e) => {
    if (e.event !== "history") return false
    const event = JSON.parse(e.data)
    if (predicate(event)) found = event
    return found !== undefined
  })
  if (found === undefined) throw new Error(`workflow ${id} ended without the awaited event`)
  return found
}

// ---------------------------------------------------------------------------------------
// Child processes: the CLI and the server
// ---------------------------------------------------------------------------------------

const tsxArgs = ["--import", "tsx"]

/** Runs the CLI as a process to completion (asynchronously: an in-process server must keep answering). */
export const runCli = (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  runProcess([...tsxArgs, cliPath, ...args], env)

/** Runs the package's `temporal-lite` bin (server/bin.js) as a process. */
export const runBin = (args: ReadonlyArray<string>) =>
  runProcess([path.join(repoRoot, "server", "bin.js"), ...args], {})

const runProcess = (nodeArgs: ReadonlyArray<string>, env: Record<string, string>) =>
  runCommand(process.execPath, nodeArgs, env)

/** Runs `command` from the repository's root to completion; its exit status and what it printed. */
export const runCommand = (
  command: string,
  args: ReadonlyArray<string>,
  env: Record<string, string>
): Promise<{ readonly status: number | null; readonly stdout: string; readonly stderr: string }> =>
  new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000)
    child.once("error", reject)
    child.once("close", (status) => {
      clearTimeout(timer)
      resolve({ status, stdout, stderr })
    })
  })

/**
 * Runs a command line through the CLI's own entry (`runCli`, what the binary runs) in this
 * process, capturing what it prints: the client commands still talk HTTP to the server.
 */
export const runCliHere = async (args: ReadonlyArray<string>) => {
  const stdout: Array<string> = []
  const stderr: Array<string> = []
  const line =
    (into: Array<string>) =>
    (...parts: ReadonlyArray<unknown>) =>
      Effect.sync(() => void into.push(parts.map(String).join(" ")))
  const status = await Effect.runPromise(
    Console.consoleWith((console) =>
      runCliEntry(["node", "temporal-lite", ...args]).pipe(
        Console.withConsole({ ...console, log: line(stdout), error: line(stderr) })
      )
    )
  )
  return {
    status,
    stdout: stdout.map((l) => `${l}\n`).join(""),
    stderr: stderr.map((l) => `${l}\n`).join("")
  }
}

/** `temporal-lite serve` as a child process on a free port; resolves once it prints its start line. */
export const spawnServer = (
  args: ReadonlyArray<string>,
  env: Record<string, string> = {}
): Promise<ServerProcess> =>
  spawnServerProcess({ args: ["--port", "0", ...args], env: { ...process.env, ...env } })

// ---------------------------------------------------------------------------------------
// The side-effect log of the fixture activities
// ---------------------------------------------------------------------------------------

export const readSideEffects = (dataDir: string): Array<SideEffect> => {
  const file = path.join(dataDir, "side-effects.log")
  if (!existsSync(file)) return []
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as SideEffect)
}

/** Resolves once `condition` holds, checking every 15 ms; fails after `timeoutMs`. */
export const until = (what: string, condition: () => boolean | Promise<boolean>, timeoutMs?: number) =>
  untilEvery(what, condition, timeoutMs, 15)
