/**
 * `multiAgent` and its `agentTask` children in the interpreter: each child is simulated on
 * its own and its outcome delivered to the parent, as the engine does.
 */
import { describe, expect, it } from "vitest"
import type { EventOf } from "../../core"
import { agentTask, multiAgent } from "../../examples"
import { Simulation } from "../support/simulator"
import { expectReplayAgrees } from "../support/replay-agrees"
import { useDriver, query } from "./driver"

const driver = useDriver()

const childrenOf = (sim: Simulation) =>
  sim.history.filter((e): e is EventOf<"ChildWorkflowStarted"> => e.type === "ChildWorkflowStarted")

/** Runs one child to its end and delivers its outcome to the parent. */
const settleChild = async (parent: Simulation, started: EventOf<"ChildWorkflowStarted">) => {
  const child = new Simulation(agentTask, started.input, { workflowId: started.workflowId })
  await driver.runAll(child)
  expectReplayAgrees(agentTask, child)
  if (child.instance.status === "completed") parent.completeChild(started.cmd, child.instance.result)
  else parent.deliver({ type: "ChildWorkflowFailed", cmd: started.cmd, error: child.instance.error! })
  return child
}

describe("multiAgent", () => {
  it("plans, runs one agentTask child per subtask in parallel, keeps every result when one child fails, and summarises", async () => {
    const sim = new Simulation(
      multiAgent,
      { task: "Write the docs; Fix the FAIL bug; Add tests", workers: 3 },
      { workflowId: "team" }
    )
    expect(query(sim, "progress")).toEqual({ done: 0, total: 0 })
    const plan = driver.open(sim, "llm.chat")
    expect(plan.input).toMatchObject({ purpose: "plan", subtaskCount: 3 })
    const started = await driver.run(sim, plan.cmd)

    // All three children start in the same step: they run in parallel.
    expect(started.map((c) => c.type)).toEqual([
      "ChildWorkflowStarted",
      "ChildWorkflowStarted",
      "ChildWorkflowStarted"
    ])
    const children = childrenOf(sim)
    expect(children.map((c) => [c.workflowId, c.workflowType, (c.input as any).subtask])).toEqual([
      ["team-task-1", "agentTask", "Write the docs"],
      ["team-task-2", "agentTask", "Fix the FAIL bug"],
      ["team-task-3", "agentTask", "Add tests"]
    ])
    expect(query(sim, "progress")).toEqual({ done: 0, total: 3 })

    // They settle in any order; progress counts each as it settles.
    await settleChild(sim, children[2]!)
    expect(query(sim, "progress")).toEqual({ done: 1, total: 3 })
    const failing = await settleChild(sim, children[1]!)
    expect(failing.instance.status).toBe("failed")
    expect(query(sim, "progress")).toEqual({ done: 2, total: 3 })
    expect(driver.openActivities(sim)).toEqual([])
    await settleChild(sim, children[0]!)
    expect(query(sim, "progress")).toEqual({ done: 3, total: 3 })

    const summary = driver.open(sim, "llm.chat")
    const prompt = (summary.input as any).messages.at(-1).content as string
    expect(prompt).toContain("- [completed] Write the docs: Done (offline scripted")
    expect(prompt).toContain("- [failed] Fix the FAIL bug")
    expect(prompt).toContain("- [completed] Add tests: Done (offline scripted")
    await driver.run(sim, summary.cmd)

    expect(sim.instance.status).toBe("completed")
    const result = sim.instance.result as any
    expect(result.summary).toContain("3 subtasks (2 completed, 1 failed)")
    expect(result.results.map((r: any) => [r.subtask, r.status])).toEqual([
      ["Write the docs", "completed"],
      ["Fix the FAIL bug", "failed"],
      ["Add tests", "completed"]
    ])
    expect(result.results[0].output).toContain("Write the docs")
    expect(result.results[1].output).toBeUndefined()
    expect(result.results[1].error).toContain("contains the word FAIL")
    expectReplayAgrees(multiAgent, sim)
  })

  it("agentTask retries its LLM call briefly: 2 attempts, 100 ms first interval", () => {
    const child = new Simulation(agentTask, { task: "t", subtask: "s" })
    const call = child.history.find((e) => e.type === "ActivityScheduled") as EventOf<"ActivityScheduled">
    expect(call.name).toBe("llm.chat")
    expect(call.options.retry).toMatchObject({ maximumAttempts: 2, initialIntervalMs: 100 })
    expect(call.input).toMatchObject({ purpose: "subtask" })
  })

  it("defaults to 3 workers", async () => {
    const sim = new Simulation(multiAgent, { task: "Ship the release" }, { workflowId: "defaults" })
    await driver.runOpen(sim, "llm.chat")
    expect(childrenOf(sim)).toHaveLength(3)
    expect(query(sim, "progress")).toEqual({ done: 0, total: 3 })
  })

  it("cancelling the parent cancels the children still running", async () => {
    const sim = new Simulation(multiAgent, { task: "a; b; c", workers: 3 }, { workflowId: "cancelled" })
    await driver.runOpen(sim, "llm.chat")
    const children = childrenOf(sim)
    await settleChild(sim, children[0]!)
    expect(sim.cancel("no longer needed")).toEqual([
      { type: "ChildWorkflowCancelRequested", cmd: children[1]!.cmd },
      { type: "ChildWorkflowCancelRequested", cmd: children[2]!.cmd },
      { type: "WorkflowCancelled", reason: "no longer needed" }
    ])
    expect(sim.instance.status).toBe("cancelled")
    expectReplayAgrees(multiAgent, sim)
  })
})
