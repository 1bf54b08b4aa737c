/**
 * What to watch while Codex works: the rate-limit snapshots codex sends after
 * each model response (`Codex.rateLimitUpdates`, a Stream), and the account's
 * limits and token usage (`Codex.rateLimits`, `Codex.usage`), which codex
 * serves only to a ChatGPT sign-in: with an API key, or none, it answers an
 * RpcError saying so.
 *
 *   node --import ./scripts/source-hooks.ts examples/usage-limits.ts
 */
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Console, Effect, Fiber, Stream } from "effect"
import { Codex, type CodexError } from "effect-codex"
import { LocalModel } from "effect-codex/testing"
import * as Backend from "./internal/backend.ts"

const percent = (window: { readonly usedPercent: number } | null | undefined) =>
  window === null || window === undefined ? "n/a" : `${window.usedPercent}%`

const program = Effect.gen(function*() {
  // Subscribed before the turn starts, so its first snapshot is not missed.
  const watcher = yield* Codex.rateLimitUpdates.pipe(
    Stream.take(1),
    Stream.runForEach((limits) =>
      Console.log(`rate limits (${limits.limitId}): primary ${percent(limits.primary)}, secondary ${percent(limits.secondary)}`)
    ),
    Effect.forkChild({ startImmediately: true })
  )
  const thread = yield* Codex.startThread()
  const result = yield* thread.run("Say hi.")
  yield* Console.log(`turn used ${result.usage?.last.totalTokens ?? "?"} tokens`)
  yield* Fiber.join(watcher)

  const ask = <A, R>(name: string, effect: Effect.Effect<A, CodexError.CodexError, R>, show: (a: A) => string) =>
    effect.pipe(
      Effect.map(show),
      Effect.catchReason("CodexError", "RpcError", (reason) => Effect.succeed(`not available: ${reason.message}`)),
      Effect.flatMap((line) => Console.log(`${name}: ${line}`))
    )
  yield* ask("account limits", Codex.rateLimits(), (r) => `primary ${percent(r.rateLimits.primary)}`)
  yield* ask("token usage", Codex.usage(), (u) => `${u.summary.lifetimeTokens ?? 0} tokens in all`)
})

program.pipe(
  Effect.provide(Codex.layer),
  Effect.provide(Backend.layer([LocalModel.text("Hi!", { usage: { input: 120, output: 5 } })])),
  Effect.provide(NodeServices.layer),
  NodeRuntime.runMain
)
