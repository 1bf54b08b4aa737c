// Transport.stdio without a process: a fake spawner hands it a handle whose
// pipes and exit the test drives, and TestClock drives every timeout of the
// shutdown sequence (EOF → shutdownTimeout → SIGTERM → shutdownTimeout → SIGKILL).
import { assert, describe, it } from "@effect/vitest"
import { Cause, Deferred, Duration, Effect, Exit, Fiber, Logger, Queue, Redacted, References, Scope, Stream } from "effect"
import { TestClock } from "effect/testing"
import * as Transport from "../../src/layers/Transport.ts"
import type * as CodexError from "../../src/schema/CodexError.ts"
import * as FakeProcess from "../support/FakeProcess.ts"

const SHUTDOWN_MS = 3000

/**
 * Waits for a fiber or an effect that must finish without the clock moving.
 * Nothing inside may read the clock: a live second bounds the wait, so a
 * wait on the (test) clock that never ends fails the test at once.
 */
const promptly = <A, E>(wait: Fiber.Fiber<A, E> | Effect.Effect<A, E>) =>
  (Fiber.isFiber(wait) ? Fiber.join(wait) : wait).pipe(
    Effect.timeoutOrElse({
      duration: "1 second",
      orElse: () => Effect.die(new Error("did not finish without the clock moving"))
    }),
    TestClock.withLive
  )

/** A live moment for the fibers to run as far as they can without the clock. */
const settle = TestClock.withLive(Effect.sleep("5 millis"))

/** Starts a transport over `fake` in a Scope the test closes itself. */
const start = (fake: FakeProcess.FakeProcess, options?: Partial<Transport.StdioOptions>) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const transport = yield* Transport.stdio({
      command: "codex",
      args: ["app-server"],
      shutdownTimeout: Duration.millis(SHUTDOWN_MS),
      ...options
    }).pipe(Scope.provide(scope), Effect.provide(fake.layer))
    const close = Scope.close(scope, Exit.void)
    // Closing runs finalizers, which cannot be interrupted: a close that hangs
    // is detached so that the failing test does not hang with it.
    return { transport, close, closeNow: Effect.flatMap(Effect.forkDetach(close), promptly) }
  })

/** Reads `incoming` to its end in a fiber: the lines, then the error it failed with. */
const drain = (transport: Transport.Service) =>
  Effect.gen(function*() {
    const lines: Array<string> = []
    const fiber = yield* Stream.runForEach(transport.incoming, (line) => Effect.sync(() => lines.push(line))).pipe(
      Effect.flip,
      Effect.forkChild
    )
    return { lines, fiber }
  })

const isDone = (fiber: Fiber.Fiber<unknown, unknown>) => Effect.sync(() => fiber.pollUnsafe() !== undefined)

const processExited = (error: CodexError.CodexError) => {
  assert.strictEqual(error.reason._tag, "ProcessExited")
  return error.reason as CodexError.ProcessExited
}

