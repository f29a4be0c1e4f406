/**
 * A value's text in a run's row (its input, its result): its JSON, or "" for `undefined`,
 * which JSON cannot write and which no JSON text is. Rows written before `undefined` was kept
 * hold "null" there and read back as null: what those runs saw.
 */

/** The row text of a value in its stored (encoded) form. */
export const toStoredText = (value: unknown): string => (value === undefined ? "" : JSON.stringify(value))

/** The stored form a row text holds: a fresh value, owned by the caller. */
export const fromStoredText = (text: string): unknown => (text === "" ? undefined : JSON.parse(text))
