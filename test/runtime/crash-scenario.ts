/**
 * Crash recovery with real processes, on any store: an engine in a child process
 * (fixtures/crash-child.ts) runs 50 workflows × 20 activity steps and is SIGKILLed at seeded
 * random moments, then restarted, until every workflow has completed. crash.test.ts runs it on
 * a SQLite file, crash-postgres.test.ts with DATABASE_URL set. Set CRASH_SEED to replay a kill
 * schedule.
 */
import { spawn, type ChildProcess } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, expect, it } from "vitest"

const WORKFLOWS = 50
const STEPS = 20
/**
 * Kills go on until the workflows finish or this many have been made (at least 10 must land);
 * on a slow machine, no more after KILL_BUDGET_MS once 10 have landed.
 */
const MIN_KILLS = 10
const MAX_KILLS = 16
const KILL_BUDGET_MS = 45_000
const SEED = Number(process.env.CRASH_SEED ?? 20_240_611)

const here = path.dirname(fileURLToPath(import.meta.url))
const root = path.resolve(here, "../..")
const fixture = path.join(here, "fixtures", "crash-child.ts")

/** mulberry32: a small seeded PRNG, so a failing kill schedule can be replayed. */
const prng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = seed
  t = Math.imul(t ^ (t >>> 15), t | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** The engine process, with its stdout lines. */
class Child {
  readonly lines: Array<string> = []
  stderr = ""
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  private readonly process: ChildProcess
  private notify: Array<() => void> = []
  private exited = false

  constructor(dbPath: string, logPath: string, env: NodeJS.ProcessEnv) {
    this.process = spawn(process.execPath, ["--import", "tsx", fixture, dbPath, logPath], {
      cwd: root,
      env,
      stdio: ["ignore", "pipe", "pipe"]
    })
    let partial = ""
    this.process.stdout!.setEncoding("utf8").on("data", (data: string) => {
      partial += data
      const parts = partial.split("\n")
      partial = parts.pop()!
      this.lines.push(...parts)
      this.wake()
    })
    this.process.stderr!.setEncoding("utf8").on("data", (data: string) => (this.stderr += data))
    this.exit = new Promise((resolve) =>
      this.process.on("exit", (code, signal) => {
        this.exited = true
        this.wake()
        resolve({ code, signal })
      })
    )
  }

  private wake() {
    const waiting = this.notify
    this.notify = []
    for (const f of waiting) f()
  }

  /** Resolves true once a line equals `line`, false if the process exits first. */
  async waitForLine(line: string, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      if (this.lines.includes(line)) return true
      if (this.exited) return false
      if (Date.now() > deadline) throw new Error(`no "${line}" from the child within ${timeoutMs} ms`)
      await Promise.race([new Promise<void>((resolve) => this.notify.push(resolve)), delay(100)])
    }
  }

  get finished() {
    return this.lines.includes("all-done")
  }

  async kill() {
    if (!this.exited) this.process.kill("SIGKILL")
    return this.exit
  }
}

export interface DbState {
  /** `workflowId/cmd` of every ActivityCompleted in the database. */
  readonly completed: Set<string>
  /** How many ActivityCompleted events each key has (exactly one expected). */
  readonly completions: Map<string, number>
  readonly scheduled: Set<string>
  /** Keys with more than one ActivityScheduled (none expected). */
  readonly scheduledTwice: Array<string>
  readonly runs: ReadonlyArray<{ workflow_id: string; status: string; result: string | null }>
}

/** The events and runs a crash test reads back, as a store holds them. */
export interface CrashRows {
  /** Every ActivityScheduled and ActivityCompleted: the workflow id, the type and the cmd. */
  readonly events: ReadonlyArray<{ readonly workflowId: string; readonly type: string; readonly cmd: number }>
  readonly runs: DbState["runs"]
}

/** A new, empty database for the child's engine: its arguments, and how to read it back. */
export interface CrashDatabase {
  /** The child's SQLite file (with DATABASE_URL in `env`, the engine never creates it). */
  readonly dbPath: string
  readonly env: NodeJS.ProcessEnv
  /** What the database holds; called only while no child runs. */
  readonly read: () => Promise<CrashRows>
}

const stateOf = ({ events, runs }: CrashRows): DbState => {
  const completions = new Map<string, number>()
  const scheduled = new Set<string>()
  const scheduledTwice: Array<string> = []
  for (const e of events) {
    const key = `${e.workflowId}/${e.cmd}`
    if (e.type === "ActivityScheduled") {
      if (scheduled.has(key)) scheduledTwice.push(key)
      scheduled.add(key)
    } else completions.set(key, (completions.get(key) ?? 0) + 1)
  }
  return { completed: new Set(completions.keys()), completions, scheduled, scheduledTwice, runs }
}

/** The side-effect log's lines from byte `from` on (every line is ASCII). */
const logLines = (logPath: string, from = 0): Array<string> => {
  if (!fs.existsSync(logPath)) return []
  return fs
    .readFileSync(logPath)
    .subarray(from)
    .toString("utf8")
    .split("\n")
    .filter((l) => l.length > 0)
}

const logSize = (logPath: string) => (fs.existsSync(logPath) ? fs.statSync(logPath).size : 0)

/**
 * Waits for the moment of the next kill and names it. Three kinds, in turn: a time after
 * `running` (50–400 ms), a number of new side-effect lines after `running` (20–120: the kill
 * lands just after an activity's side effect, before its completion commits), and a time
 * after `ready` (0–60 ms: during recovery and the starts). Returns early if the child ends.
 */
