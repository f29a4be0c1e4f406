/**
 * Group commit: write sets from many workflow tasks share one transaction (and one fsync).
 *
 * Invariants:
 * 1. Write sets commit in the order they were submitted; a run's next write set never
 *    commits before its previous one.
 * 2. A submission's `afterCommit` runs, and its acknowledgements resolve, only once its
 *    transaction has committed; otherwise they fail, and every submission hears once: with
 *    the store's error, `Dropped` when it was built on a commit that failed before it, or
 *    `ShuttingDown` when the committer stops first.
 * 3. Batching costs next to no latency: a batch gathers for a few event-loop turns (no timer),
 *    so what the ready workflow tasks and arriving requests produce joins it.
 * 4. One bad write fails only itself: a batch the store refuses for the data of a write set
 *    (`Rejected`) is split in halves committed one after the other, so the write set at fault
 *    fails alone (about 2·log2(n) commits find it among n). A store that fails whatever is
 *    written (disk full, I/O error) fails the whole batch at once.
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import { StoreError } from "../errors"
import { emptyWriteSet, WorkflowStore, type WriteSet } from "./contract"

/** Told once the submission is committed, or why it was not. */
export type CommitAck = (exit: Exit.Exit<void, StoreError>) => void

export interface Submission {
  readonly writes: WriteSet
  /** Resolved after the commit: callers waiting for durability (start, signal, cancel). */
  readonly acks: ReadonlyArray<CommitAck>
  /** Side effects that must follow durability: dispatching activities, timers, children. */
  readonly afterCommit: () => void
  /** Called instead of `afterCommit` when the transaction failed. */
  readonly onFailure: (error: StoreError) => void
  /** False when the submission was built on state a failed commit invalidated: it is dropped. */
  readonly isValid: () => boolean
}

const MAX_BATCH = 2000
const LINGER_ROUNDS = 3

/** One turn of the event loop (not a timer: TestClock does not hold it back). */
const eventLoopTurn = Effect.async<void>((resume) => {
  setImmediate(() => resume(Effect.void))
})

const WRITE_SET_KEYS = Object.keys(emptyWriteSet()) as Array<keyof WriteSet>

const merge = (submissions: ReadonlyArray<Submission>): WriteSet => {
  if (submissions.length === 1) return submissions[0]!.writes
  const out = emptyWriteSet()
  for (const { writes } of submissions) {
    for (const key of WRITE_SET_KEYS) {
      const target = out[key] as Array<unknown>
      for (const item of writes[key] as Array<unknown>) target.push(item)
    }
  }
  return out
}

const stopped = () =>
  new StoreError({ reason: "ShuttingDown", message: "the engine stopped before the commit finished" })

const dropped = () =>
  new StoreError({ reason: "Dropped", message: "dropped: an earlier commit of this workflow failed" })

/** Why a commit failed: its StoreError, or one that says the commit was cut short. */
const failureOf = (cause: Cause.Cause<StoreError>): StoreError =>
  Option.getOrElse(Cause.failureOption(cause), () =>
    Cause.isInterruptedOnly(cause)
      ? stopped()
      : new StoreError({
          reason: "Io",
          message: `the commit failed: ${describe(Cause.squash(cause))}`,
          cause: Cause.squash(cause)
        })
  )

const describe = (defect: unknown) => (defect instanceof Error ? defect.message : String(defect))

