import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Fiber, Layer, Schema, Stream } from "effect"
import { TestClock } from "effect/testing"
import * as NodeFs from "node:fs"
import { fileURLToPath } from "node:url"
import * as CodexTest from "../../src/layers/testing/CodexTest.ts"
import type * as Protocol from "../../src/schema/generated/Protocol.gen.ts"
import { AppServerClient } from "../../src/services/AppServerClient.ts"
import * as Approvals from "../../src/services/Approvals.ts"
import * as Codex from "../../src/services/Codex.ts"
import * as CodexTool from "../../src/services/CodexTool.ts"
import * as TurnEvent from "../../src/streams/TurnEvent.ts"
import { itemOf, reasonOf } from "../support/Errors.ts"

const transcript = (name: string) =>
  fileURLToPath(new URL(`../fixtures/transcripts/${name}.jsonl`, import.meta.url))

const acceptAll = Approvals.layer({
  commandExecution: () => Effect.succeed("accept" as const),
  fileChange: () => Effect.succeed("accept" as const)
})

const replay = (
  file: string | ReadonlyArray<CodexTest.TranscriptLine>,
  options: CodexTest.ReplayOptions & { readonly approvals?: Layer.Layer<Approvals.Approvals> } = {}
) =>
<A, E, R>(self: Effect.Effect<A, E, R>) => {
  const { approvals, ...rest } = options
  const codex = approvals === undefined ? Codex.layer : Codex.layer.pipe(Layer.provide(approvals))
  return self.pipe(Effect.provide(codex), Effect.provide(CodexTest.layerReplay(file, rest)))
}



const sayHello = Effect.gen(function*() {
  const thread = yield* Codex.startThread()
  return yield* thread.run("Say hello")
})

