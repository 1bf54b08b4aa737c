/**
 * `effect-codex/workflow` on `CodexTest` (no process) with the in-memory
 * workflow engine: a replay returns the stored thread and turn, retries
 * follow `CodexError.isRetryable`, what a turn stores is serializable.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Layer, Schedule, Schema } from "effect"
import { DurableClock, Workflow } from "effect/workflow"
import * as CodexTest from "../../src/layers/testing/CodexTest.ts"
import * as CodexError from "../../src/schema/CodexError.ts"
import * as Codex from "../../src/services/Codex.ts"
import * as CodexWorkflow from "../../src/services/CodexWorkflow.ts"

const Verdict = Schema.Struct({ approve: Schema.Boolean, reason: Schema.String })

const Review = Workflow.make("Review", {
  payload: { pr: Schema.Number },
  success: Schema.Struct({ first: CodexWorkflow.TurnRecordWithOutput(Verdict), second: CodexWorkflow.TurnRecord }),
  error: CodexError.CodexError,
  idempotencyKey: ({ pr }) => `pr-${pr}`
})

/** How often the body ran (a replay runs it again from the top). */
let bodyRuns = 0

const ReviewLive = Review.toLayer(({ pr }) =>
  Effect.gen(function*() {
    bodyRuns++
    const thread = yield* CodexWorkflow.thread("reviewer", { sandbox: "read-only" })
    const first = yield* CodexWorkflow.turn(thread, "review", `Review PR #${pr}`, { outputSchema: Verdict })
    // A durable sleep suspends the workflow: it resumes by running the body again.
    yield* DurableClock.sleep({ name: "pause", duration: "20 millis", inMemoryThreshold: 0 })
    const second = yield* CodexWorkflow.turn(thread, "summary", "Summarise it")
    return { first, second }
  })
)

const Once = Workflow.make("Once", {
  payload: { retry: Schema.Boolean },
  success: CodexWorkflow.TurnRecord,
  error: CodexError.CodexError,
  idempotencyKey: ({ retry }) => `once-${retry}`
})

const OnceLive = Once.toLayer(({ retry }) =>
  Effect.gen(function*() {
    const thread = yield* CodexWorkflow.thread("t")
    return yield* CodexWorkflow.turn(thread, "ask", "Say ok", retry ? { retry: Schedule.recurs(3) } : {})
  })
)

const Nightly = Workflow.make("Nightly", {
  payload: { night: Schema.Number },
  success: CodexWorkflow.TurnRecord,
  error: CodexError.CodexError,
  idempotencyKey: ({ night }) => `night-${night}`
})

const NightlyLive = Nightly.toLayer(({ night }) =>
  Effect.gen(function*() {
    const thread = yield* CodexWorkflow.thread("nightly")
    return yield* CodexWorkflow.turn(thread, "check", `Check night ${night}`)
  })
)

const provide = (script: ReadonlyArray<CodexTest.Step>) => <A, E, R>(self: Effect.Effect<A, E, R>) =>
  self.pipe(
    Effect.provide(Layer.mergeAll(ReviewLive, OnceLive, NightlyLive).pipe(Layer.provideMerge(CodexWorkflow.layerMemory))),
    Effect.provide(Codex.layer),
    Effect.provide(CodexTest.layer(script))
  )

const methods = Effect.map(CodexTest.requests, (requests) =>
  requests.flatMap((message) => "method" in message && "id" in message ? [message.method] : []))

