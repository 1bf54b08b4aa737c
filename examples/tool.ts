/**
 * A tool your program provides: `CodexTool.make(name, { description,
 * parameters, run })`, where `parameters` is an Effect Schema and `run` is an
 * Effect. Give it to `Codex.startThread({ tools })`; codex calls it during
 * turns.
 *
 * The arguments are decoded with the Schema before `run` is called; the string
 * `run` returns is what the model sees. A failure is answered as an
 * unsuccessful call with its message, and the turn goes on.
 *
 * The LocalModel calls the tool twice in one response (a known issue and an
 * unknown one), then answers from the two results.
 *
 *   node --import ./scripts/source-hooks.ts examples/tool.ts
 */
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Console, Effect, Schema } from "effect"
import { Codex, CodexTool } from "effect-codex"
import { LocalModel } from "effect-codex/testing"
import * as Backend from "./internal/backend.ts"

class IssueNotFound extends Schema.TaggedError<IssueNotFound>()("IssueNotFound", { id: Schema.Int }) {
  override get message() {
    return `There is no issue #${this.id}.`
  }
}

// A stand-in for an issue tracker client.
const issues = new Map([[42, { title: "Parser crashes on trailing comma", status: "open" }]])

const lookupIssue = CodexTool.make("lookup_issue", {
  description: "Looks up an issue of this repository's tracker by number: title and status.",
  parameters: Schema.Struct({ id: Schema.Int }),
  run: ({ id }) =>
    Effect.gen(function*() {
      yield* Console.log(`[tool] lookup_issue(${id})`)
      const issue = issues.get(id)
      if (issue === undefined) return yield* new IssueNotFound({ id })
      return `#${id} "${issue.title}" (${issue.status})`
    })
})

const program = Effect.gen(function*() {
  const thread = yield* Codex.startThread({ tools: [lookupIssue] })
  const result = yield* thread.run("What is the status of issues #42 and #7?")
  for (const item of result.items) {
    if (item.type === "dynamicToolCall") {
      yield* Console.log(`tool call ${item.tool}(${JSON.stringify(item.arguments)}): success ${item.success}`)
    }
  }
  yield* Console.log(`answer: ${result.finalResponse}`)
})

const script = [
  LocalModel.response([
    LocalModel.toolCall("lookup_issue", { id: 42 }),
    LocalModel.toolCall("lookup_issue", { id: 7 })
  ]),
  // Answers from what the tool returned.
  (request: LocalModel.RecordedRequest) =>
    LocalModel.text(LocalModel.toolOutputs(request).map((output) => output.output).join(" / "))
]

program.pipe(
  Effect.provide(Codex.layer),
  Effect.provide(Backend.layer(script)),
  Effect.provide(NodeServices.layer),
  NodeRuntime.runMain
)
