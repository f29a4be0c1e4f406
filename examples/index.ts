/**
 * The example workflows: what `npm start` registers and the debugger bundles.
 *
 * Browser-safe: this module and everything it imports use `effect`, `core/` and `agents/`
 * only. The activity implementations the server registers with them are in
 * `examples/activities.ts` (Node).
 */
import type { WorkflowDefinition } from "../core"
import { agentTask } from "./agent-task"
import { bookTrip } from "./book-trip"
import { codeReview } from "./code-review"
import { codingAgent } from "./coding-agent"
import { fanOutFanIn } from "./fan-out-fan-in"
import { monitor } from "./monitor"
import { multiAgent } from "./multi-agent"

export * from "./agent-task"
export * from "./book-trip"
export * from "./code-review"
export * from "./coding-agent"
export * from "./fan-out-fan-in"
export * from "./monitor"
export * from "./multi-agent"
export { DurationString, durationMillis } from "./duration"

/** Every example workflow, `agentTask` (the child of `multiAgent`) included. */
export const workflows: WorkflowDefinition[] = [
  codeReview,
  multiAgent,
  agentTask,
  codingAgent,
  fanOutFanIn,
  monitor,
  bookTrip
]
