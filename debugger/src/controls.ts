/**
 * The page as a web client: start a workflow of a registered type with a JSON input (checked
 * against the type's schema first), and for the open workflow send a signal, run a query or
 * cancel it. Each form shows the API's answer or its error.
 */
import type { ApiResult, ServerApi, WorkflowTypeInfo } from "./server-api"
import { h, json, render } from "./dom"
import { checkJson } from "./json-schema-check"

export interface Controls {
  /** The workflow the signal/query/cancel forms act on (a server workflow), with its known signal and query names. */
  setTarget(target: Target | undefined): void
  /** Asks the server for its workflow types; answers their names (the bundled ones when it has none). */
  refreshTypes(): Promise<ReadonlyArray<string>>
}

export interface Target {
  readonly id: string
  readonly type: string
  readonly signals: ReadonlyArray<string>
  readonly queries: ReadonlyArray<string>
}

const parseJson = (text: string): { ok: true; value: unknown } | { ok: false; message: string } => {
  if (text.trim() === "") return { ok: true, value: undefined }
  try {
    return { ok: true, value: JSON.parse(text) }
  } catch (error) {
    return { ok: false, message: `invalid JSON: ${(error as Error).message}` }
  }
}

/** What the page knows of a type: the server's description, or just a name bundled here. */
type KnownType = Pick<WorkflowTypeInfo, "name"> & Partial<WorkflowTypeInfo>

const signalSchema = (type: KnownType | undefined, name: string): unknown =>
  type?.signals?.find((s) => s.name === name)?.schema ?? undefined

