import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as CodexError from "../../src/schema/CodexError.ts"

const turnFailed = (codexErrorInfo: CodexError.TurnFailed["codexErrorInfo"]) =>
  CodexError.make(new CodexError.TurnFailed({ threadId: "t", turnId: "u", message: "m", codexErrorInfo }))

describe("CodexError", () => {
  it.effect("catchReason picks one reason out of the one error", () =>
    Effect.gen(function*() {
      const recovered = yield* Effect.fail(turnFailed("usageLimitExceeded")).pipe(
        Effect.catchReason("CodexError", "TurnFailed", (reason) => Effect.succeed(reason.codexErrorInfo))
      )
      assert.strictEqual(recovered, "usageLimitExceeded")
      const other = yield* Effect.fail(CodexError.make(new CodexError.Timeout({ method: "thread/list" }))).pipe(
        Effect.catchReason("CodexError", "TurnFailed", () => Effect.succeed("no"), (reason) => Effect.succeed(reason._tag))
      )
      assert.strictEqual(other, "Timeout")
    }))

  it("isRetryable: transient model and server failures only", () => {
    for (
      const info of [
        "serverOverloaded",
        "internalServerError",
        { responseTooManyFailedAttempts: { httpStatusCode: 429 } },
        { responseStreamDisconnected: { httpStatusCode: null } },
        { httpConnectionFailed: { httpStatusCode: 503 } }
      ] as const
    ) {
      assert.isTrue(CodexError.isRetryable(turnFailed(info)), JSON.stringify(info))
    }
    for (
      const info of [
        "usageLimitExceeded",
        "contextWindowExceeded",
        "unauthorized",
        "badRequest",
        "other",
        { httpConnectionFailed: { httpStatusCode: 401 } },
        undefined
      ] as const
    ) {
      assert.isFalse(CodexError.isRetryable(turnFailed(info)), JSON.stringify(info))
    }
    assert.isTrue(CodexError.isRetryable(CodexError.make(new CodexError.Overloaded({ method: "m" }))))
    assert.isFalse(
      CodexError.isRetryable(
        CodexError.make(new CodexError.ProcessExited({ exitCode: 1, signal: undefined, stderrTail: [] }))
      )
    )
  })

  it("messages say what happened", () => {
    const exited = CodexError.make(
      new CodexError.ProcessExited({ exitCode: undefined, signal: "SIGKILL", stderrTail: ["a", "boom"] })
    )
    assert.match(exited.message, /exited on signal SIGKILL; stderr: a \| boom/)
    assert.isTrue(CodexError.isCodexError(exited))
    assert.isTrue(CodexError.isTerminal(exited))
    assert.strictEqual(turnFailed("other").message, "m")
  })
})
