/**
 * Traces and metrics end to end: the real codex on a LocalModel, exported with effect's OTLP layers
 * (`Otlp.layerJson` over `FetchHttpClient`) to a small OTLP/HTTP receiver on 127.0.0.1, to which codex's
 * own `[otel]` trace exporter sends as well. One trace must hold the program's span, `Codex.startThread`,
 * `Thread.run`, the turn, the approval and the request spans, and `Thread.compact` with the compaction's
 * turn, with codex's spans under the SDK's.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Metric } from "effect"
import { FetchHttpClient } from "effect/http"
import { Otlp } from "effect/observability"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import * as LocalModel from "../../src/layers/testing/LocalModel.ts"
import * as Approvals from "../../src/services/Approvals.ts"
import * as Codex from "../../src/services/Codex.ts"
import * as OtlpReceiver from "../support/OtlpReceiver.ts"
import * as Real from "../support/Real.ts"

const SERVICE = "effect-codex-observability-test"

/** effect's OTLP exporters (traces, metrics, logs) as JSON over fetch. */
const exporters = (url: string) =>
  Otlp.layerJson({
    baseUrl: url,
    resource: { serviceName: SERVICE, serviceVersion: "0.0.0-test" },
    tracerExportInterval: "100 millis",
    metricsExportInterval: "200 millis"
  }).pipe(Layer.provide(FetchHttpClient.layer))

/** The real codex on a LocalModel, codex's own traces sent to the same receiver. */
const codex = (url: string, script: ReadonlyArray<LocalModel.Step>) =>
  Real.layer(script, {
    model: { ...Real.fast.model, approvalPolicy: "on-request" },
    appServer: {
      requestSpans: true,
      config: { otel: { trace_exporter: { "otlp-http": { endpoint: `${url}/v1/traces`, protocol: "json" } } } }
    },
    approvals: Approvals.layer({ commandExecution: () => Effect.succeed("accept" as const) })
  })

/** Polls until `check` holds (codex exports from its own batch processor, on its own time). */
const eventually = (check: () => boolean, timeoutMs: number) =>
  Effect.gen(function*() {
    const deadline = Date.now() + timeoutMs
    while (!check() && Date.now() < deadline) yield* Effect.sleep("50 millis")
    return check()
  })

