/**
 * The store conformance suite (contract.ts) on the PostgreSQL store, each test on a fresh
 * database of the run's server (test/support/postgres.ts).
 */
import * as Effect from "effect/Effect"
import { PostgresStore } from "../../../runtime"
import { describePostgres, freshDatabase, queryDatabase } from "../../support/postgres"
import { storeContract } from "./contract"

describePostgres("the store contract on PostgreSQL", () =>
  storeContract({
    name: "PostgreSQL",
    fresh: freshDatabase("contract"),
    open: (url) => PostgresStore({ url }),
    named: (url) => {
      const u = new URL(url)
      return `database "${u.pathname.slice(1)}" on ${u.hostname}:${u.port}`
    },
    stampSchemaVersion: (url, version) =>
      Effect.asVoid(
        queryDatabase(url, "UPDATE temporal_lite.meta SET value = $1 WHERE key = 'schema_version'", [
          String(version)
        ])
      ),
    schemaVersion: (url) =>
      Effect.map(
        queryDatabase<{ value: string }>(
          url,
          "SELECT value FROM temporal_lite.meta WHERE key = 'schema_version'"
        ),
        (rows) => Number(rows[0]!.value)
      ),
    currentVersion: 1
  })
)
