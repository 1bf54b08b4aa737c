/**
 * Schema-backed values whose schema is built on first use, so that defining
 * them loads nothing of `effect/Schema` (see `./lazyModule.ts`).
 *
 * - {@link ErrorClass}: a yieldable error class that is, as a value, the same
 *   as `Schema.Error<Self>(identifier)(fields)`: same instances (fields as own
 *   properties, `name` = identifier, the class marker effect's decoder checks),
 *   same static side (`ast`, `fields`, `make`, `annotate`, `extend`, ...), same
 *   type. What differs: `new` does not validate its input (the type does), and
 *   the schema (built with `Schema.Error` the first time a static schema member
 *   is read) decodes into instances of the class itself.
 * - {@link schema}: any schema value, built on the first read of a property.
 *
 * @internal
 */
import type { Cause } from "./effect.ts"
import { Data } from "./effect.ts"
import { Schema } from "./lazyNamespaces.ts"

/** effect's `Schema.TypeId` (`Schema.isSchema` checks it; a test pins it to effect's own). */
const SchemaTypeId = "~effect/Schema/Schema"
const immerable = Symbol.for("immer-draftable")

type AnyClass = abstract new(...args: ReadonlyArray<any>) => unknown

/**
 * `Schema.Error<Self>(identifier)(fields())` with the schema built on first
 * use. `keys` lists the fields after `_tag`, in order (checked when the schema
 * is built); `_tag` is the last segment of `identifier`.
 *
 * @internal
 */
export const ErrorClass = <Self>(identifier: string, keys: ReadonlyArray<string>) =>
<Fields extends Schema.Struct.Fields>(
  fields: () => Fields
): Schema.Class<Self, Schema.Struct<Fields>, Cause.YieldableError> => {
  const tag = identifier.slice(identifier.lastIndexOf("/") + 1)
  let schemaClass: Record<PropertyKey, any> | undefined
  const real = () => {
    if (schemaClass === undefined) {
      const built = fields()
      const expected = ["_tag", ...keys].join(", ")
      if (Object.keys(built).join(", ") !== expected) {
        throw new globalThis.Error(`${identifier}: the fields are ${Object.keys(built).join(", ")}, the keys say ${expected}`)
      }
      schemaClass = Schema.Error<unknown>(identifier)(built) as never
    }
    return schemaClass!
  }
  // effect's class methods take the class from `this`: called with ours, they build the schema of ours
  const forward = (self: AnyClass, key: string, args: IArguments) => real()[key].apply(self, args)
  const classTypeId = `~effect/Schema/Class/${identifier}`
  const valueOf = (input: Record<string, unknown>): Record<string, unknown> => {
    const value: Record<string, unknown> = { _tag: tag }
    for (const key of keys) if (Object.hasOwn(input, key)) value[key] = input[key]
    return value
  }
  class Base extends Data.Error<Record<string, unknown>> {
    constructor(input?: Record<string, unknown>, options?: { readonly "~payload"?: { readonly value: Record<string, unknown> } }) {
      // effect's decoder and `make` pass the already decoded fields as `~payload`
      super(options?.["~payload"]?.value ?? valueOf(input ?? {}))
    }
    get [classTypeId]() {
      return classTypeId
    }
    static readonly [SchemaTypeId] = SchemaTypeId
    static readonly [immerable] = true
    static readonly identifier = identifier
    static get fields() {
      return real().fields
    }
    static get ast() {
      return Reflect.get(real(), "ast", this)
    }
    static pipe(...fns: ReadonlyArray<(a: unknown) => unknown>) {
      let out: unknown = this
      for (const f of fns) out = f(out)
      return out
    }
    static rebuild() {
      return forward(this, "rebuild", arguments)
    }
    static make() {
      return forward(this, "make", arguments)
    }
    static makeOption() {
      return forward(this, "makeOption", arguments)
    }
    static makeEffect() {
      return forward(this, "makeEffect", arguments)
    }
    static annotate() {
      return forward(this, "annotate", arguments)
    }
    static annotateKey() {
      return forward(this, "annotateKey", arguments)
    }
    static check() {
      return forward(this, "check", arguments)
    }
    static extend() {
      return forward(this, "extend", arguments)
    }
    static mapFields() {
      return forward(this, "mapFields", arguments)
    }
  }
  ;(Base.prototype as { name: string }).name = identifier
  return Base as never
}

/**
 * A stand-in for the schema `build()` returns, built on the first read of any
 * of its properties; `Schema.isSchema` and every schema operation see the real one.
 *
 * @internal
 */
export const schema = <S extends object>(build: () => S): S => {
  let built: S | undefined
  const load = (): S => built ??= build()
  return new Proxy({} as S, {
    get: (_, key) => Reflect.get(load(), key),
    has: (_, key) => key in load(),
    ownKeys: () => Reflect.ownKeys(load()),
    getOwnPropertyDescriptor: (_, key) => {
      const descriptor = Reflect.getOwnPropertyDescriptor(load(), key)
      return descriptor === undefined ? undefined : { ...descriptor, configurable: true }
    },
    getPrototypeOf: () => Reflect.getPrototypeOf(load()),
    set: () => false,
    defineProperty: () => false,
    deleteProperty: () => false
  })
}
