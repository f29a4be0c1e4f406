/**
 * The engine's API (engine-api.ts `Engine`): starts, signals and cancels go to a run's inbox
 * and are acknowledged once committed; queries and describe read the instance as of the last
 * commit; the rest is assembled from results.ts and listing.ts.
 *
 * Where a new call lands: a write (terminate, reset, signal-with-start) is an inbox item
 * delivered here and appended by the workflow task; a read goes through readers.ts.
 */
import * as Effect from "effect/Effect"
import {
  codecOf,
  InvalidPayload,
  workflowIdProblem,
  type QueryDefinition,
  type SignalDefinition,
  type WorkflowDefinition
} from "../../core"
import {
  Engine,
  type StartedWorkflow,
  type StartOptions,
  type WorkflowDescription,
  type WorkflowTypeInfo
} from "../engine-api"
import {
  InvalidWorkflowId,
  QueryFailed,
  StoreError,
  UnknownName,
  WorkflowAlreadyRunning,
  WorkflowClosed,
  WorkflowStuck
} from "../errors"
import { jsonSchemaOf, toStoredPayload } from "../payload-validation"
import type { WorkflowStore } from "../store"
import { fromStoredText } from "../stored-value"
import { timeOrderedId } from "../ids"
import { startRun, type Lineage } from "./lineage"
import { makeListing } from "./listing"
import type { Readers } from "./readers"
import { makeResults } from "./results"
import { OPEN, type Ack, type InboxItem, type RunState } from "./run-state"
import type { RunTable } from "./run-table"
import { storedDivergence, summary } from "./run-views"
import type { RunStreams } from "./streams"

/** A definition or its name, as a call's typed form and its form by name take it. */
const named = <D extends { readonly name: string }>(given: D | string) =>
  typeof given === "string" ? { name: given, typed: undefined } : { name: given.name, typed: given }

/** The signal or query `name` a workflow type declares, or `UnknownName` listing those it does. */
const declaredOn = <D extends { readonly name: string }>(
  kind: "signal" | "query",
  name: string,
  declared: ReadonlyArray<D> | undefined,
  workflowType: string
): Effect.Effect<D, UnknownName> => {
  const found = declared?.find((d) => d.name === name)
  return found
    ? Effect.succeed(found)
    : Effect.fail(new UnknownName({ kind, name, known: declared?.map((d) => d.name) ?? [], workflowType }))
}

export interface ApiDeps {
  readonly store: WorkflowStore["Type"]
  readonly table: RunTable
  readonly streams: RunStreams
  readonly readers: Readers
  readonly workflows: ReadonlyArray<WorkflowDefinition<any, any>>
  readonly definitions: ReadonlyMap<string, WorkflowDefinition<any, any>>
  readonly snapshotEvery: number
  readonly deliver: (run: RunState, item: InboxItem) => void
  readonly lineage: Pick<Lineage, "requestCancel">
  /** When a timer of the run is due, if the timer queue holds it (describe). */
  readonly timerDue: (runId: string, cmd: number) => number | undefined
  /** The engine's clock (Clock's time, TestClock's in tests). */
  readonly now: () => number
  /** True once the engine drains: writes are refused with `ShuttingDown`. */
  readonly closing: () => boolean
}

/** Waits for the commit of what is delivered (the ack): the caller's durability. */
const delivered = (deliver: (ack: Ack) => void) => Effect.async<void, StoreError | WorkflowClosed>(deliver)

