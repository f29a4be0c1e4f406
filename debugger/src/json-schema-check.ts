/**
 * A small JSON-schema check for the start form, so an input is checked against the type's
 * schema before it is sent (the server checks again and has the last word). Covers what
 * Effect's JSONSchema emits for plain structs: type, properties, required, items, enum, const,
 * anyOf, $ref to $defs. Returns the first problem, naming the field.
 */
type Schema = Record<string, any>

export const checkJson = (schema: unknown, value: unknown): string | undefined => {
  if (typeof schema !== "object" || schema === null) return undefined
  const root = schema as Schema
  const check = (s: Schema, v: unknown, path: string): string | undefined => {
    if (typeof s.$ref === "string") {
      const target = s.$ref.replace(/^#\/(\$defs|definitions)\//, "")
      const def = root.$defs?.[target] ?? root.definitions?.[target]
      return def ? check(def, v, path) : undefined
    }
    const where = path || "input"
    if (Array.isArray(s.anyOf)) {
      return s.anyOf.some((alt: Schema) => check(alt, v, path) === undefined)
        ? undefined
        : `${where}: matches none of the allowed forms`
    }
    if ("const" in s && JSON.stringify(s.const) !== JSON.stringify(v))
      return `${where}: expected ${JSON.stringify(s.const)}`
    if (Array.isArray(s.enum) && !s.enum.some((e: unknown) => JSON.stringify(e) === JSON.stringify(v))) {
      return `${where}: expected one of ${s.enum.map((e: unknown) => JSON.stringify(e)).join(", ")}`
    }
    const types: Array<string> = s.type === undefined ? [] : Array.isArray(s.type) ? s.type : [s.type]
    if (types.length > 0 && !types.some((t) => is(t, v)))
      return `${where}: expected ${types.join(" or ")}, got ${kind(v)}`
    if (is("object", v)) {
      const obj = v as Record<string, unknown>
      for (const key of s.required ?? [])
        if (!(key in obj)) return `${path ? `${path}.` : ""}${key}: is missing`
      for (const [key, sub] of Object.entries<Schema>(s.properties ?? {})) {
        if (key in obj) {
          const problem = check(sub, obj[key], path ? `${path}.${key}` : key)
          if (problem) return problem
        }
      }
    }
    if (Array.isArray(v) && s.items && typeof s.items === "object") {
      for (let i = 0; i < v.length; i++) {
        const problem = check(s.items, v[i], `${where}[${i}]`)
        if (problem) return problem
      }
    }
    return undefined
  }
  return check(root, value, "")
}

const kind = (v: unknown) => (v === null ? "null" : Array.isArray(v) ? "array" : typeof v)
const is = (t: string, v: unknown): boolean =>
  t === "integer"
    ? Number.isInteger(v)
    : t === "array"
      ? Array.isArray(v)
      : t === "null"
        ? v === null
        : t === "object"
          ? kind(v) === "object"
          : typeof v === t
