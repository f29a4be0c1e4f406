/**
 * The page's last resort for a divergence the server reported without a location: finding,
 * by name, the line of the server's source that yields the new command.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { findYieldByName } from "../../debugger/src/yield-finder"
import { repoRoot } from "./build"

const read = (file: string) => readFileSync(join(repoRoot, file), "utf8")
const lineOf = (text: string, needle: string) => text.split("\n").findIndex((l) => l.includes(needle)) + 1

describe("findYieldByName", () => {
  const changed = read("test/debugger/fixtures/code-review-changed.ts")
  const review = read("examples/code-review.ts")

  it("finds an activity through the variable its definition is bound to", () => {
    expect(findYieldByName(changed, { kind: "Activity", name: "securityScan" })?.line).toBe(
      lineOf(changed, "yield* securityScan(")
    )
    expect(findYieldByName(review, { kind: "Activity", name: "merge" })?.line).toBe(
      lineOf(review, "yield* merge({")
    )
  })

  it("finds signal waits and query handlers by their definitions, then by the primitive", () => {
    expect(findYieldByName(review, { kind: "WaitForSignal", name: "CodeReviewApproval" })?.line).toBe(
      lineOf(review, "yield* waitForSignal(")
    )
    expect(findYieldByName(review, { kind: "OnQuery", name: "status" })?.line).toBe(
      lineOf(review, "yield* onQuery(")
    )
    const text = 'function* w() {\n  // yield* sleep("1 day") in a comment\n  yield* sleep("1 day")\n}'
    expect(findYieldByName(text, { kind: "Sleep" })).toEqual({ line: 3, column: 3 })
  })

  it("finds nothing rather than guessing when the name is defined elsewhere", () => {
    // llm.chat is defined in agents/, reached through the llmChat helper
    expect(findYieldByName(review, { kind: "Activity", name: "llm.chat" })).toBeUndefined()
    expect(findYieldByName(review, { kind: "StartChild", name: "agentTask" })).toBeUndefined()
  })
})
