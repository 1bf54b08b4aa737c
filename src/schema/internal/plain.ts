/**
 * Validation without copying, for schemas without transformations (the
 * generated protocol schemas): decoding such a schema yields the input again,
 * rebuilt field by field. A guard compiled from the schema's AST says whether
 * decoding would succeed, so the input itself can be used and nothing is
 * copied (a `model/list` answer is hundreds of objects).
 *
 * Sound, not complete: `true` only when decoding succeeds with a value equal
 * to the input (except for fields the schema does not declare, which
 * decoding drops and the input keeps). Anything it does not know for sure (a
 * node with an encoding, a declaration other than `Schema.Json`, tuples,
 * `oneOf` unions, index signatures beside properties) makes it answer
 * `false`, and the caller decodes as before. A union is only checked when
 * every member is checked exactly (see {@link exact}): Schema takes the
 * first member that decodes (`oneOf`: fails when two do), so a member the
 * guard could not judge might be the one decoding picks.
 *
 * @internal
 */
import { Schema, SchemaAST } from "./effect.ts"
/** Whether `input` decodes to itself. */
export type Guard = (input: unknown) => boolean

const never: Guard = () => false
const options: SchemaAST.ParseOptions = {}

// per mode: loose (undeclared fields allowed, as decoding ignores them) and strict
const guards = [new WeakMap<SchemaAST.AST, Guard>(), new WeakMap<SchemaAST.AST, Guard>()] as const

/** The guard of a schema (built once per AST node, lazily through `Suspend`). */
export const guardOf = (schema: Schema.Top): Guard => compile(schema.ast, false)

/**
 * The guard for encoding: also `false` when an object has a field its
 * schema does not declare (encoding drops it), so `true` means encoding
 * yields the input exactly.
 */
export const strictGuardOf = (schema: Schema.Top): Guard => compile(schema.ast, true)

const compile = (ast: SchemaAST.AST, strict: boolean): Guard => {
  const cache = guards[strict ? 1 : 0]
  let guard = cache.get(ast)
  if (guard === undefined) {
    guard = withChecks(ast, ast.encoding === undefined ? base(ast, strict) : never)
    cache.set(ast, guard)
  }
  return guard
}

const isRecord = (u: unknown): u is Record<PropertyKey, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

// built on first use: reading `Schema` while this module loads would load effect/Schema at import
let isJsonGuard: Guard | undefined
const isJson: Guard = (u) => (isJsonGuard ??= Schema.is(Schema.Json))(u)

const isPlain = (ast: SchemaAST.AST) => ast.checks === undefined && ast.encoding === undefined
const isPlainString = (ast: SchemaAST.AST) => ast._tag === "String" && isPlain(ast)
const isStringLiteral = (ast: SchemaAST.AST) => ast._tag === "Literal" && typeof ast.literal === "string" && isPlain(ast)

const base = (ast: SchemaAST.AST, strict: boolean): Guard => {
  switch (ast._tag) {
    case "String":
      return (u) => typeof u === "string"
    case "Number":
      return (u) => typeof u === "number"
    case "Boolean":
      return (u) => typeof u === "boolean"
    case "Null":
      return (u) => u === null
    case "Literal": {
      const literal = ast.literal
      return (u) => u === literal
    }
    case "Unknown":
    case "Any":
      return () => true
    case "Declaration":
      return (ast.annotations as { readonly representation?: { readonly id?: unknown } } | undefined)?.representation
          ?.id === "effect/schema/Json" && ast.typeParameters.length === 0
        ? isJson
        : never
    case "Suspend": {
      let inner: Guard | undefined
      return (u) => (inner ??= compile(ast.thunk(), strict))(u)
    }
    case "Arrays": {
      if (ast.elements.length > 0 || ast.rest.length !== 1) return never
      const item = compile(ast.rest[0]!, strict)
      return (u) => {
        if (!Array.isArray(u)) return false
        for (let i = 0; i < u.length; i++) if (!item(u[i])) return false
        return true
      }
    }
    case "Union": {
      if (!ast.types.every(exact)) return never
      // an open literal (known members, then any string): any string is one
      if (ast.types.some(isPlainString) && ast.types.every((type) => isPlainString(type) || isStringLiteral(type))) {
        return (u) => typeof u === "string"
      }
      const members = ast.types.map((type) => compile(type, strict))
      if (ast.options?.mode === "oneOf") {
        return (u) => {
          let passed = 0
          for (let i = 0; i < members.length; i++) if (members[i]!(u) && ++passed > 1) return false
          return passed === 1
        }
      }
      return (u) => {
        for (let i = 0; i < members.length; i++) if (members[i]!(u)) return true
        return false
      }
    }
    case "Objects":
      return objects(ast, strict)
    default:
      return never
  }
}

