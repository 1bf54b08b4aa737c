import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Redacted, Schema, Stream } from "effect"
import { TestClock } from "effect/testing"
import * as CodexTest from "../../src/layers/testing/CodexTest.ts"
import { ServerNotificationParams } from "../../src/schema/generated/Methods.gen.ts"
import type * as Protocol from "../../src/schema/generated/Protocol.gen.ts"
import * as Input from "../../src/schema/Input.ts"
import { AppServerClient } from "../../src/services/AppServerClient.ts"
import * as Approvals from "../../src/services/Approvals.ts"
import * as Codex from "../../src/services/Codex.ts"
import * as CodexTool from "../../src/services/CodexTool.ts"
import * as TurnEvent from "../../src/streams/TurnEvent.ts"
import { CLI_VERSION } from "../../src/layers/testing/internal/codexTestPayloads.ts"
import { itemOf, reasonOf } from "../support/Errors.ts"

/** Runs a program against the scripted server, with `Codex.layer` (and approvals) over it. */
const provide = (
  script: ReadonlyArray<CodexTest.Step>,
  options: CodexTest.Options & { readonly approvals?: Layer.Layer<Approvals.Approvals> } = {}
) =>
<A, E, R>(self: Effect.Effect<A, E, R>) => {
  const { approvals, ...rest } = options
  const codex = approvals === undefined ? Codex.layer : Codex.layer.pipe(Layer.provide(approvals))
  return self.pipe(Effect.provide(codex), Effect.provide(CodexTest.layer(script, rest)))
}



/** Moves the TestClock on in small steps until the fiber is done (sleeps registered late are reached too). */
const driveClock = <A, E>(fiber: Fiber.Fiber<A, E>) =>
  Effect.raceFirst(
    Fiber.join(fiber),
    Effect.forever(TestClock.adjust("10 millis").pipe(Effect.andThen(Effect.yieldNow)))
  )

const accept = Approvals.layer({
  commandExecution: () => Effect.succeed("accept" as const),
  fileChange: () => Effect.succeed("accept" as const)
})

