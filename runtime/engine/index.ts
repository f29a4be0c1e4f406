/**
 * The engine: runs workflows durably on the store. It implements `Engine` (../engine-api.ts);
 * layer.ts wires its parts, one concept a module, each with its own numbered invariants:
 * run-state.ts (a run's phase and cancel state, and their transitions), run-table.ts (the
 * open runs, current ids, children, the instance cache), task-loop.ts (the ready queue,
 * recovery's quota, the pump), workflow-task.ts (one task: inbox and history in; writes,
 * after-commit actions and acknowledgements out, with no I/O), task-commit.ts (the commit,
 * the failure reset, the readers), lineage.ts (children, continue-as-new, close, cancel
 * forwarding), recovery.ts, streams.ts, and the API (api.ts with readers.ts, results.ts,
 * listing.ts, run-views.ts).
 *
 * Engine invariants (the modules and the tests name them "engine invariant N"):
 * 1. A run's events are applied by one workflow task at a time, in the order they were
 *    appended; a task appends its events and the commands they produced in one write set.
 * 2. Nothing leaves the engine before it is durable: activities, timers, children, cancels,
 *    stream items and acknowledgements follow the commit that recorded them, and queries and
 *    descriptions read an instance only once no commit of its run is in flight. A run with
 *    readers waiting takes no new task until they are answered, so a steady stream of events
 *    cannot keep them waiting.
 * 3. Every open run is known in memory (a small row); its instance is a cache entry that can
 *    be evicted when idle and is rebuilt by replay (snapshot + tail) on its next event.
 * 4. An activity whose completion is recorded is never dispatched again; one scheduled
 *    without a recorded completion is dispatched again after a restart (at least once).
 * 5. A replay that diverges marks the run `stuck` and keeps storing what arrives for it; it
 *    is retried when the engine starts, so deploying code that matches resumes it.
 * 6. A run that closes notifies its parent in the parent's own task (the child's
 *    `parentNotified` flag is set in that same commit), and cancels its open children.
 * 7. Values are stored in their encoded form, checked where they enter (payload-validation.ts):
 *    nothing of a value refused is stored. Readers of rows get fresh copies of that form;
 *    `result` and typed queries decode it with the registered definition's schema.
 * 8. `result` waits with one entry on the run, told by the commit that closes it: no stream,
 *    no polling; a run closed before costs one read.
 */
export { EngineLive, EngineOnStore, type EngineConfig, type EngineOptions } from "./layer"
