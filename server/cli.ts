/**
 * The `temporal-lite` command (`npx temporal-lite …`, `node server/bin.js …`).
 *
 * `serve` runs the server; `start`, `signal`, `query`, `cancel`, `list`, `count`, `describe`,
 * `show` and `history` talk to a running server (`--server`, default TEMPORAL_LITE_SERVER or
 * http://127.0.0.1:8233, the token from TEMPORAL_LITE_TOKEN) through the client derived from
 * the API's declaration; `replay` runs offline against the registered workflow code. Every
 * command takes `--output json|table`; colour only on a terminal, never with NO_COLOR.
 *
 * Exit codes: 0 success; 1 the server refused (the error's code and message are printed) or
 * `replay` found a divergence; 2 bad usage or an unusable file.
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Sse from "@effect/experimental/Sse"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Console from "effect/Console"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import { API_VERSION, makeApiClient, untypedData, type ApiClient } from "../api"
import { encodeHistoryFile, RunStatus, type HistoryEvent } from "../core"
import {
  EVENT_HEADER,
  eventRow,
  eventTable,
  fields,
  statusText,
  table,
  time,
  withCliConsole
} from "./cli-output"

export const DEFAULT_SERVER_URL = "http://127.0.0.1:8233"

/** The client puts path parameters in the URL as they are: ids may hold "/" (child ids do). */
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

/** `2024-05-01`, `2024-05-01T10:00Z`, or how long ago: `90s`, `15m`, `2h`, `3d`, `1w`, `2 hours`. */
const parseTime = (name: string, text: string): Effect.Effect<number, CliFailure> => {
  const shorthand = /^(\d+(?:\.\d+)?)\s*([smhdw])$/.exec(text.trim())
  const units = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const
  if (shorthand)
    return Effect.succeed(Date.now() - Number(shorthand[1]) * units[shorthand[2] as keyof typeof units])
  const ago = Duration.decodeUnknown(text.trim())
  if (Option.isSome(ago)) return Effect.succeed(Date.now() - Duration.toMillis(ago.value))
  const at = Date.parse(text)
  return Number.isNaN(at)
    ? Effect.fail(usage(`--${name} is neither a date (2024-05-01T10:00Z) nor a time ago (2h, 3d): ${text}`))
    : Effect.succeed(at)
}

/** An optional JSON option's value, when given. */
const parseOptionalJson = (name: string, text: Option.Option<string>): Effect.Effect<unknown, CliFailure> =>
  Option.isSome(text) ? parseJsonOption(name, text.value) : Effect.succeed(undefined)

const serverOption = Options.text("server").pipe(
  Options.withDefault(process.env["TEMPORAL_LITE_SERVER"] ?? DEFAULT_SERVER_URL),
  Options.withDescription(
    "The server's URL (default: TEMPORAL_LITE_SERVER, else http://127.0.0.1:8233); the token comes from TEMPORAL_LITE_TOKEN"
  )
)

const outputOption = (fallback: "json" | "table") =>
  Options.choice("output", ["json", "table"]).pipe(
    Options.withAlias("o"),
    Options.withDefault(fallback),
    Options.withDescription(
      `json: the server's answer as JSON; table: aligned for reading (default ${fallback})`
    )
  )

const idArg = Args.text({ name: "id" }).pipe(Args.withDescription("The workflow id"))

const optionalText = (name: string, description: string) =>
  Options.text(name).pipe(Options.optional, Options.withDescription(description))

/** Runs `f` with a client of `server`; the server's refusals become one-line failures. */
const withClient = <A, E>(
  server: string,
  f: (client: ApiClient) => Effect.Effect<A, E>
): Effect.Effect<A, CliFailure> =>
  // Node's own HTTP client: fetch would load undici (and compile its WebAssembly parser) first.
  makeApiClient({ baseUrl: server, token: process.env["TEMPORAL_LITE_TOKEN"] }).pipe(
    Effect.flatMap(f),
    Effect.provide(NodeHttpClient.layer),
    Effect.mapError((error) => refusal(server, error))
  )

const refusal = (server: string, error: unknown): CliFailure => {
  const e = error as { _tag?: string; code?: string; message?: string }
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
}

const printJson = (value: unknown) => Console.log(JSON.stringify(value, null, 2))

