/**
 * Tracing and metrics plumbing, kept apart from the code it observes: the W3C
 * trace context every request carries, the turn span and the turn metrics,
 * the compaction's attributes and metrics, the approval span, the
 * requests-in-flight gauge.
 *
 * Costs: a request pays one context lookup for its trace context (and, under
 * a new span, one string); a turn pays one span and one callback at its end;
 * nothing is updated per request or per event.
 *
 * @internal
 */
import {
  Clock, Context, Duration, Effect, Exit, Fiber, Metric, Predicate, type Scope, Tracer
} from "../../schema/internal/effect.ts"
import type * as CodexError from "../../schema/CodexError.ts"
import type * as Protocol from "../../schema/generated/Protocol.gen.ts"
import type { TurnState } from "../../streams/internal/router.ts"
import type * as TurnEvent from "../../streams/TurnEvent.ts"
import * as Summary from "../../streams/internal/summary.ts"
import * as TurnResult from "../../streams/TurnResult.ts"
import * as Metrics from "../Metrics.ts"

// =============================================================================
// Trace context on requests
// =============================================================================

const TRACE_ID = /^[0-9a-f]{32}$/
const SPAN_ID = /^[0-9a-f]{16}$/
const ZERO_TRACE = "0".repeat(32)
const ZERO_SPAN = "0".repeat(16)

/**
 * The W3C trace context of a span, as codex's `trace` field carries it;
 * `undefined` for a span whose ids are not W3C ids (a noop span of disabled
 * tracing, a hand-made tracer's), which codex could not parse.
 */
export const traceContextOf = (span: Tracer.AnySpan): Protocol.W3cTraceContext | undefined => {
  // as effect's own HTTP propagation does: 64-bit (b3) trace ids are left-padded
  const traceId = span.traceId.padStart(32, "0")
  const spanId = span.spanId
  if (!TRACE_ID.test(traceId) || !SPAN_ID.test(spanId) || traceId === ZERO_TRACE || spanId === ZERO_SPAN) {
    return undefined
  }
  return { traceparent: `00-${traceId}-${spanId}-${span.sampled ? "01" : "00"}` }
}

/**
 * The trace context of the current span (`undefined` when there is none),
 * read synchronously from the fiber running now: called inside a request's
 * `Effect.callback` registration, so a request inside its own span
 * (`requestSpans`) names that span, and a request pays no Effect for it.
 */
export const currentTraceContext = (): Protocol.W3cTraceContext | undefined => {
  const fiber = Fiber.getCurrent()
  if (fiber === undefined) return undefined
  const span = Context.getOrUndefined(fiber.context, Tracer.ParentSpan)
  if (span === undefined) return undefined
  // requests in a row under one span (a loop in one operation) reuse its context; the cache holds the span's
  // ids, not the span, which would keep its parents and their exits (a whole Turn with its events) alive
  if (span.spanId !== lastSpanId || span.traceId !== lastTraceId) {
    lastSpanId = span.spanId
    lastTraceId = span.traceId
    lastTrace = traceContextOf(span)
  }
  return lastTrace
}

let lastSpanId: string | undefined
let lastTraceId: string | undefined
let lastTrace: Protocol.W3cTraceContext | undefined

// =============================================================================
// Requests in flight
// =============================================================================

// The in-flight sizes of the live connections, per registry: the gauge reads
// their sum when metrics are read, so requests update nothing.
const inFlightByRegistry = new WeakMap<Metric.MetricRegistry, Set<() => number>>()

/** Counts `size()` in {@link Metrics.requestsInFlight} for the life of the Scope. */
export const trackInFlight = (size: () => number): Effect.Effect<void, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.map(Effect.context<never>(), (context) => {
      const registry = Context.get(context, Metric.MetricRegistry)
      let sizes = inFlightByRegistry.get(registry)
      if (sizes === undefined) {
        const live = new Set<() => number>()
        sizes = live
        inFlightByRegistry.set(registry, live)
        Metric.registerUnsafe(Metrics.requestsInFlight, context, {
          get: () => {
            let sum = 0
            for (const current of live) sum += current()
            return { value: sum }
          },
          update: () => {},
          modify: () => {}
        })
      }
      sizes.add(size)
      return sizes
    }),
    (sizes) => Effect.sync(() => void sizes.delete(size))
  ).pipe(Effect.asVoid)

