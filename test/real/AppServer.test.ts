/**
 * AppServer layers against the real codex binary (`CodexBinary`: the pinned one
 * unless CODEX_PATH says otherwise; and, for failed
 * starts, against tiny shell scripts standing in for it). Every test gets a
 * fresh CODEX_HOME with plugins disabled, so nothing touches the network, and
 * gets the client the way users do: `yield* AppServerClient` under
 * `Effect.provide(AppServer.layer(...))`.
 */
import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer, Logger, References, Redacted } from "effect"
import { execFileSync } from "node:child_process"
import * as NodeFs from "node:fs"
import { createRequire } from "node:module"
import * as AppServer from "../../src/layers/AppServer.ts"
import { AppServerClient } from "../../src/services/AppServerClient.ts"
import type * as CodexError from "../../src/schema/CodexError.ts"
import { awaitNoPidsWithEnv, offlineConfig, pidsWithEnv, tempCodexHome, tempDir, writeScript } from "../support/Home.ts"
import * as CodexBinary from "../support/CodexBinary.ts"

/** Builds the layer, runs `use` with the client, closes the layer. */
const withClient = <A, E, R>(
  options: AppServer.Options,
  use: (client: AppServerClient["Service"]) => Effect.Effect<A, E, R>
) =>
  Effect.flatMap(AppServerClient, use).pipe(
    Effect.provide(AppServer.layer({ codexPath: CodexBinary.codexPath, ...options }))
  )

/** The error of a layer build that is expected to fail. */
const startError = <E, R>(layer: Layer.Layer<AppServerClient, E, R>) =>
  AppServerClient.pipe(Effect.provide(layer), Effect.flip)

describe("AppServer.layer (real binary)", () => {
  it("resolveCodexBinary finds the native binary of the pinned @openai/codex (not another installed codex)", () => {
    const pinned: string = JSON.parse(
      NodeFs.readFileSync(createRequire(import.meta.url).resolve("@openai/codex/package.json"), "utf8")
    ).version
    const binary = AppServer.resolveCodexBinary()
    assert.deepStrictEqual(binary.prefixArgs, [], "the native binary, not the npm wrapper")
    assert.strictEqual(execFileSync(binary.command, ["--version"], { encoding: "utf8" }).trim(), `codex-cli ${pinned}`)
  })

  it.live("initializes: metadata, model/list, thread/start, thread/list, thread/loaded/list", () =>
    Effect.gen(function*() {
      const codexHome = yield* tempCodexHome
      yield* withClient({ codexHome, config: offlineConfig }, (client) =>
        Effect.gen(function*() {
          assert.match(client.metadata.userAgent, new RegExp(`^effect_codex/${CodexBinary.versionPattern()} `))
          assert.strictEqual(client.metadata.codexHome, codexHome)
          assert.strictEqual(client.metadata.platformFamily, "unix")
          assert.strictEqual(client.metadata.platformOs, process.platform === "darwin" ? "macos" : process.platform)
          assert.isTrue(client.experimentalApi)

          const models = yield* client.request("model/list", {})
          assert.isAbove(models.data.length, 0)
          assert.isString(models.data[0]!.id)

          const started = yield* client.request("thread/start", {})
          assert.match(started.thread.id, /^[0-9a-f-]{36}$/)
          // A thread without turns is not persisted yet, so thread/list may be empty; it is loaded, though.
          const list = yield* client.request("thread/list", {})
          assert.isArray(list.data)
          const loaded = yield* client.request("thread/loaded/list", {})
          assert.include(loaded.data, started.thread.id)
        }))
    }).pipe(Effect.provide(NodeServices.layer)))

  it.live("server errors: an unknown method and invalid params give RpcError with the method", () =>
    Effect.gen(function*() {
      const codexHome = yield* tempCodexHome
      yield* withClient({ codexHome, config: offlineConfig }, (client) =>
        Effect.gen(function*() {
          const unknown = yield* Effect.flip(client.requestRaw("no/such/method", {}))
          assert.strictEqual(unknown.reason._tag, "RpcError")
          if (unknown.reason._tag === "RpcError") {
            assert.strictEqual(unknown.reason.code, -32600)
            assert.strictEqual(unknown.reason.method, "no/such/method")
            assert.match(unknown.reason.message, /unknown variant `no\/such\/method`/)
          }

          const invalid = yield* Effect.flip(client.request("thread/read", { threadId: "not-a-thread-id" }))
          assert.strictEqual(invalid.reason._tag, "RpcError")
          if (invalid.reason._tag === "RpcError") {
            assert.strictEqual(invalid.reason.code, -32600)
            assert.strictEqual(invalid.reason.method, "thread/read")
            assert.match(invalid.reason.message, /invalid thread id/)
          }

          // A well-formed id of a thread that does not exist.
          const missing = yield* Effect.flip(
            client.request("thread/read", { threadId: "00000000-0000-7000-8000-000000000000" })
          )
          assert.strictEqual(missing.reason._tag, "RpcError")

          // The connection is still fine after errors.
          const loaded = yield* client.request("thread/loaded/list", {})
          assert.isArray(loaded.data)
        }))
    }).pipe(Effect.provide(NodeServices.layer)))
})

