/**
 * Transport.stdio over real child processes started by Node's spawner: it
 * takes over the child's pipes (lines split in the `data` callback, writes
 * straight to stdin), and the two directions keep their backpressure. The
 * children are small node scripts written by each test.
 */
import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Stream } from "effect"
import * as ChildProcess from "effect/process/ChildProcess"
import * as ChildProcessSpawner from "effect/process/ChildProcessSpawner"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import * as Lines from "../../src/layers/internal/stdioLines.ts"
import * as Transport from "../../src/layers/Transport.ts"
import * as CodexError from "../../src/schema/CodexError.ts"
import { tempDir } from "../support/Home.ts"

const nodeScript = (dir: string, name: string, source: string): string => {
  const file = NodePath.join(dir, `${name}.mjs`)
  NodeFs.writeFileSync(file, source)
  return file
}

const start = (script: string, args: ReadonlyArray<string> = []) =>
  Transport.stdio({ command: process.execPath, args: [script, ...args], inheritEnv: false, shutdownTimeout: "2 seconds" })

/** The error `incoming` ended with, and the sizes of the batches it delivered. */
const readAll = (transport: Transport.Service) =>
  Effect.gen(function*() {
    const lines: Array<string> = []
    const batches: Array<number> = []
    const error = yield* transport.incoming.pipe(
      Stream.runForEachArray((batch) =>
        Effect.sync(() => {
          batches.push(batch.length)
          for (const line of batch) lines.push(line)
        })
      ),
      Effect.flip
    )
    return { lines, batches, error }
  })

const exitCodeOf = (error: CodexError.CodexError) => {
  assert.strictEqual(error.reason._tag, "ProcessExited", error.message)
  return (error.reason as CodexError.ProcessExited).exitCode
}

