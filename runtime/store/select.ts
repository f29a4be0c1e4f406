/**
 * Which store an engine runs on: PostgreSQL when a database URL is given (the configuration's,
 * else `DATABASE_URL` through Effect's `Config`), the SQLite file otherwise.
 */
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { StoreError } from "../errors"
import type { WorkflowStore } from "./contract"
import { PostgresStore } from "./postgres/store"
import { SqliteStore } from "./sqlite/store"

export interface StoreConfig {
  /** The SQLite file, when no database URL is given. */
  readonly dbPath: string
  /** `postgres://…`: the PostgreSQL store. Unset: `DATABASE_URL`, if set. */
  readonly databaseUrl?: string | undefined
  /** FULL (default): a commit returns once durable. NORMAL trades the last commits on a crash for speed. */
  readonly synchronous?: "FULL" | "NORMAL" | undefined
}

/** `DATABASE_URL`, when set and not blank. */
const databaseUrlFromConfig = Config.option(Config.string("DATABASE_URL")).pipe(
  Effect.map((url) => Option.getOrUndefined(Option.filter(url, (u) => u.trim() !== ""))),
  Effect.mapError(
    (error) => new StoreError({ reason: "Denied", message: `DATABASE_URL cannot be read: ${String(error)}` })
  )
)

/**
 * The store `config` selects, opened when the layer is built (and failing then, with the
 * store's `StoreError`, when it cannot be).
 *
 * @example
 * // PostgreSQL when DATABASE_URL is set, ./data/temporal-lite.db otherwise.
 * const store = StoreLive({ dbPath: "./data/temporal-lite.db" })
 */
export const StoreLive = (config: StoreConfig): Layer.Layer<WorkflowStore, StoreError> =>
  Layer.unwrapEffect(
    Effect.map(
      config.databaseUrl === undefined ? databaseUrlFromConfig : Effect.succeed(config.databaseUrl),
      (url) =>
        url === undefined
          ? SqliteStore({ filename: config.dbPath, synchronous: config.synchronous })
          : PostgresStore({ url: url.trim(), synchronous: config.synchronous })
    )
  )
