import { Clock, Effect } from "effect"

/**
 * Runs `effect` with the Clock `ms` ahead of the real one: for what compares the Clock's now with times
 * recorded at the real one (the cluster's message ids carry the real time).
 */
export const ahead = <A, E, R>(ms: number, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.gen(function*() {
    const real = yield* Clock.Clock
    const shifted: Clock.Clock = Object.assign(Object.create(real), {
      currentTimeMillisUnsafe: () => real.currentTimeMillisUnsafe() + ms,
      currentTimeMillis: Effect.sync(() => real.currentTimeMillisUnsafe() + ms)
    })
    return yield* Effect.provideService(effect, Clock.Clock, shifted)
  })