describe("Transport.stdio over Node's spawner", () => {
  it.live("the Node spawner's child is found by pid and its pipes are taken over before anything is read", () =>
    Effect.gen(function*() {
      const spawner = yield* ChildProcessSpawner.ChildProcessSpawner
      const [handle, children] = yield* Lines.withSpawnedChildren(
        spawner.spawn(ChildProcess.make(process.execPath, ["-e", "process.stdin.pipe(process.stdout)"]))
      )
      const pipes = Lines.takeOverPipes(children, handle.pid)
      // if this fails, the Node spawner changed: the transport then reads the handle's streams, more slowly
      assert.isDefined(pipes)
      const echoed = yield* Effect.callback<string>((resume) => {
        pipes!.stdout.setEncoding("utf8")
        pipes!.stdout.on("data", (text: string) => resume(Effect.succeed(text)))
        pipes!.stdout.resume()
        pipes!.stdin.end("ping\n")
      })
      assert.strictEqual(echoed, "ping\n")
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it.live("a child that writes 20000 lines at once: incoming gets them all in order, many lines per batch", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir()
      const script = nodeScript(
        dir,
        "burst",
        `let out = ""\n` +
          `for (let i = 0; i < 20000; i++) out += JSON.stringify({ id: i, result: { text: "é".repeat(i % 7) } }) + "\\n"\n` +
          `process.stdout.write(out)\n`
      )
      const transport = yield* start(script)
      const { batches, error, lines } = yield* readAll(transport)
      assert.strictEqual(exitCodeOf(error), 0)
      assert.strictEqual(lines.length, 20000)
      for (let i = 0; i < lines.length; i++) {
        if (JSON.parse(lines[i]!).id !== i) assert.fail(`line ${i} is ${lines[i]}`)
      }
      // 64 KiB reads of ~40-byte lines: hundreds of lines per batch, not one
      assert.isBelow(batches.length, 2000, `batches: ${batches.length}`)
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it.live("nobody reads incoming: the child is slowed down at the line buffer, and nothing is lost once reading starts", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir()
      const marker = NodePath.join(dir, "written")
      // synchronous writes to a pipe: the child blocks while the pipe is full
      const script = nodeScript(
        dir,
        "slow-reader",
        `import * as fs from "node:fs"\n` +
          `const line = "x".repeat(200)\n` +
          `for (let i = 0; i < 20000; i++) fs.writeSync(1, i + " " + line + "\\n")\n` +
          `fs.writeFileSync(${JSON.stringify(marker)}, "done")\n`
      )
      const transport = yield* start(script)
      yield* Effect.sleep("700 millis")
      // 20000 lines of ~200 bytes (4 MB) cannot all be held: 4096 lines, Node's buffer and the pipe
      assert.isFalse(NodeFs.existsSync(marker), "the child wrote everything although nobody read")
      const { error, lines } = yield* readAll(transport)
      assert.strictEqual(exitCodeOf(error), 0)
      assert.strictEqual(lines.length, 20000)
      assert.strictEqual(lines[19999], `19999 ${"x".repeat(200)}`)
      assert.isTrue(NodeFs.existsSync(marker))
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it.live("a child that does not read stdin for a while: 8 MiB of offers wait for drain and all arrive in order", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir()
      const script = nodeScript(
        dir,
        "late-reader",
        `import * as readline from "node:readline"\n` +
          `await new Promise((resolve) => setTimeout(resolve, 500))\n` +
          `let next = 0, bad = 0\n` +
          `for await (const line of readline.createInterface({ input: process.stdin })) {\n` +
          `  if (line === "end") break\n` +
          `  if (JSON.parse(line).n !== next++) bad++\n` +
          `}\n` +
          `process.stdout.write(JSON.stringify({ received: next, bad }) + "\\n", () => process.exit(0))\n`
      )
      const transport = yield* start(script)
      const padding = "p".repeat(1000)
      const count = 8 * 1024
      // in several bursts (microtasks apart), most of them while the pipe is full
      for (let burst = 0; burst < 8; burst++) {
        for (let i = burst * (count / 8); i < (burst + 1) * (count / 8); i++) {
          assert.isTrue(transport.offer(JSON.stringify({ n: i, padding })))
        }
        yield* Effect.promise(() => new Promise<void>((resolve) => queueMicrotask(resolve)))
      }
      transport.offer("end")
      const { error, lines } = yield* readAll(transport)
      assert.deepStrictEqual(lines.map((line) => JSON.parse(line)), [{ received: count, bad: 0 }])
      assert.strictEqual(exitCodeOf(error), 0)
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it.live("a child that exits with requests unwritten: offering goes on until the Scope closes, incoming says ProcessExited", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir()
      const script = nodeScript(dir, "quits", `process.stdin.destroy()\nprocess.exitCode = 4\n`)
      const transport = yield* start(script)
      const big = "q".repeat(256 * 1024)
      for (let i = 0; i < 16; i++) transport.offer(big)
      const { error } = yield* readAll(transport)
      assert.strictEqual(exitCodeOf(error), 4)
      // a broken stdin is no error of its own: the exit status said why
      assert.isTrue(transport.offer("late"))
    }).pipe(
      Effect.scoped,
      Effect.exit,
      Effect.map((exit) => assert.isTrue(Exit.isSuccess(exit), Exit.isFailure(exit) ? Cause.pretty(exit.cause) : "")),
      Effect.provide(NodeServices.layer)
    ))
  it.live("consume: the lines of each read are handed over from the data callback, in order; an effect the handler returns holds reading (the child is slowed down) and nothing is lost", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir()
      const marker = NodePath.join(dir, "written")
      const script = nodeScript(
        dir,
        "consumed",
        `import * as fs from "node:fs"\n` +
          `const line = "x".repeat(200)\n` +
          `for (let i = 0; i < 20000; i++) fs.writeSync(1, i + " " + line + "\\n")\n` +
          `fs.writeFileSync(${JSON.stringify(marker)}, "done")\n`
      )
      const transport = yield* start(script)
      assert.isDefined(transport.consume)
      const lines: Array<string> = []
      let batches = 0
      let writtenWhileHeld: boolean | undefined
      const error = yield* Transport.consume(transport, (batch) => {
        batches++
        for (const line of batch) lines.push(line)
        // the first read's effect holds everything after it for a while
        return batches === 1
          ? Effect.sleep("700 millis").pipe(Effect.andThen(Effect.sync(() => void (writtenWhileHeld = NodeFs.existsSync(marker)))))
          : undefined
      }).pipe(Effect.flip)
      assert.strictEqual(exitCodeOf(error), 0)
      assert.isFalse(writtenWhileHeld, "the child wrote everything while the reader was held")
      assert.strictEqual(lines.length, 20000)
      for (let i = 0; i < lines.length; i++) {
        if (!lines[i]!.startsWith(`${i} `)) assert.fail(`line ${i} is ${lines[i]!.slice(0, 20)}`)
      }
      assert.isBelow(batches, 20000)
    }).pipe(Effect.scoped, Effect.provide(NodeServices.layer)))

  it.live("consume: a handler that throws ends consume with that defect and nothing escapes into Node's emitter; teardown still ends the child by EOF", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir()
      const script = nodeScript(
        dir,
        "throwing",
        `process.stdout.write("a\\nb\\n")\n` +
          `process.stdin.resume()\n` +
          `process.stdin.on("end", () => process.exit(0))\n`
      )
      const uncaught: Array<unknown> = []
      const onUncaught = (error: unknown) => void uncaught.push(error)
      process.on("uncaughtException", onUncaught)
      const boom = new Error("handler failed")
      const started = Date.now()
      const exit = yield* Effect.scoped(Effect.gen(function*() {
        const transport = yield* start(script)
        return yield* Effect.exit(Transport.consume(transport, () => {
          throw boom
        }))
      })).pipe(Effect.ensuring(Effect.sync(() => process.off("uncaughtException", onUncaught))))
      assert.deepStrictEqual(exit, Exit.die(boom))
      assert.deepStrictEqual(uncaught, [])
      // EOF ended the child: no wait for the 2 s shutdownTimeout and SIGTERM
      assert.isBelow(Date.now() - started, 1900)
    }).pipe(Effect.provide(NodeServices.layer)))
})
