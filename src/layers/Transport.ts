/**
 * How JSON-RPC messages move between the client and a codex app-server: over
 * the stdio of a child process, over a WebSocket, or in memory.
 *
 * A transport knows nothing of JSON-RPC: it sends one serialized message at a
 * time and yields the messages it receives. When the other side goes away,
 * `incoming` fails with a {@link CodexError.CodexError} that says why
 * (`ProcessExited` with the exit code and the tail of stderr, or
 * `TransportError`).
 *
 * @stability experimental
 * @since 0.1.0
 */
import {
  Cause, ChildProcess, ChildProcessSpawner, Deferred, Duration, Effect, Exit, Latch, Layer, Option, Queue, Redacted,
  Schedule, Scope, Socket, Stream
} from "../schema/internal/effect.ts"
import * as NodeFs from "node:fs"
import * as NodeStream from "node:stream"
import * as CodexError from "../schema/CodexError.ts"
import * as Contract from "../services/Transport.ts"
import * as Redact from "./internal/redact.ts"
import * as Lines from "./internal/stdioLines.ts"
import * as StderrTail from "./internal/stderrTail.ts"

/**
 * The transport service: `offer` one message, read `incoming` messages (the
 * contract lives beside the client that speaks it).
 *
 * @category models
 * @since 0.1.0
 */
export type Service = Contract.Service

/**
 * The key of the transport service.
 *
 * @category services
 * @since 0.1.0
 */
export const Transport = Contract.Transport

/**
 * The key of the transport service.
 *
 * @category services
 * @since 0.1.0
 */
export type Transport = Contract.Transport

/**
 * Sends one message: {@link Service.offer} as an Effect that fails with
 * `Closed` when the connection is closed.
 *
 * @category combinators
 * @since 0.1.0
 */
export const send: (transport: Service, message: string) => Effect.Effect<void, CodexError.CodexError> = Contract.send

/**
 * What {@link consume} hands messages to: every message received and not yet
 * handled, in order. It returns `undefined` once it is done with them, or an
 * effect that must run before any later message is handed over.
 *
 * @category models
 * @since 0.1.0
 */
export type BatchHandler = Contract.BatchHandler

/**
 * Runs a handler on every message of a transport until the connection ends,
 * as `Stream.runForEachArray` over `incoming` would, failing as `incoming`
 * fails. A transport with the optional `consume` member (stdio has it) calls
 * the handler from where it reads, so a read resumes no fiber; any other is
 * pulled through `incoming` (a custom transport needs only `offer` and
 * `incoming`).
 *
 * @category combinators
 * @since 0.1.0
 */
export const consume: (
  transport: Service,
  handler: BatchHandler
) => Effect.Effect<void, CodexError.CodexError> = Contract.consume

/**
 * A non-suspending offer that wakes the consumer on a microtask. A plain
 * `offerUnsafe` wakes the waiting fiber on a scheduled task (an event-loop
 * turn, tens of µs), which every request would pay on its way out; a
 * microtask still lets the offers of one synchronous burst go out as one batch.
 */
const makeOffer = (queue: Queue.Queue<string, Cause.Done>, suffix = "") => {
  let scheduled = false
  const flush = () => {
    scheduled = false
    Queue.flushUnsafe(queue)
  }
  return (message: string): boolean => {
    if (!Queue.offerUnsafe(queue, suffix === "" ? message : message + suffix)) return false
    if (!scheduled) {
      scheduled = true
      queueMicrotask(flush)
    }
    return true
  }
}

/** How many stdout lines wait for the reader before codex is slowed down. */
const LINE_BUFFER = 4096

/**
 * Options of {@link stdio}.
 *
 * @category models
 * @since 0.1.0
 */
