/**
 * TestClock with the limit of Effect's real clock: that clock sleeps with setTimeout, and
 * treats a sleep longer than setTimeout's 2^31−1 ms (24.8 days) as one that never ends.
 * TestClock has no such limit, so a test of long timers on it alone would pass where the
 * real clock never wakes.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import { MAX_TIMER_MILLIS } from "../../runtime/long-sleeps"

/**
 * Runs `effect` (and what it forks) on the TestClock as the real clock would sleep on it;
 * `TestClock.adjust` inside still moves it.
 */
export const withTimerLimit = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.flatMap(TestClock.testClock(), (testClock) => {
    // The TestClock itself underneath (TestClock.adjust looks it up as the Clock), but for sleep.
    const limited: TestClock.TestClock = Object.create(testClock)
    limited.sleep = (duration) =>
      Duration.toMillis(Duration.decode(duration)) > MAX_TIMER_MILLIS
        ? Effect.never
        : testClock.sleep(duration)
    return Effect.withClock(effect, limited)
  })
