/**
 * The side-effect ledger of a workspace: one JSON line per tool call performed, which makes
 * writes idempotent and lets tests and the crash demo count side effects (invariants 3 and 4 of
 * workspace-tools.ts).
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { parseJsonLines } from "./json-lines"

/** The ledger file inside each workspace. */
export const TOOL_LEDGER_FILE = ".tool-log.jsonl"

/** Who is calling: the activity's idempotency key and run, and its cancellation. */
export interface ToolCallMeta {
  readonly idempotencyKey: string
  readonly runId?: string
  readonly attempt?: number
  readonly signal?: AbortSignal
}

/** One line of the ledger: one tool call performed. */
export interface ToolLedgerEntry {
  readonly tool: "readFile" | "writeFile" | "listFiles" | "runCommand"
  readonly key: string
  readonly runId?: string
  readonly attempt?: number
  /** Epoch ms. */
  readonly at: number
  readonly path?: string
  readonly bytes?: number
  readonly sha256?: string
  readonly command?: string
  readonly args?: ReadonlyArray<string>
  readonly exitCode?: number | null
}

/**
 * Appends one tool call performed to the ledger of the workspace folder `dir` (invariant 4 of
 * workspace-tools.ts), creating the folder if needed.
 */
export const appendToolLedger = async (
  dir: string,
  entry: Omit<ToolLedgerEntry, "key" | "runId" | "attempt" | "at">,
  meta: ToolCallMeta
): Promise<void> => {
  const line: ToolLedgerEntry = {
    ...entry,
    key: meta.idempotencyKey,
    ...(meta.runId === undefined ? {} : { runId: meta.runId }),
    ...(meta.attempt === undefined ? {} : { attempt: meta.attempt }),
    at: Date.now()
  }
  await fs.mkdir(dir, { recursive: true })
  await fs.appendFile(path.join(dir, TOOL_LEDGER_FILE), JSON.stringify(line) + "\n", "utf8")
}

/**
 * The ledger of a workspace folder, oldest first; `[]` when no tool ran there. A torn last
 * line (the process died mid-append) is skipped.
 */
export const readToolLedger = async (workspaceDir: string): Promise<ToolLedgerEntry[]> => {
  const text = await fs
    .readFile(path.join(workspaceDir, TOOL_LEDGER_FILE), "utf8")
    .catch((error: unknown) => {
      if (errnoOf(error) === "ENOENT") return ""
      throw error
    })
  return parseJsonLines<ToolLedgerEntry>(text)
}

/** The errno code of a file system error (`ENOENT`, …), if it has one. */
export const errnoOf = (error: unknown): string | undefined =>
  (error as NodeJS.ErrnoException | undefined)?.code
