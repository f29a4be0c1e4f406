/**
 * The export format `temporal-lite/history@1`: a real history round-trips, and a foreign or
 * damaged file fails with a `HistoryFileError` naming the first bad event and field.
 */
import * as Either from "effect/Either"
import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import {
  decodeHistoryFile,
  encodeHistoryFile,
  HISTORY_FORMAT,
  HistoryFileError,
  parseHistoryFile,
  replayHistory,
  sleep,
  workflow
} from "../../core"
import { Simulation } from "../support/simulator"
import { codeReview } from "./fixtures/code-review"

const fixtureText = readFileSync(new URL("./fixtures/code-review-approved.json", import.meta.url), "utf8")
const fixture = () => JSON.parse(fixtureText)

/** The error a file decodes to, as plain fields; fails the test if it decodes. */
const failure = (input: unknown) => {
  const decoded = decodeHistoryFile(input)
  if (Either.isRight(decoded)) throw new Error("expected the file to be refused")
  expect(decoded.left).toBeInstanceOf(HistoryFileError)
  const { message, eventIndex, path } = decoded.left
  return { message, eventIndex, path }
}

describe("history files", () => {
  it("a history recorded by the Simulation round-trips through encode, JSON and decode", () => {
    const timed = workflow("timed", {}, function* () {
      yield* sleep("1 minute")
      return "done"
    })
    const sim = new Simulation(timed, { n: 1 })
    sim.fireTimer(1)
    const file = {
      format: HISTORY_FORMAT,
      workflow: { id: "wf-1", type: "timed", runId: "run-1", status: "completed", result: "done" },
      events: sim.history
    } as const
    const decoded = parseHistoryFile(JSON.stringify(encodeHistoryFile(file)))
    expect(Either.isRight(decoded)).toBe(true)
    if (Either.isLeft(decoded)) return
    expect(decoded.right.workflow).toEqual(file.workflow)
    expect(decoded.right.events.map((e) => ({ ...e }))).toEqual(sim.history)
  })

  it("the fixture decodes", () => {
    const decoded = decodeHistoryFile(fixture())
    expect(Either.isRight(decoded) && decoded.right.events.length).toBe(14)
  })

  it("a foreign file is refused by its format", () => {
    expect(failure({ ...fixture(), format: "temporal/history@2" })).toEqual({
      message: `not a history file: "format" is "temporal/history@2", expected "temporal-lite/history@1"`,
      eventIndex: undefined,
      path: ["format"]
    })
    expect(failure({ events: [] }).message).toBe(
      `not a history file: "format" is missing, expected "temporal-lite/history@1"`
    )
    expect(failure([fixture()]).message).toBe("not a history file: expected a JSON object")
    expect(failure({ ...fixture(), events: "none" })).toEqual({
      message: `bad history file: "events" is a string, expected an array of events`,
      eventIndex: undefined,
      path: ["events"]
    })
  })

  it("text that is not JSON is refused with the parser's reason", () => {
    const decoded = parseHistoryFile("{ nope")
    expect(Either.isLeft(decoded) && decoded.left.message).toMatch(
      /^not a history file: invalid JSON \(.+\)$/
    )
  })

  it("a corrupt event (a field of the wrong type) is named by index, seq, type and field", () => {
    const file = fixture()
    file.events[2].cmd = "4"
    expect(failure(file)).toEqual({
      message: `bad event #2, seq 3 (ActivityScheduled): field "cmd": Expected number, actual "4"`,
      eventIndex: 2,
      path: ["events", 2, "cmd"]
    })
  })

  it("a missing field, a bad literal and an unknown event type are named too", () => {
    const missing = fixture()
    delete missing.events[3].name
    expect(failure(missing).message).toBe(`bad event #3, seq 4 (ActivityScheduled): field "name": is missing`)
    const literal = fixture()
    literal.events[8].purpose = "nap"
    expect(failure(literal).message).toBe(
      `bad event #8, seq 9 (TimerStarted): field "purpose": Expected "sleep", actual "nap"`
    )
    const unknown = fixture()
    unknown.events[5].type = "ActivityDone"
    expect(failure(unknown)).toMatchObject({ eventIndex: 5, path: ["events", 5, "type"] })
    expect(failure(unknown).message).toMatch(
      /^bad event #5, seq 6 \(ActivityDone\): field "type": Expected "WorkflowStarted" \| /
    )
    const notAnObject = fixture()
    notAnObject.events[3] = null
    expect(failure(notAnObject)).toEqual({
      message: "bad event #3: expected an event object, got null",
      eventIndex: 3,
      path: ["events", 3]
    })
  })

  it("a gap in seq is named at the first event out of sequence", () => {
    const file = fixture()
    file.events.splice(4, 1)
    expect(failure(file)).toEqual({
      message: `bad event #4, seq 6: field "seq": expected 5 (events must be numbered 1, 2, 3, … without gaps)`,
      eventIndex: 4,
      path: ["events", 4, "seq"]
    })
  })

  it("with several faults, the first in the file is named", () => {
    const file = fixture()
    file.events.splice(1, 1)
    file.events[6].attempt = "x"
    expect(failure(file).message).toBe(
      `bad event #1, seq 3: field "seq": expected 2 (events must be numbered 1, 2, 3, … without gaps)`
    )
    const other = fixture()
    other.events[1].cmd = -1
    other.events.splice(6, 1)
    expect(failure(other)).toMatchObject({ eventIndex: 1, path: ["events", 1, "cmd"] })
  })

  it("a history that does not start with WorkflowStarted is refused", () => {
    const file = fixture()
    file.events = file.events.slice(1).map((e: { seq: number }, i: number) => ({ ...e, seq: i + 1 }))
    expect(failure(file)).toEqual({
      message: `bad event #0: field "type": the first event must be WorkflowStarted`,
      eventIndex: 0,
      path: ["events", 0, "type"]
    })
  })

  it("a file-level fault is named with its path", () => {
    const file = fixture()
    file.workflow.id = 5
    expect(failure(file)).toEqual({
      message: `bad history file at "workflow.id": Expected string, actual 5`,
      eventIndex: undefined,
      path: ["workflow", "id"]
    })
  })

  it("replayHistory reports a bad file as BadFile, without replaying", () => {
    const file = fixture()
    file.events[2].cmd = "4"
    const report = replayHistory(codeReview, file)
    expect(report._tag).toBe("BadFile")
    expect(report._tag === "BadFile" && report.error.message).toBe(
      `bad event #2, seq 3 (ActivityScheduled): field "cmd": Expected number, actual "4"`
    )
  })
})
