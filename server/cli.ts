/**
 * The `temporal-lite` command (`npx temporal-lite …`, `npm run cli -- …`).
 *
 * `serve` runs the server; `start`, `signal`, `query`, `cancel`, `list`, `describe` and
 * `history` talk to a running server (`--server`, default http://127.0.0.1:8233, the token
 * from TEMPORAL_LITE_TOKEN); `replay` runs offline against the registered workflow code.
 *
 * Exit codes: 0 success; 1 the server refused (the error's code and message are printed) or
 * `replay` found a divergence; 2 bad usage or an unusable file.
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Console from "effect/Console"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { readFileSync, writeFileSync } from "node:fs"
import { pathToFileURL } from "node:url"
import { encodeHistoryFile } from "../core"
import { API_VERSION, RunStatus } from "./api"
import { makeApiClientFetch, type ApiClient } from "./client"
import { DEFAULT_SERVER_URL, settingsFromEnv, type ServeSettings } from "./config"
import { DEFAULT_REGISTRY } from "./registry"

/** The derived client puts path parameters in the URL as they are: ids may hold "/" (child ids do). */
const segment = (value: string) => encodeURIComponent(value)

/** A failure the CLI reports in one line and an exit code. */
class CliFailure extends Data.TaggedError("CliFailure")<{
  readonly message: string
  readonly exitCode: number
}> {}

/** The command has said all it had to say and ends with this code. */
class ExitWith extends Data.TaggedError("ExitWith")<{ readonly exitCode: number }> {}

const usage = (message: string) => new CliFailure({ message, exitCode: 2 })

/** `--input '{"a":1}'` or `--input @file.json`. */
const parseJsonOption = (name: string, text: string): Effect.Effect<unknown, CliFailure> =>
  Effect.try({
    try: () => JSON.parse(text.startsWith("@") ? readFileSync(text.slice(1), "utf8") : text) as unknown,
    catch: (e) =>
      usage(
        `--${name} is not valid JSON${text.startsWith("@") ? ` (file ${text.slice(1)})` : ""}: ${(e as Error).message}`
      )
  })

const serverOption = Options.text("server").pipe(
  Options.withDefault(process.env["TEMPORAL_LITE_SERVER"] ?? DEFAULT_SERVER_URL),
  Options.withDescription("The server's URL (TEMPORAL_LITE_SERVER); the token comes from TEMPORAL_LITE_TOKEN")
)

/** Runs `f` with a client of `server`; the server's refusals become one-line failures. */
const withClient = <A, E>(
  server: string,
  f: (client: ApiClient) => Effect.Effect<A, E>
): Effect.Effect<A, CliFailure> =>
  makeApiClientFetch({ baseUrl: server, token: process.env["TEMPORAL_LITE_TOKEN"] }).pipe(
    Effect.flatMap(f),
    Effect.mapError((error) => {
      const e = error as {
        _tag?: string
        code?: string
        message?: string
        reason?: string
        response?: { status: number }
      }
      if (typeof e.code === "string" && typeof e.message === "string")
        return new CliFailure({ message: `${e.code}: ${e.message}`, exitCode: 1 })
      if (e._tag === "RequestError")
        return new CliFailure({ message: `cannot reach the server at ${server}: ${e.message}`, exitCode: 1 })
      if (e._tag === "ResponseError")
        return new CliFailure({
          message: `the server at ${server} answered unexpectedly: ${e.message}`,
          exitCode: 1
        })
      return new CliFailure({
        message: `unexpected answer from ${server}: ${e.message ?? String(error)}`,
        exitCode: 1
      })
    })
  )

const printJson = (value: unknown) => Console.log(JSON.stringify(value, null, 2))

// ---------------------------------------------------------------------------------------

