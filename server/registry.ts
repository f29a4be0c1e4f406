/**
 * The workflows and activities a server registers (and `replay` replays against): a module
 * exporting
 *
 * - `workflows`: the workflow definitions;
 * - `activities`: the activity implementations, or a function of the {@link RegistryConfig}
 *   returning them (so they can put their files under the data folder and read the env);
 * - optionally `banner`: a line (or a function of the config returning one) the server
 *   prints under its start line, e.g. which LLM provider the activities use.
 *
 * The default is the examples' registry, `examples/registry.ts`.
 */
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import { existsSync } from "node:fs"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import type { WorkflowDefinition } from "../core"
import type { RegisteredActivity } from "../runtime"

export const repoRoot = path.resolve(import.meta.dirname, "..")
export const DEFAULT_REGISTRY = path.join(repoRoot, "examples", "registry.ts")

export interface RegistryConfig {
  /** The folder holding the database; activities keep their own files under it. */
  readonly dataDir: string
  readonly dbPath: string
  readonly env: Readonly<Record<string, string | undefined>>
}

export interface Registry {
  readonly modulePath: string
  readonly workflows: ReadonlyArray<WorkflowDefinition<any, any>>
  readonly activities: ReadonlyArray<RegisteredActivity>
  readonly banner: string | undefined
}

/** The registry module could not be loaded or does not have the expected exports. */
export class RegistryError extends Data.TaggedError("RegistryError")<{
  readonly modulePath: string
  readonly message: string
  readonly cause?: unknown
}> {}

type Exported<A> = A | ((config: RegistryConfig) => A | Promise<A>)

const resolveExport = async <A>(
  value: Exported<A> | undefined,
  config: RegistryConfig
): Promise<A | undefined> =>
  typeof value === "function" ? await (value as (config: RegistryConfig) => A | Promise<A>)(config) : value

const isDefinition = (value: unknown): value is WorkflowDefinition<any, any> =>
  typeof value === "object" && value !== null && (value as { _tag?: unknown })._tag === "WorkflowDefinition"

/**
 * Imports the registry module and resolves its exports. Fails with a `RegistryError` naming
 * the module and what is missing or what threw. `workflowsOnly` skips the activities (and
 * the banner): what `replay` needs, without setting up anything the activities would.
 */
export const loadRegistry = (
  modulePath: string,
  config: RegistryConfig,
  options: { readonly workflowsOnly?: boolean } = {}
): Effect.Effect<Registry, RegistryError> => {
  const file = path.resolve(modulePath)
  const fail = (message: string, cause?: unknown) => new RegistryError({ modulePath: file, message, cause })
  return Effect.gen(function* () {
    if (!existsSync(file)) return yield* Effect.fail(fail(`no registry module at ${file}`))
    const mod = yield* Effect.tryPromise({
      try: () => import(pathToFileURL(file).href) as Promise<Record<string, unknown>>,
      catch: (e) =>
        fail(`the registry module failed to load: ${e instanceof Error ? e.message : String(e)}`, e)
    })
    const workflows = mod["workflows"]
    if (!Array.isArray(workflows) || !workflows.every(isDefinition)) {
      return yield* Effect.fail(
        fail("the registry module must export `workflows`: an array of workflow definitions")
      )
    }
    if (options.workflowsOnly) return { modulePath: file, workflows, activities: [], banner: undefined }
    const resolved = yield* Effect.tryPromise({
      try: async () => ({
        activities:
          (await resolveExport(
            mod["activities"] as Exported<ReadonlyArray<RegisteredActivity>> | undefined,
            config
          )) ?? [],
        banner: await resolveExport(mod["banner"] as Exported<string> | undefined, config)
      }),
      catch: (e) =>
        fail(
          `the registry's activities could not be set up: ${e instanceof Error ? e.message : String(e)}`,
          e
        )
    })
    if (!Array.isArray(resolved.activities)) {
      return yield* Effect.fail(
        fail("`activities` must be an array of registered activities or a function returning one")
      )
    }
    return {
      modulePath: file,
      workflows,
      activities: resolved.activities,
      banner: typeof resolved.banner === "string" ? resolved.banner : undefined
    }
  })
}
