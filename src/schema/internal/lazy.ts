/**
 * Build-on-first-use helpers for the generated protocol schemas.
 *
 * Building all ~950 protocol schemas costs tens of milliseconds, and the main
 * entry point needs only a handful of them before the first request, so the
 * generator emits each one as a memoized thunk and the method maps as objects
 * whose properties build their schema when first read. Every reader of a
 * definition gets the same schema object, so identities (and the parser caches
 * keyed by schema AST) are shared between the eager `effect-codex/schema`
 * exports and the SDK's own lookups.
 *
 * @internal
 */

/**
 * A thunk that calls `build` once, on first call, and returns the same value
 * afterwards.
 *
 * @internal
 */
export const lazy = <A>(build: () => A): () => A => {
  let built = false
  let value: A
  return () => {
    if (!built) {
      value = build()
      built = true
    }
    return value
  }
}

/**
 * An object with one enumerable property per key of `thunks`; reading a
 * property calls its thunk once and turns the property into a plain,
 * read-only data property holding the result. `Object.hasOwn`, `in` and
 * `Object.keys` see every key without building anything.
 *
 * @internal
 */
export const lazyRecord = <T extends object>(thunks: { readonly [K in keyof T]: () => T[K] }): T => {
  const out = {} as T
  for (const key of Object.keys(thunks) as Array<keyof T & string>) {
    const thunk = thunks[key]
    Object.defineProperty(out, key, {
      enumerable: true,
      configurable: true,
      get() {
        const value = thunk()
        Object.defineProperty(out, key, { value, enumerable: true, writable: false, configurable: false })
        return value
      }
    })
  }
  return out
}
