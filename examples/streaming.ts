/**
 * Streaming a turn: the answer's text as it is written, each item as it
 * completes, and one progress line per step (`TurnEvent.describe`).
 *
 * `thread.turn` returns a handle as soon as codex accepted the turn;
 * `turn.events` is a `Stream` of typed `TurnEvent`s (only this turn's, from its
 * first one, ending after `TurnCompleted`), and `turn.result` is the collected
 * `TurnResult`. Every run of `turn.events` sees the whole turn from the start.
 *
 *   node --import ./scripts/source-hooks.ts examples/streaming.ts
 */
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Console, Effect, Stream } from "effect"
import { Codex, TurnEvent } from "effect-codex"
import { LocalModel } from "effect-codex/testing"
import * as Backend from "./internal/backend.ts"

// Deltas are written as they come; other lines start on a fresh line.
let midLine = false
const write = (text: string) =>
  Effect.sync(() => {
    process.stdout.write(text)
    midLine = true
  })
const line = (text: string) =>
  Effect.sync(() => {
    process.stdout.write(`${midLine ? "\n" : ""}${text}\n`)
    midLine = false
  })

const program = Effect.scoped(Effect.gen(function*() {
  const thread = yield* Codex.startThread()
  const turn = yield* thread.turn("How many files are in this directory? Run a command to check.")

  yield* turn.events.pipe(
    Stream.runForEach((event) => {
      switch (event._tag) {
        case "AgentMessageDelta":
          return write(event.delta) // the answer, piece by piece
        case "ItemCompleted":
          return line(`[item] ${event.item.type} completed`)
        default: {
          const progress = TurnEvent.describe(event) // "thinking", "running: ls", "turn completed", ...
          return progress === undefined ? Effect.void : line(`[progress] ${progress}`)
        }
      }
    })
  )

  const result = yield* turn.result
  yield* Console.log(`final answer: ${result.finalResponse}`)

  // The stream can be run again: it replays the whole turn (here: just the items).
  const items = yield* turn.events.pipe(TurnEvent.completedItems, Stream.runCollect)
  yield* Console.log(`items: ${items.map((item) => item.type).join(", ")}`)
}))

// The LocalModel first thinks and runs `ls` (inside the read-only sandbox, so no
// approval is asked), then streams its answer slowly, in small pieces.
const script = [
  LocalModel.response([LocalModel.reasoning("I should list the files."), LocalModel.shell("ls")]),
  LocalModel.slow(LocalModel.text("There are a few files here; the listing is above.", { deltas: 10 }), {
    chunkDelay: "30 millis"
  })
]

program.pipe(
  Effect.provide(Codex.layer),
  Effect.provide(Backend.layer(script)),
  Effect.provide(NodeServices.layer),
  NodeRuntime.runMain
)
