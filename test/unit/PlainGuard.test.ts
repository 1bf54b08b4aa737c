/**
 * The copy-free validation of src/schema/internal/plain.ts against Schema's decoding, on every
 * message of the recorded sessions (test/fixtures/transcripts) and on mutations of them: the guard
 * says `true` only when decoding succeeds with the input's own value (sound), and says `true` for
 * the recorded messages (so the fast path is the one taken).
 */
import { assert, describe, it } from "@effect/vitest"
import { Exit, Schema } from "effect"
import * as fs from "node:fs"
import {
  ClientRequestParams,
  ClientRequestResponses,
  ServerNotificationParams,
  ServerRequestParams
} from "../../src/schema/generated/Methods.gen.ts"
import { guardOf, strictGuardOf } from "../../src/schema/internal/plain.ts"

const dir = new URL("../fixtures/transcripts/", import.meta.url)

interface Sample {
  readonly label: string
  readonly schema: Schema.Top
  readonly value: unknown
}

const own = (map: object, key: string): Schema.Top | undefined =>
  Object.hasOwn(map, key) ? (map as Record<string, Schema.Top>)[key] : undefined

const samples = (side: "s2c" | "c2s" = "s2c"): ReadonlyArray<Sample> => {
  const out: Array<Sample> = []
  for (const file of fs.readdirSync(dir).filter((name) => name.endsWith(".jsonl"))) {
    const methods = new Map<string, string>()
    for (const text of fs.readFileSync(new URL(file, dir), "utf8").split("\n")) {
      if (text.trim() === "") continue
      const line = JSON.parse(text) as { dir: string; proc?: string; msg: any }
      const msg = line.msg
      if (typeof msg !== "object" || msg === null) continue
      const key = `${line.proc ?? ""}:${msg.id}`
      if (line.dir === "c2s" && msg.method !== undefined && msg.id !== undefined) methods.set(key, msg.method)
      if (side === "c2s") {
        const schema = line.dir === "c2s" && msg.id !== undefined ? own(ClientRequestParams, msg.method ?? "") : undefined
        if (schema !== undefined && msg.params !== undefined) out.push({ label: `${file} ${msg.method}`, schema, value: msg.params })
        continue
      }
      if (line.dir !== "s2c") continue
      const schema = msg.method === undefined
        ? own(ClientRequestResponses, methods.get(key) ?? "")
        : own(msg.id === undefined ? ServerNotificationParams : ServerRequestParams, msg.method)
      const value = msg.method === undefined ? msg.result : msg.params
      if (schema !== undefined && value !== undefined) {
        out.push({ label: `${file} ${msg.method ?? methods.get(key)}`, schema, value })
      }
    }
  }
  return out
}

/** Every value reachable in `value`, with a way to replace it (in a deep copy). */
const mutations = (value: unknown): Array<unknown> => {
  const out: Array<unknown> = []
  const replacements: ReadonlyArray<unknown> = [null, 1.5, "x", true, [], {}, -1]
  const walk = (node: unknown, path: ReadonlyArray<string | number>) => {
    for (const replacement of replacements) out.push(setAt(value, path, replacement))
    if (typeof node === "object" && node !== null) {
      if (!Array.isArray(node)) out.push(setAt(value, [...path, "undeclaredField"], 1))
      for (const key of Object.keys(node)) {
        const next = [...path, Array.isArray(node) ? Number(key) : key]
        if (!Array.isArray(node)) out.push(deleteAt(value, next))
        walk((node as Record<string, unknown>)[key], next)
      }
    }
  }
  walk(value, [])
  // a big answer (model/list) has thousands: an even spread of 200 is enough
  const stride = Math.ceil(out.length / 200)
  return stride <= 1 ? out : out.filter((_, i) => i % stride === 0)
}

const copy = (value: unknown): any => value === undefined ? undefined : JSON.parse(JSON.stringify(value))

const setAt = (root: unknown, path: ReadonlyArray<string | number>, replacement: unknown): unknown => {
  if (path.length === 0) return replacement
  const out = copy(root)
  let node = out
  for (const key of path.slice(0, -1)) node = node[key]
  node[path[path.length - 1]!] = replacement
  return out
}

const deleteAt = (root: unknown, path: ReadonlyArray<string | number>): unknown => {
  const out = copy(root)
  let node = out
  for (const key of path.slice(0, -1)) node = node[key]
  delete node[path[path.length - 1]!]
  return out
}

/** Decoding drops undeclared fields; the guard keeps the input: equal on what decoding kept. */
const keeps = (decoded: unknown, input: unknown): boolean => {
  if (typeof decoded !== "object" || decoded === null) return Object.is(decoded, input)
  if (typeof input !== "object" || input === null || Array.isArray(decoded) !== Array.isArray(input)) return false
  if (Array.isArray(decoded)) {
    return decoded.length === (input as Array<unknown>).length &&
      decoded.every((item, i) => keeps(item, (input as Array<unknown>)[i]))
  }
  return Object.keys(decoded).every((key) =>
    keeps((decoded as Record<string, unknown>)[key], (input as Record<string, unknown>)[key])
  )
}

describe("plain guard (validation without copying)", () => {
  const all = samples()

  it("the recorded sessions have messages of many methods", () => {
    assert.isAbove(new Set(all.map((sample) => sample.label.split(" ")[1])).size, 20)
  })

  it("every recorded message the schema decodes passes the guard, and decodes to itself", () => {
    for (const { label, schema, value } of all) {
      const decoded = Schema.decodeUnknownExit(schema as Schema.Decoder<unknown>)(value)
      if (Exit.isFailure(decoded)) continue
      assert.isTrue(guardOf(schema)(value), label)
      assert.isTrue(keeps(decoded.value, value), label)
    }
  })

  it("sound on mutations: true only where decoding succeeds with the input's own value", () => {
    let checked = 0
    let rejected = 0
    for (const { label, schema, value } of all) {
      const decode = Schema.decodeUnknownExit(schema as Schema.Decoder<unknown>)
      const guard = guardOf(schema)
      for (const mutated of mutations(value)) {
        const passes = guard(mutated)
        const decoded = decode(mutated)
        checked++
        if (!passes) {
          rejected++
          continue
        }
        assert.isTrue(Exit.isSuccess(decoded), `${label}: ${JSON.stringify(mutated).slice(0, 300)}`)
        if (Exit.isSuccess(decoded)) assert.isTrue(keeps(decoded.value, mutated), label)
      }
    }
    assert.isAbove(checked, 1000)
    assert.isAbove(rejected, 100)
  })

  it("strict (for params): true only where encoding yields exactly the input; true for the recorded params", () => {
    const sent = samples("c2s")
    assert.isAbove(sent.length, 20)
    let passed = 0
    for (const { label, schema, value } of sent) {
      const encode = Schema.encodeUnknownExit(schema as Schema.Codec<unknown, unknown>)
      const guard = strictGuardOf(schema)
      const recorded = encode(value)
      if (Exit.isSuccess(recorded) && keeps(recorded.value, value) && keeps(value, recorded.value)) {
        assert.isTrue(guard(value), label)
      }
      for (const mutated of [value, ...mutations(value)]) {
        if (!guard(mutated)) continue
        passed++
        const encoded = encode(mutated)
        assert.isTrue(Exit.isSuccess(encoded), `${label}: ${JSON.stringify(mutated).slice(0, 300)}`)
        if (Exit.isSuccess(encoded)) assert.deepStrictEqual(encoded.value, mutated, label)
      }
    }
    assert.isAbove(passed, 20)
  })
})