export interface StdioOptions {
  readonly command: string
  readonly args: ReadonlyArray<string>
  readonly cwd?: string | undefined
  /**
   * Extra environment variables. `Redacted` values are secrets: wherever they
   * occur in a stderr line, the line is logged and kept with `<redacted>`
   * instead (values shorter than 4 characters are not searched for).
   */
  readonly env?: Record<string, string | Redacted.Redacted<string> | undefined> | undefined
  /** Whether the child inherits this process's environment (default `true`). */
  readonly inheritEnv?: boolean | undefined
  /** How long to wait for a clean exit after stdin ends, then for SIGTERM, before SIGKILL. */
  readonly shutdownTimeout?: Duration.Input | undefined
}

/** How long teardown waits for the process group after SIGKILL (as the spawner does). */
const KILL_GRACE = Duration.seconds(1)

/** How often teardown looks whether the process group is gone. */
const GROUP_POLL = Duration.millis(10)

/**
 * Whether a process of group `pgid` still runs. Zombies do not count: an
 * exited helper of codex stays one until its reaper (init, once codex is
 * gone) collects it, which some inits do late and a Node PID 1 in a container
 * never does. On Linux a group signal reaches zombies, so `kill(-pgid, 0)`
 * alone, which the spawner's own cleanup polls, takes them for running.
 */
const groupRunning = (pgid: number): boolean => {
  try {
    process.kill(-pgid, 0)
  } catch {
    // ESRCH: nobody left; EPERM: nobody to signal (a zombie-only group on macOS)
    return false
  }
  if (process.platform !== "linux") return true
  for (const entry of NodeFs.readdirSync("/proc")) {
    const first = entry.charCodeAt(0)
    if (first < 48 || first > 57) continue
    let stat: string
    try {
      stat = NodeFs.readFileSync(`/proc/${entry}/stat`, "utf8")
    } catch {
      continue
    }
    // "pid (comm) state ppid pgrp ...", comm may hold spaces and parentheses
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ", 3)
    if (Number(fields[2]) === pgid && fields[0] !== "Z" && fields[0] !== "X") return true
  }
  return false
}

/**
 * Whether `pid` is a child of this process (Linux, from `/proc`): only then is
 * its group ours to signal directly. A handle that is not an OS process of
 * ours (a test double, another platform) is stopped through `handle.kill`.
 */
const isOwnChild = (pid: number): boolean => {
  if (process.platform !== "linux") return false
  try {
    const stat = NodeFs.readFileSync(`/proc/${pid}/stat`, "utf8")
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ", 2)[1]) === process.pid
  } catch {
    return false
  }
}

const signalGroup = (pgid: number, signal: NodeJS.Signals): void => {
  try {
    process.kill(-pgid, signal)
  } catch {
    // already gone
  }
}

/**
 * The child's stdin as the target of an outbox. A broken pipe (codex gone)
 * only stops the writing: the reader reports why.
 */
const nodeTarget = (stdin: Lines.NodePipes["stdin"]): Lines.OutboxTarget => {
  let broken = false
  let onDrain: (() => void) | undefined
  const unblock = () => {
    const callback = onDrain
    onDrain = undefined
    callback?.()
  }
  const stop = () => {
    broken = true
    unblock()
  }
  stdin.on("error", stop)
  stdin.on("close", stop)
  stdin.on("drain", unblock)
  return {
    write: (text) => broken || stdin.write(text),
    onDrain: (callback) => {
      onDrain = callback
    },
    end: (text) => {
      if (broken) return
      if (text === undefined) stdin.end()
      else stdin.end(text)
    }
  }
}

const signalOf = (cause: unknown): string | undefined => {
  const text = String((cause as { cause?: unknown })?.cause ?? cause)
  return /signal: '?([A-Z0-9]+)'?/.exec(text)?.[1]
}

