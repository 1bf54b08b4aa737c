/**
 * What a child process's stderr and a WebSocket URL can put into errors and
 * logs: bounded lines and tails, and no secret the SDK was given. The child
 * processes are small node scripts written by each test (no codex needed),
 * run with `process.execPath`.
 */
import { NodeServices, NodeSocket } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Logger, Option, Redacted, References, Stream } from "effect"
import * as NodeFs from "node:fs"
import * as NodeNet from "node:net"
import * as NodePath from "node:path"
import * as NodeV8 from "node:v8"
import * as NodeVm from "node:vm"
import * as AppServer from "../../src/layers/AppServer.ts"
import { REDACTED } from "../../src/layers/internal/redact.ts"
import {
  MAX_LINE_BYTES,
  MAX_TAIL_BYTES,
  MAX_TAIL_LINES,
  utf8Length
} from "../../src/layers/internal/stderrTail.ts"
import * as Transport from "../../src/layers/Transport.ts"
import { AppServerClient } from "../../src/services/AppServerClient.ts"
import * as CodexError from "../../src/schema/CodexError.ts"
import { tempCodexHome, tempDir, writeScript } from "../support/Home.ts"


/** Writes a node script into `dir` and returns its path. */
const nodeScript = (dir: string, name: string, source: string): string => {
  const file = NodePath.join(dir, `${name}.mjs`)
  NodeFs.writeFileSync(file, source)
  return file
}

/** Runs `effect` with a logger that keeps every line (logfmt, every annotation), at every level. */
const capturingLogs = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const lines: Array<string> = []
    const collector = Logger.make((options) => {
      lines.push(String(Logger.formatLogFmt.log(options)))
    })
    const result = yield* effect.pipe(
      Effect.provide(Logger.layer([collector])),
      Effect.provideService(References.MinimumLogLevel, "All")
    )
    return { result, lines }
  })

/** Spawns `script` through `Transport.stdio` and reads stdout until the connection ends. */
const runChild = (script: string, env?: Transport.StdioOptions["env"]) =>
  Effect.scoped(Effect.gen(function*() {
    const transport = yield* Transport.stdio({
      command: process.execPath,
      args: [script],
      env,
      inheritEnv: false,
      shutdownTimeout: "2 seconds"
    })
    return yield* Stream.runDrain(transport.incoming)
  })).pipe(Effect.exit)

/** The ProcessExited of an exit that must have failed with one, and the failure's cause. */
const processExited = (exit: Exit.Exit<unknown, CodexError.CodexError>) => {
  assert.isTrue(Exit.isFailure(exit), "the connection must fail")
  if (!Exit.isFailure(exit)) throw new Error("unreachable")
  const error = Cause.findErrorOption(exit.cause)
  assert.isTrue(Option.isSome(error), Cause.pretty(exit.cause))
  if (Option.isNone(error)) throw new Error("unreachable")
  assert.strictEqual(error.value.reason._tag, "ProcessExited", Cause.pretty(exit.cause))
  return { error: error.value, reason: error.value.reason as CodexError.ProcessExited, cause: exit.cause }
}

/** A full garbage collection, so a baseline does not count the garbage of earlier tests. */
const collectGarbage: () => void = (() => {
  NodeV8.setFlagsFromString("--expose-gc")
  return NodeVm.runInNewContext("gc") as () => void
})()

/**
 * Samples `heapUsed` every 5 ms while `effect` runs; `growth` is the largest
 * sample minus the baseline (taken after a full GC). Garbage is not collected
 * in between, so `growth` includes what is allocated and not yet reclaimed.
 */
const heapGrowth = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    collectGarbage()
    const before = process.memoryUsage().heapUsed
    let peak = before
    const sample = () => void (peak = Math.max(peak, process.memoryUsage().heapUsed))
    const timer = setInterval(sample, 5)
    const result = yield* effect.pipe(Effect.ensuring(Effect.sync(() => {
      clearInterval(timer)
      sample()
    })))
    return { result, before, peak, growth: peak - before }
  })

const MiB = 1024 * 1024







