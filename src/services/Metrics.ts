/**
 * The SDK's metrics, as effect `Metric`s: turns, their duration and tokens,
 * compactions, requests in flight, overload retries and approvals.
 *
 * They are updated where things happen and live in the `Metric.MetricRegistry`
 * of the program (effect's default registry unless one is provided), so any
 * metrics exporter of `effect/observability` (`OtlpMetrics`,
 * `PrometheusMetrics`) sends them with the program's own; `Metric.value` reads
 * one directly.
 *
 * Attributes: `codex.turn.status` (`completed`, `interrupted`, `failed`),
 * `codex.error.reason` (the `CodexError` reason of a failed turn, e.g.
 * `TurnFailed`, `ProcessExited`, `Closed`), `codex.model`, `codex.method`
 * (the JSON-RPC method), `codex.approval.decision`.
 *
 * ```ts
 * import { Console, Effect, Metric } from "effect"
 * import { Codex, Metrics } from "effect-codex"
 *
 * const program = Effect.gen(function*() {
 *   const thread = yield* Codex.startThread()
 *   yield* thread.run("Say hello")
 *   const started = yield* Metric.value(Metrics.turnsStarted)
 *   yield* Console.log(`turns started: ${started.count}`)
 * })
 * ```
 *
 * @stability unstable
 * @since 0.1.0
 */
import { type Duration, Metric } from "../schema/internal/effect.ts"
/**
 * Turns codex accepted (`turn/start` answered). A `turn/start` that codex
 * refuses is a failed request, not a turn.
 *
 * @category turns
 * @since 0.1.0
 */
export const turnsStarted: Metric.Counter<number> = Metric.counter("codex.turns.started", {
  description: "Turns codex accepted",
  incremental: true
})

/**
 * Turns that ended with `turn/completed` and status `completed` or
 * `interrupted` (attribute `codex.turn.status`).
 *
 * @category turns
 * @since 0.1.0
 */
export const turnsCompleted: Metric.Counter<number> = Metric.counter("codex.turns.completed", {
  description: "Turns that completed or were interrupted, by codex.turn.status",
  incremental: true
})

/**
 * Turns that failed, by `codex.error.reason`: `TurnFailed` (codex reported
 * the failure), or the reason the connection ended while the turn ran
 * (`ProcessExited`, `TransportError`, `Closed`, ...).
 *
 * @category turns
 * @since 0.1.0
 */
export const turnsFailed: Metric.Counter<number> = Metric.counter("codex.turns.failed", {
  description: "Turns that failed, by codex.error.reason",
  incremental: true
})

/**
 * How long turns took, in milliseconds (codex's own `durationMs`, else as
 * measured by the client), by `codex.turn.status`.
 *
 * @category turns
 * @since 0.1.0
 */
export const turnDuration: Metric.Histogram<Duration.Duration> = Metric.timer("codex.turn.duration", {
  description: "Turn duration, by codex.turn.status"
})

/**
 * Compactions that ran (`thread.compact`: the compaction turn codex ran for
 * it ended), by `codex.turn.status` (`completed`, `interrupted`, `failed`).
 * They are not turns here: {@link turnsStarted} and the turn counters count
 * only the turns `turn/start` started.
 *
 * @category compactions
 * @since 0.1.0
 */
export const compactions: Metric.Counter<number> = Metric.counter("codex.compactions", {
  description: "Compactions (thread.compact) that ended, by codex.turn.status",
  incremental: true
})

/**
 * How long compactions took, in milliseconds (codex's own `durationMs`, else
 * as measured by the client), by `codex.turn.status`.
 *
 * @category compactions
 * @since 0.1.0
 */
export const compactionDuration: Metric.Histogram<Duration.Duration> = Metric.timer("codex.compaction.duration", {
  description: "Compaction duration, by codex.turn.status"
})

/**
 * Input tokens of turns and compactions, cached ones included (the growth of
 * the thread's token total during each), by `codex.model`.
 *
 * @category tokens
 * @since 0.1.0
 */
export const inputTokens: Metric.Counter<number> = Metric.counter("codex.tokens.input", {
  description: "Input tokens used by turns and compactions (cached included), by codex.model",
  incremental: true
})

/**
 * The part of {@link inputTokens} served from the model's prompt cache, by
 * `codex.model` (turns and compactions).
 *
 * @category tokens
 * @since 0.1.0
 */
export const cachedInputTokens: Metric.Counter<number> = Metric.counter("codex.tokens.cached_input", {
  description: "Cached input tokens used by turns and compactions, by codex.model",
  incremental: true
})

/**
 * Output tokens of turns and compactions, reasoning included, by `codex.model`.
 *
 * @category tokens
 * @since 0.1.0
 */
export const outputTokens: Metric.Counter<number> = Metric.counter("codex.tokens.output", {
  description: "Output tokens used by turns and compactions (reasoning included), by codex.model",
  incremental: true
})

/**
 * JSON-RPC requests sent and not yet answered, over every connection of the
 * registry. Read when metrics are read (nothing is updated per request).
 *
 * @category requests
 * @since 0.1.0
 */
export const requestsInFlight: Metric.Gauge<number> = Metric.gauge("codex.requests.in_flight", {
  description: "JSON-RPC requests sent to codex and not yet answered"
})

/**
 * Requests sent again after codex answered `-32001 Server overloaded`, by
 * `codex.method`.
 *
 * @category requests
 * @since 0.1.0
 */
export const overloadRetries: Metric.Counter<number> = Metric.counter("codex.requests.overload_retries", {
  description: "Requests retried after -32001 Server overloaded, by codex.method",
  incremental: true
})

/**
 * Server requests the `Approvals` service answered, by `codex.method` and
 * `codex.approval.decision` (`accept`, `decline`, `acceptForSession`,
 * `cancel`, ...; `granted` / `denied` for permissions, the action for MCP
 * elicitations, `answered` / `unanswered` for user input).
 *
 * @category approvals
 * @since 0.1.0
 */
export const approvals: Metric.Counter<number> = Metric.counter("codex.approvals", {
  description: "Approval requests answered, by codex.method and codex.approval.decision",
  incremental: true
})