/**
 * Spawns a process and speaks newline-delimited JSON over its stdio.
 *
 * Closing the Scope ends stdin (codex exits on EOF), waits `shutdownTimeout`,
 * then sends SIGTERM to the process group and SIGKILL after another
 * `shutdownTimeout`. stderr is always drained: each line is logged at
 * `Debug` (annotation `codex=stderr`) and the last ones go into
 * `ProcessExited`, cut at 8 KiB a line (50 lines, 16 KiB in all) and with
 * the `Redacted` values of `env` replaced by `<redacted>`.
 *
 * Every stdout line available when `incoming` is pulled comes as one chunk.
 * While 4096 lines wait for a reader, stdout is not read (codex is slowed
 * down); messages offered while stdin's pipe is full wait in the transport
 * and go out in one write when it drains.
 *
 * When the process is started by Node's own spawner (`NodeServices.layer`,
 * or a spawner that delegates to it), the transport reads and writes the
 * child's pipes directly, found through Node's `child_process` diagnostics
 * channel; the handle's `stdin` and `stdout` are then left unused. With any
 * other spawner it uses the handle's `stdin` sink and `stdout` stream.
 *
 * @category constructors
 * @since 0.1.0
 */
export const stdio = Effect.fnUntraced(function*(
  options: StdioOptions
): Effect.fn.Return<Service, CodexError.CodexError, ChildProcessSpawner.ChildProcessSpawner | Scope.Scope> {
  const shutdownTimeout = Duration.fromInputUnsafe(options.shutdownTimeout ?? "3 seconds")
  const spawner = yield* ChildProcessSpawner.ChildProcessSpawner
  const [handle, pipes] = yield* Lines.withSpawnedChildren(spawner.spawn(
    ChildProcess.make(options.command, options.args, {
      cwd: options.cwd,
      env: options.env,
      extendEnv: options.inheritEnv ?? true,
      stdin: "pipe",
      stdout: "pipe",
      stderr: "pipe",
      forceKillAfter: shutdownTimeout
    })
  )).pipe(
    // at once, before anything is read from stdout
    Effect.map(([handle, children]) => [handle, Lines.takeOverPipes(children, handle.pid)] as const),
    Effect.mapError((cause) =>
      CodexError.make(
        new CodexError.SpawnError({ command: options.command, description: cause.message, cause })
      )
    )
  )

  // Whatever codex writes to stderr is untrusted and unbounded: lines are split
  // from bytes with at most a few KiB held per line, and every secret we gave
  // the process is redacted before a line is logged or kept.
  const stderrLines = StderrTail.makeLineSplitter({ secrets: Redact.envSecrets(options.env) })
  // decided while the child certainly exists (before anything can reap it)
  const ownGroup = isOwnChild(handle.pid)

  const stderrTail = StderrTail.makeTail()
  const keepStderr = (lines: ReadonlyArray<string>) =>
    lines.length === 0 ? Effect.void : Effect.forEach(
      lines,
      (line) => Effect.sync(() => stderrTail.push(line)).pipe(Effect.andThen(Effect.logDebug(line))),
      { discard: true }
    )
  const stderrDone = yield* Deferred.make<void>()
  yield* handle.stderr.pipe(
    Stream.runForEach((chunk) => keepStderr(stderrLines.push(chunk))),
    Effect.ignore,
    Effect.andThen(Effect.suspend(() => keepStderr(stderrLines.end()))),
    Effect.annotateLogs("codex", "stderr"),
    Effect.ensuring(Deferred.succeed(stderrDone, undefined)),
    Effect.forkScoped
  )

  const exited = Effect.gen(function*() {
    const exit = yield* handle.exitCode.pipe(Effect.result, Effect.timeoutOption(shutdownTimeout))
    yield* Deferred.await(stderrDone).pipe(Effect.timeoutOption("50 millis"))
    const tail = stderrTail.lines()
    if (Option.isNone(exit)) {
      return CodexError.make(new CodexError.TransportError({ description: "codex closed stdout but kept running" }))
    }
    const result = exit.value
    return CodexError.make(
      result._tag === "Success"
        ? new CodexError.ProcessExited({ exitCode: result.success, signal: undefined, stderrTail: tail })
        : new CodexError.ProcessExited({ exitCode: undefined, signal: signalOf(result.failure), stderrTail: tail })
    )
  })

  // stdout is read for as long as the process has it open, whoever listens:
  // teardown stops the client's reader first, and codex still writes the
  // answers to everything in flight before it exits on stdin EOF; a stdout
  // nobody read would fill its pipe (64 KiB: a few dozen model/list answers),
  // block codex, and make every teardown wait the whole shutdownTimeout and
  // need SIGTERM (measured: 3.1 s instead of ~20 ms). The inbox pauses
  // reading only while `LINE_BUFFER` lines wait for a live reader, so a slow
  // reader still slows codex down; once shut down it drops what comes.
  const stdoutDone = yield* Deferred.make<void>()
  let room: Latch.Latch | undefined
  const inbox = Lines.makeInbox<CodexError.CodexError>({
    highWaterMark: LINE_BUFFER,
    pause: () => pipes === undefined ? room?.closeUnsafe() : pipes.stdout.pause(),
    resume: () => pipes === undefined ? room?.openUnsafe() : pipes.stdout.resume()
  })
  let outbox: Lines.Outbox
  if (pipes !== undefined) {
    // Node's own pipes: lines are split in the `data` callback, which also
    // resumes the reader; writes go straight to stdin.
    const { stdin, stdout } = pipes
    stdout.setEncoding("utf8")
    stdout.on("data", inbox.push)
    NodeStream.finished(stdout, { readable: true, writable: false }, (error) => {
      if (error === undefined || error === null) inbox.end()
      // A broken stdout: the exit status says why.
      Deferred.doneUnsafe(stdoutDone, Exit.void)
    })
    stdout.resume()
    outbox = Lines.makeOutbox(nodeTarget(stdin))
  } else {
    // Any other spawner: its Effect stream and sink, with the same inbox and outbox.
    const latch = Latch.makeUnsafe(true)
    room = latch
    yield* handle.stdout.pipe(
      Stream.runForEachArray((chunks) => {
        for (const chunk of chunks) inbox.push(chunk)
        return latch.await
      }),
      Effect.andThen(Effect.sync(inbox.end)),
      // A broken stdout: the exit status says why.
      Effect.ignore,
      Effect.andThen(Deferred.succeed(stdoutDone, undefined)),
      Effect.forkScoped
    )
    const outbound = yield* Queue.unbounded<string, Cause.Done>()
    yield* Stream.fromQueue(outbound).pipe(
      // everything queued so far goes out in one write
      Stream.mapArray((batch) => [batch.join("")] as const),
      Stream.encodeText,
      Stream.run(handle.stdin),
      // A broken pipe means the process is gone; the reader reports why.
      Effect.ignore,
      Effect.forkScoped
    )
    outbox = Lines.makeOutbox({
      write: (text) => {
        Queue.offerUnsafe(outbound, text)
        // woken at once, not on a scheduled task
        Queue.flushUnsafe(outbound)
        return true
      },
      onDrain: () => {},
      end: (text) => {
        if (text !== undefined) Queue.offerUnsafe(outbound, text)
        Queue.endUnsafe(outbound)
      }
    })
  }
  yield* Deferred.await(stdoutDone).pipe(
    Effect.andThen(exited),
    Effect.flatMap((error) => Effect.sync(() => inbox.fail(error))),
    Effect.forkScoped
  )
  // A process that exits while something it started still holds stdout open
  // must still end the connection: after the exit, stdout gets a moment to
  // drain, then the reader is told.
  yield* handle.exitCode.pipe(
    Effect.ignore,
    Effect.andThen(Deferred.await(stdoutDone).pipe(Effect.timeoutOption("1 second"))),
    Effect.flatMap((drained) =>
      Option.isSome(drained) ? Effect.void : Effect.flatMap(exited, (e) => Effect.sync(() => inbox.fail(e)))
    ),
    Effect.forkScoped
  )

  yield* Effect.addFinalizer(() =>
    Effect.gen(function*() {
      // From now on what codex still writes is read and dropped: nobody listens.
      inbox.shutdown()
      outbox.close()
      const done = yield* handle.exitCode.pipe(Effect.timeoutOption(shutdownTimeout), Effect.option)
      if (!ownGroup) {
        if (Option.isNone(done) || Option.isNone(done.value)) {
          yield* handle.kill({ killSignal: "SIGTERM", forceKillAfter: shutdownTimeout }).pipe(Effect.ignore)
        }
        return
      }
      // The group is signalled here, not by `handle.kill`, so that its zombies
      // do not count as running (see `groupRunning`); what codex left behind
      // after exiting by itself gets SIGTERM too.
      const pgid = handle.pid
      const running = Effect.map(handle.isRunning, (leader) => leader || groupRunning(pgid)).pipe(
        Effect.orElseSucceed(() => true)
      )
      const gone = running.pipe(
        Effect.repeat({ while: (alive) => alive, schedule: Schedule.spaced(GROUP_POLL) }),
        Effect.asVoid
      )
      for (const [signal, wait] of [["SIGTERM", shutdownTimeout], ["SIGKILL", KILL_GRACE]] as const) {
        if (!(yield* running)) break
        signalGroup(pgid, signal)
        yield* gone.pipe(Effect.timeoutOption(wait))
      }
      // Nothing of the group runs: the spawner's own cleanup would signal it
      // again and wait for its zombies (unref skips that for an exit code of
      // 0 or a signal; it still runs after another exit code).
      if (!(yield* running)) yield* Effect.ignore(handle.unref)
    })
  )

  const incoming: Stream.Stream<string, CodexError.CodexError> = Stream.fromPull(Effect.succeed(inbox.pull))

  return Transport.of({
    offer: outbox.offer,
    incoming,
    // lines go to the client's reader from inside the `data` callback
    consume: inbox.consume
  })
})

