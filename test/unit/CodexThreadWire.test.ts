import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Layer, Schema } from "effect"
import { RpcSerialization } from "effect/rpc"
import * as CodexThread from "../../src/services/CodexThread.ts"

const result = (usage: boolean): CodexThread.TurnResult =>
  CodexThread.wire({
    key: "T-1",
    runner: "127.0.0.1:4000",
    attempt: 2,
    replayed: false,
    threadId: "th",
    turnId: "tu",
    status: "completed",
    finalResponse: usage ? "done" : undefined,
    items: [{ type: "agentMessage", id: "i", text: "done", phase: null } as never],
    usage: usage ? ({ total: { totalTokens: 3 } } as never) : undefined,
    durationMs: 12,
    turn: { id: "tu", items: [], status: "completed" } as never
  })

const serializations = [
  ["binary", RpcSerialization.layerSchemaBinary()],
  ["ndjson", RpcSerialization.layerNdjson]
] as const

describe("CodexThread wire schemas", () => {
  for (const [name, layer] of serializations) {
    it.effect(`a result (with and without usage), a request and an event round-trip through ${name}`, () =>
      Effect.gen(function*() {
        const serialization = yield* RpcSerialization.RpcSerialization
        const wire = (encoded: unknown) => name === "ndjson" ? JSON.parse(JSON.stringify(encoded)) : encoded
        const roundTrip = <S extends Schema.Top & { readonly DecodingServices: never; readonly EncodingServices: never }>(
          schema: S,
          value: S["Type"]
        ) =>
          Effect.gen(function*() {
            const codec = serialization.codecFor(schema)
            return yield* Schema.decodeUnknownEffect(codec)(wire(yield* Schema.encodeEffect(codec)(value)))
          })
        for (const usage of [true, false]) {
          const value = result(usage)
          assert.deepStrictEqual(yield* roundTrip(CodexThread.TurnResult, value), value)
          // as a stored reply: an Exit of the result
          const exit = yield* roundTrip(Schema.Exit(CodexThread.TurnResult, Schema.Never, Schema.Defect()), Exit.succeed(value))
          assert.deepStrictEqual(Exit.isSuccess(exit) ? exit.value : undefined, value)
        }
        const request: CodexThread.TurnRequest = {
          input: [{ type: "text", text: "hi", text_elements: [] }],
          options: { model: "gpt-5.4", effort: "low" },
          turnKey: "review"
        }
        assert.deepStrictEqual(yield* roundTrip(CodexThread.TurnRequest, request), request)
        const event = { _tag: "AgentMessageDelta", threadId: "th", turnId: "tu", itemId: "i", delta: "x" } as const
        assert.deepStrictEqual(yield* roundTrip(CodexThread.TurnEventSchema, event as never), event)
      }).pipe(Effect.provide(layer as Layer.Layer<RpcSerialization.RpcSerialization>)))
  }

  it("wire leaves out undefined keys, keeps the rest", () => {
    const value = result(false)
    assert.isFalse("usage" in value)
    assert.isFalse("finalResponse" in value)
    assert.strictEqual(value.attempt, 2)
  })
})
