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
import { Duration, Effect, type Schema, type Scope, Stream } from "../schema/internal/effect.ts"
import * as CodexError from "../schema/CodexError.ts"
import type * as Protocol from "../schema/generated/Protocol.gen.ts"
import type * as Input from "../schema/Input.ts"
import type * as TurnResult from "../streams/TurnResult.ts"
import type * as CodexTool from "./CodexTool.ts"
import type * as History from "./internal/history.ts"
import * as Review from "./internal/review.ts"
import * as Telemetry from "./internal/telemetry.ts"
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

  // --- Review -----------------------------------------------------------------

  /**
   * Starts a code review (`review/start`) of uncommitted changes, a base
   * branch, a commit or by custom instructions, and returns its handle once
   * codex accepted it: a {@link Turn.Turn} with the review's events and
   * result (`finalResponse` is the review codex wrote; the items hold
   * `enteredReviewMode` and `exitedReviewMode`). The review runs in a fresh
   * model context (codex's review prompt, not the thread's history) and its
   * turn is recorded on the thread (or on the thread codex answers as
   * `reviewThreadId`: the handle's `threadId`). Closing the Scope before it
   * ends interrupts it.
   */
  readonly review: (
    target: Protocol.ReviewTarget,
    options?: ReviewOptions
  ) => Effect.Effect<Turn.Turn, CodexError.CodexError, Scope.Scope>

  // --- History ----------------------------------------------------------------

  /**
   * Drops the turn `beforeTurnId` and every later one from the thread's
   * history (`thread/revert`); the next turn sees only what came before.
   * Files the dropped turns changed stay as they are.
   */
  readonly revert: (beforeTurnId: string) => Effect.Effect<Protocol.ThreadRevertResponse, CodexError.CodexError>
  /** One page of the thread's stored turns (codex's default order: newest first). */
  readonly listTurns: (
    options?: Omit<Protocol.ThreadTurnsListParams, "threadId">
  ) => Effect.Effect<Protocol.ThreadTurnsListResponse, CodexError.CodexError>
  /** Every stored turn, over all pages (newest first unless `sortDirection: "asc"`). */
  readonly turns: (
    options?: Omit<Protocol.ThreadTurnsListParams, "threadId" | "cursor">
  ) => Stream.Stream<Protocol.Turn, CodexError.CodexError>
  /** One page of the thread's stored items, each with its turn id (oldest first). */
  readonly listItems: (
    options?: Omit<Protocol.ThreadItemsListParams, "threadId">
  ) => Effect.Effect<Protocol.ThreadItemsListResponse, CodexError.CodexError>
  /** Every stored item, over all pages (oldest first unless `sortDirection: "desc"`). */
  readonly items: (
    options?: Omit<Protocol.ThreadItemsListParams, "threadId" | "cursor">
  ) => Stream.Stream<Protocol.ThreadItemEntry, CodexError.CodexError>
  /** Deletes the thread and its stored history (`thread/delete`). */
  readonly delete: Effect.Effect<void, CodexError.CodexError>
  /**
   * Stops this connection's subscription to the thread's events
   * (`thread/unsubscribe`). codex keeps accepting turns on it but sends their
   * events no more, so the handle refuses to start turns afterwards
   * (`InvalidOptions`), and refuses to unsubscribe while a turn it started
   * runs (it would never end): `Codex.resumeThread` subscribes again.
   */
  readonly unsubscribe: Effect.Effect<Protocol.ThreadUnsubscribeResponse, CodexError.CodexError>
  /** Patches the thread's stored metadata (`thread/metadata/update`: its git info, ...). */
  readonly updateMetadata: (
    patch: Omit<Protocol.ThreadMetadataUpdateParams, "threadId">
  ) => Effect.Effect<Protocol.ThreadMetadataUpdateResponse, CodexError.CodexError>

  // --- Goals ------------------------------------------------------------------

  /**
   * Sets the thread's goal (`thread/goal/set`: `objective`, `status`,
   * `tokenBudget`). An `active` goal on an idle thread makes codex start a
   * turn by itself toward it, and another after each one, until the goal is
   * complete, blocked or out of budget; set `status: "paused"` to only store it.
   */
  readonly setGoal: (
    goal: Omit<Protocol.ThreadGoalSetParams, "threadId">
  ) => Effect.Effect<Protocol.ThreadGoalSetResponse, CodexError.CodexError>
  /** The thread's goal, if any (`thread/goal/get`). */
  readonly goal: Effect.Effect<Protocol.ThreadGoalGetResponse, CodexError.CodexError>
  /** Clears the thread's goal (`thread/goal/clear`; `cleared` says whether there was one). */
  readonly clearGoal: (
    options?: Omit<Protocol.ThreadGoalClearParams, "threadId">
  ) => Effect.Effect<Protocol.ThreadGoalClearResponse, CodexError.CodexError>
}

/**
 * Options of `thread.review`: the protocol's own `review/start` fields
 * (`delivery`), plus how long an interrupted review may take to end.
 *
 * @category models
 * @since 0.1.0
 */
export interface ReviewOptions extends Omit<Protocol.ReviewStartParams, "threadId" | "target"> {
  /** As for turns: how long an interrupted review may take to end. Default 5 seconds. */
  readonly interruptTimeout?: Duration.Input | undefined
}

/**
 * Options of `Codex.startThread`: the protocol's own `thread/start` fields,
 * plus client tools.
 *
 * @category models
 * @since 0.1.0
 */
