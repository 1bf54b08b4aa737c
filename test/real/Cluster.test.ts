/**
 * Codex threads on Effect Cluster across real processes: three runner processes (test/support/
 * clusterRunner.ts, each with its own CODEX_HOME and app-server) and this test process as the client
 * (`CodexCluster.layerClient`, client-only), all on loopback, with PostgreSQL as the cluster's
 * database; every model request goes to one LocalModel here, which records them.
 *
 * For each serialization (binary, ndjson):
 * - 12 keys, 4 owned by each runner, each run a turn (persisted) that reports the runner it ran on;
 * - a turn's events streamed to the client, from `TurnStarted` to `TurnCompleted`;
 * - a runner SIGKILLed while a turn on one of its keys waits for the model: the cluster delivers the
 *   message again to another runner, which restores the thread's rollout from the database and
 *   resumes it: the model request of the new attempt holds the key's earlier turn and the killed
 *   turn's prompt once; the result says `attempt: 2`;
 * - a second runner SIGKILLed while it streams a turn: the client sends the stream to the key's next
 *   owner, the turn runs again there, and the stream says so (a `Redelivered` event) before its events;
 * - nothing lost: every key (the dead runners' ones too) runs a next turn that sees its first;
 * - no process left: the dead runner's app-server ends with it, the others' with their runners.
 *
 * And retention of effect's SQL message tables: answered `Run`s go with their replies, one in flight
 * stays, the keys go on.
 */
import { assert, describe, it } from "@effect/vitest"
import { PgClient } from "@effect/sql-pg"
import { Cause, Effect, Fiber, Layer, Redacted, Stream } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import { CodexCluster, CodexThread } from "../../src/cluster.ts"
import * as LocalModel from "../../src/layers/testing/LocalModel.ts"
import { ahead } from "../support/Clock.ts"
import * as Cluster from "../support/Cluster.ts"
import * as Postgres from "../support/Postgres.ts"

const RUNNERS = 3
const KEYS_PER_RUNNER = 4

