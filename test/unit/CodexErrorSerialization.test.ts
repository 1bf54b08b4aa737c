import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Layer, Schema } from "effect"
import { RpcSerialization } from "effect/rpc"
import * as CodexError from "../../src/schema/CodexError.ts"

// One value of every reason, and of every shape `TurnFailed.codexErrorInfo` takes (a known literal, an
// unknown string, each object variant, an unknown object), so a reason whose schema the cluster's
// serializations cannot carry fails here rather than in a runner.
const reasons: ReadonlyArray<CodexError.CodexErrorReason> = [
  new CodexError.SpawnError({ command: "/bin/codex", description: "ENOENT" }),
  new CodexError.SpawnError({ command: "/bin/codex", description: "EACCES", cause: new Error("denied") }),
  new CodexError.ProcessExited({ exitCode: 1, signal: undefined, stderrTail: ["a", "b"] }),
  new CodexError.ProcessExited({ exitCode: undefined, signal: "SIGKILL", stderrTail: [] }),
  new CodexError.TransportError({ description: "broken pipe" }),
  new CodexError.ProtocolError({ method: "turn/start", description: "missing field" }),
  new CodexError.ProtocolError({ description: "no method" }),
  new CodexError.RpcError({ method: "thread/resume", code: -32600, message: "already has an active writer" }),
  new CodexError.RpcError({ method: "m", code: -32603, message: "x", data: { nested: [1, "two", null] } }),
  new CodexError.Overloaded({ method: "turn/start" }),
  new CodexError.Timeout({ method: "thread/list" }),
  new CodexError.TurnFailed({ threadId: "t", turnId: "u", message: "m" }),
  new CodexError.TurnFailed({ threadId: "t", turnId: "u", message: "m", codexErrorInfo: "usageLimitExceeded" }),
  new CodexError.TurnFailed({ threadId: "t", turnId: "u", message: "m", codexErrorInfo: "somethingNew" }),
  new CodexError.TurnFailed({
    threadId: "t",
    turnId: "u",
    message: "m",
    codexErrorInfo: { responseTooManyFailedAttempts: { httpStatusCode: 429 } },
    additionalDetails: "retried 5 times"
  }),
  new CodexError.TurnFailed({
    threadId: "t",
    turnId: "u",
    message: "m",
    codexErrorInfo: { httpConnectionFailed: { httpStatusCode: null } },
    additionalDetails: null
  }),
  new CodexError.TurnFailed({ threadId: "t", turnId: "u", message: "m", codexErrorInfo: { responseStreamDisconnected: {} } }),
  new CodexError.TurnFailed({ threadId: "t", turnId: "u", message: "m", codexErrorInfo: { activeTurnNotSteerable: { turnKind: "review" } } }),
  new CodexError.TurnFailed({ threadId: "t", turnId: "u", message: "m", codexErrorInfo: { futureVariant: { a: [1, true] } } }),
  new CodexError.OutputDecodeError({ text: "{\"a\":", description: "unexpected end" }),
  new CodexError.InvalidOptions({ description: "bad" }),
  new CodexError.Closed({})
]

const tags = new Set(reasons.map((reason) => reason._tag))

// What a decoded value must keep: the tag, every field but `cause` (a defect travels as its name and
// message, not as the same object), and the message the user sees.
const comparable = (error: CodexError.CodexError) => {
  const { cause, ...fields } = error.reason as unknown as Record<string, unknown>
  return { fields, message: error.message, cause: cause instanceof Error ? cause.message : cause }
}

const serializations = [
  ["binary", RpcSerialization.layerSchemaBinary()],
  ["ndjson", RpcSerialization.layerNdjson]
] as const

describe("CodexError serialization", () => {
  it("the list covers every reason", () => {
    assert.deepStrictEqual(
      [...tags].sort(),
      ["Closed", "InvalidOptions", "OutputDecodeError", "Overloaded", "ProcessExited", "ProtocolError", "RpcError", "SpawnError", "Timeout", "TransportError", "TurnFailed"]
    )
  })

  for (const [name, layer] of serializations) {
    it.effect(`every reason round-trips through the cluster's ${name} serialization (bare and in an Exit)`, () =>
      Effect.gen(function*() {
        const serialization = yield* RpcSerialization.RpcSerialization
        // The same codecs an RPC client and server derive for a reply: the error alone and the Exit.
        const errorCodec = serialization.codecFor(CodexError.CodexError)
        const exitCodec = serialization.codecFor(Schema.Exit(Schema.String, CodexError.CodexError, Schema.Defect()))
        // ndjson writes the encoded value with JSON.stringify; bytes travel as they are.
        const wire = (encoded: unknown) => name === "ndjson" ? JSON.parse(JSON.stringify(encoded)) : encoded
        for (const reason of reasons) {
          const error = CodexError.make(reason)
          const bare = yield* Schema.decodeUnknownEffect(errorCodec)(wire(yield* Schema.encodeEffect(errorCodec)(error)))
          assert.isTrue(CodexError.isCodexError(bare), reason._tag)
          assert.deepStrictEqual(comparable(bare), comparable(error), reason._tag)

          const exit = yield* Schema.decodeUnknownEffect(exitCodec)(
            wire(yield* Schema.encodeEffect(exitCodec)(Exit.fail(error)))
          )
          assert.isTrue(Exit.isFailure(exit), reason._tag)
          const failed = Exit.findErrorOption(exit)
          assert.isTrue(failed._tag === "Some" && CodexError.isCodexError(failed.value), reason._tag)
          if (failed._tag === "Some") assert.deepStrictEqual(comparable(failed.value), comparable(error), reason._tag)
        }
      }).pipe(Effect.provide(layer as Layer.Layer<RpcSerialization.RpcSerialization>)))
  }

  it("isRetryable still reads codexErrorInfo after a round trip", () => {
    const codec = Schema.toCodecJson(CodexError.CodexError)
    const error = CodexError.make(
      new CodexError.TurnFailed({ threadId: "t", turnId: "u", message: "m", codexErrorInfo: { responseStreamDisconnected: { httpStatusCode: 502 } } })
    )
    const back = Schema.decodeUnknownSync(codec)(JSON.parse(JSON.stringify(Schema.encodeSync(codec)(error))))
    assert.isTrue(CodexError.isRetryable(back))
  })
})
