/**
 * A command codex runs outside any turn (`command/exec`): an argv vector run
 * under the server's sandbox, with its output as a `Stream`, stdin writes,
 * terminal resizes and termination, tied to a Scope.
 *
 * ```ts
 * import { Console, Effect, Stream } from "effect"
 * import { Codex, Command } from "effect-codex"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const command = yield* Codex.command(["sh", "-c", "read name; echo hello $name"])
 *   yield* command.write("world\n")
 *   yield* command.closeStdin
 *   yield* command.output.pipe(Command.text("stdout"), Stream.runForEach((text) => Console.log(text)))
 *   const { exitCode } = yield* command.exit
 *   yield* Console.log(`exit code ${exitCode}`)
 * }))
 * ```
 *
 * Closing the Scope while the command runs terminates it, and so does
 * interrupting a fiber that waits on `exit`. For a command whose output you
 * only need at the end, `Codex.exec` returns codex's buffered answer.
 *
 * @stability experimental
 * @since 0.1.0
 */
import { type Duration, type Effect, Stream } from "../schema/internal/effect.ts"
import type * as CodexError from "../schema/CodexError.ts"
import type * as Protocol from "../schema/generated/Protocol.gen.ts"

/**
 * One chunk of output, as codex streamed it (`command/exec/outputDelta`).
 *
 * @category models
 * @since 0.1.0
 */
export interface Output {
  /** `"stdout"` or `"stderr"` (a tty has only stdout). */
  readonly stream: Protocol.CommandExecOutputStream
  readonly bytes: Uint8Array
  /**
   * `true` on the last chunk of a stream cut at `outputBytesCap` (by default
   * codex keeps 1 MiB per stream and drops the rest).
   */
  readonly capReached: boolean
}

/**
 * A running (or finished) command.
 *
 * - `output`: every chunk from the first one, ending when the process exits;
 *   every run sees the whole output, and it may be run alongside `exit`. It
 *   fails with the command's error if codex could not run it.
 * - `write` / `closeStdin`: stdin, when the command was started with `stdin`
 *   (the default).
 * - `resize`: the terminal size of a `tty` command.
 * - `terminate`: asks codex to kill the process and waits for it to exit.
 * - `exit`: waits for the exit; codex's answer has the exit code (`stdout`
 *   and `stderr` are empty: they were streamed). A command killed by codex
 *   exits with 137, one past its `timeoutMs` with 124. Interrupting the
 *   fiber that waits terminates the command.
 *
 * @category models
 * @since 0.1.0
 */
export interface Command {
  /** The connection-scoped id codex knows the process by. */
  readonly processId: string
  readonly output: Stream.Stream<Output, CodexError.CodexError>
  /** Writes to the command's stdin (a string is sent as UTF-8). */
  readonly write: (input: string | Uint8Array) => Effect.Effect<void, CodexError.CodexError>
  /** Closes the command's stdin. */
  readonly closeStdin: Effect.Effect<void, CodexError.CodexError>
  /** Resizes the terminal of a `tty` command. */
  readonly resize: (size: Protocol.CommandExecTerminalSize) => Effect.Effect<void, CodexError.CodexError>
  /**
   * Kills the process and waits (at most `terminateTimeout`) for it to exit.
   * A codex race (0.169, 0.171): a terminate that arrives while codex's
   * sandbox is still starting the process (its first ~50 ms) is answered,
   * the exit (137) follows 2 s later, yet the process goes on running.
   */
  readonly terminate: Effect.Effect<void, CodexError.CodexError>
  /** Waits for the process to exit. */
  readonly exit: Effect.Effect<Protocol.CommandExecResponse, CodexError.CodexError>
}

/**
 * Options of `Codex.command`: the protocol's own `command/exec` fields (`cwd`,
 * `env`, `sandboxPolicy`, `timeoutMs`, `tty`, `size`, `outputBytesCap`, ...);
 * the output is always streamed.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options
  extends Omit<Protocol.CommandExecParams, "command" | "processId" | "streamStdin" | "streamStdoutStderr">
{
  /** Whether `write` may feed the command's stdin (codex keeps it open until `closeStdin`). Default `true`. */
  readonly stdin?: boolean | undefined
  /**
   * How long a terminated command (`terminate`, Scope closed, fiber
   * interrupted) may take to exit before the client stops waiting. Default 5 seconds.
   */
  readonly terminateTimeout?: Duration.Input | undefined
}

/**
 * Options of `Codex.exec`: the protocol's own `command/exec` fields, output
 * buffered by codex (stdin is closed, there is no terminal).
 *
 * @category models
 * @since 0.1.0
 */
export interface ExecOptions extends
  Omit<
    Protocol.CommandExecParams,
    "command" | "processId" | "streamStdin" | "streamStdoutStderr" | "tty" | "size"
  >
{
  /** How long an interrupted `exec` waits for the process to exit. Default 5 seconds. */
  readonly terminateTimeout?: Duration.Input | undefined
}

/**
 * The output as text (UTF-8, a character split across chunks kept whole), of
 * one stream or of both.
 *
 * @category combinators
 * @since 0.1.0
 */
export const text = (stream?: "stdout" | "stderr") =>
<E, R>(self: Stream.Stream<Output, E, R>): Stream.Stream<string, E, R> =>
  Stream.suspend(() => {
    const decoders = new Map<string, TextDecoder>()
    return self.pipe(
      Stream.filter((chunk) => stream === undefined || chunk.stream === stream),
      Stream.map((chunk) => {
        let decoder = decoders.get(chunk.stream)
        if (decoder === undefined) decoders.set(chunk.stream, decoder = new TextDecoder())
        return decoder.decode(chunk.bytes, { stream: true })
      }),
      Stream.filter((text) => text.length > 0)
    )
  })
