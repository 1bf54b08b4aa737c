/**
 * A running (or finished) turn: its events as a `Stream`, its result as an
 * `Effect`, and the controls codex offers while it runs.
 *
 * ```ts
 * import { Console, Effect, Stream } from "effect"
 * import { Codex, TurnEvent } from "effect-codex"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const thread = yield* Codex.startThread()
 *   const turn = yield* thread.turn("Explain this repository")
 *   yield* turn.events.pipe(TurnEvent.textDeltas, Stream.runForEach((text) => Console.log(text)))
 *   const result = yield* turn.result
 *   yield* Console.log(result.usage)
 * }))
 * ```
 *
 * @stability unstable
 * @since 0.1.0
 */
import { Duration, Effect, Exit, Result, Schema, type Scope, type Stream } from "../schema/internal/effect.ts"
import * as CodexError from "../schema/CodexError.ts"
import type * as Protocol from "../schema/generated/Protocol.gen.ts"
import * as Input from "../schema/Input.ts"
import * as OutputSchema from "../schema/OutputSchema.ts"
import type { Router, TurnState } from "../streams/internal/router.ts"
import type * as TurnEvent from "../streams/TurnEvent.ts"
import * as TurnResult from "../streams/TurnResult.ts"
import type * as AppServerClient from "./AppServerClient.ts"
import * as Checks from "./internal/options.ts"
import * as Telemetry from "./internal/telemetry.ts"

/**
 * A turn handle.
 *
 * - `events`: only this turn's events, from its first one, ending after
 *   `TurnCompleted`; every run sees the whole turn from the start, and
 *   `events` and `result` may be used together.
 * - `result`: waits for the end of the turn. Interrupting the fiber that waits
 *   sends `turn/interrupt` at once and waits (at most `interruptTimeout`) for
 *   the turn to end.
 * - `steer(input)`: adds input to the running turn; succeeds with codex's
 *   answer, the id of the turn that took the input (this one).
 * - `interrupt`: asks codex to stop the turn and waits for it to end.
 *
 * @category models
 * @since 0.1.0
 */
export interface Turn {
  readonly id: string
  readonly threadId: string
  readonly events: Stream.Stream<TurnEvent.TurnEvent, CodexError.CodexError>
  readonly result: Effect.Effect<TurnResult.TurnResult, CodexError.CodexError>
  readonly steer: (input: Input.Input) => Effect.Effect<Protocol.TurnSteerResponse, CodexError.CodexError>
  readonly interrupt: Effect.Effect<void, CodexError.CodexError>
}

/**
 * The protocol's `turn/start` fields a caller may set (everything but the
 * thread and the input), plus client-side options.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options extends Omit<Protocol.TurnStartParams, "threadId" | "input" | "outputSchema"> {
  /**
   * How long an interrupted turn (fiber interrupted, Scope closed) may take to
   * end after `turn/interrupt` before the client stops waiting. Default 5 seconds.
   */
  readonly interruptTimeout?: Duration.Input | undefined
}

/**
 * Options of `thread.run` with structured output: an Effect Schema (the answer
 * is decoded into its type) or a raw JSON Schema object (the answer is parsed
 * JSON, typed `unknown`).
 *
 * @category models
 * @since 0.1.0
 */
export interface OptionsWithOutput<S> extends Options {
  readonly outputSchema: S
}

/**
 * A raw JSON Schema object, sent as it is.
 *
 * @category models
 * @since 0.1.0
 */
export type JsonSchemaObject = OutputSchema.JsonSchemaObject

// =============================================================================
// Implementation
// =============================================================================

/**
 * What a turn handle needs from its connection.
 *
 * @internal
 */
export interface Connection {
  readonly client: AppServerClient.Service
  readonly router: Router
}

/**
 * How long an interrupted turn may take to end by default.
 *
 * @internal
 */
export const DEFAULT_INTERRUPT_TIMEOUT = Duration.seconds(5)

