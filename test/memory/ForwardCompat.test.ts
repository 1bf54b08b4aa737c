import { assert, describe, it } from "@effect/vitest"
import { Effect, Logger, Stream } from "effect"
import * as CodexTest from "../../src/layers/testing/CodexTest.ts"
import * as Codex from "../../src/services/Codex.ts"
import * as TurnEvent from "../../src/streams/TurnEvent.ts"
import { reasonOf } from "../support/Errors.ts"

// AgentMessageDisplay is a oneOf of {mode, version: 1, ...} since codex 0.171 (it was {action, blockType}):
// a `version: 2` display without `trustedContacts`, as a newer codex might send, does not decode.
const newerAgentMessage = (id: string, text: string) => ({
  type: "agentMessage",
  id,
  text,
  phase: "final_answer",
  moderation: { moderated: false, display: { mode: "show", version: 2 } }
})

/** Sends a notification whose params the pinned schemas cannot decode. */
const raw = (method: string, params: (turn: CodexTest.TurnContext) => Record<string, unknown>) =>
  CodexTest.custom(`raw(${method})`, (turn) => turn.notify(method as "item/completed", params(turn) as never))

const warnings = (into: Array<string>) =>
  Logger.layer([
    Logger.make(({ logLevel, message }) => {
      if (logLevel === "Warn") into.push(Array.isArray(message) ? message.join(" ") : String(message))
    })
  ])

describe("Forward compatibility: a newer codex never breaks a turn", () => {
  it.effect("a nested shape change (AgentMessageDisplay oneOf): the item is kept raw and the turn ends", () =>
    Effect.gen(function*() {
      const logs: Array<string> = []
      const { events, result } = yield* Effect.gen(function*() {
        const thread = yield* Codex.startThread()
        const turn = yield* Effect.scoped(Effect.gen(function*() {
          const turn = yield* thread.turn("hi")
          const events = yield* Stream.runCollect(turn.events)
          const result = yield* turn.result
          return { events, result }
        }))
        return turn
      }).pipe(
        Effect.provide(Codex.layer),
        Effect.provide(CodexTest.layer([
          CodexTest.turn(
            raw("item/started", (turn) => ({
              threadId: turn.threadId,
              turnId: turn.turnId,
              startedAtMs: 1,
              item: newerAgentMessage("msg_new", "")
            })),
            raw("item/completed", (turn) => ({
              threadId: turn.threadId,
              turnId: turn.turnId,
              completedAtMs: 2,
              item: newerAgentMessage("msg_new", "Hello from a newer codex")
            })),
            raw("item/completed", (turn) => ({
              threadId: turn.threadId,
              turnId: turn.turnId,
              completedAtMs: 3,
              item: newerAgentMessage("msg_new2", "again")
            }))
          )
        ])),
        Effect.provide(warnings(logs))
      )
      const tags = Array.from(events, (event) => event._tag)
      assert.include(tags, "ItemStarted")
      const completed = Array.from(events).filter(TurnEvent.is("ItemCompleted")).map((event) => event.item.id)
      assert.includeMembers(completed, ["msg_new", "msg_new2"])
      assert.strictEqual(tags.at(-1), "TurnCompleted")
      const kept = result.items.find((item) => item.id === "msg_new")
      assert.deepStrictEqual(kept, newerAgentMessage("msg_new", "Hello from a newer codex") as never)
      assert.strictEqual(result.finalResponse, "again")
      // one warning per method, not one per event
      assert.strictEqual(logs.filter((line) => line.includes("item/completed")).length, 1, JSON.stringify(logs))
    }))

  it.effect("an item type the pinned protocol does not know is kept raw in the result", () =>
    Effect.gen(function*() {
      const result = yield* Codex.startThread().pipe(
        Effect.flatMap((thread) => thread.run("hi")),
        Effect.provide(Codex.layer),
        Effect.provide(CodexTest.layer([
          CodexTest.turn(
            raw("item/completed", (turn) => ({
              threadId: turn.threadId,
              turnId: turn.turnId,
              completedAtMs: 1,
              item: { type: "hologram", id: "h1", frames: 3 }
            })),
            CodexTest.reply("done")
          )
        ]))
      )
      assert.deepStrictEqual(result.items.find((item) => item.id === "h1"), { type: "hologram", id: "h1", frames: 3 } as never)
      assert.strictEqual(result.finalResponse, "done")
    }))

  it.effect("an undecodable turn/completed still ends the turn, with its status", () =>
    Effect.gen(function*() {
      const completed = (status: string, error: unknown) =>
        raw("turn/completed", (turn) => ({
          threadId: turn.threadId,
          turn: { id: turn.turnId, status, items: [{ type: "hologram", id: "x" }], error, durationMs: 7, itemsView: 3 }
        }))
      const { ok, failed } = yield* Effect.gen(function*() {
        const thread = yield* Codex.startThread()
        const ok = yield* thread.run("one")
        const failed = yield* reasonOf(thread.run("two"))
        return { ok, failed }
      }).pipe(
        Effect.provide(Codex.layer),
        Effect.provide(CodexTest.layer([
          completed("completed", null),
          completed("failed", { message: "bio policy", codexErrorInfo: { bioPolicy: { level: 2 } } })
        ]))
      )
      assert.strictEqual(ok.status, "completed")
      assert.strictEqual(ok.durationMs, 7)
      // result.turn is what codex sent, undecoded
      assert.deepStrictEqual(ok.turn as unknown, {
        id: ok.turnId,
        status: "completed",
        items: [{ type: "hologram", id: "x" }],
        error: null,
        durationMs: 7,
        itemsView: 3
      })
      assert.strictEqual(failed._tag, "TurnFailed")
      assert.strictEqual(failed.message, "bio policy")
    }))

  it.effect("undecodable params of other methods arrive as Other, raw", () =>
    Effect.gen(function*() {
      const events = yield* Codex.startThread().pipe(
        Effect.flatMap((thread) => Effect.scoped(Effect.flatMap(thread.turn("hi"), (turn) => Stream.runCollect(turn.events)))),
        Effect.provide(Codex.layer),
        Effect.provide(CodexTest.layer([
          CodexTest.turn(
            raw("turn/plan/updated", (turn) => ({ threadId: turn.threadId, turnId: turn.turnId, plan: "not an array" })),
            CodexTest.reply("ok")
          )
        ]))
      )
      const other = Array.from(events).find(TurnEvent.is("Other"))
      assert.strictEqual(other?.method, "turn/plan/updated")
      assert.deepStrictEqual((other?.params as { plan?: unknown }).plan, "not an array")
    }))
})
