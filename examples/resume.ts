/**
 * Resuming a thread in a new app-server process.
 *
 * Codex stores threads in its home (`CODEX_HOME`), so a thread started by one
 * process can be resumed by another (a later run of the program, another
 * machine sharing the home...) with `Codex.resumeThread(id)`. Here the first
 * app-server process runs a turn and exits; a second one resumes the thread,
 * reads its history and goes on.
 *
 *   node --import ./scripts/source-hooks.ts examples/resume.ts
 */
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Console, Effect } from "effect"
import { Codex } from "effect-codex"
import { LocalModel } from "effect-codex/testing"
import * as Backend from "./internal/backend.ts"

// One app-server process: Codex over a fresh connection, closed at the end of `effect`.
const inNewProcess = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  effect.pipe(Effect.provide(Codex.layer), Effect.provide(Backend.appServer))

const program = Effect.gen(function*() {
  const threadId = yield* inNewProcess(Effect.gen(function*() {
    const thread = yield* Codex.startThread()
    yield* Console.log(`[process 1] started thread ${thread.id}`)
    const result = yield* thread.run("Remember the word 'pelican'.")
    yield* Console.log(`[process 1] ${result.finalResponse}`)
    yield* thread.setName("resume example")
    return thread.id
  }))
  yield* Console.log("[process 1] exited")

  yield* inNewProcess(Effect.gen(function*() {
    const thread = yield* Codex.resumeThread(threadId)
    const { thread: info } = yield* thread.read({ includeTurns: true })
    yield* Console.log(`[process 2] resumed ${thread.id} ("${info.name}", ${info.turns.length} turn so far)`)
    const result = yield* thread.run("Which word did I ask you to remember?")
    yield* Console.log(`[process 2] ${result.finalResponse}`)
  }))
})

const script = [
  LocalModel.text("Noted: pelican."),
  // Answers from the history codex sent: only right if the resumed thread kept it.
  (request: LocalModel.RecordedRequest) =>
    LocalModel.text(
      JSON.stringify(request.body.input).includes("pelican")
        ? "You asked me to remember 'pelican'."
        : "I don't remember."
    )
]

program.pipe(
  // The backend (API key, or the LocalModel and its CODEX_HOME) outlives both processes.
  Effect.provide(Backend.layerBackend(script)),
  Effect.provide(NodeServices.layer),
  NodeRuntime.runMain
)