const serveCommand = Command.make(
  "serve",
  {
    host: Options.text("host").pipe(
      Options.optional,
      Options.withDescription("Interface to bind (HOST, default 127.0.0.1)")
    ),
    port: Options.integer("port").pipe(
      Options.optional,
      Options.withDescription("Port (PORT, default 8233; 0 picks one)")
    ),
    db: Options.text("db").pipe(
      Options.optional,
      Options.withDescription(
        "SQLite file (DB_PATH, default ./data/temporal-lite.db); with DATABASE_URL=postgres://… the engine runs on PostgreSQL instead"
      )
    ),
    registry: Options.text("registry").pipe(
      Options.optional,
      Options.withDescription(
        "Module exporting `workflows` and `activities` (TEMPORAL_LITE_REGISTRY, default examples/registry.ts)"
      )
    ),
    noDebuggerBuild: Options.boolean("no-debugger-build").pipe(
      Options.withDescription("Do not build the debugger first")
    )
  },
  ({ host, port, db, registry, noDebuggerBuild }) =>
    Effect.gen(function* () {
      const overrides: Partial<ServeSettings> = {
        ...Option.match(host, { onNone: () => ({}), onSome: (host) => ({ host }) }),
        ...Option.match(port, { onNone: () => ({}), onSome: (port) => ({ port }) }),
        ...Option.match(db, { onNone: () => ({}), onSome: (dbPath) => ({ dbPath }) }),
        ...Option.match(registry, { onNone: () => ({}), onSome: (registryPath) => ({ registryPath }) })
      }
      const settings = settingsFromEnv(process.env, overrides)
      if (Either.isLeft(settings)) return yield* Effect.fail(usage(settings.left.message))
      // Loaded here: the engine and SQLite are only needed by this command.
      const { describeStartFailure, serve } = yield* Effect.promise(() => import("./serve"))
      return yield* serve(settings.right, { buildDebugger: !noDebuggerBuild }).pipe(
        Effect.mapError((error) => new CliFailure({ message: describeStartFailure(error), exitCode: 1 }))
      )
    })
).pipe(Command.withDescription("Run the server (API, docs, debugger) until SIGTERM/SIGINT"))

const startCommand = Command.make(
  "start",
  {
    type: Args.text({ name: "type" }).pipe(Args.withDescription("A registered workflow type")),
    input: Options.text("input").pipe(
      Options.withDefault("null"),
      Options.withDescription("The input as JSON, or @file.json")
    ),
    id: Options.text("id").pipe(
      Options.optional,
      Options.withDescription("The workflow id (default: a fresh UUID)")
    ),
    server: serverOption
  },
  ({ type, input, id, server }) =>
    Effect.gen(function* () {
      const value = yield* parseJsonOption("input", input)
      const started = yield* withClient(server, (client) =>
        client.workflows.start({
          payload: {
            type,
            input: value,
            ...Option.match(id, { onNone: () => ({}), onSome: (id) => ({ id }) })
          }
        })
      )
      yield* printJson(started)
    })
).pipe(Command.withDescription("Start a workflow"))

const signalCommand = Command.make(
  "signal",
  {
    id: Args.text({ name: "id" }),
    name: Args.text({ name: "name" }).pipe(Args.withDescription("The signal's name")),
    data: Options.text("data").pipe(
      Options.optional,
      Options.withDescription("The payload as JSON, or @file.json")
    ),
    server: serverOption
  },
  ({ id, name, data, server }) =>
    Effect.gen(function* () {
      const payload = Option.isSome(data) ? yield* parseJsonOption("data", data.value) : undefined
      const accepted = yield* withClient(server, (client) =>
        client.workflows.signal({
          path: { id: segment(id) },
          payload: { signalName: name, ...(payload === undefined ? {} : { data: payload }) }
        })
      )
      yield* printJson(accepted)
    })
).pipe(Command.withDescription("Send a signal to a workflow"))

const queryCommand = Command.make(
  "query",
  {
    id: Args.text({ name: "id" }),
    name: Args.text({ name: "name" }).pipe(Args.withDescription("The query's name")),
    args: Options.text("args").pipe(
      Options.optional,
      Options.withDescription("The query's argument as JSON")
    ),
    server: serverOption
  },
  ({ id, name, args, server }) =>
    Effect.gen(function* () {
      const value = Option.isSome(args) ? yield* parseJsonOption("args", args.value) : undefined
      const answer = yield* withClient(server, (client) =>
        client.workflows.query({
          path: { id: segment(id), name: segment(name) },
          urlParams: value === undefined ? {} : { args: value }
        })
      )
      yield* printJson(answer.result)
    })
).pipe(Command.withDescription("Ask a workflow a query"))

const cancelCommand = Command.make(
  "cancel",
  {
    id: Args.text({ name: "id" }),
    reason: Options.text("reason").pipe(Options.optional),
    server: serverOption
  },
  ({ id, reason, server }) =>
    withClient(server, (client) =>
      client.workflows.cancel({
        path: { id: segment(id) },
        urlParams: Option.match(reason, { onNone: () => ({}), onSome: (reason) => ({ reason }) })
      })
    ).pipe(Effect.flatMap(printJson))
).pipe(Command.withDescription("Request cancellation of a workflow"))

