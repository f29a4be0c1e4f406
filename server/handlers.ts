/**
 * The API's handlers: each calls the `Engine` and maps its failures to API errors
 * (engine-errors.ts). No handler lets an engine failure through unmapped, so an engine
 * error never becomes a 500.
 */
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { readFile } from "node:fs/promises"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import {
  Api,
  API_VERSION,
  DEFAULT_PAGE,
  END_EVENT_ID,
  NotFound,
  untypedData,
  WorkflowList,
  WorkflowTypes
} from "../api"
import type { Divergence, WorkflowDescription } from "../core"
import { Engine, type StoreError, type WorkflowNotFound, type WorkflowTypeInfo } from "../runtime"
import {
  alreadyRunning,
  invalidPayload,
  invalidWorkflowId,
  queryFailed,
  storeUnavailable,
  unknownName,
  workflowClosed,
  workflowNotFound,
  workflowStuck
} from "./engine-errors"
import { eventStreamResponse } from "./sse"

/** What the handlers need from the running server besides the engine. */
export class ServerRuntime extends Context.Tag("temporal-lite/server/ServerRuntime")<
  ServerRuntime,
  {
    readonly startedAt: number
    /** Completed when the server starts draining: live streams end so the server can close. */
    readonly shutdown: Deferred.Deferred<void>
    /** SSE heartbeat interval. */
    readonly heartbeatMs: number
  }
>() {}

/**
 * Checks an answer built from engine data against its schema. The framework reports a
 * failure to encode an answer as a 400 decode error, which would blame the client for our
 * bug; checked here, a mismatch is a defect: a logged 500.
 */
const conform =
  <A, I>(schema: Schema.Schema<A, I>) =>
  (value: A): Effect.Effect<A> =>
    Effect.orDie(Schema.validate(schema)(value))

export const debuggerUrl = (id: string): string => `/debugger/?workflow=${encodeURIComponent(id)}`

const description = (d: WorkflowDescription, typeRegistered: boolean) => ({
  ...d,
  input: d.input ?? null,
  typeRegistered,
  debuggerUrl: debuggerUrl(d.id)
})

/** What a stuck run's signal or cancel answer adds: it is stored, and when it takes effect. */
const stuckNote = (what: string, divergence: Divergence | undefined) =>
  divergence === undefined
    ? {}
    : {
        stuck: true as const,
        divergence,
        message: `the workflow is stuck (${divergence.message}); the ${what} is stored and takes effect once code that matches its history is deployed`
      }

const sourceUrl = (type: string) => `/api/workflow-types/${encodeURIComponent(type)}/source`

const typeInfo = (t: WorkflowTypeInfo) => ({
  name: t.name,
  inputSchema: t.inputSchema ?? null,
  signals: t.signals.map((s) => ({ name: s.name, schema: s.schema ?? null })),
  queries: t.queries,
  ...(t.sourceFile ? { sourceUrl: sourceUrl(t.name) } : {})
})

/** A definition's `sourceFile` as a path: stacks name modules as file:// URLs or plain paths. */
const sourcePath = (sourceFile: string): string | undefined => {
  if (sourceFile.startsWith("file://")) return fileURLToPath(sourceFile)
  return path.isAbsolute(sourceFile) ? sourceFile : undefined
}

const notFoundOrUnavailable = {
  WorkflowNotFound: (e: WorkflowNotFound) => Effect.fail(workflowNotFound(e)),
  StoreError: (e: StoreError) => Effect.fail(storeUnavailable(e))
}