export const createControls = (
  host: HTMLElement,
  api: ServerApi,
  options: { readonly localTypes: ReadonlyArray<string>; readonly onStarted: (id: string) => void }
): Controls => {
  let types: ReadonlyArray<KnownType> = options.localTypes.map((name) => ({ name }))
  let target: Target | undefined

  /** Shows an answer in `out`, or clears it (undefined). */
  const show = (
    out: HTMLElement,
    result: ApiResult<unknown> | { ok: false; error: { message: string } } | undefined
  ) => {
    out.className = `control-output${result === undefined ? "" : result.ok ? " ok" : " error"}`
    out.textContent =
      result === undefined
        ? ""
        : result.ok
          ? `${result.status} ${json(result.value)}`
          : `${"status" in result && result.status ? `${result.status} ` : ""}${"code" in result.error ? `${result.error.code}: ` : ""}${result.error.message}`
  }

  // -- start
  const typeSelect = h("select", { name: "type", "aria-label": "workflow type", "data-testid": "start-type" })
  const startId = h("input", { name: "id", placeholder: "id (optional)", "aria-label": "workflow id" })
  const startInput = h("textarea", {
    name: "input",
    rows: 4,
    placeholder: '{ "code": "…" }',
    "aria-label": "input JSON",
    "data-testid": "start-input"
  })
  const startOut = h("pre", { class: "control-output", "data-testid": "start-output" })
  const startForm = h(
    "form",
    {
      class: "control",
      onsubmit: async (e: Event) => {
        e.preventDefault()
        const input = parseJson(startInput.value)
        if (!input.ok) return show(startOut, { ok: false, error: { message: input.message } })
        const type = types.find((t) => t.name === typeSelect.value)
        const problem = type?.inputSchema === undefined ? undefined : checkJson(type.inputSchema, input.value)
        if (problem) return show(startOut, { ok: false, error: { message: `not sent: ${problem}` } })
        const result = await api.start({
          type: typeSelect.value,
          input: input.value,
          ...(startId.value ? { id: startId.value } : {})
        })
        show(startOut, result)
        const id = result.ok ? (result.value as { id?: unknown }).id : undefined
        if (typeof id === "string") options.onStarted(id)
      }
    },
    h("h4", {}, "Start a workflow"),
    typeSelect,
    startId,
    startInput,
    h("button", { type: "submit" }, "Start"),
    startOut
  )

  // -- signal, query, cancel on the open workflow
  const signalList = h("datalist", { id: "signal-names" })
  const queryList = h("datalist", { id: "query-names" })
  const signalName = h("input", {
    name: "signalName",
    list: "signal-names",
    placeholder: "signal name",
    "aria-label": "signal name",
    "data-testid": "signal-name"
  })
  const signalData = h("textarea", {
    name: "data",
    rows: 3,
    placeholder: "payload JSON",
    "aria-label": "signal payload",
    "data-testid": "signal-data"
  })
  const signalOut = h("pre", { class: "control-output", "data-testid": "signal-output" })
  const queryName = h("input", {
    name: "query",
    list: "query-names",
    placeholder: "query name",
    "aria-label": "query name",
    "data-testid": "query-name"
  })
  const queryArgs = h("input", {
    name: "args",
    placeholder: "argument JSON (optional)",
    "aria-label": "query argument",
    "data-testid": "query-args"
  })
  const queryOut = h("pre", { class: "control-output", "data-testid": "query-output" })
  const cancelOut = h("pre", { class: "control-output", "data-testid": "cancel-output" })
  const targetLabel = h("p", { class: "muted" })

  const signalForm = h(
    "form",
    {
      class: "control",
      onsubmit: async (e: Event) => {
        e.preventDefault()
        if (!target) return
        const data = parseJson(signalData.value)
        if (!data.ok) return show(signalOut, { ok: false, error: { message: data.message } })
        const schema = signalSchema(
          types.find((t) => t.name === target!.type),
          signalName.value
        )
        const problem = schema === undefined ? undefined : checkJson(schema, data.value)
        if (problem) return show(signalOut, { ok: false, error: { message: `not sent: ${problem}` } })
        show(signalOut, await api.signal(target.id, signalName.value, data.value))
      }
    },
    h("h4", {}, "Signal"),
    signalName,
    signalData,
    h("button", { type: "submit" }, "Send signal"),
    signalOut
  )
  const queryForm = h(
    "form",
    {
      class: "control",
      onsubmit: async (e: Event) => {
        e.preventDefault()
        if (!target) return
        const args = parseJson(queryArgs.value)
        if (!args.ok) return show(queryOut, { ok: false, error: { message: args.message } })
        show(queryOut, await api.query(target.id, queryName.value, args.value))
      }
    },
    h("h4", {}, "Query (live)"),
    queryName,
    queryArgs,
    h("button", { type: "submit" }, "Run query"),
    queryOut
  )
  const cancelForm = h(
    "form",
    {
      class: "control",
      onsubmit: async (e: Event) => {
        e.preventDefault()
        if (target && confirm(`Cancel workflow ${target.id}?`)) show(cancelOut, await api.cancel(target.id))
      }
    },
    h("h4", {}, "Cancel"),
    h("button", { type: "submit", class: "danger" }, "Cancel workflow"),
    cancelOut
  )
  const targetForms = h(
    "div",
    { class: "target-forms" },
    targetLabel,
    signalForm,
    queryForm,
    cancelForm,
    signalList,
    queryList
  )

  render(host, startForm, targetForms)

  const renderTypes = () => {
    const current = typeSelect.value
    render(
      typeSelect,
      types.map((t) => h("option", { value: t.name }, t.name))
    )
    if (types.some((t) => t.name === current)) typeSelect.value = current
  }
  renderTypes()

  const controls: Controls = {
    setTarget(next) {
      // Another workflow's forms start empty: a signal or query typed for one is not the next's.
      if (next?.id !== target?.id) {
        for (const field of [signalName, signalData, queryName, queryArgs]) field.value = ""
        for (const out of [signalOut, queryOut, cancelOut]) show(out, undefined)
      }
      target = next
      for (const form of [signalForm, queryForm, cancelForm]) {
        for (const el of form.querySelectorAll<HTMLButtonElement | HTMLInputElement | HTMLTextAreaElement>(
          "button, input, textarea"
        )) {
          el.disabled = !next
        }
      }
      targetLabel.textContent = next
        ? `Acting on workflow ${next.id}`
        : "Open a workflow from the server to signal, query or cancel it."
      const type = types.find((t) => t.name === next?.type)
      const signals = new Set([...(next?.signals ?? []), ...(type?.signals ?? []).map((s) => s.name)])
      const queries = new Set([...(next?.queries ?? []), ...(type?.queries ?? [])])
      render(
        signalList,
        [...signals].map((n) => h("option", { value: n }))
      )
      render(
        queryList,
        [...queries].map((n) => h("option", { value: n }))
      )
    },
    async refreshTypes() {
      const result = await api.workflowTypes()
      if (result.ok && result.value.length > 0) {
        types = result.value
        renderTypes()
        if (target) controls.setTarget(target)
      }
      return types.map((t) => t.name)
    }
  }
  controls.setTarget(undefined)
  return controls
}
