/**
 * The hand-checked hot notifications of src/schema/Incoming.ts decode as their generated schemas
 * do: the same outcome, the params used as they came (no copy) when the schema accepts them, and
 * kept raw when it rejects them.
 */
import { assert, describe, it } from "@effect/vitest"
import { Exit, Schema } from "effect"
import { ServerNotificationParams } from "../../src/schema/generated/Methods.gen.ts"
import * as Incoming from "../../src/schema/Incoming.ts"

const HOT = [
  "item/agentMessage/delta",
  "item/commandExecution/outputDelta",
  "item/fileChange/outputDelta",
  "item/plan/delta",
  "item/reasoning/summaryTextDelta",
  "item/reasoning/textDelta"
] as const

const base = { threadId: "th", turnId: "tu", itemId: "it", delta: "text", summaryIndex: 0, contentIndex: 2 }

const variants: ReadonlyArray<unknown> = [
  base,
  { ...base, extra: { nested: true } },
  { delta: "", itemId: "", threadId: "", turnId: "", summaryIndex: 3, contentIndex: 0 },
  { ...base, delta: 1 },
  { ...base, itemId: null },
  { ...base, threadId: undefined },
  { turnId: "tu", itemId: "it", delta: "text", summaryIndex: 0, contentIndex: 0 },
  { ...base, summaryIndex: 1.5 },
  { ...base, contentIndex: "2" },
  { ...base, summaryIndex: Number.MAX_SAFE_INTEGER + 1 },
  { ...base, contentIndex: -1 },
  { ...base, summaryIndex: Number.NaN },
  [base],
  null,
  "delta",
  42,
  undefined
]

describe("Incoming.decodeNotification (hot deltas)", () => {
  for (const method of HOT) {
    it(`${method}: the same outcome as the generated schema`, () => {
      const decode = Schema.decodeUnknownExit(ServerNotificationParams[method] as Schema.Decoder<unknown>)
      for (const params of variants) {
        const expected = decode(params)
        const actual = Incoming.decodeNotification(method, params)
        if (Exit.isSuccess(expected)) {
          assert.strictEqual(actual._tag, "Notification", JSON.stringify(params))
          // used as it came (no copy): what decoding keeps, equal; a field it drops, still there
          assert.strictEqual(actual.params, params)
          for (const [key, value] of Object.entries(expected.value as object)) {
            assert.deepStrictEqual((params as Record<string, unknown>)[key], value)
          }
        } else {
          assert.strictEqual(actual._tag, "UnknownNotification", JSON.stringify(params))
          assert.strictEqual(actual.params, params)
        }
      }
    })
  }
})
