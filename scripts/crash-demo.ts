/**
 * `npm run demo:crash`: a durable AI agent survives `kill -9`.
 *
 * Starts the server as a child process (a temporary data folder, the offline scripted model
 * at `LLM_OFFLINE_DELAY_MS` per call so it can be watched), starts `codingAgent` with a
 * 60-step budget, follows its event stream and kills the server with SIGKILL right after
 * step 50's tool result is recorded (the ActivityCompleted of the 50th tool call). Then it
 * starts the server again on the same file and lets the agent finish, and prints:
 *
 * - the steps replayed from history and the steps executed after the restart;
 * - the LLM calls really made, counted by the provider side (the LLM call ledger file,
 *   which survives the restart): 60, not 110, since no recorded call is made again;
 * - the tool side effects performed, from each tool's ledger line: each once;
 * - the time from the restart to the agent running again (its next new history event).
 *
 * Every figure is checked; the exit code is 1 if a check fails (2 if the demo could not
 * run). `--json` prints the report as JSON instead. Options: `--steps 60`,
 * `--crash-after 50`, `--delay-ms 20`, `--keep` (keep the data folder).
 *
 * Note on the one call that can repeat: when the server is killed, the LLM call of step 51 is
 * already running (it was scheduled in the same write as step 50's result). Killed before it
 * answers, it is made once after the restart. Were the kill to come in the instant after it
 * answered but before its answer was recorded, it would be made again: at-least-once for
 * anything history has not recorded. The demo counts such a call separately
 * (`answersLostToCrash`) rather than hiding it; with the default delay it does not happen.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import { LLM_CALL_LEDGER_FILE, LlmCallLedger, readToolLedger, workspaceDirName } from "../runtime/agents"
import { call, followStream, startServer, workflowRoute, type ServerProcess } from "./server-process"

export interface CrashDemoOptions {
  /** The agent's step budget (default 60). */
  readonly steps?: number
  /** Kill the server right after this many tool results are recorded (default 50). */
  readonly crashAfter?: number
  /** Milliseconds per scripted LLM call (default 20). */
  readonly delayMs?: number
  /** The data folder (default: a new temporary folder, removed afterwards unless `keep`). */
  readonly dataDir?: string
  readonly keep?: boolean
  /** Where progress lines go (default: stdout; pass `() => {}` for none). */
  readonly log?: (line: string) => void
}

export interface CrashDemoCheck {
  readonly name: string
  readonly ok: boolean
  readonly detail: string
}

export interface CrashDemoReport {
  readonly workflowId: string
  readonly dataDir: string
  readonly steps: number
  readonly crashAfter: number
  readonly delayMs: number
  readonly result: { readonly status: string; readonly outcome?: string; readonly stepsTaken?: number }
  /** Tool steps whose result was recorded before the kill: rebuilt from history after the restart, not run again. */
  readonly stepsReplayedFromHistory: number
  /** Tool steps whose result was recorded by the restarted server. */
  readonly stepsExecutedAfterRestart: number
  /**
   * Activities scheduled and not completed when the server was killed (the LLM call of the
   * next step), with the provider calls made for each (the call ledger): 1 when the kill cut
   * it off before it answered and it was made again after the restart.
   */
  readonly inFlightAtKill: ReadonlyArray<{
    readonly cmd: number
    readonly name: string
    readonly llmCalls: number
  }>
  readonly llmCalls: {
    /** Calls the provider answered (the call ledger): the figure that would be 110 without durability. */
    readonly total: number
    readonly beforeKill: number
    readonly afterRestart: number
    /** Answered before the kill but not recorded in history, so made again after the restart. */
    readonly answersLostToCrash: number
    /** Calls whose answer history had recorded and that were made again anyway: must be 0. */
    readonly recordedCallsMadeAgain: number
    /** What `describe` says (from history): calls recorded and their tokens. */
    readonly recordedInHistory: number
    readonly totalTokens: number
  }
  readonly toolSideEffects: {
    /** Tool calls performed (the tool ledger: one line per call performed). */
    readonly total: number
    readonly byTool: Readonly<Record<string, number>>
    /** Tool calls performed more than once (same run and idempotency key): must be 0. */
    readonly repeated: number
  }
  readonly restart: {
    /** From starting the new server process to its start line. */
    readonly serverUpMs: number
    /** From starting the new server process to the agent's first new history event. */
    readonly agentRunningAgainMs: number
    readonly firstNewEvent: string
  }
  readonly checks: ReadonlyArray<CrashDemoCheck>
  readonly ok: boolean
}

