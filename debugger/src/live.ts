/**
 * Following a running workflow: history events from the server's SSE stream are checked
 * (each must decode and carry the next seq) and appended; side-channel chunks (LLM tokens)
 * are passed on for display only.
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { HistoryEvent } from "../../core"
import type { ServerApi } from "./server-api"

const decodeEvent = Schema.decodeUnknownEither(HistoryEvent)

export interface LiveHandlers {
  /** New events, in order, each with seq = the previous length + 1. */
  readonly onEvents: (events: ReadonlyArray<HistoryEvent>) => void
  readonly onChunk: (chunk: unknown) => void
  readonly onStatus: (status: "connecting" | "following" | "ended" | string) => void
  /** An event arrived past a gap: the caller reloads the history. */
  readonly onGap: () => void
}

/** Follows workflow `id`, whose first `known` events are loaded; returns the function that stops. */
export const follow = (api: ServerApi, id: string, known: number, handlers: LiveHandlers): (() => void) => {
  let delivered = known
  let pending: Array<HistoryEvent> = []
  let scheduled = false
  const flush = () => {
    scheduled = false
    const batch = pending
    pending = []
    delivered += batch.length
    if (batch.length) handlers.onEvents(batch)
  }
  handlers.onStatus("connecting")
  return api.stream(
    id,
    {
      onHistory: (raw) => {
        const decoded = decodeEvent(raw)
        if (Either.isLeft(decoded)) return handlers.onStatus(`ignored a malformed event from the stream`)
        const next = delivered + pending.length + 1
        if (decoded.right.seq < next) return // already known (the stream may start from the beginning)
        if (decoded.right.seq > next) return handlers.onGap()
        pending.push(decoded.right)
        if (!scheduled) {
          scheduled = true
          setTimeout(flush, 30)
        }
      },
      onChunk: handlers.onChunk,
      onEnd: () => {
        flush()
        handlers.onStatus("ended")
      },
      onError: (message) => handlers.onStatus(message),
      onStatus: (status) => handlers.onStatus(status)
    },
    known
  )
}
