/**
 * Testing your own program with `CodexTest`: the program below ("fix the
 * failing test, report what changed") runs unchanged against an in-memory
 * app-server that plays a script; only the layer differs from production. No
 * process, no model, no network: fast and deterministic, in any test runner
 * (in a vitest suite, wrap the same code in `it.effect`).
 *
 *   node --import ./scripts/source-hooks.ts examples/testing-with-codextest.ts
 */
import { Console, Effect, Layer, Schema } from "effect"
import * as assert from "node:assert/strict"
import { AppServer, Approvals, Codex } from "effect-codex"
import { CodexTest } from "effect-codex/testing"

// ---- the program under test (what your application ships) -------------------

const Report = Schema.Struct({ fixed: Schema.Boolean, files: Schema.Array(Schema.String) })

/** Asks Codex to fix a failing test, then for a structured report. */
export const fixFailingTest = (testName: string) =>
  Effect.gen(function*() {
    const thread = yield* Codex.startThread({ cwd: "/repo" })
    const fix = yield* thread.run(`Make the test "${testName}" pass.`)
    const report = yield* thread.run("Report what you changed.", { outputSchema: Report })
    return { summary: fix.finalResponse ?? "", report: report.output }
  })

/** Production wiring: the real app-server, commands approved by policy. */
export const CodexLive = Codex.layer.pipe(
  Layer.provide(Approvals.layer({ commandExecution: Approvals.acceptCommandsMatching(/^npm test\b/) })),
  Layer.provide(AppServer.layer())
)

// ---- the test: same program, scripted app-server ------------------------------

const script = [
  // turn 1: the agent runs the tests (asking for approval), edits a file, answers
  CodexTest.turn(
    CodexTest.command("npm test", { approval: true, output: "1 failing", exitCode: 1 }),
    CodexTest.fileChange("src/sum.ts", "-  return a - b\n+  return a + b\n", { approval: true }),
    CodexTest.reply("Fixed the sign in sum().")
  ),
  // turn 2: the structured report
  CodexTest.reply(JSON.stringify({ fixed: true, files: ["src/sum.ts"] }))
]

const CodexUnderTest = Codex.layer.pipe(
  Layer.provide(Approvals.layer({
    commandExecution: Approvals.acceptCommandsMatching(/^npm test\b/),
    fileChange: () => Effect.succeed("accept")
  }))
)

const test = Effect.gen(function*() {
  const result = yield* fixFailingTest("adds numbers")
  assert.equal(result.summary, "Fixed the sign in sum().")
  assert.deepEqual(result.report, { fixed: true, files: ["src/sum.ts"] })

  // what the program sent: two turns, the second with an output schema
  const turns = (yield* CodexTest.requestsOf("turn/start")) as ReadonlyArray<{ outputSchema?: unknown }>
  assert.equal(turns.length, 2)
  assert.ok(turns[1]!.outputSchema !== undefined)

  // how the program answered codex's approval requests
  const answers = yield* CodexTest.answers
  assert.deepEqual(answers.map((answer) => answer.method), [
    "item/commandExecution/requestApproval",
    "item/fileChange/requestApproval"
  ])
  yield* Console.log("ok: fixFailingTest works against the scripted app-server")
}).pipe(Effect.provide(CodexUnderTest), Effect.provide(CodexTest.layer(script)))

Effect.runPromise(test).catch((error) => {
  console.error(error)
  process.exit(1)
})
