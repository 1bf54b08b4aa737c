import { assert, describe, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import * as Postgres from "../support/Postgres.ts"

describe.skipIf(!Postgres.available)("Postgres (test support)", () => {
  const database = Postgres.suite()
  it("gives every caller a new empty database on loopback", async () => {
    const a = await database("support")
    const b = await database("support")
    assert.notStrictEqual(a, b)
    assert.strictEqual(new URL(a).hostname, "127.0.0.1")
    const tables = execFileSync("psql", [a, "-Atc", "select count(*) from pg_tables where schemaname = 'public'"], {
      encoding: "utf8"
    })
    assert.strictEqual(tables.trim(), "0")
  })
})