/**
 * A metric's series by one attribute's value, each made once: a metric keeps
 * its series key, so a series used again costs no key building (the values
 * are few: statuses, error reasons, models, methods).
 */
const series = <I, S>(metric: Metric.Metric<I, S>, attribute: string) => {
  const made = new Map<string, Metric.Metric<I, S>>()
  return (value: string): Metric.Metric<I, S> => {
    let one = made.get(value)
    if (one === undefined) {
      one = Metric.withAttributes(metric, { [attribute]: value })
      made.set(value, one)
    }
    return one
  }
}

const overloadRetriesOf = series(Metrics.overloadRetries, "codex.method")

/** Counts one retry of `method` after `-32001`. */
export const countOverloadRetry = (method: string): Effect.Effect<void> => Metric.update(overloadRetriesOf(method), 1)

// =============================================================================
// Turns
// =============================================================================

// The spans of the turns still running, so an approval's span can be a child of its turn's.
const openTurns = new Map<string, Tracer.Span>()
const turnKey = (threadId: string, turnId: string) => `${threadId}\u0000${turnId}`

// Turns already counted: a `turn/start` that codex answers with the active
// turn (it steered it) gets a span of its own but counts no second turn.
const counted = new WeakSet<TurnState>()

/** Tokens a turn used: how much the thread's totals grew during it. */
export interface Tokens {
  readonly input: number
  readonly cached: number
  readonly output: number
  readonly reasoning: number
  readonly total: number
}

// The first update of a turn holds the thread's totals before the turn plus the
// turn's first model response (`last`); the final one, the totals after the turn.
const tokensOf = (events: ReadonlyArray<TurnEvent.TurnEvent>): Tokens | undefined => {
  // a live turn's summary holds both: no walk over every delta
  const { firstUsage: first, usage: final } = Summary.of(events)
  if (first === undefined || final === undefined) return undefined
  const grown = (key: "inputTokens" | "cachedInputTokens" | "outputTokens" | "reasoningOutputTokens" | "totalTokens") =>
    Math.max(0, final.total[key] - (first.total[key] - first.last[key]))
  return {
    input: grown("inputTokens"),
    cached: grown("cachedInputTokens"),
    output: grown("outputTokens"),
    reasoning: grown("reasoningOutputTokens"),
    total: grown("totalTokens")
  }
}

/**
 * Traces and counts a turn: `start` (the `turn/start` request, which returns
 * the turn's state) runs inside a `Turn` span, so the request and codex's own
 * spans for the turn nest under it; the span stays open until the turn ends,
 * whether or not anyone waits for its result, and then carries its status and
 * token usage. The end is recorded when the router sees it, before whoever
 * waits for the turn resumes, so metrics read after `thread.run` include it.
 */
export const trackTurn = (
  threadId: string,
  model: string | undefined,
  start: Effect.Effect<TurnState, CodexError.CodexError>
): Effect.Effect<TurnState, CodexError.CodexError> =>
  Effect.flatMap(
    Effect.makeSpan("Turn", {
      attributes: model === undefined ? { "codex.thread_id": threadId } : { "codex.thread_id": threadId, "codex.model": model }
    }),
    (span) =>
      Effect.onExit(Effect.withParentSpan(start, span), (exit) =>
        Effect.withFiber((fiber) => {
          const clock = fiber.getRef(Clock.Clock)
          if (Exit.isFailure(exit)) span.end(clock.currentTimeNanosUnsafe(), exit)
          else watchTurn(span, exit.value, model ?? "unknown", fiber.context, clock)
          return Effect.void
        }))
  )

const watchTurn = (
  span: Tracer.Span,
  state: TurnState,
  model: string,
  context: Context.Context<never>,
  clock: Clock.Clock
): void => {
  span.attribute("codex.turn_id", state.turnId)
  const key = turnKey(state.threadId, state.turnId)
  openTurns.set(key, span)
  const first = !counted.has(state)
  if (first) {
    counted.add(state)
    Metrics.turnsStarted.updateUnsafe(1, context)
  }
  state.onEnd(() => {
    try {
      endTurn(span, state, key, first ? model : undefined, context, clock)
    } catch {
      // telemetry never breaks the routing of a turn
    }
  })
}

