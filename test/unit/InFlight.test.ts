import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import * as CodexError from "../../src/schema/CodexError.ts"
import { InFlight } from "../../src/services/internal/inflight.ts"

const make = (sent: Array<string> = []) =>
  new InFlight({
    max: 2,
    offer: (line) => (sent.push(line), true),
    encode: (id, request) => JSON.stringify({ id, params: request.params }),
    trace: () => undefined,
    onError: (request, error) => Effect.fail(CodexError.make(new CodexError.RpcError({ method: request.method, code: error.code, message: error.message }))),
    now: () => 0,
    onTimeout: (method) => CodexError.make(new CodexError.Timeout({ method })),
    onClosed: () => CodexError.make(new CodexError.Closed()),
    onUnencodable: (method, cause) => CodexError.make(new CodexError.ProtocolError({ method, description: String(cause) }))
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

  it.effect("params that are not JSON fail their request alone, also when another's answer starts it from the queue", () =>
    Effect.gen(function*() {
      const sent: Array<string> = []
      const inFlight = make(sent)
      const first = yield* Effect.forkChild(inFlight.call("a", {}, 1000, Effect.succeed))
      const second = yield* Effect.forkChild(inFlight.call("b", {}, 1000, Effect.succeed))
      // the window (2) is full: this one waits in the queue, and its params cannot be serialized
      const bad = yield* Effect.forkChild(Effect.flip(inFlight.call("c", { n: 1n }, 1000, Effect.succeed)))
      const third = yield* Effect.forkChild(inFlight.call("d", {}, 1000, Effect.succeed))
      yield* Effect.yieldNow
      assert.strictEqual(sent.length, 2)
      // the answer to the first starts the queued ones: the bad one fails, the next is sent
      assert.isTrue(inFlight.complete(1, "one"))
      assert.strictEqual(yield* Fiber.join(first), "one")
      const error = yield* Fiber.join(bad)
      assert.strictEqual(error.reason._tag, "ProtocolError")
      assert.strictEqual(sent.length, 3)
      assert.isTrue(inFlight.complete(2, "two"))
      assert.isTrue(inFlight.complete(4, "four"))
      assert.strictEqual(yield* Fiber.join(second), "two")
      assert.strictEqual(yield* Fiber.join(third), "four")
    }))
})
