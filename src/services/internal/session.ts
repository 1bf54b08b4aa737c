/**
 * The implementation behind `Thread` and `Turn` handles.
 */
import { Duration, Effect, Exit, Result, Schema, Scope } from "effect"
import * as Input from "../../schema/Input.ts"
import * as OutputSchema from "../../schema/OutputSchema.ts"
import type * as Protocol from "../../schema/generated/Protocol.gen.ts"
import type { Router, TurnState } from "../../streams/internal/router.ts"
import * as TurnResult from "../../streams/TurnResult.ts"
import type * as AppServerClient from "../AppServerClient.ts"
import * as CodexError from "../CodexError.ts"
import type * as Thread from "../Thread.ts"
import type * as Turn from "../Turn.ts"
import * as Checks from "./options.ts"

/** What thread and turn handles share: the connection and its router. */
export interface Session {
  readonly client: AppServerClient.Service
  readonly router: Router
  readonly forkThread: (threadId: string, options?: Thread.ForkOptions) => Effect.Effect<Thread.Thread, CodexError.CodexError>
  readonly archiveThread: (threadId: string) => Effect.Effect<void, CodexError.CodexError>
}

const DEFAULT_INTERRUPT_TIMEOUT = Duration.seconds(5)

/** How soon `turn/interrupt` is sent again after codex rejected it (see `interruptTurn`). */
const INTERRUPT_RETRY = Duration.millis(100)

/** How long `compact` waits for codex to start the compaction turn after `thread/compact/start` answered. */
const COMPACT_START_TIMEOUT = Duration.seconds(10)

/** Waits until codex has started the turn (`turn/started`) or the turn ended. */
const awaitStarted = (state: TurnState): Effect.Effect<void> =>
  Effect.suspend(() => state.started || state.ended ? Effect.void : Effect.flatMap(state.changed, () => awaitStarted(state)))

/**
 * Interrupts a turn: sends `turn/interrupt` and waits for the turn to end, at
 * most `timeout`. Fails only with the connection's error, or with codex's
 * RpcError when the turn did not end in time.
 *
 * Fix: codex 0.169 answers `turn/interrupt` with -32600 "no active turn to
 * interrupt" from the `turn/start` response until `turn/started` (observed
 * 10-90 ms later). An interrupt sent right after `thread.turn` (or when the
 * fiber of `thread.run` was interrupted while `turn/start` was in flight)
 * failed with that error or was ignored, and the turn ran on (the
 * interrupted `run` then waited the whole `interruptTimeout`, the turn kept
 * running in codex). So: wait (briefly) for `turn/started`, send, and while
 * codex answers with an RpcError and the turn has not ended, send again every
 * {@link INTERRUPT_RETRY}. This also absorbs the error codex gives when the
 * turn just ended and its `turn/completed` has not reached the router yet.
 */
const interruptTurn = (
  session: Session,
  state: TurnState,
  timeout: Duration.Duration
): Effect.Effect<void, CodexError.CodexError> =>
  Effect.suspend(() => {
    let lastError: CodexError.CodexError | undefined
    const attempt: Effect.Effect<void, CodexError.CodexError> = Effect.suspend(() =>
      state.ended ? Effect.void : session.client.request("turn/interrupt", {
        threadId: state.threadId,
        turnId: state.turnId
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
const interruptAndAwait = (session: Session, state: TurnState, timeout: Duration.Duration) =>
  Effect.suspend(() => state.ended ? Effect.void : Effect.ignore(interruptTurn(session, state, timeout)))

const makeTurn = (session: Session, state: TurnState, interruptTimeout: Duration.Duration): Turn.Turn => {
  const result = Effect.suspend(() => state.awaitEnd).pipe(
    Effect.onInterrupt(() => interruptAndAwait(session, state, interruptTimeout)),
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
      session.client.request("turn/steer", {
        threadId: state.threadId,
        expectedTurnId: state.turnId,
        input: [...Input.toItems(input)]
      }).pipe(Effect.withSpan("Turn.steer")),
    interrupt: interruptTurn(session, state, interruptTimeout).pipe(
      Effect.withSpan("Turn.interrupt")
    )
  }
}

type AnyOutputSchema = Schema.Top | Turn.JsonSchemaObject

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

const prepareOutput = (
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

/** Starts a turn: buffers its events from before the response, claims them, ties its end to the Scope. */
const startTurn = (
  session: Session,
  threadId: string,
  input: Input.Input,
  options: (Turn.Options & { readonly outputSchema?: AnyOutputSchema | undefined }) | undefined,
  output: OutputSchema.OutputSchema<unknown> | undefined
): Effect.Effect<Turn.Turn, CodexError.CodexError, Scope.Scope> => {
  const { interruptTimeout, outputSchema: _, ...params } = options ?? {}
  const checked = Checks.duration("interruptTimeout", interruptTimeout, DEFAULT_INTERRUPT_TIMEOUT)
  if (Result.isFailure(checked)) return Effect.fail(checked.failure)
  const timeout = checked.success
  const start = Effect.suspend(() => {
    session.router.beginStart(threadId)
    return session.client.request("turn/start", {
      ...params,
      threadId,
      input: [...Input.toItems(input)],
      ...(output === undefined ? {} : { outputSchema: output.jsonSchema as Schema.Json })
    }).pipe(
      Effect.map((response) => session.router.claim(threadId, response.turn.id)),
      Effect.ensuring(Effect.sync(() => session.router.endStart(threadId)))
    )
  })
  return Effect.acquireRelease(start, (state, exit) =>
    // A turn whose Scope closes before it ends is interrupted (also when the
    // acquiring fiber itself was interrupted).
    Exit.isSuccess(exit) && state.ended ? Effect.void : interruptAndAwait(session, state, timeout)).pipe(
      Effect.map((state) => makeTurn(session, state, timeout))
    )
}

/** Makes a thread handle. */
export const makeThread = (session: Session, info: Protocol.Thread): Thread.Thread => {
  const threadId = info.id
  const run = (input: Input.Input, options?: Turn.Options & { readonly outputSchema?: AnyOutputSchema }) =>
    prepareOutput(options?.outputSchema).pipe(
      Effect.flatMap((output) =>
        Effect.scoped(
          startTurn(session, threadId, input, options, output).pipe(
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
    run: run as Thread.Thread["run"],
    turn: (input, options) =>
      prepareOutput(options !== undefined && "outputSchema" in options ? options.outputSchema : undefined).pipe(
        Effect.flatMap((output) => startTurn(session, threadId, input, options, output)),
        Effect.withSpan("Thread.turn", { attributes: { "codex.thread_id": threadId } })
      ),
    read: (options) =>
      session.client.request("thread/read", { ...options, threadId }).pipe(Effect.withSpan("Thread.read")),
    setName: (name) =>
      session.client.request("thread/name/set", { threadId, name }).pipe(Effect.asVoid, Effect.withSpan("Thread.setName")),
    // Fix: `thread/compact/start` answers `{}` at once and then runs the
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
        state._tag === "None" ? Effect.void : makeTurn(session, state.value, DEFAULT_INTERRUPT_TIMEOUT).result
      ),
      Effect.asVoid,
      Effect.withSpan("Thread.compact")
    ),
    fork: (options) => session.forkThread(threadId, options),
    archive: session.archiveThread(threadId)
  }
}