describe("stderr: bounded", () => {
  it.live("200 MB of stderr without a newline: memory stays flat, the tail and the message stay small", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir()
      const script = nodeScript(
        dir,
        "flood",
        `const chunk = Buffer.alloc(64 * 1024, "a")\n` +
          `for (let i = 0; i < ${(200 * MiB) / (64 * 1024)}; i++) process.stderr.write(chunk)\n` +
          `process.exitCode = 3\n`
      )
      const { before, growth, peak, result: exit } = yield* heapGrowth(runChild(script))
      console.log(`200 MB flood: heapUsed before ${(before / MiB).toFixed(1)} MB, peak ${(peak / MiB).toFixed(1)} MB`)
      const { error, reason } = processExited(exit)
      assert.strictEqual(reason.exitCode, 3)
      assert.strictEqual(reason.stderrTail.length, 1)
      const line = reason.stderrTail[0]!
      assert.isAtMost(utf8Length(line), MAX_LINE_BYTES)
      assert.match(line, /^a+… \[truncated \d+ bytes\]$/)
      const kept = line.indexOf("…")
      assert.strictEqual(line, `${"a".repeat(kept)}… [truncated ${200 * MiB - kept} bytes]`)
      assert.isAtMost(error.message.length, 1200)
      assert.isBelow(growth, 30 * MiB)
    }).pipe(Effect.provide(NodeServices.layer)))

  it.live("a 50 MB line is cut to 8 KiB, the tail keeps at most 16 KiB, the message about 1 KiB", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir()
      const script = nodeScript(
        dir,
        "long-line",
        `for (let i = 0; i < 60; i++) process.stderr.write("short line " + i + "\\n")\n` +
          `const chunk = Buffer.alloc(1024 * 1024, "b")\n` +
          `for (let i = 0; i < 50; i++) process.stderr.write(chunk)\n` +
          `process.stderr.write("\\nError: the last line\\n")\n` +
          `process.exitCode = 3\n`
      )
      const { before, growth, peak, result: exit } = yield* heapGrowth(runChild(script))
      console.log(`50 MB line: heapUsed before ${(before / MiB).toFixed(1)} MB, peak ${(peak / MiB).toFixed(1)} MB`)
      const { error, reason } = processExited(exit)
      assert.strictEqual(reason.exitCode, 3)
      const tail = reason.stderrTail
      assert.isAtMost(tail.length, MAX_TAIL_LINES)
      assert.isAtMost(tail.reduce((sum, line) => sum + utf8Length(line), 0), MAX_TAIL_BYTES)
      assert.strictEqual(tail[tail.length - 1], "Error: the last line")
      const long = tail[tail.length - 2]!
      assert.isAtMost(utf8Length(long), MAX_LINE_BYTES)
      const kept = long.indexOf("…")
      assert.strictEqual(long, `${"b".repeat(kept)}… [truncated ${50 * MiB - kept} bytes]`)
      // the newest line is in the message, which stays short
      assert.include(error.message, "Error: the last line")
      assert.isAtMost(error.message.length, 1200)
      assert.isBelow(growth, 30 * MiB)
    }).pipe(Effect.provide(NodeServices.layer)))
})

