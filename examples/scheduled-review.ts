/**
 * A nightly review job: every night at 02:00 (`Schedule.cron("0 2 * * *")`)
 * review the repository's recent commits, get a structured verdict from Codex
 * (an Effect Schema as `outputSchema`), and POST it as JSON to a webhook.
 *
 * - `REVIEW_WEBHOOK_URL`: where to POST the review (Config; without it the
 *   review is only printed).
 * - `REVIEW_REPO`: the repository (default: the current directory).
 * - `--now`: run one review now and exit, instead of waiting for 02:00.
 *
 * Each night runs on a fresh, ephemeral thread; a failed night is logged and
 * the schedule goes on.
 *
 *   REVIEW_WEBHOOK_URL=http://127.0.0.1:9000/hook node --import ./scripts/source-hooks.ts examples/scheduled-review.ts --now
 */
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Config, Console, Cron, Effect, Option, Schedule, Schema } from "effect"
import { FetchHttpClient, HttpClient, HttpClientRequest } from "effect/http"
import { ChildProcess, ChildProcessSpawner } from "effect/process"
import { Codex } from "effect-codex"
import { LocalModel } from "effect-codex/testing"
import * as Backend from "./internal/backend.ts"

const Review = Schema.Struct({
  summary: Schema.String,
  risk: Schema.Literals(["low", "medium", "high"]),
  findings: Schema.Array(Schema.Struct({ commit: Schema.String, note: Schema.String }))
})

const review = Effect.gen(function*() {
  const repo = yield* Config.String("REVIEW_REPO").pipe(Config.withDefault(process.cwd()))
  const webhook = yield* Config.String("REVIEW_WEBHOOK_URL").pipe(Config.option)

  // The recent changes, collected by the program itself (effect/process).
  const spawner = yield* ChildProcessSpawner.ChildProcessSpawner
  const log = yield* spawner.string(
    ChildProcess.make("git", ["log", "-n", "10", "--shortstat", "--format=%h %s (%an, %ar)"], { cwd: repo })
  )

  const thread = yield* Codex.startThread({ cwd: repo, sandbox: "read-only", approvalPolicy: "never", ephemeral: true })
  const { output } = yield* thread.run(
    `Review these recent commits for risky changes. Inspect the code if needed.\n\n${log}`,
    { outputSchema: Review }
  )
  yield* Console.log(`review: risk ${output.risk}, ${output.findings.length} finding(s): ${output.summary}`)

  if (Option.isSome(webhook)) {
    const client = (yield* HttpClient.HttpClient).pipe(HttpClient.filterStatusOk)
    const response = yield* HttpClientRequest.post(webhook.value).pipe(
      HttpClientRequest.bodyJsonUnsafe({ repo, reviewedAt: new Date().toISOString(), ...output }),
      client.execute
    )
    yield* Console.log(`posted the review to ${webhook.value}: HTTP ${response.status}`)
  }
}).pipe(
  // One app-server process per review, ended when the review is done.
  Effect.provide(Codex.layer),
  Effect.provide(Backend.appServer)
)

const NIGHTLY = "0 2 * * *" // every day at 02:00, local time

const program = Effect.gen(function*() {
  if (process.argv.includes("--now")) return yield* review
  yield* Console.log(`next review at ${Cron.next(Cron.parseUnsafe(NIGHTLY)).toString()}`)
  yield* Effect.schedule(
    // A failed night is reported; the next one still runs.
    review.pipe(Effect.catchCause((cause) => Effect.logError("the review failed", cause))),
    Schedule.cron(NIGHTLY) // waits for each 02:00, then runs the review
  )
})

const script = [
  LocalModel.json({
    summary: "Mostly tests and a TOML refactoring; nothing risky.",
    risk: "low",
    findings: [{ commit: "HEAD", note: "The TOML encoder change touches config encoding: worth a second look." }]
  })
]

program.pipe(
  Effect.provide(Backend.layerBackend(script)),
  Effect.provide([NodeServices.layer, FetchHttpClient.layer]),
  NodeRuntime.runMain
)
