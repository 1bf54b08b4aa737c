/**
 * Errors and retries: every failure is one `CodexError` whose `reason` says
 * what happened. A failed turn is `TurnFailed` (with the protocol's
 * `codexErrorInfo`), `-32001` after the SDK's own retries is `Overloaded`.
 *
 * - retry a failed turn with a `Schedule`, only while the failure is transient;
 * - handle one reason with `Effect.catchReason`, several with `Effect.catchReasons`.
 *
 * With the LocalModel the first model call answers HTTP 500 (a transient
 * failure: retried), the next one succeeds; then a quota error (not retried)
 * is caught. A failed turn leaves the thread usable.
 *
 *   node --import ./scripts/source-hooks.ts examples/errors-and-retry.ts
 */
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Console, Effect, Schedule } from "effect"
import { Codex, CodexError } from "effect-codex"
import { LocalModel } from "effect-codex/testing"
import * as Backend from "./internal/backend.ts"

// `CodexError.isRetryable`: overload, timeouts, 429 / 5xx and dropped streams; not quota, auth or bad requests.
const isRetryable = CodexError.isRetryable

// Up to 3 retries, 200 ms, 400 ms, 800 ms apart (with jitter).
const retryPolicy = Schedule.exponential("200 millis").pipe(Schedule.jittered, Schedule.upTo({ times: 3 }))

const program = Effect.gen(function*() {
  const thread = yield* Codex.startThread()

  // 1. A transient failure, retried: each attempt is a new turn on the same thread.
  const result = yield* thread.run("Summarize the README in one line.").pipe(
    Effect.tapError((error) => Console.log(`attempt failed: ${error.reason._tag}: ${error.message}`)),
    Effect.retry({ schedule: retryPolicy, while: isRetryable })
  )
  yield* Console.log(`after retry: ${result.finalResponse}`)

  // 2. A permanent failure: not retried, handled by reason.
  const answer = yield* thread.run("And the CHANGELOG?").pipe(
    Effect.retry({ schedule: retryPolicy, while: isRetryable }),
    Effect.map((result) => result.finalResponse),
    Effect.catchReason("CodexError", "TurnFailed", (reason) =>
      Console.log(`turn failed (${JSON.stringify(reason.codexErrorInfo)}): ${reason.message}`).pipe(
        Effect.as("(no answer)")
      ))
  )
  yield* Console.log(`caught: ${answer}`)

  // 3. Several reasons at once; the others stay in the error channel.
  const models = yield* Codex.models().pipe(
    Effect.map((page) => page.data.length),
    Effect.catchReasons("CodexError", {
      Overloaded: () => Effect.succeed(0),
      Timeout: (reason) => Console.log(`timed out: ${reason.method}`).pipe(Effect.as(0))
    })
  )
  yield* Console.log(`the thread is still usable; ${models} model(s) available`)
})

const script = [
  LocalModel.serverError(), // HTTP 500 -> TurnFailed "internalServerError"
  LocalModel.text("effect-codex drives Codex from Effect."),
  LocalModel.quotaExceeded() // HTTP 429 insufficient_quota -> TurnFailed "usageLimitExceeded"
]

program.pipe(
  Effect.provide(Codex.layer),
  Effect.provide(Backend.layer(script)),
  Effect.provide(NodeServices.layer),
  NodeRuntime.runMain
)
