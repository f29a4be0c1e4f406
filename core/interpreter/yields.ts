/**
 * What each kind of yield does, one handler per descriptor kind: match the command the history
 * recorded at the yield's cmd or give a new one (invariants 3 and 4), then block the fiber on
 * what completes it or resolve at once. The table is a mapped type over the descriptor union:
 * a new kind of yield does not compile until it has a handler here.
 */
import * as Either from "effect/Either"
import { codecOf } from "../codec"
import {
  isDescriptor,
  type ActivityCall,
  type ChildResult,
  type Combine,
  type ContinueAsNew,
  type Descriptor,
  type Info,
  type OnQuery,
  type Patched,
  type SideEffect,
  type Sleep,
  type StartChild,
  type WaitForSignal
} from "../descriptor"
import { InvalidPayload } from "../errors"
import { childHandle } from "../primitives"
import { describeValue } from "./divergence"
import type { Fiber } from "./fibers"
import { BLOCKED, type Blocked, type Resume } from "./resume"
import type { Machine } from "./machine"
import { resolved, settle, type TraceStep } from "./trace"

type Handler<D extends Descriptor> = (
  m: Machine,
  fiber: Fiber,
  d: D,
  stack: string | undefined
) => Resume | Blocked

type YieldHandlers = {
  readonly [K in Descriptor["_tag"]]: Handler<Extract<Descriptor, { readonly _tag: K }>>
}

/** Invariant 1: a yield that gives a command takes the next cmd; opens its trace step. */
const takeCommand = (
  m: Machine,
  fiber: Fiber,
  d: Descriptor,
  stack: string | undefined
): TraceStep | undefined => m.trace.open(++m.lastCmd, fiber, d, stack, m.processedSeq)

/**
 * Invariant 1: a yield that gives no command takes no cmd (its step's is 0), unless the history
 * was numbered before the command-ids flag, when every yield took one and the history must hold
 * nothing at it (invariant 3).
 */
const takeNone = (
  m: Machine,
  fiber: Fiber,
  d: Descriptor,
  stack: string | undefined
): { readonly cmd: number; readonly step: TraceStep | undefined } => {
  if (m.commandIds) return { cmd: 0, step: m.trace.open(0, fiber, d, stack, m.processedSeq) }
  const cmd = ++m.lastCmd
  const step = m.trace.open(cmd, fiber, d, stack, m.processedSeq)
  m.recorded.expectNothing(cmd, d, step)
  return { cmd, step }
}

const onActivity: Handler<ActivityCall> = (m, fiber, d, stack) => {
  const step = takeCommand(m, fiber, d, stack)
  const cmd = m.lastCmd
  if (!m.recorded.expect(cmd, "ActivityScheduled", d.name, d, step))
    m.emitNew({ type: "ActivityScheduled", cmd, name: d.name, input: d.input, options: d.options }, d, step)
  return m.waits.block({ _tag: "Activity", cmd, fiber, step, name: d.name, output: d.output })
}

const onSleep: Handler<Sleep> = (m, fiber, d, stack) => {
  const step = takeCommand(m, fiber, d, stack)
  const cmd = m.lastCmd
  if (!m.recorded.expect(cmd, "TimerStarted", "sleep", d, step))
    m.emitNew(
      { type: "TimerStarted", cmd, durationMs: d.durationMs, fireAt: m.now + d.durationMs, purpose: "sleep" },
      d,
      step
    )
  return m.waits.block({ _tag: "Timer", cmd, fiber, step })
}

const onWaitForSignal: Handler<WaitForSignal> = (m, fiber, d, stack) => {
  const index = m.signalBuffer.findIndex((s) => s.name === d.name)
  if (index >= 0) {
    const { cmd, step } = takeNone(m, fiber, d, stack)
    const [signal] = m.signalBuffer.splice(index, 1)
    if (step) step.completedSeq = signal!.seq
    return resolved(step, m.decodeRecorded(d.payload, signal!.payload, cmd, signal!, "WaitForSignal", d.name))
  }
  // A poll: nothing buffered means nothing arrived, at once and with no timer.
  if (d.timeoutMs === 0) return resolved(takeNone(m, fiber, d, stack).step, undefined)
  const timeoutMs = d.timeoutMs
  if (timeoutMs === undefined) {
    const { cmd, step } = takeNone(m, fiber, d, stack)
    return m.waits.block({ _tag: "Signal", cmd, fiber, step, name: d.name, timer: false, payload: d.payload })
  }
  // The timeout is a timer: a command.
  const step = takeCommand(m, fiber, d, stack)
  const cmd = m.lastCmd
  if (!m.recorded.expect(cmd, "TimerStarted", "signal-timeout", d, step))
    m.emitNew(
      {
        type: "TimerStarted",
        cmd,
        durationMs: timeoutMs,
        fireAt: m.now + timeoutMs,
        purpose: "signal-timeout"
      },
      d,
      step
    )
  return m.waits.block({ _tag: "Signal", cmd, fiber, step, name: d.name, timer: true, payload: d.payload })
}

