/**
 * Commands outside a turn: codex runs an argv vector under its sandbox, no
 * model involved. `Codex.exec` waits for the exit and returns the buffered
 * output; `Codex.command` is a scoped handle: its output as a Stream, stdin
 * writes, `terminate`, and the process is terminated when the Scope closes.
 *
 *   node --import ./scripts/source-hooks.ts examples/command.ts
 */
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Console, Effect, Stream } from "effect"
import { Codex, Command } from "effect-codex"
import * as Backend from "./internal/backend.ts"

const program = Effect.gen(function*() {
  const done = yield* Codex.exec(["sh", "-c", "echo hello from $0; exit 3", "the sandbox"])
  yield* Console.log(`exec: exit code ${done.exitCode}, stdout ${JSON.stringify(done.stdout)}`)

  // A command fed on stdin, its output streamed line by line as it comes.
  yield* Effect.scoped(Effect.gen(function*() {
    const sort = yield* Codex.command(["sort"])
    yield* sort.write("pear\napple\nfig\n")
    yield* sort.closeStdin
    yield* sort.output.pipe(
      Command.text("stdout"),
      Stream.splitLines,
      Stream.runForEach((line) => Console.log(`sorted: ${line}`))
    )
    yield* Console.log(`sort exited with ${(yield* sort.exit).exitCode}`)
  }))

  // A command that would run for a minute: the Scope closes after 200 ms and terminates it.
  const sleeper = yield* Effect.scoped(Effect.gen(function*() {
    const command = yield* Codex.command(["sleep", "60"], { stdin: false })
    yield* Effect.sleep("200 millis")
    return command
  }))
  yield* Console.log(`sleep 60 after its Scope closed: exit code ${(yield* sleeper.exit).exitCode}`)
})

program.pipe(
  Effect.provide(Codex.layer),
  Effect.provide(Backend.layer([])), // no model request: commands do not use the model
  Effect.provide(NodeServices.layer),
  NodeRuntime.runMain
)