describe("CodexTest.layerReplay", () => {
  it.effect("replays a-plain-message: the program gets the recorded answer", () =>
    Effect.gen(function*() {
      const result = yield* sayHello
      assert.strictEqual(result.finalResponse, "Hello from the mock model!")
      assert.strictEqual(result.threadId, "01a1fc6b-64be-7fd3-9dbc-b3a33193fd02")
      assert.strictEqual(result.turnId, "01a1fc6b-64cd-7d53-b87f-e91178bf8bac")
      assert.strictEqual(result.status, "completed")
      assert.strictEqual(result.usage?.last.inputTokens, 1234)
      assert.strictEqual(result.durationMs, 345)
      assert.deepStrictEqual(result.items.map((item) => item.type), ["userMessage", "agentMessage"])
      assert.strictEqual(yield* CodexTest.remaining, 0)
      assert.deepStrictEqual(yield* CodexTest.mismatches, [])
      yield* CodexTest.verify
      const metadata = yield* Codex.metadata
      assert.strictEqual(metadata.codexHome, "<tmp>/home")
      assert.deepStrictEqual((yield* CodexTest.turns).map((turn) => turn.status), ["completed"])
    }).pipe(replay(transcript("a-plain-message"))))

  it.effect("the replayed turn streams its recorded deltas", () =>
    Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      const turn = yield* thread.turn("Say hello")
      const deltas = yield* turn.events.pipe(TurnEvent.textDeltas, Stream.runCollect)
      assert.deepStrictEqual(deltas, ["Hello ", "from the ", "mock ", "model!"])
    }).pipe(Effect.scoped, replay(transcript("a-plain-message"))))

  it.effect("a program that sends something else fails clearly, naming the transcript line", () =>
    Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      const reason = yield* reasonOf(thread.run("Say goodbye"))
      assert.strictEqual(reason._tag, "RpcError")
      if (reason._tag === "RpcError") {
        assert.strictEqual(reason.code, -32600)
        assert.strictEqual(reason.method, "turn/start")
        assert.strictEqual(
          reason.message,
          "CodexTest replay: transcript line 9 expects request turn/start, but the client sent request turn/start " +
            "(params.input[0].text: expected \"Say hello\", got \"Say goodbye\")"
        )
      }
      const [mismatch] = yield* CodexTest.mismatches
      assert.strictEqual(mismatch?.line, 9)
      assert.strictEqual((mismatch?.expected as { method: string }).method, "turn/start")
      assert.deepStrictEqual((mismatch?.actual as { params: Protocol.TurnStartParams }).params.input[0], {
        type: "text",
        text: "Say goodbye",
        text_elements: []
      })
      const error = yield* Effect.flip(CodexTest.verify)
      assert.strictEqual(error._tag, "ReplayMismatch")
      // the connection is closed after a mismatch: later requests fail with the same message
      const closed = yield* (yield* AppServerClient).awaitClosed
      assert.strictEqual(closed.reason._tag, "ProtocolError")
      const after = yield* reasonOf(Codex.models())
      assert.strictEqual(after._tag, "ProtocolError")
      assert.match(after.message, /transcript line 9 expects request turn\/start/)
    }).pipe(replay(transcript("a-plain-message"))))

  it.effect("a request after the end of the transcript fails with a message saying so", () =>
    Effect.gen(function*() {
      yield* sayHello
      const reason = yield* reasonOf(Codex.models({ limit: 3 }))
      assert.strictEqual(reason._tag, "RpcError")
      assert.strictEqual(
        reason.message,
        "CodexTest replay: the transcript has ended, but the client sent request model/list {\"limit\":3}"
      )
      assert.strictEqual((yield* CodexTest.mismatches).length, 1)
    }).pipe(replay(transcript("a-plain-message"))))

  it.effect("replays b-exec-approval with an Approvals layer that accepts", () =>
    Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      const result = yield* thread.run("Create a marker file")
      const command = itemOf(result.items, "commandExecution")!
      assert.strictEqual(command.status, "completed")
      assert.strictEqual(command.aggregatedOutput, "created-marker\n")
      assert.match(result.finalResponse ?? "", /created-marker/)
      const [answer] = yield* CodexTest.answers
      assert.strictEqual(answer?.method, "item/commandExecution/requestApproval")
      assert.deepStrictEqual(answer?.result, { decision: "accept" })
      yield* CodexTest.verify
    }).pipe(replay(transcript("b-exec-approval"), { approvals: acceptAll })))

  it.effect("replaying b-exec-approval with the default (decline) answer is a mismatch that ends the turn", () =>
    Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      const reason = yield* reasonOf(thread.run("Create a marker file"))
      assert.strictEqual(reason._tag, "ProtocolError")
      assert.match(
        reason.message,
        /expects an answer to server request 0, but the client sent an answer to server request 0 \(result\.decision: expected "accept", got "decline"\)/
      )
      const [mismatch] = yield* CodexTest.mismatches
      assert.deepStrictEqual(mismatch?.actual, { id: 0, result: { decision: "decline" } })
    }).pipe(replay(transcript("b-exec-approval"))))

  it.effect("replays b2-exec-decline with the safe default", () =>
    Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      const result = yield* thread.run("Create a marker file")
      assert.strictEqual(itemOf(result.items, "commandExecution")!.status, "declined")
      yield* CodexTest.verify
    }).pipe(replay(transcript("b2-exec-decline"))))

  it.effect("replays j-dynamic-tool-call with a CodexTool", () =>
    Effect.gen(function*() {
      const weather = CodexTool.make("lookup_weather", {
        description: "Look up the weather for a city",
        parameters: Schema.Struct({ city: Schema.String }),
        run: ({ city }) => Effect.succeed(`Sunny in ${city}`)
      })
      const thread = yield* Codex.startThread({ tools: [weather] })
      const result = yield* thread.run("What is the weather in Paris?")
      assert.strictEqual(result.finalResponse, "Weather tool said: \"Sunny in Paris\"")
      yield* CodexTest.verify
    }).pipe(replay(transcript("j-dynamic-tool-call"))))

  it.effect("replays c-apply-patch-approval: the accepted file change and its diff", () =>
    Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      const turn = yield* thread.turn("Create hello.txt")
      const diffs = (yield* Stream.runCollect(turn.events)).filter((event) => event._tag === "DiffUpdated")
      assert.isTrue(diffs.length > 0)
      const result = yield* turn.result
      assert.strictEqual(itemOf(result.items, "fileChange")!.status, "completed")
      yield* CodexTest.verify
    }).pipe(Effect.scoped, replay(transcript("c-apply-patch-approval"), { approvals: acceptAll })))

  it.effect("replays f-error-http429: a TurnFailed with the recorded codexErrorInfo, then a turn that recovers", () =>
    Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      const info = yield* thread.run("trigger error").pipe(
        Effect.as(undefined),
        Effect.catchReason("CodexError", "TurnFailed", (reason) => Effect.succeed(reason.codexErrorInfo))
      )
      assert.deepStrictEqual(info, { responseTooManyFailedAttempts: { httpStatusCode: 429 } })
      assert.strictEqual((yield* thread.run("after error")).finalResponse, "recovered")
      yield* CodexTest.verify
    }).pipe(replay(transcript("f-error-http429"))))

  it.effect("replays i-concurrent-threads: concurrent requests may come in any order", () =>
    Effect.gen(function*() {
      const [alpha, beta] = yield* Effect.all([Codex.startThread(), Codex.startThread()], { concurrency: "unbounded" })
      const [a, b] = yield* Effect.all([alpha.run("alpha one two three"), beta.run("beta four five six")], {
        concurrency: "unbounded"
      })
      assert.strictEqual(a.finalResponse, "echo: alpha one two three")
      assert.strictEqual(b.finalResponse, "echo: beta four five six")
      yield* CodexTest.verify
    }).pipe(replay(transcript("i-concurrent-threads"))))

  it.effect("replays several turns and a rename (first process of e-threads-lifecycle)", () =>
    Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      assert.match((yield* thread.run("first message")).finalResponse ?? "", /^reply #0/)
      assert.match((yield* thread.run("second message")).finalResponse ?? "", /^reply #1/)
      yield* thread.setName("My research thread")
      yield* CodexTest.verify
    }).pipe(replay(transcript("e-threads-lifecycle"))))

  it.effect("replays another process of a multi-process transcript", () =>
    Effect.gen(function*() {
      const page = yield* Codex.listThreads({ limit: 10 })
      assert.strictEqual(page.data[0]?.name, "My research thread")
      assert.strictEqual(yield* CodexTest.remaining, 16)
    }).pipe(replay(transcript("e-threads-lifecycle"), { proc: "proc2" })))

  it.effect("timing: recorded waits on the Clock as long as the recording did", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.forkChild(sayHello)
      const result = yield* Effect.raceFirst(
        Fiber.join(fiber),
        Effect.forever(TestClock.adjust("10 millis").pipe(Effect.andThen(Effect.yieldNow)))
      )
      assert.strictEqual(result.finalResponse, "Hello from the mock model!")
      // from `initialized` (t=119) to `turn/completed` (t=490) in the recording
      assert.isAtLeast(yield* Clock.currentTimeMillis, 371)
    }).pipe(replay(transcript("a-plain-message"), { timing: "recorded" })))

  it.effect("accepts parsed lines as well as a path", () =>
    Effect.gen(function*() {
      assert.strictEqual((yield* sayHello).finalResponse, "Hello from the mock model!")
    }).pipe(replay(CodexTest.parseTranscript(NodeFs.readFileSync(transcript("a-plain-message"), "utf8")))))

  it.effect("replays k-review: thread.review sends what was recorded, and its interrupt names the inner turn", () =>
    Effect.gen(function*() {
      const thread = yield* Codex.startThread({ cwd: "/repo" })
      const review = yield* Effect.scoped(Effect.flatMap(thread.review({ type: "uncommittedChanges" }), (turn) => turn.result))
      assert.strictEqual(review.status, "completed")
      assert.include(review.finalResponse, "Off-by-one in the loop")
      assert.strictEqual(itemOf(review.items, "exitedReviewMode")?.review, review.finalResponse)
      const interrupted = yield* Effect.scoped(Effect.gen(function*() {
        const turn = yield* thread.review({ type: "custom", instructions: "Take your time" })
        yield* turn.events.pipe(Stream.takeUntil((event) => event._tag === "TurnStarted"), Stream.runDrain)
        return turn
      })).pipe(Effect.flatMap((turn) => turn.result))
      assert.strictEqual(interrupted.status, "interrupted")
      yield* CodexTest.verify
    }).pipe(replay(transcript("k-review"))))
})

