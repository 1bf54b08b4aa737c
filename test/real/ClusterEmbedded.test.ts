/**
 * The embedded cluster (`CodexCluster.layerEmbedded`: one runner in this process, memory storage, no
 * database) over a real app-server and the LocalModel: the same `CodexThread` API as a cluster.
 *
 * - turns on a key share one thread (the second model request holds the first turn);
 * - `turnKey`: the same turn sent twice runs once (the second answer is the stored result);
 * - events streamed; steer and interrupt reach a turn in flight (they run beside it);
 * - errors are `CodexError`s, typed across the entity's serialization;
 * - a raw JSON Schema gives the parsed `output`;
 * - a key that moves away and back to a runner that still has its thread loaded gets the stored history;
 * - a rollout chunk stored though its append failed (a lost commit acknowledgement): the runner goes on
 *   from the stored size, and a new entity on it resumes the loaded thread without reloading it;
 * - over a CodexPool, a key's next turn after its app-server died runs on the replacement, with its history.
 */
import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Cause, type Duration, Effect, Exit, Fiber, Layer, Option, Stream } from "effect"
import { CodexCluster, CodexThread } from "../../src/cluster.ts"
import * as CodexPool from "../../src/layers/CodexPool.ts"
import * as LocalModel from "../../src/layers/testing/LocalModel.ts"
import * as Codex from "../../src/services/Codex.ts"
import * as CodexError from "../../src/schema/CodexError.ts"
import * as Cluster from "../support/Cluster.ts"
import * as CodexBinary from "../support/CodexBinary.ts"
import { exitReason } from "../support/Errors.ts"
import { pidsWithEnv } from "../support/Home.ts"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Real from "../support/Real.ts"

const SERVER_VAR = "CLUSTER_EMBEDDED_TEST_SERVER"

const embedded = (script: ReadonlyArray<LocalModel.Step>) =>
  CodexCluster.layerEmbedded().pipe(Layer.provideMerge(Real.layer(script, Real.fast)))

describe("Cluster, embedded: CodexThread in one process", () => {
  it.live("turns on a key share its thread; another key has its own", () =>
    Effect.gen(function*() {
      const threads = yield* CodexThread.client
      const first = yield* threads("T-1").run("Remember the word apricot")
      assert.strictEqual(first.runner, "embedded:0")
      assert.strictEqual(first.attempt, 1)
      assert.strictEqual(first.finalResponse, "noted")
      const other = yield* threads("T-2").run("Something else")
      assert.notStrictEqual(other.threadId, first.threadId)
      const second = yield* threads("T-1").run("Which word?")
      assert.strictEqual(second.threadId, first.threadId)
      const request = yield* LocalModel.awaitRequest(2)
      Real.assertInOrder(LocalModel.messages(request), ["user: Remember the word apricot", "user: Which word?"])
      assert.notInclude(LocalModel.messages(request).join("\n"), "Something else")
      const described = yield* threads("T-1").describe
      assert.deepStrictEqual(described, { key: "T-1", runner: "embedded:0", threadId: first.threadId, turnRunning: false })
    }).pipe(Effect.provide(embedded([LocalModel.text("noted"), LocalModel.text("ok"), LocalModel.text("apricot")]))))

  it.live("turnKey: the same turn sent twice runs once; the second answer is the stored result", () =>
    Effect.gen(function*() {
      const threads = yield* CodexThread.client
      const once = yield* threads("PR-9").run("Review PR 9", { turnKey: "review" })
      const twice = yield* threads("PR-9").run("Review PR 9", { turnKey: "review" })
      assert.isFalse(once.replayed)
      assert.isTrue(twice.replayed)
      assert.strictEqual(twice.turnId, once.turnId)
      assert.strictEqual(twice.finalResponse, "LGTM")
      assert.strictEqual((yield* LocalModel.requests).length, 1)
    }).pipe(Effect.provide(embedded([LocalModel.text("LGTM")]))))

  it.live("stream: a turn's events, from TurnStarted to TurnCompleted", () =>
    Effect.gen(function*() {
      const threads = yield* CodexThread.client
      const events = yield* threads("T-3").stream("Say hello").pipe(Stream.runCollect)
      assert.strictEqual(events[0]?._tag, "TurnStarted")
      assert.strictEqual(events.at(-1)?._tag, "TurnCompleted")
      const text = events.flatMap((event) => (event._tag === "AgentMessageDelta" ? [event.delta] : [])).join("")
      assert.strictEqual(text, "hello there")
    }).pipe(Effect.provide(embedded([LocalModel.text("hello there")]))))

  it.live("steer and interrupt run beside a turn in flight", () =>
    Effect.gen(function*() {
      const threads = yield* CodexThread.client
      const key = threads("T-4")
      const counting = yield* Effect.forkChild(key.run("Count to ten slowly"))
      yield* LocalModel.awaitRequest(0)
      assert.isTrue((yield* key.describe).turnRunning)
      const steered = yield* key.steer("Stop at three")
      const request = yield* LocalModel.awaitRequest(1)
      Real.assertInOrder(LocalModel.messages(request), ["user: Count to ten slowly", "user: Stop at three"])
      assert.deepStrictEqual(yield* key.interrupt, { interrupted: true })
      const result = yield* Fiber.join(counting)
      assert.strictEqual(result.status, "interrupted")
      assert.strictEqual(result.turnId, steered.turnId)
      assert.deepStrictEqual(yield* key.interrupt, { interrupted: false })
    }).pipe(Effect.provide(embedded([LocalModel.hang(), LocalModel.hang()]))))

  it.live("errors are CodexErrors: steering with no turn running is InvalidOptions", () =>
    Effect.gen(function*() {
      const threads = yield* CodexThread.client
      const exit = yield* Effect.exit(threads("T-5").steer("anyone?"))
      assert.isTrue(Exit.isFailure(exit))
      assert.strictEqual(exitReason(exit)?._tag, "InvalidOptions")
      const failed = yield* Effect.exit(threads("T-5").run("Fail please"))
      const reason = exitReason(failed)
      assert.strictEqual(reason?._tag, "TurnFailed")
      const error = Exit.isFailure(failed) ? Cause.findErrorOption(failed.cause) : Option.none()
      assert.isTrue(Option.isSome(error) && CodexError.isCodexError(error.value), "a CodexError instance, decoded")
    }).pipe(Effect.provide(embedded([LocalModel.responseFailed("the model broke")]))))

  it.live("outputSchema: the final answer parsed as output", () =>
    Effect.gen(function*() {
      const threads = yield* CodexThread.client
      const result = yield* threads("T-6").run("Rate it", {
        outputSchema: {
          type: "object",
          properties: { score: { type: "number" } },
          required: ["score"],
          additionalProperties: false
        }
      })
      assert.deepStrictEqual(result.output, { score: 7 })
    }).pipe(Effect.provide(embedded([LocalModel.json({ score: 7 })]))))
})

