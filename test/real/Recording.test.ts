import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import * as CodexTest from "../../src/layers/testing/CodexTest.ts"
import * as LocalModel from "../../src/layers/testing/LocalModel.ts"
import * as Approvals from "../../src/services/Approvals.ts"
import * as Codex from "../../src/services/Codex.ts"
import * as CodexBinary from "../support/CodexBinary.ts"
import { itemOf } from "../support/Errors.ts"

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
