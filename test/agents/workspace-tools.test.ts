/**
 * The workspace tools: confinement (invariant 1), the command allow-list with timeout and
 * output cap (invariant 2), idempotent writes (invariant 3) and the side-effect ledger
 * (invariant 4) of runtime/agents/workspace-tools.ts.
 */
import fc from "fast-check"
import { createHash } from "node:crypto"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { ActivityContext } from "../../runtime"
import {
  agentActivities,
  defaultCommands,
  LlmCallLedger,
  NonRetryableError,
  readToolLedger,
  scriptedProvider,
  TOOL_LEDGER_FILE,
  workspaceDirName,
  WorkspaceTools,
  type ToolCallMeta
} from "../../runtime/agents"
import { failure } from "../support/failure"

let root: string
let outside: string

beforeAll(async () => {
  const tmp = await fs.realpath(os.tmpdir())
  root = await fs.mkdtemp(path.join(tmp, "tl-workspaces-"))
  outside = await fs.mkdtemp(path.join(tmp, "tl-outside-"))
  await fs.writeFile(path.join(outside, "secret.txt"), "top secret")
})
afterAll(async () => {
  await fs.rm(root, { recursive: true, force: true })
  await fs.rm(outside, { recursive: true, force: true })
})

let keys = 0
const meta = (extra: Partial<ToolCallMeta> = {}): ToolCallMeta => ({
  idempotencyKey: `wf/${++keys}`,
  runId: "run-1",
  ...extra
})

const expectRefused = async (promise: Promise<unknown>, pattern: RegExp) => {
  const error = await failure(promise)
  expect(error.name).toBe("NonRetryableError")
  expect(error).toBeInstanceOf(NonRetryableError)
  expect(error.message).toMatch(pattern)
}

