/**
 * effect/ai on Codex: a two-turn `Chat` through `CodexLanguageModel`
 * (`effect-codex/ai`). The program is written against effect/ai alone
 * (`Chat`, `LanguageModel`); the Codex layers at the bottom are what make it
 * run on codex.
 *
 * `Chat` keeps the conversation's history; `CodexLanguageModel` sees that the
 * history's last answer came from a codex thread and continues that thread,
 * sending only the new message: codex keeps its own context (instructions,
 * files it read, commands it ran) from turn to turn. The second turn is
 * streamed.
 *
 * With the LocalModel, the second answer is computed from the request codex
 * sent: it only knows the name if the first turn is in the history the model
 * received.
 *
 *   node --import ./scripts/source-hooks.ts examples/ai-chat.ts
 */
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Console, Effect, Ref, Stream } from "effect"
import { Chat } from "effect/ai"
import { Codex } from "effect-codex"
import { CodexLanguageModel } from "effect-codex/ai"
import { LocalModel } from "effect-codex/testing"
import * as Backend from "./internal/backend.ts"

const program = Effect.gen(function*() {
  const chat = yield* Chat.fromPrompt([
    { role: "system", content: "You are a friendly assistant. Answer in one sentence." }
  ])

  const intro = "Hi! My name is Ada and I like Effect."
  const first = yield* chat.generateText({ prompt: intro })
  yield* Console.log(`> ${intro}\n${first.text}\n`)

  const question = "What is my name, and what do I like?"
  yield* Console.log(`> ${question}`)
  let secondThread: string | undefined
  yield* chat.streamText({ prompt: question }).pipe(
    Stream.runForEach((part) => {
      switch (part.type) {
        case "response-metadata":
          return Effect.sync(() => void (secondThread = part.id))
        case "text-delta":
          return Effect.sync(() => void process.stdout.write(part.delta))
        case "finish":
          return Console.log(`\n(${part.reason}, ${part.usage.outputTokens.total ?? 0} output tokens)\n`)
        default:
          return Effect.void
      }
    })
  )

  // The response id is the codex thread's id: both turns ran on the same thread.
  const firstThread = first.content.find((part) => part.type === "response-metadata")?.id
  yield* Console.log(
    firstThread !== undefined && firstThread === secondThread
      ? `both turns ran on one codex thread (${firstThread})`
      : `the turns ran on different threads (${firstThread} / ${secondThread})`
  )
  const history = yield* Ref.get(chat.history)
  yield* Console.log(`history: ${history.content.map((message) => message.role).join(", ")}`)
})

const script = [
  LocalModel.text("Nice to meet you, Ada!"),
  // A step computed from the request: did the first turn reach the model?
  (request: LocalModel.RecordedRequest) =>
    LocalModel.text(
      LocalModel.messages(request).includes(`user: Hi! My name is Ada and I like Effect.`)
        ? "Your name is Ada, and you like Effect."
        : "I don't know: the history did not reach me.",
      { deltas: 4, usage: { input: 900, cached: 600, output: 12 } }
    )
]

program.pipe(
  Effect.provide(CodexLanguageModel.layer()),
  Effect.provide(Codex.layer),
  Effect.provide(Backend.layer(script)),
  Effect.provide(NodeServices.layer),
  NodeRuntime.runMain
)
