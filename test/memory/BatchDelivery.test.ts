/**
 * Batch delivery: the client routes turns on its reader (an internal tap), a batch of lines read at
 * once reaches a turn's stream in one wake, a tap that throws is dropped without stopping the
 * reader, and a client built by hand (no tap) still gets its turns routed.
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Layer, Queue, Stream } from "effect"
import * as P from "../../src/layers/testing/internal/codexTestPayloads.ts"
import * as CodexError from "../../src/schema/CodexError.ts"
import * as AppServerClient from "../../src/services/AppServerClient.ts"
import * as Codex from "../../src/services/Codex.ts"
import * as Tap from "../../src/services/internal/tap.ts"
import * as Transport from "../../src/services/Transport.ts"

const THREAD_ID = P.uuid("8", 7)
const TURN_ID = P.uuid("9", 7)

const threadState = P.idleThread(THREAD_ID)

const line = (value: unknown) => JSON.stringify(value)
const turnStarted = line({ method: "turn/started", params: { threadId: THREAD_ID, turn: P.turnInProgress(TURN_ID, 0) } })
const delta = (i: number) =>
  line({ method: "item/agentMessage/delta", params: { threadId: THREAD_ID, turnId: TURN_ID, itemId: "msg_1", delta: `t${i} ` } })
const turnCompleted = line({
  method: "turn/completed",
  params: { threadId: THREAD_ID, turn: { ...P.turnInProgress(TURN_ID, 0), status: "completed", completedAt: 1, durationMs: 1 } }
})

/**
 * A transport whose server side answers the handshake, `thread/start` and `turn/start` (with
 * `turn/started` in the same batch); `push` hands the client many lines as ONE batch, as a read of
 * stdout does.
 */
const batchTransport = Effect.gen(function*() {
  const toClient = yield* Queue.unbounded<string, CodexError.CodexError>()
  const push = (lines: ReadonlyArray<string>) => Queue.offerAllUnsafe(toClient, lines)
  const transport = Transport.Transport.of({
    offer: (raw) => {
      const message = JSON.parse(raw) as { id?: number; method?: string }
      const reply = (result: unknown) => line({ id: message.id, result })
      switch (message.method) {
        case "initialize":
          push([reply({ userAgent: "fake/0.169.0", codexHome: "/tmp", platformFamily: "unix", platformOs: "linux" })])
          break
        case "thread/start":
          push([reply({
            thread: P.threadRecord(threadState, { codexHome: "/tmp", originator: "test", withTurns: false }),
            ...P.threadSettings(threadState)
          })])
          break
        case "turn/start":
          push([reply({ turn: P.turnInProgress(TURN_ID, 0) }), turnStarted])
          break
      }
      return true
    },
    incoming: Stream.fromQueue(toClient)
  })
  return { transport, push }
})

/** Runs a turn; once its stream has shown `turn/started`, the rest of the turn arrives as one batch. */
const runTurn = (push: (lines: ReadonlyArray<string>) => void, deltas: number) =>
  Effect.gen(function*() {
    const codex = yield* Codex.Codex
    const thread = yield* codex.startThread()
    const turn = yield* thread.turn("go")
    const started = yield* Deferred.make<void>()
    const chunks: Array<number> = []
    const consumer = yield* turn.events.pipe(
      Stream.runForEachArray((chunk) =>
        Effect.sync(() => chunks.push(chunk.length)).pipe(
          Effect.andThen(chunk[0]?._tag === "TurnStarted" ? Deferred.succeed(started, undefined) : Effect.void)
        )
      ),
      Effect.forkChild
    )
    yield* Deferred.await(started)
    // let the consumer go back to waiting for the next change
    for (let i = 0; i < 5; i++) yield* Effect.yieldNow
    push([...Array.from({ length: deltas }, (_, i) => delta(i)), turnCompleted])
    yield* Fiber.join(consumer)
    const result = yield* turn.result
    return { chunks, result }
  })

