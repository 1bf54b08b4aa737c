/**
 * The cluster's `ThreadStore`, the same contract for both implementations: in memory, and in
 * PostgreSQL (`layerStoreSql`, tables created if missing, by several runners at once).
 *
 * - a key's thread record and its rollout, appended chunk by chunk, read back whole;
 * - an append at the wrong offset (a writer that lost the key) fails and changes nothing;
 * - a new thread for a key (a fork) replaces the old record and drops the old rollout;
 * - the turn journal: new, delivered again while running, retried after a failure, done (stored result).
 */
import { PgClient } from "@effect/sql-pg"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Option, Redacted } from "effect"
import { CodexCluster } from "../../src/cluster.ts"
import * as Postgres from "../support/Postgres.ts"

const contract = Effect.gen(function*() {
  const store = yield* CodexCluster.ThreadStore
  assert.isTrue(Option.isNone(yield* store.load("T-1")))

  yield* store.saveThread({ key: "T-1", threadId: "th-1", rolloutPath: "sessions/a.jsonl", runner: "r1" })
  yield* store.appendRollout("T-1", "th-1", 0, "{\"a\":1}\n", "r1")
  yield* store.appendRollout("T-1", "th-1", 8, "{\"é\":2}\n", "r1") // 9 bytes in UTF-8
  const record = Option.getOrThrow(yield* store.load("T-1"))
  assert.deepStrictEqual(record, { key: "T-1", threadId: "th-1", rolloutPath: "sessions/a.jsonl", rolloutSize: 17, runner: "r1" })
  assert.strictEqual(yield* store.rollout("th-1"), "{\"a\":1}\n{\"é\":2}\n")

  // a writer that lost the key appends from where it last saw the rollout: refused, nothing changes
  const stale = yield* Effect.flip(store.appendRollout("T-1", "th-1", 8, "{\"x\":3}\n", "r2"))
  assert.strictEqual(stale.reason._tag, "TransportError")
  assert.strictEqual(Option.getOrThrow(yield* store.load("T-1")).rolloutSize, 17)
  assert.strictEqual(yield* store.rollout("th-1"), "{\"a\":1}\n{\"é\":2}\n")

  // the key continues as a fork: the old thread's rollout goes
  yield* store.saveThread({ key: "T-1", threadId: "th-2", rolloutPath: "sessions/b.jsonl", runner: "r2" })
  assert.deepStrictEqual(Option.getOrThrow(yield* store.load("T-1")), {
    key: "T-1",
    threadId: "th-2",
    rolloutPath: "sessions/b.jsonl",
    rolloutSize: 0,
    runner: "r2"
  })
  assert.strictEqual(yield* store.rollout("th-1"), "")

  // the journal
  assert.deepStrictEqual(yield* store.beginTurn("T-1", "fix", "r1"), { _tag: "New" })
  assert.deepStrictEqual(yield* store.beginTurn("T-1", "fix", "r2"), { _tag: "Redelivered", attempt: 2, previousRunner: "r1" })
  yield* store.failTurn("T-1", "fix")
  assert.deepStrictEqual(yield* store.beginTurn("T-1", "fix", "r2"), { _tag: "Retried", attempt: 3 })
  yield* store.finishTurn("T-1", "fix", "{\"ok\":true}")
  assert.deepStrictEqual(yield* store.beginTurn("T-1", "fix", "r3"), { _tag: "Done", result: "{\"ok\":true}", attempt: 3 })
  // turn keys are per key
  assert.deepStrictEqual(yield* store.beginTurn("T-2", "fix", "r1"), { _tag: "New" })
})

describe("Cluster: ThreadStore", () => {
  it.effect("in memory", () => contract.pipe(Effect.provide(CodexCluster.layerStoreMemory)))

  describe.skipIf(!Postgres.available)("in PostgreSQL", () => {
    const database = Postgres.suite()
    it.live("the same contract; three runners creating the tables at once", () =>
      Effect.gen(function*() {
        const url = yield* Effect.promise(() => database("cluster_store"))
        const sql = PgClient.layer({ url: Redacted.make(url) })
        // runners starting together race on CREATE TABLE IF NOT EXISTS
        yield* Effect.all(
          Array.from({ length: 3 }, () => Effect.scoped(Layer.build(CodexCluster.layerStoreSql().pipe(Layer.provide(sql))))),
          { concurrency: "unbounded" }
        )
        yield* contract.pipe(Effect.provide(CodexCluster.layerStoreSql().pipe(Layer.provide(sql))))
      }))
  })
})
