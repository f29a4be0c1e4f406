/**
 * Crash over HTTP: `temporal-lite serve` as a child process is killed with SIGKILL while 20
 * workflows wait on signals and 20 run activities. After a restart on the same file every
 * workflow is there, signals sent after the restart complete them, the interrupted
 * activities run again (at least once) and no activity whose completion was recorded ran
 * again. Then SIGTERM drains and exits 0, and the next start resumes what was waiting.
 */
import { writeFileSync } from "node:fs"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import type { ServerProcess } from "./support"
import { REGISTRY, readSideEffects, request, spawnServer, tempDir, until } from "./support"

const N = 20
const dataDir = tempDir("crash")
const dbPath = path.join(dataDir, "temporal-lite.db")
const serveArgs = ["--db", dbPath, "--registry", REGISTRY]
const waiters = Array.from({ length: N }, (_, i) => `waiter-${i}`)
const workers = Array.from({ length: N }, (_, i) => `worker-${i}`)

let current: ServerProcess | undefined

afterAll(() => {
  current?.child.kill("SIGKILL")
})

const listAll = async (url: string) =>
  (await request(url, "GET", "/api/workflows?limit=1000")).body.workflows as Array<{
    id: string
    status: string
    type: string
  }>

const completedKeys = async (url: string, ids: ReadonlyArray<string>) => {
  const keys: Array<string> = []
  for (const id of ids) {
    const history = await request(url, "GET", `/api/workflows/${id}/history`)
    for (const e of history.body.events) if (e.type === "ActivityCompleted") keys.push(`${id}/${e.cmd}`)
  }
  return keys
}

const count = (phase: "start" | "done", key: string) =>
  readSideEffects(dataDir).filter((e) => e.phase === phase && e.key === key).length

describe("crash over HTTP (a real child process, SIGKILL)", () => {
  it("after SIGKILL and a restart nothing is lost and no recorded activity runs again; SIGTERM drains and exits 0", async () => {
    const first = (current = await spawnServer(serveArgs))
    const starts = await Promise.all([
      ...waiters.map((id, i) =>
        request(first.url, "POST", "/api/workflows", { type: "waiter", input: i, id })
      ),
      ...workers.map((id, i) =>
        request(first.url, "POST", "/api/workflows", { type: "worker", input: i, id })
      )
    ])
    expect(starts.map((s) => s.status)).toEqual(Array(2 * N).fill(201))

    // The crash point: every waiter waits for `go` (its prepare recorded), every worker's activity is running.
    await until("20 waiters waiting for their signal", async () => {
      const described = await Promise.all(
        waiters.map((id) => request(first.url, "GET", `/api/workflows/${id}`))
      )
      return described.every((d) => d.body.pending.signals.includes("go"))
    })
    await until(
      "20 gated activities running",
      () => readSideEffects(dataDir).filter((e) => e.activity === "test.gated").length === N
    )
    // Describe shows the instance, which may run ahead of its commit: the history is what is recorded.
    await until(
      "20 prepares recorded",
      async () => (await completedKeys(first.url, [...waiters, ...workers])).length >= N
    )
    const recordedBeforeCrash = await completedKeys(first.url, [...waiters, ...workers])
    expect(recordedBeforeCrash).toHaveLength(N) // the 20 prepares; no gated activity has completed

    first.child.kill("SIGKILL")
    expect(await first.exited).toEqual({ code: null, signal: "SIGKILL" })

    const second = (current = await spawnServer(serveArgs))
    const afterRestart = await listAll(second.url)
    expect(afterRestart.map((w) => w.id).sort()).toEqual([...waiters, ...workers].sort())
    expect(afterRestart.every((w) => w.status === "running")).toBe(true)

    // Release the gated activities (dispatched again by recovery) and signal the waiters.
    writeFileSync(path.join(dataDir, "release"), "")
    const signals = await Promise.all(
      waiters.map((id) =>
        request(second.url, "POST", `/api/workflows/${id}/signal`, {
          signalName: "go",
          data: { note: "after restart" }
        })
      )
    )
    expect(signals.map((s) => s.status)).toEqual(Array(N).fill(202))
    await until(
      "all 40 workflows completed",
      async () => (await listAll(second.url)).every((w) => w.status === "completed"),
      30_000
    )

    for (const [i, id] of waiters.entries()) {
      const d = await request(second.url, "GET", `/api/workflows/${id}`)
      expect(d.body.result).toEqual({ prepared: i * 10, finished: i * 100, note: "after restart" })
    }
    for (const [i, id] of workers.entries()) {
      expect((await request(second.url, "GET", `/api/workflows/${id}`)).body.result).toBe(i + 1)
    }

    // No activity whose completion was recorded before the crash ran again.
    for (const key of recordedBeforeCrash)
      expect([key, count("start", key), count("done", key)]).toEqual([key, 1, 1])
    // The interrupted ones ran again after the restart and completed once.
    const effects = readSideEffects(dataDir)
    for (const id of workers) {
      const gated = effects.filter((e) => e.key.startsWith(`${id}/`))
      expect(gated.map((e) => [e.phase, e.pid === second.child.pid])).toEqual([
        ["start", false],
        ["start", true],
        ["done", true]
      ])
    }
    // The finishes ran once each, after the restart.
    const finishes = effects.filter((e) => e.activity === "test.finish")
    expect(finishes.filter((e) => e.phase === "done")).toHaveLength(N)
    expect(new Set(finishes.map((e) => e.key)).size).toBe(N)

    // SIGTERM drains and exits 0; the next start resumes a workflow that was waiting.
    expect(
      (await request(second.url, "POST", "/api/workflows", { type: "waiter", input: 99, id: "after-drain" }))
        .status
    ).toBe(201)
    await until("after-drain waiting", async () =>
      (await request(second.url, "GET", "/api/workflows/after-drain")).body.pending.signals.includes("go")
    )
    second.child.kill("SIGTERM")
    expect(await second.exited).toEqual({ code: 0, signal: null })

    const third = (current = await spawnServer(serveArgs))
    expect(
      (await request(third.url, "POST", "/api/workflows/after-drain/signal", { signalName: "go", data: {} }))
        .status
    ).toBe(202)
    await until(
      "after-drain completed",
      async () => (await request(third.url, "GET", "/api/workflows/after-drain")).body.status === "completed"
    )
    expect(count("done", "after-drain/1")).toBe(1)
    third.child.kill("SIGTERM")
    expect(await third.exited).toEqual({ code: 0, signal: null })
  }, 100_000)
})
