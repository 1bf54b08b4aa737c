/**
 * The effect-codex demo: a streamed turn, a second turn on the same thread,
 * resuming that thread from a new app-server process, and a structured answer
 * decoded with a Schema.
 *
 * Runs the real codex. With CODEX_API_KEY or OPENAI_API_KEY set it uses the
 * real model; otherwise it uses the embedded LocalModel (a Responses-API
 * server on 127.0.0.1) with its built-in responder, `LocalModel.assistant()`:
 * a deterministic stand-in for a model that answers any prompt (it quotes the
 * prompt and the one before it, runs a command for "run", edits a file for
 * "fix", answers JSON for a schema), so the demo runs anywhere without a key,
 * whatever you ask it.
 *
 *   npm run demo
 */
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Config, Console, Effect, Option, Schema, Stream } from "effect"
import { AppServer, Codex, TurnEvent } from "effect-codex"
import { LocalModel } from "effect-codex/testing"

const Summary = Schema.Struct({
  language: Schema.String,
  files: Schema.Number,
  verdict: Schema.Literals(["tidy", "messy"])
})

const program = Effect.gen(function*() {
  const apiKey = yield* Config.Redacted("CODEX_API_KEY").pipe(
    Config.orElse(() => Config.Redacted("OPENAI_API_KEY")),
    Config.option
  )
  let options: AppServer.Options
  if (Option.isSome(apiKey)) {
    yield* Console.log("Using the real model (API key found).")
    options = { apiKey: apiKey.value }
  } else {
    yield* Console.log("No CODEX_API_KEY or OPENAI_API_KEY: using the embedded LocalModel on 127.0.0.1.")
    // No script: every request goes to the responder; 20 ms per frame so the answer visibly streams.
    const model = yield* LocalModel.make([], { fallback: LocalModel.assistant({ chunkDelay: "20 millis" }) })
    options = { codexHome: model.codexHome, config: model.appServerOptions.config }
  }

  // 1 + 2: a streamed turn, then a second turn on the same thread.
  const threadId = yield* Effect.gen(function*() {
    const thread = yield* Codex.startThread()
    yield* Console.log(`\nthread ${thread.id}\n> What is effect-codex, in one sentence?`)
    const turn = yield* thread.turn("What is effect-codex, in one sentence?")
    yield* turn.events.pipe(
      TurnEvent.textDeltas,
      Stream.runForEach((text) => Effect.sync(() => process.stdout.write(text)))
    )
    const first = yield* turn.result
    yield* Console.log(`\n  (${first.usage?.total.totalTokens ?? "?"} tokens, ${first.durationMs} ms)`)

    yield* Console.log("\n> What did I just ask?")
    const second = yield* thread.run("What did I just ask?")
    yield* Console.log(second.finalResponse)
    return thread.id
  }).pipe(Effect.scoped, Effect.provide(Codex.layer), Effect.provide(AppServer.layer(options)))

  // 3 + 4: a new app-server process resumes the thread; then a structured answer.
  yield* Effect.gen(function*() {
    const thread = yield* Codex.resumeThread(threadId)
    yield* Console.log(`\n(new app-server process) resumed ${thread.id}\n> Are you still there?`)
    const resumed = yield* thread.run("Are you still there?")
    yield* Console.log(resumed.finalResponse)

    yield* Console.log("\n> Summarize this repository as JSON.")
    const summary = yield* thread.run("Summarize this repository as JSON.", { outputSchema: Summary })
    yield* Console.log(summary.output)
  }).pipe(Effect.provide(Codex.layer), Effect.provide(AppServer.layer(options)))
})

program.pipe(Effect.scoped, Effect.provide(NodeServices.layer), NodeRuntime.runMain)