export interface StartOptions extends Omit<Protocol.ThreadStartParams, "dynamicTools"> {
  /**
   * Tools this program provides; codex calls them during turns (experimental API).
   * The connection keeps them for the thread (a resume without `tools` still answers
   * their calls) until codex announces the thread deleted or closed (codex closes a
   * thread no connection is subscribed to, a while after the last one left); a resume
   * after that passes `tools` again.
   */
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
  readonly unsubscribeThread: (
    threadId: string
  ) => Effect.Effect<Protocol.ThreadUnsubscribeResponse, CodexError.CodexError>
  readonly history: History.History
  /** Threads this connection unsubscribed from (and did not resume since): their turns would get no events. */
  readonly unsubscribed: ReadonlySet<string>
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
  const attributes = { "codex.thread_id": threadId }
  const history = session.history
  // codex would run the turn but send this connection none of its events: it would never end here
  const subscribed = Effect.suspend(() =>
    session.unsubscribed.has(threadId)
      ? Effect.fail(CodexError.make(
        new CodexError.InvalidOptions({
          description: `thread ${threadId} was unsubscribed on this connection: resume it (Codex.resumeThread) to run turns`
        })
      ))
      : Effect.void
  )
  const run = (input: Input.Input, options?: Turn.Options & { readonly outputSchema?: Turn.AnyOutputSchema }) =>
    subscribed.pipe(
      Effect.andThen(Turn.prepareOutput(options?.outputSchema)),
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
      Effect.withSpan("Thread.run", { attributes })
    )
  return {
    id: threadId,
    info,
    run: run as Thread["run"],
    turn: (input, options) =>
      subscribed.pipe(
        Effect.andThen(
          Turn.prepareOutput(options !== undefined && "outputSchema" in options ? options.outputSchema : undefined)
        ),
        Effect.flatMap((output) => start(input, options, output)),
        Effect.withSpan("Thread.turn", { attributes })
      ),
    read: (options) =>
      session.client.request("thread/read", { ...options, threadId }).pipe(Effect.withSpan("Thread.read")),
    setName: (name) =>
      session.client.request("thread/name/set", { threadId, name }).pipe(Effect.asVoid, Effect.withSpan("Thread.setName")),
    // `thread/compact/start` answers `{}` at once and then runs the
    // compaction as a turn of its own; a `turn/start` sent meanwhile fails
    // ("ActiveTurnNotSteerable { turn_kind: Compact }"). So `compact` waits for
    // that turn to end (it fails with TurnFailed if the compaction fails, and
    // interrupting it interrupts the compaction turn, as for `run`). Its span
    // is the compaction's, as a Turn span is a turn's: the turn id, status and
    // token usage (and the metrics) come from that turn.
    compact: Effect.suspend(() => {
      const current = model
      return subscribed.pipe(
        Effect.andThen(Effect.suspend(() => {
          session.router.beginStart(threadId)
          return session.client.request("thread/compact/start", { threadId }).pipe(
            // Option.none: codex started no compaction turn, nothing to wait for
            Effect.andThen(session.router.awaitUnclaimed(threadId).pipe(Effect.timeoutOption(COMPACT_START_TIMEOUT))),
            Effect.ensuring(Effect.sync(() => session.router.endStart(threadId)))
          )
        })),
        // `result` sends turn/interrupt if the fiber is interrupted while it waits
        Effect.flatMap((state) =>
          state._tag === "None" ? Effect.void : Telemetry.trackCompaction(state.value, current).pipe(
            Effect.andThen(Turn.make(session, state.value, Turn.DEFAULT_INTERRUPT_TIMEOUT).result)
          )
        ),
        Effect.asVoid,
        Effect.withSpan("Thread.compact", {
          attributes: current === undefined ? attributes : { ...attributes, "codex.model": current }
        })
      )
    }),
    fork: (options) => session.forkThread(threadId, options),
    archive: session.archiveThread(threadId),
    review: (target, options = {}) =>
      subscribed.pipe(
        Effect.andThen(Review.start(session, threadId, target, options)),
        Effect.withSpan("Thread.review", { attributes: { ...attributes, "codex.review_target": target.type } })
      ),
    revert: (beforeTurnId) => history.revert(threadId, beforeTurnId).pipe(Effect.withSpan("Thread.revert", { attributes })),
    listTurns: (options) => history.listTurns(threadId, options).pipe(Effect.withSpan("Thread.listTurns", { attributes })),
    turns: (options) => history.turns(threadId, options).pipe(Stream.withSpan("Thread.turns", { attributes })),
    listItems: (options) => history.listItems(threadId, options).pipe(Effect.withSpan("Thread.listItems", { attributes })),
    items: (options) => history.items(threadId, options).pipe(Stream.withSpan("Thread.items", { attributes })),
    delete: history.delete(threadId).pipe(Effect.withSpan("Thread.delete", { attributes })),
    unsubscribe: session.unsubscribeThread(threadId).pipe(Effect.withSpan("Thread.unsubscribe", { attributes })),
    updateMetadata: (patch) =>
      history.updateMetadata(threadId, patch).pipe(Effect.withSpan("Thread.updateMetadata", { attributes })),
    setGoal: (goal) => history.setGoal(threadId, goal).pipe(Effect.withSpan("Thread.setGoal", { attributes })),
    goal: history.goal(threadId).pipe(Effect.withSpan("Thread.goal", { attributes })),
    clearGoal: (options) => history.clearGoal(threadId, options).pipe(Effect.withSpan("Thread.clearGoal", { attributes }))
  }
}
