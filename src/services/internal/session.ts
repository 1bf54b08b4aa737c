/**
 * The implementation behind `Thread` and `Turn` handles.
 */
import { Duration, Effect, Exit, Schema, Scope } from "effect"
import * as Input from "../../schema/Input.ts"
import * as OutputSchema from "../../schema/OutputSchema.ts"
import type * as Protocol from "../../schema/generated/Protocol.gen.ts"
import type { Router, TurnState } from "../../streams/internal/router.ts"
import * as TurnResult from "../../streams/TurnResult.ts"
import type * as AppServerClient from "../AppServerClient.ts"
import * as CodexError from "../CodexError.ts"
import type * as Thread from "../Thread.ts"
import type * as Turn from "../Turn.ts"

/** What thread and turn handles share: the connection and its router. */
export interface Session {
  readonly client: AppServerClient.Service
  readonly router: Router
  readonly forkThread: (threadId: string, options?: Thread.ForkOptions) => Effect.Effect<Thread.Thread, CodexError.CodexError>
  readonly archiveThread: (threadId: string) => Effect.Effect<void, CodexError.CodexError>
}

const DEFAULT_INTERRUPT_TIMEOUT = Duration.seconds(5)

/** Sends `turn/interrupt` and waits (bounded) for the turn to end. Never fails: used in finalizers. */
const interruptAndAwait = (session: Session, state: TurnState, timeout: Duration.Duration) =>
  Effect.suspend(() =>
    state.ended ? Effect.void : session.client.request("turn/interrupt", {
      threadId: state.threadId,
      turnId: state.turnId
    }).pipe(
      Effect.ignore,
      Effect.andThen(state.awaitEnd),
      Effect.timeoutOption(timeout),
      Effect.ignore
    )
  )

const makeTurn = (session: Session, state: TurnState, interruptTimeout: Duration.Duration): Turn.Turn => {
  const result = Effect.suspend(() => state.awaitEnd).pipe(
    Effect.onInterrupt(() => interruptAndAwait(session, state, interruptTimeout)),
    Effect.flatMap(() => {
      const collected = TurnResult.collect(state.events, performance.now() - state.startedAt)
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
      }).pipe(Effect.asVoid, Effect.withSpan("Turn.steer")),
    interrupt: Effect.suspend(() => state.ended ? Effect.void : session.client.request("turn/interrupt", {
      threadId: state.threadId,
      turnId: state.turnId
    })).pipe(
      // the turn may have ended between the check and the request
      Effect.catchIf(
        (error) => error.reason._tag === "RpcError" && state.ended,
        () => Effect.void
      ),
      Effect.andThen(state.awaitEnd.pipe(Effect.timeoutOption(interruptTimeout))),
      Effect.asVoid,
      Effect.withSpan("Turn.interrupt")
    )
  }
}

type AnyOutputSchema = Schema.Top | Turn.JsonSchemaObject

const prepareOutput = (
  outputSchema: AnyOutputSchema | undefined
): Effect.Effect<OutputSchema.OutputSchema<unknown> | undefined, CodexError.CodexError> => {
  if (outputSchema === undefined) return Effect.succeed(undefined)
  if (!Schema.isSchema(outputSchema)) return Effect.succeed(OutputSchema.fromJsonSchema(outputSchema))
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
  const timeout = interruptTimeout === undefined ? DEFAULT_INTERRUPT_TIMEOUT : Duration.fromInputUnsafe(interruptTimeout)
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
    compact: session.client.request("thread/compact/start", { threadId }).pipe(
      Effect.asVoid,
      Effect.withSpan("Thread.compact")
    ),
    fork: (options) => session.forkThread(threadId, options),
    archive: session.archiveThread(threadId)
  }
}
