/**
 * The coding agent's tools, confined to one workspace folder per workflow
 * (`<root>/<workflowId>`): read a file, write a file, list a folder, run an allow-listed
 * command.
 *
 * Invariants:
 * 1. Nothing outside the workspace is read, written, listed or passed to a command: paths
 *    are relative and resolved against the real file system as the kernel walks them (a
 *    symlink is followed to its real target, and `..` steps up from where the walk really
 *    is), and may not climb out; a symlink on the way that points out or nowhere is refused.
 *    A command gets each path argument as resolved, not as given. Refusals are
 *    `NonRetryableError`s naming the path.
 * 2. Commands run without a shell, from an allow-list that checks every argument, in the
 *    workspace, with a timeout and an output cap; under bubblewrap when it runs here
 *    (sandbox.ts), with the workspace as the only folder of the machine they can see to write.
 * 5. Each workflow id has a folder of its own: distinct ids never share one.
 * 3. A write is done at most once per call: the ledger (`.tool-log.jsonl` in the workspace)
 *    records each write under its idempotency key and run, and a retried attempt that finds
 *    its key returns the recorded result without writing. (Were the process to die between
 *    the write and its ledger line, the retry writes the same bytes again: same effect.)
 * 4. Every tool call performed appends one line to the ledger, so tests and the crash demo
 *    can count side effects; a deduplicated write appends nothing. Tools cannot reach the
 *    ledger itself.
 */
import { execFile, type ExecFileException } from "node:child_process"
import { randomUUID } from "node:crypto"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { NonRetryableError } from "../activities"
import { checkCommandArgs, defaultCommands, type CommandAllowList } from "./command-policy"
import { makeSandbox, type Sandbox, type SandboxMode } from "./sandbox"
import {
  appendToolLedger,
  errnoOf,
  readToolLedger,
  TOOL_LEDGER_FILE,
  type ToolCallMeta,
  type ToolLedgerEntry
} from "./tool-ledger"
import { legacyDirName, sha256, workspaceDirName } from "./workspace-names"

export interface WorkspaceToolsOptions {
  /** The folder holding one workspace folder per workflow, e.g. `./data/workspaces`. */
  readonly root: string
  readonly commands?: CommandAllowList
  /** A command still running after this long is killed and reported `timedOut` (default 10 s). */
  readonly commandTimeoutMs?: number
  /** Output kept per stream; a command writing more is killed and reported `truncated` (default 64 KiB). */
  readonly maxOutputBytes?: number
  /** The largest file read or written (default 1 MiB). */
  readonly maxFileBytes?: number
  /** How commands are confined (default `auto`: under bubblewrap when it runs here). */
  readonly sandbox?: SandboxMode
}

export interface ReadFileResult {
  readonly path: string
  readonly content: string
  readonly bytes: number
}
export interface WriteFileResult {
  readonly path: string
  readonly bytes: number
  readonly sha256: string
  readonly deduplicated: boolean
}
export interface FileEntry {
  readonly name: string
  readonly type: "file" | "directory" | "symlink" | "other"
  readonly bytes: number
}
export interface ListFilesResult {
  readonly path: string
  readonly entries: ReadonlyArray<FileEntry>
}
export interface RunCommandResult {
  readonly command: string
  readonly args: ReadonlyArray<string>
  readonly exitCode: number | null
  readonly stdout: string
  readonly stderr: string
  readonly timedOut: boolean
  readonly truncated: boolean
  readonly durationMs: number
}

const isInside = (relative: string): boolean =>
  relative === "" || (relative.split(path.sep)[0] !== ".." && !path.isAbsolute(relative))

const exists = (file: string): Promise<boolean> =>
  fs.lstat(file).then(
    () => true,
    () => false
  )

/**
 * The tools of every workflow's workspace under one root. One instance per process: it
 * serialises the writes of each workspace, so a write's ledger check and record are atomic.
 *
 * @example
 * const tools = new WorkspaceTools({ root: "./data/workspaces" })
 * await tools.workspace("agent-1").writeFile("notes.txt", "hi", { idempotencyKey: "agent-1/7" })
 */
export class WorkspaceTools {
  readonly root: string
  readonly commands: CommandAllowList
  readonly commandTimeoutMs: number
  readonly maxOutputBytes: number
  readonly maxFileBytes: number
  private readonly sandboxMode: SandboxMode
  private sandboxReady: Promise<Sandbox> | undefined
  private readonly locks = new Map<string, Promise<unknown>>()