/**
 * Options of {@link webSocket}.
 *
 * @category models
 * @since 0.1.0
 */
export interface WebSocketOptions {
  /**
   * The app-server's listen address, e.g. `ws://127.0.0.1:4500`. Errors show it
   * with its userinfo, query values and fragment redacted.
   */
  readonly url: string
  /** A bearer token for `--ws-auth`, sent as `Authorization: Bearer <token>` (never logged). */
  readonly token?: string | Redacted.Redacted<string> | undefined
  /** How long to wait for the socket to open (default 10 seconds). */
  readonly openTimeout?: Duration.Input | undefined
}

/**
 * Connects to a running `codex app-server --listen ws://...`: one JSON message
 * per text frame.
 *
 * @category constructors
 * @since 0.1.0
 */
export const webSocket = Effect.fnUntraced(function*(
  options: WebSocketOptions
): Effect.fn.Return<Service, CodexError.CodexError, Socket.WebSocketConstructor | Scope.Scope> {
  const token = options.token === undefined
    ? undefined
    : Redacted.isRedacted(options.token)
    ? Redacted.value(options.token)
    : options.token
  const socket = yield* Socket.makeWebSocket(options.url, {
    openTimeout: options.openTimeout ?? "10 seconds",
    ...(token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } })
  })
  // The URL may carry credentials (user:password@, ?token=...) and a socket
  // error may quote it or the server's words: only scrubbed text is printed.
  const printedUrl = Redact.redactUrl(options.url)
  const secrets = Redact.secretList([token, ...Redact.urlSecrets(options.url)])
  const scrub = (text: string) => Redact.redactText(text.replaceAll(options.url, printedUrl), secrets)
  const toError = (cause: Socket.SocketError) =>
    CodexError.make(
      new CodexError.TransportError({ description: `WebSocket ${printedUrl}: ${scrub(cause.message)}` })
    )
  const pull = yield* Socket.readerString(socket).pipe(Effect.mapError(toError))
  const write = yield* socket.writer
  // Messages wait in a queue for the writer fiber: the socket's writer waits
  // for the socket to open, which must not block whoever offers a message.
  const outbound = yield* Queue.unbounded<string, Cause.Done>()
  let writeError: CodexError.CodexError | undefined
  yield* Stream.fromQueue(outbound).pipe(
    Stream.runForEachArray((batch) => write.writeAll(batch)),
    Effect.mapError(toError),
    Effect.catch((error) => Effect.sync(() => void (writeError ??= error))),
    Effect.forkScoped
  )
  const incoming = Stream.fromPull(Effect.succeed(
    pull.pipe(
      Effect.catch((error): Effect.Effect<never, CodexError.CodexError | Cause.Done> =>
        Socket.isSocketError(error) && error.reason._tag === "SocketCloseError" && error.reason.code === 1000
          ? Effect.fail(Cause.Done())
          : Effect.fail(toError(error))
      )
    )
  )).pipe(
    Stream.concat(Stream.fail(toError(new Socket.SocketError({
      reason: new Socket.SocketCloseError({ code: 1000 })
    })))),
    // a writer that failed first says why (the reader may only see the close)
    Stream.mapError((error) => writeError ?? error),
    Stream.onExit(() => Queue.end(outbound))
  )
  return Transport.of({
    offer: makeOffer(outbound),
    incoming
  })
})

