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
 * @since 0.1.0
 */
import type { Duration, Effect, Stream } from "effect"
import type * as Protocol from "../schema/generated/Protocol.gen.ts"
import type * as Input from "../schema/Input.ts"
import type * as OutputSchema from "../schema/OutputSchema.ts"
import type * as TurnEvent from "../streams/TurnEvent.ts"
import type * as TurnResult from "../streams/TurnResult.ts"
import type * as CodexError from "./CodexError.ts"

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
