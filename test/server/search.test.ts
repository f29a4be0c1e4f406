/**
 * Searching the workflow list (issue 18 item 5, issue 19 item 4): by id prefix, type, status,
 * start and close time ranges, paging through every match with the cursor; in the API
 * (`GET /api/workflows`, `GET /api/workflow-count`) and the CLI. A malformed search is a 400
 * naming the parameter.
 *
 * The expected answers are computed from the unfiltered listing of the same server, so the
 * times the runs really started and closed are what the filters are checked against.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { TestServer } from "./support"
import { request, runCliHere, startServer, waitForHistory } from "./support"

interface Summary {
  readonly id: string
  readonly type: string
  readonly status: string
  readonly createdAt: number
  readonly closedAt?: number
}

let server: TestServer
let everything: ReadonlyArray<Summary>
const at = () => ["--server", server.url]

const BATCH = Array.from({ length: 23 }, (_, i) => `batch-${String(i + 1).padStart(2, "0")}`)
/** The batch runs signalled to completion, in this order (so they close in it). */
const CLOSED = ["batch-03", "batch-11", "batch-07", "batch-19", "batch-15"]

const list = async (query: string): Promise<{ ids: Array<string>; nextCursor?: string }> => {
  const answer = await request(server.url, "GET", `/api/workflows?${query}`)
  expect(answer.status, JSON.stringify(answer.body)).toBe(200)
  return {
    ids: answer.body.workflows.map((w: Summary) => w.id),
    ...(answer.body.nextCursor === undefined ? {} : { nextCursor: answer.body.nextCursor })
  }
}

/** Every page of `query`, `limit` at a time: the ids in order, and how many pages it took. */
const allPages = async (query: string, limit: number) => {
  const ids: Array<string> = []
  let pages = 0
  let cursor: string | undefined
  do {
    const page = await list(`${query}&limit=${limit}${cursor ? `&cursor=${cursor}` : ""}`)
    ids.push(...page.ids)
    cursor = page.nextCursor
    pages++
  } while (cursor !== undefined)
  return { ids, pages }
}

const count = async (query: string): Promise<number> => {
  const answer = await request(server.url, "GET", `/api/workflow-count?${query}`)
  expect(answer.status, JSON.stringify(answer.body)).toBe(200)
  return answer.body.count
}

const idsWhere = (predicate: (s: Summary) => boolean) => everything.filter(predicate).map((s) => s.id)

beforeAll(async () => {
  server = await startServer()
  for (const id of BATCH)
    await request(server.url, "POST", "/api/workflows", { type: "waiter", id, input: 1 })
  for (const id of ["other-1", "other-2"])
    await request(server.url, "POST", "/api/workflows", { type: "chatty", id, input: 2 })
  for (const id of CLOSED) {
    await waitForHistory(server.url, id, (e) => e.type === "ActivityCompleted")
    await request(server.url, "POST", `/api/workflows/${id}/signal`, { signalName: "go", data: {} })
    await waitForHistory(server.url, id, (e) => e.type === "WorkflowCompleted")
  }
  everything = (await request(server.url, "GET", "/api/workflows?limit=1000")).body.workflows
}, 60_000)

afterAll(async () => {
  await server?.close()
})

