/**
 * Deterministic time and randomness for workflow code.
 *
 * While workflow code runs, `Date.now()`, `new Date()` (no arguments) and `Math.random()`
 * answer from the workflow's logical clock (the time of the event being applied) and a
 * generator seeded from its run, so a replay sees what the original run saw even when an
 * author forgot `now()` / `random()`. The real globals are restored when the step ends,
 * also when workflow code throws.
 */

/** A small, fast, seedable generator (sfc32) whose state is four 32-bit words. */
export class SeededRandom {
  private a: number
  private b: number
  private c: number
  private d: number
  constructor(seed: string) {
    // cyrb128: spreads any string over the four words of state
    let h1 = 1779033703,
      h2 = 3144134277,
      h3 = 1013904242,
      h4 = 2773480762
    for (let i = 0; i < seed.length; i++) {
      const k = seed.charCodeAt(i)
      h1 = h2 ^ Math.imul(h1 ^ k, 597399067)
      h2 = h3 ^ Math.imul(h2 ^ k, 2869860233)
      h3 = h4 ^ Math.imul(h3 ^ k, 951274213)
      h4 = h1 ^ Math.imul(h4 ^ k, 2716044179)
    }
    h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067)
    h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233)
    h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213)
    h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179)
    this.a = (h1 ^ h2 ^ h3 ^ h4) >>> 0
    this.b = (h2 ^ h1) >>> 0
    this.c = (h3 ^ h1) >>> 0
    this.d = (h4 ^ h1) >>> 0
  }
  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0
    this.d = (this.d + 1) | 0
    this.a = this.b ^ (this.b >>> 9)
    this.b = (this.c + (this.c << 3)) | 0
    this.c = (this.c << 21) | (this.c >>> 11)
    this.c = (this.c + t) | 0
    return (t >>> 0) / 4294967296
  }
  /** An independent generator in the same state: drawing from it leaves this one where it was. */
  copy(): SeededRandom {
    const copy: SeededRandom = Object.create(SeededRandom.prototype)
    copy.a = this.a
    copy.b = this.b
    copy.c = this.c
    copy.d = this.d
    return copy
  }
  /** An RFC 4122 version-4 UUID drawn from this generator. */
  uuid(): string {
    const bytes: Array<number> = []
    for (let i = 0; i < 16; i++) bytes.push(Math.floor(this.next() * 256))
    bytes[6] = (bytes[6]! & 0x0f) | 0x40
    bytes[8] = (bytes[8]! & 0x3f) | 0x80
    const hex = bytes.map((b) => b.toString(16).padStart(2, "0")).join("")
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
  }
}

/** What workflow code sees as "now" and "random" while it runs. */
export interface LogicalEnvironment {
  readonly now: number
  readonly random: SeededRandom
}

const RealDate = Date
const realRandom = Math.random
let active: LogicalEnvironment | undefined

class WorkflowDate extends RealDate {
  constructor(...args: Array<any>) {
    if (args.length === 0) super(active ? active.now : RealDate.now())
    else super(...(args as [any]))
  }
  static override now(): number {
    return active ? active.now : RealDate.now()
  }
}

const workflowRandom = () => (active ? active.random.next() : realRandom())

/**
 * Installs the workflow's clock and generator as `Date` and `Math.random`, and returns what to
 * give `leaveLogicalEnvironment` to put things back. Re-entrant: inside another environment,
 * only the active environment changes, and the outermost leave restores the real globals.
 */
export const enterLogicalEnvironment = (env: LogicalEnvironment): LogicalEnvironment | undefined => {
  const outer = active
  active = env
  if (outer === undefined) {
    globalThis.Date = WorkflowDate as DateConstructor
    Math.random = workflowRandom
  }
  return outer
}

/** Undoes the matching `enterLogicalEnvironment`; call it in a `finally`. */
export const leaveLogicalEnvironment = (outer: LogicalEnvironment | undefined): void => {
  active = outer
  if (outer === undefined) {
    globalThis.Date = RealDate
    Math.random = realRandom
  }
}

/** Runs `f` inside the environment, and puts the real globals back afterwards whatever happens. */
export const withLogicalEnvironment = <A>(env: LogicalEnvironment, f: () => A): A => {
  const outer = enterLogicalEnvironment(env)
  try {
    return f()
  } finally {
    leaveLogicalEnvironment(outer)
  }
}