export const WorkflowsLive = HttpApiBuilder.group(Api, "workflows", (handlers) =>
  Effect.gen(function* () {
    const engine = yield* Engine
    const runtime = yield* ServerRuntime
    /** The answer to a stored signal or cancel, as the run stands once it is committed. */
    const accepted = (id: string, what: string) =>
      Effect.map(engine.summary(id), (run) => ({
        id,
        accepted: true as const,
        ...stuckNote(what, run.divergence)
      }))
    return handlers
      .handle("start", ({ payload }) =>
        engine.start(payload.type, payload.input, { id: payload.id }).pipe(
          Effect.catchTags({
            UnknownName: (e) => Effect.fail(unknownName(e)),
            InvalidPayload: (e) => Effect.fail(invalidPayload("input")(e)),
            InvalidWorkflowId: (e) => Effect.fail(invalidWorkflowId(e)),
            WorkflowAlreadyRunning: (e) => Effect.fail(alreadyRunning(e)),
            WorkflowStuck: (e) => Effect.fail(workflowStuck(e)),
            StoreError: (e) => Effect.fail(storeUnavailable(e))
          })
        )
      )
      .handle("list", ({ urlParams }) =>
        engine.list({ ...urlParams, limit: urlParams.limit ?? DEFAULT_PAGE }).pipe(
          Effect.flatMap(conform(WorkflowList)),
          Effect.catchTag("StoreError", (e) => Effect.fail(storeUnavailable(e)))
        )
      )
      .handle("count", ({ urlParams }) =>
        engine.count(urlParams).pipe(
          Effect.map((count) => ({ count })),
          Effect.catchTag("StoreError", (e) => Effect.fail(storeUnavailable(e)))
        )
      )
      .handle("describe", ({ path }) =>
        engine.describe(path.id).pipe(
          Effect.map((d) => description(d, engine.registered(d.type))),
          Effect.flatMap(conform(untypedData.description)),
          Effect.catchTags(notFoundOrUnavailable)
        )
      )
      .handle("history", ({ path }) => engine.history(path.id).pipe(Effect.catchTags(notFoundOrUnavailable)))
      .handle("signal", ({ path, payload }) =>
        engine.signal(path.id, payload.signalName, payload.data).pipe(
          Effect.zipRight(accepted(path.id, "signal")),
          Effect.catchTags({
            ...notFoundOrUnavailable,
            UnknownName: (e) => Effect.fail(unknownName(e)),
            InvalidPayload: (e) => Effect.fail(invalidPayload("data")(e)),
            WorkflowClosed: (e) => Effect.fail(workflowClosed(e))
          })
        )
      )
      .handle("query", ({ path, urlParams }) =>
        engine.query(path.id, path.name, urlParams.args).pipe(
          // A stuck run answers from the last point its code still matched: said beside the answer.
          Effect.zip(engine.summary(path.id)),
          Effect.map(([result, run]) => ({
            result: result ?? null,
            ...(run.divergence === undefined ? {} : { stuck: true as const, divergence: run.divergence })
          })),
          Effect.catchTags({
            ...notFoundOrUnavailable,
            UnknownName: (e) => Effect.fail(unknownName(e)),
            InvalidPayload: (e) => Effect.fail(invalidPayload("args")(e)),
            QueryFailed: (e) => Effect.fail(queryFailed(e))
          })
        )
      )
      .handle("cancel", ({ path, urlParams }) =>
        engine.cancel(path.id, urlParams.reason ?? "cancelled through the HTTP API").pipe(
          Effect.zipRight(accepted(path.id, "cancel")),
          Effect.catchTags({
            ...notFoundOrUnavailable,
            WorkflowClosed: (e) => Effect.fail(workflowClosed(e))
          })
        )
      )
      .handle("stream", ({ path, urlParams, headers }) =>
        Effect.gen(function* () {
          const after = headers["last-event-id"] ?? urlParams.lastEventId
          // The lookup answers 404 before the stream starts: once the head is sent, errors can
          // only be events.
          const items = yield* engine
            .subscribe(path.id, { afterSeq: after === END_EVENT_ID ? undefined : after })
            .pipe(Effect.catchTags(notFoundOrUnavailable))
          // The client has had the end: 204 is how SSE says "do not reconnect".
          if (after === END_EVENT_ID) return HttpServerResponse.empty({ status: 204 })
          return eventStreamResponse(items, {
            shutdown: runtime.shutdown,
            heartbeatMs: runtime.heartbeatMs,
            describeError: storeUnavailable
          })
        })
      )
  })
)

export const WorkflowTypesLive = HttpApiBuilder.group(Api, "workflowTypes", (handlers) =>
  Effect.gen(function* () {
    const engine = yield* Engine
    const find = (type: string) => {
      const types = engine.workflowTypes()
      const found = types.find((t) => t.name === type)
      return found
        ? Effect.succeed(found)
        : Effect.fail(
            new NotFound({
              code: "UnknownWorkflowType",
              message: `no workflow type "${type}"; registered: ${types.map((t) => `"${t.name}"`).join(", ") || "none"}`,
              details: { kind: "workflow type", name: type, known: types.map((t) => t.name) }
            })
          )
    }
    return handlers
      .handle("list", () =>
        Effect.sync(() => ({ workflowTypes: engine.workflowTypes().map(typeInfo) })).pipe(
          Effect.flatMap(conform(WorkflowTypes))
        )
      )
      .handle("source", ({ path: { type } }) =>
        Effect.gen(function* () {
          const info = yield* find(type)
          const unavailable = (why: string) =>
            new NotFound({
              code: "SourceUnavailable",
              message: `the source of "${type}" is not available: ${why}`,
              details: { name: type }
            })
          // Only the file a registered definition names is ever read: the path never comes from the request.
          const file = info.sourceFile === undefined ? undefined : sourcePath(info.sourceFile)
          if (file === undefined)
            return yield* Effect.fail(unavailable("its definition does not name a file"))
          const source = yield* Effect.tryPromise({
            try: () => readFile(file, "utf8"),
            catch: (e) => unavailable((e as Error).message)
          })
          return { type, path: path.relative(process.cwd(), file) || file, source }
        })
      )
  })
)

export const SystemLive = HttpApiBuilder.group(Api, "system", (handlers) =>
  Effect.gen(function* () {
    const runtime = yield* ServerRuntime
    return handlers.handle("health", () =>
      Effect.sync(() => ({
        status: "ok" as const,
        version: API_VERSION,
        uptimeMs: Date.now() - runtime.startedAt
      }))
    )
  })
)

/** Every group of the API, implemented; needs the `Engine` and the `ServerRuntime`. */
export const HandlersLive = Layer.mergeAll(WorkflowsLive, WorkflowTypesLive, SystemLive)
