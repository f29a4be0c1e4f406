/** Durations in example inputs: strings Effect's `Duration` reads, checked at the boundary. */
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"

/** A duration Effect can read: `"7 days"`, `"90 minutes"`, `"500 millis"`. */
export const DurationString = Schema.String.pipe(
  Schema.filter((s) => Option.isSome(Duration.decodeUnknown(s)), {
    message: (issue) =>
      `expected a duration such as "7 days", "2 hours", "30 seconds" or "500 millis", got ${JSON.stringify(issue.actual)}`
  })
)

/** The milliseconds of a duration string the schema above accepted; throws `RangeError` for another. */
export const durationMillis = (duration: string): number => {
  const decoded = Duration.decodeUnknown(duration)
  if (Option.isNone(decoded)) throw new RangeError(`not a duration: ${JSON.stringify(duration)}`)
  return Duration.toMillis(decoded.value)
}
