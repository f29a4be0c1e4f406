/**
 * The OpenAPI document of a server running the examples (issue 20, items 3 and 4), checked
 * by tools nobody here wrote: it passes a strict OpenAPI 3.1 validator, every schema in it
 * compiles in Ajv's 2020 strict mode, real answers match it, and a client generated from it
 * by openapi-typescript is typed per workflow type (a wrong field does not compile) and runs.
 */
import { Validator } from "@seriousme/openapi-schema-validator"
import { Ajv2020 } from "ajv/dist/2020.js"
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import openapiTS, { astToString } from "openapi-typescript"
import ts from "typescript"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { DEFAULT_REGISTRY } from "../../server/registry"
import type { TestServer } from "./support"
import { repoRoot, request, startServer } from "./support"

let server: TestServer
let doc: Record<string, any>

beforeAll(async () => {
  server = await startServer({ registry: DEFAULT_REGISTRY })
  doc = (await request(server.url, "GET", "/api/openapi.json")).body
})
afterAll(async () => {
  await server?.close()
})

const DOC_ID = "https://temporal-lite.local/openapi.json"
const pointer = (...parts: ReadonlyArray<string>) =>
  `${DOC_ID}#/${parts.map((p) => p.replace(/~/g, "~0").replace(/\//g, "~1")).join("/")}`

/** Ajv 2020 in strict mode over the document's schemas; OpenAPI's own keywords declared. */
const strictAjv = () => {
  const ajv = new Ajv2020({ strict: true, allErrors: true, validateFormats: false })
  ajv.addVocabulary(["discriminator", "components", "paths"])
  ajv.addSchema({ $id: DOC_ID, components: doc.components, paths: doc.paths })
  return ajv
}

/** Every schema the operations use inline: parameters, request bodies, responses. */
const operationSchemas = () =>
  Object.entries(doc.paths as Record<string, Record<string, any>>).flatMap(([route, methods]) =>
    Object.entries(methods).flatMap(([method, op]) => [
      ...(op.parameters ?? []).map((_: unknown, i: number) => ({
        where: `${method} ${route} parameter ${i}`,
        ref: pointer("paths", route, method, "parameters", String(i), "schema")
      })),
      ...Object.keys(op.requestBody?.content ?? {}).map((type) => ({
        where: `${method} ${route} request ${type}`,
        ref: pointer("paths", route, method, "requestBody", "content", type, "schema")
      })),
      ...Object.entries(op.responses as Record<string, any>).flatMap(([status, response]) =>
        Object.keys(response.content ?? {}).map((type) => ({
          where: `${method} ${route} ${status} ${type}`,
          ref: pointer("paths", route, method, "responses", status, "content", type, "schema")
        }))
      )
    ])
  )