export const makeApi = (deps: ApiDeps): Engine["Type"] => {
  const { store, table, streams, readers, definitions, snapshotEvery, deliver, lineage } = deps
  const { findRow, openRun, instanceOf } = readers

  const refuseWhileClosing = Effect.suspend(() =>
    deps.closing()
      ? Effect.fail(new StoreError({ reason: "ShuttingDown", message: "the engine is shutting down" }))
      : Effect.void
  )

  const start = (
    workflowOrType: WorkflowDefinition<any, any> | string,
    input?: unknown,
    options?: StartOptions
  ) =>
    Effect.gen(function* () {
      yield* refuseWhileClosing
      const { name: type, typed } = named(workflowOrType)
      const definition = definitions.get(type)
      if (!definition) {
        return yield* Effect.fail(
          new UnknownName({ kind: "workflow type", name: type, known: [...definitions.keys()] })
        )
      }
      const stored = yield* toStoredPayload(
        definition.input,
        input,
        `input of workflow "${type}"`,
        "input",
        typed && { schema: typed.input }
      )
      const workflowId = options?.id ?? timeOrderedId()
      const problem = workflowIdProblem(workflowId)
      if (problem !== undefined) return yield* Effect.fail(new InvalidWorkflowId({ workflowId, problem }))
      const existing = table.current(workflowId)
      if (existing && existing.row.status === "stuck") {
        return yield* Effect.fail(
          new WorkflowStuck({
            workflowId,
            runId: existing.row.runId,
            divergence: storedDivergence(existing.row)!
          })
        )
      }
      if (existing && OPEN.has(existing.row.status)) {
        return yield* Effect.fail(new WorkflowAlreadyRunning({ workflowId, runId: existing.row.runId }))
      }
      const { run, started } = startRun({
        workflowId,
        definition,
        input: stored,
        now: deps.now(),
        snapshotEvery
      })
      table.add(run)
      // Only a signal or a cancel reaching a closed run is refused, never a run's first event.
      yield* delivered((ack) => deliver(run, { event: started, ack })).pipe(
        Effect.catchTag("WorkflowClosed", Effect.die)
      )
      return { id: workflowId, runId: run.row.runId, status: "running" as const } as StartedWorkflow<any>
    })

  const signal = (id: string, signalOrName: SignalDefinition<any> | string, payload?: unknown) =>
    Effect.gen(function* () {
      yield* refuseWhileClosing
      const run = yield* openRun(id)
      const { name, typed } = named(signalOrName)
      const declared = yield* declaredOn("signal", name, run.definition?.signals, run.row.type)
      const stored = yield* toStoredPayload(
        declared.schema,
        payload,
        `payload of signal "${name}"`,
        "payload",
        typed && { schema: typed.schema }
      )
      yield* delivered((ack) =>
        deliver(run, { event: { type: "SignalReceived", name, payload: stored }, ack })
      )
    })

  const query = (id: string, queryOrName: QueryDefinition<any, any> | string, args?: unknown) =>
    Effect.gen(function* () {
      const { name, typed } = named(queryOrName)
      const row = yield* findRow(id)
      const declared = yield* declaredOn("query", name, definitions.get(row.type)?.queries, row.type)
      const storedArgs = yield* toStoredPayload(
        declared.args,
        args,
        `arguments of query "${name}"`,
        "args",
        typed && { schema: typed.args }
      )
      const { instance } = yield* instanceOf(row)
      if (!instance) {
        return yield* Effect.fail(
          new QueryFailed({
            workflowId: id,
            query: name,
            error: { name: "Unavailable", message: "the workflow cannot be replayed by this engine" }
          })
        )
      }
      const answer = instance.query(name, storedArgs)
      if (!answer.ok)
        return yield* Effect.fail(new QueryFailed({ workflowId: id, query: name, error: answer.error }))
      // The answer is an encoded copy the instance made for this caller: decoded in place.
      if (!typed) return answer.value
      return yield* Effect.mapError(codecOf(typed.output).decodeOwned(answer.value), (issue) =>
        InvalidPayload.of(`answer of query "${name}"`, "answer", issue)
      )
    })

  const cancel: Engine["Type"]["cancel"] = (id, reason) =>
    Effect.gen(function* () {
      yield* refuseWhileClosing
      const run = yield* openRun(id)
      yield* delivered((ack) => lineage.requestCancel(run, reason ?? "cancel requested", ack))
    })

  const describe: Engine["Type"]["describe"] = (id) =>
    Effect.gen(function* () {
      const found = yield* findRow(id)
      // A running run's pending work comes from its instance, and its row from the same commit.
      const { instance, row } =
        found.status === "running" && table.current(id)
          ? yield* instanceOf(found)
          : { instance: undefined, row: found }
      const facts = yield* store.historyFacts(row.runId)
      const ops = instance?.pending() ?? []
      const open = OPEN.has(row.status) ? table.byRunId(row.runId) : undefined
      const children = open ? open.children : new Map<number, string>()
      return {
        ...summary(row),
        input: fromStoredText(row.inputJson),
        result: row.resultJson === undefined ? undefined : fromStoredText(row.resultJson),
        error: row.error,
        divergence: storedDivergence(row),
        historyLength: row.lastSeq,
        pending: {
          activities: ops
            .filter((o) => o.kind === "activity")
            .map((o) => ({
              cmd: o.cmd,
              name: o.name ?? "",
              attempt: (facts.failedAttempts.get(o.cmd) ?? 0) + 1
            })),
          timers: ops
            .filter(
              (o) =>
                o.kind === "timer" || (o.kind === "signal" && deps.timerDue(row.runId, o.cmd) !== undefined)
            )
            .map((o) => ({
              cmd: o.cmd,
              fireAt: deps.timerDue(row.runId, o.cmd) ?? 0,
              purpose: o.kind === "timer" ? ("sleep" as const) : ("signal-timeout" as const)
            })),
          signals: ops.filter((o) => o.kind === "signal").map((o) => o.name ?? ""),
          bufferedSignals: (instance?.pendingSignals() ?? []).map((s) => ({ name: s.name, seq: s.seq })),
          children: ops
            .filter((o) => o.kind === "child")
            .map((o) => ({ cmd: o.cmd, workflowId: children.get(o.cmd) ?? "", workflowType: o.name ?? "" }))
        },
        llmUsage: facts.llmUsage
      } satisfies WorkflowDescription
    })

  // Built on first use, once: the registered definitions never change, and JSON Schemas are not free.
  let typeInfos: ReadonlyArray<WorkflowTypeInfo> | undefined
  const workflowTypes = (): ReadonlyArray<WorkflowTypeInfo> =>
    (typeInfos ??= deps.workflows.map((w) => ({
      name: w.name,
      inputSchema: jsonSchemaOf(w.input),
      signals: w.signals.map((s) => ({ name: s.name, schema: jsonSchemaOf(s.schema) })),
      queries: w.queries.map((q) => q.name),
      sourceFile: w.sourceFile
    })))

  return Engine.of({
    start: start as Engine["Type"]["start"],
    signal: signal as Engine["Type"]["signal"],
    query: query as Engine["Type"]["query"],
    ...makeResults({ store, table, definitions }),
    cancel,
    describe,
    ...makeListing({ store, readers, streams }),
    workflowTypes,
    registered: (type) => definitions.has(type),
    retained: () => {
      const size = table.size()
      return {
        openRuns: size.runs,
        instances: size.instances,
        streamedRuns: streams.size(),
        parentsWithChildren: size.parents
      }
    }
  })
}
