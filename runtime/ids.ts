/**
 * Run ids (and default workflow ids) are time-ordered UUIDs (version 7 layout): they lead the
 * keys of the events, tasks and runs tables, so new rows land at the end of each B-tree
 * instead of on random pages, which keeps a group commit's page writes few.
 */
import { randomFillSync } from "node:crypto"

let lastMs = 0
let counter = 0

// One call into the CSPRNG per 256 ids: a 16-byte `randomBytes` per id was ~5% of the CPU a
// workflow start costs the engine.
const POOL_IDS = 256
const pool = Buffer.alloc(16 * POOL_IDS)
let pooled = 0

export const timeOrderedId = (): string => {
  const now = Date.now()
  if (now > lastMs) {
    lastMs = now
    counter = 0
  } else {
    counter = (counter + 1) & 0xfff
  }
  if (pooled === 0) {
    randomFillSync(pool)
    pooled = POOL_IDS
  }
  pooled--
  const bytes = pool.subarray(pooled * 16, pooled * 16 + 16)
  bytes.writeUIntBE(lastMs, 0, 6)
  bytes[6] = 0x70 | (counter >> 8)
  bytes[7] = counter & 0xff
  bytes[8] = (bytes[8]! & 0x3f) | 0x80
  const hex = bytes.toString("hex")
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}
