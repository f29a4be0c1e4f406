/**
 * How the CLI prints: aligned tables, a readable row per history event, colour only for a
 * terminal (never when the output is piped or NO_COLOR is set), and times as people read them.
 */
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import type { HistoryEvent, RunStatus } from "../core"

// ---------------------------------------------------------------------------------------
// Colour
// ---------------------------------------------------------------------------------------

const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g

/** Whether colour may be written: a terminal, and NO_COLOR unset (https://no-color.org). */
export const colourWanted = (): boolean =>
  process.stdout.isTTY === true && (process.env["NO_COLOR"] ?? "") === ""

/**
 * @effect/cli's help says of each argument what its primitive is ("A user-defined piece of
 * text.") before the argument's own description: said of every argument, it tells nothing.
 */
const genericHelp = /^ *(A user-defined piece of text\.|An integer\.|A true or false value\.)\n\n/gm

const cleaned = (console: Console.Console, colour: boolean): Console.Console => {
  const clean =
    (write: (...args: ReadonlyArray<any>) => Effect.Effect<void>) =>
    (...args: ReadonlyArray<any>) =>
      write(
        ...args.map((a) => {
          if (typeof a !== "string") return a
          const text = a.replace(genericHelp, "")
          return colour ? text : text.replace(ANSI, "")
        })
      )
  return { ...console, log: clean(console.log), error: clean(console.error) }
}

/**
 * Runs `effect` printing through a console that keeps help to what each argument is for and
 * removes colour when it is not wanted (the help @effect/cli renders is coloured whatever the
 * output is).
 */
export const withCliConsole = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Console.consoleWith((console) => Console.withConsole(effect, cleaned(console, colourWanted())))

const paint = (code: number) => (text: string) => (colourWanted() ? `\u001b[${code}m${text}\u001b[0m` : text)
const red = paint(31)
const green = paint(32)
const yellow = paint(33)
const dim = paint(2)

export const statusText = (status: RunStatus | string): string => {
  switch (status) {
    case "completed":
      return green(status)
    case "failed":
    case "cancelled":
      return red(status)
    case "stuck":
      return yellow(`${status} ⚠`)
    default:
      return status
  }
}

// ---------------------------------------------------------------------------------------
// Tables
// ---------------------------------------------------------------------------------------

const visibleLength = (text: string) => text.replace(ANSI, "").length

/** Rows under a header, each column as wide as its widest cell. */
export const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => visibleLength(r[i] ?? ""))))
  return [header.map((h) => dim(h)), ...rows]
    .map((row) =>
      row
        .map((cell, i) => cell + " ".repeat(Math.max(0, widths[i]! - visibleLength(cell))))
        .join("  ")
        .trimEnd()
    )
    .join("\n")
}

/** `key  value` lines, the keys aligned. */
export const fields = (entries: ReadonlyArray<readonly [string, string | undefined]>): string => {
  const shown = entries.filter((e): e is readonly [string, string] => e[1] !== undefined)
  const width = Math.max(...shown.map(([k]) => k.length))
  return shown.map(([k, v]) => `${dim(k.padEnd(width))}  ${v}`).join("\n")
}

export const time = (ms: number | undefined): string | undefined =>
  ms === undefined
    ? undefined
    : new Date(ms)
        .toISOString()
        .replace("T", " ")
        .replace(/\.\d+Z$/, "Z")

const clip = (text: string, max = 80) => (text.length > max ? `${text.slice(0, max - 1)}…` : text)
const json = (value: unknown) => clip(JSON.stringify(value) ?? "undefined")

/** What an event is about, in one cell. */
const detail = (e: HistoryEvent): string => {
  switch (e.type) {
    case "WorkflowStarted":
      return `${e.workflowType} ${json(e.input)}`
    case "ActivityScheduled":
      return `${e.name} ${json(e.input)}`
    case "ActivityCompleted":
      return `attempt ${e.attempt} → ${json(e.result)}`
    case "ActivityAttemptFailed":
    case "ActivityFailed":
      return red(`attempt ${e.attempt}: ${e.error.name}: ${clip(e.error.message, 60)}`)
    case "TimerStarted":
      return `fires ${time(e.fireAt)}`
    case "SignalReceived":
      return `${e.name} ${json(e.payload)}`
    case "ChildWorkflowStarted":
      return `${e.workflowType} ${e.workflowId}`
    case "CancelRequested":
    case "WorkflowCancelled":
      return e.reason
    case "WorkflowCompleted":
      return green(json(e.result))
    case "WorkflowFailed":
    case "ChildWorkflowFailed":
      return red(`${e.error.name}: ${clip(e.error.message, 60)}`)
    default:
      return ""
  }
}

export const EVENT_HEADER = ["SEQ", "TIME", "TYPE", "CMD", "DETAIL"] as const

export const eventRow = (e: HistoryEvent): ReadonlyArray<string> => [
  String(e.seq),
  time(e.at) ?? "",
  e.type,
  "cmd" in e ? String(e.cmd) : "",
  detail(e)
]

/** The events as a table; `widths` from the rows given (a followed stream pads each row alone). */
export const eventTable = (events: ReadonlyArray<HistoryEvent>): string =>
  table(EVENT_HEADER, events.map(eventRow))