/** How soon `turn/interrupt` is sent again after codex rejected it (see `interruptTurn`). */
const INTERRUPT_RETRY = Duration.millis(100)


/** Waits until codex has started the turn (`turn/started`) or the turn ended. */
const awaitStarted = (state: TurnState): Effect.Effect<void> =>
  Effect.suspend(() => state.started || state.ended ? Effect.void : Effect.flatMap(state.changed, () => awaitStarted(state)))

/**
 * Interrupts a turn: sends `turn/interrupt` and waits for the turn to end, at
 * most `timeout`. Fails only with the connection's error, or with codex's
 * RpcError when the turn did not end in time.
 *
 * codex answers `turn/interrupt` with -32600 "no active turn to interrupt"
 * between the `turn/start` answer and `turn/started` (10-90 ms), and when a
 * turn has just ended. So the interrupt waits (briefly) for `turn/started`,
 * and while codex answers with an RpcError and the turn has not ended, it is
 * sent again every {@link INTERRUPT_RETRY}: an interrupt right after
 * `thread.turn` still stops the turn.
 */
const interruptTurn = (
  connection: Connection,
  state: TurnState,
  timeout: Duration.Duration
): Effect.Effect<void, CodexError.CodexError> =>
  Effect.suspend(() => {
    let lastError: CodexError.CodexError | undefined
    const attempt: Effect.Effect<void, CodexError.CodexError> = Effect.suspend(() =>
      state.ended ? Effect.void : connection.client.request("turn/interrupt", {
        threadId: state.threadId,
        turnId: state.activeTurnId
      }).pipe(
        Effect.andThen(state.awaitEnd),
        Effect.catchIf(
          (error) => error.reason._tag === "RpcError",
          (error) =>
            Effect.sync(() => void (lastError = error)).pipe(
              Effect.andThen(state.awaitEnd.pipe(Effect.timeoutOption(INTERRUPT_RETRY))),
              Effect.andThen(Effect.suspend(() => state.ended ? Effect.void : attempt))
            )
        )
      )
    )
    return awaitStarted(state).pipe(
      Effect.timeoutOption(INTERRUPT_RETRY),
      Effect.andThen(attempt),
      Effect.timeoutOption(timeout),
      Effect.andThen(Effect.suspend(() =>
        state.ended || lastError === undefined ? Effect.void : Effect.fail(lastError)
      ))
    )
  })

/** Interrupts the turn and waits (bounded) for it to end. Never fails: used in finalizers. */
const interruptAndAwait = (connection: Connection, state: TurnState, timeout: Duration.Duration) =>
  Effect.suspend(() => state.ended ? Effect.void : Effect.ignore(interruptTurn(connection, state, timeout)))

/**
 * A turn handle over the state the router keeps for it.
 *
 * @internal
 */
export const make = (connection: Connection, state: TurnState, interruptTimeout: Duration.Duration): Turn => {
  const result = Effect.suspend(() => state.awaitEnd).pipe(
    Effect.onInterrupt(() => interruptAndAwait(connection, state, interruptTimeout)),
    Effect.flatMap(() => {
      const collected = TurnResult.collect(state.events, (state.endedAt ?? performance.now()) - state.startedAt)
      return collected._tag === "Success" ? Effect.succeed(collected.result) : Effect.fail(collected.error)
    })
  )
  return {
    id: state.turnId,
    threadId: state.threadId,
    events: state.stream,
    result,
    steer: (input) =>
      connection.client.request("turn/steer", {
        threadId: state.threadId,
        expectedTurnId: state.turnId,
        input: [...Input.toItems(input)]
      }).pipe(Effect.withSpan("Turn.steer")),
    interrupt: interruptTurn(connection, state, interruptTimeout).pipe(
      Effect.withSpan("Turn.interrupt")
    )
  }
}

/**
 * What `outputSchema` may be.
 *
 * @internal
 */
export type AnyOutputSchema = Schema.Top | JsonSchemaObject