  constructor(options: WorkspaceToolsOptions) {
    this.root = path.resolve(options.root)
    this.commands = options.commands ?? defaultCommands
    this.commandTimeoutMs = options.commandTimeoutMs ?? 10_000
    this.maxOutputBytes = options.maxOutputBytes ?? 64 * 1024
    this.maxFileBytes = options.maxFileBytes ?? 1024 * 1024
    this.sandboxMode = options.sandbox ?? "auto"
  }

  /**
   * How commands are confined here, found out on first use: `kind` is `bubblewrap`, or `none`
   * with the reason. Rejects when the `bubblewrap` mode was asked for and cannot be had.
   */
  sandbox(): Promise<Sandbox> {
    return (this.sandboxReady ??= fs
      .mkdir(this.root, { recursive: true })
      .then(() => makeSandbox(this.sandboxMode, this.root))
      .then((sandbox) => {
        // Said once, where the operator looks: commands of agents run with the engine's rights.
        if (sandbox.kind === "none" && this.sandboxMode === "auto")
          console.warn(`temporal-lite: workspace commands run unconfined: ${sandbox.reason}`)
        return sandbox
      }))
  }

  /** The workspace folder of a workflow (created on first use). */
  dirFor(workflowId: string): string {
    return path.join(this.root, workspaceDirName(workflowId))
  }

  /** The tools bound to one workflow's workspace. */
  workspace(workflowId: string): Workspace {
    return new Workspace(this, this.dirFor(workflowId), workflowId)
  }

  /** Runs `task` after every earlier task on the same workspace has settled. */
  serialize<A>(dir: string, task: () => Promise<A>): Promise<A> {
    const previous = this.locks.get(dir) ?? Promise.resolve()
    const next = previous.then(task, task)
    const tail = next.catch(() => undefined)
    this.locks.set(dir, tail)
    void tail.then(() => {
      if (this.locks.get(dir) === tail) this.locks.delete(dir)
    })
    return next
  }
}

/** The tools of one workspace folder. See the module doc for what each guarantees. */
export class Workspace {
  constructor(
    private readonly tools: WorkspaceTools,
    /** The workspace folder. */
    readonly dir: string,
    private readonly workflowId: string
  ) {}

  /** Reads a UTF-8 file. Fails (non-retryable) when it is missing, a folder, too large or outside. */
  async readFile(relativePath: string, meta: ToolCallMeta): Promise<ReadFileResult> {
    const target = await this.resolve("read_file", relativePath)
    const stat = await fs.stat(target.absolute).catch((error: unknown) => {
      if (errnoOf(error) === "ENOENT")
        throw new NonRetryableError({
          message: `read_file: "${target.relative}" does not exist in the workspace`
        })
      throw error
    })
    if (stat.isDirectory())
      throw new NonRetryableError({
        message: `read_file: "${target.relative}" is a folder; use list_files to see what it holds`
      })
    if (stat.size > this.tools.maxFileBytes)
      throw new NonRetryableError({
        message: `read_file: "${target.relative}" has ${stat.size} bytes, over the ${this.tools.maxFileBytes}-byte limit`
      })
    const content = await fs.readFile(target.absolute, "utf8")
    const bytes = Buffer.byteLength(content)
    await appendToolLedger(this.dir, { tool: "readFile", path: target.relative, bytes }, meta)
    return { path: target.relative, content, bytes }
  }

  /**
   * Writes a UTF-8 file (creating its folders), at most once per idempotency key and run: a
   * retried call with the same key and content returns `deduplicated: true` and writes
   * nothing. The same key with other content is refused, as it means two different writes
   * were given one key.
   */
  async writeFile(relativePath: string, content: string, meta: ToolCallMeta): Promise<WriteFileResult> {
    const target = await this.resolve("write_file", relativePath)
    const bytes = Buffer.byteLength(content)
    if (bytes > this.tools.maxFileBytes)
      throw new NonRetryableError({
        message: `write_file: ${bytes} bytes for "${target.relative}" are over the ${this.tools.maxFileBytes}-byte limit`
      })
    const digest = sha256(content)
    return this.tools.serialize(this.dir, async () => {
      const done = (await this.ledger()).find(
        (e) => e.tool === "writeFile" && e.key === meta.idempotencyKey && e.runId === meta.runId
      )
      if (done) {
        if (done.path === target.relative && done.sha256 === digest)
          return { path: target.relative, bytes, sha256: digest, deduplicated: true }
        throw new NonRetryableError({
          message:
            `write_file: idempotency key "${meta.idempotencyKey}" already wrote "${done.path}" with other content; ` +
            `refusing to write "${target.relative}" under the same key`
        })
      }
      const existing = await fs.lstat(target.absolute).catch(() => undefined)
      if (existing?.isDirectory())
        throw new NonRetryableError({ message: `write_file: "${target.relative}" is a folder` })
      await fs.mkdir(path.dirname(target.absolute), { recursive: true })
      // Write aside, then rename: a crash leaves the old file or the new one, never half of
      // it, and a symlink at the target is replaced rather than followed.
      const temporary = path.join(path.dirname(target.absolute), `.tmp-${randomUUID()}`)
      try {
        await fs.writeFile(temporary, content, "utf8")
        await fs.rename(temporary, target.absolute)
      } catch (error) {
        await fs.rm(temporary, { force: true })
        throw error
      }
      await appendToolLedger(
        this.dir,
        { tool: "writeFile", path: target.relative, bytes, sha256: digest },
        meta
      )
      return { path: target.relative, bytes, sha256: digest, deduplicated: false }
    })
  }