describe("AppServer.layer: failed starts", () => {
  it.live("a codexPath that does not exist fails with SpawnError", () =>
    Effect.gen(function*() {
      const codexHome = yield* tempCodexHome
      const codexPath = `${codexHome}/no-such-codex`
      const error = yield* startError(AppServer.layer({ codexHome, codexPath, config: offlineConfig }))
      assert.strictEqual(error._tag, "CodexError")
      assert.strictEqual(error.reason._tag, "SpawnError")
      if (error.reason._tag === "SpawnError") {
        assert.strictEqual(error.reason.command, codexPath)
        assert.match(error.reason.description, /NotFound|ENOENT/)
      }
      assert.deepStrictEqual(pidsWithEnv("CODEX_HOME", codexHome), [])

      // A file that is not executable.
      const dir = yield* tempDir()
      const notExecutable = `${dir}/codex`
      NodeFs.writeFileSync(notExecutable, "#!/bin/sh\nexit 0\n", { mode: 0o644 })
      const denied = yield* startError(AppServer.layer({ codexHome, codexPath: notExecutable }))
      assert.strictEqual(denied.reason._tag, "SpawnError")
      if (denied.reason._tag === "SpawnError") assert.match(denied.reason.description, /PermissionDenied|EACCES/)
    }).pipe(Effect.provide(NodeServices.layer)))

  it.live("a process that exits 7 before answering initialize fails with ProcessExited and its stderr", () =>
    Effect.gen(function*() {
      const codexHome = yield* tempCodexHome
      const dir = yield* tempDir()
      const codexPath = writeScript(dir, "codex", `echo "fatal: cannot load config.toml" >&2\nexit 7`)
      const error = yield* startError(AppServer.layer({ codexHome, codexPath, config: offlineConfig }))
      assert.strictEqual(error.reason._tag, "ProcessExited")
      if (error.reason._tag === "ProcessExited") {
        assert.strictEqual(error.reason.exitCode, 7)
        assert.isUndefined(error.reason.signal)
        assert.include(error.reason.stderrTail, "fatal: cannot load config.toml")
      }
      assert.match(error.message, /exited with code 7; stderr: fatal: cannot load config\.toml/)
      assert.deepStrictEqual(pidsWithEnv("CODEX_HOME", codexHome), [])

      // Only the last 50 stderr lines are kept.
      const chatty = writeScript(dir, "chatty", `for i in $(seq 1 120); do echo "line $i" >&2; done\nexit 0`)
      const exited0 = yield* startError(AppServer.layer({ codexHome, codexPath: chatty }))
      assert.strictEqual(exited0.reason._tag, "ProcessExited")
      if (exited0.reason._tag === "ProcessExited") {
        assert.strictEqual(exited0.reason.exitCode, 0)
        assert.strictEqual(exited0.reason.stderrTail.length, 50)
        assert.strictEqual(exited0.reason.stderrTail[0], "line 71")
        assert.strictEqual(exited0.reason.stderrTail[49], "line 120")
      }
    }).pipe(Effect.provide(NodeServices.layer)))

  it.live("a process that closes stdout but keeps running: TransportError, and it is stopped", () =>
    Effect.gen(function*() {
      const codexHome = yield* tempCodexHome
      const dir = yield* tempDir()
      const codexPath = writeScript(dir, "codex", `exec 1>&-\nexec sleep 1000`)
      const started = Date.now()
      const error = yield* startError(
        AppServer.layer({ codexHome, codexPath, requestTimeout: "10 seconds", shutdownTimeout: "200 millis" })
      )
      const elapsed = Date.now() - started
      assert.strictEqual(error.reason._tag, "TransportError")
      assert.match(error.message, /closed stdout but kept running/)
      // Noticed after shutdownTimeout, not after requestTimeout.
      assert.isBelow(elapsed, 3_000)
      assert.deepStrictEqual(pidsWithEnv("CODEX_HOME", codexHome), [])
    }).pipe(Effect.provide(NodeServices.layer)))

  it.live("a process that never answers: initialize times out after requestTimeout, nothing is left", () =>
    Effect.gen(function*() {
      const codexHome = yield* tempCodexHome
      const dir = yield* tempDir()
      // Ignores stdin (so EOF does not stop it) and prints one line.
      const codexPath = writeScript(dir, "codex", `echo "listening, maybe" >&2\nexec sleep 1000`)
      const started = Date.now()
      const error = yield* startError(
        AppServer.layer({ codexHome, codexPath, requestTimeout: "300 millis", shutdownTimeout: "200 millis" })
      )
      const elapsed = Date.now() - started
      assert.strictEqual(error.reason._tag, "Timeout")
      if (error.reason._tag === "Timeout") assert.strictEqual(error.reason.method, "initialize")
      // 300 ms timeout + 200 ms waiting for an exit after EOF + SIGTERM.
      assert.isBelow(elapsed, 3_000)
      assert.deepStrictEqual(pidsWithEnv("CODEX_HOME", codexHome), [])
    }).pipe(Effect.provide(NodeServices.layer)))

  it.live("a process that ignores stdin EOF and SIGTERM is SIGKILLed at teardown", () =>
    Effect.gen(function*() {
      const codexHome = yield* tempCodexHome
      const dir = yield* tempDir()
      // The ignored disposition of SIGTERM survives exec, so only SIGKILL ends it.
      const codexPath = writeScript(dir, "codex", `trap '' TERM\nexec sleep 1000`)
      const started = Date.now()
      const error = yield* startError(
        AppServer.layer({ codexHome, codexPath, requestTimeout: "200 millis", shutdownTimeout: "200 millis" })
      )
      const elapsed = Date.now() - started
      assert.strictEqual(error.reason._tag, "Timeout")
      assert.isBelow(elapsed, 3_000)
      assert.deepStrictEqual(pidsWithEnv("CODEX_HOME", codexHome), [])
    }).pipe(Effect.provide(NodeServices.layer)))
})