describe("CodexTest.layer", () => {
  it.effect("the smallest script: a thread runs a turn and gets the reply, items and usage", () =>
    Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      const result = yield* thread.run("Say hello")
      assert.strictEqual(result.status, "completed")
      assert.strictEqual(result.finalResponse, "hi")
      assert.strictEqual(result.threadId, thread.id)
      assert.deepStrictEqual(result.items.map((item) => item.type), ["userMessage", "agentMessage"])
      const user = itemOf(result.items, "userMessage")!
      assert.deepStrictEqual(user.content, [{ type: "text", text: "Say hello", text_elements: [] }])
      assert.strictEqual(result.usage?.last.inputTokens, 100)
      assert.strictEqual(result.usage?.last.cachedInputTokens, 10)
      assert.strictEqual(result.usage?.last.outputTokens, 20)
      assert.strictEqual(result.usage?.modelContextWindow, 121600)
      assert.isAtLeast(result.durationMs, 0)
      assert.strictEqual(yield* CodexTest.remaining, 0)
      yield* CodexTest.verify
    }).pipe(provide([CodexTest.reply("hi")])))

  it.effect("the program runs unchanged: Effect.provide(Codex.layer), Effect.provide(CodexTest.layer(...))", () =>
    Effect.gen(function*() {
      const thread = yield* Codex.startThread({ model: "gpt-5.4" })
      const result = yield* thread.run("Say hello in one sentence.")
      assert.strictEqual(result.finalResponse, "hi")
      assert.strictEqual(thread.info.model, "gpt-5.4")
      const metadata = yield* Codex.metadata
      // CodexTest claims the codex version whose shapes it copies
      assert.match(metadata.userAgent, new RegExp(`^effect_codex/${CLI_VERSION.replace(/\./g, "\\.")} \\(CodexTest`))
    }).pipe(Effect.provide(Codex.layer), Effect.provide(CodexTest.layer([CodexTest.reply("hi")]))))

  it.effect("streams deltas through turn.events; every run of events sees the whole turn", () =>
    Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      const turn = yield* thread.turn("Say hello")
      const deltas = yield* turn.events.pipe(TurnEvent.textDeltas, Stream.runCollect)
      assert.deepStrictEqual(deltas, ["Hello ", "from the ", "mock ", "model!"])
      const tags = (yield* Stream.runCollect(turn.events)).map((event) => event._tag)
      assert.strictEqual(tags[0], "TurnStarted")
      assert.strictEqual(tags[tags.length - 1], "TurnCompleted")
      assert.deepStrictEqual(tags.filter((tag) => tag === "AgentMessageDelta").length, 4)
      assert.isTrue(tags.includes("TokenUsageUpdated"))
      const result = yield* turn.result
      assert.strictEqual(result.finalResponse, "Hello from the mock model!")
      assert.strictEqual(result.usage?.last.inputTokens, 1234)
    }).pipe(
      Effect.scoped,
      provide([
        CodexTest.reply("Hello from the mock model!", {
          deltas: ["Hello ", "from the ", "mock ", "model!"],
          usage: { input: 1234, cached: 1000, output: 56, reasoning: 7 }
        })
      ])
    ))

  it.effect("default deltas are one per word; a final_answer phase wins over later commentary", () =>
    Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      const turn = yield* thread.turn("go")
      const deltas = yield* turn.events.pipe(TurnEvent.textDeltas, Stream.runCollect)
      assert.deepStrictEqual(deltas, ["The answer ", "is ", "42", "checking"])
      const result = yield* turn.result
      assert.strictEqual(result.finalResponse, "The answer is 42")
    }).pipe(
      Effect.scoped,
      provide([
        CodexTest.turn(
          CodexTest.reply("The answer is 42", { phase: "final_answer", deltas: ["The answer ", "is ", "42"] }),
          CodexTest.reply("checking", { phase: "commentary" })
        )
      ])
    ))

  it.effect("structured output: the scripted JSON answer decodes with the outputSchema", () =>
    Effect.gen(function*() {
      const Answer = Schema.Struct({ city: Schema.String, population: Schema.Number })
      const thread = yield* Codex.startThread()
      const result = yield* thread.run("Largest city?", { outputSchema: Answer })
      assert.deepStrictEqual(result.output, { city: "Tokyo", population: 37 })
      const [start] = (yield* CodexTest.requestsOf("turn/start")) as ReadonlyArray<Protocol.TurnStartParams>
      assert.strictEqual((start!.outputSchema as { type: string }).type, "object")
    }).pipe(provide([CodexTest.reply(JSON.stringify({ city: "Tokyo", population: 37 }), { phase: "final_answer" })])))

  it.effect("turns are played in order across threads", () =>
    Effect.gen(function*() {
      const first = yield* Codex.startThread()
      const second = yield* Codex.startThread()
      assert.notStrictEqual(first.id, second.id)
      assert.strictEqual((yield* first.run("a")).finalResponse, "one")
      assert.strictEqual((yield* second.run("b")).finalResponse, "two")
      assert.strictEqual((yield* first.run("c")).finalResponse, "three")
      const turns = yield* CodexTest.turns
      assert.deepStrictEqual(
        turns.map((turn) => [turn.index, turn.threadId, turn.step, turn.status]),
        [
          [1, first.id, "reply(\"one\")", "completed"],
          [2, second.id, "reply(\"two\")", "completed"],
          [3, first.id, "reply(\"three\")", "completed"]
        ]
      )
    }).pipe(provide([CodexTest.reply("one"), CodexTest.reply("two"), CodexTest.reply("three")])))

  it.effect("records every request and notification the client sent", () =>
    Effect.gen(function*() {
      const thread = yield* Codex.startThread({ cwd: "/work/project" })
      yield* thread.run("Say hello")
      const requests = yield* CodexTest.requests
      assert.deepStrictEqual(requests.map((message) => message.method), [
        "initialize",
        "initialized",
        "thread/start",
        "turn/start"
      ])
      assert.strictEqual(requests[2]!._tag, "Request")
      assert.deepStrictEqual(yield* CodexTest.requestsOf("thread/start"), [{ cwd: "/work/project" }])
      const [start] = (yield* CodexTest.requestsOf("turn/start")) as ReadonlyArray<Protocol.TurnStartParams>
      assert.strictEqual(start!.threadId, thread.id)
      assert.deepStrictEqual(start!.input, [{ type: "text", text: "Say hello", text_elements: [] }])
      const [initialize] = (yield* CodexTest.requestsOf("initialize")) as ReadonlyArray<Protocol.InitializeParams>
      assert.strictEqual(initialize!.clientInfo.name, "effect_codex")
      assert.strictEqual(thread.info.cwd, "/work/project")
    }).pipe(provide([CodexTest.reply("hi")])))

  it.effect("a command approved by the Approvals layer runs; its output streams", () =>
    Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      const turn = yield* thread.turn("Create a marker file")
      const events = yield* Stream.runCollect(turn.events)
      const result = yield* turn.result
      const command = itemOf(result.items, "commandExecution")!
      assert.strictEqual(command.status, "completed")
      assert.strictEqual(command.command, "/bin/bash -lc 'touch marker.txt && echo created-marker'")
      assert.strictEqual(command.aggregatedOutput, "created-marker\n")
      assert.strictEqual(command.exitCode, 0)
      const requested = events.find((event) => event._tag === "ApprovalRequested")
      assert.strictEqual(requested?.method, "item/commandExecution/requestApproval")
      assert.deepStrictEqual(
        events.filter((event) => event._tag === "CommandOutputDelta").map((event) => event.delta),
        ["created-marker\n"]
      )
      assert.strictEqual(result.finalResponse, "done")
      const [answer] = yield* CodexTest.answers
      assert.strictEqual(answer!.method, "item/commandExecution/requestApproval")
      assert.deepStrictEqual(answer!.result, { decision: "accept" })
      assert.strictEqual((answer!.params as Protocol.CommandExecutionRequestApprovalParams).reason, "Create it?")
    }).pipe(
      Effect.scoped,
      provide([
        CodexTest.turn(
          CodexTest.command("touch marker.txt && echo created-marker", {
            approval: true,
            output: "created-marker\n",
            reason: "Create it?"
          }),
          CodexTest.reply("done")
        )
      ], { approvals: accept })
    ))

  it.effect("without an Approvals layer a command is declined (the safe default); the turn goes on", () =>
    Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      const result = yield* thread.run("Create a marker file")
      const command = itemOf(result.items, "commandExecution")!
      assert.strictEqual(command.status, "declined")
      assert.isNull(command.aggregatedOutput)
      assert.strictEqual(result.finalResponse, "not allowed")
      const [answer] = yield* CodexTest.answers
      assert.deepStrictEqual(answer!.result, { decision: "decline" })
    }).pipe(provide([CodexTest.turn(CodexTest.command("touch marker.txt", { approval: true }), CodexTest.reply("not allowed"))])))

  it.effect("an explicit decline by a handler; a cancel interrupts the turn", () =>
    Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      const declined = yield* thread.run("one")
      assert.strictEqual(itemOf(declined.items, "commandExecution")!.status, "declined")
      const cancelled = yield* thread.run("two")
      assert.strictEqual(cancelled.status, "interrupted")
      assert.deepStrictEqual((yield* CodexTest.answers).map((answer) => answer.result), [
        { decision: "decline" },
        { decision: "cancel" }
      ])
    }).pipe(provide(
      [CodexTest.command("rm -rf build", { approval: true }), CodexTest.command("rm -rf /", { approval: true })],
      {
        approvals: Approvals.layer({
          commandExecution: (params) => Effect.succeed(params.command?.includes("/'") ? "cancel" as const : "decline" as const)
        })
      }
    )))

  it.effect("a file change approved: the item completes and the turn's diff is sent; declined otherwise", () =>
    Effect.gen(function*() {
      const thread = yield* Codex.startThread({ cwd: "/ws" })
      const turn = yield* thread.turn("Create hello.txt")
      const events = yield* Stream.runCollect(turn.events)
      const result = yield* turn.result
      const change = itemOf(result.items, "fileChange")!
      assert.strictEqual(change.status, "completed")
      assert.deepStrictEqual(change.changes, [{ path: "/ws/hello.txt", kind: { type: "add" }, diff: "hello\n" }])
      const diff = events.find((event) => event._tag === "DiffUpdated")
      assert.strictEqual(
        diff?.diff,
        "diff --git a/hello.txt b/hello.txt\nnew file mode 100644\n--- /dev/null\n+++ b/hello.txt\n@@ -0,0 +1,1 @@\n+hello\n"
      )
      const declined = yield* thread.run("again")
      assert.strictEqual(itemOf(declined.items, "fileChange")!.status, "declined")
    }).pipe(
      Effect.scoped,
      provide(
        [
          CodexTest.fileChange("hello.txt", "hello\n", { approval: true }),
          CodexTest.fileChange("bye.txt", "bye\n", { approval: true })
        ],
        {
          approvals: Approvals.layer({
            fileChange: (params) => Effect.succeed(params.itemId === "call_patch_0001" ? "accept" as const : "decline" as const)
          })
        }
      )
    ))

  it.effect("a client tool is called and its answer recorded in the dynamicToolCall item", () =>
    Effect.gen(function*() {
      const weather = CodexTool.make("lookup_weather", {
        description: "Look up the weather for a city",
        parameters: Schema.Struct({ city: Schema.String }),
        run: ({ city }) => Effect.succeed(`Sunny in ${city}`)
      })
      const thread = yield* Codex.startThread({ tools: [weather] })
      const result = yield* thread.run("What is the weather in Paris?")
      const call = itemOf(result.items, "dynamicToolCall")!
      assert.strictEqual(call.status, "completed")
      assert.strictEqual(call.success, true)
      assert.deepStrictEqual(call.contentItems, [{ type: "inputText", text: "Sunny in Paris" }])
      assert.strictEqual(result.finalResponse, "Weather tool said: \"Sunny in Paris\"")
      const [start] = (yield* CodexTest.requestsOf("thread/start")) as ReadonlyArray<Protocol.ThreadStartParams>
      assert.strictEqual(start!.dynamicTools?.[0]?.name, "lookup_weather")
    }).pipe(provide([
      CodexTest.turn(
        CodexTest.toolCall("lookup_weather", { city: "Paris" }),
        CodexTest.reply((turn) => {
          const answer = turn.answers[0]?.result as Protocol.DynamicToolCallResponse
          const text = answer.contentItems[0]!.type === "inputText" ? answer.contentItems[0]!.text : ""
          return `Weather tool said: ${JSON.stringify(text)}`
        })
      )
    ])))

  it.effect("a tool that fails, or that the client does not have, completes the item as failed", () =>
    Effect.gen(function*() {
      const broken = CodexTool.make("broken", {
        description: "Always fails",
        parameters: Schema.Struct({ x: Schema.optional(Schema.String) }),
        run: () => Effect.fail({ message: "boom" })
      })
      const thread = yield* Codex.startThread({ tools: [broken] })
      const result = yield* thread.run("try")
      const calls = result.items.filter((item) => item.type === "dynamicToolCall")
      assert.deepStrictEqual(calls.map((call) => [call.tool, call.status, call.success]), [
        ["broken", "failed", false],
        ["missing", "failed", false]
      ])
    }).pipe(provide([CodexTest.turn(CodexTest.toolCall("broken", {}), CodexTest.toolCall("missing", {}))])))

  it.effect("a failing turn is a TurnFailed with the protocol's codexErrorInfo", () =>
    Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      const failed = yield* thread.run("Say hello").pipe(
        Effect.as("completed"),
        Effect.catchReason("CodexError", "TurnFailed", (reason) =>
          Effect.succeed(`${reason.message} ${JSON.stringify(reason.codexErrorInfo)} ${reason.turnId.length > 0}`))
      )
      assert.strictEqual(
        failed,
        "exceeded retry limit, last status: 429 Too Many Requests {\"responseTooManyFailedAttempts\":{\"httpStatusCode\":429}} true"
      )
      // the thread stays usable
      assert.strictEqual((yield* thread.run("again")).finalResponse, "recovered")
      const turns = yield* CodexTest.turns
      assert.deepStrictEqual(turns.map((turn) => turn.status), ["failed", "completed"])
    }).pipe(provide([
      CodexTest.fail("exceeded retry limit, last status: 429 Too Many Requests", {
        responseTooManyFailedAttempts: { httpStatusCode: 429 }
      }),
      CodexTest.reply("recovered")
    ])))

  it.effect("an error codex retries does not fail the turn", () =>
    Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      const turn = yield* thread.turn("go")
      const errors = (yield* Stream.runCollect(turn.events)).filter((event) => event._tag === "Error")
      assert.deepStrictEqual(errors.map((event) => [event.error.message, event.willRetry]), [["Reconnecting... 1/2", true]])
      assert.strictEqual((yield* turn.result).finalResponse, "ok")
    }).pipe(Effect.scoped, provide([CodexTest.turn(CodexTest.retrying(), CodexTest.reply("ok"))])))

  it.effect("a turn/start past the end of the script fails with a message naming it", () =>
    Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      yield* thread.run("one")
      const reason = yield* reasonOf(thread.run("two"))
      assert.strictEqual(reason._tag, "TurnFailed")
      assert.strictEqual(reason.message, `CodexTest: no scripted turn for turn/start #2 on thread ${thread.id}`)
      assert.strictEqual(yield* CodexTest.remaining, 0)
    }).pipe(provide([CodexTest.reply("one")])))

  it.effect("verify fails while scripted turns were never played; a fallback plays past the end", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(CodexTest.verify)
      assert.strictEqual(error._tag, "Unfinished")
      assert.strictEqual(error._tag === "Unfinished" ? error.remaining : -1, 1)
      assert.strictEqual(error.message, "CodexTest: 1 scripted turn(s) were never played")
      const thread = yield* Codex.startThread()
      assert.strictEqual((yield* thread.run("a")).finalResponse, "scripted")
      assert.strictEqual((yield* thread.run("b")).finalResponse, "echo: b")
      assert.strictEqual((yield* thread.run("c")).finalResponse, "echo: c")
      yield* CodexTest.verify
    }).pipe(provide([CodexTest.reply("scripted")], { fallback: CodexTest.reply((turn) => `echo: ${turn.text}`) })))

  it.effect("a slow turn interrupted with turn.interrupt completes as interrupted (TestClock)", () =>
    Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      const turn = yield* thread.turn("Write slowly")
      const collected = yield* Effect.forkChild(turn.events.pipe(TurnEvent.textDeltas, Stream.runCollect))
      yield* TestClock.adjust("2500 millis")
      yield* turn.interrupt
      const result = yield* turn.result
      assert.strictEqual(result.status, "interrupted")
      assert.isUndefined(result.finalResponse)
      // item/started at 1 s, then one delta a second: two had been sent
      assert.deepStrictEqual(yield* Fiber.join(collected), ["one "])
      const [played] = yield* CodexTest.turns
      assert.strictEqual(played!.status, "interrupted")
      assert.deepStrictEqual(yield* CodexTest.requestsOf("turn/interrupt"), [{ threadId: thread.id, turnId: turn.id }])
      // the thread takes a new turn afterwards
      assert.strictEqual((yield* thread.run("again")).finalResponse, "after interrupt")
    }).pipe(
      Effect.scoped,
      provide([
        CodexTest.slow(CodexTest.reply("one two three four five"), { delay: "1 second" }),
        CodexTest.reply("after interrupt")
      ])
    ))

  it.effect("without interruption a slow turn finishes once the clock has moved", () =>
    Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      const fiber = yield* Effect.forkChild(thread.run("go"))
      const result = yield* driveClock(fiber)
      assert.strictEqual(result.finalResponse, "slow but sure")
      assert.strictEqual(result.durationMs, 7000)
    }).pipe(provide([
      CodexTest.turn(CodexTest.delay("1 second"), CodexTest.slow(CodexTest.reply("slow but sure"), { delay: "1 second" }))
    ])))

  it.effect("interrupting the fiber that runs thread.run sends turn/interrupt and waits for the turn to end", () =>
    Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      const fiber = yield* Effect.forkChild(thread.run("Write slowly"))
      yield* CodexTest.awaitRequest("turn/start")
      yield* TestClock.adjust("1 second")
      yield* Fiber.interrupt(fiber)
      const [interrupt] = (yield* CodexTest.requestsOf("turn/interrupt")) as ReadonlyArray<Protocol.TurnInterruptParams>
      assert.strictEqual(interrupt?.threadId, thread.id)
      const [played] = yield* CodexTest.turns
      assert.strictEqual(played!.turnId, interrupt!.turnId)
      assert.strictEqual(played!.status, "interrupted")
    }).pipe(provide([CodexTest.slow(CodexTest.reply("a b c d e f g"), { delay: "1 second" })])))

  it.effect("an interrupted turn waiting on an approval resolves the request", () =>
    Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      const turn = yield* thread.turn("go")
      const pending = yield* Effect.andThen(Effect.yieldNow, Approvals.pending).pipe(
        Effect.repeat({ until: (list) => list.length > 0 })
      )
      assert.strictEqual(pending[0]?.method, "item/commandExecution/requestApproval")
      yield* turn.interrupt
      assert.strictEqual((yield* turn.result).status, "interrupted")
      const tags = (yield* Stream.runCollect(turn.events)).map((event) => event._tag === "Other" ? event.method : event._tag)
      assert.isTrue(tags.includes("serverRequest/resolved"))
      assert.deepStrictEqual(yield* Approvals.pending, [])
    }).pipe(
      Effect.scoped,
      Effect.provide(Codex.layer.pipe(Layer.provideMerge(Approvals.layer({ commandExecution: Approvals.manual })))),
      Effect.provide(CodexTest.layer([CodexTest.command("make", { approval: true })]))
    ))

  it.effect("early: the turn's notifications come before the turn/start response and none is lost", () =>
    Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      const turn = yield* thread.turn("Say hello")
      const events = yield* Stream.runCollect(turn.events)
      const tags = events.map((event) => event._tag)
      assert.strictEqual(tags[0], "TurnStarted")
      assert.strictEqual(tags[tags.length - 1], "TurnCompleted")
      assert.deepStrictEqual(events.flatMap((event) => event._tag === "AgentMessageDelta" ? [event.delta] : []), [
        "Hello ",
        "there"
      ])
      const result = yield* turn.result
      assert.strictEqual(result.finalResponse, "Hello there")
      assert.deepStrictEqual(result.items.map((item) => item.type), ["userMessage", "reasoning", "agentMessage"])
      // the server answered turn/start only after turn/completed
      const second = yield* thread.run("again")
      assert.strictEqual(second.finalResponse, "second")
    }).pipe(
      Effect.scoped,
      provide([CodexTest.reply("Hello there", { reasoning: "thinking" }), CodexTest.reply("second")], { early: true })
    ))

  it.effect("early: a turn with an approval answers it and keeps every event", () =>
    Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      const turn = yield* thread.turn("go")
      const events = yield* Stream.runCollect(turn.events)
      const result = yield* turn.result
      assert.strictEqual(itemOf(result.items, "commandExecution")!.status, "completed")
      assert.isTrue(events.some((event) => event._tag === "ApprovalRequested"))
      assert.strictEqual(result.finalResponse, "done")
    }).pipe(
      Effect.scoped,
      provide([CodexTest.turn(CodexTest.command("make", { approval: true }), CodexTest.reply("done"))], {
        early: true,
        approvals: accept
      })
    ))

  it.effect(
    "early: serverRequest/resolved of a turn whose turn/start is unanswered reaches turn.events",
    () =>
      Effect.gen(function*() {
        const thread = yield* Codex.startThread()
        const turn = yield* thread.turn("go")
        const events = yield* Stream.runCollect(turn.events)
        assert.isTrue(events.some((event) => event._tag === "Other" && event.method === "serverRequest/resolved"))
      }).pipe(
        Effect.scoped,
        provide([CodexTest.turn(CodexTest.command("make", { approval: true }), CodexTest.reply("done"))], {
          early: true,
          approvals: accept
        })
      )
  )

  it.effect("steer adds input to the running turn; turn/start on a busy thread steers it too", () =>
    Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      const turn = yield* thread.turn("first")
      yield* TestClock.adjust("1 second")
      assert.deepStrictEqual(yield* turn.steer("steer text"), { turnId: turn.id })
      const client = yield* AppServerClient
      const busy = yield* client.request("turn/start", { threadId: thread.id, input: [Input.text("more")] })
      assert.strictEqual(busy.turn.id, turn.id)
      yield* TestClock.adjust("10 seconds")
      const result = yield* turn.result
      const texts = result.items.flatMap((item) =>
        item.type === "userMessage" ? item.content.flatMap((input) => input.type === "text" ? [input.text] : []) : []
      )
      assert.deepStrictEqual(texts, ["first", "steer text", "more"])
      assert.strictEqual(result.finalResponse, "n=2")
      const [steer] = (yield* CodexTest.requestsOf("turn/steer")) as ReadonlyArray<Protocol.TurnSteerParams>
      assert.strictEqual(steer!.expectedTurnId, turn.id)
      // steering a finished turn is an error, as in codex
      const reason = yield* reasonOf(turn.steer("late"))
      assert.strictEqual(reason._tag, "RpcError")
      assert.strictEqual(reason.message, "no active turn to steer")
    }).pipe(
      Effect.scoped,
      provide([CodexTest.turn(CodexTest.delay("2 seconds"), CodexTest.reply((turn) => `n=${turn.steers.length}`))])
    ))

  it.effect("reasoning and user input: the client's answers reach later steps", () =>
    Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      const turn = yield* thread.turn("Pick a color")
      const reasoningText = yield* turn.events.pipe(TurnEvent.reasoningDeltas, Stream.mkString)
      assert.strictEqual(reasoningText, "I should ask the user")
      const result = yield* turn.result
      assert.deepStrictEqual(itemOf(result.items, "reasoning")!.summary, ["I should ask the user"])
      assert.strictEqual(result.finalResponse, "You chose blue")
      const [answer] = yield* CodexTest.answers
      assert.strictEqual(answer!.method, "item/tool/requestUserInput")
      const params = answer!.params as Protocol.ToolRequestUserInputParams
      assert.deepStrictEqual(params.questions.map((question) => question.question), ["Which color?"])
    }).pipe(
      Effect.scoped,
      provide([
        CodexTest.turn(
          CodexTest.reasoning("I should ask the user"),
          CodexTest.userInput(["Which color?"]),
          CodexTest.reply((turn) => {
            const response = turn.answers[0]?.result as Protocol.ToolRequestUserInputResponse
            return `You chose ${response.answers["q1"]?.answers[0] ?? "nothing"}`
          })
        )
      ], {
        approvals: Approvals.layer({
          userInput: (params) =>
            Effect.succeed({ answers: { [params.questions[0]!.id]: { answers: ["blue"] } } })
        })
      })
    ))

  it.effect("50 concurrent turns on 50 threads: every event reaches its own turn", () =>
    Effect.gen(function*() {
      const prompts = Array.from({ length: 50 }, (_, i) => `prompt ${i}`)
      const fiber = yield* Effect.forkChild(Effect.forEach(prompts, (prompt) =>
        Effect.scoped(Effect.gen(function*() {
          const thread = yield* Codex.startThread()
          const turn = yield* thread.turn(prompt)
          const events = yield* Stream.runCollect(turn.events)
          const result = yield* turn.result
          return { prompt, thread, turn, events, result }
        })), { concurrency: "unbounded" }))
      const runs = yield* driveClock(fiber)
      const threadIds = new Set(runs.map((run) => run.thread.id))
      assert.strictEqual(threadIds.size, 50)
      for (const run of runs) {
        assert.strictEqual(run.result.finalResponse, `echo: ${run.prompt}`)
        assert.strictEqual(run.result.threadId, run.thread.id)
        for (const event of run.events) {
          const fields = event as { threadId?: string; turnId?: string; turn?: { id: string } }
          if (fields.threadId !== undefined) assert.strictEqual(fields.threadId, run.thread.id)
          if (fields.turnId !== undefined) assert.strictEqual(fields.turnId, run.turn.id)
          if (fields.turn !== undefined) assert.strictEqual(fields.turn.id, run.turn.id)
        }
        const deltas = run.events.flatMap((event) => event._tag === "AgentMessageDelta" ? [event.delta] : [])
        assert.strictEqual(deltas.join(""), `echo: ${run.prompt}`)
        const user = itemOf(run.result.items, "userMessage")!
        assert.deepStrictEqual(user.content, [{ type: "text", text: run.prompt, text_elements: [] }])
      }
      const turns = yield* CodexTest.turns
      assert.strictEqual(turns.length, 50)
      assert.isTrue(turns.every((turn) => turn.status === "completed"))
    }).pipe(provide(
      Array.from({ length: 50 }, () =>
        CodexTest.slow(CodexTest.reply((turn) => `echo: ${turn.text}`, { deltas: 3 }), { delay: "10 millis" }))
    )))

  it.effect("thread lifecycle: list across pages, read, name, fork, archive, unarchive", () =>
    Effect.gen(function*() {
      const main = yield* Codex.startThread()
      yield* main.run("first message")
      const others = yield* Effect.forEach([1, 2, 3, 4], () => Codex.startThread())
      yield* Codex.startThread({ ephemeral: true })

      const all = yield* Stream.runCollect(Codex.threads({ limit: 2 }))
      assert.deepStrictEqual(all.map((thread) => thread.id), [...others.map((thread) => thread.id).reverse(), main.id])
      const pages = (yield* CodexTest.requestsOf("thread/list")) as ReadonlyArray<Protocol.ThreadListParams>
      assert.deepStrictEqual(pages, [{ limit: 2 }, { limit: 2, cursor: "2" }, { limit: 2, cursor: "4" }])
      assert.strictEqual(all[4]!.preview, "first message")

      yield* main.setName("My research thread")
      const read = yield* main.read({ includeTurns: true })
      assert.strictEqual(read.thread.name, "My research thread")
      assert.strictEqual(read.thread.turns.length, 1)
      assert.deepStrictEqual(read.thread.turns[0]!.items.map((item) => item.type), ["userMessage", "agentMessage"])
      assert.strictEqual(read.thread.turns[0]!.itemsView, "full")
      assert.strictEqual((yield* main.read()).thread.turns.length, 0)

      const fork = yield* main.fork()
      assert.notStrictEqual(fork.id, main.id)
      assert.strictEqual(fork.info.forkedFromId, main.id)
      assert.strictEqual(fork.info.name, "My research thread")
      assert.strictEqual(fork.info.turns.length, 1)
      assert.strictEqual((yield* fork.run("on the fork")).finalResponse, "forked reply")

      yield* fork.archive
      const archived = yield* Codex.listThreads({ archived: true })
      assert.deepStrictEqual(archived.data.map((thread) => thread.id), [fork.id])
      assert.isFalse((yield* Codex.listThreads({ limit: 50 })).data.some((thread) => thread.id === fork.id))
      const onArchived = yield* reasonOf(fork.run("turn on archived thread"))
      assert.strictEqual(onArchived._tag, "RpcError")
      assert.strictEqual(onArchived.message, `thread not found: ${fork.id}`)

      const restored = yield* Codex.unarchiveThread(fork.id)
      assert.strictEqual(restored.id, fork.id)
      // unarchiveThread loads the thread again, so the handle can run turns
      assert.strictEqual(restored.info.status.type, "idle")
      assert.strictEqual((yield* Codex.listThreads({ archived: true })).data.length, 0)
      const again = yield* restored.run("after unarchive")
      assert.strictEqual(again.status, "completed")

      const methods = (yield* CodexTest.requests).map((message) => message.method)
      for (const method of ["thread/name/set", "thread/read", "thread/fork", "thread/archive", "thread/unarchive"]) {
        assert.isTrue(methods.includes(method), method)
      }
    }).pipe(provide([CodexTest.reply("hello"), CodexTest.reply("forked reply"), CodexTest.reply("back again")])))

  it.effect("delete: the thread leaves the listing and is announced deleted; deleting it again is codex's RpcError", () =>
    Effect.gen(function*() {
      const client = yield* AppServerClient
      const seen: Array<string> = []
      const events = yield* client.subscribe
      yield* events.pipe(
        Stream.runForEach((incoming) =>
          Effect.sync(() => {
            if (incoming._tag === "Notification" && incoming.method.startsWith("thread/") && incoming.method !== "thread/started") {
              seen.push(`${incoming.method} ${JSON.stringify(incoming.params)}`)
            }
          })
        ),
        Effect.forkScoped
      )
      const thread = yield* Codex.startThread()
      yield* thread.run("short-lived")
      const other = yield* Codex.startThread()
      seen.length = 0
      yield* thread.delete
      assert.deepStrictEqual((yield* Codex.listThreads()).data.map((t) => t.id), [other.id])
      const again = yield* reasonOf(Codex.deleteThread(thread.id))
      assert.strictEqual(again._tag, "RpcError")
      assert.strictEqual(again.message, `no rollout found for thread id ${thread.id}`)
      yield* Effect.yieldNow
      assert.deepStrictEqual(seen, [
        `thread/status/changed {"threadId":"${thread.id}","status":{"type":"notLoaded"}}`,
        `thread/deleted {"threadId":"${thread.id}"}`
      ])
    }).pipe(Effect.scoped, provide([CodexTest.reply("A")])))

  it.effect("stored threads: listed as not loaded, resumed with their history, and go on", () =>
    Effect.gen(function*() {
      const listed = yield* Codex.listThreads()
      assert.deepStrictEqual(listed.data.map((thread) => [thread.id, thread.status.type, thread.name]), [
        ["01a1fc6b-7cb0-7752-a3a1-dbb9d04035f6", "notLoaded", "My research thread"]
      ])
      const thread = yield* Codex.resumeThread("01a1fc6b-7cb0-7752-a3a1-dbb9d04035f6")
      assert.strictEqual(thread.info.turns.length, 2)
      assert.strictEqual(thread.info.preview, "first message")
      const result = yield* thread.run("third message after resume")
      assert.strictEqual(result.finalResponse, "reply #2")
      assert.strictEqual((yield* thread.read({ includeTurns: true })).thread.turns.length, 3)
      const missing = yield* reasonOf(Codex.resumeThread("01a1fc58-0000-7000-8000-000000000000"))
      assert.strictEqual(missing.message, "no rollout found for thread id 01a1fc58-0000-7000-8000-000000000000")
      const invalid = yield* reasonOf(Codex.resumeThread("not-a-uuid"))
      assert.match(invalid.message, /^invalid thread id/)
    }).pipe(provide([CodexTest.reply("reply #2")], {
      threads: [{
        id: "01a1fc6b-7cb0-7752-a3a1-dbb9d04035f6",
        name: "My research thread",
        history: [{ user: "first message", agent: "reply #0" }, { user: "second message", agent: "reply #1" }]
      }]
    })))

  it.effect("compaction runs as a turn of its own; the next turn starts after it", () =>
    Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      yield* thread.compact
      const result = yield* thread.run("after compaction")
      assert.strictEqual(result.finalResponse, "ok")
      const turns = yield* CodexTest.turns
      assert.deepStrictEqual(turns.map((turn) => [turn.index, turn.step, turn.status]), [
        [0, "compaction", "completed"],
        [1, "reply(\"ok\")", "completed"]
      ])
    }).pipe(provide([CodexTest.reply("ok")])))

  it.effect("a compaction's token updates are codex's three: the totals restated, its request, the estimate of the compacted context", () =>
    Effect.gen(function*() {
      const client = yield* AppServerClient
      const events = yield* client.subscribe
      const updates: Array<Protocol.ThreadTokenUsage> = []
      yield* events.pipe(
        Stream.runForEach((incoming) =>
          Effect.sync(() => {
            if (incoming._tag === "Notification" && incoming.method === "thread/tokenUsage/updated") {
              updates.push(incoming.params.tokenUsage)
            }
          })
        ),
        Effect.forkScoped
      )
      const thread = yield* Codex.startThread()
      yield* thread.run("before")
      updates.length = 0
      yield* thread.compact
      yield* Effect.yieldNow
      const shape = (usage: Protocol.ThreadTokenUsage) => [usage.total.totalTokens, usage.last.inputTokens, usage.last.totalTokens]
      // the turn used 700 in and 25 out; the compaction 100 in and 20 out; the estimate has no input
      assert.deepStrictEqual(updates.map(shape), [[725, 700, 725], [845, 100, 120], [845, 0, 905]])
    }).pipe(Effect.scoped, provide([CodexTest.reply("r", { usage: { input: 700, cached: 0, output: 25, reasoning: 0 } })])))

  it.effect("models, account, login and logout", () =>
    Effect.gen(function*() {
      const models = yield* Codex.models()
      assert.deepStrictEqual(models.data.map((model) => model.id), ["mock-model"])
      assert.isNull((yield* Codex.account).account ?? null)
      yield* Codex.loginApiKey(Redacted.make("sk-secret"))
      assert.deepStrictEqual((yield* Codex.account).account, { type: "apiKey" })
      const [login] = yield* CodexTest.requestsOf("account/login/start")
      assert.deepStrictEqual(login, { type: "apiKey", apiKey: "<redacted>" })
      yield* Codex.logout
      assert.isNull((yield* Codex.account).account ?? null)
    }).pipe(provide([])))

  it.effect("unknown and unimplemented methods are -32600 errors, as in codex; `methods` answers more", () =>
    Effect.gen(function*() {
      const client = yield* AppServerClient
      const unknown = yield* reasonOf(client.requestRaw("does/notExist", {}))
      assert.strictEqual(unknown._tag, "RpcError")
      if (unknown._tag === "RpcError") {
        assert.strictEqual(unknown.code, -32600)
        assert.match(unknown.message, /^Invalid request: unknown variant `does\/notExist`, expected one of `/)
      }
      const unimplemented = yield* reasonOf(client.request("config/read", {}))
      assert.match(unimplemented.message, /config\/read is not implemented/)
      const custom = yield* client.requestRaw("fs/readFile", { path: "/x" })
      assert.deepStrictEqual(custom, { dataBase64: "Y29udGVudA==" })
      const badParams = yield* reasonOf(client.requestRaw("thread/read", { threadId: 42 }))
      assert.match(badParams.message, /^Invalid request/)
      const interruptNothing = yield* reasonOf(client.request("turn/interrupt", { threadId: "t", turnId: "nope" }))
      assert.strictEqual(interruptNothing.message, "no active turn to interrupt")
    }).pipe(provide([], { methods: { "fs/readFile": () => Effect.succeed({ dataBase64: "Y29udGVudA==" }) } })))

  it.effect("without the experimental API, experimental fields are refused as codex refuses them", () =>
    Effect.gen(function*() {
      const client = yield* AppServerClient
      const reason = yield* reasonOf(client.request("thread/start", {
        dynamicTools: [{ type: "function", name: "x", description: "x", inputSchema: {} }]
      }))
      assert.strictEqual(reason.message, "thread/start.dynamicTools requires experimentalApi capability")
    }).pipe(Effect.provide(CodexTest.layer([], { experimentalApi: false }))))

  it.effect("everything the server sends decodes with the generated schemas", () =>
    Effect.gen(function*() {
      const client = yield* AppServerClient
      const incoming = yield* client.subscribe
      const tool = CodexTool.make("t", {
        description: "t",
        parameters: Schema.Struct({ x: Schema.optional(Schema.String) }),
        run: () => Effect.succeed("ok")
      })
      const thread = yield* Codex.startThread({ tools: [tool] })
      const collected = yield* Effect.forkChild(incoming.pipe(
        Stream.takeUntil((message) => message._tag === "Notification" && message.method === "turn/completed"),
        Stream.runCollect
      ))
      yield* thread.run("everything")
      const messages = yield* Fiber.join(collected)
      const undecoded = messages.filter((message) =>
        message._tag === "UnknownNotification" && message.method in ServerNotificationParams
      )
      assert.deepStrictEqual(undecoded, [])
      const methods = new Set(messages.map((message) => message.method))
      for (
        const method of [
          "thread/started",
          "turn/started",
          "item/started",
          "item/completed",
          "item/agentMessage/delta",
          "item/reasoning/summaryTextDelta",
          "item/commandExecution/outputDelta",
          "item/commandExecution/requestApproval",
          "item/fileChange/requestApproval",
          "item/tool/call",
          "item/tool/requestUserInput",
          "serverRequest/resolved",
          "turn/diff/updated",
          "thread/tokenUsage/updated",
          "account/rateLimits/updated",
          "thread/status/changed",
          "error",
          "turn/plan/updated"
        ]
      ) assert.isTrue(methods.has(method), method)
      const answers = yield* CodexTest.answers
      assert.strictEqual(answers.length, 4)
      assert.isTrue(answers.every((answer) => answer.error === undefined))
    }).pipe(
      Effect.scoped,
      provide([
        CodexTest.turn(
          CodexTest.reasoning("hmm"),
          CodexTest.notify("turn/plan/updated", (turn) => ({
            threadId: turn.threadId,
            turnId: turn.turnId,
            explanation: null,
            plan: [{ step: "look", status: "completed" }]
          })),
          CodexTest.command("ls", { output: "a\nb\n", approval: true }),
          CodexTest.fileChange("x.txt", "x\n", { approval: true }),
          CodexTest.toolCall("t", {}),
          CodexTest.userInput(["why?"]),
          CodexTest.retrying(),
          CodexTest.reply("done")
        )
      ], { approvals: accept })
    ))
})

describe("manual approvals (UI-driven)", () => {
  it.effect("respond right when ApprovalRequested shows up in turn.events is never lost", () =>
    Effect.gen(function*() {
      const service = yield* Approvals.make({ commandExecution: Approvals.manual })
      yield* Effect.gen(function*() {
        const thread = yield* Codex.startThread()
        const turn = yield* thread.turn("make")
        // answer from the event stream itself, at the first moment possible
        const answered = yield* turn.events.pipe(
          Stream.filter(TurnEvent.is("ApprovalRequested")),
          Stream.mapEffect((event) => service.respond(event.requestId, { decision: "accept" })),
          Stream.runCollect
        )
        assert.deepStrictEqual(answered, [true])
        const result = yield* turn.result
        assert.strictEqual(itemOf(result.items, "commandExecution")!.status, "completed")
        assert.strictEqual((yield* service.pending).length, 0)
      }).pipe(
        Effect.scoped,
        provide([CodexTest.turn(CodexTest.command("make", { approval: true }), CodexTest.reply("done"))], {
          approvals: Layer.succeed(Approvals.Approvals, service)
        })
      )
    }))

  it("unwrapShell reads codex's unquoted one-word commands", () => {
    assert.strictEqual(Approvals.unwrapShell("/bin/bash -lc ls"), "ls")
    assert.isTrue(Approvals.isReadOnlyCommand("/bin/bash -lc ls"))
    assert.isTrue(Approvals.isReadOnlyCommand("/bin/bash -lc pwd"))
    assert.isFalse(Approvals.isReadOnlyCommand("/bin/bash -lc reboot"))
  })
})

describe("tools: invalid options are typed errors", () => {
  const echo = CodexTool.make("echo", {
    description: "Echoes",
    parameters: Schema.Struct({ text: Schema.String }),
    run: ({ text }) => Effect.succeed(text)
  })

  it.effect("tools without the experimental API: InvalidOptions, nothing sent", () =>
    Effect.gen(function*() {
      const reason = yield* reasonOf(Codex.startThread({ tools: [echo] }))
      assert.strictEqual(reason._tag, "InvalidOptions")
      assert.match(reason.message, /experimental API/)
      assert.strictEqual((yield* CodexTest.requestsOf("thread/start")).length, 0)
    }).pipe(Effect.provide(Codex.layer), Effect.provide(CodexTest.layer([], { experimentalApi: false }))))

  it.effect("two tools with one name, and parameters strict mode cannot express", () =>
    Effect.gen(function*() {
      const twice = yield* reasonOf(Codex.startThread({ tools: [echo, echo] }))
      assert.strictEqual(twice._tag, "InvalidOptions")
      assert.match(twice.message, /two tools are named echo/)
      const loose = CodexTool.make("loose", {
        description: "Takes anything",
        parameters: Schema.Struct({ value: Schema.Unknown }),
        run: () => Effect.succeed("")
      })
      const unsupported = yield* reasonOf(Codex.startThread({ tools: [loose] }))
      assert.strictEqual(unsupported._tag, "InvalidOptions")
      assert.match(unsupported.message, /tool loose: parameters/)
    }).pipe(Effect.provide(Codex.layer), Effect.provide(CodexTest.layer([]))))
})

describe("structured output: invalid schemas are typed errors", () => {
  it.effect("an output schema strict mode cannot express fails with InvalidOptions before the turn starts", () =>
    Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      const reason = yield* reasonOf(thread.run("x", { outputSchema: Schema.String }))
      assert.strictEqual(reason._tag, "InvalidOptions")
      assert.match(reason.message, /outputSchema/)
      assert.strictEqual((yield* CodexTest.requestsOf("turn/start")).length, 0)
    }).pipe(Effect.provide(Codex.layer), Effect.provide(CodexTest.layer([]))))
})
