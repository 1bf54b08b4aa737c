/**
 * Quickstart: start a thread, run one turn, print the answer.
 *
 * The smallest effect-codex program: `Codex.layer` over an app-server process,
 * `Codex.startThread`, `thread.run`. With CODEX_API_KEY or OPENAI_API_KEY set
 * it asks the real model; otherwise an embedded LocalModel answers.
 *
 *   node --import ./scripts/source-hooks.ts examples/quickstart.ts
 */
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Console, Effect } from "effect"
import { Codex } from "effect-codex"
import { LocalModel } from "effect-codex/testing"
import * as Backend from "./internal/backend.ts"

const program = Effect.gen(function*() {
  const thread = yield* Codex.startThread()
  const result = yield* thread.run("Say hello in one sentence.")

  yield* Console.log(`thread ${result.threadId}, turn ${result.turnId}: ${result.status}`)
  yield* Console.log(`answer: ${result.finalResponse}`)
  yield* Console.log(`tokens: ${result.usage?.total.totalTokens ?? "?"}, ${result.durationMs} ms`)
})

program.pipe(
  Effect.provide(Codex.layer),
  // A real program provides `AppServer.layer()` here (see the README).
  Effect.provide(Backend.layer([
    LocalModel.text("Hello! I am Codex, driven from an Effect program.", { usage: { input: 900, output: 12 } })
  ])),
  Effect.provide(NodeServices.layer),
  NodeRuntime.runMain
)
