/**
 * Observability: the SDK's traces and metrics, exported with `effect/observability`.
 *
 * - Spans: `Codex.startThread`, `Thread.run`, a `Turn` span per turn (thread id, turn id, model,
 *   status, token usage), an `Approval` span per approval wait, and with `requestSpans: true` one
 *   per JSON-RPC request (`AppServerClient.request`, attribute `codex.method`).
 * - Every request carries its span's W3C trace context, so codex's own spans (`[otel]` in its
 *   config, set below) land in the same trace, under the SDK's.
 * - Metrics (`Metrics` in effect-codex): turns, turn duration, tokens, requests in flight, overload
 *   retries, approvals by decision.
 *
 * Both go as OTLP/HTTP JSON to $OTEL_EXPORTER_OTLP_ENDPOINT (default http://127.0.0.1:4318): an
 * OpenTelemetry Collector, or Jaeger for traces
 * (`docker run -p 4318:4318 -p 16686:16686 jaegertracing/all-in-one`, then http://localhost:16686).
 * With nothing listening the program still runs; the exports are dropped.
 *
 *   node --import ./scripts/source-hooks.ts examples/observability.ts
 */
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Config, Console, Effect, Layer, Metric } from "effect"
import { FetchHttpClient } from "effect/http"
import { OtlpMetrics, OtlpSerialization, OtlpTracer } from "effect/observability"
import { Approvals, Codex, Metrics } from "effect-codex"
import { LocalModel } from "effect-codex/testing"
import * as Backend from "./internal/backend.ts"

const resource = { serviceName: "effect-codex-example", serviceVersion: "1.0.0" }

// Traces and metrics as OTLP/HTTP JSON over fetch. (`Otlp.layerJson({ baseUrl: endpoint, resource })`
// is the one-line form, with logs too.)
const exporters = (endpoint: string) =>
  Layer.mergeAll(
    OtlpTracer.layer({ url: `${endpoint}/v1/traces`, resource }),
    OtlpMetrics.layer({ url: `${endpoint}/v1/metrics`, resource, exportInterval: "5 seconds" })
  ).pipe(Layer.provide(OtlpSerialization.layerJson), Layer.provide(FetchHttpClient.layer))

// codex's own OpenTelemetry exporter, to the same collector: its spans join the SDK's trace.
const codexOtel = (endpoint: string) => ({
  trace_exporter: { "otlp-http": { endpoint: `${endpoint}/v1/traces`, protocol: "json" } }
})

const approvals = Approvals.layer({ commandExecution: Approvals.acceptCommandsMatching(Approvals.isReadOnlyCommand) })

const program = Effect.gen(function*() {
  const thread = yield* Codex.startThread({ approvalPolicy: "on-request", sandbox: "read-only" })
  const result = yield* thread.run("List the files here and say how many there are.")
  const span = yield* Effect.currentSpan

  yield* Console.log(`trace ${span.traceId}: look for the span "nightly-check"`)
  yield* Console.log(`turn ${result.turnId}: ${result.status}, ${result.usage?.total.totalTokens ?? 0} tokens`)
  const started = yield* Metric.value(Metrics.turnsStarted)
  const completed = yield* Metric.value(Metric.withAttributes(Metrics.turnsCompleted, { "codex.turn.status": "completed" }))
  const accepted = yield* Metric.value(Metric.withAttributes(Metrics.approvals, {
    "codex.method": "item/commandExecution/requestApproval",
    "codex.approval.decision": "accept"
  }))
  yield* Console.log(`metrics: ${started.count} turn(s) started, ${completed.count} completed, ${accepted.count} command(s) accepted`)
}).pipe(Effect.withSpan("nightly-check"))

const script = [
  LocalModel.shell("ls", { escalate: true, justification: "List the files?" }),
  LocalModel.text("There are a few files here.", { usage: { input: 2400, output: 40 } })
]

const main = Effect.gen(function*() {
  const endpoint = yield* Config.String("OTEL_EXPORTER_OTLP_ENDPOINT").pipe(Config.withDefault("http://127.0.0.1:4318"))
  yield* program.pipe(
    Effect.provide(Codex.layer.pipe(Layer.provide(approvals))),
    Effect.provide(Backend.layer(script, {
      local: { approvalPolicy: "on-request" },
      // requestSpans: a span per JSON-RPC request (off by default: it costs more than the request itself)
      appServer: { requestSpans: true, config: { otel: codexOtel(endpoint) } }
    })),
    // Outermost, so the exporters flush after codex has stopped.
    Effect.provide(exporters(endpoint))
  )
  yield* Console.log(`exported to ${endpoint}`)
})

main.pipe(Effect.provide(NodeServices.layer), NodeRuntime.runMain)
