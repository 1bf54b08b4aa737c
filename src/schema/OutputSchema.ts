/**
 * Structured output for turns: an Effect Schema becomes a JSON Schema that the OpenAI Responses API
 * accepts in strict mode, plus a decoder for the model's final answer.
 *
 * Built on effect's own `OpenAiStructuredOutput.toCodecOpenAI` (`effect/ai`), which already
 * - makes every object `additionalProperties: false` with every property `required`, turning
 *   optional properties (`Schema.optionalKey`, `Schema.optional`) into required nullable ones and
 *   returning a codec that decodes `null` back to an absent key (recursively, only for keys that are
 *   optional in the schema);
 * - keeps descriptions, emits `anyOf` for unions, `enum` for literals, `$defs`/`$ref` for recursive
 *   schemas, and drops keywords strict mode rejects (their constraints are still checked by the
 *   codec);
 * - sends schemas without a JSON form through provider-safe encodings that the codec decodes:
 *   `Date` / `bigint` / `Uint8Array` as strings, records as arrays of `[key, value]` entries, tuples as
 *   objects with keys `"0"`, `"1"`, ...
 *
 * On top of it this module
 * - makes every `Schema.Number` finite before deriving, so numbers are plain `{ "type": "number" }`
 *   (effect's JSON form of `Schema.Number` is `anyOf: [number, "NaN" | "Infinity" | "-Infinity"]`)
 *   and number checks such as `isGreaterThan` reach the JSON Schema;
 * - removes duplicate `anyOf` members (`Schema.optional` yields `null` twice), unwraps single-member
 *   `anyOf`s and drops unused `$defs`;
 * - validates the result against the strict-mode rules and reports what is not expressible
 *   (`Schema.Unknown`, `Schema.Any`, `Schema.Never`, declarations without a JSON encoding, a root
 *   that is not an object) as an {@link UnsupportedOutputSchema} with its location.
 *
 * Gotcha: with `Schema.optionalKey(Schema.NullOr(X))` the model's `null` decodes to an absent key.
 *
 * @stability unstable
 * @since 0.1.0
 */
import { Data, Effect, OpenAiStructuredOutput, Schema, SchemaAST } from "./internal/effect.ts"
// the module itself, not the effect/ai barrel (which would add ~300 ms to the import of the SDK)
/**
 * A JSON Schema as a plain JSON object.
 *
 * @category models
 * @since 0.1.0
 */
export type JsonSchemaObject = { readonly [key: string]: unknown }

/**
 * What a turn needs for structured output: the JSON Schema to send as `outputSchema`, and the
 * decoder for the final answer's text.
 * @since 0.1.0
 * @category models
 */
export interface OutputSchema<A> {
  readonly jsonSchema: JsonSchemaObject
  readonly decode: (text: string) => Effect.Effect<A, OutputDecodeFailure>
  /** Decodes an already parsed JSON value (tool arguments arrive parsed). */
  readonly decodeJson: (json: unknown) => Effect.Effect<A, OutputDecodeFailure>
}

/**
 * The final answer is not JSON, or does not match the schema. `text` is the raw answer.
 *
 * @category errors
 * @since 0.1.0
 */
export class OutputDecodeFailure extends Data.TaggedError("OutputDecodeFailure")<{
  readonly text: string
  readonly message: string
  readonly cause?: unknown
}> {}

/**
 * The schema has no strict-mode JSON Schema form. `path` locates the offending part (`$` is the
 * root, `.name` a property, `[]` array items, `$defs.Name` a definition).
 * @since 0.1.0
 * @category models
 */
export class UnsupportedOutputSchema extends Data.TaggedError("UnsupportedOutputSchema")<{
  readonly path: string
  readonly message: string
}> {}

/**
 * Derives the strict-mode JSON Schema and the decoder of a schema. Fails with
 * {@link UnsupportedOutputSchema} when the schema cannot be expressed.
 * @since 0.1.0
 * @category constructors
 */
