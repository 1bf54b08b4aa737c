/**
 * A conversation: several turns on one thread. Codex keeps the thread's
 * history, so each turn sees the previous ones.
 *
 * With the LocalModel, the last answer is computed from the request codex sent:
 * it only "remembers" the first question if that question is in the history the
 * model received.
 *
 *   node --import ./scripts/source-hooks.ts examples/multi-turn.ts
 */
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Console, Effect } from "effect"
import { Codex } from "effect-codex"
import { LocalModel } from "effect-codex/testing"
import * as Backend from "./internal/backend.ts"

const questions = [
  "What is the capital of France? One word.",
  "Roughly how many people live there?",
  "What was my first question?"
]

const program = Effect.gen(function*() {
  const thread = yield* Codex.startThread()
  // Turns on a thread run one after the other: each waits for the previous one.
  for (const question of questions) {
    const result = yield* thread.run(question)
    yield* Console.log(`> ${question}\n${result.finalResponse}\n`)
  }
  const { thread: info } = yield* thread.read({ includeTurns: true })
  yield* Console.log(`thread ${info.id} has ${info.turns.length} turns`)
})

const script = [
  LocalModel.text("Paris."),
  LocalModel.text("About 2.1 million people in the city itself, over 12 million in the metropolitan area."),
  // A step computed from the request: what did the model receive?
  (request: LocalModel.RecordedRequest) =>
    LocalModel.text(
      JSON.stringify(request.body.input).includes("capital of France")
        ? "Your first question was: what is the capital of France?"
        : "I don't know: the history did not reach me."
    )
]

program.pipe(
  Effect.provide(Codex.layer),
  Effect.provide(Backend.layer(script)),
  Effect.provide(NodeServices.layer),
  NodeRuntime.runMain
)
