/**
 * `CodexPool` over real app-server processes, all pointed at one LocalModel
 * and sharing its CODEX_HOME. Each server gets `POOL_TEST_SERVER=<index>` in
 * its environment, so its pid is found with `pidsWithEnv` (a replacement gets
 * the same index, and so the same variable).
 *
 * - codex allows one writer per thread: a second app-server on the same
 *   CODEX_HOME cannot resume a thread another one has loaded;
 * - turns spread over the servers (one process per server, threads placed on
 *   the least loaded, each thread's turns run by its server);
 * - a server SIGKILLed mid-turn fails only its own turns, is replaced by a new
 *   process, and its thread resumes there with its history;
 * - no process is left after the pool closes (pid checks).
 */
import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Exit, Fiber, Layer, Option, Scope } from "effect"
import * as CodexPool from "../../src/layers/CodexPool.ts"
import * as LocalModel from "../../src/layers/testing/LocalModel.ts"
import * as Codex from "../../src/services/Codex.ts"
import { exitReason } from "../support/Errors.ts"
import { awaitNoPidsWithEnv, isAlive, pidsWithEnv } from "../support/Home.ts"
import * as CodexBinary from "../support/CodexBinary.ts"
import * as Real from "../support/Real.ts"

const SERVER_VAR = "POOL_TEST_SERVER"

/** The pool's servers pointed at the LocalModel in context. */
const poolOf = (options: CodexPool.PoolOptions) =>
  Layer.unwrap(LocalModel.LocalModel.use((model) =>
    Effect.succeed(CodexPool.layer({
      ...options,
      server: (index) => ({
        codexPath: CodexBinary.codexPath,
        codexHome: model.codexHome,
        config: model.appServerOptions.config,
        env: { [SERVER_VAR]: String(index) }
      })
    }))
  ))

/** A LocalModel (in the test's Scope) and a pool built into a Scope of its own, closed by the test. */
const start = (script: ReadonlyArray<LocalModel.Step>, options: CodexPool.PoolOptions) =>
  Effect.gen(function*() {
    const model = yield* LocalModel.make(script, Real.fast.model)
    const scope = yield* Scope.make()
    const context = yield* Layer.buildWithScope(
      poolOf(options).pipe(Layer.provide(Layer.succeed(LocalModel.LocalModel, model)), Layer.provide(NodeServices.layer)),
      scope
    )
    return { model, scope, codex: Context.get(context, Codex.Codex), pool: Context.get(context, CodexPool.CodexPool) }
  })

const pidOf = (index: number): number => {
  const pids = pidsWithEnv(SERVER_VAR, String(index))
  assert.strictEqual(pids.length, 1, `one process for server ${index}: ${pids.join(", ")}`)
  return pids[0]!
}

const serverOf = (pool: CodexPool.Service, threadId: string) => Effect.map(pool.serverOf(threadId), Option.getOrUndefined)

/** Closes the pool and checks that no process with the model's CODEX_HOME is left. */
const closeAndCheck = (scope: Scope.Closeable, model: LocalModel.Service) =>
  Effect.gen(function*() {
    yield* Scope.close(scope, Exit.void)
    assert.deepStrictEqual(yield* awaitNoPidsWithEnv("CODEX_HOME", model.codexHome, 5_000), [], "no process left")
  })

