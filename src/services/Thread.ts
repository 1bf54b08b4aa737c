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
 * @stability unstable
 * @since 0.1.0
 */
import { Duration, Effect, type Schema, type Scope } from "effect"
import * as CodexError from "../schema/CodexError.ts"
import type * as Protocol from "../schema/generated/Protocol.gen.ts"
import type * as Input from "../schema/Input.ts"
import type * as TurnResult from "../streams/TurnResult.ts"
import type * as CodexTool from "./CodexTool.ts"
import * as Turn from "./Turn.ts"

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

// =============================================================================
// Implementation
// =============================================================================

/**
 * What thread handles share: the connection, its router, and the operations
 * of the `Codex` service they offer again (`fork`, `archive`).
 *
 * @internal
 */
export interface Session extends Turn.Connection {
  readonly forkThread: (threadId: string, options?: ForkOptions) => Effect.Effect<Thread, CodexError.CodexError>
  readonly archiveThread: (threadId: string) => Effect.Effect<void, CodexError.CodexError>
}

/** How long `compact` waits for codex to start the compaction turn after `thread/compact/start` answered. */
const COMPACT_START_TIMEOUT = Duration.seconds(10)

/**
 * A thread handle on the session's connection.
 *
 * @internal
 */
export const make = (session: Session, info: Protocol.Thread): Thread => {
  const threadId = info.id
  // a turn's `model` applies to it and the turns after it (the protocol's rule)
  let model = info.model ?? undefined
  const start = (
    input: Input.Input,
    options: (Turn.Options & { readonly outputSchema?: Turn.AnyOutputSchema | undefined }) | undefined,
    output: Parameters<typeof Turn.start>[4]
  ) => {
    if (typeof options?.model === "string") model = options.model
    return Turn.start(session, threadId, input, options, output, model)
  }
  const run = (input: Input.Input, options?: Turn.Options & { readonly outputSchema?: Turn.AnyOutputSchema }) =>
    Turn.prepareOutput(options?.outputSchema).pipe(
      Effect.flatMap((output) =>
        Effect.scoped(
          start(input, options, output).pipe(
            Effect.flatMap((turn) => turn.result),
            Effect.flatMap((result) =>
              output === undefined ? Effect.succeed(result) : output.decode(result.finalResponse ?? "").pipe(
                Effect.map((value) => ({ ...result, output: value })),
                Effect.mapError((error) =>
                  CodexError.make(new CodexError.OutputDecodeError({ text: error.text, description: error.message }))
                )
              )
            )
          )
        )
      ),
      Effect.withSpan("Thread.run", { attributes: { "codex.thread_id": threadId } })
    )
  return {
    id: threadId,
    info,
    run: run as Thread["run"],
    turn: (input, options) =>
      Turn.prepareOutput(options !== undefined && "outputSchema" in options ? options.outputSchema : undefined).pipe(
        Effect.flatMap((output) => start(input, options, output)),
        Effect.withSpan("Thread.turn", { attributes: { "codex.thread_id": threadId } })
      ),
    read: (options) =>
      session.client.request("thread/read", { ...options, threadId }).pipe(Effect.withSpan("Thread.read")),
    setName: (name) =>
      session.client.request("thread/name/set", { threadId, name }).pipe(Effect.asVoid, Effect.withSpan("Thread.setName")),
    // `thread/compact/start` answers `{}` at once and then runs the
    // compaction as a turn of its own; a `turn/start` sent meanwhile fails
    // ("ActiveTurnNotSteerable { turn_kind: Compact }"). So `compact` waits for
    // that turn to end (it fails with TurnFailed if the compaction fails, and
    // interrupting it interrupts the compaction turn, as for `run`).
    compact: Effect.suspend(() => {
      session.router.beginStart(threadId)
      return session.client.request("thread/compact/start", { threadId }).pipe(
        // Option.none: codex started no compaction turn, nothing to wait for
        Effect.andThen(session.router.awaitUnclaimed(threadId).pipe(Effect.timeoutOption(COMPACT_START_TIMEOUT))),
        Effect.ensuring(Effect.sync(() => session.router.endStart(threadId)))
      )
    }).pipe(
      // `result` sends turn/interrupt if the fiber is interrupted while it waits
      Effect.flatMap((state) =>
        state._tag === "None" ? Effect.void : Turn.make(session, state.value, Turn.DEFAULT_INTERRUPT_TIMEOUT).result
      ),
      Effect.asVoid,
      Effect.withSpan("Thread.compact")
    ),
    fork: (options) => session.forkThread(threadId, options),
    archive: session.archiveThread(threadId)
  }
}