/**
 * The server side of an {@link inMemory} transport, for tests and mock
 * app-servers.
 *
 * @category models
 * @since 0.1.0
 */
export interface InMemoryServer {
  /** Every message the client sent, in order. */
  readonly received: Stream.Stream<string>
  /** Sends a message to the client. */
  readonly send: (message: string) => Effect.Effect<void>
  /** Ends the connection; the client sees `error` (default: `ProcessExited` with code 0). */
  readonly close: (error?: CodexError.CodexError) => Effect.Effect<void>
}

/**
 * A transport with no process: the returned server side plays the app-server.
 *
 * @category constructors
 * @since 0.1.0
 */
export const inMemory: Effect.Effect<{ readonly transport: Service; readonly server: InMemoryServer }> = Effect.gen(
  function*() {
    const toClient = yield* Queue.unbounded<string, CodexError.CodexError | Cause.Done>()
    const toServer = yield* Queue.unbounded<string, Cause.Done>()
    let closedWith: CodexError.CodexError | undefined
    const transport = Transport.of({
      offer: (message) => Queue.offerUnsafe(toServer, message),
      incoming: Stream.fromQueue(toClient)
    })
    const server: InMemoryServer = {
      received: Stream.fromQueue(toServer),
      send: (message) => Effect.asVoid(Queue.offer(toClient, message)),
      close: (error) =>
        Effect.gen(function*() {
          closedWith ??= error ??
            CodexError.make(new CodexError.ProcessExited({ exitCode: 0, signal: undefined, stderrTail: [] }))
          yield* Queue.fail(toClient, closedWith)
          yield* Queue.end(toServer)
        })
    }
    return { transport, server }
  }
)