/** Ends the turn's span; counts the turn when `model` is given (its first tracker). */
const endTurn = (
  span: Tracer.Span,
  state: TurnState,
  key: string,
  model: string | undefined,
  context: Context.Context<never>,
  clock: Clock.Clock
): void => {
  if (openTurns.get(key) === span) openTurns.delete(key)
  const end = endOf(state)
  annotateEnd(span, end)
  span.end(clock.currentTimeNanosUnsafe(), end.error === undefined ? Exit.void : Exit.fail(end.error))

  if (model === undefined) return
  turnDurationOf(end.status).updateUnsafe(Duration.millis(end.durationMs), context)
  if (end.error === undefined) turnsCompletedOf(end.status).updateUnsafe(1, context)
  else turnsFailedOf(end.error.reason._tag).updateUnsafe(1, context)
  countTokens(end.tokens, model, context)
}

const turnDurationOf = series(Metrics.turnDuration, "codex.turn.status")
const turnsCompletedOf = series(Metrics.turnsCompleted, "codex.turn.status")
const turnsFailedOf = series(Metrics.turnsFailed, "codex.error.reason")

/** How a turn ended: its status, its error if it failed, the tokens it used, how long it took. */
interface End {
  readonly status: "completed" | "interrupted" | "failed"
  readonly error: CodexError.CodexError | undefined
  readonly tokens: Tokens | undefined
  readonly durationMs: number
}

/**
 * The tokens a compaction used. A compaction is one model request; its update
 * is the one by which the thread's total grew by exactly its `last`: with it
 * codex sends, before it, the thread's totals restated (when the thread has
 * some) and, after it, its estimate of the compacted context (`last` without
 * growth), neither of which the compaction used. On a thread without usage
 * there is nothing to restate, and the first update of a completed compaction
 * is its request's (total = last); so is a completed compaction's only update.
 */
export const compactionTokensOf = (events: ReadonlyArray<TurnEvent.TurnEvent>, completed: boolean): Tokens | undefined => {
  let previous: Protocol.ThreadTokenUsage | undefined
  let first: Protocol.ThreadTokenUsage | undefined
  let response: Protocol.TokenUsageBreakdown | undefined
  let updates = 0
  for (const event of events) {
    if (event._tag !== "TokenUsageUpdated") continue
    const usage = event.tokenUsage
    updates++
    first ??= usage
    if (
      previous !== undefined && usage.last.totalTokens > 0 &&
      usage.total.totalTokens - previous.total.totalTokens === usage.last.totalTokens
    ) response = usage.last
    previous = usage
  }
  if (
    response === undefined && completed && first !== undefined && first.last.inputTokens > 0 &&
    (first.total.totalTokens === first.last.totalTokens || updates === 1)
  ) response = first.last
  return response === undefined ? undefined : {
    input: response.inputTokens,
    cached: response.cachedInputTokens,
    output: response.outputTokens,
    reasoning: response.reasoningOutputTokens,
    total: response.totalTokens
  }
}

const endOf = (state: TurnState): End => {
  const measured = (state.endedAt ?? performance.now()) - state.startedAt
  const outcome = state.phase._tag === "Failed"
    ? { _tag: "Failure" as const, error: state.phase.error }
    : TurnResult.collect(state.events, measured)
  return {
    status: outcome._tag === "Success" ? outcome.result.status : "failed",
    error: outcome._tag === "Failure" ? outcome.error : undefined,
    tokens: tokensOf(state.events),
    durationMs: outcome._tag === "Success" ? outcome.result.durationMs : measured
  }
}

/** The end's attributes on a span: status, error reason, token usage. */
const annotateEnd = (span: Tracer.Span, end: End): void => {
  span.attribute("codex.turn.status", end.status)
  if (end.error !== undefined) span.attribute("codex.error.reason", end.error.reason._tag)
  if (end.tokens !== undefined) {
    span.attribute("codex.usage.input_tokens", end.tokens.input)
    span.attribute("codex.usage.cached_input_tokens", end.tokens.cached)
    span.attribute("codex.usage.output_tokens", end.tokens.output)
    span.attribute("codex.usage.reasoning_output_tokens", end.tokens.reasoning)
    span.attribute("codex.usage.total_tokens", end.tokens.total)
  }
}

const inputTokensOf = series(Metrics.inputTokens, "codex.model")
const cachedInputTokensOf = series(Metrics.cachedInputTokens, "codex.model")
const outputTokensOf = series(Metrics.outputTokens, "codex.model")