// What is wrong with a raw JSON Schema, if anything: it must be a JSON object
// with a `type` (codex sends it as the turn's `text.format.schema`).
const rawSchemaProblem = (raw: unknown): unknown => {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return raw
  try {
    if (JSON.stringify(raw) === undefined) return raw
  } catch {
    return "an object that is not JSON (a cycle or a BigInt)"
  }
  return "type" in raw || "anyOf" in raw || "$ref" in raw ? undefined : "an object with no type"
}

/**
 * Checks and prepares an `outputSchema` (typed `InvalidOptions` when it is neither).
 *
 * @internal
 */
export const prepareOutput = (
  outputSchema: AnyOutputSchema | undefined
): Effect.Effect<OutputSchema.OutputSchema<unknown> | undefined, CodexError.CodexError> => {
  if (outputSchema === undefined) return Effect.succeed(undefined)
  if (!Schema.isSchema(outputSchema)) {
    const problem = rawSchemaProblem(outputSchema)
    return problem === undefined
      ? Effect.succeed(OutputSchema.fromJsonSchema(outputSchema))
      : Effect.fail(Checks.invalid("outputSchema", "an Effect Schema or a JSON Schema object", problem))
  }
  return OutputSchema.make(outputSchema as Schema.Top & { readonly DecodingServices: never }).pipe(
    Effect.mapError((error) =>
      CodexError.make(
        new CodexError.InvalidOptions({ description: `outputSchema at ${error.path}: ${error.message}` })
      )
    )
  )
}

/**
 * Starts a turn: buffers its events from before the response, claims them,
 * ties its end to the Scope. `model` is the model the turn runs on, when known
 * (for its span and metrics).
 *
 * @internal
 */
export const start = (
  connection: Connection,
  threadId: string,
  input: Input.Input,
  options: (Options & { readonly outputSchema?: AnyOutputSchema | undefined }) | undefined,
  output: OutputSchema.OutputSchema<unknown> | undefined,
  model?: string | undefined
): Effect.Effect<Turn, CodexError.CodexError, Scope.Scope> => {
  const { interruptTimeout, outputSchema: _, ...params } = options ?? {}
  const checked = interruptTimeoutOf(interruptTimeout)
  if (Result.isFailure(checked)) return Effect.fail(checked.failure)
  const timeout = checked.success
  const start = Effect.suspend(() => {
    connection.router.beginStart(threadId)
    return connection.client.request("turn/start", {
      ...params,
      threadId,
      input: [...Input.toItems(input)],
      ...(output === undefined ? {} : { outputSchema: output.jsonSchema as Schema.Json })
    }).pipe(
      Effect.map((response) => connection.router.claim(threadId, response.turn.id)),
      Effect.ensuring(Effect.sync(() => connection.router.endStart(threadId)))
    )
  })
  return acquire(connection, Telemetry.trackTurn(threadId, model, start), timeout)
}

/**
 * A turn handle over the turn `start` claims, tied to the Scope: a turn whose
 * Scope closes before it ends is interrupted (also when the acquiring fiber
 * itself was interrupted).
 *
 * @internal
 */
export const acquire = (
  connection: Connection,
  start: Effect.Effect<TurnState, CodexError.CodexError>,
  timeout: Duration.Duration
): Effect.Effect<Turn, CodexError.CodexError, Scope.Scope> =>
  Effect.acquireRelease(start, (state, exit) =>
    Exit.isSuccess(exit) && state.ended ? Effect.void : interruptAndAwait(connection, state, timeout)).pipe(
      Effect.map((state) => make(connection, state, timeout))
    )

/**
 * Checks `interruptTimeout` (default {@link DEFAULT_INTERRUPT_TIMEOUT}).
 *
 * @internal
 */
export const interruptTimeoutOf = (
  interruptTimeout: Duration.Input | undefined
): Result.Result<Duration.Duration, CodexError.CodexError> =>
  Checks.duration("interruptTimeout", interruptTimeout, DEFAULT_INTERRUPT_TIMEOUT)