describe("stderr: no secret", () => {
  const secret = "sk-test-DO-NOT-LEAK-4f2b9c1e7a"
  const userSecret = "user-token-8c1d2e3f4a5b"

  const assertNowhere = (
    secrets: ReadonlyArray<string>,
    found: { readonly error: CodexError.CodexError; readonly reason: CodexError.ProcessExited; readonly cause: Cause.Cause<unknown> },
    lines: ReadonlyArray<string>
  ) => {
    for (const value of secrets) {
      for (const line of lines) assert.notInclude(line, value)
      for (const line of found.reason.stderrTail) assert.notInclude(line, value)
      assert.notInclude(found.error.message, value)
      assert.notInclude(String(found.error), value)
      assert.notInclude(Cause.pretty(found.cause), value)
      assert.notInclude(JSON.stringify(found.error), value)
    }
  }

  it.live("a secret printed by the child is redacted in the logs, the tail, the message and the pretty cause", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir()
      const script = nodeScript(
        dir,
        "leak",
        `const S = process.env.CODEX_API_KEY, U = process.env.MY_TOKEN\n` +
          `const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))\n` +
          `process.stderr.write("auth: key=" + S + "\\n")\n` +
          `process.stderr.write("user token " + U + " and again " + U + U + "\\n")\n` +
          // a secret split across two writes (two chunks for the reader)
          `process.stderr.write("split " + S.slice(0, 7))\n` +
          `await sleep(100)\n` +
          `process.stderr.write(S.slice(7) + " end\\n")\n` +
          // long lines with the secret at every offset around the cut
          `for (let offset = ${MAX_LINE_BYTES - 120}; offset <= ${MAX_LINE_BYTES + 40}; offset++) {\n` +
          `  process.stderr.write("a".repeat(offset) + S + "b".repeat(20000) + "\\n")\n` +
          `}\n` +
          `process.stderr.write(S + "c".repeat(50000) + "\\n")\n` +
          `process.stderr.write("last: " + S + "\\n")\n` +
          `process.exitCode = 3\n`
      )
      const { lines, result: exit } = yield* capturingLogs(
        runChild(script, { CODEX_API_KEY: Redacted.make(secret), MY_TOKEN: Redacted.make(userSecret) })
      )
      const found = processExited(exit)
      assert.strictEqual(found.reason.exitCode, 3)
      assertNowhere([secret, userSecret, secret.slice(0, 12), secret.slice(-12)], found, lines)

      // the lines are there, with the marker instead of the secret
      const logged = lines.filter((line) => line.includes("codex=stderr"))
      assert.isTrue(logged.some((line) => line.includes(`auth: key=${REDACTED}`)), logged.slice(0, 3).join("\n"))
      assert.isTrue(logged.some((line) => line.includes(`user token ${REDACTED} and again ${REDACTED}`)))
      assert.isTrue(logged.some((line) => line.includes(`split ${REDACTED} end`)))
      assert.isTrue(logged.some((line) => line.includes(`${REDACTED}ccc`)))
      assert.include(found.reason.stderrTail, `last: ${REDACTED}`)
      assert.include(found.error.message, `last: ${REDACTED}`)
    }).pipe(Effect.provide(NodeServices.layer)))

  it.live("an apiKey that codex prints is redacted (AppServer.layer)", () =>
    Effect.gen(function*() {
      const codexHome = yield* tempCodexHome
      const dir = yield* tempDir()
      const codexPath = writeScript(
        dir,
        "codex",
        `echo "using CODEX_API_KEY=$CODEX_API_KEY" >&2\necho "OPENAI_API_KEY=$OPENAI_API_KEY; bye" >&2\nexit 3`
      )
      const { lines, result } = yield* capturingLogs(
        AppServerClient.pipe(
          Effect.provide(AppServer.layer({ codexHome, codexPath, apiKey: Redacted.make(secret) })),
          Effect.exit
        )
      )
      const found = processExited(result)
      assertNowhere([secret], found, lines)
      assert.deepStrictEqual(found.reason.stderrTail, [
        `using CODEX_API_KEY=${REDACTED}`,
        `OPENAI_API_KEY=${REDACTED}; bye`
      ])
    }).pipe(Effect.provide(NodeServices.layer)))
})

/** A TCP port nothing listens on (free at the time of the call). */
const closedPort = Effect.promise(() =>
  new Promise<number>((resolve, reject) => {
    const server = NodeNet.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as NodeNet.AddressInfo
      server.close(() => resolve(port))
    })
  })
)

describe("WebSocket: no credential of the URL or the token", () => {
  it.live("a URL with user:password and ?token= fails with a TransportError that shows neither", () =>
    Effect.gen(function*() {
      const port = yield* closedPort
      const password = "hunter2"
      const token = "s3cr3t"
      const bearer = "bearer-9f8e7d6c5b4a"
      const url = `ws://user:${password}@127.0.0.1:${port}/?token=${token}`
      const exits: Array<Exit.Exit<unknown, CodexError.CodexError>> = [
        yield* Effect.scoped(Effect.gen(function*() {
          const transport = yield* Transport.webSocket({ url, token: Redacted.make(bearer), openTimeout: "3 seconds" })
          return yield* Stream.runDrain(transport.incoming)
        })).pipe(Effect.provide(NodeSocket.layerWebSocketConstructor), Effect.exit),
        yield* AppServerClient.pipe(
          Effect.provide(AppServer.layerWebSocket({ url, token: bearer, openTimeout: "3 seconds" })),
          Effect.exit
        )
      ]
      for (const exit of exits) {
        assert.isTrue(Exit.isFailure(exit))
        if (!Exit.isFailure(exit)) continue
        const error = Cause.findErrorOption(exit.cause)
        assert.isTrue(Option.isSome(error), Cause.pretty(exit.cause))
        if (Option.isNone(error)) continue
        assert.strictEqual(error.value.reason._tag, "TransportError")
        assert.include(error.value.message, `ws://${REDACTED}@127.0.0.1:${port}/?token=${REDACTED}`)
        for (const value of [password, token, bearer]) {
          assert.notInclude(error.value.message, value)
          assert.notInclude(Cause.pretty(exit.cause), value)
          assert.notInclude(JSON.stringify(error.value), value)
        }
      }
    }))
})
