/**
 * The classic patterns: `fanOutFanIn` and `monitor` (the saga `bookTrip` has its own file).
 */
import { describe, expect, it } from "vitest"
import type { EventOf } from "../../core"
import { fanOutFanIn, monitor } from "../../examples"
import { Simulation } from "../support/simulator"
import { expectReplayAgrees } from "../support/replay-agrees"
import { useDriver, query, scheduledNames } from "./driver"

const driver = useDriver()

const timers = (sim: Simulation) =>
  sim.history.filter((e): e is EventOf<"TimerStarted"> => e.type === "TimerStarted")

describe("fanOutFanIn", () => {
  it("schedules every item's activity in one step, then aggregates what they return", async () => {
    const items = ["one two", "three four five", "six"]
    const sim = new Simulation(fanOutFanIn, { items })
    expect(sim.commands.map((c) => c.type)).toEqual([
      "ActivityScheduled",
      "ActivityScheduled",
      "ActivityScheduled"
    ])
    // They complete in another order than they were scheduled: the result keeps the items' order.
    const [a, b, c] = driver.openActivities(sim).map((e) => e.cmd)
    await driver.run(sim, c!)
    await driver.run(sim, a!)
    await driver.run(sim, b!)
    expect(sim.instance.result).toEqual({
      items: 3,
      words: 6,
      characters: 7 + 15 + 3,
      longest: "three four five",
      perItem: [
        { item: "one two", words: 2, characters: 7 },
        { item: "three four five", words: 3, characters: 15 },
        { item: "six", words: 1, characters: 3 }
      ]
    })
    expectReplayAgrees(fanOutFanIn, sim)
  })

  it("one item failing for good cancels the others and fails the workflow", async () => {
    const sim = new Simulation(fanOutFanIn, { items: ["a", "b", "c"] })
    const [first, second, third] = driver.openActivities(sim).map((e) => e.cmd)
    await driver.run(sim, first!)
    expect(sim.failActivity(second!, "disk full")).toEqual([
      { type: "ActivityCancelRequested", cmd: third },
      expect.objectContaining({ type: "WorkflowFailed" })
    ])
    expect(sim.instance.error?.message).toContain("analyzeText")
    expectReplayAgrees(fanOutFanIn, sim)
  })
})

describe("monitor", () => {
  it("polls, sleeping between checks, until the status is ready; the deadline timer is then cancelled", async () => {
    const sim = new Simulation(monitor, { target: "build-42", interval: "2 seconds", deadline: "1 minute" })
    const [deadline] = timers(sim)
    expect(deadline).toMatchObject({ durationMs: 60_000, purpose: "sleep" })
    expect(query(sim, "status")).toEqual({ state: "polling", checks: 1 })

    await driver.runOpen(sim, "checkStatus")
    const firstSleep = timers(sim)[1]!
    expect(firstSleep).toMatchObject({ durationMs: 2000 })
    expect(query(sim, "status")).toEqual({
      state: "polling",
      checks: 1,
      lastDetail: "build-42 is not ready yet (check 1 of 3)"
    })
    sim.advance(2000)
    sim.fireTimer(firstSleep.cmd)
    await driver.runOpen(sim, "checkStatus")
    sim.advance(2000)
    sim.fireTimer(timers(sim)[2]!.cmd)
    const commands = await driver.runOpen(sim, "checkStatus")

    expect(commands).toEqual([
      { type: "TimerCancelled", cmd: deadline!.cmd },
      {
        type: "WorkflowCompleted",
        result: { outcome: "ready", checks: 3, lastDetail: "build-42 is ready (check 3)" }
      }
    ])
    expect(scheduledNames(sim)).toEqual(["checkStatus", "checkStatus", "checkStatus"])
    expect(query(sim, "status")).toMatchObject({ state: "ready", checks: 3 })
    expectReplayAgrees(monitor, sim)
  })

  it("gives up at the deadline: the pending sleep is cancelled and no further check runs", async () => {
    const sim = new Simulation(monitor, {
      target: "never",
      interval: "1 minute",
      deadline: "3 minutes",
      readyAfterChecks: 99
    })
    const [deadline] = timers(sim)
    for (let i = 0; i < 3; i++) {
      await driver.runOpen(sim, "checkStatus")
      if (i < 2) sim.fireTimer(timers(sim).at(-1)!.cmd)
    }
    const pendingSleep = timers(sim).at(-1)!
    expect(sim.fireTimer(deadline!.cmd)).toEqual([
      { type: "TimerCancelled", cmd: pendingSleep.cmd },
      {
        type: "WorkflowCompleted",
        result: {
          outcome: "deadline-exceeded",
          checks: 3,
          lastDetail: "never is not ready yet (check 3 of 99)"
        }
      }
    ])
    expectReplayAgrees(monitor, sim)
  })
})