describe("Transport.stdio over a fake process", () => {
  it.effect("stdout lines reach incoming in order whatever the chunking: a line over two chunks, several in one, \\r\\n, a character split", () =>
    Effect.gen(function*() {
      const fake = yield* FakeProcess.make({ onStdinEnd: (p) => p.exit(0) })
      const { closeNow, transport } = yield* start(fake)
      const e = new TextEncoder().encode("é")
      yield* fake.writeStdout(`{"a":`)
      yield* fake.writeStdout(`1}\n{"b":2}\n{"c":3}\r\n{"d":"x`)
      yield* fake.writeStdout(new Uint8Array([...new TextEncoder().encode(`y`), e[0]!]))
      yield* fake.writeStdout(new Uint8Array([e[1]!, ...new TextEncoder().encode(`"}\r`)]))
      // the \n that completes the \r\n above: no empty line between d and e
      yield* fake.writeStdout(`\n{"e":5}\n`)
      const lines = yield* promptly(Stream.runCollect(Stream.take(transport.incoming, 5)))
      assert.deepStrictEqual(lines, [`{"a":1}`, `{"b":2}`, `{"c":3}`, `{"d":"xyé"}`, `{"e":5}`])
      yield* closeNow
    }))

  it.effect("every complete line waiting when incoming is pulled comes as one chunk; a reader that waits gets each read's lines at once", () =>
    Effect.gen(function*() {
      const fake = yield* FakeProcess.make({ onStdinEnd: (p) => p.exit(0) })
      const { closeNow, transport } = yield* start(fake)
      yield* fake.writeStdout(`{"a":1}\n{"b":2}\n`)
      yield* fake.writeStdout(`{"c":3}\n{"d"`)
      yield* settle
      const batches: Array<ReadonlyArray<string>> = []
      const reader = yield* transport.incoming.pipe(
        Stream.runForEachArray((batch) => Effect.sync(() => batches.push([...batch]))),
        Effect.forkChild
      )
      yield* settle
      assert.deepStrictEqual(batches, [[`{"a":1}`, `{"b":2}`, `{"c":3}`]])
      yield* fake.writeStdout(`:4}\n{"e":5}\n`)
      yield* settle
      assert.deepStrictEqual(batches, [[`{"a":1}`, `{"b":2}`, `{"c":3}`], [`{"d":4}`, `{"e":5}`]])
      yield* Fiber.interrupt(reader)
      yield* closeNow
    }))

  it.effect("consume over a spawner's own streams (not Node's pipes): each read's lines in order, an effect the handler returns runs before the next read's, then ProcessExited", () =>
    Effect.gen(function*() {
      const fake = yield* FakeProcess.make()
      const { closeNow, transport } = yield* start(fake)
      const seen: Array<string> = []
      const consumer = yield* Transport.consume(transport, (batch) => {
        seen.push(batch.join(","))
        return batch[0] === "1" ? Effect.sync(() => void seen.push("effect of 1")) : undefined
      }).pipe(Effect.flip, Effect.forkChild)
      yield* fake.writeStdout("1\n2\n")
      // the first read handled (and its effect run) before the next is written
      while (seen.length < 2) yield* settle
      yield* fake.writeStdout("3\n")
      yield* fake.exit(5)
      const reason = processExited(yield* promptly(consumer))
      assert.strictEqual(reason.exitCode, 5)
      assert.deepStrictEqual(seen, ["1,2", "effect of 1", "3"])
      yield* closeNow
    }))

  it.effect("what the client offers arrives on stdin as newline-terminated lines, a synchronous burst in one write", () =>
    Effect.gen(function*() {
      const fake = yield* FakeProcess.make({ onStdinEnd: (p) => p.exit(0) })
      const { closeNow, transport } = yield* start(fake)
      assert.isTrue(transport.offer(`{"id":1}`))
      assert.strictEqual(yield* promptly(Queue.take(fake.stdin)), `{"id":1}\n`)
      yield* Effect.sync(() => {
        for (const id of [2, 3, 4]) assert.isTrue(transport.offer(`{"id":${id}}`))
      })
      assert.strictEqual(yield* promptly(Queue.take(fake.stdin)), `{"id":2}\n{"id":3}\n{"id":4}\n`)
      yield* closeNow
      // after EOF nothing more goes out, and offering says so
      assert.isFalse(transport.offer(`{"id":5}`))
      assert.deepStrictEqual(yield* Queue.takeAll(fake.stdin).pipe(Effect.flip), Cause.Done())
    }))

  it.effect("closing the Scope ends stdin; a process that exits with code 0 at once is sent no signal", () =>
    Effect.gen(function*() {
      const fake = yield* FakeProcess.make({ onStdinEnd: (p) => p.exit(0) })
      const { closeNow } = yield* start(fake)
      assert.isFalse(yield* fake.hasExited)
      yield* closeNow
      assert.isTrue(yield* Deferred.isDone(fake.stdinEnded))
      assert.deepStrictEqual(fake.killCalls, [])
      assert.deepStrictEqual(fake.signals, [])
    }))

  it.effect("a process that ignores EOF gets SIGTERM with forceKillAfter = shutdownTimeout, not one millisecond earlier", () =>
    Effect.gen(function*() {
      const fake = yield* FakeProcess.make()
      const { close } = yield* start(fake)
      const closing = yield* Effect.forkDetach(close)
      yield* promptly(Deferred.await(fake.stdinEnded))
      yield* TestClock.adjust(SHUTDOWN_MS - 1)
      assert.deepStrictEqual(fake.killCalls, [])
      assert.isFalse(yield* isDone(closing))
      yield* TestClock.adjust(1)
      yield* promptly(closing)
      assert.strictEqual(fake.killCalls.length, 1)
      assert.strictEqual(fake.killCalls[0]?.killSignal, "SIGTERM")
      assert.deepStrictEqual(fake.killCalls[0]?.forceKillAfter, Duration.millis(SHUTDOWN_MS))
      assert.deepStrictEqual(fake.signals, [{ signal: "SIGTERM", at: SHUTDOWN_MS }])
    }))

  it.effect("a process that ignores EOF and SIGTERM is SIGKILLed another shutdownTimeout later; the spawn gets the same forceKillAfter for its own release", () =>
    Effect.gen(function*() {
      const fake = yield* FakeProcess.make({ ignoreSigterm: true })
      const { close } = yield* start(fake)
      const command = yield* fake.command
      assert.deepStrictEqual(command.options.forceKillAfter, Duration.millis(SHUTDOWN_MS))
      const closing = yield* Effect.forkDetach(close)
      yield* TestClock.adjust(SHUTDOWN_MS)
      assert.deepStrictEqual(fake.signals, [{ signal: "SIGTERM", at: SHUTDOWN_MS }])
      yield* TestClock.adjust(SHUTDOWN_MS - 1)
      assert.isFalse(yield* fake.hasExited)
      yield* TestClock.adjust(1)
      yield* promptly(closing)
      assert.deepStrictEqual(fake.signals, [
        { signal: "SIGTERM", at: SHUTDOWN_MS },
        { signal: "SIGKILL", at: 2 * SHUTDOWN_MS }
      ])
    }))

  it.effect("a process that exits with code 3: incoming yields what it wrote, then ProcessExited 3 with the stderr tail, whichever comes first of the exit and the pipes' end", () =>
    Effect.gen(function*() {
      for (const order of ["pipes first", "exit first"] as const) {
        const fake = yield* FakeProcess.make()
        const { closeNow, transport } = yield* start(fake)
        const { fiber, lines } = yield* drain(transport)
        yield* fake.writeStdout(`{"id":1,"result":{}}\n`)
        yield* fake.writeStderr("warn: one\nerr")
        yield* fake.writeStderr("or: two")
        if (order === "pipes first") {
          yield* fake.exit(3)
        } else {
          yield* fake.exit(3, { closePipes: false })
          yield* fake.endStderr
          yield* fake.endStdout
        }
        const reason = processExited(yield* promptly(fiber))
        assert.deepStrictEqual(lines, [`{"id":1,"result":{}}`], order)
        assert.strictEqual(reason.exitCode, 3, order)
        assert.isUndefined(reason.signal, order)
        assert.deepStrictEqual(reason.stderrTail, ["warn: one", "error: two"], order)
        yield* closeNow
        assert.deepStrictEqual(fake.killCalls, [], order)
      }
    }))

  it.effect("a process killed by a signal: ProcessExited with exitCode undefined and the signal", () =>
    Effect.gen(function*() {
      const fake = yield* FakeProcess.make()
      const { closeNow, transport } = yield* start(fake)
      const { fiber } = yield* drain(transport)
      yield* fake.exit("SIGKILL")
      const reason = processExited(yield* promptly(fiber))
      assert.isUndefined(reason.exitCode)
      assert.strictEqual(reason.signal, "SIGKILL")
      yield* closeNow
    }))

  it.effect("a process that exits while a child it started holds stdout open: the reader is told 1 second after the exit", () =>
    Effect.gen(function*() {
      const fake = yield* FakeProcess.make()
      const { closeNow, transport } = yield* start(fake)
      const { fiber } = yield* drain(transport)
      yield* fake.writeStderr("bye\n")
      yield* fake.endStderr
      yield* fake.exit(3, { closePipes: false })
      yield* TestClock.adjust(999)
      assert.isFalse(yield* isDone(fiber))
      yield* TestClock.adjust(1)
      const reason = processExited(yield* promptly(fiber))
      assert.strictEqual(reason.exitCode, 3)
      assert.deepStrictEqual(reason.stderrTail, ["bye"])
      yield* closeNow
    }))

  it.effect("stderr that outlives stdout and the exit: the reader waits up to 50 ms for its last lines", () =>
    Effect.gen(function*() {
      for (const stderrCloses of [true, false]) {
        const fake = yield* FakeProcess.make()
        const { closeNow, transport } = yield* start(fake)
        const { fiber } = yield* drain(transport)
        yield* fake.writeStderr("first\n")
        yield* fake.exit(3, { closePipes: false })
        yield* fake.endStdout
        yield* settle
        assert.isFalse(yield* isDone(fiber))
        if (stderrCloses) {
          yield* fake.writeStderr("last words\n")
          yield* fake.endStderr
        } else {
          yield* TestClock.adjust(49)
          assert.isFalse(yield* isDone(fiber))
          yield* TestClock.adjust(1)
        }
        const reason = processExited(yield* promptly(fiber))
        assert.strictEqual(reason.exitCode, 3)
        assert.deepStrictEqual(reason.stderrTail, stderrCloses ? ["first", "last words"] : ["first"])
        yield* closeNow
      }
    }))

  it.effect("stdout closes while the process keeps running: after shutdownTimeout the reader gets a TransportError", () =>
    Effect.gen(function*() {
      const fake = yield* FakeProcess.make({ onStdinEnd: (p) => p.exit(0) })
      const { closeNow, transport } = yield* start(fake)
      const { fiber } = yield* drain(transport)
      yield* fake.endStdout
      yield* TestClock.adjust(SHUTDOWN_MS - 1)
      assert.isFalse(yield* isDone(fiber))
      // stderr is still open (the process runs): its 50 ms grace passes too
      yield* TestClock.adjust(51)
      const error = yield* promptly(fiber)
      assert.strictEqual(error.reason._tag, "TransportError")
      assert.strictEqual(error.message, "codex closed stdout but kept running")
      assert.isFalse(yield* fake.hasExited)
      yield* closeNow
      assert.deepStrictEqual(fake.killCalls, [])
    }))

  it.effect("a secret in a Redacted env value that the process prints on stderr is in neither the tail, the message nor the logs", () => {
    const secret = "sk-test-0123456789abcdef"
    const logs: Array<string> = []
    const collector = Logger.make((options) => {
      logs.push(String(Logger.formatLogFmt.log(options)))
    })
    return Effect.gen(function*() {
      const fake = yield* FakeProcess.make()
      const { closeNow, transport } = yield* start(fake, { env: { CODEX_API_KEY: Redacted.make(secret), PLAIN: "visible" } })
      const { fiber } = yield* drain(transport)
      // the secret split between two writes
      yield* fake.writeStderr(`auth with ${secret.slice(0, 9)}`)
      yield* fake.writeStderr(`${secret.slice(9)} failed\n`)
      yield* fake.writeStderr(`again ${secret}`)
      yield* fake.exit(1)
      const error = yield* promptly(fiber)
      const reason = processExited(error)
      assert.deepStrictEqual(reason.stderrTail, ["auth with <redacted> failed", "again <redacted>"])
      assert.include(error.message, "auth with <redacted> failed")
      const logged = logs.filter((line) => line.includes("codex=stderr"))
      assert.strictEqual(logged.length, 2, logs.join("\n"))
      assert.include(logged[0], "auth with <redacted> failed")
      for (const text of [...logs, error.message, JSON.stringify(reason), Cause.pretty(Cause.fail(error))]) {
        assert.notInclude(text, secret.slice(0, 12))
        assert.notInclude(text, secret.slice(-12))
      }
      // the secret reaches the spawner only as a Redacted value
      const env = (yield* fake.command).options.env ?? {}
      assert.isTrue(Redacted.isRedacted(env.CODEX_API_KEY))
      assert.strictEqual(env.PLAIN, "visible")
      yield* closeNow
    }).pipe(
      Effect.provide(Logger.layer([collector])),
      Effect.provideService(References.MinimumLogLevel, "All")
    )
  })

  it.effect("teardown keeps reading stdout: a process that answers more than the line buffer before exiting on EOF is not signalled", () =>
    Effect.gen(function*() {
      // 6000 answers in flight (more than the transport buffers), 10 lines a write
      const CHUNKS = 600
      const chunk = (i: number) =>
        Array.from({ length: 10 }, (_, j) => `{"id":${i * 10 + j},"result":{"data":[]}}\n`).join("")
      const answered = yield* Deferred.make<void>()
      // a pipe that holds 16 writes: the process waits whenever nobody reads; on EOF
      // it finishes writing what it owes, then exits
      const fake = yield* FakeProcess.make({
        stdoutCapacity: 16,
        onStdinEnd: (p) => Effect.andThen(Deferred.await(answered), p.exit(0))
      })
      const { closeNow } = yield* start(fake)
      let written = 0
      yield* Effect.forEach(Array.from({ length: CHUNKS }, (_, i) => chunk(i)), (text) =>
        Effect.andThen(fake.writeStdout(text), Effect.sync(() => written++))).pipe(
          Effect.andThen(Deferred.succeed(answered, undefined)),
          Effect.forkChild
        )
      // nobody reads incoming: wait until the writes stop, the buffer and the pipe full
      for (let seen = -1; seen !== written;) {
        seen = written
        yield* settle
      }
      assert.isBelow(written, CHUNKS)
      assert.isFalse(yield* Deferred.isDone(answered))
      yield* closeNow
      assert.strictEqual(written, CHUNKS)
      assert.isTrue(yield* fake.hasExited)
      assert.deepStrictEqual(fake.killCalls, [])
    }))

  it.effect("a spawn that fails is a SpawnError naming the command", () =>
    Effect.gen(function*() {
      const error = yield* Transport.stdio({ command: "no-such-codex", args: [] }).pipe(
        Effect.provide(FakeProcess.notFound("no-such-codex")),
        Effect.flip
      )
      assert.strictEqual(error.reason._tag, "SpawnError")
      assert.include(error.message, "no-such-codex")
    }))
})
