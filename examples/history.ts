/**
 * A thread's history: `thread.turns()` and `thread.items()` are Streams over
 * codex's pages, `thread.revert(turnId)` drops a turn and every later one (the
 * model no longer sees them), and `thread.delete` removes the thread.
 *
 *   node --import ./scripts/source-hooks.ts examples/history.ts
 */
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Console, Effect, Stream } from "effect"
import { Codex } from "effect-codex"
import { LocalModel } from "effect-codex/testing"
import * as Backend from "./internal/backend.ts"

const program = Effect.gen(function*() {
  const thread = yield* Codex.startThread()
  yield* thread.run("Name a fruit.")
  const second = yield* thread.run("Name a vegetable.")
  yield* thread.run("Name a spice.")

  // oldest first, two turns per request to codex
  const turns = yield* thread.turns({ sortDirection: "asc", limit: 2 }).pipe(Stream.runCollect)
  yield* Console.log(`${turns.length} turns: ${turns.map((turn) => turn.status).join(", ")}`)
  const kinds = yield* thread.items().pipe(Stream.map((entry) => entry.item.type), Stream.runCollect)
  yield* Console.log(`items: ${kinds.join(", ")}`)

  // drop the vegetable and the spice
  yield* thread.revert(second.turnId)
  const left = yield* thread.turns().pipe(Stream.runCount)
  const answer = yield* thread.run("What did I ask you to name so far?")
  yield* Console.log(`after revert: ${left} turn left; ${answer.finalResponse}`)

  yield* thread.delete
  const listed = yield* Codex.threads().pipe(Stream.filter((t) => t.id === thread.id), Stream.runCount)
  yield* Console.log(`deleted: listed ${listed} time(s)`)
})

program.pipe(
  Effect.provide(Codex.layer),
  Effect.provide(Backend.layer([
    LocalModel.text("Apple."),
    LocalModel.text("Carrot."),
    LocalModel.text("Cumin."),
    // what the model saw is only the first turn: answer from it
    (request) =>
      LocalModel.text(
        LocalModel.messages(request).includes("user: Name a vegetable.")
          ? "A fruit, a vegetable and a spice."
          : "Only a fruit."
      )
  ])),
  Effect.provide(NodeServices.layer),
  NodeRuntime.runMain
)
