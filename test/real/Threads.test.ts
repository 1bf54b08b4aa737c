/**
 * Threads on the real binary + LocalModel: resume in a new app-server process
 * (same CODEX_HOME), fork, list across pages, read, setName, archive /
 * unarchive, compact.
 */
import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Stream } from "effect"
import * as LocalModel from "../../src/layers/testing/LocalModel.ts"
import type * as Protocol from "../../src/schema/generated/Protocol.gen.ts"
import * as Codex from "../../src/services/Codex.ts"
import * as Real from "../support/Real.ts"

/** codex's per-thread login-shell snapshot is not needed here and only costs CPU. */
const modelOptions: LocalModel.Options = { config: { features: { shell_snapshot: false } } }



/** A fresh Codex over a new app-server process on the LocalModel in context. */
const freshCodex = () => Codex.layer.pipe(Layer.provide(Real.appServer()))

/** Every id in the default listing (all pages). */
const listedIds = (options?: Parameters<typeof Codex.threads>[0]) =>
  Codex.threads(options).pipe(Stream.map((thread) => thread.id), Stream.runCollect)

describe("Threads (real binary + LocalModel)", () => {
  it.live("resume in a new app-server process: the next turn sees the earlier history", () =>
    Effect.gen(function*() {
      const codexHome = (yield* LocalModel.LocalModel).codexHome
      const firstProcess = yield* Effect.gen(function*() {
        const thread = yield* Codex.startThread()
        yield* thread.run("Remember the word kiwi")
        const metadata = yield* Codex.metadata
        return { id: thread.id, codexHome: metadata.codexHome }
      }).pipe(Effect.provide(freshCodex()))
      assert.strictEqual(firstProcess.codexHome, codexHome)

      const result = yield* Effect.gen(function*() {
        // the new process knows the thread from CODEX_HOME, not loaded yet
        const page = yield* Codex.listThreads()
        const listed = page.data.find((t) => t.id === firstProcess.id)
        assert.isDefined(listed)
        assert.strictEqual(listed!.status.type, "notLoaded")
        assert.strictEqual(listed!.preview, "Remember the word kiwi")
        const thread = yield* Codex.resumeThread(firstProcess.id)
        assert.strictEqual(thread.id, firstProcess.id)
        const run = yield* thread.run("Which word?")
        const read = yield* thread.read({ includeTurns: true })
        assert.strictEqual(read.thread.turns.length, 2)
        return run
      }).pipe(Effect.provide(freshCodex()))
      assert.strictEqual(result.finalResponse, "kiwi")
      assert.strictEqual(result.threadId, firstProcess.id)

      const request = yield* LocalModel.awaitRequest(1)
      Real.assertInOrder(LocalModel.messages(request), ["user: Remember the word kiwi", "assistant: Noted.", "user: Which word?"])
    }).pipe(
      Effect.provide(LocalModel.layer([LocalModel.text("Noted."), LocalModel.text("kiwi")], modelOptions)),
      Effect.provide(NodeServices.layer)
    ))

  it.live("fork: a new id with the history; the fork and its source then diverge", () =>
    Effect.gen(function*() {
      const source = yield* Codex.startThread()
      yield* source.run("alpha")
      const fork = yield* source.fork()
      assert.notStrictEqual(fork.id, source.id)
      assert.strictEqual(fork.info.forkedFromId, source.id)
      const forkRun = yield* fork.run("beta on the fork")
      assert.strictEqual(forkRun.threadId, fork.id)
      const sourceRun = yield* source.run("gamma on the source")
      assert.strictEqual(sourceRun.threadId, source.id)
      const [, forkRequest, sourceRequest] = yield* LocalModel.requests
      Real.assertInOrder(LocalModel.messages(forkRequest!), ["user: alpha", "assistant: A", "user: beta on the fork"])
      Real.assertInOrder(LocalModel.messages(sourceRequest!), ["user: alpha", "assistant: A", "user: gamma on the source"])
      assert.isFalse(LocalModel.messages(sourceRequest!).includes("user: beta on the fork"))
      // Codex.forkThread by id works too
      const again = yield* Codex.forkThread(source.id)
      assert.notStrictEqual(again.id, source.id)
      const read = yield* again.read({ includeTurns: true })
      assert.isAtLeast(read.thread.turns.length, 2)
    }).pipe(Effect.provide(Real.layer([LocalModel.text("A"), LocalModel.text("B"), LocalModel.text("C")], Real.fast))))

  it.live("list across pages; threads() streams every page; read; setName", () =>
    Effect.gen(function*() {
      const threads = yield* Effect.forEach(["one", "two", "three"], (prompt) =>
        Effect.gen(function*() {
          const thread = yield* Codex.startThread()
          yield* thread.run(prompt)
          return thread
        }))
      const ids = threads.map((t) => t.id).sort()

      // page by page with limit 1
      const paged: Array<string> = []
      let cursor: string | null | undefined = undefined
      let pages = 0
      do {
        const page: Protocol.ThreadListResponse = yield* Codex.listThreads({
          limit: 1,
          ...(cursor === undefined ? {} : { cursor })
        })
        pages++
        assert.isAtMost(page.data.length, 1)
        paged.push(...page.data.map((t) => t.id))
        cursor = page.nextCursor
      } while (cursor !== undefined && cursor !== null && pages < 10)
      assert.deepStrictEqual([...paged].sort(), ids)
      assert.isAtLeast(pages, 3)

      // the stream walks the same pages
      assert.deepStrictEqual([...(yield* listedIds({ limit: 1 }))].sort(), ids)
      assert.deepStrictEqual([...(yield* listedIds())].sort(), ids)

      // read with turns
      const [first] = threads
      const read = yield* first!.read({ includeTurns: true })
      assert.strictEqual(read.thread.id, first!.id)
      assert.strictEqual(read.thread.turns.length, 1)
      assert.strictEqual(read.thread.turns[0]!.status, "completed")
      const itemTypes = read.thread.turns[0]!.items.map((item) => item.type)
      assert.include(itemTypes, "userMessage")
      assert.include(itemTypes, "agentMessage")
      const withoutTurns = yield* first!.read()
      assert.strictEqual(withoutTurns.thread.turns.length, 0)

      // setName: visible in read and list
      yield* first!.setName("Named thread")
      assert.strictEqual((yield* first!.read()).thread.name, "Named thread")
      const listed = yield* Codex.threads().pipe(Stream.filter((t) => t.id === first!.id), Stream.runCollect)
      assert.strictEqual(listed[0]?.name, "Named thread")
    }).pipe(Effect.provide(Real.layer([LocalModel.text("1"), LocalModel.text("2"), LocalModel.text("3")], Real.fast))))

  it.live("archive / unarchive: hidden from the default list, shown with archived: true; resumed, it runs a turn", () =>
    Effect.gen(function*() {
      const kept = yield* Codex.startThread()
      yield* kept.run("kept")
      const thread = yield* Codex.startThread()
      yield* thread.run("to archive")

      yield* thread.archive
      const active = yield* listedIds()
      assert.include([...active], kept.id)
      assert.notInclude([...active], thread.id)
      const archived = yield* listedIds({ archived: true })
      assert.deepStrictEqual([...archived], [thread.id])

      // an archived thread takes no turns
      const error = yield* thread.run("while archived").pipe(Effect.flip)
      assert.strictEqual(error.reason._tag, "RpcError")
      assert.include(error.message, "thread not found")

      const restored = yield* Codex.unarchiveThread(thread.id)
      assert.strictEqual(restored.id, thread.id)
      assert.include([...(yield* listedIds())], thread.id)
      assert.deepStrictEqual([...(yield* listedIds({ archived: true }))], [])
      // resuming explicitly works too
      const resumed = yield* Codex.resumeThread(thread.id)
      const result = yield* resumed.run("after unarchive")
      assert.strictEqual(result.finalResponse, "back")
      const request = yield* LocalModel.awaitRequest(2)
      Real.assertInOrder(LocalModel.messages(request), ["user: to archive", "assistant: a", "user: after unarchive"])

      // Codex.archiveThread by id
      yield* Codex.archiveThread(kept.id)
      assert.deepStrictEqual([...(yield* listedIds({ archived: true }))], [kept.id])
    }).pipe(Effect.provide(Real.layer([LocalModel.text("k"), LocalModel.text("a"), LocalModel.text("back")], Real.fast))))

  // codex unloads a thread when it archives it; unarchiveThread loads it again
  // so the returned Thread can run turns (the contract).
  it.live("the Thread returned by unarchiveThread runs a turn", () =>
    Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      yield* thread.run("to archive")
      yield* thread.archive
      const restored = yield* Codex.unarchiveThread(thread.id)
      const result = yield* restored.run("after unarchive")
      assert.strictEqual(result.finalResponse, "back")
    }).pipe(Effect.provide(Real.layer([LocalModel.text("a"), LocalModel.text("back")], Real.fast))))

  it.live("compact: waits for codex's compaction turn; the next turn sees the summary, not the old messages", () =>
    Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      yield* thread.run("first message")
      yield* thread.run("second message")
      const before = performance.now()
      yield* thread.compact
      const compactMs = performance.now() - before
      const requests = yield* LocalModel.requests
      assert.strictEqual(requests.length, 3, "compact returned after the compaction request")
      const compaction = requests[2]!
      Real.assertInOrder(LocalModel.messages(compaction), ["user: first message", "assistant: r1", "user: second message", "assistant: r2"])
      assert.isTrue(LocalModel.messages(compaction).some((m) => m.includes("CONTEXT CHECKPOINT COMPACTION")))
      assert.deepStrictEqual(LocalModel.toolNames(compaction), [])
      // the compaction ran as a turn with a contextCompaction item
      const read = yield* thread.read({ includeTurns: true })
      assert.strictEqual(read.thread.turns.length, 3)
      const compactTurn = read.thread.turns[2]!
      assert.strictEqual(compactTurn.status, "completed")
      assert.deepStrictEqual(compactTurn.items.map((item) => item.type), ["contextCompaction"])

      // a turn right after compact works (before the fix it failed with
      // "ActiveTurnNotSteerable { turn_kind: Compact }")
      const result = yield* thread.run("after compaction")
      assert.strictEqual(result.finalResponse, "fine")
      const next = yield* LocalModel.awaitRequest(3)
      const texts = LocalModel.messages(next)
      assert.isTrue(texts.some((m) => m.includes("SUMMARY: two messages")), JSON.stringify(texts))
      assert.isFalse(texts.includes("assistant: r1"), "old assistant messages were compacted away")
      assert.strictEqual(texts[texts.length - 1], "user: after compaction")
      console.log(`[threads] compact (request + compaction turn) took ${compactMs.toFixed(1)} ms`)

      // compacting a thread without turns runs (and waits for) a compaction turn too
      const empty = yield* Codex.startThread()
      yield* empty.compact.pipe(Effect.timeout("5 seconds"))
      assert.strictEqual((yield* LocalModel.requests).length, 5)

      // a compaction that fails is a TurnFailed, like a failed turn
      const failed = yield* empty.compact.pipe(
        Effect.map(() => undefined),
        Effect.catchReason("CodexError", "TurnFailed", (reason) => Effect.succeed(reason.codexErrorInfo))
      )
      assert.strictEqual(failed, "internalServerError")
    }).pipe(Effect.provide(Real.layer([
      LocalModel.text("r1"),
      LocalModel.text("r2"),
      LocalModel.text("SUMMARY: two messages"),
      LocalModel.text("fine"),
      LocalModel.text("empty summary"),
      LocalModel.serverError()
    ], Real.fast))))
})