/** A stored signal or cancel, in words; a stuck run's note under it. */
const acceptedText = (what: string, answer: { readonly id: string; readonly message?: string | undefined }) =>
  [`${what} stored for ${answer.id}`, ...(answer.message ? [statusText("stuck"), answer.message] : [])].join(
    "\n"
  )

// ---------------------------------------------------------------------------------------

const serveCommand = Command.make(
  "serve",
  {
    host: optionalText("host", "Interface to bind (HOST, default 127.0.0.1)"),
    port: Options.integer("port").pipe(
      Options.optional,
      Options.withDescription("Port (PORT, default 8233; 0 picks one)")
    ),
    db: optionalText(
      "db",
      "SQLite file (DB_PATH, default ./data/temporal-lite.db); with DATABASE_URL=postgres://… the engine runs on PostgreSQL instead"
    ),
    registry: optionalText(
      "registry",
      "Module exporting `workflows` and `activities` (TEMPORAL_LITE_REGISTRY, default examples/registry.ts)"
    ),
    noDebuggerBuild: Options.boolean("no-debugger-build").pipe(
      Options.withDescription("Do not build the debugger first")
    )
  },
  ({ host, port, db, registry, noDebuggerBuild }) =>
    Effect.gen(function* () {
      // Loaded here: the engine, SQLite and the settings are only needed by this command.
      const [{ describeStartFailure, serve }, { settingsFromEnv }] = yield* Effect.promise(() =>
        Promise.all([import("./serve"), import("./config")])
      )
      const settings = settingsFromEnv(process.env, {
        host: Option.getOrUndefined(host),
        port: Option.getOrUndefined(port),
        dbPath: Option.getOrUndefined(db),
        registryPath: Option.getOrUndefined(registry)
      })
      if (settings._tag === "Left") return yield* Effect.fail(usage(settings.left.message))
      return yield* serve(settings.right, { buildDebugger: !noDebuggerBuild }).pipe(
        Effect.mapError((error) => new CliFailure({ message: describeStartFailure(error), exitCode: 1 }))
      )
    })
).pipe(Command.withDescription("Run the server (API, docs, debugger) until SIGTERM/SIGINT"))

const startCommand = Command.make(
  "start",
  {
    type: Args.text({ name: "type" }).pipe(
      Args.withDescription("A registered workflow type (see the server's /docs)")
    ),
    input: optionalText("input", "The input as JSON, or @file.json (default: none)"),
    id: optionalText("id", "The workflow id (default: a fresh one)"),
    server: serverOption,
    output: outputOption("json")
  },
  ({ type, input, id, server, output }) =>
    Effect.gen(function* () {
      const value = yield* parseOptionalJson("input", input)
      const started = yield* withClient(server, (client) =>
        client.workflows.start({
          payload: {
            type,
            ...(value === undefined ? {} : { input: value }),
            ...Option.match(id, { onNone: () => ({}), onSome: (id) => ({ id }) })
          }
        })
      )
      if (output === "json") return yield* printJson(started)
      yield* Console.log(
        table(["ID", "RUN", "STATUS"], [[started.id, started.runId, statusText(started.status)]])
      )
    })
).pipe(Command.withDescription("Start a workflow"))

const signalCommand = Command.make(
  "signal",
  {
    id: idArg,
    name: Args.text({ name: "name" }).pipe(
      Args.withDescription("The signal's name, as the workflow type defines it")
    ),
    data: optionalText("data", "The payload as JSON, or @file.json"),
    server: serverOption,
    output: outputOption("json")
  },
  ({ id, name, data, server, output }) =>
    Effect.gen(function* () {
      const payload = yield* parseOptionalJson("data", data)
      const accepted = yield* withClient(server, (client) =>
        client.workflows.signal({
          path: { id: segment(id) },
          payload: { signalName: name, ...(payload === undefined ? {} : { data: payload }) }
        })
      )
      yield* output === "json" ? printJson(accepted) : Console.log(acceptedText(`signal ${name}`, accepted))
    })
).pipe(Command.withDescription("Send a signal to a workflow (stored even before it waits)"))

