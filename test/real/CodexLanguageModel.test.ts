/**
 * `CodexLanguageModel` on the real binary + LocalModel: effect/ai's `generateText`, `streamText`,
 * `generateObject`, a toolkit answered inside the turn, errors, and a `Chat` of two turns on one thread
 * (the second model request carries the first turn as history).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Schema, Stream } from "effect"
import { AiError, Chat, LanguageModel, Tool, Toolkit } from "effect/ai"
import * as LocalModel from "../../src/layers/testing/LocalModel.ts"
import * as CodexLanguageModel from "../../src/services/CodexLanguageModel.ts"
import * as Real from "../support/Real.ts"

/** The language model over the real codex over a LocalModel playing `script`. */
const provide = (script: ReadonlyArray<LocalModel.Step>, options?: CodexLanguageModel.Options) =>
<A, E, R>(self: Effect.Effect<A, E, R>) =>
  self.pipe(Effect.provide(CodexLanguageModel.layer(options).pipe(Layer.provideMerge(Real.layer(script, Real.fast)))))

const usage = { input: 1200, cached: 1000, output: 34, reasoning: 4 }

describe("CodexLanguageModel (real binary + LocalModel)", () => {
  it.live("generateText: the answer, its reasoning, the finish reason and the turn's usage", () =>
    Effect.gen(function*() {
      const response = yield* LanguageModel.generateText({
        prompt: [{ role: "system", content: "Answer briefly." }, { role: "user", content: "Say hello" }]
      })
      assert.strictEqual(response.text, "Hello from codex!")
      assert.strictEqual(response.reasoningText, "A greeting is asked for.")
      assert.strictEqual(response.finishReason, "stop")
      assert.strictEqual(response.usage.inputTokens.total, 1200)
      assert.strictEqual(response.usage.inputTokens.cacheRead, 1000)
      assert.strictEqual(response.usage.outputTokens.total, 34)
      const [request] = yield* LocalModel.requests
      // the system message reached the model as developer instructions, the user message as the user's
      const messages = LocalModel.messages(request!)
      assert.isTrue(messages.some((line) => line.startsWith("developer: Answer briefly.")), messages.join("\n"))
      assert.strictEqual(messages.at(-1), "user: Say hello")
    }).pipe(provide([
      LocalModel.response([LocalModel.reasoning("A greeting is asked for."), LocalModel.text("Hello from codex!")], { usage })
    ])), 60_000)

  it.live("streamText: text-start, the deltas as the model sent them, text-end, then finish", () =>
    Effect.gen(function*() {
      const parts = Array.from(yield* Stream.runCollect(LanguageModel.streamText({ prompt: "Count to three" })))
      const text = parts.filter((part) => part.type.startsWith("text"))
      assert.strictEqual(text[0]?.type, "text-start")
      assert.strictEqual(text.at(-1)?.type, "text-end")
      const deltas = parts.flatMap((part) => part.type === "text-delta" ? [part.delta] : [])
      assert.deepStrictEqual(deltas, ["one, ", "two, ", "three"])
      assert.strictEqual(parts[0]?.type, "response-metadata")
      assert.strictEqual(parts.at(-1)?.type, "finish")
    }).pipe(provide([LocalModel.text("one, two, three", { deltas: ["one, ", "two, ", "three"] })])), 60_000)

  it.live("generateObject: the model gets the strict schema as the response format; the answer decodes", () =>
    Effect.gen(function*() {
      const Verdict = Schema.Struct({ verdict: Schema.Literals(["ok", "needs work"]), notes: Schema.optional(Schema.String) })
      const response = yield* LanguageModel.generateObject({ prompt: "Review the change", schema: Verdict })
      assert.deepStrictEqual(response.value, { verdict: "needs work" })
      const [request] = yield* LocalModel.requests
      const format = (request!.body as { text?: { format?: { type?: string; strict?: boolean; schema?: unknown } } }).text?.format
      assert.strictEqual(format?.type, "json_schema")
      assert.strictEqual(format?.strict, true)
      assert.deepStrictEqual((format?.schema as { required?: unknown }).required, ["verdict", "notes"])
    }).pipe(provide([LocalModel.json({ verdict: "needs work", notes: null })])), 60_000)

  it.live("a toolkit tool: codex calls it, the handler answers inside the turn, the model gets the result", () =>
    Effect.gen(function*() {
      const Weather = Tool.make("weather", {
        description: "Temperature in a city, in Celsius",
        parameters: Schema.Struct({ city: Schema.String }),
        success: Schema.Struct({ celsius: Schema.Number })
      })
      const Tools = Toolkit.make(Weather)
      const response = yield* LanguageModel.generateText({ prompt: "How warm is Paris?", toolkit: Tools }).pipe(
        Effect.provide(Tools.toLayer({ weather: ({ city }) => Effect.succeed({ celsius: city === "Paris" ? 18 : 0 }) }))
      )
      assert.strictEqual(response.text, "It is 18 °C in Paris.")
      assert.deepStrictEqual(response.toolCalls.map((part) => [part.name, part.params, part.providerExecuted]), [
        ["weather", { city: "Paris" }, true]
      ])
      assert.deepStrictEqual(response.toolResults.map((part) => part.result), [{ celsius: 18 }])
      const requests = yield* LocalModel.requests
      assert.include(LocalModel.toolNames(requests[0]!), "weather")
      assert.deepStrictEqual(LocalModel.toolOutputs(requests[1]!).map((output) => output.output), ["{\"celsius\":18}"])
    }).pipe(provide([
      LocalModel.toolCall("weather", { city: "Paris" }),
      (request) => LocalModel.text(`It is ${JSON.parse(LocalModel.toolOutputs(request)[0]!.output).celsius} °C in Paris.`)
    ])), 60_000)

  it.live("codex's own commands show as provider-executed tool calls with CodexTools in the toolkit", () =>
    Effect.gen(function*() {
      const response = yield* LanguageModel.generateText({ prompt: "List the files", toolkit: CodexLanguageModel.CodexTools })
      const [call] = response.toolCalls
      assert.strictEqual(call?.name, "codex_command_execution")
      assert.strictEqual((call?.params as { command: string }).command, "echo listed")
      const [result] = response.toolResults
      assert.strictEqual(result?.isFailure, false)
      assert.include((result?.result as { output: string }).output, "listed")
      assert.strictEqual(response.text, "Done.")
    }).pipe(provide([LocalModel.shell("echo listed"), LocalModel.text("Done.")])), 60_000)

  it.live("errors: a rate-limited model is a RateLimitError, an exhausted quota a QuotaExhaustedError", () =>
    Effect.gen(function*() {
      const limited = yield* Effect.flip(LanguageModel.generateText({ prompt: "one" }))
      assert.isTrue(AiError.isAiError(limited))
      assert.strictEqual(limited.reason._tag, "RateLimitError")
      assert.isTrue(limited.isRetryable)
      const quota = yield* Effect.flip(LanguageModel.generateText({ prompt: "two" }))
      assert.strictEqual(quota.reason._tag, "QuotaExhaustedError")
      assert.isFalse(quota.isRetryable)
    }).pipe(provide([LocalModel.rateLimited(), LocalModel.quotaExceeded()])), 60_000)

  it.live("Chat: two turns on one codex thread; the second model request shows the first turn as history", () =>
    Effect.gen(function*() {
      const chat = yield* Chat.fromPrompt([{ role: "system", content: "You remember names." }])
      const first = yield* chat.generateText({ prompt: "My name is Ada." })
      const second = yield* chat.generateText({ prompt: "What is my name?" })
      assert.strictEqual(first.text, "Nice to meet you, Ada.")
      assert.strictEqual(second.text, "Your name is Ada.")
      // one thread: both responses carry its id
      const ids = [first, second].map((response) => response.content.find((part) => part.type === "response-metadata")?.id)
      assert.isString(ids[0])
      assert.strictEqual(ids[1], ids[0])
      const requests = yield* LocalModel.requests
      assert.lengthOf(requests, 2)
      const history = LocalModel.messages(requests[1]!)
      Real.assertInOrder(history, ["user: My name is Ada.", "assistant: Nice to meet you, Ada.", "user: What is my name?"])
      // codex's own history, not a replayed transcript
      assert.isFalse(history.some((line) => line.includes("<conversation_history>")))
      // and the developer instructions stayed the thread's
      assert.isTrue(history.some((line) => line.startsWith("developer: You remember names.")))
    }).pipe(provide([
      LocalModel.text("Nice to meet you, Ada."),
      (request) =>
        LocalModel.text(
          LocalModel.messages(request).includes("user: My name is Ada.") ? "Your name is Ada." : "I do not know."
        )
    ])), 60_000)
})
