/**
 * A deploy that breaks determinism, seen over HTTP: a server with changed code marks the
 * waiting workflow `stuck` (not failed), `describe` shows the divergence with both sides and
 * the source location of the changed yield, and a server with code that matches again resumes it to completion.
 */
import { describe, expect, it } from "vitest"
import { REGISTRY, REGISTRY_V2, request, startServer, tempDir, until, waitForHistory } from "./support"

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
})
