/**
 * `codingAgent` in the interpreter with the offline scripted model and real workspace tools:
 * the step budget, steering, and continue-as-new with its carry-over.
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import type { EventOf } from "../../core"
import { codingAgent, CONTINUE_AS_NEW_EVERY, type CodingAgentInput } from "../../examples"
import { TOOL_LEDGER_FILE } from "../../runtime/agents"
import { Simulation } from "../support/simulator"
import { expectReplayAgrees } from "../support/replay-agrees"
import { useDriver, query, scheduledNames } from "./driver"

const driver = useDriver()

const llmInputs = (sim: Simulation) =>
  sim.history.flatMap((e) =>
    e.type === "ActivityScheduled" && e.name === "llm.chat" ? [e.input as any] : []
  )
const lastMessage = (input: any): string => input.messages.at(-1).content
const toolNames = (sim: Simulation) => scheduledNames(sim).filter((n) => n !== "llm.chat")

/** Runs the next LLM call and, if the model chose a tool, that tool. */
const step = async (sim: Simulation) => {
  await driver.runOpen(sim, "llm.chat")
  const tool = driver.openActivities(sim)[0]
  if (tool) await driver.run(sim, tool.cmd)
}

describe("codingAgent", () => {
  it("takes exactly maxSteps tool steps and maxSteps LLM calls: at the budget the model is not asked again", async () => {
    const sim = new Simulation(
      codingAgent,
      { goal: "Write notes", maxSteps: 5 },
      { workflowId: "agent-budget" }
    )
    await driver.runAll(sim)

    expect(sim.instance.status).toBe("completed")
    expect(sim.instance.result).toMatchObject({ outcome: "max-steps", stepsTaken: 5 })
    expect((sim.instance.result as any).summary).toBe(
      "Stopped after 5 tool steps (the budget); the last: write_file, Write step-5.txt with notes for step 5"
    )
    expect(toolNames(sim)).toEqual([
      "tool.writeFile",
      "tool.readFile",
      "tool.listFiles",
      "tool.runCommand",
      "tool.writeFile"
    ])
    expect(llmInputs(sim)).toHaveLength(5)
    expect(llmInputs(sim).map((i) => i.stepsTaken)).toEqual([0, 1, 2, 3, 4])
    expect(query(sim, "steps")).toEqual([
      { step: 1, tool: "write_file", summary: "Write step-1.txt with notes for step 1" },
      { step: 2, tool: "read_file", summary: "Read back step-1.txt to check it" },
      { step: 3, tool: "list_files", summary: "List the workspace" },
      { step: 4, tool: "run_command", summary: "Count the words of step-1.txt" },
      { step: 5, tool: "write_file", summary: "Write step-5.txt with notes for step 5" }
    ])
    // The tools really ran, each once, in the workflow's own workspace.
    const ledger = await fs.readFile(
      path.join(driver.workspaceRoot, "agent-budget", TOOL_LEDGER_FILE),
      "utf8"
    )
    expect(
      ledger
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l).tool)
    ).toEqual(["writeFile", "readFile", "listFiles", "runCommand", "writeFile"])
    // Polling for steering signals adds nothing to history.
    expect(sim.history.some((e) => e.type === "TimerStarted")).toBe(false)
    expectReplayAgrees(codingAgent, sim)
  })

  it("a Steer signal reaches the next LLM prompt, once, and stays in the conversation", async () => {
    const sim = new Simulation(
      codingAgent,
      { goal: "Write notes", maxSteps: 4 },
      { workflowId: "agent-steer" }
    )
    await step(sim)
    await driver.runOpen(sim, "llm.chat")
    // The signal arrives while step 2's tool runs; the workflow is not waiting for it.
    sim.signal("Steer", { instruction: "use British spelling" })
    await driver.run(sim, driver.openActivities(sim)[0]!.cmd)

    const third = driver.open(sim, "llm.chat")
    expect(lastMessage(third.input)).toBe("Human instruction: use British spelling")
    await driver.run(sim, third.cmd)
    await driver.runAll(sim)

    const inputs = llmInputs(sim)
    expect(inputs.map((i) => lastMessage(i).startsWith("Human instruction:"))).toEqual([
      false,
      false,
      true,
      false
    ])
    // Later prompts still carry it, before the model's answer to it.
    expect(inputs[3].messages.some((m: any) => m.content === "Human instruction: use British spelling")).toBe(
      true
    )
    const steps = query(sim, "steps") as Array<{ summary: string }>
    expect(
      steps.map((s) => s.summary.includes('following human instruction: "use British spelling"'))
    ).toEqual([false, false, true, false])
    expect(sim.instance.result).toMatchObject({ outcome: "max-steps", stepsTaken: 4 })
    expectReplayAgrees(codingAgent, sim)
  })

  it("several instructions sent while the model thinks all reach the next prompt, in order", async () => {
    const sim = new Simulation(codingAgent, { goal: "g", maxSteps: 2 }, { workflowId: "agent-steer-2" })
    sim.signal("Steer", { instruction: "first" })
    sim.signal("Steer", { instruction: "second" })
    // The first prompt went out at start, before they arrived.
    expect(lastMessage(driver.open(sim, "llm.chat").input)).toBe("Goal: g")
    await step(sim)
    const next = driver.open(sim, "llm.chat").input as any
    expect(next.messages.slice(-2).map((m: any) => m.content)).toEqual([
      "Human instruction: first",
      "Human instruction: second"
    ])
    await driver.runAll(sim)
    expect(sim.instance.result).toMatchObject({ outcome: "max-steps", stepsTaken: 2 })
    expectReplayAgrees(codingAgent, sim)
  })

  it("continues as new every continueEvery steps, carrying the count, the steps, the conversation and pending instructions", async () => {
    expect(CONTINUE_AS_NEW_EVERY).toBe(100)
    const runs: Array<Simulation> = []
    let input: CodingAgentInput = { goal: "Write notes", maxSteps: 5, continueEvery: 2 }

    let sim = new Simulation(codingAgent, input, { workflowId: "agent-long" })
    runs.push(sim)
    await step(sim)
    await driver.runOpen(sim, "llm.chat")
    sim.signal("Steer", { instruction: "keep it short" })
    await driver.run(sim, driver.openActivities(sim)[0]!.cmd)

    // Step 2 done: the run ends as continued-as-new, with the instruction not yet sent.
    expect(sim.instance.status).toBe("continued-as-new")
    const end = sim.history.at(-1) as EventOf<"WorkflowContinuedAsNew">
    expect(end.type).toBe("WorkflowContinuedAsNew")
    input = end.input as CodingAgentInput
    expect(input).toMatchObject({
      goal: "Write notes",
      maxSteps: 5,
      continueEvery: 2,
      stepsTaken: 2,
      instructions: ["keep it short"]
    })
    expect(input.steps!.map((s) => s.tool)).toEqual(["write_file", "read_file"])
    expect(input.transcript).toHaveLength(4)
    expectReplayAgrees(codingAgent, sim)

    for (let guard = 0; guard < 10 && sim.instance.status === "continued-as-new"; guard++) {
      sim = new Simulation(codingAgent, input, { workflowId: "agent-long" })
      runs.push(sim)
      if (runs.length === 2) {
        const first = driver.open(sim, "llm.chat").input as any
        expect(first.stepsTaken).toBe(2)
        expect(lastMessage(first)).toBe("Human instruction: keep it short")
      }
      await driver.runAll(sim)
      if (sim.instance.status === "continued-as-new")
        input = (sim.history.at(-1) as EventOf<"WorkflowContinuedAsNew">).input as CodingAgentInput
    }

    expect(runs).toHaveLength(3)
    expect(runs.map((r) => toolNames(r).length)).toEqual([2, 2, 1])
    expect(runs.map((r) => llmInputs(r).length)).toEqual([2, 2, 1])
    expect(sim.instance.result).toMatchObject({ outcome: "max-steps", stepsTaken: 5 })
    expect((query(sim, "steps") as Array<{ step: number }>).map((s) => s.step)).toEqual([1, 2, 3, 4, 5])
    // The scripted model's plan went on where the earlier run stopped.
    expect(runs.flatMap(toolNames)).toEqual([
      "tool.writeFile",
      "tool.readFile",
      "tool.listFiles",
      "tool.runCommand",
      "tool.writeFile"
    ])
    expectReplayAgrees(codingAgent, sim)
  })

  it("a long run sends the recent conversation only, with a summary of the earlier steps", async () => {
    const sim = new Simulation(codingAgent, { goal: "g", maxSteps: 30 }, { workflowId: "agent-window" })
    await driver.runAll(sim)
    expect(sim.instance.result).toMatchObject({ outcome: "max-steps", stepsTaken: 30 })
    const inputs = llmInputs(sim)
    expect(inputs).toHaveLength(30)
    // The opening (2), the earlier-steps note (1) and the window (16): never more.
    expect(Math.max(...inputs.map((i) => i.messages.length))).toBe(2 + 1 + 16)
    const last = inputs.at(-1)
    expect(last.messages[2].content).toMatch(/^Progress so far: 29 tool steps taken\./)
    expect(last.messages[2].content).toContain("- step 21, write_file: Write step-21.txt")
    expect(last.messages[2].content).not.toContain("- step 22,")
    expectReplayAgrees(codingAgent, sim)
  })

  it("a failing tool is a result the model reads; an answer that is not a tool call counts as a step", async () => {
    const sim = new Simulation(codingAgent, { goal: "g", maxSteps: 3 }, { workflowId: "agent-errors" })
    const usage = { promptTokens: 1, completionTokens: 1, totalTokens: 2 }
    const answer = (content: string) =>
      sim.completeActivity(driver.open(sim, "llm.chat").cmd, { content, model: "test", usage })

    answer(
      JSON.stringify({ tool: "read_file", args: { path: "missing.txt" }, summary: "Read a missing file" })
    )
    await driver.runOpen(sim, "tool.readFile")
    expect(lastMessage(driver.open(sim, "llm.chat").input)).toMatch(
      /^Tool result \(step 1, read_file\): \{"error":"NonRetryableError: .*missing\.txt/
    )

    answer("I would rather chat.")
    expect(lastMessage(driver.open(sim, "llm.chat").input)).toMatch(
      /^Tool result \(step 2, none\): \{"error":"not a tool call: the model's answer is not JSON/
    )

    answer(
      JSON.stringify({ tool: "run_command", args: { command: "rm", args: ["-rf", "."] }, summary: "Clean" })
    )
    await driver.runOpen(sim, "tool.runCommand")

    // The budget is spent: the agent stops without asking the model again.
    expect(driver.openActivities(sim)).toEqual([])
    expect(sim.instance.status).toBe("completed")
    expect(sim.instance.result).toMatchObject({ outcome: "max-steps", stepsTaken: 3 })
    expect((query(sim, "steps") as Array<{ tool: string }>).map((s) => s.tool)).toEqual([
      "read_file",
      "invalid-answer",
      "run_command"
    ])
    expectReplayAgrees(codingAgent, sim)
  })

  it("ends as soon as the model says done, before the budget", async () => {
    const sim = new Simulation(codingAgent, { goal: "g", maxSteps: 10 }, { workflowId: "agent-done" })
    const usage = { promptTokens: 1, completionTokens: 1, totalTokens: 2 }
    const answer = (content: string) =>
      sim.completeActivity(driver.open(sim, "llm.chat").cmd, { content, model: "test", usage })
    answer(JSON.stringify({ tool: "list_files", args: {}, summary: "Look around" }))
    await driver.runOpen(sim, "tool.listFiles")
    answer(JSON.stringify({ tool: "done", args: {}, summary: "Nothing to do" }))
    expect(sim.instance.result).toEqual({ outcome: "done", stepsTaken: 1, summary: "Nothing to do" })
    expect(llmInputs(sim)).toHaveLength(2)
    expectReplayAgrees(codingAgent, sim)
  })

  it("a 60-step agent makes exactly 60 LLM calls and 60 tool calls", async () => {
    const sim = new Simulation(codingAgent, { goal: "g", maxSteps: 60 }, { workflowId: "agent-60" })
    await driver.runAll(sim)
    expect(sim.instance.result).toMatchObject({ outcome: "max-steps", stepsTaken: 60 })
    expect(llmInputs(sim)).toHaveLength(60)
    expect(toolNames(sim)).toHaveLength(60)
    expect(driver.ledger.totalsFor("agent-60").calls).toBe(60)
  })

  it("cancelling the agent withdraws its running tool and ends it cancelled", async () => {
    const sim = new Simulation(codingAgent, { goal: "g", maxSteps: 3 }, { workflowId: "agent-cancel" })
    await driver.runOpen(sim, "llm.chat")
    const tool = driver.openActivities(sim)[0]!
    expect(sim.cancel("stop")).toEqual([
      { type: "ActivityCancelRequested", cmd: tool.cmd },
      { type: "WorkflowCancelled", reason: "stop" }
    ])
    expectReplayAgrees(codingAgent, sim)
  })
})