describe("AppServer.layerConfig", () => {
  it.live("reads CODEX_HOME and CODEX_PATH from the ConfigProvider", () =>
    Effect.gen(function*() {
      const codexHome = yield* tempCodexHome
      const provider = ConfigProvider.fromUnknown({
        CODEX_HOME: codexHome,
        CODEX_PATH: CodexBinary.binary.command,
        CODEX_REQUEST_TIMEOUT: "20 seconds"
      })
      const metadata = yield* AppServerClient.pipe(
        Effect.map((client) => client.metadata),
        Effect.provide(AppServer.layerConfig({ config: offlineConfig })),
        Effect.provideService(ConfigProvider.ConfigProvider, provider)
      )
      assert.strictEqual(metadata.codexHome, codexHome)

      // CODEX_PATH is really what gets spawned.
      const missing = `${codexHome}/missing-codex`
      const error = yield* startError(AppServer.layerConfig({ config: offlineConfig })).pipe(
        Effect.provideService(
          ConfigProvider.ConfigProvider,
          ConfigProvider.fromUnknown({ CODEX_HOME: codexHome, CODEX_PATH: missing })
        )
      )
      assert.strictEqual((error as CodexError.CodexError).reason._tag, "SpawnError")
      assert.strictEqual(((error as CodexError.CodexError).reason as CodexError.SpawnError).command, missing)
    }).pipe(Effect.provide(NodeServices.layer)))
})

