/**
 * Commands outside a turn (`command/exec`) on the real binary: `Codex.exec` (buffered output, exit
 * codes, codex's timeout, interruption), `Codex.command` (streamed output complete when `exit` answers,
 * stdin writes, a tty and its resize, `terminate`, termination when the Scope closes), and the errors
 * codex gives for a command it cannot run.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Stream } from "effect"
import * as Codex from "../../src/services/Codex.ts"
import * as Command from "../../src/services/Command.ts"
import { exitReason } from "../support/Errors.ts"
import * as CodexBinary from "../support/CodexBinary.ts"
import { pidsMatching } from "../support/Home.ts"
import * as Real from "../support/Real.ts"

/** No model request is made by a command: an empty script. */
const layer = Real.layer([], Real.fast)

const textOf = (command: Command.Command, stream?: "stdout" | "stderr") =>
  command.output.pipe(Command.text(stream), Stream.mkString)

/** Polls until no process has `needle` in its command line (at most 3 s). */
const awaitGone = (needle: string) =>
  Effect.gen(function*() {
    for (let i = 0; i < 60 && pidsMatching(needle).length > 0; i++) yield* Effect.sleep("50 millis")
    return pidsMatching(needle)
  })

/** `a.b.c` compared as numbers. */
const atLeast = (version: string) => {
  const have = CodexBinary.version().split(/[.-]/).map(Number)
  const want = version.split(".").map(Number)
  for (let i = 0; i < want.length; i++) if ((have[i] ?? 0) !== want[i]) return (have[i] ?? 0) > want[i]!
  return true
}

