/**
 * A small Codex command line, built with `effect/cli`:
 *
 *   mini-cli run "prompt" [--model <slug>]   streams the answer to stdout
 *   mini-cli --help
 *
 * While the model thinks (before the first word of the answer, and while it
 * runs commands), a spinner with the current step turns on stderr, only when
 * stderr is a terminal, so piping stdout (`| tee answer.txt`) stays clean.
 *
 *   node --import ./scripts/source-hooks.ts examples/mini-cli.ts run "What does this repository do?"
 */
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Console, Effect, Option, Schedule, Stream } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { Codex, TurnEvent } from "effect-codex"
import { LocalModel } from "effect-codex/testing"
import * as Backend from "./internal/backend.ts"

const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"]

// A spinner on stderr showing the current step, until the answer starts.
const makeSpinner = Effect.gen(function*() {
  const enabled = process.stderr.isTTY === true
  let label: string | undefined = "thinking" // undefined once stopped
  let frame = 0
  const draw = Effect.sync(() => {
    if (label !== undefined) process.stderr.write(`\r\x1b[2K${FRAMES[frame++ % FRAMES.length]} ${label}`)
  })
  const stop = Effect.sync(() => {
    if (enabled && label !== undefined) process.stderr.write("\r\x1b[2K")
    label = undefined
  })
  if (enabled) yield* draw.pipe(Effect.repeat(Schedule.spaced("80 millis")), Effect.ensuring(stop), Effect.forkScoped)
  return {
    step: (next: string) => Effect.sync(() => label = label === undefined ? undefined : next),
    stop
  }
})

const run = Command.make(
  "run",
  {
    prompt: Argument.String("prompt").pipe(Argument.withDescription("What to ask Codex")),
    model: Flag.String("model").pipe(Flag.withDescription("The model to use"), Flag.optional)
  },
  Effect.fn(function*({ model, prompt }) {
    const spinner = yield* makeSpinner
    const thread = yield* Codex.startThread(Option.isSome(model) ? { model: model.value } : {})
    const turn = yield* thread.turn(prompt)
    yield* turn.events.pipe(
      Stream.runForEach((event) => {
        switch (event._tag) {
          case "AgentMessageDelta": // the answer: stop the spinner, write to stdout
            return spinner.stop.pipe(Effect.andThen(Effect.sync(() => process.stdout.write(event.delta))))
          case "ItemStarted":
          case "ApprovalRequested": // "running: npm test", "waiting for an answer to ...", ...
            return spinner.step(TurnEvent.describe(event) ?? "thinking")
          case "ItemCompleted":
            return spinner.step("thinking")
          default:
            return Effect.void
        }
      })
    )
    const result = yield* turn.result
    const seconds = (result.durationMs / 1000).toFixed(1)
    yield* Console.log(`\n(${result.usage?.total.totalTokens ?? "?"} tokens, ${seconds} s)`)
  }, Effect.scoped, Effect.provide(Codex.layer), Effect.provide(Backend.appServer))
).pipe(Command.withDescription("Run one turn on a new thread and stream the answer"))

const cli = Command.make("mini-cli").pipe(
  Command.withDescription("A tiny Codex CLI"),
  Command.withSubcommands([run])
)

// The embedded model (no API key): the built-in responder answers any prompt, slowly enough to see the
// spinner; "run" in the prompt makes it run `ls` (inside the sandbox: this CLI answers no approvals).
const local = { fallback: LocalModel.assistant({ chunkDelay: "40 millis" }) }

cli.pipe(
  Command.run({ version: "0.1.0" }),
  Effect.provide(Backend.layerBackend([], { local })),
  Effect.provide(NodeServices.layer),
  NodeRuntime.runMain
)
