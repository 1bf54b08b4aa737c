/**
 * `CodexWorkflow.thread` across processes on PostgreSQL (real codex, in this
 * process: each "run" is its own app-server and workflow engine over one
 * database and one CODEX_HOME, built and closed in turn).
 */
import { NodeServices } from "@effect/platform-node"
import { PgClient } from "@effect/sql-pg"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Layer, Option, Redacted, Schedule, Schema } from "effect"
import { DurableDeferred, Workflow } from "effect/workflow"
import * as LocalModel from "../../src/layers/testing/LocalModel.ts"
import * as CodexError from "../../src/schema/CodexError.ts"
import * as Codex from "../../src/services/Codex.ts"
import * as CodexWorkflow from "../../src/services/CodexWorkflow.ts"
import * as Postgres from "../support/Postgres.ts"
import * as Real from "../support/Real.ts"

const Gate = DurableDeferred.make("gate")

const Gated = Workflow.make("Gated", {
  payload: { key: Schema.String },
  success: Schema.Struct({ threadId: Schema.String, record: CodexWorkflow.TurnRecord }),
  error: CodexError.CodexError,
  idempotencyKey: ({ key }) => key
})

const GatedLive = Gated.toLayer(() =>
  Effect.gen(function*() {
    const thread = yield* CodexWorkflow.thread("t")
    // Suspends until the gate is opened: the first run ends here, with the thread started and no turn on it.
    yield* DurableDeferred.await(Gate)
    const record = yield* CodexWorkflow.turn(thread, "ask", "What is 2 + 2?")
    return { threadId: thread.id, record }
  })
)

/** One run: an app-server on the LocalModel in context, a workflow engine on `url`. */
const run = (url: string) =>
  GatedLive.pipe(
    Layer.provideMerge(CodexWorkflow.layerSql()),
    Layer.provide(PgClient.layer({ url: Redacted.make(url) })),
    Layer.provideMerge(Codex.layer.pipe(Layer.provide(Real.appServer())))
  )

describe.skipIf(!Postgres.available)("CodexWorkflow.thread across processes (PostgreSQL, real codex)", () => {
  const database = Postgres.suite()

  it.live("a thread started by a run that ended before its first turn is resumed by the next run (codex writes no rollout until a turn or a name)", () =>
    Effect.gen(function*() {
      const url = yield* Effect.promise(() => database("thread before turn"))
      const payload = { key: "k1" }

      const started = yield* Effect.gen(function*() {
        const executionId = yield* Gated.execute(payload, { discard: true })
        // Suspended on the gate: the thread activity is stored.
        yield* Gated.poll(executionId).pipe(
          Effect.flatMap((result) =>
            Option.isSome(result) && result.value._tag === "Suspended" ? Effect.void : Effect.fail("not yet")
          ),
          Effect.retry(Schedule.spaced("50 millis")),
          Effect.timeout("30 seconds")
        )
        const loaded = yield* Codex.listLoadedThreads({})
        return { executionId, threads: loaded.data }
      }).pipe(Effect.provide(run(url)))
      assert.lengthOf(started.threads, 1, "run 1 started one thread")

      const result = yield* Effect.gen(function*() {
        const token = DurableDeferred.tokenFromExecutionId(Gate, { workflow: Gated, executionId: started.executionId })
        yield* DurableDeferred.done(Gate, { token, exit: Exit.void })
        return yield* Gated.execute(payload)
      }).pipe(Effect.provide(run(url)))

      assert.strictEqual(result.threadId, started.threads[0], "the same thread, resumed")
      assert.strictEqual(result.record.threadId, result.threadId)
      assert.strictEqual(result.record.finalResponse, "4")
      assert.strictEqual(result.record.recovery, "ran")
      const model = yield* LocalModel.LocalModel
      assert.lengthOf(yield* model.requests, 1)
    }).pipe(Effect.provide(LocalModel.layer([LocalModel.text("4")])), Effect.provide(NodeServices.layer)), 120_000)
})