interface HistoryEvent {
  readonly seq: number
  readonly at: number
  readonly type: string
  readonly cmd?: number
  readonly name?: string
  readonly [key: string]: unknown
}

const WORKFLOW_ID = "crash-demo-agent"

/** Runs the demo (see the module doc) and returns its report; throws only if it could not run. */
export const runCrashDemo = async (options: CrashDemoOptions = {}): Promise<CrashDemoReport> => {
  const steps = options.steps ?? 60
  const crashAfter = options.crashAfter ?? 50
  const delayMs = options.delayMs ?? 20
  // One run: the agent continues as new every 100 steps, which would start a new history.
  if (!(Number.isInteger(steps) && steps >= 2 && steps <= 100))
    throw new RangeError(`--steps must be a whole number from 2 to 100, got ${steps}`)
  if (!(Number.isInteger(crashAfter) && crashAfter >= 1 && crashAfter < steps))
    throw new RangeError(`--crash-after must be a whole number from 1 to ${steps - 1}, got ${crashAfter}`)
  if (!(delayMs >= 0)) throw new RangeError(`--delay-ms must be 0 or more, got ${delayMs}`)
  const log = options.log ?? ((line: string) => console.log(line))
  const dataDir = options.dataDir ?? mkdtempSync(path.join(tmpdir(), "temporal-lite-crash-demo-"))
  const env = { LLM_OFFLINE_DELAY_MS: String(delayMs) }
  const servers: Array<ServerProcess> = []

  try {
    log(
      `Crash-recovery demo: codingAgent with ${steps} steps; the server is killed (SIGKILL) after step ${crashAfter}`
    )
    log(`  data folder   ${dataDir}`)
    const first = await startServer({ dataDir, env })
    servers.push(first)
    log(`  server        ${first.url} (pid ${first.child.pid})`)
    const llmLine = /LLM: .*/.exec(first.output())?.[0]
    if (llmLine) log(`  ${llmLine}`)

    await call(first.url, "POST", "/api/workflows", {
      type: "codingAgent",
      id: WORKFLOW_ID,
      input: { goal: "Write progress notes, one file every four steps", maxSteps: steps }
    })
    log(`  started       codingAgent ${WORKFLOW_ID} (maxSteps ${steps}, ${delayMs} ms per LLM call)`)

    // Counts the tool results recorded, as the stream reports them (from seq 1: the stream
    // sends the history so far, then each event as it is recorded).
    const toolCmds = new Set<number>()
    let toolSteps = 0
    let lastSeqSeen = 0
    const onHistory = (
      event: { readonly seq: number; readonly type: string } & Record<string, any>
    ): boolean => {
      lastSeqSeen = event.seq
      if (event.type === "ActivityScheduled" && String(event["name"]).startsWith("tool."))
        toolCmds.add(event["cmd"])
      if (event.type !== "ActivityCompleted" || !toolCmds.has(event["cmd"])) return false
      toolSteps += 1
      if (toolSteps % 10 === 0) log(`  step ${String(toolSteps).padStart(3)}/${steps}  recorded`)
      return true
    }

    // The kill: right after the ActivityCompleted of the crashAfter-th tool call.
    let killAt = 0
    await followStream(first.url, WORKFLOW_ID, (item) => {
      if (item.kind !== "history" || !onHistory(item.event) || toolSteps !== crashAfter) return false
      first.child.kill("SIGKILL")
      killAt = Date.now()
      return true
    })
    if (killAt === 0) throw new Error(`the agent ended before step ${crashAfter}:\n${first.output()}`)
    const killed = await first.exited
    log(
      `  SIGKILL       after step ${crashAfter}'s result was recorded (seq ${lastSeqSeen}); server gone (${killed.signal ?? killed.code})`
    )

    const restartAt = Date.now()
    const second = await startServer({ dataDir, env })
    servers.push(second)
    const serverUpMs = Date.now() - restartAt
    log(`  restarted     ${second.url} (pid ${second.child.pid}), listening after ${serverUpMs} ms`)

    let end = "running"
    await followStream(
      second.url,
      WORKFLOW_ID,
      (item) => {
        if (item.kind === "end") end = item.status
        if (item.kind === "history") onHistory(item.event)
      },
      { after: lastSeqSeen }
    )
    const described = await call(second.url, "GET", workflowRoute(WORKFLOW_ID))
    const history = (await call(second.url, "GET", workflowRoute(WORKFLOW_ID, "/history")))
      .events as Array<HistoryEvent>
    log(
      `  finished      ${described.status}${described.result ? `: ${described.result.outcome}, ${described.result.stepsTaken} tool steps` : ""} (stream end: ${end})`
    )
    await second.stop()

    // --- The figures -------------------------------------------------------------------
    const scheduled = new Map<number, string>()
    for (const e of history) if (e.type === "ActivityScheduled") scheduled.set(e.cmd!, e.name!)
    const isTool = (e: HistoryEvent) =>
      e.type === "ActivityCompleted" && (scheduled.get(e.cmd!) ?? "").startsWith("tool.")
    // Events are stamped with the server's clock: the first server's all precede the kill,
    // the second server's all follow its start.
    const before = history.filter((e) => e.at <= killAt)
    const after = history.filter((e) => e.at >= restartAt)
    const completedBefore = new Set(before.filter((e) => e.type === "ActivityCompleted").map((e) => e.cmd!))
    const firstNew = after[0]

    const runId = described.runId as string
    const ledger = new LlmCallLedger(path.join(dataDir, "workspaces", LLM_CALL_LEDGER_FILE)).entries(
      WORKFLOW_ID
    )
    const inFlightAtKill = before
      .filter((e) => e.type === "ActivityScheduled" && !completedBefore.has(e.cmd!))
      .map((e) => ({
        cmd: e.cmd!,
        name: e.name!,
        llmCalls: ledger.filter((r) => r.runId === runId && r.cmd === e.cmd).length
      }))
    const answered = ledger.filter((r) => r.outcome === "completed")
    const ledgerBefore = ledger.filter((r) => r.at <= killAt)
    const ledgerAfter = ledger.filter((r) => r.at >= restartAt)
    const answersLostToCrash = ledgerBefore.filter(
      (r) => r.runId === runId && !completedBefore.has(r.cmd)
    ).length
    const recordedCallsMadeAgain = ledgerAfter.filter(
      (r) => r.runId === runId && completedBefore.has(r.cmd)
    ).length

    const tools = await readToolLedger(path.join(dataDir, "workspaces", workspaceDirName(WORKFLOW_ID)))
    const byTool: Record<string, number> = {}
    const perKey = new Map<string, number>()
    for (const t of tools) {
      byTool[t.tool] = (byTool[t.tool] ?? 0) + 1
      const key = `${t.runId}:${t.key}`
      perKey.set(key, (perKey.get(key) ?? 0) + 1)
    }
    const repeatedTools = [...perKey.values()].filter((n) => n > 1).length

    const report: Omit<CrashDemoReport, "checks" | "ok"> = {
      workflowId: WORKFLOW_ID,
      dataDir,
      steps,
      crashAfter,
      delayMs,
      result: {
        status: described.status,
        outcome: described.result?.outcome,
        stepsTaken: described.result?.stepsTaken
      },
      stepsReplayedFromHistory: before.filter(isTool).length,
      stepsExecutedAfterRestart: after.filter(isTool).length,
      inFlightAtKill,
      llmCalls: {
        total: answered.length,
        beforeKill: ledgerBefore.filter((r) => r.outcome === "completed").length,
        afterRestart: ledgerAfter.filter((r) => r.outcome === "completed").length,
        answersLostToCrash,
        recordedCallsMadeAgain,
        recordedInHistory: described.llmUsage.calls,
        totalTokens: described.llmUsage.totalTokens
      },
      toolSideEffects: { total: tools.length, byTool, repeated: repeatedTools },
      restart: {
        serverUpMs,
        agentRunningAgainMs: firstNew ? firstNew.at - restartAt : -1,
        firstNewEvent: firstNew
          ? `${firstNew.type}${firstNew.cmd === undefined ? "" : ` cmd ${firstNew.cmd}${scheduled.has(firstNew.cmd) ? ` (${scheduled.get(firstNew.cmd)})` : ""}`}`
          : "none"
      }
    }

    const check = (name: string, ok: boolean, detail: string): CrashDemoCheck => ({ name, ok, detail })
    const { llmCalls, toolSideEffects } = report
    const checks: Array<CrashDemoCheck> = [
      check(
        "the agent finished its budget",
        report.result.status === "completed" &&
          report.result.outcome === "max-steps" &&
          report.result.stepsTaken === steps,
        `status ${report.result.status}, outcome ${report.result.outcome}, ${report.result.stepsTaken} tool steps (want ${steps})`
      ),
      check(
        `the kill came right after step ${crashAfter}'s result was recorded`,
        report.stepsReplayedFromHistory === crashAfter,
        `${report.stepsReplayedFromHistory} tool results recorded before the kill`
      ),
      check(
        "every step ran once: replayed + executed after the restart = the budget",
        report.stepsReplayedFromHistory + report.stepsExecutedAfterRestart === steps,
        `${report.stepsReplayedFromHistory} + ${report.stepsExecutedAfterRestart} = ${report.stepsReplayedFromHistory + report.stepsExecutedAfterRestart}`
      ),
      check(
        `LLM calls made in total = ${steps} (not ${steps + crashAfter})`,
        llmCalls.total === steps + llmCalls.answersLostToCrash && llmCalls.answersLostToCrash <= 1,
        `${llmCalls.total} answered by the model` +
          (llmCalls.answersLostToCrash > 0
            ? ` (${llmCalls.answersLostToCrash} answered as the server died, before history recorded it)`
            : "")
      ),
      check(
        "no LLM call whose answer was recorded was made again",
        recordedCallsMadeAgain === 0,
        `${recordedCallsMadeAgain} made again`
      ),
      check(
        "history records each LLM call once (describe llmUsage)",
        llmCalls.recordedInHistory === steps && llmCalls.totalTokens > 0,
        `llmUsage.calls ${llmCalls.recordedInHistory}, ${llmCalls.totalTokens} tokens`
      ),
      check(
        "each tool side effect performed once",
        toolSideEffects.total === steps && toolSideEffects.repeated === 0,
        `${toolSideEffects.total} performed, ${toolSideEffects.repeated} repeated`
      ),
      check(
        "the agent ran again after the restart",
        report.restart.agentRunningAgainMs >= 0,
        `first new event ${report.restart.firstNewEvent}`
      )
    ]
    return { ...report, checks, ok: checks.every((c) => c.ok) }
  } finally {
    for (const server of servers)
      if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill("SIGKILL")
    if (!options.keep && options.dataDir === undefined) rmSync(dataDir, { recursive: true, force: true })
  }
}