export const make = <S extends Schema.Top & { readonly DecodingServices: never }>(
  schema: S
): Effect.Effect<OutputSchema<S["Type"]>, UnsupportedOutputSchema> =>
  Effect.try({
    try: () => makeUnsafe(schema),
    catch: (error) =>
      error instanceof UnsupportedOutputSchema
        ? error
        : new UnsupportedOutputSchema({ path: "$", message: error instanceof Error ? error.message : String(error) })
  })

/**
 * {@link make}, throwing the {@link UnsupportedOutputSchema} (for module-level constants).
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeUnsafe = <S extends Schema.Top & { readonly DecodingServices: never }>(
  schema: S
): OutputSchema<S["Type"]> => {
  const prepared = Schema.make<Schema.Codec<S["Type"], unknown, never, unknown>>(finiteNumbers(schema.ast))
  let derived: ReturnType<typeof OpenAiStructuredOutput.toCodecOpenAI<S["Type"], unknown, never, unknown>>
  try {
    derived = OpenAiStructuredOutput.toCodecOpenAI(prepared)
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    throw new UnsupportedOutputSchema({
      path: "$",
      message: /Root JSON Schema/.test(message)
        ? "the root must be an object schema (a Struct or Class; not a union, primitive, array or empty struct)"
        : message
    })
  }
  const jsonSchema = normalize(derived.jsonSchema)
  const problem = findStrictModeProblem(jsonSchema)
  if (problem !== undefined) throw new UnsupportedOutputSchema(problem)
  const decodeCodec = Schema.decodeUnknownEffect(derived.codec)
  const decodeWith = (json: unknown, text: string) =>
    Effect.mapError(
      decodeCodec(json),
      (error) => new OutputDecodeFailure({ text, message: error.message, cause: error })
    )
  return {
    jsonSchema,
    decode: (text) => Effect.flatMap(parseJson(text), (json) => decodeWith(json, text)),
    decodeJson: (json) => decodeWith(json, JSON.stringify(json) ?? "")
  }
}

/**
 * Wraps a raw JSON Schema, sent as-is (no strict-mode check); the answer decodes to `JSON.parse`
 * of its text.
 * @since 0.1.0
 * @category constructors
 */
export const fromJsonSchema = (raw: object): OutputSchema<unknown> => ({
  jsonSchema: raw as JsonSchemaObject,
  decode: parseJson,
  decodeJson: Effect.succeed
})

const parseJson = (text: string): Effect.Effect<unknown, OutputDecodeFailure> =>
  Effect.try({
    try: () => JSON.parse(text) as unknown,
    catch: (cause) =>
      new OutputDecodeFailure({
        text,
        message: `The answer is not valid JSON: ${cause instanceof Error ? cause.message : String(cause)}`,
        cause
      })
  })

// ---------------------------------------------------------------------------------------------
// Schema.Number -> finite
// ---------------------------------------------------------------------------------------------

const FINITE_IDS = new Set(["effect/schema/isFinite", "effect/schema/isInt"])

const hasFiniteCheck = (checks: ReadonlyArray<SchemaAST.Check<any>> | undefined): boolean =>
  checks !== undefined &&
  checks.some((check) =>
    FINITE_IDS.has(check.annotations?.representation?.id ?? "") ||
    (check._tag === "FilterGroup" && hasFiniteCheck(check.checks))
  )

const copyWithEncoding = <A extends SchemaAST.AST>(ast: A, encoding: SchemaAST.Encoding): A =>
  Object.assign(Object.create(Object.getPrototypeOf(ast)), ast, { encoding }) as A

/**
 * Adds `isFinite` to every `Number` node on the JSON-encoded side of the schema (the side
 * `Schema.toCodecJson` derives from: a node's own structure, or the last link of its encoding).
 * A finite number has a plain JSON form; JSON text cannot carry a non-finite one anyway.
 */
