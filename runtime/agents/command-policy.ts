/**
 * Which commands the workspace tools run, and how each one's arguments are checked: the
 * allow-list of workspace-tools.ts's invariant 2.
 */
import { NonRetryableError } from "../activities"

/** How one allow-listed command's arguments are checked. */
export interface CommandSpec {
  /**
   * `paths`: arguments are options from `options` or paths that must stay in the workspace;
   * `text`: any arguments (the command touches no files, e.g. `echo`);
   * `exact`: only the argument lists in `exact` (e.g. `node --version`, never `node -e`).
   */
  readonly args: "paths" | "text" | "exact"
  readonly options?: ReadonlyArray<string>
  readonly exact?: ReadonlyArray<ReadonlyArray<string>>
  /** The program to run, when not the command's name looked up on PATH. */
  readonly executable?: string
}

export type CommandAllowList = Readonly<Record<string, CommandSpec>>

/** `ls`, `cat`, `echo`, `wc` and `node --version`: commands that read the workspace and change nothing. */
export const defaultCommands: CommandAllowList = {
  ls: { args: "paths", options: ["-l", "-a", "-1", "-R", "-h", "-la", "-al", "-lh", "-lah"] },
  cat: { args: "paths", options: ["-n"] },
  echo: { args: "text" },
  wc: { args: "paths", options: ["-l", "-w", "-c", "-m"] },
  // The running node, whatever PATH says; only asked for its version, since `node -e` runs anything.
  node: { args: "exact", exact: [["--version"]], executable: process.execPath }
}

/**
 * The arguments to run `command` with, checked against its spec: each path argument as
 * `resolvePath` resolves it in the workspace (invariant 1 of workspace-tools.ts). Refusals are
 * `NonRetryableError`s naming the argument.
 */
export const checkCommandArgs = async (
  command: string,
  spec: CommandSpec,
  args: ReadonlyArray<string>,
  resolvePath: (tool: string, requested: string) => Promise<{ readonly relative: string }>
): Promise<ReadonlyArray<string>> => {
  if (args.some((a) => a.includes("\0")))
    throw new NonRetryableError({ message: `run_command: an argument of ${command} holds a NUL byte` })
  switch (spec.args) {
    case "text":
      return args
    case "exact": {
      const allowed = spec.exact ?? []
      if (!allowed.some((list) => list.length === args.length && list.every((a, i) => a === args[i])))
        throw new NonRetryableError({
          message:
            `run_command: ${command} may only run as ${allowed.map((l) => `"${[command, ...l].join(" ")}"`).join(" or ")}, ` +
            `not "${[command, ...args].join(" ")}"`
        })
      return args
    }
    case "paths": {
      const resolved: Array<string> = []
      for (const arg of args) {
        if (arg.startsWith("-")) {
          if (!(spec.options ?? []).includes(arg))
            throw new NonRetryableError({
              message: `run_command: option "${arg}" of ${command} is not allowed (allowed: ${(spec.options ?? []).join(" ") || "none"})`
            })
          resolved.push(arg)
        } else {
          const { relative } = await resolvePath(`run_command ${command}`, arg)
          // A file named "-x" is a path, not an option.
          resolved.push(relative.startsWith("-") ? `./${relative}` : relative)
        }
      }
      return resolved
    }
  }
}
