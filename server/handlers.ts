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
  Engine,
  type StoreError,
  type WorkflowDescription,
  type WorkflowNotFound,
  type WorkflowTypeInfo
} from "../runtime"
import {
  Api,
  API_VERSION,
  END_EVENT_ID,
  WorkflowDescription as WorkflowDescriptionSchema,
  WorkflowList,
  WorkflowTypes
} from "./api"
import { NotFound } from "./api-errors"
import {
  alreadyRunning,
  invalidPayload,
  queryFailed,
  storeUnavailable,
  unknownName,
  workflowClosed,
  workflowNotFound
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

const DEFAULT_PAGE = 50

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

const description = (d: WorkflowDescription) => ({
  ...d,
  input: d.input ?? null,
  debuggerUrl: debuggerUrl(d.id)
})

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
    return handlers
      .handle("start", ({ payload }) =>
        engine.start(payload.type, payload.input, { id: payload.id }).pipe(
          Effect.catchTags({
            UnknownName: (e) => Effect.fail(unknownName(e)),
            InvalidPayload: (e) => Effect.fail(invalidPayload("input")(e)),
            WorkflowAlreadyRunning: (e) => Effect.fail(alreadyRunning(e)),
            StoreError: (e) => Effect.fail(storeUnavailable(e))
          })
        )
      )
      .handle("list", ({ urlParams }) =>
        engine
          .list({
            status: urlParams.status,
            type: urlParams.type,
            limit: urlParams.limit ?? DEFAULT_PAGE,
            cursor: urlParams.cursor
          })
          .pipe(
            Effect.flatMap(conform(WorkflowList)),
            Effect.catchTag("StoreError", (e) => Effect.fail(storeUnavailable(e)))
          )
      )
      .handle("describe", ({ path }) =>
        engine
          .describe(path.id)
          .pipe(
            Effect.map(description),
            Effect.flatMap(conform(WorkflowDescriptionSchema)),
            Effect.catchTags(notFoundOrUnavailable)
          )
      )
      .handle("history", ({ path }) => engine.history(path.id).pipe(Effect.catchTags(notFoundOrUnavailable)))
      .handle("signal", ({ path, payload }) =>
        engine.signal(path.id, payload.signalName, payload.data).pipe(
          Effect.as({ id: path.id, accepted: true as const }),
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
          Effect.map((result) => ({ result: result ?? null })),
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
          Effect.as({ id: path.id, accepted: true as const }),
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
              details: { name: type, known: types.map((t) => t.name) }
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
