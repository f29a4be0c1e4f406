/**
 * The SQLite commit's statements: each writes many rows at once, in chunks whose shapes are
 * few, so their prepared statements are reused.
 */
import type { Key, RunRow, TimerRow, WriteSet } from "../contract"
import { CHANGED_COLUMNS, RUN_COLUMNS, RUN_UPDATES, toRecord } from "../run-record"

const CHUNK = 256

/**
 * Splits rows into power-of-two chunks (256, 128, …, 1): multi-row statements then come in
 * a handful of shapes, so their prepared statements are reused instead of re-prepared.
 */
export const chunks = <A>(items: ReadonlyArray<A>, max = CHUNK): Array<ReadonlyArray<A>> => {
  const out: Array<ReadonlyArray<A>> = []
  let i = 0
  for (let size = max; size >= 1; size >>= 1) {
    while (items.length - i >= size) {
      out.push(items.slice(i, i + size))
      i += size
    }
  }
  return out
}

const placeholderCache = new Map<number, string>()
/** `(?, ?), (?, ?), …`: built once per shape, since chunks come in a handful of sizes. */
export const placeholders = (rows: number, columns: number) => {
  const key = rows * 1000 + columns
  let text = placeholderCache.get(key)
  if (text === undefined) {
    const row = `(${Array.from({ length: columns }, () => "?").join(", ")})`
    text = Array.from({ length: rows }, () => row).join(", ")
    placeholderCache.set(key, text)
  }
  return text
}

/**
 * A statement over many rows, in `chunks`. A commit runs several per batch: each chunk shape's
 * text is built once, and a chunk's parameters go straight into one array.
 */
class MultiRow<A> {
  private readonly texts = new Map<number, string>()
  constructor(
    /** The statement, given the placeholders of its rows. */
    private readonly text: (rows: string) => string,
    private readonly columns: number,
    private readonly bind: (row: A, params: Array<unknown>) => void,
    private readonly max = CHUNK
  ) {}

  /** What writes `rows`: the text and parameters of each chunk. */
  statements(rows: ReadonlyArray<A>): Array<readonly [string, Array<unknown>]> {
    return chunks(rows, this.max).map((chunk) => {
      const params: Array<unknown> = []
      for (const row of chunk) this.bind(row, params)
      return [this.textOf(chunk.length), params] as const
    })
  }

  private textOf(rows: number) {
    let text = this.texts.get(rows)
    if (text === undefined) this.texts.set(rows, (text = this.text(placeholders(rows, this.columns))))
    return text
  }
}

// Without INDEXED BY, SQLite's planner picks runs_listing (current = 1) and scans every
// current run for each chunk. One statement per chunk: most starts take a fresh id, and a
// statement per id cost more than all of the batch's events together.
export const retireIds = new MultiRow<string>(
  (rows) => `UPDATE runs INDEXED BY runs_current SET current = 0
    WHERE current = 1 AND workflow_id IN (${rows})
    AND status NOT IN ('running', 'stuck')`,
  1,
  (id, params) => params.push(id)
)

export const addRuns = new MultiRow<RunRow>(
  (rows) => `INSERT INTO runs (${RUN_COLUMNS.join(", ")}) VALUES ${rows}
    ON CONFLICT(run_id) DO UPDATE SET ${RUN_UPDATES.map((c) => `${c} = excluded.${c}`).join(", ")}`,
  RUN_COLUMNS.length,
  (row, params) => {
    const record = toRecord(row)
    for (const c of RUN_COLUMNS) params.push(record[c])
  },
  32
)

// Only the columns that change: an upsert rewrote every index that has one of its columns.
export const changeRuns = new MultiRow<RunRow>(
  // The flags never step back: a parent's request (a flag written by the parent's commit) is
  // not undone by a row of the child built before it arrived.
  (rows) => `UPDATE runs SET ${CHANGED_COLUMNS.map((c, i) =>
    c === "cancel_requested" || c === "parent_notified"
      ? `${c} = MAX(${c}, v.column${i + 2})`
      : `${c} = v.column${i + 2}`
  ).join(", ")}
    FROM (VALUES ${rows}) AS v WHERE runs.run_id = v.column1`,
  1 + CHANGED_COLUMNS.length,
  (row, params) => {
    const record = toRecord(row)
    params.push(record.run_id)
    for (const c of CHANGED_COLUMNS) params.push(record[c])
  },
  32
)

export const insertEvents = new MultiRow<WriteSet["events"][number]>(
  (rows) => `INSERT INTO events (run_id, seq, body) VALUES ${rows}`,
  3,
  (e, params) => params.push(e.runId, e.seq, e.body)
)

export const addTimers = new MultiRow<TimerRow>(
  (rows) => `INSERT OR REPLACE INTO timers (run_id, cmd, fire_at) VALUES ${rows}`,
  3,
  (t, params) => params.push(t.runId, t.cmd, t.fireAt)
)

export const deleteTimers = new MultiRow<Key>(
  (rows) => `DELETE FROM timers WHERE (run_id, cmd) IN (VALUES ${rows})`,
  2,
  (k, params) => params.push(k.runId, k.cmd)
)

// OR REPLACE: a segment that did not chain (a corrupt one) may hold the seq a new one takes.
export const addSnapshots = new MultiRow<WriteSet["snapshots"][number]>(
  (rows) => `INSERT OR REPLACE INTO snapshots (run_id, seq, body) VALUES ${rows}`,
  3,
  (s, params) => params.push(s.runId, s.seq, s.body),
  16
)

export const dropSnapshots = new MultiRow<string>(
  (rows) => `DELETE FROM snapshots WHERE run_id IN (${rows})`,
  1,
  (runId, params) => params.push(runId)
)
