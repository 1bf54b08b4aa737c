/**
 * The account codex uses: read it with `Codex.account`, sign in with an API
 * key (`Codex.loginApiKey`, which takes a `Redacted` value), sign out with
 * `Codex.logout`.
 *
 * Secrets stay `Redacted` end to end: printing or logging one shows
 * `<redacted>`, and effect-codex never puts a key in an error, log or span.
 *
 * With an API key in the environment, this example only reads the account (it
 * does not change your stored login). With the LocalModel, it signs in and out
 * of the LocalModel's temporary CODEX_HOME with a made-up key, which never
 * leaves this machine.
 *
 *   node --import ./scripts/source-hooks.ts examples/account.ts
 */
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Console, Effect, Redacted } from "effect"
import { Codex } from "effect-codex"
import * as Backend from "./internal/backend.ts"

const describeAccount = Codex.account.pipe(
  Effect.map(({ account, requiresOpenaiAuth }) =>
    `${account === undefined || account === null ? "not signed in" : `signed in (${account.type})`}` +
    `, requires OpenAI auth: ${requiresOpenaiAuth}`
  )
)

const program = Effect.gen(function*() {
  yield* Console.log(`account: ${yield* describeAccount}`)

  const { real } = yield* Backend.Backend
  if (real) return // leave the real login alone

  const key = Redacted.make("sk-local-example-not-a-real-key")
  yield* Console.log(`signing in with ${key}`) // prints "<redacted>"
  yield* Effect.logInfo("login", { key }) // so does a structured log
  yield* Codex.loginApiKey(key)
  yield* Console.log(`account: ${yield* describeAccount}`)

  yield* Codex.logout
  yield* Console.log(`after logout: ${yield* describeAccount}`)
})

program.pipe(
  Effect.provide(Codex.layer),
  // No model calls here. The LocalModel's provider is marked as using OpenAI
  // auth, so that codex reports the account the way it does for the real service.
  Effect.provide(Backend.layer([], {
    local: { config: { model_providers: { mock: { requires_openai_auth: true } } } }
  })),
  Effect.provide(NodeServices.layer),
  NodeRuntime.runMain
)