describe("AppServer: secrets", () => {
  const secret = "sk-test-DO-NOT-LEAK-4f2b9c1e7a"

  /** Runs `effect` with a logger that keeps every line, at every level. */
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

  const assertNoSecret = (error: unknown, lines: ReadonlyArray<string>) => {
    assert.notInclude(String(error), secret)
    assert.notInclude(JSON.stringify(error), secret)
    assert.notInclude(String((error as Error).stack ?? ""), secret)
    for (const line of lines) assert.notInclude(line, secret)
  }

  it.live("an apiKey never appears in the error or the logs of a failed start", () =>
    Effect.gen(function*() {
      const codexHome = yield* tempCodexHome
      const dir = yield* tempDir()
      const apiKey = Redacted.make(secret)

      // 1. The binary cannot be spawned.
      const spawn = yield* capturingLogs(startError(
        AppServer.layer({ codexHome, codexPath: `${dir}/missing`, apiKey, config: offlineConfig })
      ))
      assert.strictEqual(spawn.result.reason._tag, "SpawnError")
      assertNoSecret(spawn.result, spawn.lines)

      // 2. The process starts (with the key in its environment), writes to stderr and exits.
      const marker = `${dir}/key-seen`
      const codexPath = writeScript(
        dir,
        "codex",
        // Proves the key reached the child, without printing it.
        `[ "$CODEX_API_KEY" = "${secret}" ] && [ "$OPENAI_API_KEY" = "${secret}" ] && touch "${marker}"\n` +
          `echo "auth: using the configured API key" >&2\nexit 3`
      )
      const exited = yield* capturingLogs(startError(AppServer.layer({ codexHome, codexPath, apiKey })))
      assert.strictEqual(exited.result.reason._tag, "ProcessExited")
      assert.isTrue(NodeFs.existsSync(marker), "the child got the key in its environment")
      assert.isTrue(exited.lines.some((line) => line.includes("auth: using the configured API key")))
      assertNoSecret(exited.result, exited.lines)

      // 3. Options themselves print redacted.
      const options = yield* AppServer.stdioOptions({ codexHome, apiKey })
      assert.notInclude(String(options.env?.CODEX_API_KEY), secret)
      assert.notInclude(JSON.stringify(options), secret)
    }).pipe(Effect.provide(NodeServices.layer)))

  it.live("no codex process outlives a failed start", () =>
    Effect.gen(function*() {
      const codexHome = yield* tempCodexHome
      // A config value codex rejects at startup (`approval_policy = "untrusted"` is fatal in config).
      const error = yield* startError(
        AppServer.layer({
          codexPath: CodexBinary.codexPath,
          codexHome,
          config: { ...offlineConfig, approval_policy: "untrusted" }
        })
      )
      assert.strictEqual(error.reason._tag, "ProcessExited")
      assert.deepStrictEqual(yield* awaitNoPidsWithEnv("CODEX_HOME", codexHome), [])
    }).pipe(Effect.provide(NodeServices.layer)))
})