describe("Commands outside a turn (real binary)", () => {
  it.live("exec: exit code and buffered stdout / stderr; env and cwd reach the process", () =>
    Effect.gen(function*() {
      const result = yield* Codex.exec(["sh", "-c", "echo out; echo err >&2; echo $GREETING; pwd; exit 3"], {
        env: { GREETING: "hello" },
        cwd: "/"
      })
      assert.strictEqual(result.exitCode, 3)
      assert.strictEqual(result.stdout, "out\nhello\n/\n")
      assert.strictEqual(result.stderr, "err\n")
    }).pipe(Effect.provide(layer)))

  it.live("exec: codex's own timeout ends the process with exit code 124", () =>
    Effect.gen(function*() {
      const result = yield* Codex.exec(["sleep", "5"], { timeoutMs: 200 })
      assert.strictEqual(result.exitCode, 124)
    }).pipe(Effect.provide(layer)))

  it.live("exec: an empty argv is codex's RpcError", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(Codex.exec([]))
      assert.strictEqual(exitReason(exit)?._tag, "RpcError")
    }).pipe(Effect.provide(layer)))

  it.live("exec: interrupting the fiber terminates the process", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.forkChild(Codex.exec(["sleep", "31.4159"]))
      // one sighting is the proof: while the sandbox execs its stages a second read of /proc can miss the process
      let started: ReadonlyArray<number> = []
      for (let i = 0; i < 100 && (started = pidsMatching("31.4159")).length === 0; i++) yield* Effect.sleep("20 millis")
      assert.isNotEmpty(started, "the command started")
      // past the sandbox's start-up: a terminate within it can miss the process (a codex race, see Command.terminate)
      yield* Effect.sleep("500 millis")
      assert.isUndefined(fiber.pollUnsafe(), "exec still runs when the fiber is interrupted")
      yield* Fiber.interrupt(fiber)
      assert.deepStrictEqual(yield* awaitGone("31.4159"), [])
    }).pipe(Effect.provide(layer)))

  it.live("command: the output is complete when exit answers (40k lines), and every run sees all of it", () =>
    Effect.gen(function*() {
      const command = yield* Codex.command(["seq", "1", "40000"], { stdin: false })
      const result = yield* command.exit
      assert.strictEqual(result.exitCode, 0)
      assert.strictEqual(result.stdout, "", "streamed, not buffered")
      // read only after the exit: the chunks were recorded before the answer was
      const lines = (yield* textOf(command, "stdout")).split("\n")
      assert.strictEqual(lines.length, 40001)
      assert.strictEqual(lines[39999], "40000")
      assert.strictEqual((yield* textOf(command)).length, lines.join("\n").length)
    }).pipe(Effect.scoped, Effect.provide(layer)))

  it.live("command: stdin writes reach the process, which ends when stdin is closed", () =>
    Effect.gen(function*() {
      const command = yield* Codex.command(["sh", "-c", "while read line; do echo \"[$line]\"; done; echo done >&2"])
      const chunks = yield* Effect.forkChild(Stream.runCollect(command.output))
      yield* command.write("first\n")
      yield* command.write(new TextEncoder().encode("second\n"))
      yield* command.closeStdin
      const result = yield* command.exit
      assert.strictEqual(result.exitCode, 0)
      const output = Array.from(yield* Fiber.join(chunks))
      assert.deepStrictEqual(output.map((chunk) => chunk.stream).filter((s, i, all) => all.indexOf(s) === i).sort(), [
        "stderr",
        "stdout"
      ])
      assert.strictEqual(yield* textOf(command, "stdout"), "[first]\n[second]\n")
      assert.strictEqual(yield* textOf(command, "stderr"), "done\n")
    }).pipe(Effect.scoped, Effect.provide(layer)))

  it.live("command: output past outputBytesCap is cut and the last chunk says so", () =>
    Effect.gen(function*() {
      const command = yield* Codex.command(["sh", "-c", "head -c 5000 /dev/zero | tr '\\0' x"], {
        stdin: false,
        outputBytesCap: 1000
      })
      yield* command.exit
      const chunks = Array.from(yield* Stream.runCollect(command.output))
      assert.strictEqual(chunks.reduce((n, chunk) => n + chunk.bytes.length, 0), 1000)
      assert.isTrue(chunks.at(-1)!.capReached)
    }).pipe(Effect.scoped, Effect.provide(layer)))

  // codex 0.169 runs a tty command through codex-linux-sandbox, which its npm package does not ship
  // ("Unable to spawn codex-linux-sandbox"); 0.171 does not need it
  it.live.skipIf(!atLeast("0.171.0"))("command: a tty with its size, resized while it runs", () =>
    Effect.gen(function*() {
      const command = yield* Codex.command(["sh", "-c", "stty size; read go; stty size"], {
        tty: true,
        size: { rows: 10, cols: 40 }
      })
      const first = yield* command.output.pipe(Command.text(), Stream.take(1), Stream.mkString)
      assert.strictEqual(first, "10 40\r\n")
      yield* command.resize({ rows: 20, cols: 80 })
      yield* command.write("\n")
      const result = yield* command.exit
      assert.strictEqual(result.exitCode, 0)
      assert.include(yield* textOf(command), "20 80\r\n")
    }).pipe(Effect.scoped, Effect.provide(layer)))

  it.live("command: terminate kills the process (exit code 137)", () =>
    Effect.gen(function*() {
      const command = yield* Codex.command(["sleep", "31.2718"], { stdin: false })
      yield* command.terminate
      const result = yield* command.exit
      assert.strictEqual(result.exitCode, 137)
      assert.deepStrictEqual(yield* awaitGone("31.2718"), [])
    }).pipe(Effect.scoped, Effect.provide(layer)))

  it.live("command: closing the Scope while it runs terminates it; terminate right after the start works", () =>
    Effect.gen(function*() {
      yield* Effect.scoped(Effect.gen(function*() {
        const command = yield* Codex.command(["sh", "-c", "echo started; exec sleep 31.1414"])
        // its first output: the process itself runs (a terminate during the sandbox's start-up can miss it)
        yield* command.output.pipe(Stream.take(1), Stream.runDrain)
        assert.isNotEmpty(pidsMatching("31.1414"), "the command runs")
      }))
      assert.deepStrictEqual(yield* awaitGone("31.1414"), [])
      // at once: codex may not know the process yet, the terminate is sent again until it does
      const command = yield* Codex.command(["sleep", "3.1732"]) // short: the race of Command.terminate may leave it running
      yield* command.terminate
      assert.strictEqual((yield* command.exit).exitCode, 137)
    }).pipe(Effect.scoped, Effect.provide(layer)))

  // codex reports no error for it: its sandbox launcher panics on the failed execvp (Rust's exit code 101)
  it.live("command: a binary that does not exist is no RpcError: exit code 101, the sandbox's panic on stderr", () =>
    Effect.gen(function*() {
      const command = yield* Codex.command(["/nonexistent/binary-for-a-test"], { stdin: false })
      const result = yield* command.exit
      assert.strictEqual(result.exitCode, 101)
      assert.match(yield* textOf(command, "stderr"), /panicked at .*\n.*execvp \/nonexistent\/binary-for-a-test: No such file/)
    }).pipe(Effect.scoped, Effect.provide(layer)))

  it.live("command: a failed command/exec (an empty argv) fails both exit and output with the RpcError", () =>
    Effect.gen(function*() {
      const command = yield* Codex.command([])
      const exit = yield* Effect.exit(command.exit)
      assert.strictEqual(exitReason(exit)?._tag, "RpcError")
      assert.deepStrictEqual(exitReason(yield* Effect.exit(Stream.runDrain(command.output))), exitReason(exit))
    }).pipe(Effect.scoped, Effect.provide(layer)))
})
