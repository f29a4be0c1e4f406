/**
 * The LLM call ledger on a file (runtime/agents/activities.ts) holds no call in memory and
 * does not read its file at start (issue 22 item 11): what it answers is read from the file
 * when asked, a chunk at a time.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { LlmCallLedger, type LlmCallRecord } from "../../runtime/agents"

const call = (i: number): LlmCallRecord => ({
  workflowId: `wf-${i % 10}`,
  runId: `run-${i % 10}`,
  cmd: i,
  attempt: 1,
  // Multi-byte characters, so that some fall across the boundary of a chunk read.
  purpose: `étape ${i} — ${"ü".repeat(i % 7)}`,
  outcome: i % 5 === 0 ? "failed" : "completed",
  model: "m",
  usage: { promptTokens: 10, completionTokens: i % 3, totalTokens: 10 + (i % 3) },
  at: 1_700_000_000_000 + i
})

describe("the LLM call ledger", () => {
  it("on a file, keeps no call in memory, reads nothing at start, and counts from the file", () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "tl-ledger-")), "calls.jsonl")
    const calls = Array.from({ length: 3000 }, (_, i) => call(i))
    const ledger = new LlmCallLedger(file)
    for (const c of calls) ledger.record(c)
    expect(ledger.retained).toBe(0)
    const mine = calls.filter((c) => c.workflowId === "wf-3")
    expect(ledger.entries("wf-3")).toEqual(mine)
    expect(ledger.totalsFor("wf-3")).toEqual({
      calls: 300,
      failedCalls: mine.filter((c) => c.outcome === "failed").length,
      promptTokens: 3000,
      completionTokens: mine.reduce((n, c) => n + c.usage!.completionTokens, 0),
      totalTokens: mine.reduce((n, c) => n + c.usage!.totalTokens, 0)
    })
    // A process that dies while appending leaves a torn last line: skipped.
    fs.appendFileSync(file, '{"workflowId":"wf-3","cmd":')
    const reopened = new LlmCallLedger(file)
    expect(reopened.retained).toBe(0)
    expect(reopened.entries()).toEqual(calls)
    expect(reopened.totalsFor("wf-3").calls).toBe(300)
    expect(new LlmCallLedger(path.join(path.dirname(file), "none.jsonl")).entries()).toEqual([])
  })
})
