/**
 * Retention of the cluster's own message storage (effect's in-memory driver, as the embedded cluster
 * has it): answered `Run`s and their replies go once answered longer ago than the retention's age (and
 * at least a minute ago); a `Run` not answered yet stays; the key's thread goes on. The SQL tables are
 * covered in test/real/Cluster.test.ts.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Option } from "effect"
import * as MessageStorage from "effect/cluster/MessageStorage"
import { CodexCluster, CodexThread } from "../../src/cluster.ts"
import * as CodexTest from "../../src/layers/testing/CodexTest.ts"
import * as Codex from "../../src/services/Codex.ts"
import { ahead } from "../support/Clock.ts"

const MINUTE = 60_000

// the runner as layerEmbedded composes it, with the store in context for CodexCluster.prune
const runner = (script: ReadonlyArray<CodexTest.Step>) =>
  CodexCluster.layerEntity().pipe(
    Layer.provideMerge(CodexCluster.layerShardingEmbedded()),
    Layer.provideMerge(CodexCluster.layerStoreMemory),
    Layer.provideMerge(Codex.layer.pipe(Layer.provideMerge(CodexTest.layer(script))))
  )

const driver = Effect.map(Effect.serviceOption(MessageStorage.MemoryDriver), Option.getOrThrow)

// the thread entity's requests in the driver, answered or not, and its envelopes in the journal
const runs = Effect.map(driver, (d) => {
  const entries = Array.from(d.requests.values()).filter((entry) => entry.envelope.address.entityType === CodexThread.CodexThread.type)
  const answered = entries.filter((entry) => entry.replies.some((reply) => reply._tag === "WithExit")).length
  return {
    answered,
    waiting: entries.length - answered,
    journal: d.journal.filter((envelope) => envelope.address.entityType === CodexThread.CodexThread.type).length
  }
})

const until = <E, R>(check: Effect.Effect<boolean, E, R>) =>
  Effect.gen(function*() {
    for (let i = 0; i < 500; i++) {
      if (yield* check) return
      yield* Effect.sleep("10 millis")
    }
    assert.fail("condition never held")
  })

describe("Cluster retention: effect's message storage", () => {
  it.live("Runs answered longer ago than turnMaxAge go with their replies; one in flight stays; the key goes on", () =>
    Effect.gen(function*() {
      const threads = yield* CodexThread.client
      const first = yield* threads("A").run("one")
      yield* threads("A").run("two")
      yield* threads("B").run("three")
      const inFlight = yield* threads("C").run("slow").pipe(Effect.forkChild)
      yield* until(Effect.map(runs, (r) => r.waiting === 1))
      assert.deepStrictEqual(yield* runs, { answered: 3, waiting: 1, journal: 4 })
      const replies = (yield* driver).replyIds.size

      // answered within the age, or within the last minute whatever the age: kept; turnsPerKey alone prunes none
      assert.strictEqual((yield* ahead(30 * MINUTE, CodexCluster.prune({ turnMaxAge: "1 hour" }))).messages, 0)
      assert.strictEqual((yield* CodexCluster.prune({ turnMaxAge: "1 milli" })).messages, 0)
      assert.strictEqual((yield* ahead(2 * MINUTE, CodexCluster.prune({ turnsPerKey: 0 }))).messages, 0)
      assert.deepStrictEqual(yield* runs, { answered: 3, waiting: 1, journal: 4 })

      const pruned = yield* ahead(2 * MINUTE, CodexCluster.prune({ turnMaxAge: "1 minute" }))
      assert.strictEqual(pruned.messages, 3)
      assert.deepStrictEqual(yield* runs, { answered: 0, waiting: 1, journal: 1 })
      assert.strictEqual((yield* driver).replyIds.size, replies - 3)

      // the Run in flight is answered as usual
      assert.strictEqual((yield* Fiber.join(inFlight)).finalResponse, "late")
      // the key's thread is the store's, not the messages': the next turn goes on on it
      const next = yield* threads("A").run("four")
      assert.strictEqual(next.threadId, first.threadId)
      // threadMaxAge alone is the messages' age too
      assert.strictEqual((yield* ahead(2 * MINUTE, CodexCluster.prune({ threadMaxAge: "1 minute" }))).messages, 2)
    }).pipe(Effect.provide(runner([
      CodexTest.reply("1"),
      CodexTest.reply("2"),
      CodexTest.reply("3"),
      CodexTest.slow(CodexTest.reply("late"), { delay: "100 millis" }),
      CodexTest.reply("4")
    ]))))
})