/** The report as the lines the demo prints at the end. */
export const formatReport = (r: CrashDemoReport): Array<string> => {
  const row = (label: string, value: string | number, note = "") =>
    `  ${label.padEnd(36)} ${String(value).padStart(6)}${note ? `   ${note}` : ""}`
  const tools = Object.entries(r.toolSideEffects.byTool)
    .map(([tool, n]) => `${n} ${tool}`)
    .join(", ")
  return [
    "",
    "Results",
    row(
      "steps replayed from history",
      r.stepsReplayedFromHistory,
      "(recorded before the kill: rebuilt, not run again)"
    ),
    row("steps executed after the restart", r.stepsExecutedAfterRestart),
    row(
      "LLM calls made in total",
      r.llmCalls.total,
      `(${r.llmCalls.beforeKill} before the kill + ${r.llmCalls.afterRestart} after; not ${r.steps + r.crashAfter}: ${r.llmCalls.recordedCallsMadeAgain} recorded calls made again)`
    ),
    ...(r.llmCalls.answersLostToCrash > 0
      ? [
          row(
            "  of which answered as the server died",
            r.llmCalls.answersLostToCrash,
            "(not yet recorded, so made again: at least once)"
          )
        ]
      : []),
    row(
      "LLM calls recorded in history",
      r.llmCalls.recordedInHistory,
      `(describe: llmUsage ${r.llmCalls.recordedInHistory} calls, ${r.llmCalls.totalTokens} tokens)`
    ),
    row(
      "tool side effects performed",
      r.toolSideEffects.total,
      `(${r.toolSideEffects.repeated} repeated: ${tools})`
    ),
    row(
      "restart → agent running again",
      `${r.restart.agentRunningAgainMs} ms`,
      `(the new process printed its start line after ${r.restart.serverUpMs} ms; next new event: ${r.restart.firstNewEvent})`
    ),
    ...r.inFlightAtKill.map(
      (a) =>
        `  in flight at the kill: ${a.name} (cmd ${a.cmd}), scheduled with step ${r.crashAfter}'s result; ` +
        (a.name !== "llm.chat"
          ? "run again after the restart"
          : a.llmCalls === 1
            ? "cut off before it answered, made once after the restart"
            : `answered ${a.llmCalls} times (once before the kill, unrecorded)`)
    ),
    "",
    "Checks",
    ...r.checks.map((c) => `  ${c.ok ? "ok  " : "FAIL"}  ${c.name}: ${c.detail}`),
    "",
    r.ok ? "All checks passed." : "SOME CHECKS FAILED."
  ]
}

