/**
 * The CodexError classes are built by `Lazy.errorClass` (src/schema/internal/lazySchemas.ts) so that defining
 * them loads nothing of effect/Schema: each must still be, as a value, what `Schema.Error(identifier)(fields)`
 * is — instances with the same own fields in the same order, the same `name`, `_tag` and `message`, and a
 * static side that works as a Schema whose decoder makes instances of the class itself.
 */
import { assert, describe, it } from "@effect/vitest"
import { Data, Effect, Exit, Schema } from "effect"
import * as CodexError from "../../src/schema/CodexError.ts"

// what SpawnError was before: effect's own Schema.Error with the same fields
class Reference extends Schema.Error<Reference>("effect-codex/CodexError/SpawnError")({
  _tag: Schema.tag("SpawnError"),
  command: Schema.String,
  description: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {
  readonly ["~effect-codex/CodexError/Reason"] = "~effect-codex/CodexError/Reason"
}

describe("CodexError classes with a schema built on first use", () => {
  it("an instance has the own fields, order, name and prototype chain of effect's Schema.Error", () => {
    const input = { description: "ENOENT", command: "codex" } // keys in another order than the fields
    const ours = new CodexError.SpawnError(input)
    const theirs = new Reference(input)
    assert.deepStrictEqual(Object.keys(ours), Object.keys(theirs))
    assert.deepStrictEqual({ ...ours }, { ...theirs })
    assert.strictEqual(ours.name, theirs.name)
    assert.strictEqual(ours._tag, "SpawnError")
    assert.strictEqual(ours.message, "Cannot start codex: ENOENT")
    assert.instanceOf(ours, Error)
    assert.instanceOf(ours, Data.Error)
    assert.instanceOf(theirs, Data.Error)
    assert.deepStrictEqual(ours.toJSON(), theirs.toJSON())
  })

  it("an optional field given as undefined stays an own key, an absent one stays absent", () => {
    const given = new CodexError.ProtocolError({ method: undefined, description: "d" })
    const absent = new CodexError.ProtocolError({ description: "d" })
    assert.isTrue(Object.hasOwn(given, "method"))
    assert.isFalse(Object.hasOwn(absent, "method"))
  })

  it("a reason made before any schema use encodes and decodes through the class schemas", () => {
    const error = CodexError.make(new CodexError.TurnFailed({
      threadId: "t",
      turnId: "u",
      message: "m",
      codexErrorInfo: { responseTooManyFailedAttempts: { httpStatusCode: 429 } }
    }))
    assert.isTrue(Schema.isSchema(CodexError.CodexError))
    assert.isTrue(Schema.isSchema(CodexError.TurnFailed))
    assert.isTrue(Schema.isSchema(CodexError.CodexErrorReason))
    assert.isTrue(Schema.is(CodexError.CodexError)(error))
    const encoded = Schema.encodeUnknownSync(CodexError.CodexError)(error)
    assert.deepStrictEqual(encoded, {
      _tag: "CodexError",
      reason: {
        _tag: "TurnFailed",
        threadId: "t",
        turnId: "u",
        message: "m",
        codexErrorInfo: { responseTooManyFailedAttempts: { httpStatusCode: 429 } }
      }
    })
    const decoded = Schema.decodeUnknownSync(CodexError.CodexError)(encoded)
    assert.instanceOf(decoded, CodexError.CodexError)
    assert.instanceOf(decoded.reason, CodexError.TurnFailed)
    assert.strictEqual(decoded.message, "m")
    assert.isTrue(CodexError.isRetryable(decoded))
    const closed = Schema.decodeUnknownSync(CodexError.CodexErrorReason)({ _tag: "Closed" })
    assert.instanceOf(closed, CodexError.Closed)
    assert.strictEqual(closed.message, "The codex connection is closed")
  })

  it("static make validates its input and returns an instance of the class", () => {
    const timeout = CodexError.Timeout.make({ method: "thread/list" })
    assert.instanceOf(timeout, CodexError.Timeout)
    assert.strictEqual(timeout.message, "thread/list: no answer in time")
    assert.throws(() => CodexError.Timeout.make({ method: 1 as never }))
  })

  it("the union stand-in pipes and annotates like the union it stands for", () => {
    const annotated = CodexError.CodexErrorReason.pipe(Schema.annotate({ description: "why" }))
    assert.strictEqual(annotated.ast.annotations?.description, "why")
    assert.strictEqual(CodexError.CodexErrorReason.members.length, 11)
  })

  it.effect("yield* of a CodexError fails the effect with it, and catchReason finds its reason", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(Effect.gen(function*() {
        return yield* CodexError.make(new CodexError.Overloaded({ method: "model/list" }))
      }))
      assert.isTrue(Exit.isFailure(exit))
      const method = yield* Effect.fail(CodexError.make(new CodexError.Overloaded({ method: "model/list" }))).pipe(
        Effect.catchReason("CodexError", "Overloaded", (reason) => Effect.succeed(reason.method))
      )
      assert.strictEqual(method, "model/list")
    }))
})