describe("workspace confinement (invariant 1)", () => {
  it("reads, writes and lists inside the workspace, creating folders", async () => {
    const ws = new WorkspaceTools({ root }).workspace("confined")
    expect(ws.dir).toBe(path.join(root, "confined"))
    await ws.writeFile("src/app.ts", "export {}\n", meta())
    expect(await ws.readFile("src/../src/app.ts", meta())).toEqual({
      path: "src/app.ts",
      content: "export {}\n",
      bytes: 10
    })
    expect(await ws.listFiles(undefined, meta())).toEqual({
      path: ".",
      entries: [{ name: "src", type: "directory", bytes: 0 }]
    })
    expect(await ws.listFiles("src", meta())).toEqual({
      path: "src",
      entries: [{ name: "app.ts", type: "file", bytes: 10 }]
    })
  })

  it("refuses paths that climb out, absolute paths and the ledger, naming the path", async () => {
    const ws = new WorkspaceTools({ root }).workspace("confined")
    await expectRefused(
      ws.readFile("../confined-sibling/x", meta()),
      /read_file: path "..\/confined-sibling\/x" refused: it leaves the workspace/
    )
    await expectRefused(
      ws.writeFile("a/../../escape.txt", "x", meta()),
      /write_file: .* it leaves the workspace/
    )
    await expectRefused(
      ws.readFile(path.join(outside, "secret.txt"), meta()),
      /absolute paths are not allowed/
    )
    await expectRefused(ws.listFiles("..", meta()), /list_files: .* leaves the workspace/)
    await expectRefused(ws.readFile("~/.ssh/id_rsa", meta()), /absolute paths are not allowed/)
    await expectRefused(ws.readFile(TOOL_LEDGER_FILE, meta()), /the tool ledger is not open to tools/)
    await expectRefused(
      ws.writeFile(`./${TOOL_LEDGER_FILE}`, "{}", meta()),
      /the tool ledger is not open to tools/
    )
    await expect(fs.access(path.join(root, "escape.txt"))).rejects.toThrow()
  })

  it("refuses symlinks that lead out of the workspace, or nowhere", async () => {
    const ws = new WorkspaceTools({ root }).workspace("links")
    await ws.writeFile("inside.txt", "fine", meta())
    await fs.symlink(outside, path.join(ws.dir, "out-dir"))
    await fs.symlink(path.join(outside, "secret.txt"), path.join(ws.dir, "out-file"))
    await fs.symlink(path.join(outside, "missing.txt"), path.join(ws.dir, "dangling"))
    await fs.symlink(path.join(ws.dir, "inside.txt"), path.join(ws.dir, "in-link"))

    await expectRefused(
      ws.readFile("out-dir/secret.txt", meta()),
      /"out-dir" is a symlink out of the workspace/
    )
    await expectRefused(ws.readFile("out-file", meta()), /"out-file" is a symlink out of the workspace/)
    await expectRefused(ws.writeFile("out-dir/new.txt", "x", meta()), /symlink out of the workspace/)
    await expectRefused(ws.listFiles("out-dir", meta()), /symlink out of the workspace/)
    await expectRefused(ws.writeFile("dangling", "x", meta()), /"dangling" is a symlink to nowhere/)
    await expectRefused(
      ws.runCommand("cat", ["out-file"], meta()),
      /run_command cat: .* symlink out of the workspace/
    )
    expect((await ws.readFile("in-link", meta())).content).toBe("fine")
    await expect(fs.access(path.join(outside, "new.txt"))).rejects.toThrow()
    await expect(fs.access(path.join(outside, "missing.txt"))).rejects.toThrow()
  })

  it("gives each workflow its own folder, even for ids that look like paths", () => {
    expect(workspaceDirName("agent-1")).toBe("agent-1")
    for (const id of ["..", "../etc", "a/b", ".hidden", "/abs", "x\\y"]) {
      const name = workspaceDirName(id)
      expect(name).toMatch(/^[A-Za-z0-9_-][A-Za-z0-9._-]*$/)
      expect(name).not.toContain("..")
    }
    expect(workspaceDirName("a/b")).not.toBe(workspaceDirName("a_b"))
  })

  it("fails clearly on a missing file, a folder read as a file, and a file over the size limit", async () => {
    const ws = new WorkspaceTools({ root, maxFileBytes: 16 }).workspace("errors")
    await expectRefused(
      ws.readFile("nope.txt", meta()),
      /read_file: "nope.txt" does not exist in the workspace/
    )
    await ws.writeFile("dir/f.txt", "x", meta())
    await expectRefused(ws.readFile("dir", meta()), /"dir" is a folder/)
    await expectRefused(
      ws.writeFile("big.txt", "x".repeat(17), meta()),
      /17 bytes for "big.txt" are over the 16-byte limit/
    )
  })
})

