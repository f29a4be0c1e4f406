/**
 * Routes outside the API: the debugger's built files under `/debugger/`, the OpenAPI
 * document, the docs page and `/`.
 *
 * Only files inside the debugger's dist folder are ever served: the requested path is
 * resolved and refused if it leaves the folder.
 */
import * as HttpApi from "@effect/platform/HttpApi"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpApiSwagger from "@effect/platform/HttpApiSwagger"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { existsSync, statSync } from "node:fs"
import * as path from "node:path"
import { documentedApi, envelope } from "../api"
import type { WorkflowDefinition } from "../core"

export const DOCS_PATH = "/docs"
export const OPENAPI_PATH = "/api/openapi.json"
export const DEBUGGER_PATH = "/debugger/"

/** The routes this module serves, for the guard's 404-or-405 answer. */
export const staticRoutes: ReadonlyArray<readonly [string, string]> = [
  ["GET", DOCS_PATH],
  ["GET", OPENAPI_PATH],
  ["GET", "/debugger"],
  ["GET", "/debugger/*"],
  ["GET", "/"]
]

const notFound = (code: "DebuggerNotBuilt" | "FileNotFound", message: string) =>
  HttpServerResponse.unsafeJson(envelope(code, message, null), { status: 404 })

const debuggerMissing = (distDir: string) =>
  notFound(
    "DebuggerNotBuilt",
    `the debugger is not built (no ${path.join(distDir, "index.html")}); run \`npm run build\``
  )

const isFile = (file: string) => {
  try {
    return statSync(file).isFile()
  } catch {
    return false
  }
}

/** Resolves a URL path under `/debugger/` to a file inside `distDir`, or undefined. */
export const resolveDebuggerFile = (distDir: string, urlPath: string): string | undefined => {
  let relative: string
  try {
    relative = decodeURIComponent(urlPath.slice(DEBUGGER_PATH.length))
  } catch {
    return undefined
  }
  if (relative.includes("\0")) return undefined
  const root = path.resolve(distDir)
  const file = path.resolve(root, relative === "" ? "index.html" : relative)
  if (file !== root && !file.startsWith(root + path.sep)) return undefined
  if (isFile(file)) return file
  // A path without an extension is a page of the app: the app's index answers it.
  return path.extname(file) === "" && isFile(path.join(root, "index.html"))
    ? path.join(root, "index.html")
    : undefined
}

/** Serves `distDir` at `/debugger/`; hashed assets are cached for good, the page never. */
export const debuggerRoutes = (distDir: string) =>
  HttpApiBuilder.Router.use((router) =>
    Effect.gen(function* () {
      const serveFile = Effect.gen(function* () {
        const request = yield* HttpServerRequest.HttpServerRequest
        const urlPath = request.url.split("?")[0]!
        // The router lets /debugger reach this route too; the app wants the slash.
        if (!urlPath.startsWith(DEBUGGER_PATH))
          return HttpServerResponse.redirect(DEBUGGER_PATH, { status: 302 })
        if (!existsSync(path.join(distDir, "index.html"))) return debuggerMissing(distDir)
        const file = resolveDebuggerFile(distDir, urlPath)
        if (file === undefined) return notFound("FileNotFound", `no file ${urlPath}`)
        const cache = file.includes(`${path.sep}assets${path.sep}`)
          ? "public, max-age=31536000, immutable"
          : "no-cache"
        return yield* HttpServerResponse.file(file, { headers: { "cache-control": cache } }).pipe(
          Effect.catchAll(() => Effect.succeed(notFound("FileNotFound", `no file ${urlPath}`)))
        )
      })
      // The router takes "/debugger/" to the first route (trailing slashes are ignored).
      yield* router.get("/debugger", serveFile)
      yield* router.get("/debugger/*", serveFile)
      yield* router.get(
        "/",
        Effect.sync(() =>
          HttpServerResponse.redirect(
            existsSync(path.join(distDir, "index.html")) ? DEBUGGER_PATH : DOCS_PATH,
            { status: 302 }
          )
        )
      )
    })
  )

/**
 * The OpenAPI document and the interactive docs (Swagger UI, inlined in the page: nothing
 * is loaded from a CDN), both of the API as documented for `workflows`: each type's data is
 * described by its schemas, generated once at start-up.
 */
export const DocsLive = (workflows: ReadonlyArray<WorkflowDefinition<any, any>>) =>
  Layer.mergeAll(
    HttpApiBuilder.middlewareOpenApi({ path: OPENAPI_PATH }),
    HttpApiSwagger.layer({ path: DOCS_PATH })
  ).pipe(
    Layer.provide(
      Layer.sync(HttpApi.Api, () => ({
        api: documentedApi(workflows) as unknown as HttpApi.Api["Type"]["api"],
        context: Context.empty()
      }))
    )
  )
