/**
 * A codex thread: a conversation with its history, on which turns run.
 *
 * ```ts
 * import { Console, Effect, Schema } from "effect"
 * import { Codex } from "effect-codex"
 *
 * const Review = Schema.Struct({ verdict: Schema.Literals(["ok", "needs work"]), notes: Schema.String })
 *
 * const program = Effect.gen(function*() {
 *   const thread = yield* Codex.startThread({ model: "gpt-5.4" })
 *   const first = yield* thread.run("Read src/index.ts")
 *   yield* Console.log(first.finalResponse)
 *   const review = yield* thread.run("Review it", { outputSchema: Review })
 *   yield* Console.log(review.output.verdict)
 * })
 * ```
 *
 * @since 0.1.0
 */
import type { Effect, Schema, Scope } from "effect"
import type * as Protocol from "../schema/generated/Protocol.gen.ts"
import type * as Input from "../schema/Input.ts"
import type * as TurnResult from "../streams/TurnResult.ts"
import type * as CodexError from "../schema/CodexError.ts"
import type * as CodexTool from "./CodexTool.ts"
import type * as Turn from "./Turn.ts"

/**
 * A thread handle.
 *
 * @category models
 * @since 0.1.0
 */
export interface Thread {
  /** The thread id (a UUIDv7). */
  readonly id: string
  /** The protocol's thread record as of when this handle was made. */
  readonly info: Protocol.Thread
  /**
   * Runs a turn to its end. With `outputSchema` (an Effect Schema), the result
   * also has `output`, the final answer decoded with it. Interrupting the fiber
   * interrupts the turn.
   */
  readonly run: {
    <S extends Schema.Top & { readonly DecodingServices: never }>(
      input: Input.Input,
      options: Turn.OptionsWithOutput<S>
    ): Effect.Effect<TurnResult.TurnResultWithOutput<S["Type"]>, CodexError.CodexError>
    (
      input: Input.Input,
      options: Turn.OptionsWithOutput<Turn.JsonSchemaObject>
    ): Effect.Effect<TurnResult.TurnResultWithOutput<unknown>, CodexError.CodexError>
    (input: Input.Input, options?: Turn.Options): Effect.Effect<TurnResult.TurnResult, CodexError.CodexError>
  }
  /**
   * Starts a turn and returns its handle once codex accepted it. Closing the
   * Scope before the turn ends interrupts it.
   */
  readonly turn: (
    input: Input.Input,
    options?: Turn.Options | Turn.OptionsWithOutput<Schema.Top | Turn.JsonSchemaObject>
  ) => Effect.Effect<Turn.Turn, CodexError.CodexError, Scope.Scope>
  /** Reads the thread (with its turns when `includeTurns` is set). */
  readonly read: (
    options?: Omit<Protocol.ThreadReadParams, "threadId">
  ) => Effect.Effect<Protocol.ThreadReadResponse, CodexError.CodexError>
  /** Names the thread. */
  readonly setName: (name: string) => Effect.Effect<void, CodexError.CodexError>
  /** Asks codex to compact the thread's history (runs as a turn of its own). */
  readonly compact: Effect.Effect<void, CodexError.CodexError>
  /** Forks the thread: a new thread with the same history. */
  readonly fork: (options?: ForkOptions) => Effect.Effect<Thread, CodexError.CodexError>
  /** Archives the thread. */
  readonly archive: Effect.Effect<void, CodexError.CodexError>
}

/**
 * Options of `Codex.startThread`: the protocol's own `thread/start` fields,
 * plus client tools.
 *
 * @category models
 * @since 0.1.0
 */
export interface StartOptions extends Omit<Protocol.ThreadStartParams, "dynamicTools"> {
  /** Tools this program provides; codex calls them during turns (experimental API). */
  readonly tools?: ReadonlyArray<CodexTool.Any> | undefined
}

/**
 * Options of `Codex.resumeThread`: the protocol's own `thread/resume` fields.
 * `tools` re-registers the program's tools for this thread.
 *
 * @category models
 * @since 0.1.0
 */
export interface ResumeOptions extends Omit<Protocol.ThreadResumeParams, "threadId"> {
  readonly tools?: ReadonlyArray<CodexTool.Any> | undefined
}

/**
 * Options of `Codex.forkThread` / `thread.fork`: the protocol's own
 * `thread/fork` fields.
 *
 * @category models
 * @since 0.1.0
 */
export interface ForkOptions extends Omit<Protocol.ThreadForkParams, "threadId"> {
  readonly tools?: ReadonlyArray<CodexTool.Any> | undefined
}
