/**
 * The activities and timers a run has started and not yet seen end, as its history tells
 * them. For activities the history is the only record: recovery, and a run rebuilt after a
 * failed commit, dispatch them again from it (engine invariant 4), each resuming where its
 * last failed attempt left it (the count, when the next attempt is due, the heartbeat details
 * it is handed).
 */
import type { HistoryEvent } from "../core"
import type { ActivityTask } from "./activity-executor"

type Scheduled = Extract<HistoryEvent, { type: "ActivityScheduled" }>
type AttemptFailed = Extract<HistoryEvent, { type: "ActivityAttemptFailed" }>

export class OpenActivities {
  private readonly byCmd = new Map<number, { scheduled: Scheduled; failure?: AttemptFailed }>()

  /** Seeded with the events of a history (a snapshot's compact one will do), or empty. */
  constructor(events: Iterable<HistoryEvent> = []) {
    for (const event of events) this.track(event)
  }

  track(event: HistoryEvent) {
    switch (event.type) {
      case "ActivityScheduled":
        this.byCmd.set(event.cmd, { scheduled: event })
        break
      case "ActivityAttemptFailed": {
        const open = this.byCmd.get(event.cmd)
        if (open) open.failure = event
        break
      }
      case "ActivityCompleted":
      case "ActivityFailed":
      case "ActivityCancelRequested":
        this.byCmd.delete(event.cmd)
        break
    }
  }

  isOpen(cmd: number): boolean {
    return this.byCmd.has(cmd)
  }

  /** What the executor runs for each, continuing after its last failed attempt. */
  tasks(run: RunIds): Array<ActivityTask> {
    return [...this.byCmd.values()].map(({ scheduled, failure }) => activityTask(run, scheduled, failure))
  }
}

type RunIds = { readonly workflowId: string; readonly runId: string }

/** What the executor runs for a scheduled activity: its first attempt, or the one after `failure`. */
export const activityTask = (run: RunIds, scheduled: Scheduled, failure?: AttemptFailed): ActivityTask => ({
  workflowId: run.workflowId,
  runId: run.runId,
  cmd: scheduled.cmd,
  name: scheduled.name,
  input: scheduled.input,
  options: scheduled.options,
  failedAttempts: failure?.attempt ?? 0,
  notBefore: failure?.nextRetryAt ?? scheduled.at,
  lastHeartbeat: failure?.heartbeat
})

/** The timers the events leave running, by cmd: their due times. */
export const openTimers = (events: Iterable<HistoryEvent>): Map<number, number> => {
  const open = new Map<number, number>()
  for (const event of events) {
    if (event.type === "TimerStarted") open.set(event.cmd, event.fireAt)
    else if (event.type === "TimerFired" || event.type === "TimerCancelled") open.delete(event.cmd)
  }
  return open
}
