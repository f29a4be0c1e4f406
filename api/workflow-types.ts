/** The registered workflow types: their schemas, signals and queries, and their source for the debugger. */
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as OpenApi from "@effect/platform/OpenApi"
import * as Schema from "effect/Schema"
import { JsonValue } from "../core"
import { NotFoundWire } from "./errors"
import { JsonBody } from "./json-body"
import { Authorization } from "./security"
import { WorkflowTypeName } from "./workflow-data"

const JsonSchemaOf = (what: string) =>
  Schema.NullOr(JsonValue).annotations({
    description: `JSON Schema of ${what}, or null when none is declared`
  })

export const WorkflowTypeInfo = Schema.Struct({
  name: Schema.String,
  inputSchema: JsonSchemaOf("the input"),
  signals: Schema.Array(Schema.Struct({ name: Schema.String, schema: JsonSchemaOf("the payload") })),
  queries: Schema.Array(Schema.String),
  sourceUrl: Schema.optional(Schema.String).annotations({ description: "Where the source file can be read" })
}).annotations({ identifier: "WorkflowTypeInfo", title: "Workflow type" })
export type WorkflowTypeInfo = typeof WorkflowTypeInfo.Type

export const WorkflowTypes = Schema.Struct({ workflowTypes: Schema.Array(WorkflowTypeInfo) }).annotations({
  identifier: "WorkflowTypes",
  title: "Workflow types"
})

export const WorkflowSource = Schema.Struct({
  type: Schema.String,
  path: Schema.String.annotations({ description: "The file, relative to the server's working directory" }),
  source: Schema.String
}).annotations({ identifier: "WorkflowSource", title: "Workflow source" })

export class WorkflowTypesGroup extends HttpApiGroup.make("workflowTypes")
  .add(
    HttpApiEndpoint.get("list", "/api/workflow-types")
      .addSuccess(WorkflowTypes)
      .annotate(OpenApi.Summary, "The registered workflow types, their input schemas, signals and queries")
  )
  .add(
    HttpApiEndpoint.get("source")`/api/workflow-types/${HttpApiSchema.param("type", WorkflowTypeName)}/source`
      .addSuccess(WorkflowSource)
      .addError(NotFoundWire)
      .annotate(OpenApi.Summary, "The source file of a registered workflow type (for the debugger)")
  )
  .middleware(JsonBody)
  .middleware(Authorization)
  .annotate(OpenApi.Title, "Workflow types")
  .annotate(OpenApi.Description, "What this server runs") {}