const listCommand = Command.make(
  "list",
  {
    status: Options.choice("status", RunStatus.literals).pipe(Options.optional),
    type: Options.text("type").pipe(Options.optional),
    limit: Options.integer("limit").pipe(Options.optional),
    json: Options.boolean("json").pipe(Options.withDescription("Print the JSON answer")),
    server: serverOption
  },
  ({ status, type, limit, json, server }) =>
    Effect.gen(function* () {
      const page = yield* withClient(server, (client) =>
        client.workflows.list({
          urlParams: {
            ...Option.match(status, { onNone: () => ({}), onSome: (status) => ({ status }) }),
            ...Option.match(type, { onNone: () => ({}), onSome: (type) => ({ type }) }),
            ...Option.match(limit, { onNone: () => ({}), onSome: (limit) => ({ limit }) })
          }
        })
      )
      if (json) return yield* printJson(page)
      const rows = page.workflows.map((w) => [w.id, w.type, w.status, new Date(w.updatedAt).toISOString()])
      const header = ["ID", "TYPE", "STATUS", "UPDATED"]
      const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
      for (const row of [header, ...rows])
        yield* Console.log(
          row
            .map((cell, i) => cell.padEnd(widths[i]!))
            .join("  ")
            .trimEnd()
        )
      if (page.nextCursor) yield* Console.log(`(more: --json shows the cursor ${page.nextCursor})`)
    })
).pipe(Command.withDescription("List workflows, newest first"))

const describeCommand = Command.make(
  "describe",
  { id: Args.text({ name: "id" }), server: serverOption },
  ({ id, server }) =>
    withClient(server, (client) => client.workflows.describe({ path: { id: segment(id) } })).pipe(
      // The API answers a path; a terminal wants the whole link to open.
      Effect.map((d) => ({ ...d, debuggerUrl: new URL(d.debuggerUrl, server).href })),
      Effect.flatMap(printJson)
    )
).pipe(Command.withDescription("Show a workflow's status, input, result or error and pending work"))

const historyCommand = Command.make(
  "history",
  {
    id: Args.text({ name: "id" }),
    out: Options.text("out").pipe(Options.optional, Options.withDescription("Write the export to this file")),
    server: serverOption
  },
  ({ id, out, server }) =>
    Effect.gen(function* () {
      const file = yield* withClient(server, (client) =>
        client.workflows.history({ path: { id: segment(id) } })
      )
      const text = JSON.stringify(encodeHistoryFile(file), null, 2)
      if (Option.isNone(out)) return yield* Console.log(text)
      yield* Effect.try({
        try: () => writeFileSync(out.value, `${text}\n`),
        catch: (e) =>
          new CliFailure({ message: `cannot write ${out.value}: ${(e as Error).message}`, exitCode: 1 })
      })
      yield* Console.error(
        `wrote ${file.events.length} events of ${file.workflow.type} ${file.workflow.id} to ${out.value}`
      )
    })
).pipe(Command.withDescription("Export a workflow's history (temporal-lite/history@1)"))

const replayCommand = Command.make(
  "replay",
  {
    file: Args.text({ name: "file.json" }).pipe(Args.withDescription("An exported history")),
    registry: Options.text("registry").pipe(
      Options.withDefault(process.env["TEMPORAL_LITE_REGISTRY"] ?? DEFAULT_REGISTRY),
      Options.withDescription("Module exporting the current `workflows` (default examples/registry.ts)")
    )
  },
  ({ file, registry }) =>
    Effect.gen(function* () {
      const { replayFile } = yield* Effect.promise(() => import("./replay"))
      const outcome = yield* replayFile(file, registry)
      for (const line of outcome.lines)
        yield* outcome.exitCode === 0 ? Console.log(line) : Console.error(line)
      if (outcome.exitCode !== 0) return yield* Effect.fail(new ExitWith({ exitCode: outcome.exitCode }))
    })
).pipe(
  Command.withDescription(
    "Replay an exported history against the current workflow code (offline); exit 1 on divergence"
  )
)

export const command = Command.make("temporal-lite").pipe(
  Command.withDescription("Temporal Lite: durable workflows on an embedded SQLite file"),
  Command.withSubcommands([
    serveCommand,
    startCommand,
    signalCommand,
    queryCommand,
    cancelCommand,
    listCommand,
    describeCommand,
    historyCommand,
    replayCommand
  ])
)

/**
 * Runs a command line (`argv` as `process.argv` has it) and resolves with its exit code;
 * what it prints goes through Effect's `Console`.
 */
export const runCli = (argv: ReadonlyArray<string>): Effect.Effect<number> =>
  Command.run(command, { name: "temporal-lite", version: API_VERSION })(argv).pipe(
    Effect.as(0),
    Effect.catchTags({
      CliFailure: (failure) =>
        Console.error(`temporal-lite: ${failure.message}`).pipe(Effect.as(failure.exitCode)),
      ExitWith: (exit) => Effect.succeed(exit.exitCode)
    }),
    // What else fails is a bad command line, which @effect/cli has already explained.
    Effect.catchAll(() => Effect.succeed(2)),
    Effect.provide(NodeContext.layer)
  )

/** Runs the command line of this process and exits with its code. */
export const main = () =>
  NodeRuntime.runMain(
    Effect.flatMap(runCli(process.argv), (code) => Effect.sync(() => (process.exitCode = code))),
    { disableErrorReporting: true }
  )

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main()
