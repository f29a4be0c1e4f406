/**
 * Drives an example workflow in the in-memory `Simulation` with the real activity
 * implementations (`examples/activities.ts`, the offline scripted model, workspace tools in a
 * temporary folder): what the engine's activity executor does, one attempt per activity, in
 * the order the test asks.
 */
import { mkdtempSync } from "node:fs"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll } from "vitest"
import type { Command, EventOf } from "../../core"
import { activities } from "../../examples/activities"
import { attemptError, type ActivityContext, type RegisteredActivity } from "../../runtime/activities"
import { LlmCallLedger, scriptedProvider } from "../../runtime/agents"
import { Simulation } from "../support/simulator"

export const makeWorkspaceRoot = () => fs.mkdtemp(path.join(os.tmpdir(), "tl-examples-"))

/** A driver for one test file, on a fresh workspace folder removed after the file's tests. */
export const useDriver = (): Driver => {
  const driver = new Driver(mkdtempSync(path.join(os.tmpdir(), "tl-examples-")))
  afterAll(() => fs.rm(driver.workspaceRoot, { recursive: true, force: true }))
  return driver
}

export class Driver {
  readonly registry: ReadonlyMap<string, RegisteredActivity>
  readonly notifications: Array<string> = []
  readonly ledger = new LlmCallLedger()

  constructor(readonly workspaceRoot: string) {
    const registered = activities({
      workspaceRoot,
      llm: scriptedProvider(),
      callLedger: this.ledger,
      log: (line) => this.notifications.push(line)
    })
    this.registry = new Map(registered.map((r) => [r.definition.activityName, r]))
  }

  /** The scheduling event of `cmd`. */
  scheduled(sim: Simulation, cmd: number): EventOf<"ActivityScheduled"> {
    const event = sim.history.find(
      (e): e is EventOf<"ActivityScheduled"> => e.type === "ActivityScheduled" && e.cmd === cmd
    )
    if (!event) throw new Error(`no activity was scheduled at cmd ${cmd}`)
    return event
  }

  /** Activities scheduled and neither completed, failed nor cancelled, by cmd. */
  openActivities(sim: Simulation): Array<EventOf<"ActivityScheduled">> {
    const closed = new Set<number>()
    for (const e of sim.history)
      if (
        e.type === "ActivityCompleted" ||
        e.type === "ActivityFailed" ||
        e.type === "ActivityCancelRequested"
      )
        closed.add(e.cmd)
    return sim.history.filter(
      (e): e is EventOf<"ActivityScheduled"> => e.type === "ActivityScheduled" && !closed.has(e.cmd)
    )
  }

  /** The one open activity named `name`; fails the test if there is none or several. */
  open(sim: Simulation, name: string): EventOf<"ActivityScheduled"> {
    const found = this.openActivities(sim).filter((e) => e.name === name)
    if (found.length !== 1)
      throw new Error(
        `expected one open ${name}, found ${found.length}: ${JSON.stringify(this.openActivities(sim))}`
      )
    return found[0]!
  }

  /** Runs the activity of `cmd` once with its implementation and delivers its outcome. */
  async run(sim: Simulation, cmd: number): Promise<ReadonlyArray<Command>> {
    const event = this.scheduled(sim, cmd)
    const implementation = this.registry.get(event.name)
    if (!implementation) throw new Error(`no implementation registered for ${event.name}`)
    const workflowId = sim.instance.info!.workflowId
    const context: ActivityContext = {
      workflowId,
      runId: sim.instance.info!.runId,
      cmd,
      activityName: event.name,
      attempt: 1,
      idempotencyKey: `${workflowId}/${cmd}`,
      signal: new AbortController().signal,
      lastHeartbeat: undefined,
      heartbeat: () => {},
      emit: () => {}
    }
    try {
      const result = await implementation.run(event.input, context)
      return sim.completeActivity(cmd, result)
    } catch (error) {
      const { stack: _stack, ...info } = attemptError(error)
      return sim.deliver({ type: "ActivityFailed", cmd, attempt: 1, error: info })
    }
  }

  /** Runs the one open activity named `name`. */
  runOpen(sim: Simulation, name: string): Promise<ReadonlyArray<Command>> {
    return this.run(sim, this.open(sim, name).cmd)
  }

  /** Runs open activities, oldest first, until none is open (timers, signals and children are left). */
  async runAll(sim: Simulation, limit = 10_000): Promise<void> {
    for (let i = 0; i < limit; i++) {
      const next = this.openActivities(sim)[0]
      if (!next || sim.instance.status !== "running") return
      await this.run(sim, next.cmd)
    }
    throw new Error(`still running after ${limit} activities`)
  }
}

/** The names of the activities scheduled, in history order. */
export const scheduledNames = (sim: Simulation): Array<string> =>
  sim.history.flatMap((e) => (e.type === "ActivityScheduled" ? [e.name] : []))

/** The value a query answers, or the test fails with its error. */
export const query = (sim: Simulation, name: string): unknown => {
  const answer = sim.instance.query(name)
  if (!answer.ok) throw new Error(`query ${name} failed: ${answer.error.message}`)
  return JSON.parse(JSON.stringify(answer.value))
}
