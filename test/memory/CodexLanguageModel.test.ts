/**
 * `CodexLanguageModel` over `CodexTest`: effect/ai's `LanguageModel` and `Chat` running scripted Codex
 * turns. What the turn gets from a prompt (developer instructions, input, images, replayed history, the
 * thread a conversation continues on), the parts of a response (text, reasoning, tool calls, finish,
 * usage; start / delta / end when streamed), structured output, a toolkit answered inside the turn, and
 * the table from `CodexError` reasons to `AiError` reasons.
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Layer, Option, Schema, Stream } from "effect"
import { AiError, Chat, LanguageModel, Prompt, type Response, ResponseIdTracker, Tool, Toolkit } from "effect/ai"
import * as CodexTest from "../../src/layers/testing/CodexTest.ts"
import * as CodexError from "../../src/schema/CodexError.ts"
import type * as Protocol from "../../src/schema/generated/Protocol.gen.ts"
import * as Codex from "../../src/services/Codex.ts"
import * as CodexLanguageModel from "../../src/services/CodexLanguageModel.ts"
import { reasonOf } from "../../src/services/internal/aiErrors.ts"
import { MAX_THREADS } from "../../src/services/internal/aiSession.ts"

/** Runs a program with the language model over Codex over the scripted server. */
const provide = (script: ReadonlyArray<CodexTest.Step>, options?: CodexLanguageModel.Options, fallback?: CodexTest.Step) =>
<A, E, R>(self: Effect.Effect<A, E, R>) =>
  self.pipe(
    Effect.provide(CodexLanguageModel.layer(options)),
    Effect.provide(Codex.layer),
    Effect.provide(CodexTest.layer(script, fallback === undefined ? {} : { fallback }))
  )

const turnStarts = CodexTest.requestsOf("turn/start") as Effect.Effect<
  ReadonlyArray<Protocol.TurnStartParams>,
  never,
  CodexTest.CodexTest
>
const threadStarts = CodexTest.requestsOf("thread/start") as Effect.Effect<
  ReadonlyArray<Protocol.ThreadStartParams>,
  never,
  CodexTest.CodexTest
>

/** The text items of a turn's input. */
const texts = (params: Protocol.TurnStartParams | undefined) =>
  (params?.input ?? []).flatMap((item) => item.type === "text" ? [item.text] : [])

/** The AiError of a failed effect. */
const aiErrorOf = <A, R>(effect: Effect.Effect<A, unknown, R>) =>
  Effect.flip(effect).pipe(Effect.map((error) => {
    assert.isTrue(AiError.isAiError(error), `expected an AiError, got ${String(error)}`)
    return error as AiError.AiError
  }))

const Weather = Tool.make("weather", {
  description: "The temperature in a city, in Celsius",
  parameters: Schema.Struct({ city: Schema.String, unit: Schema.optional(Schema.Literals(["C", "F"])) }),
  success: Schema.Struct({ celsius: Schema.Number })
})

const Lookup = Tool.make("lookup", {
  description: "Looks an issue up",
  parameters: Schema.Struct({ id: Schema.Number }),
  success: Schema.String,
  failure: Schema.Struct({ missing: Schema.Number }),
  failureMode: "return"
})

class Broken extends Schema.TaggedError<Broken>()("Broken", { detail: Schema.String }) {}

const Explode = Tool.make("explode", {
  description: "Always fails",
  parameters: Schema.Struct({ why: Schema.String }),
  failure: Broken
})

const Tools = Toolkit.make(Weather, Lookup, Explode)

const seen: Array<unknown> = []
const ToolsLayer = Tools.toLayer({
  weather: (params) => Effect.sync(() => seen.push(params)).pipe(Effect.as({ celsius: params.city === "Paris" ? 18 : 25 })),
  lookup: ({ id }) => id === 42 ? Effect.succeed("#42 Parser crashes") : Effect.fail({ missing: id }),
  explode: ({ why }) => Effect.fail(new Broken({ detail: why }))
})