describe("workspace escapes (issue 22 item 7)", () => {
  it("invariant 1: a path is resolved as the kernel walks it, for the tools and for a command's arguments", async () => {
    const ws = new WorkspaceTools({ root }).workspace("walks")
    await fs.mkdir(path.join(outside, "sub"), { recursive: true })
    await ws.writeFile("deep/inner/x.txt", "inner", meta())
    await ws.writeFile("deep/f.txt", "beside inner", meta())
    await fs.symlink(path.join(outside, "sub"), path.join(ws.dir, "lnk"))
    await fs.symlink(path.join(ws.dir, "deep", "inner"), path.join(ws.dir, "in"))
    // Text normalisation reads "lnk/../secret.txt" as "secret.txt"; the kernel reads outside/secret.txt.
    await expectRefused(
      ws.runCommand("cat", ["lnk/../secret.txt"], meta()),
      /run_command cat: path "lnk\/..\/secret.txt" refused: "lnk" is a symlink out of the workspace/
    )
    await expectRefused(ws.readFile("lnk/../secret.txt", meta()), /"lnk" is a symlink out of the workspace/)
    await expectRefused(ws.runCommand("ls", ["lnk/.."], meta()), /"lnk" is a symlink out of the workspace/)
    // Inside, ".." after a symlink steps up from its target, as the command will.
    expect(await ws.readFile("in/../f.txt", meta())).toEqual({
      path: "deep/f.txt",
      content: "beside inner",
      bytes: 12
    })
    expect((await ws.runCommand("cat", ["in/../f.txt"], meta())).stdout).toBe("beside inner")
  })

  it("invariant 5: distinct ids get distinct folders, an id spelled like another's folder name included", () => {
    expect(workspaceDirName("team/a")).not.toBe(workspaceDirName("team_a-65f838a2fb"))
    expect(workspaceDirName("team_a-65f838a2fb")).toBe("team_a-65f838a2fb")
    expect(workspaceDirName("ls-\ud800")).not.toBe(workspaceDirName("ls-\udc00"))
    const ids = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc
        .array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 40 })
        .map((units) => String.fromCharCode(...units))
    )
    fc.assert(
      fc.property(ids, ids, (a, b) => {
        const name = workspaceDirName(a)
        expect(name).toMatch(/^[A-Za-z0-9_-][A-Za-z0-9._-]*$/)
        expect(Buffer.byteLength(name)).toBeLessThanOrEqual(255)
        // The id that is another id's folder name gets a folder of its own.
        if (name !== a) expect(workspaceDirName(name)).not.toBe(name)
        if (a !== b) expect(workspaceDirName(b)).not.toBe(name)
      }),
      { numRuns: 2000 }
    )
  })

  it("a workspace made under the name of before 0.2 is taken over by the id its ledger names, and by no other", async () => {
    // The name 0.1 gave an id that is not a plain name: 40 bits of a hash of the id.
    const legacy = (id: string) =>
      path.join(root, `${id.replace("/", "_")}-${createHash("sha256").update(id).digest("hex").slice(0, 10)}`)
    const mine = legacy("team/a")
    expect(path.basename(mine)).toBe("team_a-65f838a2fb")
    await fs.mkdir(mine, { recursive: true })
    await fs.writeFile(path.join(mine, "notes.txt"), "kept")
    await fs.writeFile(
      path.join(mine, TOOL_LEDGER_FILE),
      JSON.stringify({ tool: "writeFile", key: "team/a/3" }) + "\n"
    )
    const tools = new WorkspaceTools({ root })
    expect((await tools.workspace("team/a").readFile("notes.txt", meta())).content).toBe("kept")
    expect(tools.dirFor("team/a")).not.toBe(mine)
    await expect(fs.access(mine)).rejects.toThrow()
    // A folder whose ledger names another workflow stays where it is.
    const theirs = legacy("crew/b")
    await fs.mkdir(theirs, { recursive: true })
    await fs.writeFile(
      path.join(theirs, TOOL_LEDGER_FILE),
      JSON.stringify({ tool: "writeFile", key: `${path.basename(theirs)}/1` }) + "\n"
    )
    await expectRefused(
      tools.workspace("crew/b").readFile(TOOL_LEDGER_FILE, meta()),
      /the tool ledger is not open/
    )
    expect((await tools.workspace("crew/b").listFiles(undefined, meta())).entries).toEqual([])
    await fs.access(path.join(theirs, TOOL_LEDGER_FILE))
  })

  it("invariant 2: under bubblewrap a command sees the system read-only and its workspace, nothing else of the machine", async () => {
    // An allow-list that checks nothing: the sandbox alone keeps the command in.
    const tools = new WorkspaceTools({
      root,
      sandbox: "bubblewrap",
      commands: { cat: { args: "text" }, ls: { args: "text" }, sh: { args: "text" } }
    })
    expect((await tools.sandbox()).kind).toBe("bubblewrap")
    const ws = tools.workspace("sandboxed")
    await ws.writeFile("notes.txt", "mine", meta())
    await fs.symlink(path.join(outside, "secret.txt"), path.join(ws.dir, "planted"))
    const absolute = await ws.runCommand("cat", [path.join(outside, "secret.txt")], meta())
    expect([absolute.exitCode, absolute.stdout]).toEqual([1, ""])
    expect(absolute.stderr).toContain("No such file or directory")
    const planted = await ws.runCommand("cat", ["planted"], meta())
    expect([planted.exitCode, planted.stdout]).toEqual([1, ""])
    expect((await ws.runCommand("cat", ["notes.txt"], meta())).stdout).toBe("mine")
    // The ledger reads as empty, and cannot be written.
    expect((await ws.runCommand("cat", [TOOL_LEDGER_FILE], meta())).stdout).toBe("")
    const forged = await ws.runCommand("sh", ["-c", `echo forged > ${TOOL_LEDGER_FILE}`], meta())
    expect(forged.exitCode).not.toBe(0)
    expect((await ws.ledger()).every((e) => e.key.startsWith("wf/"))).toBe(true)
    const top = (await ws.runCommand("ls", ["/"], meta())).stdout.split("\n").filter(Boolean)
    expect(top).toContain("workspace")
    for (const name of top)
      expect([
        "bin",
        "dev",
        "etc",
        "lib",
        "lib32",
        "lib64",
        "libx32",
        "proc",
        "sbin",
        "tmp",
        "usr",
        "workspace"
      ]).toContain(name)
    expect((await ws.runCommand("ls", ["/workspace"], meta())).stdout).toBe("notes.txt\nplanted\n")
  })

  it("without bubblewrap (sandbox: none) commands run unconfined, and the sandbox says why", async () => {
    const sandbox = await new WorkspaceTools({ root, sandbox: "none" }).sandbox()
    expect([sandbox.kind, sandbox.reason]).toEqual(["none", "confinement is turned off (sandbox: none)"])
  })
})

