import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { execFileSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import {
  configToArgs,
  encodeConfigArgs,
  encodeKeyPath,
  encodeTomlString,
  encodeTomlValue,
  TomlEncodeError
} from "../../src/schema/internal/toml.ts"
import * as CodexBinary from "../support/CodexBinary.ts"

const catchEncode = (f: () => unknown): TomlEncodeError => {
  try {
    f()
  } catch (error) {
    assert.instanceOf(error, TomlEncodeError)
    return error as TomlEncodeError
  }
  assert.fail("expected a TomlEncodeError")
}

describe("encodeTomlString", () => {
  it("escapes quotes, backslashes and the short escapes", () => {
    assert.strictEqual(encodeTomlString(`a"b\\c`), `"a\\"b\\\\c"`)
    assert.strictEqual(encodeTomlString("\b\t\n\f\r"), `"\\b\\t\\n\\f\\r"`)
    assert.strictEqual(encodeTomlString(""), `""`)
    assert.strictEqual(encodeTomlString("C:\\path\\to"), `"C:\\\\path\\\\to"`)
  })

  it("escapes every other control character as \\uXXXX", () => {
    assert.strictEqual(encodeTomlString("\u0000\u0001\u001f\u007f"), `"\\u0000\\u0001\\u001F\\u007F"`)
    for (let code = 0; code < 0x20; code++) {
      const out = encodeTomlString(String.fromCharCode(code))
      // no raw control character survives
      assert.isFalse(/[\u0000-\u001f\u007f]/.test(out), `code ${code}: ${JSON.stringify(out)}`)
    }
  })

  it("keeps non-ASCII, emoji and other printable characters as-is", () => {
    assert.strictEqual(encodeTomlString("héllo wörld ✓ 日本語"), `"héllo wörld ✓ 日本語"`)
    assert.strictEqual(encodeTomlString("😀👍🏽"), `"😀👍🏽"`)
    assert.strictEqual(encodeTomlString("'single' `tick` $HOME #x = [y]"), `"'single' \`tick\` $HOME #x = [y]"`)
    assert.strictEqual(encodeTomlString("\u0080\u00a0\u2028"), `"\u0080\u00a0\u2028"`)
  })

  it("rejects lone surrogates", () => {
    assert.match(catchEncode(() => encodeTomlString("a\ud800b")).message, /lone UTF-16 surrogate/)
    assert.match(catchEncode(() => encodeTomlString("\udc00")).message, /\\uDC00/)
    assert.match(catchEncode(() => encodeTomlString("x\ud83d")).message, /surrogate/)
  })

  it("agrees with JSON for strings without control characters (property check)", () => {
    // For printable strings TOML basic strings and JSON strings use the same escapes.
    const alphabet = ["a", "Z", "0", " ", "\"", "\\", "é", "😀", "'", "=", ".", "{", "}", "[", "#"]
    let seed = 42
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31)
    for (let n = 0; n < 500; n++) {
      let s = ""
      const len = next() % 12
      for (let i = 0; i < len; i++) s += alphabet[next() % alphabet.length]
      assert.strictEqual(encodeTomlString(s), JSON.stringify(s))
      assert.strictEqual(JSON.parse(encodeTomlString(s)), s)
    }
  })
})

describe("encodeKeyPath", () => {
  it("leaves bare keys and quotes the rest", () => {
    assert.strictEqual(encodeKeyPath(["a", "b_c", "D-9"]), "a.b_c.D-9")
    assert.strictEqual(encodeKeyPath(["model_providers", "my.provider", "name"]), `model_providers."my.provider".name`)
    assert.strictEqual(encodeKeyPath(["my key", "é", "", "q\"", "1.5"]), `"my key"."é".""."q\\""."1.5"`)
    assert.strictEqual(encodeKeyPath(["tab\there"]), `"tab\\there"`)
    assert.strictEqual(encodeKeyPath([]), "")
  })
})