const killMoment = async (child: Child, kill: number, random: () => number, logPath: string) => {
  const kind = kill % 4
  if (kind === 3) {
    const ms = Math.floor(random() * 60)
    if (await child.waitForLine("ready", 60_000)) await delay(ms)
    return `ready+${ms}ms`
  }
  if (kind === 1) {
    const ms = 50 + Math.floor(random() * 350)
    if (await child.waitForLine("running", 60_000)) await delay(ms)
    return `running+${ms}ms`
  }
  const lines = 20 + Math.floor(random() * 100)
  if (!(await child.waitForLine("running", 60_000))) return `running+${lines} lines`
  const target = logLines(logPath).length + lines
  const deadline = Date.now() + 10_000
  while (!child.finished && logLines(logPath).length < target && Date.now() < deadline) await delay(1)
  return `running+${lines} lines`
}

/** The crash test, on the database `fresh` makes in the test's folder. */
export const crashScenario = (fresh: (dir: string) => Promise<CrashDatabase>) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tl-crash-"))
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

  it(`engine invariant 4: no recorded completion runs again, across ${MIN_KILLS}–${MAX_KILLS} SIGKILLs (seed ${SEED})`, async () => {
    const began = Date.now()
    const db = await fresh(dir)
    const readDb = async () => stateOf(await db.read())
    const logPath = path.join(dir, "side-effects.log")
    const random = prng(SEED)
    const checkpoints: Array<{ completed: Set<string>; logOffset: number; kill: number }> = []
    const schedule: Array<string> = []
    let kills = 0
    let finished = false

    for (let generation = 0; !finished; generation++) {
      expect(generation, "too many restarts").toBeLessThanOrEqual(MAX_KILLS + 1)
      const child = new Child(db.dbPath, logPath, db.env)
      try {
        const killAgain = kills < MIN_KILLS || (kills < MAX_KILLS && Date.now() - began < KILL_BUDGET_MS)
        if (killAgain) {
          const when = await killMoment(child, kills, random, logPath)
          const { code, signal } = await child.kill()
          if (child.finished) {
            finished = true
            break
          }
          expect(signal, `the child exited on its own (code ${code}): ${child.stderr}`).toBe("SIGKILL")
          kills++
          const state = await readDb()
          schedule.push(`${when}: ${state.completed.size}`)
          const ranBefore = new Set(logLines(logPath))
          // A completion is recorded only after its activity ran, and a commit is never lost.
          const neverRan = [...state.completed].filter((key) => !ranBefore.has(key))
          expect(neverRan, "completions recorded for steps that never ran").toEqual([])
          const previous = checkpoints.at(-1)?.completed ?? new Set<string>()
          expect(
            [...previous].filter((key) => !state.completed.has(key)),
            "completions lost"
          ).toEqual([])
          checkpoints.push({ completed: state.completed, logOffset: logSize(logPath), kill: kills })
        } else {
          const { code } = await child.exit
          expect(code, `the last run failed: ${child.stderr}`).toBe(0)
          expect(child.finished).toBe(true)
          finished = true
        }
      } finally {
        await child.kill()
      }
    }

    expect(kills, `kill schedule: ${schedule.join(", ")}`).toBeGreaterThanOrEqual(MIN_KILLS)

    // After each kill, the log written later holds none of the steps completed by then.
    const log = fs.readFileSync(logPath)
    for (const { completed, logOffset, kill } of checkpoints) {
      const rerun = log
        .subarray(logOffset)
        .toString("utf8")
        .split("\n")
        .filter((line) => completed.has(line))
      expect(rerun, `steps re-executed after kill ${kill} although their completion was recorded`).toEqual([])
    }

    const final = await readDb()
    // Every workflow ran once (a restart started none twice) and completed with the right sum.
    expect(final.runs.length).toBe(WORKFLOWS)
    for (const run of final.runs) {
      const k = Number(run.workflow_id.replace("crash-", ""))
      expect(run.status, run.workflow_id).toBe("completed")
      expect(JSON.parse(run.result ?? "null"), run.workflow_id).toEqual({
        k,
        sum: STEPS * k * 1000 + (STEPS * (STEPS - 1)) / 2
      })
    }
    // Every step scheduled once, completed exactly once in history, and ran at least once.
    expect(final.scheduled.size).toBe(WORKFLOWS * STEPS)
    expect(final.scheduledTwice, "steps scheduled twice").toEqual([])
    expect(final.completions.size).toBe(WORKFLOWS * STEPS)
    const duplicated = [...final.completions].filter(([, n]) => n !== 1)
    expect(duplicated, "steps with more than one ActivityCompleted").toEqual([])
    expect([...final.completed].every((key) => final.scheduled.has(key))).toBe(true)
    const ran = logLines(logPath)
    const ranSet = new Set(ran)
    expect(
      [...final.completed].filter((key) => !ranSet.has(key)),
      "steps that never ran"
    ).toEqual([])
    expect(
      [...ranSet].filter((key) => !final.scheduled.has(key)),
      "runs of unscheduled steps"
    ).toEqual([])

    console.log(
      `crash test: ${kills} kills (moment: steps completed by then — ${schedule.join(", ")}); ` +
        `${ran.length} executions for ` +
        `${WORKFLOWS * STEPS} steps (${ran.length - ranSet.size} re-run after a kill), ` +
        `${((Date.now() - began) / 1000).toFixed(1)} s`
    )
  }, 150_000)
}
