/**
 * Activities on the engine's side: what an implementation receives (`activity.ts`), the
 * executor that runs attempts with retries, timeouts and heartbeats (`executor.ts`), the retry
 * policy in closed form (`retry-policy.ts`), and the open activities a history leaves
 * (`open-activities.ts`), which recovery dispatches again.
 *
 * Where flow control lands: an attempt takes a slot in `executor.ts` (`enqueue`); a queue with
 * its own concurrency, rate limit or priority decides there when a due task starts.
 */
export {
  implement,
  NonRetryableError,
  type ActivityContext,
  type ActivityImplementation,
  type RegisteredActivity
} from "./activity"
export {
  attemptError,
  makeActivityExecutor,
  type ActivityExecutor,
  type ActivityOutcome,
  type ActivityTask,
  type ExecutorCallbacks
} from "./executor"
export { activityTask, OpenActivities } from "./open-activities"
export { nextRetryDelay, resolvePolicy, type ResolvedPolicy } from "./retry-policy"