const numberFlag = (argv: ReadonlyArray<string>, name: string): number | undefined => {
  const i = argv.indexOf(`--${name}`)
  if (i < 0) return undefined
  const value = Number(argv[i + 1])
  if (!Number.isFinite(value))
    throw new RangeError(`--${name} needs a number, got ${JSON.stringify(argv[i + 1])}`)
  return value
}

/** The command line: prints the demo (or `--json`), returns the exit code. */
export const main = async (argv: ReadonlyArray<string>): Promise<number> => {
  const json = argv.includes("--json")
  try {
    const steps = numberFlag(argv, "steps")
    const crashAfter = numberFlag(argv, "crash-after")
    const delayMs = numberFlag(argv, "delay-ms")
    const report = await runCrashDemo({
      ...(steps === undefined ? {} : { steps }),
      ...(crashAfter === undefined ? {} : { crashAfter }),
      ...(delayMs === undefined ? {} : { delayMs }),
      keep: argv.includes("--keep"),
      log: json ? () => {} : (line) => console.log(line)
    })
    if (json) console.log(JSON.stringify(report, null, 2))
    else for (const line of formatReport(report)) console.log(line)
    if (argv.includes("--keep") && !json) console.log(`(data kept in ${report.dataDir})`)
    return report.ok ? 0 : 1
  } catch (error) {
    console.error(`crash demo: ${error instanceof Error ? error.message : String(error)}`)
    return 2
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  process.exitCode = await main(process.argv.slice(2))
}
