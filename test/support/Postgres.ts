/**
 * PostgreSQL for the cluster and workflow tests.
 *
 * `.ci/run` starts one server (scripts/postgres.ts) and passes its URL in `EFFECT_CODEX_PG_URL`, with
 * `EFFECT_CODEX_REQUIRE_PG=1` so a missing server fails the run instead of skipping. Elsewhere a test
 * file starts a private server when Debian's PostgreSQL is installed (stopped after the file's tests),
 * and is skipped when it is not. Every database a suite asks for is new and empty.
 */
import { afterAll } from "@effect/vitest"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Postgres from "../../scripts/postgres.ts"

const required = process.env.EFFECT_CODEX_REQUIRE_PG === "1"
const given = process.env.EFFECT_CODEX_PG_URL

/** Whether a PostgreSQL server can be had here (true where it is required: then its absence fails). */
export const available: boolean = given !== undefined || required || Postgres.installed()

let counter = 0

/**
 * Call at the top of a `describe`: returns `database(label)`, which creates a new empty database and
 * returns its URL. Without `EFFECT_CODEX_PG_URL`, the first call starts a private server, stopped in
 * the suite's `afterAll`.
 */
export const suite = (): ((label: string) => Promise<string>) => {
  let server: Promise<string> | undefined
  let dir: string | undefined
  afterAll(() => {
    if (dir === undefined) return
    try {
      Postgres.stop(dir)
    } finally {
      Fs.rmSync(dir, { recursive: true, force: true })
    }
  })
  const serverUrl = (): Promise<string> => {
    if (given !== undefined) return Promise.resolve(given)
    if (server === undefined) {
      dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-codex-pg-"))
      server = Postgres.start(dir)
    }
    return server
  }
  return async (label) => {
    const url = await serverUrl()
    const name = `t_${label.toLowerCase().replace(/[^a-z0-9]+/g, "_")}_${process.pid}_${++counter}`.slice(0, 63)
    return Postgres.createDatabase(url, name)
  }
}
