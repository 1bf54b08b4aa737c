import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { OpenAiStructuredOutput } from "effect/ai"
import * as OutputSchema from "../../src/schema/OutputSchema.ts"

// ---------------------------------------------------------------------------------------------
// A small validator of the OpenAI Responses strict-mode rules, independent of the implementation.
// ---------------------------------------------------------------------------------------------

const ALLOWED = new Set([
  "type",
  "properties",
  "required",
  "additionalProperties",
  "items",
  "anyOf",
  "enum",
  "description",
  "title",
  "$ref",
  "minimum",
  "maximum",
  "exclusiveMinimum",
  "exclusiveMaximum",
  "multipleOf",
  "pattern",
  "format",
  "minItems",
  "maxItems"
])
const TYPES = new Set(["object", "array", "string", "number", "integer", "boolean", "null"])

type J = { readonly [key: string]: unknown }
const isObj = (u: unknown): u is J => typeof u === "object" && u !== null && !Array.isArray(u)

const strictModeViolations = (root: J): Array<string> => {
  const out: Array<string> = []
  const text = JSON.stringify(root)
  for (const bad of ["\"NaN\"", "\"Infinity\"", "\"-Infinity\""]) {
    if (text.includes(bad)) out.push(`contains ${bad}`)
  }
  if (root.type !== "object") out.push("root is not an object")
  if ("anyOf" in root) out.push("root uses anyOf")
  const defs = isObj(root.$defs) ? root.$defs : {}
  const visit = (node: unknown, path: string) => {
    if (!isObj(node)) return void out.push(`${path}: not a schema object`)
    for (const key of Object.keys(node)) {
      if (!ALLOWED.has(key) && !(key === "$defs" && node === root)) out.push(`${path}: keyword ${key}`)
    }
    if (typeof node.$ref === "string") {
      const name = node.$ref.replace("#/$defs/", "")
      if (!node.$ref.startsWith("#/$defs/") || !(name in defs)) out.push(`${path}: dangling ${node.$ref}`)
      return
    }
    if (Array.isArray(node.anyOf)) {
      node.anyOf.forEach((member, i) => visit(member, `${path}|${i}`))
      return
    }
    const types = Array.isArray(node.type) ? node.type : node.type === undefined ? [] : [node.type]
    if (types.length === 0 && !Array.isArray(node.enum)) out.push(`${path}: no type`)
    for (const t of types) if (!TYPES.has(t as string)) out.push(`${path}: type ${String(t)}`)
    if (types.includes("object")) {
      if (node.additionalProperties !== false) out.push(`${path}: additionalProperties`)
      const props = isObj(node.properties) ? node.properties : {}
      if (!isObj(node.properties)) out.push(`${path}: no properties`)
      const required = Array.isArray(node.required) ? [...node.required].sort() : []
      if (JSON.stringify(required) !== JSON.stringify(Object.keys(props).sort())) {
        out.push(`${path}: required ${JSON.stringify(required)} != keys`)
      }
      for (const [k, v] of Object.entries(props)) visit(v, `${path}.${k}`)
    }
    if (types.includes("array")) visit(node.items, `${path}[]`)
    if (Array.isArray(node.enum)) {
      for (const v of node.enum) {
        if (!["string", "number", "boolean"].includes(typeof v) && v !== null) out.push(`${path}: enum value`)
      }
    }
  }
  visit(root, "$")
  for (const [name, def] of Object.entries(defs)) visit(def, `$defs.${name}`)
  return out
}

const assertStrict = (schema: J) => assert.deepStrictEqual(strictModeViolations(schema), [])

// ---------------------------------------------------------------------------------------------

const Address = Schema.Struct({
  street: Schema.String,
  zip: Schema.optionalKey(Schema.String)
})

const Person = Schema.Struct({
  name: Schema.String.annotate({ description: "Full name" }),
  age: Schema.Int,
  height: Schema.Number,
  nickname: Schema.optionalKey(Schema.String),
  email: Schema.optional(Schema.String),
  manager: Schema.NullOr(Schema.String),
  role: Schema.Literals(["admin", "user"]),
  kind: Schema.Literal("person"),
  score: Schema.Union([Schema.String, Schema.Number]),
  address: Address,
  previous: Schema.optionalKey(Address),
  tags: Schema.Array(Schema.String),
  pets: Schema.Array(Schema.Struct({ species: Schema.Literals(["cat", "dog"]), weight: Schema.Finite }))
}).annotate({ description: "A person" })

