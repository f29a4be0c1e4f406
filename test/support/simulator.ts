/**
 * An in-memory driver for the interpreter, for tests: it numbers and timestamps commands as
 * the store would, and lets a test decide what completes when. It does what the runtime
 * does to history and nothing else: no I/O, no timers, no activities run.
 */
import {
  WorkflowInstance,
  type Command,
  type HistoryEvent,
  type Incoming,
  type InterpreterOptions,
  type WorkflowDefinition
} from "../../core"

export class Simulation {
  readonly history: Array<HistoryEvent> = []
  readonly instance: WorkflowInstance
  /** Every command the instance produced, in order. */
  readonly commands: Array<Command> = []
  clock = 1_700_000_000_000

  constructor(
    readonly definition: WorkflowDefinition<any, any>,
    input: unknown,
    options: InterpreterOptions & {
      readonly workflowId?: string
      readonly seed?: string
      /**
       * The engine flags of its WorkflowStarted: none by default, as histories were recorded
       * before 0.2 (every yield took a cmd; the tests written then pin those ids); pass
       * `engineFlags` to record as the engine does now.
       */
      readonly flags?: ReadonlyArray<string>
    } = {}
  ) {
    this.instance = WorkflowInstance.create(definition, options)
    this.deliver({
      type: "WorkflowStarted",
      workflowType: definition.name,
      workflowId: options.workflowId ?? "wf-1",
      runId: "run-1",
      input,
      randomSeed: options.seed ?? "seed-1",
      ...(options.flags ? { flags: options.flags } : {})
    })
  }

  private append(body: Incoming | Command): HistoryEvent {
    const event = { ...body, seq: this.history.length + 1, at: this.clock } as HistoryEvent
    this.history.push(event)
    return event
  }

  /** Appends an event from outside, applies it, and appends the commands it produced. */
  deliver(body: Incoming): ReadonlyArray<Command> {
    this.instance.apply(this.append(body))
    const commands = this.instance.takeCommands()
    for (const c of commands) this.append(c)
    this.commands.push(...commands)
    return commands
  }

  advance(ms: number) {
    this.clock += ms
  }

  /** Commands that wait for something from outside and have not got it. */
  open(): Array<Command & { readonly cmd: number }> {
    const done = new Set<number>()
    const opened = new Map<number, Command & { readonly cmd: number }>()
    for (const e of this.history) {
      switch (e.type) {
        case "ActivityScheduled":
        case "TimerStarted":
        case "ChildWorkflowStarted":
          opened.set(e.cmd, e as any)
          break
        case "ActivityCompleted":
        case "ActivityFailed":
        case "TimerFired":
        case "TimerCancelled":
        case "ChildWorkflowCompleted":
        case "ChildWorkflowFailed":
          done.add(e.cmd)
          break
      }
    }
    return [...opened.values()].filter((c) => !done.has(c.cmd))
  }

  completeActivity(cmd: number, result: unknown) {
    return this.deliver({ type: "ActivityCompleted", cmd, attempt: 1, result })
  }
  failActivity(cmd: number, message: string) {
    return this.deliver({ type: "ActivityFailed", cmd, attempt: 1, error: { name: "Error", message } })
  }
  fireTimer(cmd: number) {
    return this.deliver({ type: "TimerFired", cmd })
  }
  signal(name: string, payload: unknown) {
    return this.deliver({ type: "SignalReceived", name, payload })
  }
  cancel(reason = "requested") {
    return this.deliver({ type: "CancelRequested", reason })
  }
  completeChild(cmd: number, result: unknown) {
    return this.deliver({ type: "ChildWorkflowCompleted", cmd, result })
  }
  failChild(cmd: number, message: string) {
    return this.deliver({ type: "ChildWorkflowFailed", cmd, error: { name: "Error", message } })
  }

  /** The open activity with this name (the first, by cmd). */
  activity(name: string): number {
    const found = this.open().find((c) => c.type === "ActivityScheduled" && c.name === name)
    if (!found) throw new Error(`no open activity ${name}; open: ${JSON.stringify(this.open())}`)
    return found.cmd
  }
}