describe("batch delivery", () => {
  it.effect("a batch of N deltas wakes the turn stream once", () =>
    Effect.gen(function*() {
      const { push, transport } = yield* batchTransport
      const layer = Codex.layer.pipe(
        Layer.provideMerge(AppServerClient.layer()),
        Layer.provide(Layer.succeed(Transport.Transport, transport))
      )
      const { chunks, result } = yield* runTurn(push, 500).pipe(Effect.provide(layer))
      // turn/started alone, then the 500 deltas and turn/completed in one chunk (per event it was 501 chunks)
      assert.deepStrictEqual(chunks, [1, 501])
      assert.strictEqual(result.status, "completed")
    }))

  it.effect("a client built by hand (no tap) still gets its turns routed, a batch at a time", () =>
    Effect.gen(function*() {
      const { push, transport } = yield* batchTransport
      // a copy of the real client's service: the same operations, no tap behind it
      const handBuilt = Layer.effect(
        AppServerClient.AppServerClient,
        Effect.map(AppServerClient.make(), (client) => AppServerClient.AppServerClient.of({ ...client }))
      )
      const layer = Codex.layer.pipe(
        Layer.provideMerge(handBuilt),
        Layer.provide(Layer.succeed(Transport.Transport, transport))
      )
      const { chunks, result } = yield* runTurn(push, 50).pipe(Effect.provide(layer))
      assert.strictEqual(chunks.reduce((a, b) => a + b, 0), 52)
      assert.strictEqual(result.status, "completed")
    }))

  it.effect("a tap that throws is removed and told why; the reader goes on for everyone else", () =>
    Effect.gen(function*() {
      const { push, transport } = yield* batchTransport
      yield* Effect.gen(function*() {
        const client = yield* AppServerClient.AppServerClient
        const register = Tap.of(client)
        assert.isDefined(register)
        const seen: Array<string> = []
        const defects: Array<unknown> = []
        const ends: Array<string> = []
        yield* register!({
          message: (incoming) => {
            seen.push(incoming.method)
            if (incoming.method === "turn/started") throw new Error("boom")
            return undefined
          },
          batchEnd: () => {},
          end: (error) => void ends.push(error.reason._tag),
          defect: (error) => Effect.sync(() => void defects.push(error))
        })
        const subscriber = yield* client.subscribe
        push([delta(1), turnStarted, delta(2)])
        const received = yield* subscriber.pipe(Stream.take(3), Stream.runCollect)
        assert.deepStrictEqual(received.map((incoming) => incoming.method), [
          "item/agentMessage/delta",
          "turn/started",
          "item/agentMessage/delta"
        ])
        assert.deepStrictEqual(seen, ["item/agentMessage/delta", "turn/started"])
        assert.strictEqual(defects.length, 1)
        assert.strictEqual((defects[0] as Error).message, "boom")
        // requests are still answered
        const started = yield* client.request("thread/start", {})
        assert.strictEqual(started.thread.id, THREAD_ID)
        assert.deepStrictEqual(ends, [])
      }).pipe(Effect.provide(AppServerClient.layer().pipe(Layer.provide(Layer.succeed(Transport.Transport, transport)))))
    }))

  it.effect("a tap hears the end of the connection after its last message", () =>
    Effect.gen(function*() {
      const toClient = yield* Queue.unbounded<string, CodexError.CodexError>()
      const transport = Transport.Transport.of({
        offer: (raw) => {
          const message = JSON.parse(raw) as { id?: number; method?: string }
          if (message.method === "initialize") {
            Queue.offerUnsafe(toClient, line({ id: message.id, result: { userAgent: "x", codexHome: "/tmp", platformFamily: "unix", platformOs: "linux" } }))
          }
          return true
        },
        incoming: Stream.fromQueue(toClient)
      })
      yield* Effect.gen(function*() {
        const client = yield* AppServerClient.AppServerClient
        const log: Array<string> = []
        const ended = yield* Deferred.make<void>()
        yield* Tap.of(client)!({
          message: (incoming) => void log.push(incoming.method),
          batchEnd: () => void log.push("batch end"),
          end: (error) => {
            log.push(`end ${error.reason._tag}`)
            Deferred.doneUnsafe(ended, Effect.void)
          },
          defect: () => Effect.void
        })
        Queue.offerAllUnsafe(toClient, [delta(1), delta(2)])
        yield* Queue.fail(toClient, CodexError.make(new CodexError.ProcessExited({ exitCode: 1, signal: undefined, stderrTail: [] })))
        yield* Deferred.await(ended)
        // (a batch end may come first: the batch that answered initialize ended after the tap was registered)
        assert.deepStrictEqual(log.slice(log.indexOf("item/agentMessage/delta")), [
          "item/agentMessage/delta",
          "item/agentMessage/delta",
          "batch end",
          "end ProcessExited"
        ])
      }).pipe(Effect.provide(AppServerClient.layer().pipe(Layer.provide(Layer.succeed(Transport.Transport, transport)))))
    }))
})
