/**
 * What each history event does to a run, one handler per event kind. The table is a mapped
 * type over the event union: a new event kind does not compile until it has a handler here.
 */
import { codecOf } from "../codec"
import { SeededRandom } from "../determinism"
import { ActivityFailure } from "../errors"
import { COMMAND_IDS_FLAG, engineFlags, type EventOf, type HistoryEvent } from "../history"
import { describeEvent, divergence, NOTHING } from "./divergence"
import type { EventHandlers, Machine } from "./machine"
import { waitKind } from "./waits"
import type { Resume } from "./resume"

const onStarted = (m: Machine, e: EventOf<"WorkflowStarted">) => {
  if (m.root) throw divergence(0, "WorkflowStarted applied twice", describeEvent(e), NOTHING)
  const flags = e.flags ?? []
  const unknown = flags.find((flag) => !engineFlags.includes(flag))
  if (unknown !== undefined)
    throw divergence(
      0,
      `the history was recorded under engine flag "${unknown}", which this version does not know`,
      describeEvent(e),
      NOTHING
    )
  m.commandIds = flags.includes(COMMAND_IDS_FLAG)
  m.info = { workflowId: e.workflowId, runId: e.runId, workflowType: e.workflowType }
  m.random = new SeededRandom(e.randomSeed)
  const definition = m.definition
  const input = m.decodeRecorded(codecOf(definition.input), e.input, 0, e, "Workflow", definition.name)
  let gen: Iterator<unknown, unknown, unknown>
  try {
    gen = definition.body(input)
  } catch (error) {
    return m.finish({ _tag: "Threw", error })
  }
  m.root = m.fibers.spawn(gen, undefined, 0)
  m.fibers.wake(m.root, { ok: true, value: undefined })
}

/** A scheduling command of the code, recorded: it was matched when its yield was taken (invariant 3). */
const onScheduled = (m: Machine, e: HistoryEvent & { readonly cmd: number }) => {
  const step = m.trace.at(e.cmd)
  if (step) step.scheduledSeq = e.seq
  if (e.cmd > m.lastCmd)
    throw divergence(e.cmd, "the history has a command the code did not yield", describeEvent(e), NOTHING)
}

const onCancelled = (m: Machine, e: HistoryEvent & { readonly cmd: number }) => {
  if (!m.producedCancels.has(`${e.type}:${e.cmd}`))
    throw divergence(
      e.cmd,
      "the history cancels a command the code did not cancel",
      describeEvent(e),
      NOTHING
    )
}

const onEnded = (m: Machine, e: HistoryEvent) => {
  if (m.terminal?.type !== e.type)
    throw divergence(
      m.lastCmd + 1,
      "the history ends the workflow where the code does not",
      describeEvent(e),
      {
        kind: m.terminal ? m.terminal.type : "nothing"
      }
    )
}

const onAttemptFailed = (m: Machine, e: EventOf<"ActivityAttemptFailed">) => {
  const step = m.trace.at(e.cmd)
  if (step) (step.attempts ??= []).push({ seq: e.seq, attempt: e.attempt, error: e.error })
}

const onActivityOutcome = (m: Machine, e: EventOf<"ActivityCompleted"> | EventOf<"ActivityFailed">) => {
  const wait = m.waits.take(e, "Activity")
  if (!wait) return
  const resume: Resume =
    e.type === "ActivityCompleted"
      ? {
          ok: true,
          value: m.decodeRecorded(wait.output, e.result, e.cmd, e, "Activity", wait.name)
        }
      : { ok: false, error: new ActivityFailure({ activity: wait.name, cmd: e.cmd, cause: e.error }) }
  m.waits.complete(wait, resume, e.seq)
}

const onTimerFired = (m: Machine, e: EventOf<"TimerFired">) => {
  const wait = m.waits.at(e.cmd)
  if (!wait) return m.waits.late(e)
  if (wait._tag !== "Timer" && wait._tag !== "Signal")
    throw divergence(e.cmd, "a timer fired for a command that is not a timer", describeEvent(e), {
      kind: waitKind(wait._tag)
    })
  // A signal wait's timeout: the wait resolves to undefined.
  m.waits.complete(wait, { ok: true, value: undefined }, e.seq)
}

const onSignal = (m: Machine, e: EventOf<"SignalReceived">) => {
  const wait = m.waits.takeSignalWait(e.name)
  if (!wait) {
    m.signalBuffer.push(e)
    return
  }
  if (wait.timer) m.emitCancel("TimerCancelled", wait.cmd)
  m.waits.complete(
    wait,
    { ok: true, value: m.decodeRecorded(wait.payload, e.payload, wait.cmd, e, "WaitForSignal", e.name) },
    e.seq
  )
}

const onCancelRequested = (m: Machine, e: EventOf<"CancelRequested">) => {
  if (m.cancelRequested !== undefined || !m.root || m.root.done) return
  m.cancelRequested = e.reason
  m.fibers.cancel(m.root, e.reason)
}

export const eventHandlers: EventHandlers = {
  WorkflowStarted: onStarted,
  ActivityScheduled: onScheduled,
  ActivityAttemptFailed: onAttemptFailed,
  ActivityCompleted: onActivityOutcome,
  ActivityFailed: onActivityOutcome,
  ActivityCancelRequested: onCancelled,
  TimerStarted: onScheduled,
  TimerFired: onTimerFired,
  TimerCancelled: onCancelled,
  SignalReceived: onSignal,
  SideEffectRecorded: onScheduled,
  MarkerRecorded: onScheduled,
  ChildWorkflowStarted: onScheduled,
  ChildWorkflowCompleted: (m, e) => m.waits.childDone(e),
  ChildWorkflowFailed: (m, e) => m.waits.childDone(e),
  ChildWorkflowCancelRequested: onCancelled,
  CancelRequested: onCancelRequested,
  WorkflowCompleted: onEnded,
  WorkflowFailed: onEnded,
  WorkflowCancelled: onEnded,
  WorkflowContinuedAsNew: onEnded
}