const exacts = new WeakMap<SchemaAST.AST, boolean>()

/**
 * Whether the guard of `ast` is also complete: `false` exactly when decoding
 * fails. Mirrors {@link base}: every case it answers `never` for is not exact.
 */
const exact = (ast: SchemaAST.AST): boolean => {
  let known = exacts.get(ast)
  if (known === undefined) {
    // a recursive schema meets itself again: judged by its other parts
    exacts.set(ast, true)
    known = exactNode(ast)
    exacts.set(ast, known)
  }
  return known
}

const exactChecks = (checks: SchemaAST.Checks | undefined): boolean =>
  checks === undefined ||
  checks.every((check) => check._tag === "Filter" || (check._tag === "FilterGroup" && exactChecks(check.checks)))

const exactNode = (ast: SchemaAST.AST): boolean => {
  if (ast.encoding !== undefined || !exactChecks(ast.checks)) return false
  switch (ast._tag) {
    case "String":
    case "Number":
    case "Boolean":
    case "Null":
    case "Literal":
    case "Unknown":
    case "Any":
      return true
    case "Declaration":
      return base(ast, false) !== never
    case "Suspend":
      return exact(ast.thunk())
    case "Arrays":
      return ast.elements.length === 0 && ast.rest.length === 1 && exact(ast.rest[0]!)
    case "Union":
      return ast.types.every(exact)
    case "Objects":
      return plainIndex(ast) && ast.propertySignatures.every((property) => exact(property.type)) &&
        ast.indexSignatures.every((index) => exact(index.type))
    default:
      return false
  }
}

/** One index signature of plain string keys (a record, or a struct's rest), or none. */
const plainIndex = (ast: SchemaAST.Objects): boolean => {
  const index = ast.indexSignatures
  if (index.length === 0) return true
  const parameter = index[0]!.parameter
  return index.length === 1 && parameter._tag === "String" && parameter.checks === undefined &&
    parameter.encoding === undefined
}

const objects = (ast: SchemaAST.Objects, strict: boolean): Guard => {
  if (!plainIndex(ast)) return never
  if (ast.indexSignatures.length === 0) return properties(ast, strict)
  // every key is declared by the index
  const struct = properties(ast, false)
  // as Schema does: every own key's value, declared or not, must match the index's type too
  const value = compile(ast.indexSignatures[0]!.type, strict)
  return (u) => {
    if (!struct(u)) return false
    const record = u as Record<string, unknown>
    for (const key of Object.keys(record)) if (!value(record[key])) return false
    return true
  }
}

const properties = (ast: SchemaAST.Objects, strict: boolean): Guard => {
  // literal fields first: a union of structs is told apart by its `type`
  const fields = [...ast.propertySignatures]
    .sort((a, b) => Number(b.type._tag === "Literal") - Number(a.type._tag === "Literal"))
    .map((property) => ({
      name: property.name,
      optional: property.type.context?.isOptional === true,
      guard: compile(property.type, strict)
    }))
  return (u) => {
    if (!isRecord(u)) return false
    let present = 0
    for (let i = 0; i < fields.length; i++) {
      const field = fields[i]!
      const name = field.name
      // one lookup in the common case; `in` only for what reads as undefined. As Schema decides
      // presence: `__proto__` only as an own key, any other key also inherited.
      const value = name === "__proto__" ? (Object.hasOwn(u, name) ? u[name] : undefined) : u[name]
      if (value === undefined && !(name === "__proto__" ? Object.hasOwn(u, name) : name in u)) {
        if (field.optional) continue
        return false
      }
      // encoding copies what it finds, inherited or not: strict wants own keys only, to count them
      if (strict && !Object.hasOwn(u, name)) return false
      present++
      if (!field.guard(value)) return false
    }
    return !strict || Reflect.ownKeys(u).length === present
  }
}

const withChecks = (ast: SchemaAST.AST, guard: Guard): Guard => {
  const checks = ast.checks
  if (checks === undefined) return guard
  const filters: Array<SchemaAST.Filter<unknown>> = []
  const collect = (check: SchemaAST.Check<unknown>): boolean => {
    if (check._tag === "Filter") {
      filters.push(check)
      return true
    }
    if (check._tag === "FilterGroup") return check.checks.every(collect)
    return false
  }
  if (!checks.every(collect)) return never
  return (u) => {
    if (!guard(u)) return false
    for (let i = 0; i < filters.length; i++) if (filters[i]!.run(u, ast, options) !== undefined) return false
    return true
  }
}
