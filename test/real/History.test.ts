/**
 * A thread's history on the real binary + LocalModel: turns and items as Streams over pages (on the
 * handle and by id from another app-server process), revert, the loaded threads, unsubscribe (the
 * handle then refuses turns until the thread is resumed), metadata, delete.
 */
import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Stream } from "effect"
import * as LocalModel from "../../src/layers/testing/LocalModel.ts"
import type * as Protocol from "../../src/schema/generated/Protocol.gen.ts"
import * as Codex from "../../src/services/Codex.ts"
import { exitReason } from "../support/Errors.ts"
import * as Real from "../support/Real.ts"

const userTexts = (turns: ReadonlyArray<Protocol.Turn>) =>
  turns.flatMap((turn) =>
    turn.items.flatMap((item) =>
      item.type === "userMessage" ? item.content.flatMap((part) => part.type === "text" ? [part.text] : []) : []
    )
  )

const threeTurns = [LocalModel.text("A"), LocalModel.text("B"), LocalModel.text("C")]

describe("History (real binary + LocalModel)", () => {
  it.live("turns and items: Streams over pages of one, in codex's orders", () =>
    Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      const ids: Array<string> = []
      for (const prompt of ["one", "two", "three"]) ids.push((yield* thread.run(prompt)).turnId)

      const page = yield* thread.listTurns({ limit: 1 })
      assert.strictEqual(page.data.length, 1)
      assert.isString(page.nextCursor)
      // codex's default order is newest first
      const newestFirst = Array.from(yield* Stream.runCollect(thread.turns({ limit: 1 })))
      assert.deepStrictEqual(newestFirst.map((turn) => turn.id), [...ids].reverse())
      const oldestFirst = Array.from(yield* Stream.runCollect(thread.turns({ limit: 2, sortDirection: "asc" })))
      assert.deepStrictEqual(oldestFirst.map((turn) => turn.id), ids)
      assert.deepStrictEqual(userTexts(oldestFirst), ["one", "two", "three"])

      const items = Array.from(yield* Stream.runCollect(thread.items({ limit: 2 })))
      assert.deepStrictEqual(items.map((entry) => entry.item.type), [
        "userMessage",
        "agentMessage",
        "userMessage",
        "agentMessage",
        "userMessage",
        "agentMessage"
      ])
      assert.deepStrictEqual([...new Set(items.map((entry) => entry.turnId))], ids)
      const ofTurn = Array.from(yield* Stream.runCollect(thread.items({ turnId: ids[1]! })))
      assert.deepStrictEqual(ofTurn.map((entry) => entry.turnId), [ids[1], ids[1]])
    }).pipe(Effect.provide(Real.layer(threeTurns, Real.fast))))

  it.live("by id from a new app-server process: the thread's turns and items without resuming it", () =>
    Effect.gen(function*() {
      const threadId = yield* Effect.gen(function*() {
        const thread = yield* Codex.startThread()
        yield* thread.run("remember me")
        return thread.id
      }).pipe(Effect.provide(Codex.layer.pipe(Layer.provide(Real.appServer()))))
      const later = yield* Effect.gen(function*() {
        const turns = Array.from(yield* Stream.runCollect(Codex.turns(threadId)))
        const items = Array.from(yield* Stream.runCollect(Codex.items(threadId)))
        const loaded = Array.from(yield* Stream.runCollect(Codex.loadedThreads()))
        return { turns, items, loaded }
      }).pipe(Effect.provide(Codex.layer.pipe(Layer.provide(Real.appServer()))))
      assert.deepStrictEqual(userTexts(later.turns), ["remember me"])
      assert.deepStrictEqual(later.items.map((entry) => entry.item.type), ["userMessage", "agentMessage"])
      assert.notInclude(later.loaded, threadId, "listing history did not load the thread")
    }).pipe(Effect.provide(LocalModel.layer([LocalModel.text("Noted.")], Real.fast.model)), Effect.provide(NodeServices.layer)))

  it.live("revert: the reverted turn and later ones leave the history and the next model request", () =>
    Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      yield* thread.run("keep this")
      const second = yield* thread.run("drop this")
      yield* thread.run("and this")
      const reverted = yield* thread.revert(second.turnId)
      assert.strictEqual(reverted.thread.id, thread.id)
      assert.deepStrictEqual(reverted.thread.turns, [])
      assert.deepStrictEqual(userTexts(Array.from(yield* Stream.runCollect(thread.turns()))), ["keep this"])
      yield* thread.run("what is left?")
      const messages = LocalModel.messages(yield* LocalModel.awaitRequest(3))
      Real.assertInOrder(messages, ["user: keep this", "assistant: A", "user: what is left?"])
      assert.notInclude(messages, "user: drop this")
      assert.notInclude(messages, "user: and this")
    }).pipe(Effect.provide(Real.layer([...threeTurns, LocalModel.text("D")], Real.fast))))

  it.live("loaded threads: a page and a Stream of ids", () =>
    Effect.gen(function*() {
      const first = yield* Codex.startThread()
      const second = yield* Codex.startThread()
      const page = yield* Codex.listLoadedThreads({ limit: 1 })
      assert.strictEqual(page.data.length, 1)
      const all = Array.from(yield* Stream.runCollect(Codex.loadedThreads({ limit: 1 })))
      assert.sameMembers(all, [first.id, second.id])
    }).pipe(Effect.provide(Real.layer([], Real.fast))))

  it.live("unsubscribe: codex stops sending the thread's events, so the handle refuses turns until it is resumed", () =>
    Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      yield* thread.run("before")
      assert.strictEqual((yield* thread.unsubscribe).status, "unsubscribed")
      assert.strictEqual((yield* Codex.unsubscribeThread(thread.id)).status, "notSubscribed")
      const refused = exitReason(yield* Effect.exit(thread.run("after")))
      assert.strictEqual(refused?._tag, "InvalidOptions")
      assert.strictEqual(yield* LocalModel.remaining, 2, "no turn was started")
      const resumed = yield* Codex.resumeThread(thread.id)
      assert.strictEqual((yield* resumed.run("after resume")).finalResponse, "B")
      // the connection is subscribed again: the old handle runs turns too
      assert.strictEqual((yield* thread.run("old handle")).finalResponse, "C")
      assert.strictEqual((yield* Codex.unsubscribeThread("00000000-0000-7000-8000-000000000000")).status, "notLoaded")
    }).pipe(Effect.provide(Real.layer(threeTurns, Real.fast))))

  // codex 0.169 and 0.171 send none of the running turn's later events (no turn/completed) once unsubscribed
  it.live("unsubscribe while a turn of this connection runs is refused: that turn would never end", () =>
    Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      const turn = yield* thread.turn("slow")
      const refused = exitReason(yield* Effect.exit(thread.unsubscribe))
      assert.strictEqual(refused?._tag, "InvalidOptions")
      if (refused?._tag === "InvalidOptions") assert.include(refused.description, turn.id)
      assert.strictEqual((yield* turn.result).finalResponse, "all of it")
      assert.strictEqual((yield* Codex.unsubscribeThread(thread.id)).status, "unsubscribed")
    }).pipe(
      Effect.scoped,
      Effect.provide(
        Real.layer([LocalModel.slow(LocalModel.text("all of it", { deltas: 3 }), { chunkDelay: "100 millis" })], Real.fast)
      )
    ))

  it.live("metadata: the stored git info is patched field by field", () =>
    Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      yield* thread.run("hello")
      const updated = yield* thread.updateMetadata({ gitInfo: { branch: "feature/x", originUrl: "https://example.com/r.git" } })
      assert.strictEqual(updated.thread.gitInfo?.branch, "feature/x")
      assert.strictEqual(updated.thread.gitInfo?.originUrl, "https://example.com/r.git")
      const cleared = yield* thread.updateMetadata({ gitInfo: { originUrl: null } })
      assert.strictEqual(cleared.thread.gitInfo?.branch, "feature/x")
      assert.isNull(cleared.thread.gitInfo?.originUrl)
    }).pipe(Effect.provide(Real.layer([LocalModel.text("A")], Real.fast))))

  it.live("delete: the thread leaves the listing; deleting it again is codex's RpcError", () =>
    Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      yield* thread.run("short-lived")
      const other = yield* Codex.startThread()
      yield* other.run("stays")
      yield* thread.delete
      const listed = Array.from(yield* Stream.runCollect(Codex.threads())).map((t) => t.id)
      assert.deepStrictEqual(listed, [other.id])
      assert.strictEqual(exitReason(yield* Effect.exit(Codex.deleteThread(thread.id)))?._tag, "RpcError")
      yield* Codex.deleteThread(other.id)
      assert.deepStrictEqual(Array.from(yield* Stream.runCollect(Codex.threads())), [])
    }).pipe(Effect.provide(Real.layer([LocalModel.text("A"), LocalModel.text("B")], Real.fast))))
})
