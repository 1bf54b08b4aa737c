/**
 * The protocol schemas are built on first use (src/schema/generated/ProtocolLazy.gen.ts, src/schema/internal/lazy.ts)
 * so that importing the SDK builds none of them; the eager exports of `effect-codex/schema` and the method maps must
 * still be the very same schema objects.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Schema from "effect/Schema"
import * as Methods from "../../src/schema/generated/Methods.gen.ts"
import * as Protocol from "../../src/schema/generated/Protocol.gen.ts"
import * as Lazy from "../../src/schema/generated/ProtocolLazy.gen.ts"
import { lazy, lazyRecord } from "../../src/schema/internal/lazy.ts"

describe("lazy protocol schemas", () => {
  it("every thunk returns the eager export of the same name, every time", () => {
    const names = Object.keys(Lazy)
    assert.deepStrictEqual(names.slice().sort(), Object.keys(Protocol).sort())
    assert.isAbove(names.length, 900)
    for (const name of names) {
      const thunk = (Lazy as Record<string, () => unknown>)[name]!
      assert.strictEqual(thunk(), (Protocol as Record<string, unknown>)[name], name)
      assert.strictEqual(thunk(), thunk(), name)
    }
  })

  it("method maps hand out the protocol's own schemas, the same object on every read", () => {
    assert.strictEqual(Methods.ClientRequestParams["thread/start"], Protocol.ThreadStartParams)
    assert.strictEqual(Methods.ClientRequestResponses["model/list"], Protocol.ModelListResponse)
    assert.strictEqual(Methods.ServerNotificationParams["item/agentMessage/delta"], Protocol.AgentMessageDeltaNotification)
    const optional = Methods.ClientRequestParams["account/rateLimits/read"]
    assert.strictEqual(Methods.ClientRequestParams["account/rateLimits/read"], optional)
    assert.isTrue(Schema.is(optional)(null))
    assert.isTrue(Object.hasOwn(Methods.ServerRequestParams, "item/commandExecution/requestApproval"))
    assert.isFalse(Object.hasOwn(Methods.ServerRequestParams, "no/such/method"))
  })

  it("lazyRecord lists every key before building any, and builds each once, on first read", () => {
    const built: Array<string> = []
    const record = lazyRecord<{ readonly a: { readonly n: number }; readonly b: { readonly n: number } }>({
      a: () => (built.push("a"), { n: 1 }),
      b: () => (built.push("b"), { n: 2 })
    })
    assert.deepStrictEqual(Object.keys(record), ["a", "b"])
    assert.isTrue(Object.hasOwn(record, "b") && "a" in record)
    assert.deepStrictEqual(built, [])
    const first = record.a
    assert.strictEqual(record.a, first)
    assert.deepStrictEqual(built, ["a"])
    assert.deepStrictEqual({ ...record }, { a: { n: 1 }, b: { n: 2 } })
    assert.deepStrictEqual(built, ["a", "b"])
  })

  it("lazy calls its builder once, even when the value is undefined", () => {
    let calls = 0
    const thunk = lazy(() => {
      calls++
      return undefined
    })
    assert.strictEqual(thunk(), undefined)
    assert.strictEqual(thunk(), undefined)
    assert.strictEqual(calls, 1)
  })
})
