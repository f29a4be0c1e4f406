/**
 * A deploy that breaks determinism, seen over HTTP: a server with changed code marks the
 * waiting workflow `stuck` (not failed), `describe` shows the divergence with both sides and
 * the source location of the changed yield, and a server with code that matches again resumes it to completion.
 * A stuck run is hard to miss (issue 20, item 6): the start-up log names it, list and describe
 * mark it, a query says the answer is from the last consistent point, a signal or cancel says
 * it is stored, and starting the id says how to get it going again.
 */
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import {
  REGISTRY,
  REGISTRY_V2,
  request,
  spawnServer,
  startServer,
  tempDir,
  until,
  waitForHistory
} from "./support"

describe("stuck workflows over HTTP", () => {
  it("changed code: stuck with the divergence in describe; fixed code: resumed and completed", async () => {
    const dataDir = tempDir("stuck")

    const recorded = await startServer({ dataDir, registry: REGISTRY })
    await request(recorded.url, "POST", "/api/workflows", {
      type: "approval",
      input: { code: "a" },
      id: "needs-fix"
    })
    await waitForHistory(recorded.url, "needs-fix", (e) => e.type === "ActivityCompleted")
    await recorded.close()

    const changed = await startServer({ dataDir, registry: REGISTRY_V2 })
    try {
      // The signal is stored whatever the code; replaying to deliver it finds the divergence.
      const signal = await request(changed.url, "POST", "/api/workflows/needs-fix/signal", {
        signalName: "approve",
        data: { approved: true }
      })
      expect(signal.status).toBe(202)
      await until("the workflow to be stuck", async () => {
        const d = await request(changed.url, "GET", "/api/workflows/needs-fix")
        return d.body.status === "stuck"
      })
      const stuck = await request(changed.url, "GET", "/api/workflows/needs-fix")
      expect(stuck.body.divergence).toMatchObject({
        expected: { kind: "ActivityScheduled", name: "test.review" },
        actual: {
          kind: "Activity",
          name: "test.lint",
          location: expect.stringMatching(/test\/server\/fixtures\/approval-v2\.ts:\d+:\d+$/)
        }
      })
      expect(stuck.body.divergence.message).toContain("non-determinism at cmd")
      const listed = await request(changed.url, "GET", "/api/workflows?status=stuck")
      expect(listed.body.workflows.map((w: { id: string }) => w.id)).toEqual(["needs-fix"])
    } finally {
      await changed.close()
    }

    const fixed = await startServer({ dataDir, registry: REGISTRY })
    try {
      await waitForHistory(fixed.url, "needs-fix", (e) => e.type === "WorkflowCompleted")
      const done = await request(fixed.url, "GET", "/api/workflows/needs-fix")
      expect(done.body).toMatchObject({ status: "completed", result: { outcome: "merged" } })
    } finally {
      await fixed.close()
    }
  })

  it("changed code: the start-up log names the stuck run; query, signal, cancel and start say it is stuck", async () => {
    const dataDir = tempDir("stuck-visible")
    const recorded = await startServer({ dataDir, registry: REGISTRY })
    await request(recorded.url, "POST", "/api/workflows", {
      type: "approval",
      input: { code: "a" },
      id: "waits"
    })
    await waitForHistory(recorded.url, "waits", (e) => e.type === "ActivityCompleted")
    expect((await request(recorded.url, "GET", "/api/workflows/waits/query/stage")).body).toEqual({
      result: "awaiting approval"
    })
    await recorded.close()

    const changed = await spawnServer([
      "--registry",
      REGISTRY_V2,
      "--db",
      path.join(dataDir, "temporal-lite.db")
    ])
    try {
      // The runs open at start are replayed at once: the stuck one is logged, one line.
      await until("the stuck line", () => changed.output().includes('workflow "waits"'))
      const line = changed
        .output()
        .split("\n")
        .find((l) => l.includes('workflow "waits"'))!
      expect(line).toMatch(
        /WARN workflow "waits" \(approval, run \S+\) is stuck: non-determinism at cmd \d+: history has ActivityScheduled "test\.review", code yields Activity "test\.lint" .* at \S*approval-v2\.ts:\d+:\d+; what arrives for it is stored until code that matches its history is deployed$/
      )

      const listed = await request(changed.url, "GET", "/api/workflows?status=stuck")
      expect(listed.body.workflows.map((w: { id: string; status: string }) => [w.id, w.status])).toEqual([
        ["waits", "stuck"]
      ])
      const described = await request(changed.url, "GET", "/api/workflows/waits")
      expect(described.body).toMatchObject({
        status: "stuck",
        divergence: { expected: { name: "test.review" } }
      })

      // The changed code's state at the divergence, said to be so, not passed off as current.
      const stage = await request(changed.url, "GET", "/api/workflows/waits/query/stage")
      expect(stage.status).toBe(200)
      expect(stage.body).toEqual({ result: "reviewing", stuck: true, divergence: described.body.divergence })

      const signal = await request(changed.url, "POST", "/api/workflows/waits/signal", {
        signalName: "approve",
        data: { approved: true }
      })
      expect(signal.status).toBe(202)
      expect(signal.body).toMatchObject({ id: "waits", accepted: true, stuck: true })
      expect(signal.body.message).toMatch(
        /^the workflow is stuck \(non-determinism at cmd \d+.*\); the signal is stored and takes effect once code that matches its history is deployed$/
      )
      const cancel = await request(changed.url, "POST", "/api/workflows/waits/cancel")
      expect(cancel.status).toBe(202)
      expect(cancel.body).toMatchObject({ accepted: true, stuck: true })
      expect(cancel.body.message).toContain("the cancel is stored")

      const again = await request(changed.url, "POST", "/api/workflows", {
        type: "approval",
        input: { code: "b" },
        id: "waits"
      })
      expect(again.status, changed.output()).toBe(409)
      expect(again.body.error).toMatchObject({ code: "WorkflowStuck", details: { workflowId: "waits" } })
      expect(again.body.error.message).toContain("deploy code that matches its history to resume it")
      expect(again.body.error.message).toContain("POST /api/workflows/waits/terminate")
      expect(again.body.error.message).toContain("POST /api/workflows/waits/reset")
    } finally {
      await changed.stop()
    }
  })
})
