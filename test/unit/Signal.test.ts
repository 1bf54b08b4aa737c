/**
 * Signal: the wake-up shared by a turn's state (router.ts TurnState) and a command's
 * (services/internal/commands.ts CommandState).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { Signal } from "../../src/streams/internal/signal.ts"

const waitAndRecord = (signal: Signal, seen: Array<string>, name: string) =>
  Effect.forkChild(signal.wait.pipe(Effect.andThen(Effect.sync(() => void seen.push(name)))), { startImmediately: true })

describe("Signal", () => {
  it.effect("wake resumes every waiter, in the order they came", () =>
    Effect.gen(function*() {
      const signal = new Signal()
      const seen: Array<string> = []
      const fibers = [
        yield* waitAndRecord(signal, seen, "a"),
        yield* waitAndRecord(signal, seen, "b"),
        yield* waitAndRecord(signal, seen, "c")
      ]
      assert.isTrue(signal.waiting)
      signal.wake()
      yield* Fiber.joinAll(fibers)
      assert.deepStrictEqual(seen, ["a", "b", "c"])
      assert.isFalse(signal.waiting)
    }))

  it.effect("an interrupted wait leaves nothing behind, and the order of the others holds", () =>
    Effect.gen(function*() {
      const signal = new Signal()
      const seen: Array<string> = []
      const first = yield* waitAndRecord(signal, seen, "first")
      const second = yield* waitAndRecord(signal, seen, "second")
      yield* Fiber.interrupt(first)
      const third = yield* waitAndRecord(signal, seen, "third")
      signal.wake()
      yield* Fiber.joinAll([second, third])
      assert.deepStrictEqual(seen, ["second", "third"])
      const lone = yield* waitAndRecord(signal, seen, "lone")
      yield* Fiber.interrupt(lone)
      assert.isFalse(signal.waiting)
    }))

  it.effect("a waiter that waits again while being woken waits for the next wake", () =>
    Effect.gen(function*() {
      const signal = new Signal()
      let wakes = 0
      const fiber = yield* Effect.forkChild(
        signal.wait.pipe(Effect.andThen(Effect.sync(() => wakes++)), Effect.andThen(signal.wait), Effect.andThen(Effect.sync(() => wakes++))),
        { startImmediately: true }
      )
      signal.wake()
      yield* Effect.yieldNow
      assert.strictEqual(wakes, 1)
      assert.isTrue(signal.waiting)
      signal.wake()
      yield* Fiber.join(fiber)
      assert.strictEqual(wakes, 2)
    }))

  it.effect("a wake with nobody waiting is lost: a reader checks its state before it waits", () =>
    Effect.gen(function*() {
      const signal = new Signal()
      signal.wake()
      let woken = false
      const fiber = yield* Effect.forkChild(signal.wait.pipe(Effect.andThen(Effect.sync(() => void (woken = true)))), {
        startImmediately: true
      })
      yield* Effect.yieldNow
      assert.isFalse(woken)
      signal.wake()
      yield* Fiber.join(fiber)
      assert.isTrue(woken)
    }))
})
