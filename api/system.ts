/** The routes about the server itself. */
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as OpenApi from "@effect/platform/OpenApi"
import * as Schema from "effect/Schema"

export const Health = Schema.Struct({
  status: Schema.Literal("ok"),
  version: Schema.String,
  uptimeMs: Schema.Number.annotations({ description: "Milliseconds since the server started" })
}).annotations({ identifier: "Health", title: "Health" })

export class SystemGroup extends HttpApiGroup.make("system")
  .add(
    HttpApiEndpoint.get("health", "/api/health")
      .addSuccess(Health)
      .annotate(OpenApi.Summary, "Liveness; never needs a token")
  )
  .annotate(OpenApi.Title, "System")
  .annotate(OpenApi.Description, "The server itself") {}
