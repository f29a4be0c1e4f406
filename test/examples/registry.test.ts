/**
 * The examples' registry as the server loads it: every workflow, an implementation for every
 * activity they call, and the banner naming the LLM.
 */
import * as Effect from "effect/Effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { workflows } from "../../examples"
import { activities, banner } from "../../examples/registry"
import { loadRegistry } from "../../server/registry"
import { makeWorkspaceRoot } from "./driver"

let dataDir: string
beforeAll(async () => {
  dataDir = await makeWorkspaceRoot()
})
afterAll(async () => {
  await fs.rm(dataDir, { recursive: true, force: true })
})

describe("examples registry", () => {
  it("exports every example workflow, by the names of the API", () => {
    expect(workflows.map((w) => w.name)).toEqual([
      "codeReview",
      "multiAgent",
      "agentTask",
      "codingAgent",
      "fanOutFanIn",
      "monitor",
      "bookTrip"
    ])
    const declared = Object.fromEntries(
      workflows.map((w) => [
        w.name,
        { signals: w.signals.map((s) => s.name), queries: w.queries.map((q) => q.name) }
      ])
    )
    expect(declared["codeReview"]).toEqual({ signals: ["CodeReviewApproval"], queries: ["status"] })
    expect(declared["multiAgent"]).toEqual({ signals: [], queries: ["progress"] })
    expect(declared["codingAgent"]).toEqual({ signals: ["Steer"], queries: ["steps"] })
    expect(declared["monitor"]).toEqual({ signals: [], queries: ["status"] })
    for (const w of workflows) expect(w.sourceFile, w.name).toMatch(/\/examples\/[\w-]+\.ts$/)
  })

  it("implements every activity the workflows call, keeping workspaces under <dataDir>/workspaces", () => {
    const registered = activities({ dataDir, env: {} }).map((a) => a.definition.activityName)
    expect(new Set(registered).size).toBe(registered.length)
    expect([...registered].sort()).toEqual(
      [
        "llm.chat",
        "tool.readFile",
        "tool.writeFile",
        "tool.listFiles",
        "tool.runCommand",
        "notify",
        "merge",
        "bookFlight",
        "bookHotel",
        "bookCar",
        "cancelFlight",
        "cancelHotel",
        "cancelCar",
        "checkStatus",
        "analyzeText"
      ].sort()
    )
  })

  it("says plainly when the LLM is the offline scripted model, and refuses a malformed LLM setting", () => {
    expect(banner({ dataDir, env: {} })).toContain(
      'offline scripted model (model "offline-scripted", not a real LLM'
    )
    expect(banner({ dataDir, env: { LLM_BASE_URL: "http://127.0.0.1:9/v1", LLM_MODEL: "m" } })).toContain(
      "OpenAI-compatible"
    )
    expect(() => activities({ dataDir, env: { LLM_OFFLINE_DELAY_MS: "soon" } })).toThrow(
      /LLM_OFFLINE_DELAY_MS/
    )
  })

  it("loads through the server's registry loader", async () => {
    const registry = await Effect.runPromise(
      loadRegistry(path.resolve(import.meta.dirname, "../../examples/registry.ts"), {
        dataDir,
        dbPath: path.join(dataDir, "db.sqlite"),
        env: {}
      })
    )
    expect(registry.workflows).toHaveLength(7)
    expect(registry.activities.length).toBe(15)
    expect(registry.banner).toContain("offline-scripted")
  })
})