describe("the document", () => {
  it("passes a strict OpenAPI 3.1 validator", async () => {
    const result = await new Validator().validate(doc)
    expect(result.errors ?? []).toEqual([])
    expect(result.valid).toBe(true)
  })

  it("every schema (components and inline) compiles in Ajv 2020 strict mode", () => {
    const ajv = strictAjv()
    const components = Object.keys(doc.components.schemas)
    expect(components.length).toBeGreaterThan(50)
    for (const name of components)
      expect(() => ajv.compile({ $ref: pointer("components", "schemas", name) }), name).not.toThrow()
    for (const { where, ref } of operationSchemas())
      expect(() => ajv.compile({ $ref: ref }), where).not.toThrow()
    // No id is given to two schemas, and no title is the schema library's name for a check.
    const text = JSON.stringify(doc)
    expect(text).not.toContain("/schemas/unknown")
    expect(text).not.toMatch(/"title":"(minLength|maxLength|int|positive)/)
    expect(Object.keys(doc.components.schemas)).not.toContain("PropertyKey")
  })

  it("is typed per workflow type: start is a oneOf discriminated by type, with real examples", async () => {
    const start = doc.paths["/api/workflows"].post.requestBody.content["application/json"]
    expect(start.schema.discriminator.propertyName).toBe("type")
    expect(start.schema.discriminator.mapping.codeReview).toBe("#/components/schemas/codeReview.Start")
    expect(start.schema.oneOf).toHaveLength(7)
    expect(doc.components.schemas["codeReview.Input"]).toMatchObject({
      type: "object",
      required: ["code"],
      properties: { code: { type: "string" } }
    })
    expect(doc.components.schemas["codeReview.query.status"].properties.stage.enum).toContain(
      "awaiting-approval"
    )
    expect(doc.components.schemas["codeReview.signal.CodeReviewApproval"].required).toEqual(["approved"])
    expect(doc.components.schemas["fanOutFanIn.Result"].required).toContain("words")
    const signal = doc.paths["/api/workflows/{id}/signal"].post.requestBody.content["application/json"].schema
    expect(signal.discriminator.propertyName).toBe("signalName")
    expect(doc.servers).toEqual([{ url: "/", description: "This server" }])
    const limit = doc.paths["/api/workflows"].get.parameters.find((p: { name: string }) => p.name === "limit")
    expect(limit.schema).toEqual({ type: "integer", minimum: 1, maximum: 1000 })
    const codes = doc.components.schemas.ErrorCode.enum
    expect(codes).toEqual(
      expect.arrayContaining(["InvalidPayload", "WorkflowNotFound", "WorkflowStuck", "Unauthorized"])
    )
    // The example a reader tries is valid against the document and accepted by the server.
    const example = start.examples.codeReview.value
    const ajv = strictAjv()
    const validStart = ajv.compile({
      $ref: pointer("paths", "/api/workflows", "post", "requestBody", "content", "application/json", "schema")
    })
    expect(validStart(example), JSON.stringify(validStart.errors)).toBe(true)
    expect((await request(server.url, "POST", "/api/workflows", example)).status).toBe(201)
  })

  it("the server's answers match it (start, describe, list, query, an error)", async () => {
    const ajv = strictAjv()
    const check = (route: string, method: string, status: number, body: unknown) => {
      const validate = ajv.compile({
        $ref: pointer(
          "paths",
          route,
          method,
          "responses",
          String(status),
          "content",
          "application/json",
          "schema"
        )
      })
      expect(validate(body), `${method} ${route} ${status}: ${JSON.stringify(validate.errors)}`).toBe(true)
    }
    const started = await request(server.url, "POST", "/api/workflows", {
      type: "fanOutFanIn",
      id: "doc-fan",
      input: { items: ["a b", "c"] }
    })
    check("/api/workflows", "post", 201, started.body)
    const done = await request(server.url, "GET", "/api/workflows/doc-fan")
    check("/api/workflows/{id}", "get", 200, done.body)
    check("/api/workflows", "get", 200, (await request(server.url, "GET", "/api/workflows")).body)
    await request(server.url, "POST", "/api/workflows", {
      type: "codeReview",
      id: "doc-review",
      input: { code: "x" }
    })
    const status = await request(server.url, "GET", "/api/workflows/doc-review/query/status")
    check("/api/workflows/{id}/query/{name}", "get", 200, status.body)
    const bad = await request(server.url, "POST", "/api/workflows", {
      type: "codeReview",
      input: { code: 1 }
    })
    check("/api/workflows", "post", 400, bad.body)
    const missing = await request(server.url, "GET", "/api/workflows/nobody")
    check("/api/workflows/{id}", "get", 404, missing.body)
  })
})

describe("a client generated with openapi-typescript from the live document", () => {
  const dir = path.join(repoRoot, "test", ".artifacts", "typed-client")
  const fixtures = path.join(import.meta.dirname, "fixtures", "typed-client")

  const compile = (file: string) => {
    const program = ts.createProgram([path.join(dir, file)], {
      strict: true,
      noEmit: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      skipLibCheck: true,
      types: []
    })
    return ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"))
  }

  beforeAll(async () => {
    mkdirSync(dir, { recursive: true })
    writeFileSync(
      path.join(dir, "api.ts"),
      astToString(await openapiTS(doc as Parameters<typeof openapiTS>[0]))
    )
    for (const file of ["program.ts", "wrong-field.ts"])
      copyFileSync(path.join(fixtures, file), path.join(dir, file))
  })

  it("type-checks a program using codeReview's and fanOutFanIn's typed inputs and results", () => {
    expect(compile("program.ts")).toEqual([])
  })

  it("refuses to compile a codeReview input with a wrong field (a type test)", () => {
    const errors = compile("wrong-field.ts")
    expect(errors.join("\n")).toMatch(/'cod' does not exist/)
  })

  it("runs against the server: the typed results are the workflows' results", async () => {
    const program = (await import(pathToFileURL(path.join(dir, "program.ts")).href)) as {
      main: (
        baseUrl: string
      ) => Promise<{ outcome?: string; merged?: number; words?: number; listed: Array<string> }>
    }
    const result = await program.main(server.url)
    expect(result).toMatchObject({ outcome: "merged", merged: 11, words: 3 })
    expect(result.listed).toContain("typed-review")
  })
})
