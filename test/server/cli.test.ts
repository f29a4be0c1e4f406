/**
 * The CLI as a user meets it (issue 20, item 7): the `temporal-lite` bin runs a compiled
 * bundle; help describes each argument and has no escape codes when piped; every command
 * takes `--output json|table`; list and count filter by type, status and time; `show
 * --follow` prints the events as they are recorded until the run ends.
 */
import { existsSync } from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { TestServer } from "./support"
import { repoRoot, request, runBin, runCliHere, startServer, waitForHistory } from "./support"

let server: TestServer
const at = () => ["--server", server.url]

beforeAll(async () => {
  server = await startServer()
  for (const [type, id, input] of [
    ["waiter", "c-wait", 1],
    ["worker", "c-work", 2]
  ] as const)
    await request(server.url, "POST", "/api/workflows", { type, id, input })
})
afterAll(async () => {
  await server?.close()
})

describe("the temporal-lite command", () => {
  it("runs from a compiled bundle; piped help has no escapes and says what each argument is for", async () => {
    const help = await runBin(["signal", "--help"])
    expect(help.status).toBe(0)
    expect(existsSync(path.join(repoRoot, "server", "dist", "cli.cjs"))).toBe(true)
    expect(help.stdout).not.toMatch(/\u001b\[/)
    expect(help.stdout).not.toContain("A user-defined piece of text")
    expect(help.stdout).toContain("The workflow id")
    expect(help.stdout).toContain("The signal's name, as the workflow type defines it")
    expect(help.stdout).toContain("--output")
  })

  it("--output json|table on start, list, count, describe and history", async () => {
    const started = await runCliHere([
      "start",
      "waiter",
      "--input",
      "3",
      "--id",
      "c-out",
      "-o",
      "table",
      ...at()
    ])
    expect(started.stdout).toMatch(/^ID +RUN +STATUS\nc-out +\S+ +running\n$/)
    const listed = await runCliHere(["list", "--output", "json", ...at()])
    expect(JSON.parse(listed.stdout).workflows.map((w: { id: string }) => w.id)).toContain("c-out")
    expect((await runCliHere(["count", ...at()])).stdout).toBe("3\n")
    expect(JSON.parse((await runCliHere(["count", "-o", "json", ...at()])).stdout)).toEqual({ count: 3 })
    const described = await runCliHere(["describe", "c-out", "-o", "table", ...at()])
    expect(described.stdout).toMatch(/^id +c-out\ntype +waiter\nstatus +running\n/)
    await waitForHistory(server.url, "c-out", (e) => e.type === "ActivityCompleted")
    const history = await runCliHere(["history", "c-out", "-o", "table", ...at()])
    expect(history.stdout.split("\n")[0]).toMatch(/^SEQ +TIME +TYPE +CMD +DETAIL$/)
    expect(history.stdout).toMatch(/\n1 +\S+ \S+ +WorkflowStarted +waiter 3\n/)
  })

  it("list and count filter by type, status and start time", async () => {
    const byType = await runCliHere(["list", "--type", "worker", ...at()])
    expect(byType.stdout).toMatch(/^ID +TYPE +STATUS +UPDATED\nc-work +worker +/)
    expect(byType.stdout.split("\n").filter((l) => l.startsWith("c-"))).toHaveLength(1)
    expect((await runCliHere(["count", "--type", "waiter", "--status", "running", ...at()])).stdout).toBe(
      "2\n"
    )
    expect((await runCliHere(["count", "--since", "1h", ...at()])).stdout).toBe("3\n")
    expect((await runCliHere(["count", "--until", "1h", ...at()])).stdout).toBe("0\n")
    expect((await runCliHere(["count", "--since", "2999-01-01", ...at()])).stdout).toBe("0\n")
    const bad = await runCliHere(["count", "--since", "someday", ...at()])
    expect(bad.status).toBe(2)
    expect(bad.stderr).toContain("--since is neither a date")
  })

  it("show --follow prints each event as it is recorded, until the run ends", async () => {
    await waitForHistory(server.url, "c-wait", (e) => e.type === "ActivityCompleted")
    const following = runCliHere(["show", "c-wait", "--follow", ...at()])
    // The signal completes the waiter: its events reach the follower, then the end.
    const signalled = await request(server.url, "POST", "/api/workflows/c-wait/signal", {
      signalName: "go",
      data: { note: "from the test" }
    })
    expect(signalled.status).toBe(202)
    const shown = await following
    expect(shown.status).toBe(0)
    const types = shown.stdout
      .split("\n")
      .map((line) => /^\d+ +\S+ \S+ +(\w+)/.exec(line)?.[1])
      .filter((t) => t !== undefined)
    expect(types[0]).toBe("WorkflowStarted")
    expect(types).toContain("SignalReceived")
    expect(types.at(-1)).toBe("WorkflowCompleted")
    expect(shown.stdout.split("\n")[0]).toMatch(/^waiter c-wait {2}running {2}run /)
  })
})
