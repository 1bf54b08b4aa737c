import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Exit, Fiber, Layer, Scope, Stream } from "effect"
import { TestClock } from "effect/testing"
import * as CodexTest from "../../src/layers/testing/CodexTest.ts"
import { AppServerClient } from "../../src/services/AppServerClient.ts"
import * as Approvals from "../../src/services/Approvals.ts"
import * as Codex from "../../src/services/Codex.ts"
import type * as CodexError from "../../src/schema/CodexError.ts"
import { reasonOf } from "../support/Errors.ts"
import { eventually } from "../support/Eventually.ts"

// A turn that never ends on its own: TestClock does not move unless told to.
const hanging = CodexTest.slow(CodexTest.reply("never"), { delay: "1 hour" })

const manualApprovals = Approvals.layer({ commandExecution: Approvals.manual })

const build = (script: ReadonlyArray<CodexTest.Step>, options: CodexTest.Options = {}) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const context = yield* Layer.buildWithScope(
      Codex.layer.pipe(Layer.provideMerge(CodexTest.layer(script, options)), Layer.provideMerge(manualApprovals)),
      scope
    )
    return {
      scope,
      codex: Context.get(context, Codex.Codex),
      client: Context.get(context, AppServerClient),
      approvals: Context.get(context, Approvals.Approvals)
    }
  })

const tagOf = <A>(exit: Exit.Exit<A, CodexError.CodexError>): string =>
  Exit.isFailure(exit)
    ? exit.cause.reasons.map((reason) => reason._tag === "Fail" ? reason.error.reason._tag : reason._tag).join(",")
    : "Success"


describe("Lifecycle (in-memory): when the connection ends, nothing waits", () => {
  it.effect("closing the layer's Scope fails open turns, their events and pending requests with Closed at once", () =>
    Effect.gen(function*() {
      const { client, codex, scope } = yield* build([hanging, hanging], {
        methods: { "test/never": () => Effect.never }
      })
      const first = yield* codex.startThread()
      const second = yield* codex.startThread()
      const run = yield* Effect.forkChild(first.run("one"))
      const turnScope = yield* Scope.make()
      const turn = yield* second.turn("two").pipe(Scope.provide(turnScope))
      const events = yield* Effect.forkChild(Stream.runCollect(turn.events))
      const result = yield* Effect.forkChild(turn.result)
      const request = yield* Effect.forkChild(client.requestRaw("test/never", {}))
      yield* TestClock.adjust("1 minute")

      yield* Scope.close(scope, Exit.void)
      const exits = yield* Effect.forEach([run, events, result, request], (fiber) => Fiber.await(fiber as Fiber.Fiber<unknown, CodexError.CodexError>))
      assert.deepStrictEqual(exits.map(tagOf), ["Closed", "Closed", "Closed", "Closed"])
      yield* Scope.close(turnScope, Exit.void)
    }))

  it.effect("closing the Scope with 100 manual approvals pending: every turn fails with Closed, pending is empty", () =>
    Effect.gen(function*() {
      const script = Array.from({ length: 100 }, (_, i) => CodexTest.command(`echo ${i}`, { approval: true }))
      const { approvals, codex, scope } = yield* build(script)
      const threads = yield* Effect.forEach(script, () => codex.startThread())
      const runs = yield* Effect.forEach(threads, (thread) => Effect.forkChild(thread.run("go")))
      yield* eventually(Effect.map(approvals.pending, (pending) => pending.length === 100))

      yield* Scope.close(scope, Exit.void)
      const exits = yield* Effect.forEach(runs, Fiber.await)
      assert.deepStrictEqual(new Set(exits.map(tagOf)), new Set(["Closed"]))
      assert.deepStrictEqual(yield* approvals.pending, [])
      const pendingId = (yield* approvals.pending)[0]?.requestId ?? 0
      assert.isFalse(yield* approvals.respond(pendingId, { decision: "accept" }))
    }))

  it.effect("a crash with 100 manual approvals pending: every turn fails with ProcessExited, pending is empty", () =>
    Effect.gen(function*() {
      const script = [
        ...Array.from({ length: 100 }, (_, i) => CodexTest.command(`echo ${i}`, { approval: true })),
        CodexTest.crash({ signal: "SIGKILL", stderr: ["killed"] })
      ]
      const { approvals, client, codex, scope } = yield* build(script)
      const threads = yield* Effect.forEach(script.slice(0, 100), () => codex.startThread())
      const runs = yield* Effect.forEach(threads, (thread) => Effect.forkChild(thread.run("go")))
      yield* eventually(Effect.map(approvals.pending, (pending) => pending.length === 100))

      const last = yield* codex.startThread().pipe(Effect.flatMap((thread) => Effect.exit(thread.run("crash now"))))
      assert.strictEqual(tagOf(last), "ProcessExited")
      const exits = yield* Effect.forEach(runs, Fiber.await)
      assert.deepStrictEqual(new Set(exits.map(tagOf)), new Set(["ProcessExited"]))
      assert.deepStrictEqual(yield* approvals.pending, [])
      // later calls fail with the same reason, at once
      const later = yield* reasonOf(client.requestRaw("thread/list", {}))
      assert.strictEqual(later._tag, "ProcessExited")
      yield* Scope.close(scope, Exit.void)
    }))

  it.effect("a turn started after the Scope closed fails with Closed instead of waiting", () =>
    Effect.gen(function*() {
      const { codex, scope } = yield* build([hanging])
      const thread = yield* codex.startThread()
      yield* Scope.close(scope, Exit.void)
      const reason = yield* reasonOf(thread.run("too late"))
      assert.strictEqual(reason._tag, "Closed")
    }))
})