describe("OutputSchema.make: JSON Schema", () => {
  it("(the test validator rejects effect's unprocessed output for Schema.Number and Schema.Unknown)", () => {
    const raw = OpenAiStructuredOutput.toCodecOpenAI(Schema.Struct({ n: Schema.Number, u: Schema.Unknown })).jsonSchema
    const violations = strictModeViolations(raw)
    assert.isTrue(violations.some((v) => v.includes("NaN")), String(violations))
    assert.isTrue(violations.some((v) => v.startsWith("$.u: no type")), String(violations))
  })

  it.effect("struct with required, optional, nested, literals, unions, Int, nullable, descriptions", () =>
    Effect.gen(function*() {
      const out = yield* OutputSchema.make(Person)
      const AddressSchema = {
        type: "object",
        properties: { street: { type: "string" }, zip: { anyOf: [{ type: "string" }, { type: "null" }] } },
        required: ["street", "zip"],
        additionalProperties: false
      }
      assert.deepStrictEqual(out.jsonSchema, {
        type: "object",
        description: "A person",
        properties: {
          name: { type: "string", description: "Full name" },
          age: { type: "integer", minimum: -9007199254740991, maximum: 9007199254740991 },
          height: { type: "number" },
          nickname: { anyOf: [{ type: "string" }, { type: "null" }] },
          email: { anyOf: [{ type: "string" }, { type: "null" }] },
          manager: { anyOf: [{ type: "string" }, { type: "null" }] },
          role: { type: "string", enum: ["admin", "user"] },
          kind: { type: "string", enum: ["person"] },
          score: { anyOf: [{ type: "string" }, { type: "number" }] },
          address: AddressSchema,
          previous: { anyOf: [AddressSchema, { type: "null" }] },
          tags: { type: "array", items: { type: "string" } },
          pets: {
            type: "array",
            items: {
              type: "object",
              properties: { species: { type: "string", enum: ["cat", "dog"] }, weight: { type: "number" } },
              required: ["species", "weight"],
              additionalProperties: false
            }
          }
        },
        required: [
          "name",
          "age",
          "height",
          "nickname",
          "email",
          "manager",
          "role",
          "kind",
          "score",
          "address",
          "previous",
          "tags",
          "pets"
        ],
        additionalProperties: false
      })
      assertStrict(out.jsonSchema)
    }))

  it.effect("numbers are plain: no NaN/Infinity encodings, checks become keywords", () =>
    Effect.gen(function*() {
      const out = yield* OutputSchema.make(Schema.Struct({
        n: Schema.Number,
        nested: Schema.Array(Schema.Struct({ m: Schema.optional(Schema.Number) })),
        union: Schema.Union([Schema.Number, Schema.Boolean]),
        bounded: Schema.Number.check(Schema.isGreaterThan(0), Schema.isLessThanOrEqualTo(10)),
        option: Schema.Option(Schema.Number),
        fromString: Schema.NumberFromString
      }))
      const props = out.jsonSchema.properties as J
      assert.deepStrictEqual(props.n, { type: "number" })
      assert.deepStrictEqual(props.union, { anyOf: [{ type: "number" }, { type: "boolean" }] })
      assert.strictEqual((props.bounded as J).type, "number")
      assert.strictEqual((props.bounded as J).exclusiveMinimum, 0)
      assert.strictEqual((props.bounded as J).maximum, 10)
      assert.deepStrictEqual(props.fromString, { type: "string", description: "a string that will be decoded as a number" })
      assertStrict(out.jsonSchema)
    }))

  it.effect("enums, tagged unions, Class roots", () =>
    Effect.gen(function*() {
      class Answer extends Schema.Class<Answer>("Answer")({
        verdict: Schema.Enum({ Yes: "yes", No: "no" } as const),
        result: Schema.Union([
          Schema.TaggedStruct("Ok", { value: Schema.Number }),
          Schema.TaggedStruct("Err", { reason: Schema.String })
        ])
      }) {}
      const out = yield* OutputSchema.make(Answer)
      assert.isUndefined(out.jsonSchema.$defs) // the unused encoded-class definition is dropped
      const props = out.jsonSchema.properties as J
      assert.deepStrictEqual(props.verdict, {
        anyOf: [{ type: "string", enum: ["yes"], title: "Yes" }, { type: "string", enum: ["no"], title: "No" }]
      })
      assert.strictEqual(((props.result as J).anyOf as Array<unknown>).length, 2)
      assertStrict(out.jsonSchema)
      const value = yield* out.decode(`{"verdict":"yes","result":{"_tag":"Ok","value":1}}`)
      assert.instanceOf(value, Answer)
      assert.deepStrictEqual(value.result, { _tag: "Ok", value: 1 })
    }))

  it.effect("recursive schemas use $defs", () =>
    Effect.gen(function*() {
      interface Tree {
        readonly value: number
        readonly children: ReadonlyArray<Tree>
      }
      const Tree: Schema.Codec<Tree> = Schema.Struct({
        value: Schema.Number,
        children: Schema.Array(Schema.suspend((): Schema.Codec<Tree> => Tree))
      })
      const out = yield* OutputSchema.make(Schema.Struct({ tree: Tree }))
      assert.isTrue(isObj(out.jsonSchema.$defs))
      assertStrict(out.jsonSchema)
      const decoded = yield* out.decode(`{"tree":{"value":1,"children":[{"value":2,"children":[]}]}}`)
      assert.deepStrictEqual(decoded, { tree: { value: 1, children: [{ value: 2, children: [] }] } })
    }))

  it.effect("schemas without a JSON form use effect's provider-safe encodings", () =>
    Effect.gen(function*() {
      const out = yield* OutputSchema.make(Schema.Struct({
        at: Schema.Date,
        counts: Schema.Record(Schema.String, Schema.Int),
        pair: Schema.Tuple([Schema.String, Schema.Boolean])
      }))
      assertStrict(out.jsonSchema)
      const decoded = yield* out.decode(
        `{"at":"2024-01-02T03:04:05.000Z","counts":[{"0":"a","1":1},{"0":"b","1":2}],"pair":{"0":"x","1":true}}`
      )
      assert.strictEqual(decoded.at.toISOString(), "2024-01-02T03:04:05.000Z")
      assert.deepStrictEqual(decoded.counts, { a: 1, b: 2 })
      assert.deepStrictEqual(decoded.pair, ["x", true])
    }))

  it.effect("unsupported schemas fail with a located UnsupportedOutputSchema", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [Schema.Top & { readonly DecodingServices: never }, string]> = [
        [Schema.Struct({ x: Schema.Unknown }), "$.x"],
        [Schema.Struct({ x: Schema.Array(Schema.Any) }), "$.x[]"],
        [Schema.Struct({ a: Schema.Struct({ b: Schema.Never }) }), "$.a.b"],
        [Schema.Struct({ e: Schema.Struct({}) }), "$.e"],
        [Schema.String, "$"],
        [Schema.Array(Schema.String), "$"],
        [Schema.Union([Schema.Struct({ a: Schema.String }), Schema.Struct({ b: Schema.String })]), "$"],
        [Schema.Struct({}), "$"]
      ]
      for (const [schema, path] of cases) {
        const error = yield* Effect.flip(OutputSchema.make(schema))
        assert.strictEqual(error._tag, "UnsupportedOutputSchema")
        assert.strictEqual(error.path, path)
        assert.isTrue(error.message.length > 0)
      }
      assert.throws(() => OutputSchema.makeUnsafe(Schema.String), /root must be an object/)
    }))
})

