/**
 * The cluster's `ThreadStore`, the same contract for both implementations: in memory, and in
 * PostgreSQL (`layerStoreSql`, tables created if missing, by several runners at once).
 *
 * - a key's thread record and its rollout, appended chunk by chunk, read back whole;
 * - an append at the wrong offset (a writer that lost the key) fails and changes nothing;
 * - a new thread for a key (a fork) replaces the old record and drops the old rollout;
 * - the turn journal: new, delivered again while running, retried after a failure, done (stored result);
 * - retention (`prune`): the newest N finished turns per key, finished turns younger than an age, keys
 *   touched within an age; a running turn stays; the scheduled prune (`layerRetention`) runs on its own.
 */
import { PgClient } from "@effect/sql-pg"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Option, Redacted } from "effect"
import { CodexCluster } from "../../src/cluster.ts"
import { at } from "../support/Clock.ts"
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

const retention = Effect.gen(function*() {
  const store = yield* CodexCluster.ThreadStore
  const MINUTE = 60_000
  // key A: a thread, 5 finished turns a minute apart (t4 failed), one running; key B: a thread and a
  // finished turn, all at minute 1; key C: only a finished turn, at minute 2
  yield* at(MINUTE, store.saveThread({ key: "A", threadId: "th-a", rolloutPath: "a.jsonl", runner: "r1" }))
  yield* at(MINUTE, store.saveThread({ key: "B", threadId: "th-b", rolloutPath: "b.jsonl", runner: "r1" }))
  yield* at(MINUTE, store.appendRollout("B", "th-b", 0, "{}\n", "r1"))
  yield* at(MINUTE, store.beginTurn("B", "b1", "r1"))
  yield* at(MINUTE, store.finishTurn("B", "b1", "{}"))
  yield* at(2 * MINUTE, store.beginTurn("C", "c1", "r1"))
  yield* at(2 * MINUTE, store.finishTurn("C", "c1", "{}"))
  for (let i = 1; i <= 5; i++) {
    yield* at(i * MINUTE, store.beginTurn("A", `t${i}`, "r1"))
    yield* at(i * MINUTE + 1, i === 4 ? store.failTurn("A", `t${i}`) : store.finishTurn("A", `t${i}`, `{"i":${i}}`))
  }
  yield* at(MINUTE, store.beginTurn("A", "running", "r1"))
  yield* at(6 * MINUTE, store.appendRollout("A", "th-a", 0, "{\"a\":1}\n", "r1"))

  // nothing asked, nothing removed
  assert.deepStrictEqual(yield* at(100 * MINUTE, store.prune({})), { turns: 0, keys: 0 })

  // the newest 3 finished turns of each key: A keeps t5, t4 (failed), t3 and the running turn
  assert.deepStrictEqual(yield* at(7 * MINUTE, store.prune({ turnsPerKey: 3 })), { turns: 2, keys: 0 })
  // finished turns touched within 3.5 minutes of minute 7 stay (A's t4 and t5): A's t3, B's and C's go
  assert.deepStrictEqual(yield* at(7 * MINUTE, store.prune({ turnMaxAge: "210 seconds" })), { turns: 3, keys: 0 })

  // keys touched within 5.5 minutes of minute 7: A (its rollout at minute 6); B is forgotten whole (with
  // its rollout); A's running turn, begun at minute 1, stays with its key
  assert.deepStrictEqual(yield* at(7 * MINUTE, store.prune({ threadMaxAge: "330 seconds" })), { turns: 0, keys: 1 })
  assert.isTrue(Option.isNone(yield* store.load("B")))
  assert.strictEqual(yield* store.rollout("th-b"), "")
  assert.strictEqual(Option.getOrThrow(yield* store.load("A")).threadId, "th-a")
  assert.strictEqual(yield* store.rollout("th-a"), "{\"a\":1}\n")

  // what is left answers as before; what went is new again
  assert.deepStrictEqual(yield* store.beginTurn("A", "t5", "r2"), { _tag: "Done", result: "{\"i\":5}", attempt: 1 })
  assert.deepStrictEqual(yield* store.beginTurn("A", "t4", "r2"), { _tag: "Retried", attempt: 2 })
  assert.deepStrictEqual(yield* store.beginTurn("A", "running", "r2"), { _tag: "Redelivered", attempt: 2, previousRunner: "r1" })
  for (const [key, turnKey] of [["A", "t3"], ["A", "t1"], ["B", "b1"], ["C", "c1"]] as const) {
    assert.deepStrictEqual(yield* store.beginTurn(key, turnKey, "r2"), { _tag: "New" }, `${key} ${turnKey}`)
  }

  // a key whose journal alone is old (no thread record) is forgotten too, its entries counted as turns;
  // a key whose thread is old but whose journal was touched since (A, by the probes above, at the real
  // clock's now) stays
  yield* at(20 * MINUTE, store.beginTurn("D", "d1", "r1"))
  yield* at(20 * MINUTE, store.finishTurn("D", "d1", "{}"))
  assert.deepStrictEqual(yield* at(200 * MINUTE, store.prune({ threadMaxAge: "100 minutes" })), { turns: 1, keys: 0 })
  assert.deepStrictEqual(yield* store.beginTurn("D", "d1", "r2"), { _tag: "New" })
  assert.strictEqual(Option.getOrThrow(yield* store.load("A")).threadId, "th-a")

  // an impossible count is refused
  const refused = yield* Effect.flip(CodexCluster.prune({ turnsPerKey: -1 }))
  assert.strictEqual(refused.reason._tag, "InvalidOptions")
})

describe("Cluster: ThreadStore", () => {
  it.effect("in memory", () => contract.pipe(Effect.provide(CodexCluster.layerStoreMemory)))
  it.live("retention, in memory", () => retention.pipe(Effect.provide(CodexCluster.layerStoreMemory)))

  it.live("layerRetention prunes at start and then on its schedule, as a cluster singleton", () =>
    Effect.gen(function*() {
      const store = yield* CodexCluster.ThreadStore
      const gone = (key: string) =>
        Effect.gen(function*() {
          for (let i = 0; i < 100; i++) {
            if (Option.isNone(yield* store.load(key))) return
            yield* Effect.sleep("100 millis")
          }
          assert.fail(`${key} was not pruned within 10 s`)
        })
      yield* store.saveThread({ key: "old", threadId: "th-old", rolloutPath: "o.jsonl", runner: "r1" })
      yield* Effect.sleep("20 millis")
      yield* Effect.gen(function*() {
        yield* gone("old")
        // the next tick prunes what became old since
        yield* store.saveThread({ key: "later", threadId: "th-later", rolloutPath: "l.jsonl", runner: "r1" })
        yield* gone("later")
      }).pipe(
        Effect.provide(
          CodexCluster.layerRetention({ threadMaxAge: "10 millis", every: "300 millis" }).pipe(
            Layer.provide(CodexCluster.layerShardingEmbedded())
          )
        )
      )
    }).pipe(Effect.provide(CodexCluster.layerStoreMemory)))

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

    it.live("retention", () =>
      Effect.gen(function*() {
        const url = yield* Effect.promise(() => database("cluster_retention"))
        const sql = PgClient.layer({ url: Redacted.make(url) })
        yield* retention.pipe(Effect.provide(CodexCluster.layerStoreSql().pipe(Layer.provide(sql))))
      }))
  })
})
