/**
 * `command/exec` as a scoped handle: the request runs in a fiber of the
 * handle's Scope, its output notifications are collected by process id, and
 * closing the Scope before the process exits sends `command/exec/terminate`.
 *
 * @internal
 */
import { Base64, Cause, Duration, Effect, Exit, Result, type Scope, Stream } from "../../schema/internal/effect.ts"
import type * as Arr from "effect/Array"
import * as CodexError from "../../schema/CodexError.ts"
import type * as Protocol from "../../schema/generated/Protocol.gen.ts"
import type * as AppServerClient from "../AppServerClient.ts"
import type * as Command from "../Command.ts"
import { Signal } from "../../streams/internal/signal.ts"
import * as Checks from "./options.ts"

/** How long a terminated command may take to exit by default. */
const DEFAULT_TERMINATE_TIMEOUT = Duration.seconds(5)

/** How soon `command/exec/terminate` is sent again after codex did not know the process yet. */
const TERMINATE_RETRY = Duration.millis(100)

const encoder = new TextEncoder()

/** The output and the end of one process, read by any number of streams. */
class CommandState {
  readonly chunks: Array<Command.Output> = []
  exit: Exit.Exit<Protocol.CommandExecResponse, CodexError.CodexError> | undefined
  private readonly signal = new Signal()

  push(chunk: Command.Output): void {
    if (this.exit !== undefined) return
    this.chunks.push(chunk)
    this.signal.wake()
  }

  end(exit: Exit.Exit<Protocol.CommandExecResponse, CodexError.CodexError>): void {
    if (this.exit !== undefined) return
    this.exit = exit
    this.signal.wake()
  }

  get changed(): Effect.Effect<void> {
    return this.signal.wait
  }

  readonly awaitExit: Effect.Effect<Protocol.CommandExecResponse, CodexError.CodexError> = Effect.suspend(() =>
    this.exit ?? Effect.flatMap(this.changed, () => this.awaitExit)
  )

  readonly stream: Stream.Stream<Command.Output, CodexError.CodexError> = Stream.fromPull(Effect.sync(() => {
    let index = 0
    const pull: Effect.Effect<Arr.NonEmptyReadonlyArray<Command.Output>, CodexError.CodexError | Cause.Done> =
      Effect.suspend(() => {
        if (index < this.chunks.length) {
          const chunk = this.chunks.slice(index) as unknown as Arr.NonEmptyReadonlyArray<Command.Output>
          index = this.chunks.length
          return Effect.succeed(chunk)
        }
        if (this.exit === undefined) return Effect.flatMap(this.changed, () => pull)
        return Exit.isSuccess(this.exit) ? Effect.fail(Cause.Done()) : Effect.failCause(this.exit.cause)
      })
    return pull
  }))
}

/** A process id codex has not seen on this connection. */
const freshProcessId = () => `effect-codex-${crypto.randomUUID()}`

/**
 * Starts `command/exec` and returns its handle once the request is sent.
 *
 * @internal
 */
export const start = (
  client: AppServerClient.Service,
  params: Protocol.CommandExecParams,
  terminateTimeout: Duration.Input | undefined
): Effect.Effect<Command.Command, CodexError.CodexError, Scope.Scope> => {
  const checked = Checks.duration("terminateTimeout", terminateTimeout, DEFAULT_TERMINATE_TIMEOUT)
  if (Result.isFailure(checked)) return Effect.fail(checked.failure)
  const timeout = checked.success
  const processId = params.processId ?? freshProcessId()
  const state = new CommandState()

  // codex kills it with SIGKILL. It answers "no active command/exec" while it
  // has not spawned the process yet and after it exited: until the exit is
  // known, that answer means "try again".
  const terminate: Effect.Effect<void, CodexError.CodexError> = Effect.suspend(() => {
    let lastError: CodexError.CodexError | undefined
    const attempt: Effect.Effect<void, CodexError.CodexError> = Effect.suspend(() =>
      state.exit !== undefined ? Effect.void : client.request("command/exec/terminate", { processId }).pipe(
        Effect.andThen(Effect.ignore(state.awaitExit)),
        Effect.catchIf(
          (error) => error.reason._tag === "RpcError",
          (error) =>
            Effect.sync(() => void (lastError = error)).pipe(
              Effect.andThen(Effect.ignore(state.awaitExit).pipe(Effect.timeoutOption(TERMINATE_RETRY))),
              Effect.andThen(attempt)
            )
        )
      )
    )
    return attempt.pipe(
      Effect.timeoutOption(timeout),
      Effect.andThen(Effect.suspend(() =>
        state.exit !== undefined || lastError === undefined ? Effect.void : Effect.fail(lastError)
      ))
    )
  })
  const terminateQuietly = Effect.suspend(() => state.exit !== undefined ? Effect.void : Effect.ignore(terminate))

  return Effect.gen(function*() {
    // On the reader: every chunk is recorded before the answer that ends the process is.
    yield* client.listen((notification) => {
      if (notification._tag !== "Notification" || notification.method !== "command/exec/outputDelta") return
      const delta = notification.params
      if (delta.processId !== processId) return
      const bytes = Base64.decode(delta.deltaBase64)
      state.push({
        stream: delta.stream,
        bytes: Result.isSuccess(bytes) ? bytes.success : encoder.encode(delta.deltaBase64),
        capReached: delta.capReached
      })
    })
    // A command runs as long as it runs: codex bounds it (`timeoutMs`), not the request timeout.
    yield* client.request("command/exec", { ...params, processId }, { timeout: Duration.infinity }).pipe(
      Effect.exit,
      Effect.flatMap((exit) => Effect.sync(() => state.end(exit))),
      Effect.forkScoped({ startImmediately: true })
    )
    // Added after the fork, so it runs before the request fiber is interrupted.
    yield* Effect.addFinalizer(() => terminateQuietly)

    const write = (input: string | Uint8Array, closeStdin: boolean) =>
      client.request("command/exec/write", {
        processId,
        ...(input.length === 0 ? {} : { deltaBase64: Base64.encode(input) }),
        ...(closeStdin ? { closeStdin: true } : {})
      }).pipe(Effect.asVoid)

    return {
      processId,
      output: state.stream,
      write: (input) => write(input, false).pipe(Effect.withSpan("Command.write")),
      closeStdin: write("", true).pipe(Effect.withSpan("Command.closeStdin")),
      resize: (size) =>
        client.request("command/exec/resize", { processId, size }).pipe(
          Effect.asVoid,
          Effect.withSpan("Command.resize")
        ),
      terminate: terminate.pipe(Effect.withSpan("Command.terminate")),
      exit: state.awaitExit.pipe(Effect.onInterrupt(() => terminateQuietly))
    } satisfies Command.Command
  })
}