const onQuery: Handler<OnQuery> = (m, fiber, d, stack) => {
  const { step } = takeNone(m, fiber, d, stack)
  m.queries.set(d.name, { handler: d.handler, args: d.args, answer: d.answer })
  return resolved(step, undefined)
}

const onSideEffect: Handler<SideEffect> = (m, fiber, d, stack) => {
  const step = takeCommand(m, fiber, d, stack)
  const cmd = m.lastCmd
  const recorded = m.recorded.expect(cmd, "SideEffectRecorded", d.kind, d, step)
  // The generator advances on replay too, so Math.random() after this agrees.
  const fresh = d.kind === "now" ? m.now : d.kind === "random" ? m.random.next() : m.random.uuid()
  if (recorded) return resolved(step, recorded.value)
  m.emitNew({ type: "SideEffectRecorded", cmd, kind: d.kind, value: fresh }, d, step)
  return resolved(step, fresh)
}

const onInfo: Handler<Info> = (m, fiber, d, stack) => {
  const { step } = takeNone(m, fiber, d, stack)
  return resolved(step, { ...m.info! })
}

const onStartChild: Handler<StartChild> = (m, fiber, d, stack) => {
  const step = takeCommand(m, fiber, d, stack)
  const cmd = m.lastCmd
  const workflowId = d.workflowId ?? `${m.info!.workflowId}/${cmd}`
  if (!m.recorded.expect(cmd, "ChildWorkflowStarted", d.workflowType, d, step))
    m.emitNew(
      { type: "ChildWorkflowStarted", cmd, workflowType: d.workflowType, workflowId, input: d.input },
      d,
      step
    )
  m.waits.addChild(cmd, d.workflowType, workflowId, d.output)
  if (!d.wait) return resolved(step, childHandle(workflowId, cmd))
  return m.waits.block({ _tag: "Child", cmd, fiber, step, childCmd: cmd, workflowType: d.workflowType })
}

const onChildResult: Handler<ChildResult> = (m, fiber, d, stack) => {
  const { cmd, step } = takeNone(m, fiber, d, stack)
  const child = m.waits.child(d.childCmd)
  if (!child) return { ok: false, error: new TypeError(`no child workflow was started at cmd ${d.childCmd}`) }
  const outcome = m.waits.childOutcome(d.childCmd, cmd)
  if (outcome) return settle(step, outcome)
  return m.waits.block({
    _tag: "Child",
    cmd,
    fiber,
    step,
    childCmd: d.childCmd,
    workflowType: child.workflowType
  })
}

const onCombine: Handler<Combine> = (m, fiber, d, stack) => {
  const { step } = takeNone(m, fiber, d, stack)
  return m.fibers.startGroup(fiber, d, step)
}

/**
 * A versioning marker takes a cmd only where it records one: a replay of a history from before
 * the change finds no marker at the next cmd and takes the old branch, leaving the cmd free.
 */
const onPatched: Handler<Patched> = (m, fiber, d, stack) => {
  const cmd = m.lastCmd + 1
  const recorded = m.recorded.at(cmd)
  const hasMarker = recorded?.type === "MarkerRecorded" && recorded.patchId === d.patchId
  if (!hasMarker && (recorded !== undefined || m.recorded.isReplaying || cmd <= m.recorded.maxCmd))
    return { ok: true, value: false }
  const step = takeCommand(m, fiber, d, stack)
  if (!hasMarker) m.emitNew({ type: "MarkerRecorded", cmd, patchId: d.patchId }, d, step)
  return resolved(step, true)
}

const onContinueAsNew: Handler<ContinueAsNew> = (m, fiber, d, stack) => {
  takeNone(m, fiber, d, stack)
  const input = codecOf(m.definition.input).encode(d.input)
  if (Either.isLeft(input)) {
    const what = `continue-as-new input of workflow "${m.definition.name}"`
    return { ok: false, error: InvalidPayload.of(what, "input", input.left) }
  }
  m.finish({ _tag: "ContinuedAsNew", input: input.right })
  return BLOCKED
}

const yieldHandlers: YieldHandlers = {
  Activity: onActivity,
  Sleep: onSleep,
  WaitForSignal: onWaitForSignal,
  OnQuery: onQuery,
  SideEffect: onSideEffect,
  Info: onInfo,
  StartChild: onStartChild,
  ChildResult: onChildResult,
  Combine: onCombine,
  Patched: onPatched,
  ContinueAsNew: onContinueAsNew
}

/** A value the code yielded: a descriptor goes to its handler; anything else is thrown back into the code. */
export const onYield = (
  m: Machine,
  fiber: Fiber,
  value: unknown,
  stack: string | undefined
): Resume | Blocked => {
  if (!isDescriptor(value))
    return {
      ok: false,
      error: new TypeError(
        `workflow code yielded ${describeValue(value)}; use yield* with a descriptor (an activity call, sleep, waitForSignal, …)`
      )
    }
  return (yieldHandlers[value._tag] as Handler<Descriptor>)(m, fiber, value, stack)
}
