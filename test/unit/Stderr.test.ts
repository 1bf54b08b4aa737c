/**
 * What a child process's stderr and a WebSocket URL can put into errors and
 * logs: bounded lines and tails, and no secret the SDK was given. The child
 * processes are small node scripts written by each test (no codex needed),
 * run with `process.execPath`.
 */
import { assert, describe, it } from "@effect/vitest"
import { Redacted } from "effect"
import { envSecrets, MIN_SECRET_LENGTH, REDACTED, redactText, redactUrl, urlSecrets } from "../../src/layers/internal/redact.ts"
import {
  makeLineSplitter,
  makeTail,
  MAX_LINE_BYTES,
  MAX_TAIL_BYTES,
  renderLine,
  utf8Length
} from "../../src/layers/internal/stderrTail.ts"
import * as CodexError from "../../src/schema/CodexError.ts"

const encoder = new TextEncoder()
const bytes = (text: string) => encoder.encode(text)







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