  /** Lists a folder (default: the workspace root), sorted by name; the ledger is not shown. */
  async listFiles(relativePath: string | undefined, meta: ToolCallMeta): Promise<ListFilesResult> {
    const target = await this.resolve("list_files", relativePath ?? ".")
    const dirents = await fs.readdir(target.absolute, { withFileTypes: true }).catch((error: unknown) => {
      const code = errnoOf(error)
      if (code === "ENOENT")
        throw new NonRetryableError({
          message: `list_files: "${target.relative}" does not exist in the workspace`
        })
      if (code === "ENOTDIR")
        throw new NonRetryableError({ message: `list_files: "${target.relative}" is a file, not a folder` })
      throw error
    })
    const atRoot = target.relative === "."
    const entries: FileEntry[] = []
    for (const d of dirents) {
      if (atRoot && d.name === TOOL_LEDGER_FILE) continue
      if (d.name.startsWith(".tmp-")) continue // a write in progress
      const stat = await fs.lstat(path.join(target.absolute, d.name)).catch(() => undefined)
      if (!stat) continue // removed meanwhile
      entries.push({
        name: d.name,
        type: stat.isSymbolicLink()
          ? "symlink"
          : stat.isDirectory()
            ? "directory"
            : stat.isFile()
              ? "file"
              : "other",
        bytes: stat.isFile() ? stat.size : 0
      })
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    await appendToolLedger(this.dir, { tool: "listFiles", path: target.relative }, meta)
    return { path: target.relative, entries }
  }

  /**
   * Runs an allow-listed command in the workspace, without a shell. Exit codes, timeouts and
   * capped output are results (the agent reads them); a command or argument off the
   * allow-list, or a path argument leaving the workspace, is a `NonRetryableError`. An
   * aborted call kills the command and rejects with the signal's reason.
   */
  async runCommand(
    command: string,
    args: ReadonlyArray<string>,
    meta: ToolCallMeta
  ): Promise<RunCommandResult> {
    const commands = this.tools.commands
    const spec = Object.hasOwn(commands, command) ? commands[command] : undefined
    if (!spec)
      throw new NonRetryableError({
        message: `run_command: "${command}" is not on the allow-list (${Object.keys(commands).join(", ")})`,
        details: { command }
      })
    const resolved = await checkCommandArgs(command, spec, args, (tool, requested) =>
      this.resolve(tool, requested)
    )
    const base = await this.base()
    const sandbox = await this.tools.sandbox().catch((error: Error) => {
      throw new NonRetryableError({ message: `run_command: ${error.message}` })
    })
    const hidden = (await exists(path.join(base, TOOL_LEDGER_FILE))) ? [TOOL_LEDGER_FILE] : []
    const run = sandbox.command(spec.executable ?? command, resolved, base, hidden)
    const started = Date.now()
    const outcome = await new Promise<{ error: ExecFileException | null; stdout: string; stderr: string }>(
      (resolve) => {
        execFile(
          run.file,
          [...run.args],
          {
            cwd: run.cwd,
            timeout: this.tools.commandTimeoutMs,
            maxBuffer: this.tools.maxOutputBytes,
            killSignal: "SIGKILL",
            encoding: "utf8",
            windowsHide: true,
            // A minimal environment: the command gets no secrets of the engine's process.
            env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", LANG: "C.UTF-8" },
            ...(meta.signal === undefined ? {} : { signal: meta.signal })
          },
          (error, stdout, stderr) => resolve({ error, stdout, stderr })
        )
      }
    )
    if (meta.signal?.aborted) throw meta.signal.reason
    const { error } = outcome
    if (error && errnoOf(error) === "ENOENT")
      throw new NonRetryableError({
        message: `run_command: "${command}" is allowed but not installed on this machine`
      })
    const truncated = errnoOf(error) === "ERR_CHILD_PROCESS_STDIO_MAXBUFFER"
    const timedOut = !truncated && error?.killed === true
    const exitCode = error === null ? 0 : typeof error.code === "number" ? error.code : null
    const cap = (text: string) =>
      Buffer.byteLength(text) > this.tools.maxOutputBytes ? text.slice(0, this.tools.maxOutputBytes) : text
    const result: RunCommandResult = {
      command,
      args: [...args],
      exitCode,
      stdout: cap(outcome.stdout),
      stderr: cap(outcome.stderr) + (timedOut ? `\n[killed after ${this.tools.commandTimeoutMs} ms]` : ""),
      timedOut,
      truncated,
      durationMs: Date.now() - started
    }
    await appendToolLedger(this.dir, { tool: "runCommand", command, args: [...args], exitCode }, meta)
    return result
  }

  /** The ledger's entries, oldest first. A torn last line (the process died mid-append) is skipped. */
  async ledger(): Promise<ToolLedgerEntry[]> {
    return readToolLedger(this.dir)
  }

  /**
   * The workspace's real path, created on first use (taking over its folder of before 0.2
   * when its ledger shows it is this workflow's: see `legacyDirName`).
   */
  private async base(): Promise<string> {
    if (!(await exists(this.dir))) await this.adoptLegacyFolder()
    await fs.mkdir(this.dir, { recursive: true })
    return fs.realpath(this.dir)
  }

  private async adoptLegacyFolder(): Promise<void> {
    const legacy = path.join(path.dirname(this.dir), legacyDirName(this.workflowId))
    if (legacy === this.dir) return
    const entries = await readToolLedger(legacy)
    if (entries.length === 0 || !entries.every((e) => e.key.startsWith(`${this.workflowId}/`))) return
    await fs.rename(legacy, this.dir).catch((error: unknown) => {
      // Taken over by a concurrent call already.
      if (errnoOf(error) !== "ENOENT") throw error
    })
  }

  /**
   * Resolves a workspace-relative path as the kernel will walk it (invariant 1), refusing
   * absolute paths, climbs out, the ledger, and a symlink on the way that points out or
   * nowhere. `relative` is the real path from the workspace (`.` for the workspace itself).
   */
  private async resolve(tool: string, requested: string): Promise<{ absolute: string; relative: string }> {
    const refuse = (why: string): never => {
      throw new NonRetryableError({
        message: `${tool}: path ${JSON.stringify(requested)} refused: ${why}`,
        details: {
          path: requested
        }
      })
    }
    if (typeof requested !== "string" || requested.trim() === "") refuse("it is empty")
    if (requested.includes("\0")) refuse("it holds a NUL byte")
    if (path.isAbsolute(requested) || /^[A-Za-z]:[\\/]/.test(requested) || requested.startsWith("~"))
      refuse("absolute paths are not allowed; give a path relative to the workspace")
    const base = await this.base()
    const from = (absolute: string) => path.relative(base, absolute)
    // Where the walk really is: a real path while the segments exist, then the missing rest.
    let at = base
    let existing = true
    for (const segment of requested.split("/")) {
      if (segment === "" || segment === ".") continue
      if (segment === "..") {
        at = path.dirname(at)
        if (!isInside(from(at))) refuse("it leaves the workspace")
        continue
      }
      at = path.join(at, segment)
      if (!existing) continue
      const stat = await fs.lstat(at).catch((error: unknown) => {
        if (errnoOf(error) === "ENOENT" || errnoOf(error) === "ENOTDIR") return undefined
        throw error
      })
      if (!stat) existing = false
      else if (stat.isSymbolicLink()) {
        const real = await fs.realpath(at).catch(() => undefined)
        if (real === undefined) refuse(`"${from(at)}" is a symlink to nowhere`)
        else if (!isInside(from(real))) refuse(`"${from(at)}" is a symlink out of the workspace`)
        else at = real
      }
    }
    const relative = from(at)
    if (relative.split(path.sep)[0] === TOOL_LEDGER_FILE) refuse("the tool ledger is not open to tools")
    return { absolute: at, relative: relative === "" ? "." : relative.split(path.sep).join("/") }
  }
}
