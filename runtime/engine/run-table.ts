/**
 * The open runs the engine knows (engine invariant 3): by run id, each workflow id's current
 * run, each run's open children, and the cache of instances (a bounded LRU).
 *
 * Invariants:
 * 1. Every open run is in the table from the task that creates it (or from recovery) until
 *    its close commits; a run whose creation fails leaves with that commit.
 * 2. `current(id)` is the run that holds the workflow id: the newest made under it. A run
 *    that closed keeps it until a new run takes it, and one whose continue-as-new was lost
 *    with a failed commit takes it back (`holdId`).
 * 3. The cache holds the runs whose phase holds an instance, least recently used first; past
 *    its size (plus a 1/32 slack) idle ones are evicted, a batch at a time. A run with work
 *    queued, in its inbox or in a commit in flight is never evicted.
 */
import type { RunRow } from "../store"
import { answerReaders, closed, evict, tellResultWaiters, type RunState } from "./run-state"

export interface RunTable {
  /** Invariant 1: the run is open from now on, and holds its workflow id. */
  readonly add: (run: RunState) => void
  /**
   * Invariant 1: the run leaves (closed, or never created). Callers waiting on it are told
   * nothing and read the store instead; its instance and child link go with it.
   */
  readonly remove: (run: RunState) => void
  readonly byRunId: (runId: string) => RunState | undefined
  /** Invariant 2: the run that holds `workflowId`, if it is in memory. */
  readonly current: (workflowId: string) => RunState | undefined
  /** Invariant 2: a run still in the table takes its workflow id back when none holds it. */
  readonly holdId: (run: RunState) => void
  /** The run that took the id of one that continued as new (in memory: its commit may be in flight). */
  readonly successorOf: (run: RunState) => RunState | undefined
  /** The parent's open children, taken out of the table's index (the parent has closed). */
  readonly takeChildren: (parentRunId: string) => ReadonlyArray<RunState>
  /** Invariant 3: the run was used; evicts idle instances once the cache is over its size. */
  readonly touch: (run: RunState) => void
  /** Invariant 3: the run's instance is dropped, and its cache entry with it. */
  readonly evict: (run: RunState) => void
  /** The open runs, in the order they were added. */
  readonly all: () => IterableIterator<RunState>
  readonly size: () => { readonly runs: number; readonly instances: number; readonly parents: number }
}

/** A run table whose cache keeps `cacheSize` instances. */
export const makeRunTable = (cacheSize: number): RunTable => {
  const runs = new Map<string, RunState>()
  const current = new Map<string, RunState>()
  const childrenOf = new Map<string, Set<RunState>>()
  const cache = new Map<string, RunState>()
  // Evictions come in batches of this many once the cache is full (see `touch`).
  const evictionSlack = cacheSize >> 5

  const dropInstance = (run: RunState) => {
    evict(run)
    cache.delete(run.row.runId)
  }

  const parentOf = (row: RunRow) => row.parent?.runId

  return {
    add(run) {
      runs.set(run.row.runId, run)
      current.set(run.row.workflowId, run)
      const parent = parentOf(run.row)
      if (parent) {
        let set = childrenOf.get(parent)
        if (!set) childrenOf.set(parent, (set = new Set()))
        set.add(run)
      }
    },
    remove(run) {
      // Its readers read the store instead: instanceOf replays what is committed there.
      answerReaders(run, undefined)
      tellResultWaiters(run, undefined)
      runs.delete(run.row.runId)
      if (current.get(run.row.workflowId) === run) current.delete(run.row.workflowId)
      // Nothing reads it again, and a run that lived through two scavenges is in the old
      // generation: what it still pointed at would be copied by every scavenge until the next
      // full collection.
      closed(run)
      cache.delete(run.row.runId)
      const parent = parentOf(run.row)
      if (parent) childrenOf.get(parent)?.delete(run)
    },
    byRunId: (runId) => runs.get(runId),
    current: (workflowId) => current.get(workflowId),
    holdId(run) {
      if (runs.has(run.row.runId) && !current.has(run.row.workflowId)) current.set(run.row.workflowId, run)
    },
    successorOf(run) {
      if (run.row.status !== "continued-as-new") return undefined
      const successor = current.get(run.row.workflowId)
      return successor === run ? undefined : successor
    },
    takeChildren(parentRunId) {
      const children = [...(childrenOf.get(parentRunId) ?? [])]
      childrenOf.delete(parentRunId)
      return children
    },
    touch(run) {
      if (!run.instance) return
      cache.delete(run.row.runId)
      cache.set(run.row.runId, run)
      if (cache.size <= cacheSize + evictionSlack) return
      // A Map iterates from its oldest slot, stepping over every entry deleted since its last
      // rehash: evicting one instance per touch made each touch walk thousands of holes.
      let scanned = 0
      const budget = cache.size - cacheSize + 64
      for (const candidate of cache.values()) {
        if (cache.size <= cacheSize || scanned++ > budget) break
        if (candidate.inbox.length > 0 || candidate.inflight > 0 || candidate.queued) continue
        dropInstance(candidate)
      }
    },
    evict: dropInstance,
    all: () => runs.values(),
    size: () => ({ runs: runs.size, instances: cache.size, parents: childrenOf.size })
  }
}
