import { assert, describe, it } from "@effect/vitest"
import * as JsonRpc from "../../src/schema/JsonRpc.ts"

describe("JsonRpc envelope", () => {
  it("classifies by keys: a request with an id is never read as a notification", () => {
    assert.deepStrictEqual(JsonRpc.parse(`{"id":0,"method":"item/commandExecution/requestApproval","params":{"a":1}}`), {
      _tag: "Request",
      id: 0,
      method: "item/commandExecution/requestApproval",
      params: { a: 1 }
    })
    assert.deepStrictEqual(JsonRpc.parse(`{"method":"turn/started","params":{"x":1},"emittedAtMs":5}`), {
      _tag: "Notification",
      method: "turn/started",
      params: { x: 1 }
    })
    assert.deepStrictEqual(JsonRpc.parse(`{"id":3,"result":{}}`), { _tag: "Response", id: 3, result: {} })
    assert.deepStrictEqual(JsonRpc.parse(`{"id":3,"result":null}`), { _tag: "Response", id: 3, result: null })
    assert.deepStrictEqual(JsonRpc.parse(`{"id":4,"error":{"code":-32001,"message":"Server overloaded; retry later."}}`), {
      _tag: "ErrorResponse",
      id: 4,
      error: { code: -32001, message: "Server overloaded; retry later." }
    })
    assert.deepStrictEqual(JsonRpc.parse(`{"id":null,"error":{"code":-32600,"message":"x","data":{"k":1}}}`), {
      _tag: "ErrorResponse",
      id: null,
      error: { code: -32600, message: "x", data: { k: 1 } }
    })
  })

  it("never throws on bad input", () => {
    for (const line of ["", "   ", "{", "[1,2]", "null", "42", `"x"`, `{"id":1}`, `{"id":{},"method":"m"}`, `{"id":1,"error":"bad"}`]) {
      assert.strictEqual(JsonRpc.parse(line)._tag, "Invalid", line)
    }
  })

  it("blank lines are empty lines; an object with whitespace around it is still a message (only lines not opening an object are trimmed)", () => {
    for (const line of ["", "   ", "\t\r"]) assert.deepStrictEqual(JsonRpc.parse(line), { _tag: "Invalid", reason: "empty line" })
    assert.deepStrictEqual(JsonRpc.parse(` \t{"id":3,"result":1} `), { _tag: "Response", id: 3, result: 1 })
    assert.deepStrictEqual(JsonRpc.parse(`{"id":3,"result":1}   `), { _tag: "Response", id: 3, result: 1 })
    assert.deepStrictEqual(JsonRpc.parse(`{ `), { _tag: "Invalid", reason: "invalid JSON" })
  })

  it("encodes requests, notifications and answers without jsonrpc noise", () => {
    assert.strictEqual(JsonRpc.encodeRequest(1, "thread/start", { cwd: "/x" }), `{"id":1,"method":"thread/start","params":{"cwd":"/x"}}`)
    assert.strictEqual(JsonRpc.encodeRequest(2, "account/logout", undefined), `{"id":2,"method":"account/logout"}`)
    assert.strictEqual(JsonRpc.encodeNotification("initialized"), `{"method":"initialized"}`)
    assert.strictEqual(JsonRpc.encodeResponse(0, { decision: "decline" }), `{"id":0,"result":{"decision":"decline"}}`)
    assert.strictEqual(
      JsonRpc.encodeError(5, { code: -32601, message: "no" }),
      `{"id":5,"error":{"code":-32601,"message":"no"}}`
    )
  })

  it("previews long lines without copying them whole", () => {
    const preview = JsonRpc.preview("x".repeat(1_000_000))
    assert.isBelow(preview.length, 200)
    assert.match(preview, /1000000 chars/)
  })
})
