/**
 * Sleeps of any length. Effect's clock sleeps with setTimeout, whose longest delay is 2^31−1
 * ms (24.8 days), and treats a longer sleep as one that never ends: a 30-day timer, retry
 * delay or start-to-close timeout would never fire. The engine runs on `longSleeps(clock)`,
 * which sleeps a long duration in steps the clock can take, reading the time after each.
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"

/** The longest sleep Effect's clock takes as given (setTimeout's limit). */
export const MAX_TIMER_MILLIS = 2 ** 31 - 1

/** `clock`, its time as is, with `sleep` in place of its own. */
const withSleep = (
  clock: Clock.Clock,
  sleep: (duration: Duration.Duration) => Effect.Effect<void>
): Clock.Clock => ({
  [Clock.ClockTypeId]: Clock.ClockTypeId,
  unsafeCurrentTimeMillis: () => clock.unsafeCurrentTimeMillis(),
  currentTimeMillis: clock.currentTimeMillis,
  unsafeCurrentTimeNanos: () => clock.unsafeCurrentTimeNanos(),
  currentTimeNanos: clock.currentTimeNanos,
  sleep
})

/**
 * `clock` with sleeps of any finite length: one longer than the clock can take is slept in
 * steps of at most `MAX_TIMER_MILLIS`, until the clock's time reaches its end. An infinite
 * duration still never ends.
 *
 * @example Effect.withClock(program, longSleeps(clock)) // Effect.sleep("365 days") inside wakes on time
 */
export const longSleeps = (clock: Clock.Clock): Clock.Clock => {
  const sleepUntil = (end: number): Effect.Effect<void> =>
    Effect.suspend(() => {
      const left = end - clock.unsafeCurrentTimeMillis()
      if (left <= MAX_TIMER_MILLIS) return clock.sleep(Duration.millis(Math.max(0, left)))
      return Effect.zipRight(clock.sleep(Duration.millis(MAX_TIMER_MILLIS)), sleepUntil(end))
    })
  return withSleep(clock, (duration) => {
    const millis = Duration.toMillis(duration)
    return millis <= MAX_TIMER_MILLIS || !Number.isFinite(millis)
      ? clock.sleep(duration)
      : sleepUntil(clock.unsafeCurrentTimeMillis() + millis)
  })
}
