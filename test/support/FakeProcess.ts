/**
 * A child process with no process behind it: a `ChildProcessSpawner` layer
 * whose one handle the test drives (bytes on stdout and stderr, the exit) and
 * inspects (what arrived on stdin, the command, the signals sent).
 *
 * It keeps the promises of the Node spawner's handle that `Transport.stdio`
 * relies on: `exitCode` fails with the same "receipt of signal: 'X'" message
 * when a signal ended the process, and `kill` waits for the exit, sending
 * SIGKILL after `forceKillAfter` (on the clock, so TestClock drives it) when
 * the first signal is ignored. Every time is read from the Clock.
 */
import { Cause, Clock, Deferred, Effect, Layer, Option, PlatformError, Queue, Sink, Stream } from "effect"
import { type ChildProcess, ChildProcessSpawner } from "effect/process"

/** A signal that reached the fake, and the clock time (ms) it arrived at. */
export interface SignalSent {
  readonly signal: ChildProcess.Signal
  readonly at: number
}

/** How the fake process behaves. */
export interface Options {
  /**
   * What the process does when its stdin ends (default: nothing, it keeps
   * running). It runs in the transport's writer fiber, as the end of its write.
   */
  readonly onStdinEnd?: ((process: FakeProcess) => Effect.Effect<void>) | undefined
  /** Whether the process survives SIGTERM (default: it dies of it). SIGKILL always ends it. */
  readonly ignoreSigterm?: boolean | undefined
  /** How many stdout chunks wait for the reader before a write waits too, like a pipe's buffer (default: no bound). */
  readonly stdoutCapacity?: number | undefined
}

/** The fake process: its controls and what it saw. */
export interface FakeProcess {
  /** The spawner that hands out this process (once). */
  readonly layer: Layer.Layer<ChildProcessSpawner.ChildProcessSpawner>
  /** The command it was spawned with. */
  readonly command: Effect.Effect<ChildProcess.StandardCommand>
  /** Every write to stdin, decoded, one element per write; ends when stdin ends. */
  readonly stdin: Queue.Dequeue<string, Cause.Done>
  /** Done when stdin has ended (EOF), not when the writer was interrupted. */
  readonly stdinEnded: Deferred.Deferred<void>
  /** The signals sent so far, in order. */
  readonly signals: ReadonlyArray<SignalSent>
  /** Every `kill` call's options, in order. */
  readonly killCalls: ReadonlyArray<ChildProcess.KillOptions | undefined>
  /** Writes one chunk to stdout (waits while a bounded stdout is full). */
  readonly writeStdout: (chunk: string | Uint8Array) => Effect.Effect<void>
  /** Closes stdout. */
  readonly endStdout: Effect.Effect<void>
  /** Writes one chunk to stderr. */
  readonly writeStderr: (chunk: string | Uint8Array) => Effect.Effect<void>
  /** Closes stderr. */
  readonly endStderr: Effect.Effect<void>
  /**
   * Ends the process with an exit code or a signal. Its stdout and stderr
   * close first, unless `closePipes` is false (a child it started holds them).
   */
  readonly exit: (
    status: number | ChildProcess.Signal,
    options?: { readonly closePipes?: boolean | undefined }
  ) => Effect.Effect<void>
  /** Whether the process has exited. */
  readonly hasExited: Effect.Effect<boolean>
}

const encoder = new TextEncoder()
const bytes = (chunk: string | Uint8Array) => typeof chunk === "string" ? encoder.encode(chunk) : chunk

/** What the Node spawner fails `exitCode` with when a signal ended the process. */
const signalExit = (signal: ChildProcess.Signal) =>
  PlatformError.systemError({
    _tag: "Unknown",
    module: "ChildProcess",
    method: "exitCode",
    pathOrDescriptor: "fake",
    cause: new Error(`Process interrupted due to receipt of signal: '${signal}'`)
  })