const finiteNumbers = (root: SchemaAST.AST): SchemaAST.AST => {
  const cache = new Map<SchemaAST.AST, SchemaAST.AST>()
  const go = (ast: SchemaAST.AST): SchemaAST.AST => {
    const cached = cache.get(ast)
    if (cached !== undefined) return cached
    const out = step(ast)
    cache.set(ast, out)
    return out
  }
  const step = (ast: SchemaAST.AST): SchemaAST.AST => {
    if (ast.encoding !== undefined) {
      const links = ast.encoding
      const last = links[links.length - 1]!
      const to = go(last.to)
      return to === last.to
        ? ast
        : copyWithEncoding(ast, [...links.slice(0, -1), new SchemaAST.Link(to, last.transformation)] as never)
    }
    switch (ast._tag) {
      case "Number":
        return hasFiniteCheck(ast.checks)
          ? ast
          : new SchemaAST.Number(
            ast.annotations,
            ast.checks ? [...ast.checks, Schema.isFinite()] : [Schema.isFinite()],
            undefined,
            ast.context
          )
      case "Objects": {
        const propertySignatures = SchemaAST.mapOrSame(ast.propertySignatures, (ps) => {
          const type = go(ps.type)
          return type === ps.type ? ps : new SchemaAST.PropertySignature(ps.name, type)
        })
        const indexSignatures = SchemaAST.mapOrSame(ast.indexSignatures, (is) => {
          const type = go(is.type)
          return type === is.type ? is : new SchemaAST.IndexSignature(is.parameter, type)
        })
        return propertySignatures === ast.propertySignatures && indexSignatures === ast.indexSignatures
          ? ast
          : new SchemaAST.Objects(
            propertySignatures,
            indexSignatures,
            ast.annotations,
            ast.checks,
            undefined,
            ast.context,
            ast.encodingChecks
          )
      }
      case "Arrays": {
        const elements = SchemaAST.mapOrSame(ast.elements, go)
        const rest = SchemaAST.mapOrSame(ast.rest, go)
        return elements === ast.elements && rest === ast.rest
          ? ast
          : new SchemaAST.Arrays(
            ast.isMutable,
            elements,
            rest,
            ast.annotations,
            ast.checks,
            undefined,
            ast.context,
            ast.encodingChecks
          )
      }
      case "Union": {
        const types = SchemaAST.mapOrSame(ast.types, go)
        return types === ast.types
          ? ast
          : new SchemaAST.Union(types, ast.options, ast.annotations, ast.checks, undefined, ast.context, ast.encodingChecks)
      }
      case "Suspend": {
        const thunk = ast.thunk
        return new SchemaAST.Suspend(() => go(thunk()), ast.annotations, undefined, undefined, ast.context)
      }
      case "Declaration": {
        const typeParameters = SchemaAST.mapOrSame(ast.typeParameters, go)
        return typeParameters === ast.typeParameters
          ? ast
          : new SchemaAST.Declaration(
            typeParameters,
            ast.run,
            ast.annotations,
            ast.checks,
            undefined,
            ast.context,
            ast.encodingChecks,
            ast.encodingRun
          )
      }
      default:
        return ast
    }
  }
  return go(root)
}

// ---------------------------------------------------------------------------------------------
// JSON Schema post-processing and strict-mode validation
// ---------------------------------------------------------------------------------------------

type Json = { [key: string]: unknown }

const isObject = (u: unknown): u is Json => typeof u === "object" && u !== null && !Array.isArray(u)

const stableStringify = (u: unknown): string => {
  if (Array.isArray(u)) return `[${u.map(stableStringify).join(",")}]`
  if (isObject(u)) {
    return `{${
      Object.keys(u).sort().map((key) => `${JSON.stringify(key)}:${stableStringify(u[key])}`).join(",")
    }}`
  }
  return JSON.stringify(u) ?? "undefined"
}

