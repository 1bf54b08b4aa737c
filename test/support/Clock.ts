import { Clock, Effect } from "effect"

/** Runs `effect` with a Clock whose now (milliseconds) is `now(real now)`; the rest is the real Clock. */
const withNow = <A, E, R>(now: (real: number) => number, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.gen(function*() {
    const real = yield* Clock.Clock
    const shifted: Clock.Clock = Object.assign(Object.create(real), {
      currentTimeMillisUnsafe: () => now(real.currentTimeMillisUnsafe()),
      currentTimeMillis: Effect.sync(() => now(real.currentTimeMillisUnsafe()))
    })
    return yield* Effect.provideService(effect, Clock.Clock, shifted)
  })

/**
 * Runs `effect` with the Clock `ms` ahead of the real one: for what compares the Clock's now with times
 * recorded at the real one (the cluster's message ids carry the real time).
 */
export const ahead = <A, E, R>(ms: number, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  withNow((real) => real + ms, effect)

/** Runs `effect` with the Clock stopped at `ms`. */
export const at = <A, E, R>(ms: number, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => withNow(() => ms, effect)
