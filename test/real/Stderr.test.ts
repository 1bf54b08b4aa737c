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
import { envSecrets, MIN_SECRET_LENGTH, REDACTED, redactText, redactUrl, urlSecrets } from "../../src/layers/internal/redact.ts"
import {
  makeLineSplitter,
  makeTail,
  MAX_LINE_BYTES,
  MAX_TAIL_BYTES,
  MAX_TAIL_LINES,
  renderLine,
  utf8Length
} from "../../src/layers/internal/stderrTail.ts"
import * as Transport from "../../src/layers/Transport.ts"
import { AppServerClient } from "../../src/services/AppServerClient.ts"
import * as CodexError from "../../src/schema/CodexError.ts"
import { tempCodexHome, tempDir, writeScript } from "../support/Home.ts"

const encoder = new TextEncoder()
const bytes = (text: string) => encoder.encode(text)

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

/** Splits `input` fed in chunks of `size` bytes (every size from 1 up gives the same lines). */
const splitChunked = (input: Uint8Array, size: number, options?: Parameters<typeof makeLineSplitter>[0]) => {
  const splitter = makeLineSplitter(options)
  const lines: Array<string> = []
  for (let at = 0; at < input.length; at += size) lines.push(...splitter.push(input.subarray(at, at + size)))
  return [...lines, ...splitter.end()]
}

describe("makeLineSplitter", () => {
  it("splits at \\n, \\r\\n and a lone \\r like Stream.splitLines, whatever the chunking", () => {
    const input = bytes("a\nb\r\nc\rd\n\ne\r\r\nf")
    for (let size = 1; size <= input.length; size++) {
      assert.deepStrictEqual(splitChunked(input, size), ["a", "b", "c", "d", "", "e", "", "f"], `chunks of ${size}`)
    }
    assert.deepStrictEqual(splitChunked(bytes("x\n"), 1), ["x"])
    assert.deepStrictEqual(splitChunked(bytes(""), 1), [])
  })

  it("decodes a character split across chunks", () => {
    const input = bytes("héllo wörld €𝄞\n")
    for (let size = 1; size <= 4; size++) assert.deepStrictEqual(splitChunked(input, size), ["héllo wörld €𝄞"])
  })

  it("a line longer than the cap is cut with a marker that counts the dropped bytes", () => {
    const splitter = makeLineSplitter({ maxLineBytes: 100 })
    const chunk = new Uint8Array(1000).fill(0x78)
    for (let i = 0; i < 1000; i++) assert.deepStrictEqual(splitter.push(chunk), [])
    const [line] = splitter.push(bytes("\n"))
    assert.strictEqual(line, `${"x".repeat(60)}… [truncated ${1_000_000 - 60} bytes]`)
    assert.isAtMost(utf8Length(line!), 100)
    assert.deepStrictEqual(splitter.push(bytes("next\n")), ["next"])
  })

  it("a line of exactly the cap is kept whole; one byte more is cut", () => {
    assert.deepStrictEqual(splitChunked(bytes("y".repeat(MAX_LINE_BYTES) + "\n"), 4096), ["y".repeat(MAX_LINE_BYTES)])
    const [cut] = splitChunked(bytes("y".repeat(MAX_LINE_BYTES + 1) + "\n"), 4096)
    assert.match(cut!, /^y+… \[truncated \d+ bytes\]$/)
    assert.isAtMost(utf8Length(cut!), MAX_LINE_BYTES)
  })

  it("a cut never splits a UTF-8 character", () => {
    for (const char of ["é", "€", "𝄞"]) {
      for (let pad = 0; pad < 4; pad++) {
        const [line] = splitChunked(bytes("p".repeat(pad) + char.repeat(100) + "\n"), 7, { maxLineBytes: 80 })
        assert.notInclude(line!, "\uFFFD")
        const kept = line!.slice(0, line!.indexOf("…"))
        assert.strictEqual(kept, "p".repeat(pad) + char.repeat((kept.length - pad) / char.length))
        assert.isAtMost(utf8Length(line!), 80)
      }
    }
  })

  it("the state it holds is bounded: a 64 MiB line costs no more than a short one", () => {
    const splitter = makeLineSplitter()
    const chunk = new Uint8Array(1024 * 1024).fill(0x7a)
    for (let i = 0; i < 64; i++) assert.deepStrictEqual(splitter.push(chunk), [])
    const [line] = splitter.end()
    assert.strictEqual(line, `${"z".repeat(MAX_LINE_BYTES - 40)}… [truncated ${64 * MiB - (MAX_LINE_BYTES - 40)} bytes]`)
  })
})