describe("Observability (real binary + LocalModel, OTLP/HTTP receiver on 127.0.0.1)", () => {
  it.live("one trace: program > Codex.startThread, Thread.run > Turn > requests, Approval, Thread.compact; codex's spans under ours; metrics", () =>
    Effect.gen(function*() {
      const receiver = yield* OtlpReceiver.scoped
      const script = [
        LocalModel.shell("echo traced", { escalate: true, justification: "Print a word?" }),
        LocalModel.text("It printed traced.", { usage: { input: 1200, output: 30 } }),
        LocalModel.text("SUMMARY: printed a word", { usage: { input: 700, output: 25 } }),
        LocalModel.text("SUMMARY: nothing yet", { usage: { input: 300, output: 10 } }),
        LocalModel.text("hi", { usage: { input: 50, output: 5 } }),
        LocalModel.serverError()
      ]
      const program = Effect.gen(function*() {
        const cwd = yield* LocalModel.LocalModel.use((model) =>
          Effect.sync(() => {
            const dir = NodePath.join(model.codexHome, "ws")
            NodeFs.mkdirSync(dir, { recursive: true })
            return dir
          })
        )
        const thread = yield* Codex.startThread({ cwd })
        const result = yield* thread.run("Print a word")
        yield* thread.compact
        const read = yield* thread.read({ includeTurns: true })
        // a thread without turns: codex restates no totals before the compaction's own
        const empty = yield* Codex.startThread({ cwd })
        yield* empty.compact
        // a compaction that fails right after a turn: its span ends with the failure, without usage
        const other = yield* Codex.startThread({ cwd })
        const hi = yield* other.run("Say hi")
        const failure = yield* Effect.flip(other.compact)
        assert.strictEqual(failure.reason._tag, "TurnFailed")
        const span = yield* Effect.currentSpan
        return { thread, empty, other, hi, result, compactionTurn: read.thread.turns[1]!, traceId: span.traceId }
      }).pipe(Effect.withSpan("observability-program"))

      const { compactionTurn, empty, hi, other, result, thread, traceId } = yield* program.pipe(
        Effect.provide(codex(receiver.url, script)),
        Effect.provide(exporters(receiver.url)),
        // a registry of its own: the counts below are this test's
        Effect.provideService(Metric.MetricRegistry, new Map())
      )
      assert.strictEqual(result.status, "completed")
      assert.strictEqual(result.finalResponse, "It printed traced.")

      // Both layers are closed: effect flushed on close; codex flushed when it exited.
      const codexTurnStart = () =>
        receiver.spans().find((span) => span.service === "codex-app-server" && span.name === "turn/start")
      const arrived = yield* eventually(() => codexTurnStart() !== undefined, 15_000)

      const ours = receiver.spans().filter((span) => span.service === SERVICE)
      const one = (name: string, where: (span: OtlpReceiver.Span) => boolean = () => true) => {
        const found = ours.filter((span) => span.name === name && where(span))
        assert.lengthOf(found, 1, `one ${name} in ${ours.map((span) => span.name).join(", ")}`)
        return found[0]!
      }

      const root = one("observability-program")
      const run = one("Thread.run", (span) => span.attributes["codex.thread_id"] === thread.id)
      const startThread = one("Codex.startThread", (span) => span.startTimeUnixNano < run.startTimeUnixNano)
      const turn = one("Turn", (span) => span.attributes["codex.thread_id"] === thread.id)
      const approval = one("Approval")
      const compact = one("Thread.compact", (span) => span.attributes["codex.thread_id"] === thread.id)
      const compactEmpty = one("Thread.compact", (span) => span.attributes["codex.thread_id"] === empty.id)
      const compactFailed = one("Thread.compact", (span) => span.attributes["codex.thread_id"] === other.id)
      const threadStart = one(
        "AppServerClient.request",
        (span) => span.attributes["codex.method"] === "thread/start" && span.parentSpanId === startThread.spanId
      )
      const turnStart = one(
        "AppServerClient.request",
        (span) => span.attributes["codex.method"] === "turn/start" && span.parentSpanId === turn.spanId
      )
      const compactStart = one(
        "AppServerClient.request",
        (span) => span.attributes["codex.method"] === "thread/compact/start" && span.parentSpanId === compact.spanId
      )
      for (const span of [root, startThread, run, turn, approval, compact, threadStart, turnStart, compactStart]) {
        assert.strictEqual(span.traceId, traceId, `${span.name} in the program's trace`)
      }
      assert.isUndefined(root.parentSpanId)
      assert.strictEqual(startThread.parentSpanId, root.spanId)
      assert.strictEqual(run.parentSpanId, root.spanId)
      assert.strictEqual(threadStart.parentSpanId, startThread.spanId)
      assert.strictEqual(turn.parentSpanId, run.spanId)
      assert.strictEqual(turnStart.parentSpanId, turn.spanId)
      assert.strictEqual(approval.parentSpanId, turn.spanId)
      assert.strictEqual(compact.parentSpanId, root.spanId)

      assert.strictEqual(turn.attributes["codex.thread_id"], thread.id)
      assert.strictEqual(turn.attributes["codex.turn_id"], result.turnId)
      assert.strictEqual(turn.attributes["codex.model"], "mock-model")
      assert.strictEqual(turn.attributes["codex.turn.status"], "completed")
      // the turn's growth of the thread's totals: on a new thread, its totals
      assert.strictEqual(turn.attributes["codex.usage.input_tokens"], result.usage!.total.inputTokens)
      assert.strictEqual(turn.attributes["codex.usage.output_tokens"], result.usage!.total.outputTokens)
      assert.isAtLeast(turn.attributes["codex.usage.input_tokens"] as number, 1200)
      assert.isTrue(turn.startTimeUnixNano >= run.startTimeUnixNano && turn.endTimeUnixNano <= run.endTimeUnixNano)
      assert.strictEqual(approval.attributes["codex.method"], "item/commandExecution/requestApproval")
      assert.strictEqual(approval.attributes["codex.approval.decision"], "accept")
      assert.strictEqual(approval.attributes["codex.turn_id"], result.turnId)

      // the compaction: its turn's id, status and usage (its growth of the thread's totals) on Thread.compact
      assert.deepStrictEqual(compactionTurn.items.map((item) => item.type), ["contextCompaction"])
      assert.strictEqual(compact.attributes["codex.thread_id"], thread.id)
      assert.strictEqual(compact.attributes["codex.model"], "mock-model")
      assert.strictEqual(compact.attributes["codex.turn_id"], compactionTurn.id)
      assert.notStrictEqual(compactionTurn.id, result.turnId)
      assert.strictEqual(compact.attributes["codex.turn.status"], "completed")
      // the compaction's own request, not the thread's totals codex restates before it
      assert.strictEqual(compact.attributes["codex.usage.input_tokens"], 700)
      assert.strictEqual(compact.attributes["codex.usage.output_tokens"], 25)
      assert.strictEqual(compact.attributes["codex.usage.total_tokens"], 725)
      assert.isTrue(compact.startTimeUnixNano >= run.endTimeUnixNano, "after the turn")
      assert.strictEqual(compactEmpty.attributes["codex.turn.status"], "completed")
      assert.strictEqual(compactEmpty.attributes["codex.usage.input_tokens"], 300)
      assert.strictEqual(compactEmpty.attributes["codex.usage.output_tokens"], 10)
      assert.strictEqual(compactFailed.attributes["codex.turn.status"], "failed")
      assert.strictEqual(compactFailed.attributes["codex.error.reason"], "TurnFailed")
      assert.isUndefined(compactFailed.attributes["codex.usage.input_tokens"], "its request got no answer")
      assert.strictEqual(compactFailed.statusCode, 2, "ends as an error")
      assert.isString(compactFailed.attributes["codex.turn_id"])

      // codex 0.171 honours the request's `trace`: its request spans are children of ours.
      assert.isTrue(arrived, "codex exported its spans")
      assert.strictEqual(codexTurnStart()!.traceId, traceId)
      assert.strictEqual(codexTurnStart()!.parentSpanId, turnStart.spanId)
      // codex's own `thread/start` span often does not reach the collector before codex exits (its children
      // do): what it did for thread/start is checked to be in the trace instead.
      const threadStartWork = receiver.spans().filter((span) =>
        span.service === "codex-app-server" && span.name.startsWith("app_server.thread_start.")
      )
      assert.isAbove(threadStartWork.length, 0)
      for (const span of threadStartWork) assert.strictEqual(span.traceId, traceId, span.name)
      const codexInTrace = receiver.spans().filter((span) => span.service === "codex-app-server" && span.traceId === traceId)
      assert.isAbove(codexInTrace.length, 10, "codex's turn work (run_turn, sampling, ...) is in the trace")
      assert.isTrue(codexInTrace.some((span) => span.name === "run_turn"))

      // metrics (cumulative; the last export is the latest)
      const value = (name: string, attributes?: Record<string, unknown>) =>
        receiver.latest(name, attributes)?.value
      assert.strictEqual(value("codex.turns.started"), 2)
      assert.strictEqual(value("codex.turns.completed", { "codex.turn.status": "completed" }), 2)
      assert.isUndefined(receiver.latest("codex.turns.failed"))
      const duration = receiver.latest("codex.turn.duration", { "codex.turn.status": "completed" })
      assert.strictEqual(duration?.count, 2)
      assert.isAbove(duration!.sum!, 0)
      // the turn's tokens and the compactions'
      assert.strictEqual(hi.usage!.total.inputTokens, 50)
      assert.strictEqual(value("codex.tokens.input", { "codex.model": "mock-model" }), result.usage!.total.inputTokens + 700 + 300 + 50)
      assert.strictEqual(value("codex.tokens.output", { "codex.model": "mock-model" }), result.usage!.total.outputTokens + 25 + 10 + 5)
      assert.strictEqual(value("codex.compactions", { "codex.turn.status": "completed" }), 2)
      assert.strictEqual(receiver.latest("codex.compaction.duration", { "codex.turn.status": "completed" })?.count, 2)
      assert.strictEqual(value("codex.compactions", { "codex.turn.status": "failed" }), 1)
      assert.strictEqual(value("codex.turns.started"), 2, "a compaction is not a turn/start turn")
      assert.strictEqual(
        value("codex.approvals", {
          "codex.method": "item/commandExecution/requestApproval",
          "codex.approval.decision": "accept"
        }),
        1
      )
      const inFlight = receiver.points().filter((point) => point.name === "codex.requests.in_flight")
      assert.isAbove(inFlight.length, 0)
      assert.isTrue(inFlight.every((point) => point.kind === "gauge" && point.value !== undefined && point.value >= 0))
      console.log(
        `trace ${traceId}: ${ours.length} SDK spans, ${codexInTrace.length} codex spans; ` +
          `Turn ${JSON.stringify(turn.attributes)}; Thread.compact ${JSON.stringify(compact.attributes)}`
      )
    }), { timeout: 120_000 })
})
