import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema, Stream } from "effect"
import * as LocalModel from "../../src/layers/testing/LocalModel.ts"
import * as Codex from "../../src/services/Codex.ts"
import * as TurnEvent from "../../src/streams/TurnEvent.ts"
import * as Real from "../support/Real.ts"

describe("Codex (real binary + LocalModel)", () => {
  it.live("runs a plain turn with deltas and usage", () =>
    Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      const result = yield* thread.run("Say hello")
      assert.strictEqual(result.status, "completed")
      assert.strictEqual(result.finalResponse, "Hello there, friend!")
      assert.strictEqual(result.threadId, thread.id)
      assert.isDefined(result.usage)
      assert.strictEqual(result.usage!.last.inputTokens, 1234)
      const types = result.items.map((item) => item.type)
      assert.deepStrictEqual(types, ["userMessage", "agentMessage"])
      assert.isAbove(result.durationMs, 0)
      // the protocol Turn of turn/completed: codex's own status, duration and summary of items
      assert.strictEqual(result.turn.id, result.turnId)
      assert.strictEqual(result.turn.status, "completed")
      assert.strictEqual(result.turn.durationMs, result.durationMs)
      assert.isNull(result.turn.error)
      assert.strictEqual(result.turn.itemsView, "summary")
      assert.deepStrictEqual(
        result.turn.items.map((item) => item.type === "agentMessage" ? item.text : item.type),
        ["Hello there, friend!"]
      )
    }).pipe(
      Effect.provide(Real.layer([
        LocalModel.text("Hello there, friend!", {
          deltas: 4,
          usage: { input: 1234, cached: 1000, output: 56, reasoning: 7 }
        })
      ]))
    ))

  it.live("streams the events of a turn; every run sees the whole turn", () =>
    Effect.scoped(Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      const turn = yield* thread.turn("Say hello")
      const text = yield* turn.events.pipe(TurnEvent.textDeltas, Stream.mkString)
      assert.strictEqual(text, "Hello there, friend!")
      const again = yield* Stream.runCollect(turn.events)
      const tags = again.map((event) => event._tag)
      assert.strictEqual(tags[0], "TurnStarted")
      assert.strictEqual(tags[tags.length - 1], "TurnCompleted")
      assert.isTrue(tags.includes("AgentMessageDelta"))
      const result = yield* turn.result
      assert.strictEqual(result.finalResponse, "Hello there, friend!")
    })).pipe(Effect.provide(Real.layer([LocalModel.text("Hello there, friend!", { deltas: 4 })]))))

  it.live("structured output decodes with the Schema", () =>
    Effect.gen(function*() {
      const Answer = Schema.Struct({ city: Schema.String, population: Schema.Number, note: Schema.optional(Schema.String) })
      const thread = yield* Codex.startThread()
      const result = yield* thread.run("Largest city?", { outputSchema: Answer })
      assert.deepStrictEqual(result.output, { city: "Tokyo", population: 37 })
      const model = yield* LocalModel.LocalModel
      const [request] = yield* model.requests
      const format = (request!.body as any).text.format
      assert.strictEqual(format.type, "json_schema")
      assert.strictEqual(format.strict, true)
      assert.deepStrictEqual(format.schema.required, ["city", "population", "note"])
    }).pipe(Effect.provide(Real.layer([LocalModel.json({ city: "Tokyo", population: 37, note: null })]))))
})