describe("redaction of stderr lines", () => {
  const secret = "SECRET-0123456789-XYZ"

  /** What a line shows once markers are removed: must be filler only. */
  const unmarked = (line: string) => line.replaceAll(REDACTED, "").replace(/… \[truncated \d+ bytes\]$/, "")

  it("a secret is redacted wherever it is split between chunks", () => {
    const input = bytes(`before ${secret} middle ${secret}${secret} after\n`)
    for (let size = 1; size <= input.length; size++) {
      assert.deepStrictEqual(
        splitChunked(input, size, { secrets: [secret] }),
        [`before ${REDACTED} middle ${REDACTED} after`],
        `chunks of ${size}`
      )
    }
  })

  it("a long line cut near a secret leaks no part of it, at any offset and any chunking", () => {
    const maxLineBytes = 200
    for (let offset = 0; offset <= maxLineBytes + secret.length + 5; offset++) {
      for (const size of [1, 13, 64, 100_000]) {
        for (const tail of [0, 5, 10_000]) {
          const input = bytes("a".repeat(offset) + secret + "b".repeat(tail) + "\n")
          const [line] = splitChunked(input, size, { secrets: [secret], maxLineBytes })
          assert.match(unmarked(line!), /^a*b*$/, `offset ${offset}, chunks of ${size}, tail ${tail}: ${line}`)
          assert.isAtMost(utf8Length(line!), maxLineBytes)
        }
      }
    }
  })

  it("many secrets shorter than their marker, or longer, never push a secret's prefix into the kept text", () => {
    const short = "Q1W2"
    const long = "L".repeat(150)
    for (const value of [short, long]) {
      for (let offset = 0; offset < 12; offset++) {
        const input = bytes("a".repeat(offset) + value.repeat(400) + "\n")
        const [line] = splitChunked(input, 97, { secrets: [value], maxLineBytes: 300 })
        assert.match(unmarked(line!), /^a*$/, line)
        assert.isAtMost(utf8Length(line!), 300)
      }
    }
  })

  it("overlapping secrets are covered together", () => {
    assert.deepStrictEqual(
      splitChunked(bytes("x abcdefgh y defghijk z\n"), 3, { secrets: ["abcdefgh", "efghij", "defghijk"] }),
      [`x ${REDACTED} y ${REDACTED} z`]
    )
    assert.deepStrictEqual(splitChunked(bytes("abcdefghij\n"), 3, { secrets: ["abcdef", "efghij"] }), [REDACTED])
  })

  it("renderLine redacts before it cuts", () => {
    const window = bytes("a".repeat(50) + secret)
    assert.strictEqual(renderLine(window, 0, [bytes(secret)], 1000), "a".repeat(50) + REDACTED)
    // the secret straddles the cut: it goes whole (as the marker) or not at all
    const cut = renderLine(window, 1000, [bytes(secret)], 95)
    assert.match(unmarked(cut), /^a*$/)
  })

  it("envSecrets takes the Redacted values, long enough, longest first", () => {
    assert.deepStrictEqual(
      envSecrets({
        CODEX_API_KEY: Redacted.make("sk-short"),
        OPENAI_API_KEY: Redacted.make("sk-short"),
        TOKEN: Redacted.make("a-much-longer-token"),
        PLAIN: "not-a-secret-because-plain",
        TINY: Redacted.make("abc"),
        EMPTY: Redacted.make(""),
        UNSET: undefined
      }),
      ["a-much-longer-token", "sk-short"]
    )
    assert.strictEqual(MIN_SECRET_LENGTH, 4)
    assert.deepStrictEqual(envSecrets(undefined), [])
  })
})

