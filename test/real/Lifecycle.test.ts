import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Exit, Fiber, Layer, Scope, Stream } from "effect"
import * as LocalModel from "../../src/layers/testing/LocalModel.ts"
import * as Codex from "../../src/services/Codex.ts"
import type * as CodexError from "../../src/schema/CodexError.ts"
import { awaitNoPidsWithEnv, pidsWithEnv } from "../support/Home.ts"
import * as Real from "../support/Real.ts"

const tagOf = <A>(exit: Exit.Exit<A, CodexError.CodexError>): string =>
  Exit.isFailure(exit)
    ? exit.cause.reasons.map((reason) => reason._tag === "Fail" ? reason.error.reason._tag : reason._tag).join(",")
    : "Success"

describe("Lifecycle (real binary): closing the layer's Scope mid-turn", () => {
  it.live("run, turn.result and turn.events fail with Closed at once and codex exits", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(
        Real.layer([LocalModel.hang(LocalModel.text("thinking")), LocalModel.hang()], Real.fast),
        scope
      )
      const codex = Context.get(context, Codex.Codex)
      const model = Context.get(context, LocalModel.LocalModel)
      const home = model.codexHome
      const first = yield* codex.startThread()
      const second = yield* codex.startThread()
      const run = yield* Effect.forkChild(first.run("one"))
      yield* LocalModel.awaitRequest(0).pipe(Effect.provideService(LocalModel.LocalModel, model))
      const turnScope = yield* Scope.make()
      const turn = yield* second.turn("two").pipe(Scope.provide(turnScope))
      const events = yield* Effect.forkChild(Stream.runCollect(turn.events))
      const result = yield* Effect.forkChild(turn.result)
      yield* LocalModel.awaitRequest(1).pipe(Effect.provideService(LocalModel.LocalModel, model))
      assert.strictEqual(pidsWithEnv("CODEX_HOME", home).length, 1)

      const started = performance.now()
      const closing = yield* Effect.forkChild(Scope.close(scope, Exit.void))
      const exits = yield* Effect.forEach(
        [run, events, result] as ReadonlyArray<Fiber.Fiber<unknown, CodexError.CodexError>>,
        Fiber.await
      )
      const failedAfter = performance.now() - started
      assert.deepStrictEqual(exits.map(tagOf), ["Closed", "Closed", "Closed"])
      console.log(`[lifecycle] run, events and result failed with Closed ${failedAfter.toFixed(1)} ms after the Scope began to close`)
      assert.isBelow(failedAfter, 100, `turns failed ${failedAfter.toFixed(1)} ms after the close began`)
      yield* Fiber.join(closing)
      assert.deepStrictEqual(yield* awaitNoPidsWithEnv("CODEX_HOME", home, 2000), [])
      yield* Scope.close(turnScope, Exit.void)
    }))
})
