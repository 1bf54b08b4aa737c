/**
 * 50 concurrent turns on 50 threads over one real app-server (LocalModel
 * answers each with text derived from its own prompt): zero events routed to
 * the wrong turn, none lost (checked against the raw notification stream).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Stream } from "effect"
import * as LocalModel from "../../src/layers/testing/LocalModel.ts"
import { AppServerClient, type Incoming } from "../../src/services/AppServerClient.ts"
import * as Codex from "../../src/services/Codex.ts"
import type * as TurnEvent from "../../src/streams/TurnEvent.ts"
import * as Real from "../support/Real.ts"

const N = 50


const prompt = (i: number) => `prompt-${i}-${(i * 7919).toString(36)}`
const answerTo = (text: string) => `answer to ${text}`

/** Each answer names the prompt it answers, streamed in 5 slow deltas so the turns interleave. */
const echo = (request: LocalModel.RecordedRequest): LocalModel.Step =>
  LocalModel.slow(
    LocalModel.text(answerTo(LocalModel.lastUserText(request) ?? "?"), {
      deltas: 5,
      usage: { input: 10, output: 5 }
    }),
    { chunkDelay: "3 millis" }
  )

/** The thread and turn ids an event names (undefined for events that name none). */
const idsOf = (event: TurnEvent.TurnEvent): { threadId?: string; turnId?: string } => {
  switch (event._tag) {
    case "Other":
    case "ApprovalRequested":
      return {}
    case "TurnStarted":
    case "TurnCompleted":
      return { threadId: event.threadId, turnId: event.turn.id }
    default:
      return { threadId: event.threadId, turnId: event.turnId }
  }
}

describe("Concurrency (real binary + LocalModel)", () => {
  it.live(`${N} concurrent turns on ${N} threads: zero events routed to the wrong turn, none lost`, () =>
    Effect.gen(function*() {
      const client = yield* AppServerClient
      // every notification codex sends, straight from the connection, to cross-check the routing
      const raw: Array<Incoming> = []
      const tap = yield* client.incoming.pipe(
        Stream.runForEach((incoming) => Effect.sync(() => raw.push(incoming))),
        Effect.forkChild
      )
      yield* Effect.yieldNow

      const started = performance.now()
      const threads = yield* Effect.forEach(Array.from({ length: N }, (_, i) => i), () => Codex.startThread(), {
        concurrency: N
      })
      assert.strictEqual(new Set(threads.map((t) => t.id)).size, N)

      const outcomes = yield* Effect.forEach(threads, (thread, i) =>
        Effect.scoped(Effect.gen(function*() {
          const turn = yield* thread.turn(prompt(i))
          const [events, result] = yield* Effect.all([Stream.runCollect(turn.events), turn.result], {
            concurrency: 2
          })
          return { i, thread, turn, events, result }
        })), { concurrency: N })
      const elapsed = performance.now() - started
      // the tap is a subscriber of its own and may lag behind the router: let it catch up
      const deadline = Date.now() + 5_000
      while (raw.filter((incoming) => incoming.method === "turn/completed").length < N && Date.now() < deadline) {
        yield* Effect.sleep("5 millis")
      }
      yield* Effect.sleep("20 millis")
      yield* Fiber.interrupt(tap)

      let wrong = 0
      let total = 0
      for (const { events, i, result, thread, turn } of outcomes) {
        assert.strictEqual(turn.threadId, thread.id)
        for (const event of events) {
          total++
          const ids = idsOf(event)
          if (ids.threadId !== undefined && ids.threadId !== thread.id) wrong++
          if (ids.turnId !== undefined && ids.turnId !== turn.id) wrong++
        }
        assert.strictEqual(events[0]!._tag, "TurnStarted", `turn ${i}`)
        assert.strictEqual(events[events.length - 1]!._tag, "TurnCompleted", `turn ${i}`)
        const deltas = events.flatMap((e) => (e._tag === "AgentMessageDelta" ? [e.delta] : [])).join("")
        assert.strictEqual(deltas, answerTo(prompt(i)), `turn ${i}: deltas`)
        assert.strictEqual(result.finalResponse, answerTo(prompt(i)), `turn ${i}: finalResponse`)
        assert.strictEqual(result.threadId, thread.id)
        assert.strictEqual(result.turnId, turn.id)
        assert.strictEqual(result.usage?.last.inputTokens, 10)
        const users = result.items.flatMap((item) =>
          item.type === "userMessage" ? item.content.flatMap((c) => (c.type === "text" ? [c.text] : [])) : []
        )
        assert.deepStrictEqual(users, [prompt(i)])

        // none lost: every raw notification naming this turn reached its handle, in order
        const rawTags = raw.flatMap((incoming) => {
          const params = incoming.params as { turnId?: unknown; turn?: { id?: unknown } } | null
          const turnId = params?.turnId ?? params?.turn?.id
          return turnId === turn.id ? [incoming.method] : []
        })
        assert.strictEqual(events.length, rawTags.length, `turn ${i}: every notification of the turn was routed to it`)
      }
      assert.strictEqual(wrong, 0)
      const requests = yield* LocalModel.requests
      assert.strictEqual(requests.length, N)
      console.log(
        `[concurrency] ${N} threads x 1 turn concurrently: ${total} events, ${wrong} misrouted, ` +
          `${elapsed.toFixed(0)} ms (start threads + turns)`
      )
    }).pipe(Effect.provide(Real.layer(Array.from({ length: N }, () => echo), Real.fast))))
})
