/**
 * Durable timers, fired in due order. The rows are in the store; this is the in-memory
 * index of them that a single fiber sleeps on, using Effect's `Clock` so tests drive it with
 * `TestClock`. Timers that fell due while the process was down fire at once on start.
 *
 * Invariants:
 * 1. A timer fires once, when the clock reaches its due time (at once if that has passed),
 *    and timers due together fire in due order.
 * 2. A timer is a run's cmd: adding it again moves it (only the last due time fires), and
 *    one removed never fires.
 * 3. The fiber sleeps until the earliest due time only: a timer added ahead of it wakes it.
 */
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import type { HistoryEvent } from "../core"
import { commandKey } from "./command-key"

interface Entry {
  readonly fireAt: number
  readonly runId: string
  readonly cmd: number
}

/** A binary min-heap on fireAt; cancelled entries are skipped when they surface. */
class Heap {
  private readonly items: Array<Entry> = []
  peek(): Entry | undefined {
    return this.items[0]
  }
  push(entry: Entry) {
    const items = this.items
    items.push(entry)
    let i = items.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (items[parent]!.fireAt <= items[i]!.fireAt) break
      ;[items[parent], items[i]] = [items[i]!, items[parent]!]
      i = parent
    }
  }
  pop(): Entry | undefined {
    const items = this.items
    const top = items[0]
    const last = items.pop()
    if (items.length > 0 && last) {
      items[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let smallest = i
        if (l < items.length && items[l]!.fireAt < items[smallest]!.fireAt) smallest = l
        if (r < items.length && items[r]!.fireAt < items[smallest]!.fireAt) smallest = r
        if (smallest === i) break
        ;[items[smallest], items[i]] = [items[i]!, items[smallest]!]
        i = smallest
      }
    }
    return top
  }
}

/**
 * Starts the timer fiber in the current scope. `fire` is called for each timer that falls
 * due and is still active; it must not block.
 */
export const makeTimerQueue = (fire: (runId: string, cmd: number) => void) =>
  Effect.gen(function* () {
    const heap = new Heap()
    const active = new Map<string, number>()
    const wake = yield* Queue.sliding<void>(1)

    const fireDue = Effect.clockWith((clock) =>
      Effect.sync(() => {
        const now = clock.unsafeCurrentTimeMillis()
        for (let top = heap.peek(); top && top.fireAt <= now; top = heap.peek()) {
          heap.pop()
          const k = commandKey(top.runId, top.cmd)
          if (active.get(k) === top.fireAt) {
            active.delete(k)
            fire(top.runId, top.cmd)
          }
        }
        const next = heap.peek()
        return next ? Math.max(0, next.fireAt - now) : undefined
      })
    )

    yield* fireDue.pipe(
      Effect.flatMap((waitMs) =>
        waitMs === undefined ? Queue.take(wake) : Effect.raceFirst(Effect.sleep(waitMs), Queue.take(wake))
      ),
      Effect.forever,
      Effect.forkScoped
    )

    return {
      add(runId: string, cmd: number, fireAt: number) {
        active.set(commandKey(runId, cmd), fireAt)
        const top = heap.peek()
        heap.push({ runId, cmd, fireAt })
        if (!top || fireAt < top.fireAt) Queue.unsafeOffer(wake, undefined)
      },
      remove(runId: string, cmd: number) {
        active.delete(commandKey(runId, cmd))
      },
      fireAt(runId: string, cmd: number): number | undefined {
        return active.get(commandKey(runId, cmd))
      }
    }
  })

/**
 * The timers the events leave running, by cmd: their due times. Recovery, and a run rebuilt
 * after a failed commit, add them to the queue again (the store's rows hold the same).
 *
 * @example openTimers(history) // Map { 3 => 1718000000000 }
 */
export const openTimers = (events: Iterable<HistoryEvent>): Map<number, number> => {
  const open = new Map<number, number>()
  for (const event of events) {
    if (event.type === "TimerStarted") open.set(event.cmd, event.fireAt)
    else if (event.type === "TimerFired" || event.type === "TimerCancelled") open.delete(event.cmd)
  }
  return open
}
