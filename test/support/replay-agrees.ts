import { expect } from "vitest"
import { replay, type WorkflowDefinition } from "../../core"
import type { Simulation } from "./simulator"

/** The replay of a simulation's history agrees with it: same status and result, nothing new to do. */
export const expectReplayAgrees = (definition: WorkflowDefinition, sim: Simulation) => {
  const again = replay(definition, sim.history)
  expect(again.divergence).toBeUndefined()
  expect(again.status).toBe(sim.instance.status)
  expect(again.result).toEqual(sim.instance.result)
  expect(again.error?.message).toEqual(sim.instance.error?.message)
  expect(again.commands).toEqual([])
}
