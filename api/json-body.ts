/**
 * What a request body must be before the API decodes it: JSON, within the server's body
 * limit, nesting at most MAX_JSON_DEPTH levels. Declared here (its refusals are the API's
 * 400 MalformedJson and 413), checked by the server after the token and before the payload is
 * decoded, so deep or broken JSON never reaches a schema and an unauthorized client's body
 * is never read.
 */
import * as HttpApiMiddleware from "@effect/platform/HttpApiMiddleware"
import * as Schema from "effect/Schema"
import { BadRequestWire, PayloadTooLargeWire } from "./errors"

export class JsonBody extends HttpApiMiddleware.Tag<JsonBody>()("temporal-lite/JsonBody", {
  failure: Schema.Union(BadRequestWire, PayloadTooLargeWire)
}) {}