describe("encodeTomlValue", () => {
  it("scalars", () => {
    assert.strictEqual(encodeTomlValue("o3"), `"o3"`)
    assert.strictEqual(encodeTomlValue(true), "true")
    assert.strictEqual(encodeTomlValue(false), "false")
    assert.strictEqual(encodeTomlValue(42), "42")
    assert.strictEqual(encodeTomlValue(-7), "-7")
    assert.strictEqual(encodeTomlValue(-0), "0")
    assert.strictEqual(encodeTomlValue(1.5), "1.5")
    assert.strictEqual(encodeTomlValue(-0.25), "-0.25")
    assert.strictEqual(encodeTomlValue(1e-7), "1e-7")
    assert.strictEqual(encodeTomlValue(1.5e300), "1.5e+300")
    assert.strictEqual(encodeTomlValue(Number.MAX_SAFE_INTEGER), "9007199254740991")
    assert.strictEqual(encodeTomlValue(2 ** 53), "9.007199254740992e+15")
    assert.strictEqual(encodeTomlValue(-1e21), "-1e+21")
    assert.strictEqual(encodeTomlValue(2n ** 63n - 1n), "9223372036854775807")
    assert.strictEqual(encodeTomlValue(-(2n ** 63n)), "-9223372036854775808")
  })

  it("arrays and inline tables", () => {
    assert.strictEqual(encodeTomlValue([]), "[]")
    assert.strictEqual(encodeTomlValue(["a", "b c"]), `["a", "b c"]`)
    assert.strictEqual(encodeTomlValue([1, "x", true, [2.5]]), `[1, "x", true, [2.5]]`)
    assert.strictEqual(encodeTomlValue([{ a: 1 }, { b: { c: "d" } }]), `[{ a = 1 }, { b = { c = "d" } }]`)
    assert.strictEqual(encodeTomlValue({}), "{}")
    assert.strictEqual(encodeTomlValue({ a: undefined }), "{}")
    assert.strictEqual(encodeTomlValue({ a: 1, skip: undefined, "b.c": "x", "my key": [] }), `{ a = 1, "b.c" = "x", "my key" = [] }`)
    assert.strictEqual(encodeTomlValue(Object.assign(Object.create(null), { z: 1 })), "{ z = 1 }")
  })

  it("rejects what TOML cannot represent, with the path", () => {
    const cases: ReadonlyArray<readonly [unknown, string, RegExp]> = [
      [null, "", /null/],
      [undefined, "", /undefined/],
      [Number.NaN, "", /not a finite number/],
      [Number.POSITIVE_INFINITY, "", /not a finite number/],
      [Number.NEGATIVE_INFINITY, "", /not a finite number/],
      [2n ** 63n, "", /64-bit/],
      [new Date(0), "", /Date/],
      [Symbol("s"), "", /symbol/],
      [() => 1, "", /function/],
      [new Map(), "", /Map instance/],
      [{ a: { b: null } }, "a.b", /null/],
      [{ "x.y": [1, Number.NaN] }, `"x.y"[1]`, /finite/],
      [[1, undefined], "[1]", /undefined/],
      [{ a: [{ b: "\ud800" }] }, "a[0].b", /surrogate/]
    ]
    for (const [value, path, message] of cases) {
      const error = catchEncode(() => encodeTomlValue(value))
      assert.strictEqual(error._tag, "TomlEncodeError")
      assert.strictEqual(error.path, path, String(message))
      assert.match(error.message, message)
    }
  })

  it("rejects cycles", () => {
    const a: Record<string, unknown> = { x: 1 }
    a["self"] = a
    assert.match(catchEncode(() => encodeTomlValue(a)).message, /circular/)
    const arr: Array<unknown> = []
    arr.push(arr)
    assert.match(catchEncode(() => encodeTomlValue(arr)).message, /circular/)
    // shared (non-cyclic) references are fine
    const shared = { v: 1 }
    assert.strictEqual(encodeTomlValue({ a: shared, b: shared }), "{ a = { v = 1 }, b = { v = 1 } }")
  })
})