/** Dedupes `anyOf` members, unwraps single-member `anyOf`s, drops unreferenced `$defs`. */
const normalize = (schema: JsonSchemaObject): JsonSchemaObject => {
  const visit = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(visit)
    if (!isObject(node)) return node
    let out: Json = {}
    for (const [key, value] of Object.entries(node)) {
      if (key === "enum" || key === "const" || key === "required") {
        out[key] = value
      } else if (key === "properties" || key === "$defs") {
        const props: Json = {}
        for (const [name, sub] of Object.entries(value as Json)) props[name] = visit(sub)
        out[key] = props
      } else {
        out[key] = visit(value)
      }
    }
    if (Array.isArray(out.anyOf)) {
      const seen = new Set<string>()
      const members = (out.anyOf as Array<unknown>).filter((member) => {
        const key = stableStringify(member)
        if (seen.has(key)) return false
        seen.add(key)
        return true
      })
      const { anyOf: _, ...rest } = out
      const only = members[0]
      if (members.length === 1 && isObject(only) && Object.keys(only).every((key) => !(key in rest))) {
        out = { ...only, ...rest }
      } else {
        out = { ...rest, anyOf: members }
      }
    }
    return out
  }
  const out = visit(schema) as Json
  const defs = out.$defs
  if (isObject(defs)) {
    const used = new Set<string>()
    const collect = (node: unknown): void => {
      if (Array.isArray(node)) return node.forEach(collect)
      if (!isObject(node)) return
      for (const [key, value] of Object.entries(node)) {
        if (key === "$defs") continue
        if (key === "$ref" && typeof value === "string" && value.startsWith("#/$defs/")) {
          const name = decodeURIComponent(value.slice("#/$defs/".length).replace(/~1/g, "/").replace(/~0/g, "~"))
          if (!used.has(name) && name in defs) {
            used.add(name)
            collect(defs[name])
          }
        } else {
          collect(value)
        }
      }
    }
    collect(out)
    const kept: Json = {}
    for (const name of Object.keys(defs)) if (used.has(name)) kept[name] = defs[name]
    if (Object.keys(kept).length === 0) delete out.$defs
    else out.$defs = kept
  }
  return out
}

const NO_TYPE = "no JSON type: strict mode needs a concrete type here (unsupported: Schema.Unknown, Schema.Any, " +
  "Schema.Never, an empty Struct, declarations without a JSON encoding)"

const TYPES = new Set(["object", "array", "string", "number", "integer", "boolean", "null"])

const propertyPath = (path: string, key: string): string =>
  /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`

/** The first violation of the strict-mode rules, if any. */
const findStrictModeProblem = (root: JsonSchemaObject): { path: string; message: string } | undefined => {
  const check = (node: unknown, path: string): { path: string; message: string } | undefined => {
    if (node === undefined) return { path, message: NO_TYPE }
    if (!isObject(node)) return { path, message: "not a JSON Schema object" }
    if (typeof node.$ref === "string") {
      return node.$ref.startsWith("#/$defs/") ? undefined : { path, message: `unsupported $ref ${node.$ref}` }
    }
    if (Array.isArray(node.anyOf)) {
      for (const member of node.anyOf) {
        const problem = check(member, path)
        if (problem) return problem
      }
      return undefined
    }
    const types = Array.isArray(node.type) ? node.type : node.type === undefined ? [] : [node.type]
    if (types.length === 0 && !Array.isArray(node.enum)) {
      return { path, message: NO_TYPE }
    }
    for (const type of types) {
      if (typeof type !== "string" || !TYPES.has(type)) return { path, message: `unsupported type ${String(type)}` }
    }
    if (types.includes("object")) {
      const properties = node.properties
      if (!isObject(properties)) return { path, message: "object without properties" }
      if (node.additionalProperties !== false) return { path, message: "object allows additional properties" }
      const keys = Object.keys(properties)
      const required = Array.isArray(node.required) ? node.required : []
      if (required.length !== keys.length || !keys.every((key) => required.includes(key))) {
        return { path, message: "not every property is required" }
      }
      for (const key of keys) {
        const problem = check(properties[key], propertyPath(path, key))
        if (problem) return problem
      }
    }
    if (types.includes("array")) {
      const problem = check(node.items, `${path}[]`)
      if (problem) return problem
    }
    return undefined
  }
  if (root.type !== "object") {
    return { path: "$", message: "the root must be an object schema" }
  }
  const problem = check(root, "$")
  if (problem) return problem
  if (isObject(root.$defs)) {
    for (const [name, def] of Object.entries(root.$defs)) {
      const problem = check(def, `$defs.${name}`)
      if (problem) return problem
    }
  }
  return undefined
}
