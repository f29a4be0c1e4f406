/**
 * Server-Sent Events over `fetch`, because `EventSource` cannot send an `Authorization`
 * header (a server with a token refuses it) and cannot be told why a connection failed.
 *
 * Invariants:
 * 1. Events are delivered in the order received, each once: after a dropped connection the
 *    reader reconnects with `Last-Event-ID` = the id of the last event that carried one, so
 *    the server resumes after it (the API's stream: no gap, no duplicate).
 * 2. A 4xx answer (unauthorized, unknown workflow) ends the reader at once, with the API's
 *    message; the network failing or a 5xx is retried after the server's `retry:` (or 1 s),
 *    backing off up to 10 s, until stopped.
 * 3. `stop()` aborts the connection in flight; nothing is delivered after it.
 */

export interface SseEvent {
  readonly event: string
  readonly data: string
  readonly id: string | undefined
}

/** An incremental parser of the `text/event-stream` format (WHATWG HTML §9.2.6). */
export const createSseParser = (onEvent: (event: SseEvent) => void, onRetry?: (ms: number) => void) => {
  let buffer = ""
  let event = ""
  let data: Array<string> = []
  let id: string | undefined
  let sawCr = false

  const dispatch = () => {
    if (data.length > 0) onEvent({ event: event || "message", data: data.join("\n"), id })
    event = ""
    data = []
    id = undefined
  }

  const line = (text: string) => {
    if (text === "") return dispatch()
    if (text.startsWith(":")) return
    const colon = text.indexOf(":")
    const field = colon === -1 ? text : text.slice(0, colon)
    let value = colon === -1 ? "" : text.slice(colon + 1)
    if (value.startsWith(" ")) value = value.slice(1)
    switch (field) {
      case "event":
        event = value
        break
      case "data":
        data.push(value)
        break
      case "id":
        if (!value.includes("\0")) id = value
        break
      case "retry":
        if (/^\d+$/.test(value)) onRetry?.(Number(value))
        break
    }
  }

  return {
    feed(chunk: string) {
      buffer += chunk
      let start = 0
      for (let i = 0; i < buffer.length; i++) {
        const c = buffer[i]
        if (c === "\n" && sawCr) {
          // the \n of a \r\n pair: the line ended at the \r
          sawCr = false
          start = i + 1
          continue
        }
        sawCr = c === "\r"
        if (c === "\n" || c === "\r") {
          line(buffer.slice(start, i))
          start = i + 1
        }
      }
      buffer = buffer.slice(start)
    }
  }
}

export interface SseHandlers {
  readonly onEvent: (event: SseEvent) => void
  /** The stream ended for good: an `end` event (see `isEnd`), or a 4xx answer (with its message). */
  readonly onClosed: (problem?: { readonly status: number; readonly message: string }) => void
  /** A connection dropped or failed; the reader tries again in `retryInMs`. */
  readonly onReconnecting?: (reason: string, retryInMs: number) => void
  /** Connected (again). */
  readonly onOpen?: () => void
}

export interface SseOptions {
  readonly url: string
  readonly headers: () => Record<string, string>
  /** True for the event after which the server closes the stream on purpose. */
  readonly isEnd: (event: SseEvent) => boolean
  /** Resume after this id on the first connection too. */
  readonly lastEventId?: string
  readonly fetch?: typeof fetch
}

/** Reads the stream at `options.url` until it ends or `stop()` is called. */
export const readSse = (options: SseOptions, handlers: SseHandlers): { stop: () => void } => {
  const doFetch = options.fetch ?? ((input, init) => fetch(input, init))
  let stopped = false
  let controller: AbortController | undefined
  let timer: ReturnType<typeof setTimeout> | undefined
  let lastEventId = options.lastEventId
  let retryMs = 1000
  let failures = 0

  const retryLater = (reason: string) => {
    if (stopped) return
    const wait = Math.min(10_000, retryMs * 2 ** Math.min(failures, 4))
    failures++
    handlers.onReconnecting?.(reason, wait)
    timer = setTimeout(connect, wait)
  }

  const connect = async () => {
    if (stopped) return
    controller = new AbortController()
    let response: Response
    try {
      response = await doFetch(options.url, {
        headers: {
          accept: "text/event-stream",
          ...options.headers(),
          ...(lastEventId === undefined ? {} : { "last-event-id": lastEventId })
        },
        cache: "no-store",
        signal: controller.signal
      })
    } catch (error) {
      return retryLater(`the stream could not connect (${String(error)})`)
    }
    if (stopped) return
    if (!response.ok || !response.body) {
      const text = await response.text().catch(() => "")
      let message = `${response.status} ${response.statusText}`.trim()
      try {
        const error = (JSON.parse(text) as { error?: { code?: string; message?: string } }).error
        if (error?.message)
          message = `${response.status} ${error.code ? `${error.code}: ` : ""}${error.message}`
      } catch {
        // not the API's envelope: keep the status line
      }
      if (response.status >= 400 && response.status < 500) {
        stopped = true
        return handlers.onClosed({ status: response.status, message })
      }
      return retryLater(`the stream answered ${message}`)
    }
    failures = 0
    handlers.onOpen?.()
    let ended = false
    const parser = createSseParser(
      (event) => {
        if (stopped || ended) return
        if (event.id !== undefined) lastEventId = event.id
        handlers.onEvent(event)
        if (options.isEnd(event)) ended = true
      },
      (ms) => (retryMs = ms)
    )
    const reader = response.body.getReader()
    const decoder = new TextDecoder()
    try {
      for (;;) {
        const { done, value } = await reader.read()
        if (done || stopped) break
        parser.feed(decoder.decode(value, { stream: true }))
        if (ended) break
      }
    } catch (error) {
      if (stopped) return
      return retryLater(`the stream broke (${String(error)})`)
    } finally {
      if (ended || stopped) controller.abort()
    }
    if (stopped) return
    if (ended) {
      stopped = true
      return handlers.onClosed()
    }
    // The server closed without `end` (it is draining, or a proxy timed out): resume.
    retryLater("the server closed the stream")
  }

  void connect()
  return {
    stop() {
      stopped = true
      if (timer !== undefined) clearTimeout(timer)
      controller?.abort()
    }
  }
}
