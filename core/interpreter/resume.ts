/** How a fiber resumes, and what a yield gives when its fiber must wait instead. */
export type Resume =
  { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: unknown }

/** What a yield returns when its fiber waits: it resumes when something completes the wait. */
export const BLOCKED: unique symbol = Symbol("blocked")
export type Blocked = typeof BLOCKED
