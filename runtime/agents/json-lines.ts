/**
 * The records of an append-only JSON-lines ledger, oldest first. A line that does not parse is
 * skipped: it can only be the last one, torn by a process that died while appending it, and
 * the call it belonged to is retried anyway.
 */
export const parseJsonLines = <A>(text: string): Array<A> => {
  const records: Array<A> = []
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue
    try {
      records.push(JSON.parse(line) as A)
    } catch {
      // torn line (see above)
    }
  }
  return records
}
