import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Fiber, Layer, Schema, Stream } from "effect"
import { TestClock } from "effect/testing"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { fileURLToPath } from "node:url"
import * as CodexTest from "../src/layers/CodexTest.ts"
import * as LocalModel from "../src/layers/LocalModel.ts"
import type * as Protocol from "../src/schema/generated/Protocol.gen.ts"
import { AppServerClient } from "../src/services/AppServerClient.ts"
import * as Approvals from "../src/services/Approvals.ts"
import * as Codex from "../src/services/Codex.ts"
import * as CodexTool from "../src/services/CodexTool.ts"
import * as TurnEvent from "../src/streams/TurnEvent.ts"
import * as CodexBinary from "./support/CodexBinary.ts"
import { itemOf, reasonOf } from "./support/Errors.ts"

const transcript = (name: string) =>
  fileURLToPath(new URL(`./fixtures/transcripts/${name}.jsonl`, import.meta.url))

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



const tempFile = (name: string) =>
  Effect.acquireRelease(
    Effect.sync(() => NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "codex-test-"))),
    (dir) => Effect.sync(() => NodeFs.rmSync(dir, { recursive: true, force: true }))
  ).pipe(Effect.map((dir) => NodePath.join(dir, name)))

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
})

describe("recording", () => {
  const script = [
    CodexTest.reply("Hello!"),
    CodexTest.turn(CodexTest.command("make test", { approval: true, output: "ok\n" }), CodexTest.reply("tests pass"))
  ]
  const program = Effect.gen(function*() {
    const thread = yield* Codex.startThread()
    const first = yield* thread.run("Say hello")
    const second = yield* thread.run("Run the tests")
    yield* thread.setName("recorded")
    return [first.finalResponse, second.finalResponse, itemOf(second.items, "commandExecution")?.status] as const
  })

  it.effect("record an in-memory session, then replay it", () =>
    Effect.gen(function*() {
      const path = yield* tempFile("session.jsonl")
      const recorded = yield* program.pipe(
        Effect.provide(Codex.layer.pipe(Layer.provide(acceptAll))),
        Effect.provide(CodexTest.layer(script, { record: { path, note: "round trip" } }))
      )
      assert.deepStrictEqual(recorded, ["Hello!", "tests pass", "completed"])
      const lines = CodexTest.parseTranscript(NodeFs.readFileSync(path, "utf8"))
      assert.deepStrictEqual(lines[0], { t: 0, dir: "note", msg: "round trip" })
      assert.deepStrictEqual(Array.from(new Set(lines.slice(1).map((line) => line.dir))).sort(), ["c2s", "s2c"])
      assert.strictEqual((lines[1]!.msg as { method: string }).method, "initialize")

      const replayed = yield* Effect.gen(function*() {
        const result = yield* program
        yield* CodexTest.verify
        return result
      }).pipe(replay(path, { approvals: acceptAll }))
      assert.deepStrictEqual(replayed, recorded)
    }).pipe(Effect.scoped))

  it.live("record a session of the real codex with layerRecording, then replay it in memory", () =>
    Effect.gen(function*() {
      const path = yield* tempFile("real.jsonl")
      const model = yield* LocalModel.LocalModel
      const real = CodexTest.layerRecording(path, {
        ...model.appServerOptions,
        codexPath: CodexBinary.codexPath,
        replace: { [model.codexHome]: "<tmp>/home" },
        note: "hello against LocalModel"
      })
      const recorded = yield* sayHello.pipe(Effect.provide(Codex.layer), Effect.provide(real))
      assert.strictEqual(recorded.finalResponse, "Hello from the real codex")
      const text = NodeFs.readFileSync(path, "utf8")
      assert.isFalse(text.includes(model.codexHome))
      const lines = CodexTest.parseTranscript(text)
      assert.strictEqual(lines.at(-1)?.dir === "exit" || lines.at(-1)?.dir === "s2c", true)

      const replayed = yield* Effect.gen(function*() {
        const result = yield* sayHello
        yield* CodexTest.verify
        return result
      }).pipe(replay(path))
      assert.strictEqual(replayed.finalResponse, recorded.finalResponse)
      assert.strictEqual(replayed.threadId, recorded.threadId)
    }).pipe(
      Effect.scoped,
      Effect.provide(LocalModel.layer([LocalModel.text("Hello from the real codex", { deltas: 3 })])),
      Effect.provide(NodeServices.layer)
    ))
})
