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
 * - nothing lost: every key (the dead runner's ones too) runs a second turn that sees its first;
 * - no process left: the dead runner's app-server ends with it, the others' with their runners.
 */
import { assert, describe, it } from "@effect/vitest"
import { PgClient } from "@effect/sql-pg"
import { Effect, Fiber, Layer, Redacted, Stream } from "effect"
import { CodexCluster, CodexThread } from "../../src/cluster.ts"
import * as LocalModel from "../../src/layers/testing/LocalModel.ts"
import * as Cluster from "../support/Cluster.ts"
import * as Postgres from "../support/Postgres.ts"

const RUNNERS = 3
const KEYS_PER_RUNNER = 4

describe.skipIf(!Postgres.available)("Cluster: CodexThread over three runner processes", () => {
  const database = Postgres.suite()

  for (const serialization of ["binary", "ndjson"] as const) {
    it.live(`12 keys over 3 runners, streamed events, a runner killed mid-turn (${serialization})`, () =>
      Effect.gen(function*() {
        const url = yield* Effect.promise(() => database(`cluster_${serialization}`))
        // The killed turn's prompt waits for the model the first time only; every other prompt is echoed.
        let held = 0
        const model = yield* LocalModel.make([], {
          fallback: (request) => {
            const prompt = LocalModel.lastUserText(request) ?? ""
            if (prompt.includes("HOLD") && held++ === 0) return LocalModel.hang()
            return LocalModel.text(`echo: ${prompt}`)
          }
        })
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

          const firsts = yield* Effect.forEach(keys, (key) => threads(key).run(`[${key}] first turn`), {
            concurrency: "unbounded"
          })
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
          const events = yield* threads(streamed).stream(`[${streamed}] streamed turn`).pipe(Stream.runCollect)
          assert.strictEqual(events[0]?._tag, "TurnStarted")
          assert.strictEqual(events.at(-1)?._tag, "TurnCompleted")
          const text = events.flatMap((event) => event._tag === "AgentMessageDelta" ? [event.delta] : []).join("")
          assert.strictEqual(text, `echo: [${streamed}] streamed turn`)

          // kill -9 the runner of keys[0] while its turn waits for the model.
          const key = keys[0]!
          const victim = runners.find((runner) => runner.address === ownerOf.get(key))!
          const victimProcesses = Cluster.descendants(victim.child.pid!)
          assert.isAbove(victimProcesses.length, 0, "the runner's app-server")
          const pending = yield* Effect.forkChild(threads(key).run(`[${key}] HOLD turn`))
          yield* Effect.promise(() => Cluster.until(() => held > 0, 30_000, "the held model request"))
          victim.child.kill("SIGKILL")
          const redelivered = yield* Fiber.join(pending)
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

          // Nothing lost: every key's second turn sees its first, wherever it runs now.
          const seconds = yield* Effect.forEach(keys, (key) => threads(key).run(`[${key}] second turn`), {
            concurrency: "unbounded"
          })
          const after = yield* model.requests
          for (const result of seconds) {
            assert.notStrictEqual(result.runner, victim.address, result.key)
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
