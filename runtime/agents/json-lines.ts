/**
 * Append-only JSON-lines ledgers, read back oldest first. A line that does not parse is
 * skipped: it can only be the last one, torn by a process that died while appending it, and
 * the call it belonged to is retried anyway.
 */
import * as fs from "node:fs"
import { StringDecoder } from "node:string_decoder"

const parseLine = <A>(line: string, each: (record: A) => void) => {
  if (line.trim() === "") return
  try {
    each(JSON.parse(line) as A)
  } catch {
    // torn line (see above)
  }
}

/** The records of a ledger's text, oldest first. */
export const parseJsonLines = <A>(text: string): Array<A> => {
  const records: Array<A> = []
  for (const line of text.split("\n")) parseLine<A>(line, (record) => records.push(record))
  return records
}

const CHUNK_BYTES = 64 * 1024

/**
 * Calls `each` with every record of the ledger `file`, oldest first, reading it a chunk at a
 * time (a long ledger is never held whole); a missing file has none. Other read errors throw.
 *
 * @example forEachJsonLine<Call>("calls.jsonl", (call) => void total++)
 */
export const forEachJsonLine = <A>(file: string, each: (record: A) => void): void => {
  let fd: number
  try {
    fd = fs.openSync(file, "r")
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return
    throw error
  }
  try {
    // Decodes across chunk boundaries: a character may fall in two reads.
    const decoder = new StringDecoder("utf8")
    const buffer = Buffer.alloc(CHUNK_BYTES)
    let rest = ""
    for (let read = fs.readSync(fd, buffer); read > 0; read = fs.readSync(fd, buffer)) {
      const lines = (rest + decoder.write(buffer.subarray(0, read))).split("\n")
      rest = lines.pop()!
      for (const line of lines) parseLine(line, each)
    }
    parseLine(rest + decoder.end(), each)
  } finally {
    fs.closeSync(fd)
  }
}
