/**
 * How `effect-codex` ends when something went wrong: a failure already reported on stderr, carrying
 * the exit code (`runMain` reads it through `Runtime.errorExitCode` and logs nothing more).
 *
 * @internal
 */
import { Data } from "../../schema/internal/effect.ts"
import * as Runtime from "effect/Runtime"
/**
 * Exit codes beyond 0 (done) and 130 (interrupted, Ctrl-C; `runMain`'s own). 141 is the shells' code
 * for a reader gone away (128 + SIGPIPE).
 *
 * @internal
 */
export const EXIT = { error: 1, usage: 2, timeout: 124, stdoutClosed: 141 } as const

/**
 * A failure already shown to the user, with the exit code to end with.
 *
 * @internal
 */
export class Failure extends Data.TaggedError("CliFailure")<{ readonly message: string; readonly exitCode: number }> {
  /** The process exit code. */
  override get [Runtime.errorExitCode](): number {
    return this.exitCode
  }
  /** Already reported: `runMain` does not log it again. */
  override get [Runtime.errorReported](): boolean {
    return false
  }
}
