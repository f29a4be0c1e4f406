/**
 * `fanOutFanIn`: one activity per item, all running at once (`all`), then one aggregate.
 *
 * The pattern behind batch jobs: every item's activity is scheduled in the same workflow
 * step, the engine runs them in parallel, and the workflow resumes once all are recorded. If
 * one fails after its retries, `all` cancels the others and the workflow fails with it (use
 * `allSettled`, as `multiAgent` does, to keep the rest).
 */
import * as Schema from "effect/Schema"
import { activity, all, workflow, type Descriptor } from "../core"

/** More items than this is refused at the boundary. */
export const MAX_ITEMS = 100

export const FanOutFanInInput = Schema.Struct({
  /** The texts to analyse, one activity each. */
  items: Schema.Array(Schema.String).pipe(Schema.minItems(1), Schema.maxItems(MAX_ITEMS))
}).annotations({ examples: [{ items: ["durable execution", "for AI agents", "on one SQLite file"] }] })
export type FanOutFanInInput = typeof FanOutFanInInput.Type

export const TextStats = Schema.Struct({
  item: Schema.String,
  words: Schema.Number,
  characters: Schema.Number
})
export type TextStats = typeof TextStats.Type

/** Counts the words and characters of one text. */
export const analyzeText = activity("analyzeText", {
  input: Schema.String,
  output: TextStats,
  retry: { initialInterval: "200 millis", maximumAttempts: 3 },
  timeout: "30 seconds"
})

export const FanOutFanInResult = Schema.Struct({
  items: Schema.Number,
  words: Schema.Number,
  characters: Schema.Number,
  /** The item with the most words (the first, on a tie). */
  longest: Schema.String,
  perItem: Schema.Array(TextStats)
})
export type FanOutFanInResult = typeof FanOutFanInResult.Type

/**
 * Analyses every item in parallel and sums the counts.
 *
 * @example // POST /api/workflows {"type":"fanOutFanIn","input":{"items":["a b","c d e"]}}
 */
export const fanOutFanIn = workflow(
  "fanOutFanIn",
  { input: FanOutFanInInput, output: FanOutFanInResult },
  function* ({ items }): Generator<Descriptor, FanOutFanInResult, any> {
    const perItem = yield* all(items.map((item) => analyzeText(item)))
    const longest = perItem.reduce((best, s) => (s.words > best.words ? s : best))
    return {
      items: perItem.length,
      words: perItem.reduce((sum, s) => sum + s.words, 0),
      characters: perItem.reduce((sum, s) => sum + s.characters, 0),
      longest: longest.item,
      perItem
    }
  }
)