const queryCommand = Command.make(
  "query",
  {
    id: idArg,
    name: Args.text({ name: "name" }).pipe(
      Args.withDescription("The query's name, as the workflow type defines it")
    ),
    args: optionalText("args", "The query's argument as JSON"),
    server: serverOption,
    output: outputOption("json")
  },
  ({ id, name, args, server, output }) =>
    Effect.gen(function* () {
      const value = yield* parseOptionalJson("args", args)
      const answer = yield* withClient(server, (client) =>
        client.workflows.query({
          path: { id: segment(id), name: segment(name) },
          urlParams: value === undefined ? {} : { args: value }
        })
      )
      if (answer.stuck)
        yield* Console.error(
          `${statusText("stuck")}: answered from the last consistent point (${answer.divergence?.message})`
        )
      yield* Console.log(JSON.stringify(answer.result, null, output === "json" ? 2 : 1))
    })
).pipe(Command.withDescription("Ask a workflow a query"))

const cancelCommand = Command.make(
  "cancel",
  {
    id: idArg,
    reason: optionalText("reason", "Recorded with the cancel request"),
    server: serverOption,
    output: outputOption("json")
  },
  ({ id, reason, server, output }) =>
    withClient(server, (client) =>
      client.workflows.cancel({
        path: { id: segment(id) },
        urlParams: Option.match(reason, { onNone: () => ({}), onSome: (reason) => ({ reason }) })
      })
    ).pipe(
      Effect.flatMap((accepted) =>
        output === "json" ? printJson(accepted) : Console.log(acceptedText("cancel", accepted))
      )
    )
).pipe(Command.withDescription("Request cancellation of a workflow"))

const filterOptions = {
  idPrefix: optionalText("id-prefix", "Only runs whose workflow id starts with this text"),
  status: Options.choice("status", RunStatus.literals).pipe(
    Options.optional,
    Options.withDescription("Only runs with this status")
  ),
  type: optionalText("type", "Only runs of this workflow type"),
  since: optionalText(
    "since",
    "Only runs started since: a date (2024-05-01T10:00Z) or a time ago (30m, 2h, 3d)"
  ),
  until: optionalText("until", "Only runs started before: a date or a time ago"),
  closedSince: optionalText(
    "closed-since",
    "Only runs closed since: a date or a time ago (open runs are left out)"
  ),
  closedUntil: optionalText(
    "closed-until",
    "Only runs closed before: a date or a time ago (open runs are left out)"
  ),
  server: serverOption
}

interface FilterValues {
  readonly idPrefix: Option.Option<string>
  readonly status: Option.Option<RunStatus>
  readonly type: Option.Option<string>
  readonly since: Option.Option<string>
  readonly until: Option.Option<string>
  readonly closedSince: Option.Option<string>
  readonly closedUntil: Option.Option<string>
}

/** The time option `name` as the API's bound `param`, when given. */
const timeBound = <K extends string>(param: K, name: string, text: Option.Option<string>) =>
  Option.isSome(text)
    ? Effect.map(parseTime(name, text.value), (at) => ({ [param]: at }) as { readonly [P in K]?: number })
    : Effect.succeed({} as { readonly [P in K]?: number })

const runFilter = (f: FilterValues) =>
  Effect.gen(function* () {
    return {
      ...Option.match(f.idPrefix, { onNone: () => ({}), onSome: (idPrefix) => ({ idPrefix }) }),
      ...Option.match(f.status, { onNone: () => ({}), onSome: (status) => ({ status }) }),
      ...Option.match(f.type, { onNone: () => ({}), onSome: (type) => ({ type }) }),
      ...(yield* timeBound("startedAfter", "since", f.since)),
      ...(yield* timeBound("startedBefore", "until", f.until)),
      ...(yield* timeBound("closedAfter", "closed-since", f.closedSince)),
      ...(yield* timeBound("closedBefore", "closed-until", f.closedUntil))
    }
  })

