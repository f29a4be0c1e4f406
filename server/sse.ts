/**
 * Server-Sent Events for `GET /api/workflows/:id/stream`.
 *
 * Invariants:
 * 1. Every history event is sent as `event: history` with `id: <seq>`, in seq order, each once.
 * 2. Side-channel chunks are `event: chunk` without an id, so a browser's `Last-Event-ID`
 *    stays the seq of the last history event it received.
 * 3. Resuming after seq N (the `Last-Event-ID` header, or `?lastEventId=`) sends exactly the
 *    events with seq > N: no gap, no duplicate. Chunks emitted while disconnected are lost
 *    (they are not history; the final result is).
 * 4. `event: end` (id `end`, data `{ status }`) is the last thing sent, once the run has
 *    closed; then the response ends. A reconnect after it (`Last-Event-ID: end`) is answered
 *    204, which stops a browser's EventSource from reconnecting forever. A server shutting
 *    down ends the response without `end`, so the client reconnects and resumes (3).
 */
import * as Sse from "@effect/experimental/Sse"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Deferred from "effect/Deferred"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import { END_EVENT_ID, envelope, type ErrorCode } from "../api"
import type { StreamItem } from "../core"

const event = (name: string, data: unknown, id?: string): string =>
  Sse.encoder.write({ _tag: "Event", event: name, id, data: JSON.stringify(data) })

/** One stream item as SSE text. */
export const encodeItem = (item: StreamItem): string => {
  switch (item._tag) {
    case "history":
      return event("history", item.event, String(item.event.seq))
    case "chunk":
      return event("chunk", { cmd: item.cmd, activity: item.activity, chunk: item.chunk })
    case "end":
      return event("end", { status: item.status }, END_EVENT_ID)
  }
}

export interface EventStreamOptions<E> {
  /** Completed when the server drains: the response ends so the client resumes elsewhere or later. */
  readonly shutdown: Deferred.Deferred<void>
  /** A comment line this often keeps proxies from closing an idle stream. */
  readonly heartbeatMs: number
  /** Turns a failure of the item stream into the envelope sent as `event: error`. */
  readonly describeError: (error: E) => {
    readonly code: ErrorCode
    readonly message: string
    readonly details: unknown
  }
}

/** The streaming response: a comment to flush the headers, then the items, heartbeats in between. */
export const eventStreamResponse = <E>(
  items: Stream.Stream<StreamItem, E>,
  options: EventStreamOptions<E>
): HttpServerResponse.HttpServerResponse => {
  const body = Stream.concat(
    Stream.make(": stream of workflow events\nretry: 1000\n\n"),
    items.pipe(
      Stream.map(encodeItem),
      Stream.catchAll((error) => {
        const { code, message, details } = options.describeError(error)
        return Stream.make(event("error", envelope(code, message, details as never)))
      }),
      Stream.merge(Stream.fromSchedule(Schedule.spaced(options.heartbeatMs)).pipe(Stream.as(": ping\n\n")), {
        haltStrategy: "left"
      })
    )
  ).pipe(Stream.interruptWhen(Deferred.await(options.shutdown)), Stream.encodeText)
  return HttpServerResponse.stream(body, {
    contentType: "text/event-stream",
    headers: {
      "cache-control": "no-cache, no-transform",
      "x-accel-buffering": "no"
    }
  })
}
