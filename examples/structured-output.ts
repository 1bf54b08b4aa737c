/**
 * Structured output: give `thread.run` an Effect Schema as `outputSchema` and
 * get the final answer decoded into its type, as `result.output`.
 *
 * effect-codex derives a JSON Schema the model API's strict mode accepts
 * (closed objects, every property required, optional fields as nullable) and
 * sends it with the turn; the answer is decoded with your Schema. An answer
 * that does not decode fails with the `OutputDecodeError` reason, which keeps
 * the raw text.
 *
 *   node --import ./scripts/source-hooks.ts examples/structured-output.ts
 */
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Console, Effect, Schema } from "effect"
import { Codex, OutputSchema } from "effect-codex"
import { LocalModel } from "effect-codex/testing"
import * as Backend from "./internal/backend.ts"

const Issue = Schema.Struct({
  file: Schema.String,
  line: Schema.optional(Schema.Int), // sent as nullable: the model answers null when unknown
  severity: Schema.Literals(["low", "medium", "high"]),
  message: Schema.String
})

const Review = Schema.Struct({
  verdict: Schema.Literals(["approve", "request changes"]),
  summary: Schema.String,
  issues: Schema.Array(Issue)
})

const program = Effect.gen(function*() {
  // The JSON Schema sent to the model (for the curious).
  const { jsonSchema } = yield* OutputSchema.make(Review)
  yield* Console.log(`output schema: ${JSON.stringify(jsonSchema).slice(0, 100)}...`)

  const thread = yield* Codex.startThread()
  const result = yield* thread.run("Review the changes in src/parser.ts.", { outputSchema: Review })
  const review = result.output // typed: { verdict: "approve" | "request changes", ... }
  yield* Console.log(`verdict: ${review.verdict} (${review.summary})`)
  for (const issue of review.issues) {
    const where = issue.line === undefined ? issue.file : `${issue.file}:${issue.line}`
    yield* Console.log(`- [${issue.severity}] ${where}: ${issue.message}`)
  }

  // An answer that does not match: handled by reason, the raw text is kept.
  const again = yield* thread.run("Review it again.", { outputSchema: Review }).pipe(
    Effect.map((result) => `second verdict: ${result.output.verdict}`),
    Effect.catchReason("CodexError", "OutputDecodeError", (reason) =>
      Effect.succeed(`could not decode the answer: ${reason.text}`))
  )
  yield* Console.log(again)
})

const script = [
  LocalModel.json({
    verdict: "request changes",
    summary: "One bug, one nit.",
    issues: [
      { file: "src/parser.ts", line: 42, severity: "high", message: "Off-by-one when the input ends with a comma." },
      { file: "src/parser.ts", line: null, severity: "low", message: "Rename `tmp` to `token`." }
    ]
  }),
  LocalModel.json({ verdict: "maybe", summary: "?", issues: [] }) // not one of the verdicts
]

program.pipe(
  Effect.provide(Codex.layer),
  Effect.provide(Backend.layer(script)),
  Effect.provide(NodeServices.layer),
  NodeRuntime.runMain
)
