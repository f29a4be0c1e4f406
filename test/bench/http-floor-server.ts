/**
 * The floor `npm run bench:http` compares the server with: the start endpoint exactly as the
 * API declares it (StartWorkflowRequest in, StartedWorkflow out with 201), served the same
 * way (HttpApi on Node's HTTP server, no tracing spans), but answered at once: no guard, no
 * engine, no database. What is left is what Effect's HTTP stack costs a request here.
 */
import * as HttpApi from "@effect/platform/HttpApi"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpMiddleware from "@effect/platform/HttpMiddleware"
import * as HttpServer from "@effect/platform/HttpServer"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { createServer } from "node:http"
import { StartedWorkflow, untypedData } from "../../api"

const FloorApi = HttpApi.make("floor").add(
  HttpApiGroup.make("workflows").add(
    HttpApiEndpoint.post("start", "/api/workflows")
      .setPayload(untypedData.start)
      .addSuccess(StartedWorkflow, { status: 201 })
  )
)

const Handlers = HttpApiBuilder.group(FloorApi, "workflows", (handlers) =>
  handlers.handle("start", ({ payload }) =>
    Effect.succeed({ id: payload.id ?? "floor", runId: "floor", status: "running" as const })
  )
)

const Listening = Layer.effectDiscard(
  Effect.gen(function* () {
    const { address } = yield* HttpServer.HttpServer
    if (address._tag === "TcpAddress") console.log(`listening on http://127.0.0.1:${address.port}`)
  })
)

HttpApiBuilder.serve().pipe(
  Layer.provide(HttpApiBuilder.api(FloorApi).pipe(Layer.provide(Handlers))),
  HttpMiddleware.withTracerDisabledWhen(() => true),
  Layer.merge(Listening),
  Layer.provide(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })),
  Layer.launch,
  NodeRuntime.runMain
)