describe("run_command allow-list (invariant 2)", () => {
  it("runs allowed commands without a shell, in the workspace", async () => {
    const ws = new WorkspaceTools({ root }).workspace("commands")
    await ws.writeFile("notes.txt", "one two three\n", meta())
    const wc = await ws.runCommand("wc", ["-w", "notes.txt"], meta())
    expect(wc).toMatchObject({
      command: "wc",
      args: ["-w", "notes.txt"],
      exitCode: 0,
      timedOut: false,
      truncated: false
    })
    expect(wc.stdout.trim()).toBe("3 notes.txt")
    const echo = await ws.runCommand("echo", ["$HOME", "; rm -rf /"], meta())
    expect(echo.stdout).toBe("$HOME ; rm -rf /\n")
    expect((await ws.runCommand("node", ["--version"], meta())).stdout.trim()).toBe(process.version)
    const ls = await ws.runCommand("ls", [], meta())
    expect(ls.stdout.split("\n")).toContain("notes.txt")
    expect(ls.stdout).not.toContain(TOOL_LEDGER_FILE)
  })

  it("reports a failing command's exit code as a result", async () => {
    const ws = new WorkspaceTools({ root }).workspace("commands")
    const missing = await ws.runCommand("cat", ["absent.txt"], meta())
    expect(missing.exitCode).not.toBe(0)
    expect(missing.exitCode).not.toBeNull()
    expect(missing.stderr).toContain("absent.txt")
  })

  it("refuses commands, options and arguments off the allow-list, naming them", async () => {
    const ws = new WorkspaceTools({ root }).workspace("commands")
    await expectRefused(
      ws.runCommand("rm", ["-rf", "."], meta()),
      /"rm" is not on the allow-list \(ls, cat, echo, wc, node\)/
    )
    await expectRefused(
      ws.runCommand("node", ["-e", "process.exit(1)"], meta()),
      /node may only run as "node --version"/
    )
    await expectRefused(
      ws.runCommand("cat", ["../../etc/passwd"], meta()),
      /run_command cat: .* leaves the workspace/
    )
    await expectRefused(ws.runCommand("cat", ["/etc/passwd"], meta()), /absolute paths are not allowed/)
    await expectRefused(
      ws.runCommand("wc", ["--files0-from=/etc/passwd"], meta()),
      /option "--files0-from=\/etc\/passwd" of wc is not allowed/
    )
    await expectRefused(ws.runCommand("toString", [], meta()), /not on the allow-list/)
  })

  it("kills a command that outlives its timeout and reports it timed out", async () => {
    const ws = new WorkspaceTools({
      root,
      commands: { ...defaultCommands, sleep: { args: "text" } },
      commandTimeoutMs: 150
    }).workspace("timeouts")
    const result = await ws.runCommand("sleep", ["10"], meta())
    expect(result).toMatchObject({ exitCode: null, timedOut: true, truncated: false })
    expect(result.stderr).toContain("killed after 150 ms")
    expect(result.durationMs).toBeLessThan(5000)
  })

  it("caps the output of a command and says it was cut", async () => {
    const ws = new WorkspaceTools({ root, maxOutputBytes: 1000 }).workspace("caps")
    await ws.writeFile("big.txt", "y".repeat(200_000), meta())
    const result = await ws.runCommand("cat", ["big.txt"], meta())
    expect(result.truncated).toBe(true)
    expect(result.timedOut).toBe(false)
    expect(result.stdout.length).toBeLessThanOrEqual(1000)
  })

  it("kills the command and rejects with the signal's reason when aborted", async () => {
    const ws = new WorkspaceTools({ root, commands: { sleep: { args: "text" } } }).workspace("aborts")
    const controller = new AbortController()
    const pending = ws.runCommand("sleep", ["10"], meta({ signal: controller.signal }))
    controller.abort(new DOMException("activity cancelled", "AbortError"))
    const error = await failure(pending)
    expect(error.name).toBe("AbortError")
  })
})