const listCommand = Command.make(
  "list",
  {
    ...filterOptions,
    limit: Options.integer("limit").pipe(
      Options.optional,
      Options.withDescription("Runs to show, 1–1000 (default 50)")
    ),
    cursor: optionalText("cursor", "Where the previous page ended"),
    all: Options.boolean("all").pipe(
      Options.withDescription("Every matching run: follows the pages to the end (--limit is the page size)")
    ),
    output: outputOption("table")
  },
  (options) =>
    Effect.gen(function* () {
      const filter = yield* runFilter(options)
      const pageAt = (cursor: string | undefined) =>
        withClient(options.server, (client) =>
          client.workflows.list({
            urlParams: {
              ...filter,
              ...Option.match(options.limit, { onNone: () => ({}), onSome: (limit) => ({ limit }) }),
              ...(cursor === undefined ? {} : { cursor })
            }
          })
        )
      let page = yield* pageAt(Option.getOrUndefined(options.cursor))
      if (options.all) {
        const workflows = [...page.workflows]
        while (page.nextCursor !== undefined) {
          page = yield* pageAt(page.nextCursor)
          workflows.push(...page.workflows)
        }
        page = { workflows }
      }
      if (options.output === "json") return yield* printJson(page)
      const rows = page.workflows.map((w) => [w.id, w.type, statusText(w.status), time(w.updatedAt)!])
      yield* Console.log(table(["ID", "TYPE", "STATUS", "UPDATED"], rows))
      if (page.nextCursor) yield* Console.log(`(more: --cursor ${page.nextCursor})`)
    })
).pipe(Command.withDescription("List workflows, newest first"))

const countCommand = Command.make("count", { ...filterOptions, output: outputOption("table") }, (options) =>
  Effect.gen(function* () {
    const filter = yield* runFilter(options)
    const counted = yield* withClient(options.server, (client) =>
      client.workflows.count({ urlParams: filter })
    )
    yield* options.output === "json" ? printJson(counted) : Console.log(String(counted.count))
  })
).pipe(Command.withDescription("Count workflows (the filters of list)"))

const describeCommand = Command.make(
  "describe",
  { id: idArg, server: serverOption, output: outputOption("json") },
  ({ id, server, output }) =>
    withClient(server, (client) => client.workflows.describe({ path: { id: segment(id) } })).pipe(
      // The API answers a path; a terminal wants the whole link to open.
      Effect.map((d) => ({ ...d, debuggerUrl: new URL(d.debuggerUrl, server).href })),
      Effect.flatMap((d) => (output === "json" ? printJson(d) : Console.log(describedText(d))))
    )
).pipe(Command.withDescription("A workflow's status, input, result or error, divergence and pending work"))

type Described = (typeof untypedData.description)["Type"]

const describedText = (d: Described): string =>
  fields([
    ["id", d.id],
    ["type", d.type],
    ["status", statusText(d.status)],
    ["run", d.runId],
    ["started", time(d.createdAt)],
    ["updated", time(d.updatedAt)],
    ["closed", time(d.closedAt)],
    ["parent", d.parentId],
    ["input", JSON.stringify(d.input)],
    ["result", d.result === undefined ? undefined : JSON.stringify(d.result)],
    ["error", d.error && `${d.error.name}: ${d.error.message}`],
    ["stuck", d.divergence?.message],
    ["waiting for", d.pending.signals.length > 0 ? d.pending.signals.join(", ") : undefined],
    [
      "activities",
      d.pending.activities.map((a) => `${a.name} (attempt ${a.attempt})`).join(", ") || undefined
    ],
    ["timers", d.pending.timers.map((t) => `${t.purpose} at ${time(t.fireAt)}`).join(", ") || undefined],
    ["events", String(d.historyLength)],
    ["debugger", d.debuggerUrl]
  ])

const showCommand = Command.make(
  "show",
  {
    id: idArg,
    follow: Options.boolean("follow").pipe(
      Options.withAlias("f"),
      Options.withDescription("Keep printing events as they are recorded, until the run ends")
    ),
    server: serverOption,
    output: outputOption("table")
  },
  ({ id, follow, server, output }) =>
    Effect.gen(function* () {
      const file = yield* withClient(server, (client) =>
        client.workflows.history({ path: { id: segment(id) } })
      )
      const events = file.events as ReadonlyArray<HistoryEvent>
      const print = (list: ReadonlyArray<HistoryEvent>) =>
        output === "json"
          ? Effect.forEach(list, (e) => Console.log(JSON.stringify(e)))
          : Console.log(eventTable(list))
      if (output === "table")
        yield* Console.log(
          `${file.workflow.type} ${file.workflow.id}  ${statusText(file.workflow.status)}  run ${file.workflow.runId}\n`
        )
      yield* print(events)
      if (!follow || (file.workflow.status !== "running" && file.workflow.status !== "stuck")) return
      yield* followEvents(server, id, events.at(-1)?.seq ?? 0, (event) =>
        output === "json" ? Console.log(JSON.stringify(event)) : Console.log(eventRowText(event))
      )
    })
).pipe(
  Command.withDescription("A workflow's history as a table of events; --follow keeps printing until it ends")
)