describe("OutputSchema.make: decode", () => {
  const Out = OutputSchema.makeUnsafe(Person)
  const full = {
    name: "Ada",
    age: 36,
    height: 1.7,
    nickname: null,
    email: "ada@example.com",
    manager: null,
    role: "admin",
    kind: "person",
    score: 9.5,
    address: { street: "Main", zip: null },
    previous: { street: "Old", zip: "123" },
    tags: ["a"],
    pets: [{ species: "cat", weight: 4.2 }]
  }

  it.effect("decodes an answer; null optional fields become absent (recursively), NullOr keeps null", () =>
    Effect.gen(function*() {
      const person = yield* Out.decode(JSON.stringify(full))
      assert.deepStrictEqual(person, {
        name: "Ada",
        age: 36,
        height: 1.7,
        email: "ada@example.com",
        manager: null,
        role: "admin",
        kind: "person",
        score: 9.5,
        address: { street: "Main" },
        previous: { street: "Old", zip: "123" },
        tags: ["a"],
        pets: [{ species: "cat", weight: 4.2 }]
      })
      assert.isFalse("nickname" in person)
      assert.isFalse("zip" in person.address)
      const noPrevious = yield* Out.decode(JSON.stringify({ ...full, previous: null, email: null }))
      assert.isFalse("previous" in noPrevious)
      assert.isFalse("email" in noPrevious)
    }))

  it.effect("decode failures keep the raw text", () =>
    Effect.gen(function*() {
      const notJson = yield* Effect.flip(Out.decode("Sure! Here is the JSON: {"))
      assert.strictEqual(notJson._tag, "OutputDecodeFailure")
      assert.strictEqual(notJson.text, "Sure! Here is the JSON: {")
      assert.match(notJson.message, /not valid JSON/)

      const wrongShape = JSON.stringify({ ...full, age: 36.5 })
      const shape = yield* Effect.flip(Out.decode(wrongShape))
      assert.strictEqual(shape.text, wrongShape)
      assert.match(shape.message, /age/)

      const missing = JSON.stringify({ ...full, name: undefined })
      assert.match((yield* Effect.flip(Out.decode(missing))).message, /name/)

      const badLiteral = JSON.stringify({ ...full, role: "root" })
      assert.match((yield* Effect.flip(Out.decode(badLiteral))).message, /role/)

      // the NaN/Infinity string encodings of Schema.Number are not accepted either
      const nan = JSON.stringify({ ...full, height: "NaN" })
      assert.match((yield* Effect.flip(Out.decode(nan))).message, /height/)
    }))
})

describe("OutputSchema.fromJsonSchema", () => {
  it.effect("sends the schema as-is and decodes with JSON.parse", () =>
    Effect.gen(function*() {
      const raw = { type: "object", properties: { x: { type: "string" } }, required: ["x"], additionalProperties: false }
      const out = OutputSchema.fromJsonSchema(raw)
      assert.strictEqual(out.jsonSchema, raw)
      assert.deepStrictEqual(yield* out.decode(`{"x":"y","extra":[1]}`), { x: "y", extra: [1] })
      const error = yield* Effect.flip(out.decode("nope"))
      assert.strictEqual(error._tag, "OutputDecodeFailure")
      assert.strictEqual(error.text, "nope")
    }))
})