/** A process to hand to `Transport.stdio` through {@link FakeProcess.layer}. */
export const make = Effect.fnUntraced(function*(options: Options = {}) {
  const stdinQueue = yield* Queue.unbounded<string, Cause.Done>()
  const stdinEnded = yield* Deferred.make<void>()
  const stdout = options.stdoutCapacity === undefined
    ? yield* Queue.unbounded<Uint8Array, Cause.Done>()
    : yield* Queue.bounded<Uint8Array, Cause.Done>(options.stdoutCapacity)
  const stderr = yield* Queue.unbounded<Uint8Array, Cause.Done>()
  const exitStatus = yield* Deferred.make<ChildProcessSpawner.ExitCode, PlatformError.PlatformError>()
  const spawned = yield* Deferred.make<ChildProcess.StandardCommand>()
  const signals: Array<SignalSent> = []
  const killCalls: Array<ChildProcess.KillOptions | undefined> = []

  const endStdout = Effect.asVoid(Queue.end(stdout))
  const endStderr = Effect.asVoid(Queue.end(stderr))
  const exit: FakeProcess["exit"] = (status, exitOptions) =>
    Effect.gen(function*() {
      if (exitOptions?.closePipes ?? true) {
        yield* endStdout
        yield* endStderr
      }
      yield* typeof status === "number"
        ? Deferred.succeed(exitStatus, ChildProcessSpawner.ExitCode(status))
        : Deferred.fail(exitStatus, signalExit(status))
    })
  const hasExited = Deferred.isDone(exitStatus)

  const deliver = (signal: ChildProcess.Signal) =>
    Effect.gen(function*() {
      if (yield* hasExited) return
      signals.push({ signal, at: yield* Clock.currentTimeMillis })
      if (signal !== "SIGTERM" || !options.ignoreSigterm) yield* exit(signal)
    })

  // Like the Node handle: signal, escalate to SIGKILL after `forceKillAfter`,
  // and return once the process is gone.
  const kill = (killOptions?: ChildProcess.KillOptions) =>
    Effect.gen(function*() {
      killCalls.push(killOptions)
      yield* deliver(killOptions?.killSignal ?? "SIGTERM")
      if (killOptions?.forceKillAfter !== undefined) {
        const gone = yield* Deferred.await(exitStatus).pipe(
          Effect.ignore,
          Effect.timeoutOption(killOptions.forceKillAfter)
        )
        if (Option.isNone(gone)) yield* deliver("SIGKILL")
      }
      yield* Effect.ignore(Deferred.await(exitStatus))
    })

  const decoder = new TextDecoder()
  const stdinSink = Sink.forEach((chunk: Uint8Array) => Queue.offer(stdinQueue, decoder.decode(chunk, { stream: true })))
    .pipe(
      Sink.mapEffect(() =>
        Effect.gen(function*() {
          yield* Queue.end(stdinQueue)
          yield* Deferred.succeed(stdinEnded, undefined)
          if (options.onStdinEnd) yield* options.onStdinEnd(fake)
        })
      )
    )

  const notFaked = (what: string) => new Error(`FakeProcess: ${what} is not faked`)
  const handle = ChildProcessSpawner.makeHandle({
    pid: ChildProcessSpawner.ProcessId(4242),
    exitCode: Deferred.await(exitStatus),
    isRunning: Effect.map(hasExited, (done) => !done),
    kill,
    stdin: stdinSink,
    stdout: Stream.fromQueue(stdout),
    stderr: Stream.fromQueue(stderr),
    all: Stream.die(notFaked("all")),
    getInputFd: () => Sink.die(notFaked("getInputFd")),
    getOutputFd: () => Stream.die(notFaked("getOutputFd")),
    unref: Effect.die(notFaked("unref"))
  })

  const spawner = ChildProcessSpawner.make((command) =>
    Effect.gen(function*() {
      if (command._tag !== "StandardCommand") return yield* Effect.die(notFaked("a piped command"))
      if (!(yield* Deferred.succeed(spawned, command))) return yield* Effect.die(new Error("FakeProcess: spawned twice"))
      return handle
    })
  )

  const fake: FakeProcess = {
    layer: Layer.succeed(ChildProcessSpawner.ChildProcessSpawner, spawner),
    command: Deferred.await(spawned),
    stdin: stdinQueue,
    stdinEnded,
    signals,
    killCalls,
    writeStdout: (chunk) => Effect.asVoid(Queue.offer(stdout, bytes(chunk))),
    endStdout,
    writeStderr: (chunk) => Effect.asVoid(Queue.offer(stderr, bytes(chunk))),
    endStderr,
    exit,
    hasExited
  }
  return fake
})

/** A spawner whose every spawn fails as the Node one does for a missing binary. */
export const notFound = (command: string): Layer.Layer<ChildProcessSpawner.ChildProcessSpawner> =>
  Layer.succeed(
    ChildProcessSpawner.ChildProcessSpawner,
    ChildProcessSpawner.make(() =>
      Effect.fail(PlatformError.systemError({
        _tag: "NotFound",
        module: "ChildProcess",
        method: "spawn",
        pathOrDescriptor: command,
        syscall: `spawn ${command}`,
        description: `spawn ${command} ENOENT`
      }))
    )
  )