describe("Cluster, embedded: a key that moves away and back", () => {
  // Two runners in one process, sharing the store and one app-server (as two runners would share the
  // database): the key runs on A, then on B, then on A again after A released it. A still has the
  // thread loaded with the older history, which codex would keep serving: A reloads the stored one
  // (archive, replace the archived rollout, unarchive), and its model request holds B's turn.
  it.live("a runner that still has the key's thread loaded with an older history reloads the stored one", () =>
    Effect.gen(function*() {
      const codex = yield* Codex.Codex
      const store = yield* CodexCluster.ThreadStore
      // each runner is built with a memo map of its own: nothing of one is shared with the other
      const scope = yield* Effect.scope
      const runner = (maxIdleTime: Duration.Input) =>
        Effect.flatMap(Layer.makeMemoMap, (memoMap) =>
          Layer.buildWithMemoMap(
            CodexCluster.layerEntity({ maxIdleTime }).pipe(
              Layer.provideMerge(CodexCluster.layerShardingEmbedded()),
              Layer.provide(Layer.succeed(Codex.Codex, codex)),
              Layer.provide(Layer.succeed(CodexCluster.ThreadStore, store))
            ),
            memoMap,
            scope
          ))
      const a = yield* runner("1 second")
      const b = yield* runner("1 minute")
      const run = (context: typeof a, prompt: string) =>
        Effect.flatMap(CodexThread.client, (threads) => threads("K").run(prompt)).pipe(Effect.provide(context))
      const first = yield* run(a, "one on A")
      const second = yield* run(b, "two on B")
      assert.strictEqual(second.threadId, first.threadId, "B restored the same thread")
      yield* Effect.sleep("6500 millis") // A releases the idle key (the cluster checks every 5 s at most)
      const third = yield* run(a, "three on A")
      assert.strictEqual(third.threadId, first.threadId, "the same thread")
      const request = yield* LocalModel.awaitRequest(2)
      Real.assertInOrder(LocalModel.messages(request), ["user: one on A", "user: two on B", "user: three on A"])
      const record = Option.getOrThrow(yield* store.load("K"))
      assert.strictEqual(record.threadId, first.threadId)
      assert.strictEqual(record.runner, "embedded:0")
    }).pipe(
      Effect.scoped,
      Effect.provide(CodexCluster.layerStoreMemory),
      Effect.provide(Real.layer([LocalModel.text("1"), LocalModel.text("2"), LocalModel.text("3")], Real.fast))
    ))
})

