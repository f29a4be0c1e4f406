/**
 * The authoring API's types: `yield*` gives each primitive's result type with no casts.
 *
 * `expectTypeOf` checks at compile time only, so the last test compiles this file with the
 * project's compiler options and fails on any diagnostic: the assertions fail under
 * `vitest run` too, not only under `npm run typecheck`.
 */
import * as Schema from "effect/Schema"
import ts from "typescript"
import { fileURLToPath } from "node:url"
import { describe, expect, expectTypeOf, it } from "vitest"
import {
  activity,
  all,
  allSettled,
  child,
  defineSignal,
  now,
  patched,
  race,
  random,
  sleep,
  startChild,
  uuid,
  waitForSignal,
  workflow,
  workflowInfo,
  type ChildHandle,
  type Settled,
  type WorkflowDefinition,
  type WorkflowInfo
} from "../../core"

const Review = Schema.Struct({ summary: Schema.String, score: Schema.Number })
const review = activity("llm.review", { input: Schema.String, output: Review })
const runTests = activity("tests", { input: Schema.String, output: Schema.Boolean })
const untyped = activity("untyped")
const Approval = defineSignal("approval", Schema.Struct({ approved: Schema.Boolean }))
const summarise = workflow("summarise", { input: Schema.String, output: Schema.Number }, function* (text) {
  return text.length
})

type Review = typeof Review.Type

describe("types of yield*", () => {
  it("compile-time assertions (checked by the last test)", () => {
    workflow("typed", { input: Schema.Struct({ code: Schema.String }) }, function* ({ code }) {
      expectTypeOf(code).toEqualTypeOf<string>()

      const analysis = yield* review(code)
      expectTypeOf(analysis).toEqualTypeOf<{ readonly summary: string; readonly score: number }>()
      // @ts-expect-error the activity's input type is checked
      review(42)
      expectTypeOf(yield* untyped()).toEqualTypeOf<unknown>()

      expectTypeOf(yield* sleep("1 hour")).toEqualTypeOf<void>()
      expectTypeOf(yield* waitForSignal(Approval)).toEqualTypeOf<{ readonly approved: boolean }>()
      expectTypeOf(yield* waitForSignal(Approval, { timeout: "7 days" })).toEqualTypeOf<
        { readonly approved: boolean } | undefined
      >()
      expectTypeOf(yield* now()).toEqualTypeOf<number>()
      expectTypeOf(yield* random()).toEqualTypeOf<number>()
      expectTypeOf(yield* uuid()).toEqualTypeOf<string>()
      expectTypeOf(yield* patched("p")).toEqualTypeOf<boolean>()
      expectTypeOf(yield* workflowInfo()).toEqualTypeOf<WorkflowInfo>()

      expectTypeOf(yield* child(summarise, "text")).toEqualTypeOf<number>()
      const handle = yield* startChild(summarise, "text")
      expectTypeOf(handle).toEqualTypeOf<ChildHandle<number>>()
      expectTypeOf(yield* handle.result()).toEqualTypeOf<number>()

      const branch = function* () {
        yield* sleep(10)
        return "from a branch" as const
      }
      const both = yield* all({ review: review(code), tests: runTests(code) })
      expectTypeOf(both).toEqualTypeOf<{ review: Review; tests: boolean }>()
      const pair = yield* all([review(code), runTests(code), branch, branch()])
      expectTypeOf(pair).toEqualTypeOf<[Review, boolean, "from a branch", "from a branch"]>()
      const settled = yield* allSettled({ review: review(code), tests: runTests(code) })
      expectTypeOf(settled).toEqualTypeOf<{ review: Settled<Review>; tests: Settled<boolean> }>()
      const settledPair = yield* allSettled([review(code), branch])
      expectTypeOf(settledPair).toEqualTypeOf<[Settled<Review>, Settled<"from a branch">]>()

      expectTypeOf(yield* race([review(code), sleep("1 minute")])).toEqualTypeOf<Review | void>()
      expectTypeOf(yield* race([runTests(code), branch])).toEqualTypeOf<boolean | "from a branch">()
      expectTypeOf(yield* race({ tests: runTests(code), branch })).toEqualTypeOf<boolean | "from a branch">()
      return analysis.score
    })

    expectTypeOf(summarise).toEqualTypeOf<WorkflowDefinition<string, number>>()
    // @ts-expect-error the body must return what the output schema says
    workflow("mistyped", { output: Schema.String }, function* () {
      return 42
    })
    // A body that never returns (it always fails) still makes a definition the engine accepts.
    const alwaysFails = workflow("alwaysFails", {}, function* () {
      yield* sleep(1)
      throw new Error("no")
    })
    const registered: ReadonlyArray<WorkflowDefinition<any, any>> = [summarise, alwaysFails]
    expectTypeOf(registered).toEqualTypeOf<ReadonlyArray<WorkflowDefinition<any, any>>>()
    // Not called: the call itself refuses an input its schema does not accept.
    // @ts-expect-error a child's input is the child workflow's input type
    void (() => child(summarise, 42))
  })

  it("the assertions of this file compile with the project's options", () => {
    const file = fileURLToPath(import.meta.url)
    const config = ts.readConfigFile(
      fileURLToPath(new URL("../../tsconfig.json", import.meta.url)),
      ts.sys.readFile
    )
    const options = ts.parseJsonConfigFileContent(
      config.config,
      ts.sys,
      fileURLToPath(new URL("../..", import.meta.url))
    ).options
    const program = ts.createProgram([file], { ...options, noEmit: true })
    const diagnostics = ts
      .getPreEmitDiagnostics(program)
      .map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"))
    expect(diagnostics).toEqual([])
    // One tsc program over the file and all it imports: 9 s on a quiet 2-core machine, 30 s and
    // more when the machine is shared; the check is the compile, not its speed.
  }, 120_000)
})
