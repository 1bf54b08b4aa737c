import { assert } from "@effect/vitest"
import { Effect } from "effect"

/** Waits (on live fibers, no clock) until `check` holds; fails the test if it never does. */
export const eventually = (check: Effect.Effect<boolean>): Effect.Effect<void> =>
  Effect.gen(function*() {
    for (let i = 0; i < 10_000; i++) {
      if (yield* check) return
      yield* Effect.yieldNow
    }
    assert.fail("condition never held")
  })