describe("CodexLanguageModel (CodexTest)", () => {
  // ---------------------------------------------------------------------------
  // generateText
  // ---------------------------------------------------------------------------

  it.effect("generateText: system messages are the developer instructions, the user message the input; text, reasoning, finish and usage come back", () =>
    Effect.gen(function*() {
      const response = yield* LanguageModel.generateText({
        prompt: [
          { role: "system", content: "Answer in one sentence." },
          { role: "system", content: "Be kind." },
          { role: "user", content: "Say hello" }
        ]
      })
      assert.strictEqual(response.text, "hi there")
      assert.strictEqual(response.reasoningText, "thinking it over")
      assert.strictEqual(response.finishReason, "stop")
      assert.deepStrictEqual(response.usage.inputTokens, { total: 100, cacheRead: 10, uncached: 90 })
      assert.deepStrictEqual(response.usage.outputTokens, { total: 20, reasoning: 0, text: 20 })

      const [start] = yield* threadStarts
      assert.strictEqual(start?.developerInstructions, "Answer in one sentence.\n\nBe kind.")
      assert.strictEqual(start?.model, "gpt-5.4")
      const [turn] = yield* turnStarts
      assert.deepStrictEqual(texts(turn), ["Say hello"])
      // the response id is the thread's, every part carries the thread and the turn
      const metadata = response.content.find((part) => part.type === "response-metadata")
      assert.strictEqual(metadata?.id, turn?.threadId)
      assert.strictEqual(metadata?.modelId, "gpt-5.4")
      const text = response.content.find((part) => part.type === "text")!
      assert.deepInclude(text.metadata.codex as object, { threadId: turn?.threadId })
      yield* CodexTest.verify
    }).pipe(provide([CodexTest.reply("hi there", { reasoning: "thinking it over" })], { model: "gpt-5.4" })))

  it.effect("generateText: the tokens of the whole turn, over all its model requests", () =>
    Effect.gen(function*() {
      const response = yield* LanguageModel.generateText({ prompt: "Two steps" })
      assert.strictEqual(response.usage.inputTokens.total, 300)
      assert.strictEqual(response.usage.outputTokens.total, 50)
      assert.strictEqual(response.usage.outputTokens.reasoning, 5)
    }).pipe(provide([
      CodexTest.turn(
        CodexTest.reply("first", { usage: { input: 100, cached: 0, output: 20, reasoning: 0 } }),
        CodexTest.reply("second", { usage: { input: 200, cached: 0, output: 30, reasoning: 5 } })
      )
    ])))

  it.effect("generateText: a prompt with nothing after the last assistant message fails with InvalidUserInputError, before any turn", () =>
    Effect.gen(function*() {
      const error = yield* aiErrorOf(LanguageModel.generateText({
        prompt: [{ role: "user", content: "hi" }, { role: "assistant", content: "hello" }]
      }))
      assert.strictEqual(error.reason._tag, "InvalidUserInputError")
      assert.lengthOf(yield* turnStarts, 0)
    }).pipe(provide([])))

  it.effect("images become image inputs (bytes as a data URL, file URLs as local images); other binary files are refused", () =>
    Effect.gen(function*() {
      yield* LanguageModel.generateText({
        prompt: [{
          role: "user",
          content: [
            { type: "text", text: "What is in these?" },
            { type: "file", mediaType: "image/png", data: new Uint8Array([1, 2, 3]) },
            { type: "file", mediaType: "image/jpeg", data: new URL("file:///tmp/shot.jpg") },
            { type: "file", mediaType: "text/plain", fileName: "notes.txt", data: new TextEncoder().encode("remember milk") }
          ]
        }]
      })
      const [turn] = yield* turnStarts
      assert.deepStrictEqual(turn?.input[1], { type: "image", url: "data:image/png;base64,AQID" })
      assert.deepStrictEqual(turn?.input[2], { type: "localImage", path: "/tmp/shot.jpg" })
      assert.include(texts(turn).join(""), "remember milk")

      const error = yield* aiErrorOf(LanguageModel.generateText({
        prompt: [{ role: "user", content: [{ type: "file", mediaType: "application/pdf", data: new Uint8Array([1]) }] }]
      }))
      assert.strictEqual(error.reason._tag, "InvalidUserInputError")
      assert.lengthOf(yield* turnStarts, 1)
    }).pipe(provide([CodexTest.reply("a chart")])))

  // ---------------------------------------------------------------------------
  // streamText
  // ---------------------------------------------------------------------------

  it.effect("streamText: response metadata, reasoning and text as start / delta / end, the deltas spelling the final text, finish last", () =>
    Effect.gen(function*() {
      const parts = Array.from(yield* Stream.runCollect(LanguageModel.streamText({ prompt: "Stream it" })))
      const types = parts.map((part) => part.type)
      assert.deepStrictEqual(types, [
        "response-metadata",
        "reasoning-start",
        "reasoning-delta",
        "reasoning-delta",
        "reasoning-delta",
        "reasoning-end",
        "text-start",
        "text-delta",
        "text-delta",
        "text-delta",
        "text-end",
        "finish"
      ])
      const deltas = parts.flatMap((part) => part.type === "text-delta" ? [part.delta] : [])
      assert.strictEqual(deltas.join(""), "one two three")
      const reasoning = parts.flatMap((part) => part.type === "reasoning-delta" ? [part.delta] : [])
      assert.strictEqual(reasoning.join(""), "let me see")
      const finish = parts.at(-1) as Response.FinishPart
      assert.strictEqual(finish.reason, "stop")
      assert.strictEqual(finish.usage.outputTokens.total, 20)
    }).pipe(provide([CodexTest.reply("one two three", { reasoning: "let me see" })])))

  it.effect("streamText: a message codex completes without streaming it comes as one delta", () =>
    Effect.gen(function*() {
      const parts = Array.from(yield* Stream.runCollect(LanguageModel.streamText({ prompt: "Quick" })))
      const deltas = parts.flatMap((part) => part.type === "text-delta" ? [part.delta] : [])
      assert.deepStrictEqual(deltas, ["all at once"])
      assert.deepStrictEqual(parts.filter((part) => part.type.startsWith("text")).map((part) => part.type), [
        "text-start",
        "text-delta",
        "text-end"
      ])
    }).pipe(provide([CodexTest.reply("all at once", { deltas: 0 })])))

  it.live("streamText: a consumer that stops early interrupts the turn", () =>
    Effect.gen(function*() {
      const firstDelta = yield* LanguageModel.streamText({ prompt: "Long" }).pipe(
        Stream.filter((part) => part.type === "text-delta"),
        Stream.take(1),
        Stream.runCollect
      )
      assert.lengthOf(Array.from(firstDelta), 1)
      const [turn] = yield* CodexTest.turns
      assert.strictEqual(turn?.status, "interrupted")
    }).pipe(provide([CodexTest.slow(CodexTest.reply("a b c d e f g h"), { delay: "20 millis" })])))

  // ---------------------------------------------------------------------------
  // generateObject
  // ---------------------------------------------------------------------------

  const Review = Schema.Struct({
    verdict: Schema.Literals(["approve", "request changes"]),
    notes: Schema.optional(Schema.String),
    score: Schema.Number
  })

  it.effect("generateObject: the schema is the turn's strict outputSchema, and the answer is decoded (null for an optional field is absent)", () =>
    Effect.gen(function*() {
      const response = yield* LanguageModel.generateObject({ prompt: "Review it", schema: Review })
      assert.deepStrictEqual(response.value, { verdict: "approve", score: 9 })
      const [turn] = yield* turnStarts
      assert.deepStrictEqual(turn?.outputSchema, {
        type: "object",
        properties: {
          verdict: { type: "string", enum: ["approve", "request changes"] },
          notes: { anyOf: [{ type: "string" }, { type: "null" }] },
          score: { type: "number" }
        },
        required: ["verdict", "notes", "score"],
        additionalProperties: false
      })
    }).pipe(provide([CodexTest.reply(JSON.stringify({ verdict: "approve", notes: null, score: 9 }))])))

  it.effect("generateObject: only the final answer is parsed, not the commentary before it", () =>
    Effect.gen(function*() {
      const response = yield* LanguageModel.generateObject({ prompt: "Review it", schema: Review })
      assert.deepStrictEqual(response.value, { verdict: "request changes", notes: "tests", score: 3 })
    }).pipe(provide([
      CodexTest.turn(
        CodexTest.reply("Let me look at the diff first.", { phase: "commentary" }),
        CodexTest.reply(JSON.stringify({ verdict: "request changes", notes: "tests", score: 3 }), { phase: "final_answer" })
      )
    ])))

  it.effect("generateObject: an answer that does not match fails with StructuredOutputError holding the text", () =>
    Effect.gen(function*() {
      const error = yield* aiErrorOf(LanguageModel.generateObject({ prompt: "Review it", schema: Review }))
      assert.strictEqual(error.reason._tag, "StructuredOutputError")
      assert.strictEqual((error.reason as AiError.StructuredOutputError).responseText, "{\"verdict\":\"maybe\"}")
    }).pipe(provide([CodexTest.reply(JSON.stringify({ verdict: "maybe" }))])))

  it.effect("generateObject: a schema strict mode cannot express fails with UnsupportedSchemaError before any turn", () =>
    Effect.gen(function*() {
      const error = yield* aiErrorOf(LanguageModel.generateObject({ prompt: "List", schema: Schema.Struct({ any: Schema.Unknown }) }))
      assert.strictEqual(error.reason._tag, "UnsupportedSchemaError")
      assert.lengthOf(yield* turnStarts, 0)
    }).pipe(provide([])))

  // ---------------------------------------------------------------------------
  // Tools
  // ---------------------------------------------------------------------------

  it.effect("a toolkit tool is offered as a client tool and answered inside the turn by its handler; it shows as a provider-executed call with its result", () =>
    Effect.gen(function*() {
      seen.length = 0
      const response = yield* LanguageModel.generateText({ prompt: "Is it warm in Paris?", toolkit: Tools })
      assert.strictEqual(response.text, "18 degrees in Paris.")
      // offered at thread/start with the strict JSON Schema of its parameters
      const [start] = yield* threadStarts
      assert.deepStrictEqual(start?.dynamicTools?.map((tool) => tool.name), ["weather", "lookup", "explode"])
      assert.strictEqual(start?.dynamicTools?.[0]?.description, "The temperature in a city, in Celsius")
      // the handler got the decoded arguments (the model's null for `unit` is an absent key) ...
      assert.deepStrictEqual(seen, [{ city: "Paris" }])
      // ... and codex got its answer before the turn went on
      const [answer] = yield* CodexTest.answers
      assert.deepStrictEqual(answer?.result, { contentItems: [{ type: "inputText", text: "{\"celsius\":18}" }], success: true })
      // in the response: the call and its result, executed by the provider
      assert.deepStrictEqual(response.toolCalls.map((part) => [part.name, part.params, part.providerExecuted]), [
        ["weather", { city: "Paris" }, true]
      ])
      assert.deepStrictEqual(response.toolResults.map((part) => [part.name, part.result, part.isFailure, part.providerExecuted]), [
        ["weather", { celsius: 18 }, false, true]
      ])
      assert.strictEqual(response.toolCalls[0]?.id, response.toolResults[0]?.id)
      // resolved already: effect/ai has nothing left to run, the response is final
      assert.strictEqual(response.finishReason, "stop")
    }).pipe(
      provide([
        CodexTest.turn(CodexTest.toolCall("weather", { city: "Paris", unit: null }), CodexTest.reply("18 degrees in Paris."))
      ]),
      Effect.provide(ToolsLayer)
    ))

  it.effect("streamText: a tool call streams as tool-call then tool-result, between the texts", () =>
    Effect.gen(function*() {
      const parts = Array.from(yield* Stream.runCollect(LanguageModel.streamText({ prompt: "Warm?", toolkit: Tools })))
      const types = parts.map((part) => part.type).filter((type) => type !== "text-delta")
      assert.deepStrictEqual(types, [
        "response-metadata",
        "text-start",
        "text-end",
        "tool-call",
        "tool-result",
        "text-start",
        "text-end",
        "finish"
      ])
    }).pipe(
      provide([
        CodexTest.turn(
          CodexTest.reply("Checking.", { phase: "commentary", usage: false }),
          CodexTest.toolCall("weather", { city: "Rome", unit: "C" }),
          CodexTest.reply("25 in Rome.")
        )
      ]),
      Effect.provide(ToolsLayer)
    ))

  it.effect("a tool that returns its failure answers success: false and the turn goes on; the result is a failure", () =>
    Effect.gen(function*() {
      const response = yield* LanguageModel.generateText({ prompt: "Issue 7?", toolkit: Tools })
      const [answer] = yield* CodexTest.answers
      assert.deepStrictEqual(answer?.result, { contentItems: [{ type: "inputText", text: "{\"missing\":7}" }], success: false })
      assert.deepStrictEqual(response.toolResults.map((part) => [part.result, part.isFailure]), [[{ missing: 7 }, true]])
      assert.strictEqual(response.text, "There is no issue 7.")
    }).pipe(
      provide([CodexTest.turn(CodexTest.toolCall("lookup", { id: 7 }), CodexTest.reply("There is no issue 7."))]),
      Effect.provide(ToolsLayer)
    ))

  it.effect("a tool whose failureMode is \"error\" fails the request with its own error, and the turn is interrupted", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(LanguageModel.generateText({ prompt: "Boom", toolkit: Tools }))
      assert.instanceOf(error, Broken)
      assert.strictEqual((error as Broken).detail, "because")
      const [answer] = yield* CodexTest.answers
      assert.strictEqual((answer?.result as Protocol.DynamicToolCallResponse).success, false)
      const [turn] = yield* CodexTest.turns
      assert.strictEqual(turn?.status, "interrupted")
    }).pipe(
      provide([
        CodexTest.turn(
          CodexTest.toolCall("explode", { why: "because" }),
          CodexTest.slow(CodexTest.reply("never seen"), { delay: "1 second" })
        )
      ]),
      Effect.provide(ToolsLayer)
    ))

  it.effect("a tool that needs an approval is declined inside the turn (a turn cannot pause for one); its handler does not run", () =>
    Effect.gen(function*() {
      let ran = false
      const Guarded = Tool.make("deploy", {
        description: "Deploys",
        parameters: Schema.Struct({ env: Schema.String }),
        needsApproval: (params) => params.env === "prod"
      })
      const Deploy = Toolkit.make(Guarded)
      const response = yield* LanguageModel.generateText({ prompt: "Deploy", toolkit: Deploy }).pipe(
        Effect.provide(Deploy.toLayer({ deploy: () => Effect.sync(() => void (ran = true)) }))
      )
      assert.isFalse(ran)
      const [answer] = yield* CodexTest.answers
      assert.strictEqual((answer?.result as Protocol.DynamicToolCallResponse).success, false)
      assert.deepStrictEqual(response.toolResults.map((part) => [part.isFailure, (part.result as { type: string }).type]), [
        [true, "execution-denied"]
      ])
    }).pipe(provide([CodexTest.turn(CodexTest.toolCall("deploy", { env: "prod" }), CodexTest.reply("Not deployed."))])))

  it.effect("a toolkit whose handlers are not in context fails with ToolConfigurationError before any thread starts", () =>
    Effect.gen(function*() {
      const error = yield* aiErrorOf(
        LanguageModel.generateText({ prompt: "hi", toolkit: Tools }) as Effect.Effect<unknown, unknown>
      )
      assert.strictEqual(error.reason._tag, "ToolConfigurationError")
      assert.match(error.message, /handler is not in context/)
      assert.lengthOf(yield* threadStarts, 0)
    }).pipe(provide([])) as Effect.Effect<void, unknown>)

  it.effect("toolChoice \"none\": no client tool is offered", () =>
    Effect.gen(function*() {
      yield* LanguageModel.generateText({ prompt: "hi", toolkit: Tools, toolChoice: "none" })
      const [start] = yield* threadStarts
      assert.isUndefined(start?.dynamicTools)
    }).pipe(provide([CodexTest.reply("hello")]), Effect.provide(ToolsLayer)))

  it.effect("codex's commands and file changes are provider-executed tool calls when the toolkit holds CodexTools, and absent otherwise", () =>
    Effect.gen(function*() {
      const withTools = yield* LanguageModel.generateText({ prompt: "Fix it", toolkit: CodexLanguageModel.CodexTools })
      assert.deepStrictEqual(withTools.toolCalls.map((part) => [part.name, part.params]), [
        ["codex_command_execution", { command: "npm test", cwd: process.cwd() }],
        ["codex_file_change", { changes: [{ path: `${process.cwd()}/fix.txt`, kind: "add" }] }]
      ])
      assert.deepStrictEqual(withTools.toolResults.map((part) => [part.name, part.isFailure]), [
        ["codex_command_execution", true],
        ["codex_file_change", false]
      ])
      const command = withTools.toolResults[0]!.result as typeof CodexLanguageModel.CommandExecution.successSchema.Type
      assert.deepStrictEqual({ ...command, durationMs: 0 }, { status: "failed", exitCode: 1, output: "1 failing\n", durationMs: 0 })

      const plain = yield* LanguageModel.generateText({ prompt: "Fix it again" })
      assert.lengthOf(plain.toolCalls, 0)
      assert.strictEqual(plain.text, "Fixed again.")
    }).pipe(provide([
      CodexTest.turn(
        CodexTest.command("npm test", { output: "1 failing\n", exitCode: 1 }),
        CodexTest.fileChange("fix.txt", "fixed\n"),
        CodexTest.reply("Fixed.")
      ),
      CodexTest.turn(CodexTest.command("npm test"), CodexTest.reply("Fixed again."))
    ])))

  it.effect("an MCP call codex makes is a provider-executed tool call with the MCP result (streamed: call at start, result at the end)", () =>
    Effect.gen(function*() {
      const parts = Array.from(yield* Stream.runCollect(
        LanguageModel.streamText({ prompt: "Search the docs", toolkit: CodexLanguageModel.CodexTools })
      ))
      const calls = parts.filter((part) => part.type === "tool-call" || part.type === "tool-result")
      assert.deepStrictEqual(calls.map((part) => part.type), ["tool-call", "tool-result"])
      const [call, result] = calls as [Response.ToolCallPart<string, unknown>, Response.ToolResultPart<string, unknown, unknown>]
      assert.strictEqual(call.name, "codex_mcp_tool_call")
      assert.deepStrictEqual(call.params, { server: "docs", tool: "search", arguments: { q: "layers" } })
      assert.deepStrictEqual(result.result, {
        status: "completed",
        content: [{ type: "text", text: "Layer.effect" }],
        structuredContent: null,
        error: null
      })
      assert.isTrue(result.providerExecuted)
    }).pipe(provide([
      CodexTest.turn(
        CodexTest.custom("mcp", (turn) => {
          const started = { type: "mcpToolCall", id: "mcp_1", server: "docs", tool: "search", arguments: { q: "layers" }, status: "inProgress" } as const
          return turn.startItem(started).pipe(
            Effect.andThen(turn.completeItem({
              ...started,
              status: "completed",
              result: { content: [{ type: "text", text: "Layer.effect" }] }
            }))
          )
        }),
        CodexTest.reply("Use Layer.effect.")
      )
    ])))

  // ---------------------------------------------------------------------------
  // Conversations
  // ---------------------------------------------------------------------------

  it.effect("Chat: the second turn continues the same thread and sends only the new message", () =>
    Effect.gen(function*() {
      const chat = yield* Chat.fromPrompt([{ role: "system", content: "You are terse." }])
      const first = yield* chat.generateText({ prompt: "My name is Ada." })
      const second = yield* chat.generateText({ prompt: "What is my name?" })
      assert.strictEqual(first.text, "Noted.")
      assert.strictEqual(second.text, "heard: What is my name?")
      const [one, two] = yield* turnStarts
      assert.strictEqual(two?.threadId, one?.threadId)
      assert.deepStrictEqual(texts(two), ["What is my name?"])
      assert.lengthOf(yield* threadStarts, 1)
      // streamText keeps the conversation on the thread too
      const third = yield* Stream.runCollect(chat.streamText({ prompt: "And now?" }))
      assert.isAbove(Array.from(third).length, 0)
      const starts = yield* turnStarts
      assert.strictEqual(starts[2]?.threadId, one?.threadId)
      assert.deepStrictEqual(texts(starts[2]), ["And now?"])
      const fourth = yield* chat.generateText({ prompt: "Last one" })
      assert.strictEqual(fourth.text, "heard: Last one")
      assert.strictEqual((yield* turnStarts)[3]?.threadId, one?.threadId)
    }).pipe(provide([
      CodexTest.reply("Noted."),
      CodexTest.reply((turn) => `heard: ${turn.text}`),
      CodexTest.reply("streamed"),
      CodexTest.reply((turn) => `heard: ${turn.text}`)
    ])))

  it.effect("Chat: a retry after a failed turn stays on the thread", () =>
    Effect.gen(function*() {
      const chat = yield* Chat.empty
      yield* chat.generateText({ prompt: "one" })
      const error = yield* aiErrorOf(chat.generateText({ prompt: "two" }))
      assert.strictEqual(error.reason._tag, "RateLimitError")
      const retried = yield* chat.generateText({ prompt: "two" })
      assert.strictEqual(retried.text, "2")
      const [a, b, c] = yield* turnStarts
      assert.strictEqual(b?.threadId, a?.threadId)
      assert.strictEqual(c?.threadId, a?.threadId)
      assert.deepStrictEqual(texts(c), ["two"])
    }).pipe(provide([
      CodexTest.reply("1"),
      CodexTest.fail("exceeded retry limit, last status: 429", { responseTooManyFailedAttempts: { httpStatusCode: 429 } }),
      CodexTest.reply("2")
    ])))

  it.effect("a history without this provider's stamps is replayed into a new ephemeral thread", () =>
    Effect.gen(function*() {
      yield* LanguageModel.generateText({
        prompt: [
          { role: "user", content: "My name is Ada." },
          { role: "assistant", content: "Nice to meet you, Ada." },
          { role: "user", content: "What is my name?" }
        ]
      })
      const [start] = yield* threadStarts
      assert.strictEqual(start?.ephemeral, true)
      const [turn] = yield* turnStarts
      const [history, question] = texts(turn)
      assert.match(history!, /<conversation_history>[\s\S]*<user>\nMy name is Ada\.\n<\/user>[\s\S]*<assistant>\nNice to meet you, Ada\.\n<\/assistant>[\s\S]*<\/conversation_history>/)
      assert.strictEqual(question, "What is my name?")
    }).pipe(provide([CodexTest.reply("Ada.")])))

  it.effect("a branch of an older history does not land on the thread that moved on: it is replayed into a new thread", () =>
    Effect.gen(function*() {
      const first = yield* LanguageModel.generateText({ prompt: "one" })
      const history = Prompt.concat(Prompt.make("one"), Prompt.fromResponseParts(first.content))
      yield* LanguageModel.generateText({ prompt: Prompt.concat(history, "two") })
      yield* LanguageModel.generateText({ prompt: Prompt.concat(history, "two, other branch") })
      const [a, b, c] = yield* turnStarts
      assert.strictEqual(b?.threadId, a?.threadId)
      assert.notStrictEqual(c?.threadId, a?.threadId)
      assert.match(texts(c)[0]!, /<conversation_history>/)
    }).pipe(provide([CodexTest.reply("1"), CodexTest.reply("2"), CodexTest.reply("2'")])))

  it.effect("new system instructions start a new thread (codex keeps a thread's instructions)", () =>
    Effect.gen(function*() {
      const first = yield* LanguageModel.generateText({ prompt: [{ role: "system", content: "A" }, { role: "user", content: "one" }] })
      const history = Prompt.concat(Prompt.make([{ role: "system", content: "B" }, { role: "user", content: "one" }]), Prompt.fromResponseParts(first.content))
      yield* LanguageModel.generateText({ prompt: Prompt.concat(history, "two") })
      const [a, b] = yield* threadStarts
      assert.strictEqual(a?.developerInstructions, "A")
      assert.strictEqual(b?.developerInstructions, "B")
    }).pipe(provide([CodexTest.reply("1"), CodexTest.reply("2")])))

  it.effect("a thread this model never held (another layer, a restored chat) is resumed by id", () =>
    Effect.gen(function*() {
      const first = yield* LanguageModel.generateText({ prompt: "one" }).pipe(Effect.provide(CodexLanguageModel.layer()))
      const history = Prompt.concat(Prompt.make("one"), Prompt.fromResponseParts(first.content))
      const restored = yield* Chat.fromJson(yield* (yield* Chat.fromPrompt(history)).exportJson)
      const second = yield* restored.generateText({ prompt: "two" }).pipe(Effect.provide(CodexLanguageModel.layer()))
      assert.strictEqual(second.text, "2")
      const [resumed] = (yield* CodexTest.requestsOf("thread/resume")) as ReadonlyArray<Protocol.ThreadResumeParams>
      const [a, b] = yield* turnStarts
      assert.strictEqual(resumed?.threadId, a?.threadId)
      assert.strictEqual(b?.threadId, a?.threadId)
      assert.deepStrictEqual(texts(b), ["two"])
    }).pipe(
      Effect.provide(Codex.layer),
      Effect.provide(CodexTest.layer([CodexTest.reply("1"), CodexTest.reply("2")]))
    ))

  it.effect("past MAX_THREADS the least recently used thread is forgotten and unsubscribed; continuing it resumes it after that", () =>
    Effect.gen(function*() {
      const first = yield* LanguageModel.generateText({ prompt: "first" })
      for (let i = 0; i < MAX_THREADS; i++) yield* LanguageModel.generateText({ prompt: `other ${i}` })
      const [oldest] = yield* turnStarts
      const continued = yield* LanguageModel.generateText({
        prompt: Prompt.concat(Prompt.concat(Prompt.make("first"), Prompt.fromResponseParts(first.content)), "again")
      })
      assert.strictEqual(continued.text, "echo: again")
      const methods = (yield* CodexTest.requests)
        .filter((r) => r.method === "thread/unsubscribe" || r.method === "thread/resume")
        .map((r) => `${r.method} ${(r.params as { threadId: string }).threadId === oldest!.threadId ? "oldest" : "other"}`)
      // one thread over the limit: the oldest left, then came back (and made the next oldest leave)
      assert.deepStrictEqual(methods.slice(0, 2), ["thread/unsubscribe oldest", "thread/resume oldest"])
      assert.deepStrictEqual(methods.slice(2), methods.length === 3 ? ["thread/unsubscribe other"] : [])
      const last = (yield* turnStarts).at(-1)
      assert.strictEqual(last?.threadId, oldest!.threadId)
      assert.deepStrictEqual(texts(last), ["again"])
    }).pipe(provide([], undefined, CodexTest.reply((turn) => `echo: ${turn.text}`))))

  it.effect("previousResponseId from a ResponseIdTracker continues the thread it names", () =>
    Effect.gen(function*() {
      const tracker = yield* ResponseIdTracker.make
      const user = Prompt.make("one")
      const first = yield* LanguageModel.generateText({ prompt: user }).pipe(
        Effect.provideService(ResponseIdTracker.ResponseIdTracker, tracker)
      )
      // an assistant message without this provider's stamps: only the tracker knows the thread
      const assistant = Prompt.make([{ role: "assistant", content: first.text }])
      yield* LanguageModel.generateText({ prompt: Prompt.concat(Prompt.concat(user, assistant), "two") }).pipe(
        Effect.provideService(ResponseIdTracker.ResponseIdTracker, tracker)
      )
      const [a, b] = yield* turnStarts
      assert.strictEqual(b?.threadId, a?.threadId)
      assert.deepStrictEqual(texts(b), ["two"])
    }).pipe(provide([CodexTest.reply("1"), CodexTest.reply("2")])))

  it.effect("Model: CodexLanguageModel.model(name) provides the model with its provider and model names", () =>
    Effect.gen(function*() {
      const response = yield* LanguageModel.generateText({ prompt: "hi" })
      assert.strictEqual(response.text, "hello")
      const [start] = yield* threadStarts
      assert.strictEqual(start?.model, "gpt-5.4-mini")
    }).pipe(
      Effect.provide(CodexLanguageModel.model("gpt-5.4-mini")),
      Effect.provide(Codex.layer),
      Effect.provide(CodexTest.layer([CodexTest.reply("hello")]))
    ))

  // ---------------------------------------------------------------------------
  // Errors
  // ---------------------------------------------------------------------------

  const failedTurns: ReadonlyArray<readonly [Protocol.CodexErrorInfo, AiError.AiErrorReason["_tag"], boolean]> = [
    [{ responseTooManyFailedAttempts: { httpStatusCode: 429 } }, "RateLimitError", true],
    ["rateLimitExceeded", "RateLimitError", true],
    ["usageLimitExceeded", "QuotaExhaustedError", false],
    [{ httpConnectionFailed: { httpStatusCode: 401 } }, "AuthenticationError", false],
    ["unauthorized", "AuthenticationError", false],
    ["serverOverloaded", "InternalProviderError", true],
    ["internalServerError", "InternalProviderError", true],
    [{ responseStreamDisconnected: { httpStatusCode: null } }, "NetworkError", true],
    ["contextWindowExceeded", "InvalidRequestError", false],
    ["badRequest", "InvalidRequestError", false],
    ["cyberPolicy", "ContentPolicyError", false],
    ["other", "UnknownError", false]
  ]

  it.effect("errors: a failed turn's codexErrorInfo maps to the AiError reason that means the same", () =>
    Effect.gen(function*() {
      for (const [info, tag, retryable] of failedTurns) {
        const error = yield* aiErrorOf(
          LanguageModel.generateText({ prompt: "fail" }).pipe(
            provide([CodexTest.fail(`failed with ${JSON.stringify(info)}`, info)])
          )
        )
        assert.strictEqual(error.reason._tag, tag, JSON.stringify(info))
        assert.strictEqual(error.isRetryable, retryable, JSON.stringify(info))
        assert.strictEqual(error.module, "CodexLanguageModel")
        // what codex said travels along (NetworkError has no metadata field)
        if (tag !== "NetworkError") {
          const codex = (error.reason as { readonly metadata: Record<string, unknown> }).metadata.codex as Record<string, unknown>
          assert.strictEqual(codex.reason, "TurnFailed")
          assert.deepStrictEqual(codex.codexErrorInfo, info)
        }
      }
    }))

  it.effect("errors: a failed turn fails streamText too, after the parts streamed so far", () =>
    Effect.gen(function*() {
      const exit = yield* Stream.runCollect(LanguageModel.streamText({ prompt: "fail" })).pipe(Effect.exit)
      assert.isTrue(Exit.isFailure(exit))
      const error = Exit.isFailure(exit) ? Option.getOrUndefined(Cause.findErrorOption(exit.cause)) : undefined
      assert.strictEqual((error as AiError.AiError).reason._tag, "QuotaExhaustedError")
    }).pipe(provide([CodexTest.fail("Quota exceeded.", "usageLimitExceeded")])))

  it("errors: the other CodexError reasons", () => {
    const table: ReadonlyArray<readonly [CodexError.CodexErrorReason, AiError.AiErrorReason["_tag"]]> = [
      [new CodexError.Overloaded({ method: "turn/start" }), "InternalProviderError"],
      [new CodexError.Timeout({ method: "turn/start" }), "NetworkError"],
      [new CodexError.TransportError({ description: "broken pipe" }), "NetworkError"],
      [new CodexError.OutputDecodeError({ text: "{", description: "not JSON" }), "StructuredOutputError"],
      [new CodexError.ProtocolError({ description: "bad frame" }), "InvalidResponseError"],
      [new CodexError.RpcError({ method: "turn/start", code: -32600, message: "thread not found" }), "InvalidRequestError"],
      [new CodexError.RpcError({ method: "turn/start", code: -32603, message: "internal" }), "InternalProviderError"],
      [new CodexError.InvalidOptions({ description: "bad" }), "InvalidRequestError"],
      [new CodexError.ProcessExited({ exitCode: 1, signal: undefined, stderrTail: [] }), "UnknownError"],
      [new CodexError.Closed(), "UnknownError"]
    ]
    for (const [reason, tag] of table) {
      assert.strictEqual(reasonOf(CodexError.make(reason))._tag, tag, reason._tag)
    }
    const timeout = reasonOf(CodexError.make(new CodexError.Timeout({ method: "turn/start" })))
    assert.isTrue(timeout.isRetryable)
    const decode = reasonOf(CodexError.make(new CodexError.OutputDecodeError({ text: "{", description: "not JSON" })))
    assert.strictEqual((decode as AiError.StructuredOutputError).responseText, "{")
  })
})

// keep the layer type honest: Layer<LanguageModel, never, Codex>
const _layer: Layer.Layer<LanguageModel.LanguageModel, never, Codex.Codex> = CodexLanguageModel.layer()
void _layer
