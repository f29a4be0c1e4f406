/**
 * Records a real history for a workflow definition without an engine: drives the core
 * interpreter as the runtime would (apply an event, persist the commands it gives), and asks
 * a script what the world answers to each command. For debugger tests that need histories
 * of the real examples before (or without) a running server.
 */
import {
  HISTORY_FORMAT,
  WorkflowInstance,
  type Command,
  type HistoryEvent,
  type Incoming,
  type WorkflowDefinition
} from "../../core"

export interface Recorded {
  readonly format: typeof HISTORY_FORMAT
  readonly workflow: {
    id: string
    type: string
    runId: string
    status: string
    input: unknown
    result?: unknown
    error?: unknown
  }
  readonly events: Array<HistoryEvent>
}

/**
 * What the world does after the workflow gave `command`: the incoming events, in order, each
 * with how many ms later it arrives. Return [] for commands nothing answers.
 */
export type Script = (
  command: Command,
  events: ReadonlyArray<HistoryEvent>
) => ReadonlyArray<readonly [number, Incoming]>

export const recordHistory = (
  definition: WorkflowDefinition<any, any>,
  input: unknown,
  script: Script,
  options: { readonly id?: string; readonly start?: number } = {}
): Recorded => {
  const id = options.id ?? `${definition.name}-1`
  let at = options.start ?? Date.UTC(2025, 0, 6, 9)
  const events: Array<HistoryEvent> = []
  const instance = WorkflowInstance.create(definition, { trace: false })
  const queue: Array<Command> = []
  const append = (e: Command | Incoming): HistoryEvent => {
    const event = { seq: events.length + 1, at, ...e } as HistoryEvent
    events.push(event)
    return event
  }
  const feed = (incoming: Incoming) => {
    instance.apply(append(incoming))
    for (const command of instance.takeCommands()) {
      append(command)
      queue.push(command)
    }
  }
  feed({
    type: "WorkflowStarted",
    workflowType: definition.name,
    workflowId: id,
    runId: `${id}-run`,
    input,
    randomSeed: "seed"
  })
  while (queue.length > 0) {
    for (const [delay, incoming] of script(queue.shift()!, events)) {
      at += delay
      feed(incoming)
    }
  }
  const last = events[events.length - 1]
  return {
    format: HISTORY_FORMAT,
    workflow: {
      id,
      type: definition.name,
      runId: `${id}-run`,
      status: instance.status,
      input,
      ...(last?.type === "WorkflowCompleted" ? { result: last.result } : {}),
      ...(instance.error ? { error: instance.error } : {})
    },
    events
  }
}