describe("searching the workflow list", () => {
  it("the runs to search: every one, newest first, the closed ones with their close time", () => {
    expect(everything).toHaveLength(BATCH.length + 2)
    const started = everything.map((s) => s.createdAt)
    expect(started).toEqual([...started].sort((a, b) => b - a))
    expect(idsWhere((s) => s.closedAt !== undefined).sort()).toEqual([...CLOSED].sort())
  })

  it("by id prefix: exactly the ids that start with it, and with the other filters", async () => {
    expect((await list("idPrefix=batch-1&limit=1000")).ids).toEqual(
      idsWhere((s) => s.id.startsWith("batch-1"))
    )
    expect((await list("idPrefix=batch-1&limit=1000")).ids).toHaveLength(10)
    expect((await list("idPrefix=other-&limit=1000")).ids).toEqual(["other-2", "other-1"])
    expect((await list("idPrefix=nothing")).ids).toEqual([])
    // prefixes are case-sensitive, and % or _ are no wildcards
    expect((await list("idPrefix=BATCH")).ids).toEqual([])
    expect((await list("idPrefix=batch_")).ids).toEqual([])
    expect((await list("idPrefix=batch-1&status=completed&type=waiter")).ids).toEqual(
      idsWhere((s) => s.id.startsWith("batch-1") && s.status === "completed")
    )
    expect(await count("idPrefix=batch-")).toBe(BATCH.length)
    expect(await count("idPrefix=batch-1&status=running")).toBe(7)
  })

  it("by close time: the runs closed in the range, open runs left out", async () => {
    const closed = everything
      .filter((s) => s.closedAt !== undefined)
      .map((s) => s.closedAt!)
      .sort((a, b) => a - b)
    const from = closed[1]!
    const to = closed[3]!
    expect((await list(`closedAfter=${from}&limit=1000`)).ids).toEqual(
      idsWhere((s) => (s.closedAt ?? -1) >= from)
    )
    expect((await list(`closedBefore=${to}&limit=1000`)).ids).toEqual(
      idsWhere((s) => s.closedAt !== undefined && s.closedAt < to)
    )
    expect((await list(`closedAfter=${from}&closedBefore=${to}&limit=1000`)).ids).toEqual(
      idsWhere((s) => s.closedAt !== undefined && s.closedAt >= from && s.closedAt < to)
    )
    expect(await count(`closedAfter=0`)).toBe(CLOSED.length)
  })

  it("by start time: the runs started in the range", async () => {
    const started = [...new Set(everything.map((s) => s.createdAt))].sort((a, b) => a - b)
    const from = started[2]!
    const to = started[started.length - 3]!
    expect((await list(`startedAfter=${from}&startedBefore=${to}&limit=1000`)).ids).toEqual(
      idsWhere((s) => s.createdAt >= from && s.createdAt < to)
    )
  })

  it("pages through every match with the cursor: each run once, newest first", async () => {
    const paged = await allPages("idPrefix=batch-", 7)
    expect(paged.pages).toBe(4)
    expect(paged.ids).toEqual(idsWhere((s) => s.id.startsWith("batch-")))
    const running = await allPages("status=running", 5)
    expect(running.ids).toEqual(idsWhere((s) => s.status === "running"))
    expect(new Set(running.ids).size).toBe(running.ids.length)
  })

  it("a malformed search is a 400 naming the parameter", async () => {
    for (const [query, parameter] of [
      ["idPrefix=", "idPrefix"],
      ["closedAfter=yesterday", "closedAfter"],
      ["closedBefore=-5", "closedBefore"],
      ["startedAfter=1.5", "startedAfter"],
      ["startedAfter=2000&startedBefore=1000", "startedBefore"],
      ["closedAfter=2000&closedBefore=1000", "closedBefore"],
      ["status=sleeping", "status"],
      ["limit=0", "limit"]
    ] as const) {
      for (const route of ["/api/workflows", "/api/workflow-count"]) {
        if (route === "/api/workflow-count" && query.startsWith("limit")) continue
        const answer = await request(server.url, "GET", `${route}?${query}`)
        expect(answer.status, `${route}?${query}`).toBe(400)
        expect(answer.body.error.code).toBe("InvalidRequest")
        expect(answer.body.error.details.path, `${route}?${query}`).toEqual([parameter])
        expect(answer.body.error.message).toContain(parameter)
      }
    }
  })

  it("the CLI searches the same way: --id-prefix, --closed-since/--closed-until, and --all pages to the end", async () => {
    const byPrefix = await runCliHere(["list", "--id-prefix", "other-", "-o", "json", ...at()])
    expect(JSON.parse(byPrefix.stdout).workflows.map((w: Summary) => w.id)).toEqual(["other-2", "other-1"])
    expect((await runCliHere(["count", "--id-prefix", "batch-1", ...at()])).stdout).toBe("10\n")
    expect((await runCliHere(["count", "--closed-since", "1h", ...at()])).stdout).toBe(`${CLOSED.length}\n`)
    expect((await runCliHere(["count", "--closed-until", "1h", ...at()])).stdout).toBe("0\n")
    const every = await runCliHere(["list", "--all", "--limit", "4", "-o", "json", ...at()])
    expect(JSON.parse(every.stdout).workflows.map((w: Summary) => w.id)).toEqual(everything.map((s) => s.id))
    const table = await runCliHere(["list", "--id-prefix", "batch-2", "--all", "--limit", "2", ...at()])
    expect(table.stdout.split("\n").filter((line) => line.startsWith("batch-"))).toHaveLength(4)
    expect(table.stdout).not.toContain("(more:")
    const bad = await runCliHere(["list", "--closed-since", "someday", ...at()])
    expect(bad.status).toBe(2)
    expect(bad.stderr).toContain("--closed-since is neither a date")
  })
})