describe("configToArgs", () => {
  it("encodes nested objects as dotted leaves", () => {
    assert.deepStrictEqual(configToArgs({ a: { b: { c: 1 } } }), ["-c", "a.b.c=1"])
    assert.deepStrictEqual(
      configToArgs({
        model: "o3",
        approval_policy: "never",
        sandbox_workspace_write: { network_access: true, writable_roots: ["/tmp/a b", "/x\"y"] },
        model_reasoning_effort: undefined,
        tools: { web_search: false },
        n: 0.5
      }),
      [
        "-c",
        `model="o3"`,
        "-c",
        `approval_policy="never"`,
        "-c",
        "sandbox_workspace_write.network_access=true",
        "-c",
        `sandbox_workspace_write.writable_roots=["/tmp/a b", "/x\\"y"]`,
        "-c",
        "tools.web_search=false",
        "-c",
        "n=0.5"
      ]
    )
  })

  it("arrays of objects become arrays of inline tables", () => {
    assert.deepStrictEqual(configToArgs({ a: [{ a: 1 }, { "b c": [true] }] }), ["-c", `a=[{ a = 1 }, { "b c" = [true] }]`])
  })

  it("empty objects become {}", () => {
    assert.deepStrictEqual(configToArgs({}), [])
    assert.deepStrictEqual(configToArgs({ a: {} }), ["-c", "a={}"])
    assert.deepStrictEqual(configToArgs({ a: { b: {} } }), ["-c", "a.b={}"])
    assert.deepStrictEqual(configToArgs({ a: { b: undefined } }), ["-c", "a={}"])
  })

  it("children with non-bare keys go into one inline table at their parent, before the dotted leaves", () => {
    assert.deepStrictEqual(
      configToArgs({ model_providers: { "my.provider": { name: "x" } } }),
      ["-c", `model_providers={ "my.provider" = { name = "x" } }`]
    )
    assert.deepStrictEqual(
      configToArgs({
        model_providers: {
          local: { base_url: "http://127.0.0.1:8080/v1" },
          "my.provider": { name: "x", "a.b": 1 },
          "my key": "v",
          "é": undefined
        }
      }),
      [
        "-c",
        `model_providers={ "my.provider" = { name = "x", "a.b" = 1 }, "my key" = "v" }`,
        "-c",
        `model_providers.local.base_url="http://127.0.0.1:8080/v1"`
      ]
    )
    assert.deepStrictEqual(
      configToArgs({ mcp_servers: { s: { command: "x", env: { "A.B": "1", PATH: "/bin" } } } }),
      ["-c", `mcp_servers.s.command="x"`, "-c", `mcp_servers.s.env={ "A.B" = "1" }`, "-c", `mcp_servers.s.env.PATH="/bin"`]
    )
    // nothing but bare keys ever appears left of '='
    const args = configToArgs({ a: { "x.y": { "p q": 1 }, b: { "é": { c: 2 } } } })
    for (let i = 1; i < args.length; i += 2) {
      assert.match(args[i]!.slice(0, args[i]!.indexOf("=")), /^[A-Za-z0-9_.-]+$/)
    }
  })

  it("tricky string values", () => {
    assert.deepStrictEqual(configToArgs({ s: "line1\nline2\ttab \"q\" \\ \u0001 é 😀" }), [
      "-c",
      `s="line1\\nline2\\ttab \\"q\\" \\\\ \\u0001 é 😀"`
    ])
    assert.deepStrictEqual(configToArgs({ s: "a=b" }), ["-c", `s="a=b"`])
  })

  it("rejects non-bare top-level keys, null, NaN and non-plain config", () => {
    const topLevel = catchEncode(() => configToArgs({ "a.b": 1 }))
    assert.strictEqual(topLevel.path, `"a.b"`)
    assert.match(topLevel.message, /top-level key/)
    assert.strictEqual(catchEncode(() => configToArgs({ a: { b: null } })).path, "a.b")
    assert.strictEqual(catchEncode(() => configToArgs({ a: { b: [Number.NaN] } })).path, "a.b[0]")
    assert.strictEqual(catchEncode(() => configToArgs({ a: { "q.r": { s: Number.POSITIVE_INFINITY } } })).path, `a."q.r".s`)
    assert.strictEqual(catchEncode(() => configToArgs({ when: new Date() })).path, "when")
    catchEncode(() => configToArgs(new Map() as unknown as Record<string, unknown>))
    catchEncode(() => configToArgs([] as unknown as Record<string, unknown>))
    const cyclic: Record<string, unknown> = {}
    cyclic["a"] = { b: cyclic }
    assert.match(catchEncode(() => configToArgs(cyclic)).message, /circular/)
  })

  it.effect("encodeConfigArgs fails with the typed error", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* encodeConfigArgs({ a: { b: 1 } }), ["-c", "a.b=1"])
      const exit = yield* Effect.exit(encodeConfigArgs({ a: null }))
      assert.isTrue(Exit.isFailure(exit))
      const error = yield* Effect.flip(encodeConfigArgs({ a: null }))
      assert.strictEqual(error._tag, "TomlEncodeError")
      assert.strictEqual(error.path, "a")
    }))
})