describe("Cluster, embedded: a rollout chunk stored though its append failed", () => {
  // The store commits a chunk and then fails the append (as when a commit's acknowledgement is lost).
  // The entity must not stay behind the store: the next turn's chunk goes on from the stored size (else
  // every later append fails at the wrong offset); and when the last append of an entity was such a
  // one, a new entity on this runner sees that the thread codex holds is the stored history and
  // resumes it as it is (else it archives and reloads it: a sequence that, interrupted half way by a
  // shard release, left the thread archived and every later attempt failing with "no rollout found").
  it.live("a rollout chunk stored though its append failed: the runner goes on from the stored size, no reload", () =>
    Effect.gen(function*() {
      const codex = yield* Codex.Codex
      const store = yield* Effect.provide(
        Effect.gen(function*() {
          return yield* CodexCluster.ThreadStore
        }),
        CodexCluster.layerStoreMemory
      )
      // the first two appends are stored, then fail
      let lost = 0
      const lossy: CodexCluster.Store = {
        ...store,
        appendRollout: (...args) =>
          Effect.andThen(store.appendRollout(...args), () =>
            lost++ < 2
              ? Effect.fail(CodexError.make(new CodexError.TransportError({ description: "acknowledgement lost" })))
              : Effect.void)
      }
      let archived = 0
      const counting = Codex.Codex.of({ ...codex, archiveThread: (threadId) => Effect.suspend(() => (archived++, codex.archiveThread(threadId))) })
      const layer = CodexCluster.layerEntity({ maxIdleTime: "1 second" }).pipe(
        Layer.provideMerge(CodexCluster.layerShardingEmbedded()),
        Layer.provide(Layer.succeed(Codex.Codex, counting)),
        Layer.provide(Layer.succeed(CodexCluster.ThreadStore, lossy))
      )
      yield* Effect.gen(function*() {
        const threads = yield* CodexThread.client
        const first = yield* threads("L").run("one")
        yield* threads("L").run("two")
        assert.strictEqual(lost, 2, "both appends were stored, then failed")
        const record = Option.getOrThrow(yield* store.load("L"))
        const file = Fs.readFileSync(Path.join((yield* codex.metadata).codexHome, record.rolloutPath), "utf8")
        assert.strictEqual(yield* store.rollout(first.threadId), file, "the store holds the whole history")
        yield* Effect.sleep("6500 millis") // the idle key is released (the cluster checks every 5 s at most)
        const third = yield* threads("L").run("three")
        assert.strictEqual(third.threadId, first.threadId)
        assert.strictEqual(archived, 0, "resumed as loaded, not reloaded")
        const request = yield* LocalModel.awaitRequest(2)
        Real.assertInOrder(LocalModel.messages(request), ["user: one", "user: two", "user: three"])
      }).pipe(Effect.provide(layer))
    }).pipe(Effect.provide(Real.layer([LocalModel.text("1"), LocalModel.text("2"), LocalModel.text("3")], Real.fast))))
})

describe("Cluster, embedded over a CodexPool: an app-server that dies", () => {
  // The pool replaces the dead server; the key's thread handle is bound to the dead process, so its
  // next turn fails at turn/start: the entity restores the thread (on the replacement, from the
  // stored rollout) and starts the turn once more. A turn running when its server dies fails.
  it.live("a key's next turn after its app-server died runs on the replacement with its history", () =>
    Effect.gen(function*() {
      const threads = yield* CodexThread.client
      const key = threads("T-9")
      const first = yield* key.run("Remember the word quince")
      const [pid] = pidsWithEnv(SERVER_VAR, "0")
      assert.isDefined(pid)
      process.kill(pid!, "SIGKILL") // while the key is idle
      yield* Effect.promise(() =>
        Cluster.until(() => (pidsWithEnv(SERVER_VAR, "0")[0] ?? pid) !== pid, 15_000, "a replacement process")
      )
      const after = yield* key.run("Which word?")
      assert.strictEqual(after.threadId, first.threadId)
      assert.strictEqual(after.attempt, 1)
      const request = yield* LocalModel.awaitRequest(1)
      Real.assertInOrder(LocalModel.messages(request), ["user: Remember the word quince", "user: Which word?"])

      const [second] = pidsWithEnv(SERVER_VAR, "0")
      const running = yield* Effect.forkChild(Effect.exit(key.run("This one hangs")))
      yield* LocalModel.awaitRequest(2)
      process.kill(second!, "SIGKILL") // mid-turn
      assert.strictEqual(exitReason(yield* Fiber.join(running))?._tag, "ProcessExited")
    }).pipe(
      Effect.provide(
        CodexCluster.layerEmbedded().pipe(
          Layer.provideMerge(Layer.unwrap(LocalModel.LocalModel.use((model) =>
            Effect.succeed(CodexPool.layer({
              size: 1,
              server: (index) => ({
                codexPath: CodexBinary.codexPath,
                codexHome: model.codexHome,
                config: model.appServerOptions.config,
                env: { [SERVER_VAR]: String(index) }
              })
            }))
          ))),
          Layer.provideMerge(LocalModel.layer([LocalModel.text("noted"), LocalModel.text("quince"), LocalModel.hang()], Real.fast.model)),
          Layer.provide(NodeServices.layer)
        )
      )
    ))
})