/** Starts the committer fiber (in the current scope) and returns the submit function. */
export const makeGroupCommitter = Effect.gen(function* () {
  const store = yield* WorkflowStore
  // A plain array, not an Effect Queue: taking a batch from a Queue builds a Chunk element by
  // element, about 2 KB of garbage per workflow step.
  let queued: Array<Submission> = []
  /** Taken from the queue and not yet answered. */
  let batch: Array<Submission> = []
  let closed = false
  let wake: (() => void) | undefined
  const offer = (submission: Submission) => {
    if (closed) return fail(submission, stopped())
    queued.push(submission)
    const resume = wake
    wake = undefined
    resume?.()
  }
  const takeUpTo = (max: number): Array<Submission> => {
    if (queued.length <= max) {
      const all = queued
      queued = []
      return all
    }
    return queued.splice(0, max)
  }
  const nonEmpty = Effect.async<void>((resume) => {
    if (queued.length > 0) return resume(Effect.void)
    wake = () => resume(Effect.void)
    return Effect.sync(() => {
      wake = undefined
    })
  })

  /**
   * The cause of the commits failing now, once logged: a full disk fails every commit until
   * space is freed, and is logged when it starts and when commits go through again.
   */
  let failing: string | undefined

  /** Invariant 2: a submission that is not committed fails, and so do its acknowledgements. */
  const fail = (s: Submission, error: StoreError) => {
    s.onFailure(error)
    for (const ack of s.acks) ack(Exit.fail(error))
  }

  /**
   * Commits `part` of the batch and answers each of its submissions. A part the store refuses
   * for one write set's data goes again in halves (invariant 4), each checked again: a write
   * set built on one that failed is dropped.
   */
  const commitPart = (part: ReadonlyArray<Submission>): Effect.Effect<void> =>
    Effect.gen(function* () {
      const valid: Array<Submission> = []
      for (const s of part) {
        if (s.isValid()) valid.push(s)
        else fail(s, dropped())
      }
      if (valid.length === 0) return
      const exit = yield* Effect.exit(store.commit(merge(valid)))
      if (Exit.isSuccess(exit)) {
        if (failing !== undefined) {
          failing = undefined
          yield* Effect.logInfo("commits go through again")
        }
        for (const s of valid) {
          s.afterCommit()
          for (const ack of s.acks) ack(Exit.void)
        }
        return
      }
      const error = failureOf(exit.cause)
      if (error.reason === "Rejected" && valid.length > 1) {
        const half = valid.length >> 1
        yield* commitPart(valid.slice(0, half))
        return yield* commitPart(valid.slice(half))
      }
      if (error.reason === "Rejected") {
        yield* Effect.logWarning(`a write was refused and not stored: ${error.message}`)
        return fail(valid[0]!, error)
      }
      if (failing !== error.message && error.reason !== "ShuttingDown") {
        failing = error.message
        yield* Effect.logError(`commits fail: ${error.message}`)
      }
      for (const s of valid) fail(s, error)
    })

  // A commit begun is waited for and answered, even when the committer is being stopped: cut
  // short, one that had landed would be answered as failed (the store decides when a commit
  // can be cut short, and says so with an interruption). So are the halves of a refused batch:
  // the batch is answered whole before the committer stops.
  const commitBatch = Effect.uninterruptible(
    Effect.suspend(() => commitPart(batch)).pipe(Effect.ensuring(Effect.sync(() => (batch = []))))
  )

  // A commit blocks the thread for its fsync, so nothing gathers while it runs: before
  // committing, give the event loop a turn or two (I/O included, so requests that have
  // arrived join), letting the workflow tasks and activities that are ready add to the batch.
  const gather = Effect.gen(function* () {
    yield* nonEmpty
    batch = takeUpTo(MAX_BATCH)
    for (let round = 0; round < LINGER_ROUNDS && batch.length < MAX_BATCH; round++) {
      yield* eventLoopTurn
      const more = takeUpTo(MAX_BATCH - batch.length)
      if (more.length === 0 && round > 0) break
      for (const s of more) batch.push(s)
    }
  })

  // Invariant 2 when the engine stops: nothing submitted is left waiting (the committer fiber,
  // forked after this, is interrupted before it runs).
  yield* Effect.addFinalizer(() =>
    Effect.sync(() => {
      closed = true
      const unanswered = [...batch, ...takeUpTo(Infinity)]
      batch = []
      for (const s of unanswered) fail(s, stopped())
    })
  )
  yield* gather.pipe(Effect.zipRight(commitBatch), Effect.forever, Effect.forkScoped)

  return {
    submit: offer,
    /** Waits until everything submitted so far has been committed (invariant 1 makes a marker enough). */
    flush: Effect.ignore(
      Effect.async<void, unknown>((ack) => {
        offer({
          writes: emptyWriteSet(),
          acks: [ack],
          afterCommit: () => {},
          onFailure: () => {},
          isValid: () => true
        })
      })
    )
  }
})
