/**
 * The folder name of each workflow's workspace: injective, and never a way out of the root
 * (invariant 5 of workspace-tools.ts).
 */
import { createHash } from "node:crypto"

const PLAIN_ID = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}$/
/** What every encoded name ends with (a plain id that does too is encoded as well). */
const ENCODED_SUFFIX = /-[0-9a-f]{32}$/

/**
 * The folder name of a workflow's workspace (invariant 5): the id itself when it is a plain
 * name, else a cleaned name plus 128 bits of a hash of the id, so `a/b`, `..` or `.x` can
 * neither escape the root nor collide with each other, with a plain id or with files kept at
 * the root. Names differ for different ids (up to a SHA-256 collision): the hash is of the
 * id's UTF-16 code units, so even ids holding lone surrogates stay apart.
 *
 * @example workspaceDirName("agent-1") // "agent-1"; workspaceDirName("team/a") // "team_a-<32 hex>"
 */
export const workspaceDirName = (workflowId: string): string =>
  PLAIN_ID.test(workflowId) && !ENCODED_SUFFIX.test(workflowId)
    ? workflowId
    : `${cleanName(workflowId)}-${sha256(Buffer.from(workflowId, "utf16le")).slice(0, 32)}`

/**
 * The name versions before 0.2 gave a non-plain id: a 40-bit hash, which a plain id could
 * equal (`team/a` and `team_a-65f838a2fb` shared a folder). A workspace under it is adopted
 * by the id its ledger shows it belongs to (see `Workspace.base`).
 */
export const legacyDirName = (workflowId: string): string =>
  PLAIN_ID.test(workflowId) ? workflowId : `${cleanName(workflowId)}-${sha256(workflowId).slice(0, 10)}`

const cleanName = (workflowId: string): string =>
  workflowId
    .replace(/[^A-Za-z0-9._-]+/g, "_")
    .replace(/^[.]+/, "_")
    .slice(0, 80)

/** The SHA-256 of `data` in hex. */
export const sha256 = (data: string | Buffer): string => createHash("sha256").update(data).digest("hex")