/** A followed event's row, each column padded to the widths a table of typical rows has. */
const eventRowText = (event: HistoryEvent): string => table(EVENT_HEADER, [eventRow(event)]).split("\n")[1]!

/** Reads the run's event stream after `afterSeq`, calling `onEvent` per history event, until `end`. */
const followEvents = (
  server: string,
  id: string,
  afterSeq: number,
  onEvent: (event: HistoryEvent) => Effect.Effect<void>
): Effect.Effect<void, CliFailure> =>
  Effect.gen(function* () {
    const token = process.env["TEMPORAL_LITE_TOKEN"]
    const response = yield* Effect.tryPromise({
      try: (signal) =>
        fetch(`${server.replace(/\/+$/, "")}/api/workflows/${segment(id)}/stream`, {
          headers: {
            "last-event-id": String(afterSeq),
            ...(token ? { authorization: `Bearer ${token}` } : {})
          },
          signal
        }),
      catch: (e) => refusal(server, { _tag: "RequestError", message: String(e) })
    })
    if (response.status === 204 || response.body === null) return
    if (!response.ok)
      return yield* Effect.fail(
        refusal(server, ((yield* Effect.promise(() => response.json())) as any).error)
      )
    const pending: Array<Sse.Event> = []
    const parser = Sse.makeParser((event) => {
      if (event._tag === "Event") pending.push(event)
    })
    const reader = response.body.getReader()
    const decoder = new TextDecoder()
    for (;;) {
      const chunk = yield* Effect.promise(() => reader.read())
      if (chunk.done) return
      parser.feed(decoder.decode(chunk.value, { stream: true }))
      for (const event of pending.splice(0)) {
        if (event.event === "end") return yield* Effect.promise(() => reader.cancel())
        if (event.event === "history") yield* onEvent(JSON.parse(event.data) as HistoryEvent)
      }
    }
  })

const historyCommand = Command.make(
  "history",
  {
    id: idArg,
    out: optionalText("out", "Write the export to this file (its folder is made if missing)"),
    server: serverOption,
    output: outputOption("json")
  },
  ({ id, out, server, output }) =>
    Effect.gen(function* () {
      const file = yield* withClient(server, (client) =>
        client.workflows.history({ path: { id: segment(id) } })
      )
      const text = JSON.stringify(encodeHistoryFile(file), null, 2)
      if (Option.isNone(out))
        return yield* Console.log(
          output === "json" ? text : eventTable(file.events as ReadonlyArray<HistoryEvent>)
        )
      yield* Effect.try({
        try: () => {
          mkdirSync(path.dirname(path.resolve(out.value)), { recursive: true })
          writeFileSync(out.value, `${text}\n`)
        },
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
    file: Args.text({ name: "file.json" }).pipe(
      Args.withDescription("An exported history (temporal-lite/history@1)")
    ),
    registry: Options.text("registry").pipe(
      Options.withDefault(process.env["TEMPORAL_LITE_REGISTRY"] ?? "examples/registry.ts"),
      Options.withDescription("Module exporting the current `workflows` (default examples/registry.ts)")
    ),
    output: outputOption("table")
  },
  ({ file, registry, output }) =>
    Effect.gen(function* () {
      const { replayFile } = yield* Effect.promise(() => import("./replay"))
      const outcome = yield* replayFile(file, registry)
      if (output === "json") yield* printJson(outcome)
      else
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
    countCommand,
    describeCommand,
    showCommand,
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
    withCliConsole,
    Effect.provide(NodeContext.layer)
  )

/** Runs the command line of this process and exits with its code. */
export const main = () =>
  NodeRuntime.runMain(
    Effect.flatMap(runCli(process.argv), (code) => Effect.sync(() => (process.exitCode = code))),
    { disableErrorReporting: true }
  )

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main()
