/**
 * Small real file systems for the disk-full and read-only tests: a tmpfs of a few hundred KiB
 * mounted on a temp folder. Mounting needs root (CAP_SYS_ADMIN), as .ci/run has; where it is
 * refused, a test that asks for a small disk fails naming why (a skipped test proves nothing).
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

const mount = (args: ReadonlyArray<string>) => execFileSync("mount", args, { stdio: "pipe" })

/** Why small disks cannot be mounted here, or undefined when they can (probed once). */
const smallDiskUnavailable: string | undefined = (() => {
  if (process.platform !== "linux") return `not Linux (${process.platform})`
  if (process.getuid?.() !== 0) return "not running as root"
  const probe = fs.mkdtempSync(path.join(os.tmpdir(), "tl-probe-"))
  try {
    mount(["-t", "tmpfs", "-o", "size=64k", "tmpfs", probe])
    execFileSync("umount", [probe])
    return undefined
  } catch (error) {
    return `mount refused: ${(error as Error).message.split("\n")[0]}`
  } finally {
    fs.rmSync(probe, { recursive: true, force: true })
  }
})()

export interface SmallDisk {
  readonly dir: string
  /** Takes every free byte with a file of its own (another process filling the disk). */
  readonly fill: () => void
  /** Removes the filler. */
  readonly free: () => void
  /** Mounts it again read-only (nothing may have a file open on it for writing). */
  readonly makeReadOnly: () => void
}

/** A tmpfs of `size` (e.g. "1m") on a temp folder, unmounted when the scope closes. */
export const smallDisk = (size: string): Effect.Effect<SmallDisk, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => {
      if (smallDiskUnavailable !== undefined)
        throw new Error(
          `this test needs a small tmpfs, which cannot be mounted here: ${smallDiskUnavailable}`
        )
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tl-small-disk-"))
      mount(["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir])
      const filler = path.join(dir, "filler")
      return {
        dir,
        fill: () => {
          const fd = fs.openSync(filler, "a")
          const chunk = Buffer.alloc(4096, 1)
          try {
            for (;;) fs.writeSync(fd, chunk)
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code !== "ENOSPC") throw error
          } finally {
            fs.closeSync(fd)
          }
        },
        free: () => fs.rmSync(filler, { force: true }),
        makeReadOnly: () => void mount(["-o", "remount,ro", dir])
      }
    }),
    ({ dir }) =>
      Effect.sync(() => {
        execFileSync("umount", [dir])
        fs.rmSync(dir, { recursive: true, force: true })
      })
  )