describe("idempotent writes and the side-effect ledger (invariants 3, 4)", () => {
  it("performs a write retried under the same key once, and records one side effect", async () => {
    const ws = new WorkspaceTools({ root }).workspace("idempotent")
    const call = { idempotencyKey: "idempotent/7", runId: "run-1" }
    const first = await ws.writeFile("out.txt", "hello", { ...call, attempt: 1 })
    // Something else changes the file between the attempts: a real second write would undo it.
    await fs.writeFile(path.join(ws.dir, "out.txt"), "changed since")
    const retry = await ws.writeFile("out.txt", "hello", { ...call, attempt: 2 })
    expect(first.deduplicated).toBe(false)
    expect(retry).toEqual({ ...first, deduplicated: true })
    expect(await fs.readFile(path.join(ws.dir, "out.txt"), "utf8")).toBe("changed since")
    const writes = (await readToolLedger(ws.dir)).filter((e) => e.tool === "writeFile")
    expect(writes).toHaveLength(1)
    expect(writes[0]).toMatchObject({
      key: "idempotent/7",
      runId: "run-1",
      attempt: 1,
      path: "out.txt",
      bytes: 5
    })
  })

  it("deduplicates concurrent attempts of one write too", async () => {
    const ws = new WorkspaceTools({ root }).workspace("concurrent")
    const call = { idempotencyKey: "concurrent/1", runId: "run-1" }
    const results = await Promise.all(
      [1, 2, 3].map((attempt) => ws.writeFile("f.txt", "x", { ...call, attempt }))
    )
    // Which attempt wins the lock is up to the file system; exactly one of them writes.
    expect(results.map((r) => r.deduplicated).sort()).toEqual([false, true, true])
    expect(await ws.ledger()).toHaveLength(1)
  })

  it("refuses the same key with other content, and treats a new run's key as a new write", async () => {
    const ws = new WorkspaceTools({ root }).workspace("keys")
    await ws.writeFile("a.txt", "first", { idempotencyKey: "keys/3", runId: "run-1" })
    await expectRefused(
      ws.writeFile("a.txt", "other", { idempotencyKey: "keys/3", runId: "run-1" }),
      /idempotency key "keys\/3" already wrote "a.txt" with other content/
    )
    // After continueAsNew the cmds restart: keys/3 of run-2 is a different call.
    const next = await ws.writeFile("a.txt", "second run", { idempotencyKey: "keys/3", runId: "run-2" })
    expect(next.deduplicated).toBe(false)
    expect(await fs.readFile(path.join(ws.dir, "a.txt"), "utf8")).toBe("second run")
  })

  it("appends one ledger line per tool call performed", async () => {
    const ws = new WorkspaceTools({ root }).workspace("ledger")
    await ws.writeFile("n.txt", "1 2", meta())
    await ws.readFile("n.txt", meta())
    await ws.listFiles(".", meta())
    await ws.runCommand("wc", ["-w", "n.txt"], meta())
    await failure(ws.readFile("missing", meta()))
    expect((await ws.ledger()).map((e) => e.tool)).toEqual([
      "writeFile",
      "readFile",
      "listFiles",
      "runCommand"
    ])
  })
})