describe("CodexPool (real binary + LocalModel)", () => {
  it.live("one writer per thread: a second app-server on the same CODEX_HOME cannot resume a thread another has loaded", () =>
    Effect.gen(function*() {
      const { codex, model, scope } = yield* start([LocalModel.text("one")], { size: 1 })
      const thread = yield* codex.startThread()
      yield* thread.run("first")
      const other = yield* Effect.flip(
        Codex.resumeThread(thread.id).pipe(
          Effect.provide(Codex.layer.pipe(
            Layer.provide(Real.appServer()),
            Layer.provide(Layer.succeed(LocalModel.LocalModel, model)),
            Layer.provide(NodeServices.layer)
          ))
        )
      )
      assert.strictEqual(other.reason._tag, "RpcError")
      if (other.reason._tag === "RpcError") {
        assert.strictEqual(other.reason.code, -32600)
        assert.include(other.reason.message, "already has an active writer")
      }
      yield* closeAndCheck(scope, model)
    }))

  it.live("turns spread over the servers: one process each, threads on the least loaded, each thread's turns run by its server", () =>
    Effect.gen(function*() {
      const answer = (request: LocalModel.RecordedRequest) => LocalModel.text(`re: ${LocalModel.lastUserText(request)}`)
      const { codex, model, pool, scope } = yield* start(Array.from({ length: 6 }, () => answer), { size: 3 })
      const pids = [0, 1, 2].map(pidOf)
      assert.strictEqual(new Set(pids).size, 3)
      const threads = yield* Effect.forEach([0, 1, 2, 3, 4, 5], () => codex.startThread(), { concurrency: "unbounded" })
      const placed = yield* Effect.forEach(threads, (thread) => serverOf(pool, thread.id))
      assert.deepStrictEqual([0, 1, 2].map((index) => placed.filter((at) => at === index).length), [2, 2, 2])
      const results = yield* Effect.forEach(threads, (thread, i) => thread.run(`task ${i}`), { concurrency: "unbounded" })
      assert.deepStrictEqual(results.map((result) => result.finalResponse), threads.map((_, i) => `re: task ${i}`))
      assert.strictEqual((yield* model.requests).length, 6)
      // each server's process holds its threads' writers: killing one fails exactly its threads' turns
      const doomed = placed[0]!
      process.kill(pids[doomed]!, "SIGKILL")
      const after = yield* Effect.forEach(threads, (thread) => Effect.exit(thread.read()))
      assert.deepStrictEqual(
        after.map((exit) => exitReason(exit)?._tag ?? "ok"),
        placed.map((at) => at === doomed ? "ProcessExited" : "ok")
      )
      yield* closeAndCheck(scope, model)
    }))

  it.live("a server killed mid-turn fails only its own turns, is replaced, and its thread resumes on the replacement with its history", () =>
    Effect.gen(function*() {
      const { codex, model, pool, scope } = yield* start([
        LocalModel.text("noted A"),
        LocalModel.text("noted B"),
        LocalModel.hang(LocalModel.text("A never ends")),
        LocalModel.slow(LocalModel.text("B finishes", { deltas: 5 }), { chunkDelay: "200 millis" }),
        LocalModel.text("A again")
      ], { size: 2 })
      const a = yield* codex.startThread()
      const b = yield* codex.startThread()
      assert.strictEqual(yield* serverOf(pool, a.id), 0)
      assert.strictEqual(yield* serverOf(pool, b.id), 1)
      yield* a.run("first A")
      yield* b.run("first B")
      const killed = pidOf(0)
      const survivor = pidOf(1)

      const turnA = yield* Effect.forkChild(Effect.exit(a.run("second A")))
      yield* model.awaitRequest(2)
      const turnB = yield* Effect.forkChild(Effect.exit(b.run("second B")))
      yield* model.awaitRequest(3)
      const killedAt = Date.now()
      process.kill(killed, "SIGKILL")
      const exitA = yield* Fiber.join(turnA)
      const failedAfter = Date.now() - killedAt
      const reason = exitReason(exitA)
      assert.strictEqual(reason?._tag, "ProcessExited")
      if (reason?._tag === "ProcessExited") assert.strictEqual(reason.signal, "SIGKILL")
      assert.isBelow(failedAfter, 2_000, "the dead server's turn fails at once")
      assert.isUndefined(turnB.pollUnsafe(), "the other server's turn goes on")

      const exitB = yield* Fiber.join(turnB)
      assert.strictEqual(Exit.isSuccess(exitB) ? exitB.value.finalResponse : undefined, "B finishes")
      assert.isTrue(isAlive(survivor))

      // the replacement: a new process in place 0, with no thread
      while (!(yield* pool.servers).every((server) => server.status === "up")) yield* Effect.sleep("20 millis")
      const servers = yield* pool.servers
      assert.deepStrictEqual(servers.map((server) => server.restarts), [1, 0])
      assert.deepStrictEqual(servers.map((server) => server.threads), [[], [b.id]])
      const replacement = pidOf(0)
      assert.notStrictEqual(replacement, killed)
      assert.isFalse(isAlive(killed))

      // the old handle is bound to the dead process; resumed, the thread goes to the replacement (least loaded)
      assert.strictEqual(exitReason(yield* Effect.exit(a.run("on the dead server")))?._tag, "ProcessExited")
      const resumed = yield* codex.resumeThread(a.id)
      assert.strictEqual(yield* serverOf(pool, a.id), 0)
      const third = yield* resumed.run("third A")
      assert.strictEqual(third.finalResponse, "A again")
      const request = (yield* model.requests)[4]!
      Real.assertInOrder(LocalModel.messages(request), ["user: first A", "assistant: noted A", "user: third A"])
      assert.notInclude(LocalModel.messages(request), "user: first B")
      yield* closeAndCheck(scope, model)
    }))
})