const countTokens = (tokens: Tokens | undefined, model: string, context: Context.Context<never>): void => {
  if (tokens === undefined) return
  inputTokensOf(model).updateUnsafe(tokens.input, context)
  cachedInputTokensOf(model).updateUnsafe(tokens.cached, context)
  outputTokensOf(model).updateUnsafe(tokens.output, context)
}

// =============================================================================
// Compactions
// =============================================================================

const compactionsOf = series(Metrics.compactions, "codex.turn.status")
const compactionDurationOf = series(Metrics.compactionDuration, "codex.turn.status")

/**
 * Traces and counts the compaction turn `thread/compact/start` made codex
 * run, on the current span (`Thread.compact`): its turn id now, its status
 * and token usage when it ends; the compaction is counted then (in
 * `compactions`, not as a turn; its tokens with the turns', by `model`).
 * Recorded when the router sees the end, so before `compact` returns, as for
 * turns.
 */
export const trackCompaction = (state: TurnState, model: string | undefined): Effect.Effect<void> =>
  Effect.withFiber((fiber) => {
    const parent = Context.getOrUndefined(fiber.context, Tracer.ParentSpan)
    const span = parent?._tag === "Span" ? parent : undefined
    const context = fiber.context
    span?.attribute("codex.turn_id", state.turnId)
    state.onEnd(() => {
      try {
        const outcome = endOf(state)
        const end = { ...outcome, tokens: compactionTokensOf(state.events, outcome.status === "completed") }
        // a span that already ended (the wait for an interrupted compaction timed out) is left as it ended
        if (span !== undefined && span.status._tag === "Started") annotateEnd(span, end)
        compactionsOf(end.status).updateUnsafe(1, context)
        compactionDurationOf(end.status).updateUnsafe(Duration.millis(end.durationMs), context)
        countTokens(end.tokens, model ?? "unknown", context)
      } catch {
        // telemetry never breaks the routing of a turn
      }
    })
    return Effect.void
  })

// =============================================================================
// Approvals
// =============================================================================

/**
 * The decision an answer carries, as a short label: the decision itself
 * (`accept`, `decline`, ...; the key of an object decision), the action of an
 * elicitation, `granted` / `denied` for permissions, `answered` /
 * `unanswered` for user input.
 */
export const decisionOf = (answer: unknown): string => {
  if (!Predicate.isObject(answer)) return "unknown"
  const record = answer as Record<string, unknown>
  const decision = record.decision
  if (typeof decision === "string") return decision
  if (Predicate.isObject(decision)) return Object.keys(decision)[0] ?? "unknown"
  if (typeof record.action === "string") return record.action
  if ("permissions" in record) {
    return Predicate.isObject(record.permissions) && Object.keys(record.permissions).length > 0 ? "granted" : "denied"
  }
  if ("answers" in record) {
    return Predicate.isObject(record.answers) && Object.keys(record.answers).length > 0 ? "answered" : "unanswered"
  }
  return "unknown"
}

const idOf = (params: unknown, key: "threadId" | "turnId"): string | undefined => {
  const value = Predicate.isObject(params) ? (params as Record<string, unknown>)[key] : undefined
  return typeof value === "string" && value !== "" ? value : undefined
}

/**
 * Wraps the wait for an approval's answer in an `Approval` span (a child of
 * its turn's span when the turn is known) and counts the answer by decision.
 */
export const trackApproval = <E>(
  request: { readonly id: string | number; readonly method: string; readonly params: unknown },
  answer: Effect.Effect<unknown, E>
): Effect.Effect<unknown, E> => {
  const threadId = idOf(request.params, "threadId")
  const turnId = idOf(request.params, "turnId")
  const parent = threadId === undefined || turnId === undefined ? undefined : openTurns.get(turnKey(threadId, turnId))
  const attributes: Record<string, unknown> = { "codex.method": request.method, "codex.request_id": request.id }
  if (threadId !== undefined) attributes["codex.thread_id"] = threadId
  if (turnId !== undefined) attributes["codex.turn_id"] = turnId
  return answer.pipe(
    Effect.tap((result) => {
      const decision = decisionOf(result)
      return Effect.andThen(
        Effect.annotateCurrentSpan("codex.approval.decision", decision),
        Metric.update(
          Metric.withAttributes(Metrics.approvals, { "codex.method": request.method, "codex.approval.decision": decision }),
          1
        )
      )
    }),
    Effect.withSpan("Approval", parent === undefined ? { attributes } : { attributes, parent })
  )
}
