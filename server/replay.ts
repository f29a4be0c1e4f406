/**
 * `replay <file.json>`: replays an exported history against the current workflow code,
 * offline, and says whether the code still reproduces it. Exit codes: 0 the code matches
 * the history; 1 it diverges (the cmd, both sides and the source location are printed);
 * 2 the file, the registry or the workflow type is unusable.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { readFile } from "node:fs/promises"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { parseHistoryFile, replayHistory, type DivergenceSide } from "../core"
import { loadRegistry } from "./registry"

export interface ReplayOutcome {
  readonly exitCode: 0 | 1 | 2
  readonly lines: ReadonlyArray<string>
}

const unusable = (...lines: Array<string>): ReplayOutcome => ({ exitCode: 2, lines })

/** A location as the stack gave it (file URL or path, line, column), relative to the working directory. */
export const displayLocation = (location: string): string => {
  const match = /^(.*?)(:\d+(?::\d+)?)$/.exec(location)
  const [file, position] = match ? [match[1]!, match[2]!] : [location, ""]
  let filePath = file
  if (file.startsWith("file://")) {
    try {
      filePath = fileURLToPath(file)
    } catch {
      filePath = file
    }
  }
  const relative = path.isAbsolute(filePath) ? path.relative(process.cwd(), filePath) : filePath
  return `${relative.startsWith("..") ? filePath : relative}${position}`
}

const side = (s: DivergenceSide): string =>
  [
    s.kind,
    s.name === undefined ? undefined : JSON.stringify(s.name),
    s.seq === undefined ? undefined : `(seq ${s.seq})`
  ]
    .filter((part) => part !== undefined)
    .join(" ")

/** Replays `file` against the workflows of the registry module at `registryPath`. */
export const replayFile = (file: string, registryPath: string): Effect.Effect<ReplayOutcome> =>
  Effect.gen(function* () {
    const text = yield* Effect.tryPromise(() => readFile(file, "utf8")).pipe(Effect.either)
    if (Either.isLeft(text)) return unusable(`cannot read ${file}: ${(text.left.error as Error).message}`)
    const parsed = parseHistoryFile(text.right)
    if (Either.isLeft(parsed)) return unusable(`${file}: ${parsed.left.message}`)
    const history = parsed.right

    const registry = yield* loadRegistry(
      registryPath,
      { dataDir: path.dirname(path.resolve(file)), dbPath: "", env: process.env },
      { workflowsOnly: true }
    ).pipe(Effect.either)
    if (Either.isLeft(registry)) return unusable(registry.left.message)
    const definition = registry.right.workflows.find((w) => w.name === history.workflow.type)
    if (definition === undefined) {
      const known = registry.right.workflows.map((w) => `"${w.name}"`).join(", ") || "none"
      return unusable(
        `${file}: workflow type "${history.workflow.type}" is not registered in ${registry.right.modulePath}; registered: ${known}`
      )
    }

    const what = `${history.workflow.type} ${history.workflow.id} (${history.events.length} events)`
    const report = replayHistory(definition, history)
    switch (report._tag) {
      case "BadFile":
        return unusable(`${file}: ${report.error.message}`)
      case "WrongWorkflow":
        return unusable(`${file}: ${report.message}`)
      case "Matched":
        return {
          exitCode: 0,
          lines: [`✓ ${what}: the current code reproduces the history (status ${report.status})`]
        }
      case "Diverged": {
        const d = report.divergence
        const location = d.actual.location ?? d.expected.location
        return {
          exitCode: 1,
          lines: [
            `✗ ${what}: the current code diverges from the history at cmd ${d.cmd}`,
            `  history has: ${side(d.expected)}`,
            `  code yields: ${side(d.actual)}`,
            `  at:          ${location ? displayLocation(location) : "(no source location)"}`,
            `  reason:      ${d.reason}`
          ]
        }
      }
    }
  })