// Round trip through the real codex parser: `codex mcp get <name> --json` echoes the parsed
// `mcp_servers.<name>` entry (command, args, env).
const codexBinary = CodexBinary.binary

describe(
  "configToArgs against the real codex -c parser",
  () => {
    const mcpGet = (args: ReadonlyArray<string>, name: string): unknown => {
      const home = mkdtempSync(join(tmpdir(), "toml-test-"))
      try {
        const out = execFileSync(codexBinary.command, [...codexBinary.prefixArgs, ...args, "mcp", "get", name, "--json"], {
          env: { ...process.env, CODEX_HOME: home },
          encoding: "utf8",
          stdio: ["ignore", "pipe", "ignore"]
        })
        return JSON.parse(out)
      } finally {
        rmSync(home, { recursive: true, force: true })
      }
    }

    it("tricky strings, arrays and non-bare keys survive the round trip", () => {
      const command = "a\"b\\c\nd\te\r\u0001\u001f\u007f é 日本 😀 'x' = [y] #z"
      const args = ["", " lead", "trail ", "multi\nline", "\\\\server\\share", "{ a = 1 }", "\u0000"]
      const env = { "A.B": "dotted", "my key": "space", "é": "unicode", "q\"uote": "quote", PATH: "/usr/bin" }
      const config = { mcp_servers: { "srv.v2": { command, args, env, startup_timeout_sec: 1.5 } } }
      const parsed = mcpGet(configToArgs(config), "srv.v2") as {
        name: string
        transport: { command: string; args: Array<string>; env: Record<string, string> }
        startup_timeout_sec: number
      }
      assert.strictEqual(parsed.name, "srv.v2")
      assert.strictEqual(parsed.transport.command, command)
      assert.deepStrictEqual(parsed.transport.args, args)
      assert.deepStrictEqual(parsed.transport.env, env)
      assert.strictEqual(parsed.startup_timeout_sec, 1.5)
    })

    it("dotted leaves and an inline table under the same parent merge", () => {
      const config = { mcp_servers: { s: { command: "x", env: { "A.B": "1", PLAIN: "2" }, tool_timeout_sec: 30 } } }
      const parsed = mcpGet(configToArgs(config), "s") as {
        transport: { command: string; env: Record<string, string> }
        tool_timeout_sec: number
      }
      assert.strictEqual(parsed.transport.command, "x")
      assert.deepStrictEqual(parsed.transport.env, { "A.B": "1", PLAIN: "2" })
      assert.strictEqual(parsed.tool_timeout_sec, 30)
    })
  }
)
