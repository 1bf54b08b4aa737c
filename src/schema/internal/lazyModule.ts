/**
 * Modules of effect that the main entry point uses only after it has started
 * doing something (decoding a message, building an error's schema, deriving
 * an output schema), loaded on first use instead of at import.
 *
 * Why: `effect/Schema` alone costs about a quarter of a cold `import("effect-codex")`
 * (its module graph is ~60 modules beyond what `effect/Effect` and `effect/Stream`
 * load), and a program that never decodes anything never needs it. The namespace
 * returned here is a stand-in whose first property read loads the real module
 * synchronously (`require` of an ES module, Node >= 22.12) and forwards every read
 * to it; the real module is the same instance an `import` of the same specifier
 * gets, so schemas built through it and schemas the application builds are
 * interchangeable.
 *
 * Invariant: nothing in the main entry point's modules reads one of these
 * namespaces while the module loads (only inside functions and thunks);
 * `test/unit/ImportGraph.test.ts` checks that a cold import loads none of them.
 *
 * @internal
 */
import { createRequire } from "node:module"

let requireModule: ((id: string) => unknown) | undefined

/**
 * A stand-in for the namespace of the ES module `specifier` (resolved from this
 * package), loaded on the first property read.
 *
 * @internal
 */
export const lazyModule = <T extends object>(specifier: string): T => {
  let loaded: T | undefined
  const load = (): T => {
    if (loaded === undefined) {
      requireModule ??= createRequire(import.meta.url)
      loaded = requireModule(specifier) as T
    }
    return loaded
  }
  return new Proxy({} as T, {
    get: (_, key) => (load() as Record<PropertyKey, unknown>)[key],
    has: (_, key) => key in load(),
    ownKeys: () => Reflect.ownKeys(load()),
    getOwnPropertyDescriptor: (_, key) => {
      const descriptor = Reflect.getOwnPropertyDescriptor(load(), key)
      // a module namespace's properties are not configurable, which a proxy may only report for its target's own
      return descriptor === undefined ? undefined : { ...descriptor, configurable: true }
    },
    set: () => false,
    defineProperty: () => false,
    deleteProperty: () => false
  })
}
