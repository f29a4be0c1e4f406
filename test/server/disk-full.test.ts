/**
 * A full disk over HTTP (issue 22 item 4): the 503 names the cause, on a real server whose
 * data folder is a small tmpfs (root only; skipped with a line saying so otherwise).
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import { afterAll, describe, expect, it } from "vitest"
import { smallDisk } from "../support/small-disk"
import { request, startServer, type TestServer } from "./support"

const scope = Effect.runSync(Scope.make())
let server: TestServer | undefined

afterAll(async () => {
  await server?.close()
  await Effect.runPromise(Scope.close(scope, Exit.void))
})

describe("a full disk over HTTP", () => {
  it("a start that cannot be committed is answered 503 naming the cause; the server answers again once space is freed", async () => {
    const disk = await Effect.runPromise(Scope.extend(smallDisk("2m"), scope))
    server = await startServer({ dataDir: disk.dir })
    const body = { type: "approval", input: { code: "x".repeat(300_000) } }
    disk.fill()
    const refused = await request(server.url, "POST", "/api/workflows", { ...body, id: "big-1" })
    expect([refused.status, refused.body.error.code, refused.body.error.details]).toEqual([
      503,
      "StoreUnavailable",
      { reason: "DiskFull" }
    ])
    expect(refused.body.error.message).toBe(
      `the database is unavailable (DiskFull): commit to ${server.dbPath} failed: disk full (SQLITE_FULL: database or disk is full); nothing was half-written, retry later`
    )
    disk.free()
    const accepted = await request(server.url, "POST", "/api/workflows", { ...body, id: "big-1" })
    expect(accepted.status).toBe(201)
  })
})
