import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import * as CodexError from "../../src/schema/CodexError.ts"
import { InFlight } from "../../src/services/internal/inflight.ts"

const make = (sent: Array<string> = []) =>
  new InFlight({
    max: 2,
    offer: (line) => (sent.push(line), true),
    encode: (id) => `{"id":${id}}`,
    trace: () => undefined,
    onError: (request, error) => Effect.fail(CodexError.make(new CodexError.RpcError({ method: request.method, code: error.code, message: error.message }))),
    now: () => 0,
    onTimeout: (method) => CodexError.make(new CodexError.Timeout({ method })),
    onClosed: () => CodexError.make(new CodexError.Closed())
  })

describe("InFlight", () => {
  it.effect("busy waits while nothing is pending, so an idle connection's sweeper sleeps on no timer", () =>
    Effect.gen(function*() {
      const inFlight = make()
      assert.isTrue(inFlight.idle)
      const waiting = yield* Effect.forkChild(inFlight.busy)
      yield* Effect.yieldNow
      assert.isUndefined(waiting.pollUnsafe())
      const call = yield* Effect.forkChild(inFlight.call("model/list", {}, 1000, Effect.succeed))
      yield* Effect.yieldNow
      yield* Fiber.join(waiting)
      assert.isFalse(inFlight.idle)
      // pending: busy returns at once
      yield* inFlight.busy
      assert.isTrue(inFlight.complete(1, "ok"))
      assert.strictEqual(yield* Fiber.join(call), "ok")
      assert.isTrue(inFlight.idle)
    }))

  it.effect("busy never returns once the connection ended (nothing left to sweep)", () =>
    Effect.gen(function*() {
      const inFlight = make()
      const call = yield* Effect.forkChild(Effect.exit(inFlight.call("model/list", {}, 1000, Effect.succeed)))
      yield* Effect.yieldNow
      inFlight.fail(CodexError.make(new CodexError.Closed()))
      yield* Fiber.join(call)
      const waiting = yield* Effect.forkChild(inFlight.busy)
      yield* Effect.yieldNow
      assert.isUndefined(waiting.pollUnsafe())
      yield* Fiber.interrupt(waiting)
    }))
})
