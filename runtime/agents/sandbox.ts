/**
 * The confinement of the workspace tools' commands, as far as the platform allows: under
 * bubblewrap (`bwrap`, Debian/Ubuntu package `bubblewrap`) a command sees the system's
 * programs and libraries read-only, a private `/tmp`, and its workspace at `/workspace` as
 * the only folder it can write; nothing else of the machine (no home folders, no data folder,
 * no other workspace, no network, no other process). A symlink in the workspace that points
 * out leads nowhere inside. Where bubblewrap is missing or cannot run (a container without
 * user namespaces), commands run unconfined in the workspace folder, and the sandbox says why.
 */
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"

/** Where the workspace is mounted inside the sandbox (and the command's working folder). */
export const SANDBOX_WORKSPACE = "/workspace"

/** `auto` (default): bubblewrap when it runs here; `bubblewrap`: required; `none`: unconfined. */
export type SandboxMode = "auto" | "bubblewrap" | "none"

export interface Sandbox {
  readonly kind: "bubblewrap" | "none"
  /** Why commands are not confined (with `kind: "none"`). */
  readonly reason?: string
  /**
   * What to execute for `executable` with `args` in `workspace` (a real path): the program, its
   * arguments and its working folder. `hidden` files of the workspace read as empty.
   */
  readonly command: (
    executable: string,
    args: ReadonlyArray<string>,
    workspace: string,
    hidden: ReadonlyArray<string>
  ) => { readonly file: string; readonly args: ReadonlyArray<string>; readonly cwd: string }
}

/** The system folders a program and its libraries live in, as this machine lays them out. */
const SYSTEM_FOLDERS = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"]
/** Read by the dynamic loader and by programs installed as alternatives; secrets are elsewhere. */
const SYSTEM_FILES = ["/etc/ld.so.cache", "/etc/alternatives"]

const systemMounts = (): Array<string> =>
  SYSTEM_FOLDERS.flatMap((folder) => {
    const stat = fs.lstatSync(folder, { throwIfNoEntry: false })
    if (stat?.isSymbolicLink()) return ["--symlink", fs.readlinkSync(folder), folder]
    return stat?.isDirectory() ? ["--ro-bind", folder, folder] : []
  }).concat(SYSTEM_FILES.flatMap((file) => ["--ro-bind-try", file, file]))

const isUnder = (file: string, folder: string) => file === folder || file.startsWith(`${folder}/`)

/** The program file `name` names, looked up on the engine's PATH as `execFile` would. */
const onPath = (name: string): string | undefined => {
  if (name.includes("/")) return path.resolve(name)
  for (const folder of (process.env["PATH"] ?? "/usr/bin:/bin").split(path.delimiter)) {
    const candidate = path.join(folder, name)
    try {
      fs.accessSync(candidate, fs.constants.X_OK)
      return candidate
    } catch {
      // not here
    }
  }
  return undefined
}

const bubblewrap = (bwrap: string): Sandbox => {
  const mounts = systemMounts()
  return {
    kind: "bubblewrap",
    command: (executable, args, workspace, hidden) => {
      // The host's program, by its real path, so a command installed outside /usr runs too.
      const program = onPath(executable)
      const real = program && fs.realpathSync(program)
      const own =
        real && !SYSTEM_FOLDERS.some((folder) => isUnder(real, folder)) ? ["--ro-bind", real, real] : []
      return {
        file: bwrap,
        cwd: workspace,
        // prettier-ignore
        args: [
          "--unshare-all",
          "--die-with-parent",
          "--new-session",
          "--clearenv",
          "--setenv", "PATH", "/usr/bin:/bin",
          "--setenv", "LANG", "C.UTF-8",
          "--setenv", "HOME", SANDBOX_WORKSPACE,
          ...mounts,
          ...own,
          "--proc", "/proc",
          "--dev", "/dev",
          "--tmpfs", "/tmp",
          "--bind", workspace, SANDBOX_WORKSPACE,
          ...hidden.flatMap((name) => ["--ro-bind", "/dev/null", path.posix.join(SANDBOX_WORKSPACE, name)]),
          "--chdir", SANDBOX_WORKSPACE,
          "--",
          real ?? executable,
          ...args
        ]
      }
    }
  }
}

const unconfined = (reason: string): Sandbox => ({
  kind: "none",
  reason,
  command: (executable, args, workspace) => ({ file: executable, args, cwd: workspace })
})

/** Runs `true` in the sandbox: bubblewrap may be installed and still refused by the kernel. */
const works = (sandbox: Sandbox, probeFolder: string) =>
  new Promise<string | undefined>((resolve) => {
    const { file, args, cwd } = sandbox.command("true", [], probeFolder, [])
    execFile(file, [...args], { cwd, timeout: 10_000 }, (error, _stdout, stderr) =>
      resolve(error ? `bubblewrap does not run here: ${stderr.trim() || error.message}` : undefined)
    )
  })

/**
 * The sandbox `mode` asks for, checked to work here (in `probeFolder`, an existing folder).
 * With `bubblewrap` it rejects, naming why, when bubblewrap cannot confine commands; with
 * `auto` it falls back to unconfined commands and gives the reason.
 *
 * @example const sandbox = await makeSandbox("auto", "/data/workspaces"); console.log(sandbox.kind)
 */
export const makeSandbox = async (mode: SandboxMode, probeFolder: string): Promise<Sandbox> => {
  if (mode === "none") return unconfined("confinement is turned off (sandbox: none)")
  const bwrap = onPath("bwrap")
  const problem =
    process.platform !== "linux"
      ? `bubblewrap runs on Linux only, not ${process.platform}`
      : bwrap === undefined
        ? "bubblewrap (bwrap) is not installed"
        : await works(bubblewrap(bwrap), probeFolder)
  if (problem === undefined) return bubblewrap(bwrap!)
  if (mode === "bubblewrap") throw new Error(`commands cannot be confined: ${problem}`)
  return unconfined(problem)
}