describe("CodexWorkflow (CodexTest, in-memory engine)", () => {
  it.live("a replay returns the stored thread and turn results: one thread/start, one turn/start per turn", () =>
    Effect.gen(function*() {
      bodyRuns = 0
      const result = yield* Review.execute({ pr: 7 })
      assert.isAtLeast(bodyRuns, 2, "the durable sleep made the body run again")
      assert.deepStrictEqual(result.first.output, { approve: true, reason: "small and tested" })
      assert.strictEqual(result.first.recovery, "ran")
      assert.strictEqual(result.second.finalResponse, "It adds a flag.")
      assert.strictEqual(result.first.threadId, result.second.threadId)
      const sent = yield* methods
      assert.strictEqual(sent.filter((m) => m === "thread/start").length, 1)
      assert.strictEqual(sent.filter((m) => m === "turn/start").length, 2)
      assert.notInclude(sent, "thread/resume") // same process: the handle is reused
      // Each turn carries its own stable client message id.
      const starts = (yield* CodexTest.requestsOf("turn/start")) as ReadonlyArray<{ clientUserMessageId?: string }>
      assert.match(starts[0]!.clientUserMessageId ?? "", /\/review$/)
      assert.match(starts[1]!.clientUserMessageId ?? "", /\/summary$/)
      // Executing the same workflow again returns the stored result; nothing is sent.
      const again = yield* Review.execute({ pr: 7 })
      assert.deepStrictEqual(again, result)
      assert.strictEqual((yield* methods).length, sent.length)
    }).pipe(provide([
      CodexTest.reply(JSON.stringify({ approve: true, reason: "small and tested" })),
      CodexTest.reply("It adds a flag.")
    ])))

  it.live("a long-lived process forgets the thread handles of executions that ended (and keeps a suspended one's)", () =>
    Effect.gen(function*() {
      const codex = yield* Codex.Codex
      for (let night = 1; night <= 5; night++) {
        assert.strictEqual((yield* Nightly.execute({ night })).finalResponse, `ok ${night}`)
      }
      assert.strictEqual(CodexWorkflow.keptHandles(codex), 0)
      // suspended (the durable sleep) with its handle kept, then ended
      bodyRuns = 0
      yield* Review.execute({ pr: 8 })
      assert.notInclude(yield* methods, "thread/resume")
      assert.strictEqual(CodexWorkflow.keptHandles(codex), 0)
    }).pipe(provide([
      ...[1, 2, 3, 4, 5].map((night) => CodexTest.reply(`ok ${night}`)),
      CodexTest.reply(JSON.stringify({ approve: true, reason: "fine" })),
      CodexTest.reply("summary")
    ])))

  it.live("retry: a retryable failure (serverOverloaded) runs the turn again on the same thread", () =>
    Effect.gen(function*() {
      const record = yield* Once.execute({ retry: true })
      assert.strictEqual(record.finalResponse, "ok")
      assert.strictEqual(record.status, "completed")
      const sent = yield* methods
      assert.strictEqual(sent.filter((m) => m === "turn/start").length, 2)
      assert.strictEqual(sent.filter((m) => m === "thread/start").length, 1)
    }).pipe(provide([CodexTest.fail("busy", "serverOverloaded"), CodexTest.reply("ok")])))

  it.live("retry: a non-retryable failure (usageLimitExceeded) fails the workflow at once", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(Once.execute({ retry: true }))
      assert.isTrue(Exit.isFailure(exit))
      const error = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail")?.error : undefined
      assert.isTrue(CodexError.isCodexError(error), String(error))
      assert.strictEqual((error as CodexError.CodexError).reason._tag, "TurnFailed")
      const sent = yield* methods
      assert.strictEqual(sent.filter((m) => m === "turn/start").length, 1)
      assert.strictEqual(yield* CodexTest.remaining, 1) // the reply was never asked for
    }).pipe(provide([CodexTest.fail("out of quota", "usageLimitExceeded"), CodexTest.reply("ok")])))

  it.live("without retry, a retryable failure fails too (retries are opt-in)", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(Once.execute({ retry: false }))
      assert.isTrue(Exit.isFailure(exit))
      assert.strictEqual((yield* methods).filter((m) => m === "turn/start").length, 1)
    }).pipe(provide([CodexTest.fail("busy", "serverOverloaded"), CodexTest.reply("ok")])))

  it.effect("a TurnRecord (with output and usage) survives JSON, as stored by a SQL engine", () =>
    Effect.gen(function*() {
      const schema = Schema.toCodecJson(CodexWorkflow.TurnRecordWithOutput(Verdict))
      const record = {
        threadId: "t",
        turnId: "u",
        status: "completed" as const,
        finalResponse: "{}",
        durationMs: 12,
        usage: {
          last: { cachedInputTokens: 1, inputTokens: 2, outputTokens: 3, reasoningOutputTokens: 0, totalTokens: 5 },
          total: { cachedInputTokens: 1, inputTokens: 2, outputTokens: 3, reasoningOutputTokens: 0, totalTokens: 5 },
          modelContextWindow: null
        },
        recovery: "ran" as const,
        output: { approve: false, reason: "no tests" }
      }
      const json = JSON.parse(JSON.stringify(yield* Schema.encodeEffect(schema)(record)))
      assert.deepStrictEqual(yield* Schema.decodeUnknownEffect(schema)(json), record)
    }))
})