describe("tool activities", () => {
  const context = (workflowId: string, cmd: number, attempt: number): ActivityContext => ({
    workflowId,
    runId: "run-a",
    cmd,
    activityName: "tool",
    attempt,
    idempotencyKey: `${workflowId}/${cmd}`,
    signal: new AbortController().signal,
    lastHeartbeat: undefined,
    heartbeat: () => {},
    emit: () => {}
  })

  it("run in the calling workflow's workspace, and a retried write activity writes once", async () => {
    const activities = agentActivities({
      llm: scriptedProvider(),
      workspaceRoot: root,
      callLedger: new LlmCallLedger()
    })
    const byName = new Map(activities.map((a) => [a.definition.activityName, a]))
    expect([...byName.keys()]).toEqual([
      "llm.chat",
      "tool.readFile",
      "tool.writeFile",
      "tool.listFiles",
      "tool.runCommand"
    ])
    const write = byName.get("tool.writeFile")!
    await write.run({ path: "plan.md", content: "# plan" }, context("agent-x", 4, 1))
    const again = await write.run({ path: "plan.md", content: "# plan" }, context("agent-x", 4, 2))
    expect(again).toMatchObject({ path: "plan.md", deduplicated: true })
    const read = await byName.get("tool.readFile")!.run({ path: "plan.md" }, context("agent-x", 5, 1))
    expect(read).toEqual({ path: "plan.md", content: "# plan", bytes: 6 })
    const run = await byName.get("tool.runCommand")!.run({ command: "ls" }, context("agent-x", 6, 1))
    expect(run).toMatchObject({ exitCode: 0, stdout: "plan.md\n" })
    const ledger = await readToolLedger(path.join(root, "agent-x"))
    expect(ledger.map((e) => [e.tool, e.key])).toEqual([
      ["writeFile", "agent-x/4"],
      ["readFile", "agent-x/5"],
      ["runCommand", "agent-x/6"]
    ])
    await expect(fs.access(path.join(root, "agent-y", "plan.md"))).rejects.toThrow()
  })

  it("llm.chat records each call in a ledger file that a new process reads back", async () => {
    const file = path.join(root, ".llm-calls.jsonl")
    const activities = agentActivities({ llm: scriptedProvider(), workspaceRoot: root })
    const chat = activities.find((a) => a.definition.activityName === "llm.chat")!
    const emitted: unknown[] = []
    const result = await chat.run(
      {
        purpose: "summary",
        messages: [{ role: "user", content: "Task: t\nResults:\n- [completed] a: done" }]
      },
      { ...context("sum-1", 2, 1), emit: (c: unknown) => emitted.push(c) }
    )
    expect(result.model).toBe("offline-scripted")
    expect(emitted.map((c: any) => c.text).join("")).toBe(result.content)
    const reopened = new LlmCallLedger(file)
    expect(reopened.totalsFor("sum-1")).toEqual({
      calls: 1,
      failedCalls: 0,
      promptTokens: result.usage.promptTokens,
      completionTokens: result.usage.completionTokens,
      totalTokens: result.usage.totalTokens
    })
  })
})
