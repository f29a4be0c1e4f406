/**
 * The docs survive being followed (issue 20, item 8): every command of README's quick start,
 * then of examples/README, is run in order against one fresh server (the examples' registry,
 * the offline model), as a reader would paste it; none fails or is answered with an error,
 * and afterwards `npm run format:check` still passes (exported histories land in a folder
 * git and prettier ignore).
 */
import { readFileSync, rmSync } from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { DEFAULT_REGISTRY } from "../../server/registry"
import { repoRoot, runCommand, startServer, type TestServer } from "../server/support"

/** Commands a reader runs that this test stands in for, each with the reason. */
const STOOD_IN_FOR: Record<string, string> = {
  "npm install && npm start": "this test starts the server (and npm ci installed)",
  "npm test": "this is the test suite",
  "npm run demo:crash": "test/examples/crash-demo.test.ts runs it"
}

/** The shell commands of a markdown file's ```sh blocks, continuation lines joined, in order. */
const commandsOf = (file: string): Array<string> => {
  const text = readFileSync(path.join(repoRoot, file), "utf8")
  const blocks = [...text.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!)
  return blocks.flatMap((block) =>
    block
      .replace(/\\\n\s*/g, "")
      .split("\n")
      .map((line) => line.trim())
      .filter((line) => line !== "" && !line.startsWith("#"))
  )
}

const withoutComment = (command: string) => command.replace(/\s+#\s.*$/, "")

let server: TestServer

beforeAll(async () => {
  // The codingAgent section asks for a server whose scripted model takes its time, so a
  // steering signal sent after the start arrives while the agent still works.
  process.env["LLM_OFFLINE_DELAY_MS"] = "250"
  server = await startServer({ registry: DEFAULT_REGISTRY })
})
afterAll(async () => {
  await server?.close()
  rmSync(path.join(repoRoot, "histories"), { recursive: true, force: true })
})

const run = (command: string, env: Record<string, string>) => runCommand("bash", ["-c", command], env)

describe("README, then examples/README, followed to the letter", () => {
  it("every command succeeds in order on one fresh server; format:check passes after", async () => {
    const commands = [...commandsOf("README.md"), ...commandsOf("examples/README.md")]
    expect(commands.length).toBeGreaterThan(40)
    const stoodInFor = commands.filter((c) => withoutComment(c) in STOOD_IN_FOR)
    // Each stand-in is a command the docs really have: none is skipped silently.
    expect([...new Set(stoodInFor.map(withoutComment))].sort()).toEqual(Object.keys(STOOD_IN_FOR).sort())
    const env = { TEMPORAL_LITE_SERVER: server.url, NO_COLOR: "1" }
    for (const command of commands.filter((c) => !stoodInFor.includes(c))) {
      const line = command
        .replaceAll("http://127.0.0.1:8233", server.url)
        // The docs' data folder is the default ./data; this server's is a temporary one.
        .replace(/(^|\s)data\//g, `$1${server.dataDir}/`)
      const result = await run(line, env)
      const said = `${command}\n${result.stdout}\n${result.stderr}`
      expect(result.status, said).toBe(0)
      // curl -s exits 0 on any answer: an error envelope is a failed step too.
      expect(result.stdout, said).not.toMatch(/^\{"error":\{"code"/)
    }
    const format = await run("npm run --silent format:check", {})
    expect(format.status, format.stdout + format.stderr).toBe(0)
  }, 300_000)
})
