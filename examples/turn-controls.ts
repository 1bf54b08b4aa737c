/**
 * Controlling a running turn: steer it (add input while it runs) and
 * interrupt it (explicitly, or by interrupting the fiber that waits for it).
 *
 * - `turn.steer(input)`: codex folds the new input into the running turn.
 * - `turn.interrupt`: asks codex to stop and waits for the turn to end; the
 *   result's `status` is `"interrupted"`.
 * - Interrupting `thread.run` (here with `Effect.timeoutOption`) sends
 *   `turn/interrupt` too, and waits for the turn to end before giving up.
 *
 *   node --import ./scripts/source-hooks.ts examples/turn-controls.ts
 */
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Console, Effect, Option, Stream } from "effect"
import { Codex, TurnEvent } from "effect-codex"
import { LocalModel } from "effect-codex/testing"
import * as Backend from "./internal/backend.ts"

const LONG_TASK = "Count slowly from 1 to 500, one number per line."

const program = Effect.gen(function*() {
  const thread = yield* Codex.startThread()
  // Waits until the model has started writing.
  const firstDelta = (events: Stream.Stream<TurnEvent.TurnEvent, unknown>) =>
    events.pipe(Stream.filter(TurnEvent.is("AgentMessageDelta")), Stream.runHead)

  // 1. Steer: the model is answering; add a requirement while it writes.
  yield* Effect.scoped(Effect.gen(function*() {
    const turn = yield* thread.turn("Write a haiku about the sea.")
    yield* firstDelta(turn.events)
    yield* turn.steer("Make it about a lighthouse instead.")
    const result = yield* turn.result
    yield* Console.log(`steered (${result.status}): ${result.finalResponse}`)
  }))

  // 2. Interrupt explicitly.
  yield* Effect.scoped(Effect.gen(function*() {
    const turn = yield* thread.turn(LONG_TASK)
    yield* firstDelta(turn.events)
    yield* turn.interrupt
    const result = yield* turn.result
    yield* Console.log(`interrupted turn ${result.turnId}: status ${result.status}`)
  }))

  // 3. Interrupt by time: the fiber running the turn is interrupted after 2 s.
  const timedOut = yield* thread.run(LONG_TASK).pipe(Effect.timeoutOption("2 seconds"))
  yield* Console.log(Option.isNone(timedOut) ? "gave up after 2 seconds" : "finished within 2 seconds")

  // The thread is still usable.
  const last = yield* thread.run("Just say OK.")
  yield* Console.log(`next turn: ${last.finalResponse}`)
})

const script = [
  // 1: a slow answer, cut short by the steer; codex then asks again with the new input.
  LocalModel.slow(LocalModel.text("Waves fold on the shore, salt wind...", { deltas: 20 }), {
    chunkDelay: "100 millis"
  }),
  (request: LocalModel.RecordedRequest) =>
    LocalModel.text(
      JSON.stringify(request.body.input).includes("lighthouse")
        ? "Beam across the dark / one patient eye keeps its watch / ships find their way home"
        : "(the steer did not arrive)"
    ),
  // 2 and 3: the model starts writing, then never finishes.
  LocalModel.hang(LocalModel.text("1\n2\n3\n")),
  LocalModel.hang(LocalModel.text("1\n2\n")),
  LocalModel.text("OK.")
]

program.pipe(
  Effect.provide(Codex.layer),
  Effect.provide(Backend.layer(script)),
  Effect.provide(NodeServices.layer),
  NodeRuntime.runMain
)