// Each wait that could hang names itself, so a timeout says which step stalled, not only that the test did.
const step = <A, E, R>(name: string, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  effect.pipe(
    Effect.timeout("40 seconds"),
    Effect.catchIf(Cause.isTimeoutError, () => Effect.die(new Error(`step timed out after 40 s: ${name}`)))
  ) as Effect.Effect<A, E, R>

describe.skipIf(!Postgres.available)("Cluster: CodexThread over runner processes", () => {
  const database = Postgres.suite()

  it.live("retention: Runs answered long enough ago leave effect's SQL tables with their replies; one in flight stays", () =>
    Effect.gen(function*() {
      const url = yield* Effect.promise(() => database("cluster_message_retention"))
      const model = yield* LocalModel.make([], {
        fallback: (request) => {
          const prompt = LocalModel.lastUserText(request) ?? ""
          const reply = LocalModel.text(`echo: ${prompt}`, { deltas: 4 })
          return prompt.includes("SLOW") ? LocalModel.slow(reply, { chunkDelay: "400 millis" }) : reply
        }
      })
      yield* Effect.acquireRelease(
        Effect.promise(() => Cluster.startRunner({ databaseUrl: url, serialization: "binary", model })),
        (runner) => Effect.promise(() => Cluster.stopRunner(runner))
      )
      const sql = PgClient.layer({ url: Redacted.make(url) })
      const client = CodexCluster.layerClient({ shardingConfig: Cluster.clusterTimings }).pipe(
        Layer.provideMerge(CodexCluster.layerStoreSql()),
        Layer.provideMerge(sql)
      )
      yield* Effect.gen(function*() {
        const threads = yield* CodexThread.client
        const db = yield* SqlClient.SqlClient
        const rows = Effect.map(
          db<{ requests: string; replies: string }>`
            SELECT (SELECT COUNT(*) FROM cluster_messages WHERE entity_type = ${CodexThread.CodexThread.type} AND kind = 0) AS requests,
              (SELECT COUNT(*) FROM cluster_replies) AS replies`,
          ([row]) => ({ requests: Number(row!.requests), replies: Number(row!.replies) })
        )
        const first = yield* step("the first turns", threads("A").run("[A] first"))
        yield* step("the first turns", threads("A").run("[A] second"))
        yield* step("the first turns", threads("B").run("[B] first"))
        const slow = yield* threads("C").run("[C] SLOW").pipe(Effect.forkChild)
        yield* Effect.promise(() =>
          Cluster.until(() => Effect.runSync(model.requests).some((r) => LocalModel.lastUserText(r) === "[C] SLOW"), 30_000, "the slow turn's model request")
        )
        assert.deepStrictEqual(yield* rows, { requests: 4, replies: 3 })

        // within the last minute: kept whatever the age
        assert.strictEqual((yield* CodexCluster.prune({ turnMaxAge: "1 milli" })).messages, 0)
        const pruned = yield* ahead(120_000, CodexCluster.prune({ turnMaxAge: "1 minute" }))
        assert.strictEqual(pruned.messages, 3)
        assert.deepStrictEqual(yield* rows, { requests: 1, replies: 0 })

        assert.strictEqual((yield* step("the slow turn", Fiber.join(slow))).finalResponse, "echo: [C] SLOW")
        const next = yield* step("a next turn", threads("A").run("[A] third"))
        assert.strictEqual(next.threadId, first.threadId)
        const request = (yield* model.requests).find((r) => LocalModel.lastUserText(r) === "[A] third")!
        assert.include(LocalModel.messages(request).join("\n"), "[A] first")
      }).pipe(Effect.provide(client))
    }).pipe(Effect.scoped), { timeout: 120_000 })

  for (const serialization of ["binary", "ndjson"] as const) {
    it.live(`12 keys over 3 runners, streamed events, a runner killed mid-turn (${serialization})`, () =>
      Effect.gen(function*() {
        const url = yield* Effect.promise(() => database(`cluster_${serialization}`))
        // A prompt with HOLD waits for the model the first time it is sent; every other prompt is echoed.
        const holds = new Map<string, number>()
        const model = yield* LocalModel.make([], {
          fallback: (request) => {
            const prompt = LocalModel.lastUserText(request) ?? ""
            const seen = holds.get(prompt) ?? 0
            if (prompt.includes("HOLD")) holds.set(prompt, seen + 1)
            return prompt.includes("HOLD") && seen === 0 ? LocalModel.hang() : LocalModel.text(`echo: ${prompt}`)
          }
        })
        const held = (prompt: string) => Cluster.until(() => holds.has(prompt), 30_000, `the model request of ${prompt}`)
        const runners = yield* Effect.acquireRelease(
          Effect.promise(() =>
            Promise.all(
              Array.from({ length: RUNNERS }, () => Cluster.startRunner({ databaseUrl: url, serialization, model }))
            )
          ),
          (runners) => Effect.promise(() => Promise.all(runners.map(Cluster.stopRunner)))
        )
        const client = CodexCluster.layerClient({ serialization, shardingConfig: Cluster.clusterTimings }).pipe(
          Layer.provide(PgClient.layer({ url: Redacted.make(url) }))
        )

        yield* Effect.gen(function*() {
          const threads = yield* CodexThread.client
          // The runner a key's turn runs on now (Describe runs beside the turn), polled until it says so.
          const runningOn = (key: string) =>
            step(
              `the runner of ${key}'s turn`,
              Effect.gen(function*() {
                for (;;) {
                  const described = yield* threads(key).describe
                  if (described.turnRunning) return runners.find((runner) => runner.address === described.runner)!
                  yield* Effect.sleep("100 millis")
                }
              })
            )

          // Runners that joined moments apart get their shards over a few assignment rounds: wait until
          // every runner owns some of 30 probe keys and two rounds 0.5 s apart agree.
          const probe = Effect.forEach(Array.from({ length: 30 }, (_, i) => `probe-${i}`), (key) =>
            Effect.map(threads(key).describe, (described) => described.runner))
          let owners = yield* probe
          for (let round = 0;; round++) {
            assert.isBelow(round, 60, `shard assignments settle: ${owners.join(", ")}`)
            yield* Effect.sleep("500 millis")
            const next = yield* probe
            const settled = next.every((runner, i) => runner === owners[i]) && new Set(next).size === RUNNERS
            owners = next
            if (settled) break
          }

          // Which runner owns a key is the cluster's hashing: ask candidates (Describe starts no thread)
          // and keep 4 keys per runner.
          const byRunner = new Map<string, Array<string>>()
          for (let i = 0; [...byRunner.values()].filter((keys) => keys.length >= KEYS_PER_RUNNER).length < RUNNERS; i++) {
            assert.isBelow(i, 200, `keys spread over the runners: ${JSON.stringify([...byRunner])}`)
            const described = yield* threads(`ticket-${i}`).describe
            assert.isUndefined(described.threadId)
            byRunner.set(described.runner, [...(byRunner.get(described.runner) ?? []), described.key])
          }
          assert.sameMembers([...byRunner.keys()], runners.map((runner) => runner.address))
          const keys = [...byRunner.values()].flatMap((keys) => keys.slice(0, KEYS_PER_RUNNER))
          const ownerOf = new Map([...byRunner].flatMap(([runner, keys]) => keys.map((key) => [key, runner] as const)))

          const firsts = yield* step("the first turn of every key", Effect.forEach(keys, (key) => threads(key).run(`[${key}] first turn`), {
            concurrency: "unbounded"
          }))
          for (const result of firsts) {
            assert.strictEqual(result.runner, ownerOf.get(result.key), result.key)
            assert.strictEqual(result.status, "completed")
            assert.strictEqual(result.finalResponse, `echo: [${result.key}] first turn`)
            assert.strictEqual(result.attempt, 1)
          }
          // At-least-once: the cluster may deliver a persisted message again (its storage poll can
          // pick it up before the reply is stored); the journal answers such a copy with the stored
          // result (`replayed`), so each prompt reached the model once.
          const firstRequests = yield* model.requests
          for (const key of keys) {
            const prompts = firstRequests.filter((request) => LocalModel.lastUserText(request) === `[${key}] first turn`)
            assert.strictEqual(prompts.length, 1, key)
          }

          // Events of a turn, streamed from its runner to this process.
          const streamed = keys[1]!
          const events = yield* step("a streamed turn", threads(streamed).stream(`[${streamed}] streamed turn`).pipe(Stream.runCollect))
          assert.strictEqual(events[0]?._tag, "TurnStarted")
          assert.strictEqual(events.at(-1)?._tag, "TurnCompleted")
          const text = events.flatMap((event) => event._tag === "AgentMessageDelta" ? [event.delta] : []).join("")
          assert.strictEqual(text, `echo: [${streamed}] streamed turn`)

          // kill -9 the runner of keys[0] while its turn waits for the model.
          const key = keys[0]!
          const pending = yield* Effect.forkChild(threads(key).run(`[${key}] HOLD turn`))
          yield* Effect.promise(() => held(`[${key}] HOLD turn`))
          const victim = yield* runningOn(key)
          assert.strictEqual(victim.address, ownerOf.get(key))
          const victimProcesses = Cluster.descendants(victim.child.pid!)
          assert.isAbove(victimProcesses.length, 0, "the runner's app-server")
          victim.child.kill("SIGKILL")
          const redelivered = yield* step("the Run redelivered after its runner was killed", Fiber.join(pending))
          assert.strictEqual(redelivered.attempt, 2, "delivered again after its runner died")
          assert.notStrictEqual(redelivered.runner, victim.address)
          assert.strictEqual(redelivered.finalResponse, `echo: [${key}] HOLD turn`)
          assert.strictEqual(redelivered.threadId, firsts[0]!.threadId, "the same thread, resumed")

          const requests = yield* model.requests
          const held2 = requests.filter((request) => LocalModel.lastUserText(request)?.includes("HOLD"))
          assert.strictEqual(held2.length, 2, "the held request, then the new attempt's")
          const again = LocalModel.messages(held2[1]!)
          assert.include(again.join("\n"), `[${key}] first turn`, "the new runner's request holds the earlier turn")
          assert.strictEqual(again.filter((m) => m.includes("HOLD turn")).length, 1, "the killed turn's prompt once")

          yield* Effect.promise(() =>
            Cluster.until(() => victimProcesses.every((pid) => !Cluster.isAlive(pid)), 15_000, "the dead runner's app-server to end")
          )

          // A stream whose runner is killed: the client sends it to the key's next owner, where the turn
          // runs again; the reader sees the first attempt's events, the Redelivered event, then the new ones.
          // The dead runner's shards were shared out again, and a balanced assignment may move others too:
          // a key's owner now is not necessarily the one it had (ownerOf). So the stream goes to a key the
          // other survivor owns now, and the runner killed is the one its turn runs on.
          const nowOwned = yield* Effect.forEach(keys, (k) => Effect.map(threads(k).describe, (d) => [k, d.runner] as const))
          const streamKey = nowOwned.find(([, runner]) => runner !== victim.address && runner !== redelivered.runner)?.[0]
          assert.isDefined(streamKey, `a key on the third runner: ${JSON.stringify(nowOwned)}`)
          // The kill waits for the first attempt's TurnStarted to reach this process, not only for the model
          // request: the event travels codex -> runner -> client and can still be on its way under load.
          const seen: Array<string> = []
          const streaming = yield* Effect.forkChild(
            threads(streamKey!).stream(`[${streamKey}] HOLD stream`).pipe(
              Stream.tap((event) => Effect.sync(() => seen.push(event._tag))),
              Stream.runCollect
            )
          )
          yield* Effect.promise(() => held(`[${streamKey}] HOLD stream`))
          yield* Effect.promise(() => Cluster.until(() => seen.includes("TurnStarted"), 30_000, "the first attempt's TurnStarted"))
          const second = yield* runningOn(streamKey!)
          assert.notStrictEqual(second.address, redelivered.runner, "the stream runs on the third runner")
          const secondProcesses = Cluster.descendants(second.child.pid!)
          second.child.kill("SIGKILL")
          const resent = yield* step("the Stream sent again after its runner was killed", Fiber.join(streaming))
          const marker = resent.findIndex(CodexThread.isRedelivered)
          assert.isAbove(marker, 0, `a Redelivered event after the first attempt's: ${resent.map((e) => e._tag)}`)
          const mark = resent[marker] as CodexThread.Redelivered
          assert.strictEqual(mark.params.attempt, 2)
          assert.strictEqual(mark.params.previousRunner, second.address)
          assert.strictEqual(mark.params.runner, redelivered.runner, "the one runner left")
          const rest = resent.slice(marker + 1)
          assert.strictEqual(rest.at(-1)?._tag, "TurnCompleted")
          assert.strictEqual(
            rest.flatMap((event) => event._tag === "AgentMessageDelta" ? [event.delta] : []).join(""),
            `echo: [${streamKey}] HOLD stream`
          )
          yield* Effect.promise(() =>
            Cluster.until(() => secondProcesses.every((pid) => !Cluster.isAlive(pid)), 15_000, "the second dead runner's app-server to end")
          )

          // Nothing lost: every key's next turn sees its first, on the one runner left.
          const seconds = yield* step("the second turn of every key", Effect.forEach(keys, (key) => threads(key).run(`[${key}] second turn`), {
            concurrency: "unbounded"
          }))
          const after = yield* model.requests
          for (const result of seconds) {
            assert.strictEqual(result.runner, redelivered.runner, result.key)
            const request = after.find((request) => LocalModel.lastUserText(request) === `[${result.key}] second turn`)
            assert.isDefined(request, result.key)
            assert.include(LocalModel.messages(request!).join("\n"), `[${result.key}] first turn`, result.key)
          }
        }).pipe(Effect.provide(client))

        // Every other runner's app-server ends with its runner.
        const survivors = runners.filter((runner) => runner.child.exitCode === null && runner.child.signalCode === null)
        const processes = survivors.flatMap((runner) => [runner.child.pid!, ...Cluster.descendants(runner.child.pid!)])
        yield* Effect.promise(() => Promise.all(survivors.map(Cluster.stopRunner)))
        yield* Effect.promise(() =>
          Cluster.until(() => processes.every((pid) => !Cluster.isAlive(pid)), 15_000, "no process left")
        )
      }).pipe(Effect.scoped), { timeout: 120_000 })
  }
})