/**
 * {@link stdio} as a layer: the process lives as long as the layer.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerStdio = (
  options: StdioOptions
): Layer.Layer<Transport, CodexError.CodexError, ChildProcessSpawner.ChildProcessSpawner> =>
  Layer.effect(Transport, stdio(options))

/**
 * {@link webSocket} as a layer, with Node's WebSocket.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerWebSocket = (options: WebSocketOptions): Layer.Layer<Transport, CodexError.CodexError> =>
  Layer.effect(Transport, webSocket(options)).pipe(Layer.provide(nodeWebSocket))

// Loaded on first use: most programs never open a WebSocket, and the module
// graph behind Node's WebSocket is a large part of the import time.
const nodeWebSocket: Layer.Layer<Socket.WebSocketConstructor> = Layer.unwrap(
  Effect.promise(() => import("@effect/platform-node/NodeSocket")).pipe(
    Effect.map((NodeSocket) => NodeSocket.layerWebSocketConstructor)
  )
)

/**
 * An {@link inMemory} transport whose server side is played by `serve`,
 * forked for the life of the layer.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerInMemory = <R>(
  serve: (server: InMemoryServer) => Effect.Effect<void, never, R>
): Layer.Layer<Transport, never, Exclude<R, Scope.Scope>> =>
  Layer.effect(
    Transport,
    Effect.gen(function*() {
      const { server, transport } = yield* inMemory
      yield* Effect.forkScoped(serve(server))
      return transport
    })
  )