describe("makeTail", () => {
  it("keeps the last 50 lines", () => {
    const tail = makeTail()
    for (let i = 0; i < 60; i++) tail.push(`line ${i}`)
    assert.deepStrictEqual(tail.lines(), Array.from({ length: 50 }, (_, i) => `line ${i + 10}`))
  })

  it("keeps at most 16 KiB, dropping the oldest lines first", () => {
    const tail = makeTail()
    const line = (c: string) => c.repeat(6000)
    for (const c of ["a", "b", "c", "d"]) tail.push(line(c))
    assert.deepStrictEqual(tail.lines(), [line("c"), line("d")])
    tail.push("short")
    assert.deepStrictEqual(tail.lines(), [line("c"), line("d"), "short"])
    tail.push("é".repeat(3000)) // 6000 bytes, 3000 characters
    assert.deepStrictEqual(tail.lines(), [line("d"), "short", "é".repeat(3000)])
    assert.isAtMost(tail.lines().reduce((sum, l) => sum + utf8Length(l), 0), MAX_TAIL_BYTES)
  })

  it("utf8Length counts like TextEncoder", () => {
    for (const text of ["", "abc", "é", "€", "𝄞", "a\uD800b", "\uDC00", "mixed é € 𝄞 text"]) {
      assert.strictEqual(utf8Length(text), encoder.encode(text).length, JSON.stringify(text))
    }
  })
})

describe("ProcessExited message", () => {
  const message = (stderrTail: ReadonlyArray<string>) =>
    new CodexError.ProcessExited({ exitCode: 3, signal: undefined, stderrTail }).message

  it("quotes the last 5 lines", () => {
    assert.strictEqual(
      message(["1", "2", "3", "4", "5", "6"]),
      "codex app-server exited with code 3; stderr: 2 | 3 | 4 | 5 | 6"
    )
  })

  it("quotes at most about 1 KiB: the newest lines that fit, the newest one cut if alone too long", () => {
    const long = "x".repeat(8000)
    const cut = message(["older", long])
    assert.strictEqual(cut, `codex app-server exited with code 3; stderr: ${"x".repeat(1024)}…`)
    const fit = message(["a".repeat(600), "b".repeat(600), "c".repeat(300)])
    assert.strictEqual(fit, `codex app-server exited with code 3; stderr: ${"b".repeat(600)} | ${"c".repeat(300)}`)
    const full = message(Array.from({ length: 50 }, () => "z".repeat(8192)))
    assert.isAtMost(full.length, 1100)
  })
})

describe("redactUrl", () => {
  it("hides userinfo, query values and the fragment; keeps scheme, host, port, path and query names", () => {
    assert.strictEqual(
      redactUrl("ws://user:hunter2@127.0.0.1:4500/rpc?token=s3cr3t&access_token=t2&key=k3&v=2#frag"),
      `ws://${REDACTED}@127.0.0.1:4500/rpc?token=${REDACTED}&access_token=${REDACTED}&key=${REDACTED}&v=${REDACTED}#${REDACTED}`
    )
    assert.strictEqual(redactUrl("ws://127.0.0.1:4500"), "ws://127.0.0.1:4500")
    assert.strictEqual(redactUrl("wss://host/path/"), "wss://host/path/")
    assert.strictEqual(redactUrl("ws://tok@host"), `ws://${REDACTED}@host`)
    assert.strictEqual(redactUrl("ws://u:p@ss@host/a@b"), `ws://${REDACTED}@host/a@b`)
    assert.strictEqual(redactUrl("ws://host/?bare"), `ws://host/?${REDACTED}`)
    assert.strictEqual(redactUrl("ws://host/?"), "ws://host/?")
    assert.strictEqual(redactUrl("ws://host/#"), "ws://host/#")
  })

  it("works on a URL that does not parse", () => {
    assert.strictEqual(redactUrl("ws://user:pw@host:notaport/?token=x"), `ws://${REDACTED}@host:notaport/?token=${REDACTED}`)
    assert.strictEqual(redactUrl("not a url ?token=x"), `not a url ?token=${REDACTED}`)
  })

  it("urlSecrets lists the credentials, raw and decoded, for scrubbing quoted text", () => {
    const url = "ws://user:p%40ssword@host/?token=s3cr3t&v=2"
    const secrets = urlSecrets(url)
    for (const value of ["user:p%40ssword", "p%40ssword", "p@ssword", "user", "s3cr3t"]) assert.include(secrets, value)
    assert.notInclude(secrets, "2")
    assert.strictEqual(
      redactText(`failed to connect to ${url} with p@ssword`, secrets),
      `failed to connect to ws://${REDACTED}@host/?token=${REDACTED}&v=2 with ${REDACTED}`
    )
  })
})

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
