/**
 * Layers that connect to a codex app-server and provide {@link AppServerClient}.
 *
 * ```ts
 * import { NodeRuntime, NodeServices } from "@effect/platform-node"
 * import { Console, Effect } from "effect"
 * import { AppServer, Codex } from "effect-codex"
 *
 * const program = Effect.gen(function*() {
 *   const thread = yield* Codex.startThread()
 *   const result = yield* thread.run("Say hello in one sentence.")
 *   yield* Console.log(result.finalResponse)
 * })
 *
 * program.pipe(
 *   Effect.provide(Codex.layer),
 *   Effect.provide(AppServer.layer()),
 *   Effect.provide(NodeServices.layer),
 *   NodeRuntime.runMain
 * )
 * ```
 *
 * @stability unstable
 * @since 0.1.0
 */
import type * as Config from "effect/Config"
import { Duration, Effect, Layer, Option, Redacted, Result, Schedule, type Scope } from "../schema/internal/effect.ts"
import type { ChildProcessSpawner } from "../schema/internal/effect.ts"
import * as NodeFs from "node:fs"
import { createRequire } from "node:module"
import * as NodePath from "node:path"
import * as AppServerClient from "../services/AppServerClient.ts"
import * as CodexError from "../schema/CodexError.ts"
import * as Checks from "../services/internal/options.ts"
import { encodeConfigArgs } from "../schema/internal/toml.ts"
import * as Transport from "./Transport.ts"

/**
 * Options of {@link layer}.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options extends AppServerClient.Options {
  /** The codex executable. Default: the native binary of the pinned `@openai/codex` package. */
  readonly codexPath?: string | undefined
  /** Extra arguments after `app-server` and the `-c` overrides. */
  readonly args?: ReadonlyArray<string> | undefined
  /**
   * Config overrides, passed as repeated `-c key=value` with TOML values; nested
   * objects become dotted keys (`{ features: { plugins: false } }` -> `-c features.plugins=false`).
   */
  readonly config?: Record<string, unknown> | undefined
  /** Extra environment variables for the process. */
  readonly env?: Record<string, string | Redacted.Redacted<string> | undefined> | undefined
  /** Whether the process inherits this process's environment. Default `true`. */
  readonly inheritEnv?: boolean | undefined
  /** The working directory of the process. */
  readonly cwd?: string | undefined
  /** `CODEX_HOME`: where codex keeps its config, auth and thread history. */
  readonly codexHome?: string | undefined
  /** An API key, given to the process as `CODEX_API_KEY` and `OPENAI_API_KEY`; never logged. */
  readonly apiKey?: Redacted.Redacted<string> | undefined
  /** How long to wait for codex to exit after stdin closes, and after SIGTERM. Default 3 seconds. */
  readonly shutdownTimeout?: Duration.Input | undefined
}

const PLATFORMS: Record<string, readonly [pkg: string, triple: string]> = {
  "linux-x64": ["@openai/codex-linux-x64", "x86_64-unknown-linux-musl"],
  "android-x64": ["@openai/codex-linux-x64", "x86_64-unknown-linux-musl"],
  "linux-arm64": ["@openai/codex-linux-arm64", "aarch64-unknown-linux-musl"],
  "android-arm64": ["@openai/codex-linux-arm64", "aarch64-unknown-linux-musl"],
  "darwin-x64": ["@openai/codex-darwin-x64", "x86_64-apple-darwin"],
  "darwin-arm64": ["@openai/codex-darwin-arm64", "aarch64-apple-darwin"],
  "win32-x64": ["@openai/codex-win32-x64", "x86_64-pc-windows-msvc"],
  "win32-arm64": ["@openai/codex-win32-arm64", "aarch64-pc-windows-msvc"]
}

/**
 * Where the pinned codex lives on this machine.
 *
 * @category models
 * @since 0.1.0
 */
export interface CodexBinary {
  /** The executable to spawn. */
  readonly command: string
  /** Arguments that come before `app-server` (the script, when the Node wrapper is used). */
  readonly prefixArgs: ReadonlyArray<string>
  /** Environment the npm wrapper would have set for the native binary. */
  readonly env: Record<string, string>
  /** Directories the npm wrapper puts first on PATH (bundled ripgrep). */
  readonly pathDirs: ReadonlyArray<string>
}

let cachedBinary: CodexBinary | undefined

/**
 * Finds the native codex binary inside the pinned `@openai/codex` platform
 * package, as its `bin/codex.js` does, so no Node wrapper process sits between
 * us and codex (it starts ~60 ms faster and receives signals directly). Falls
 * back to the wrapper script when the platform package is missing.
 *
 * @category constructors
 * @since 0.1.0
 */
export const resolveCodexBinary = (): CodexBinary => {
  if (cachedBinary !== undefined) return cachedBinary
  const require = createRequire(import.meta.url)
  const wrapperPackage = require.resolve("@openai/codex/package.json")
  const packageRoot = NodePath.dirname(wrapperPackage)
  const env = { CODEX_MANAGED_BY_NPM: "1", CODEX_MANAGED_PACKAGE_ROOT: packageRoot }
  const platform = PLATFORMS[`${process.platform}-${process.arch}`]
  if (platform !== undefined) {
    const [pkg, triple] = platform
    // the platform package next to us, next to @openai/codex, or the vendor folder of older packages
    const roots: Array<string> = []
    for (const from of [require, createRequire(wrapperPackage)]) {
      try {
        roots.push(NodePath.dirname(from.resolve(`${pkg}/package.json`)))
      } catch {
        // not installed there
      }
    }
    roots.push(packageRoot)
    for (const root of roots) {
      const vendor = NodePath.join(root, "vendor", triple)
      const exe = NodePath.join(vendor, "bin", process.platform === "win32" ? "codex.exe" : "codex")
      if (NodeFs.existsSync(exe)) {
        return cachedBinary = { command: exe, prefixArgs: [], env, pathDirs: [NodePath.join(vendor, "codex-path")] }
      }
    }
  }
  return cachedBinary = {
    command: process.execPath,
    prefixArgs: [NodePath.join(packageRoot, "bin", "codex.js")],
    env: {},
    pathDirs: []
  }
}

const invalid = (description: string) => CodexError.make(new CodexError.InvalidOptions({ description }))

// Every option is checked before anything is spawned: a bad one is InvalidOptions naming it.
const checkOptions = (options: Options): Effect.Effect<void, CodexError.CodexError> => {
  const checked = Checks.all([
    Checks.record("options", options),
    Checks.client(options, "0"),
    Checks.string("codexPath", options.codexPath),
    Checks.strings("args", options.args),
    Checks.record("config", options.config),
    Checks.env("env", options.env),
    Checks.boolean("inheritEnv", options.inheritEnv, true),
    Checks.string("cwd", options.cwd),
    Checks.string("codexHome", options.codexHome),
    Checks.secret("apiKey", options.apiKey),
    Checks.duration("shutdownTimeout", options.shutdownTimeout, Duration.seconds(3))
  ])
  return Result.isFailure(checked) ? Effect.fail(checked.failure) : Effect.void
}

/**
 * The process command line and environment for {@link Options}.
 *
 * @category constructors
 * @since 0.1.0
 */
export const stdioOptions = (options: Options): Effect.Effect<Transport.StdioOptions, CodexError.CodexError> =>
  Effect.gen(function*() {
    const configArgs = options.config === undefined
      ? []
      : yield* encodeConfigArgs(options.config).pipe(
        Effect.mapError((error) => invalid(`config.${error.path}: ${error.message}`))
      )
    const binary = options.codexPath === undefined ? resolveCodexBinary() : undefined
    const inheritEnv = options.inheritEnv ?? true
    const env: Record<string, string | Redacted.Redacted<string> | undefined> = { ...binary?.env }
    if (binary !== undefined && binary.pathDirs.length > 0) {
      const inherited = inheritEnv ? process.env.PATH : undefined
      env.PATH = [...binary.pathDirs, ...(inherited === undefined ? [] : [inherited])].join(NodePath.delimiter)
    }
    if (options.codexHome !== undefined) env.CODEX_HOME = options.codexHome
    if (options.apiKey !== undefined) {
      env.CODEX_API_KEY = options.apiKey
      env.OPENAI_API_KEY = options.apiKey
    }
    Object.assign(env, options.env)
    return {
      command: options.codexPath ?? binary!.command,
      args: [...(binary?.prefixArgs ?? []), "app-server", ...configArgs, ...(options.args ?? [])],
      cwd: options.cwd,
      env,
      inheritEnv,
      shutdownTimeout: options.shutdownTimeout
    }
  })

/**
 * Spawns `codex app-server` over stdio and provides a connected, initialized
 * {@link AppServerClient.AppServerClient}. The process lives as long as the
 * layer: closing it ends stdin, waits `shutdownTimeout`, then signals the
 * process group (SIGTERM, then SIGKILL).
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (
  options: Options = {}
): Layer.Layer<AppServerClient.AppServerClient, CodexError.CodexError, ChildProcessSpawner.ChildProcessSpawner> =>
  Layer.unwrap(Effect.gen(function*() {
    yield* checkOptions(options)
    return layerFrom(Transport.layerStdio(yield* stdioOptions(options)), options)
  }))

/**
 * A client over any {@link Transport.Transport} layer: the handshake, the
 * in-flight window, timeouts and the rest of {@link AppServerClient.make},
 * whatever moves the bytes. The transport lives as long as the client.
 *
 * ```ts
 * import { AppServer, Transport } from "effect-codex"
 *
 * const client = AppServer.layerFrom(Transport.layerWebSocket({ url: "ws://127.0.0.1:4500" }), {
 *   requestTimeout: "30 seconds"
 * })
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layerFrom = <E, R>(
  transport: Layer.Layer<Transport.Transport, E, R>,
  options: AppServerClient.Options = {}
): Layer.Layer<AppServerClient.AppServerClient, E | CodexError.CodexError, R> =>
  AppServerClient.layer(options).pipe(Layer.provide(transport))

/**
 * Options read by {@link layerConfig}, each overriding the environment.
 *
 * @category models
 * @since 0.1.0
 */
export interface ConfigOptions extends Omit<Options, "codexPath" | "codexHome" | "apiKey" | "requestTimeout"> {
  readonly codexPath?: Config.Config<string | undefined> | undefined
  readonly codexHome?: Config.Config<string | undefined> | undefined
  readonly apiKey?: Config.Config<Redacted.Redacted<string> | undefined> | undefined
  readonly requestTimeout?: Config.Config<Duration.Duration | undefined> | undefined
}

/**
 * {@link layer} configured from `Config`: `CODEX_PATH`, `CODEX_HOME`,
 * `CODEX_API_KEY` (else `OPENAI_API_KEY`, read as `Redacted`),
 * `CODEX_REQUEST_TIMEOUT` (a duration such as `"30 seconds"`).
 *
 * @category layers
 * @since 0.1.0
 */
export const layerConfig = (
  options: ConfigOptions = {}
): Layer.Layer<AppServerClient.AppServerClient, CodexError.CodexError | Config.ConfigError, ChildProcessSpawner.ChildProcessSpawner> =>
  Layer.unwrap(Effect.gen(function*() {
    // effect/Config (with ConfigProvider) is loaded by the programs that build this layer, not by every import
    const ConfigModule = yield* Effect.promise(() => import("effect/Config"))
    const optional = <A>(config: Config.Config<A>): Config.Config<A | undefined> =>
      config.pipe(ConfigModule.option, ConfigModule.map(Option.getOrUndefined))
    const codexPath = yield* (options.codexPath ?? optional(ConfigModule.String("CODEX_PATH")))
    const codexHome = yield* (options.codexHome ?? optional(ConfigModule.String("CODEX_HOME")))
    const apiKey = yield* (options.apiKey ??
      optional(ConfigModule.Redacted("CODEX_API_KEY").pipe(ConfigModule.orElse(() => ConfigModule.Redacted("OPENAI_API_KEY")))))
    const requestTimeout = yield* (options.requestTimeout ?? optional(ConfigModule.Duration("CODEX_REQUEST_TIMEOUT")))
    return layer({ ...options, codexPath, codexHome, apiKey, requestTimeout })
  }))

/**
 * Options of {@link layerWebSocket}.
 *
 * @category models
 * @since 0.1.0
 */
export interface WebSocketOptions extends AppServerClient.Options, Transport.WebSocketOptions {}

/**
 * Connects to an app-server already listening on a WebSocket
 * (`codex app-server --listen ws://127.0.0.1:PORT`).
 *
 * @category layers
 * @since 0.1.0
 */
export const layerWebSocket = (
  options: WebSocketOptions
): Layer.Layer<AppServerClient.AppServerClient, CodexError.CodexError> =>
  Layer.unwrap(Effect.as(checkWebSocketOptions(options), layerFrom(Transport.layerWebSocket(options), options)))

const checkWebSocketOptions = (options: WebSocketOptions): Effect.Effect<void, CodexError.CodexError> => {
  const checked = Checks.all([
    Checks.record("options", options),
    Checks.client(options, "0"),
    webSocketUrl(options.url),
    options.token === undefined || typeof options.token === "string"
      ? Result.succeed(undefined)
      : Checks.secret("token", options.token),
    Checks.duration("openTimeout", options.openTimeout, Duration.seconds(10))
  ])
  return Result.isFailure(checked) ? Effect.fail(checked.failure) : Effect.void
}

const webSocketUrl = (url: unknown): Checks.Checked<string> => {
  if (typeof url === "string") {
    try {
      const parsed = new URL(url)
      // Node's WebSocket throws on a fragment; refuse it here as a typed error
      if ((parsed.protocol === "ws:" || parsed.protocol === "wss:") && parsed.hash === "" && !url.includes("#")) {
        return Result.succeed(url)
      }
    } catch {
      // not a URL
    }
  }
  // the URL itself may carry credentials: it is not echoed
  return Result.fail(Checks.invalid("url", "a ws:// or wss:// URL", typeof url === "string" ? "another string" : url))
}

/**
 * A client over an in-memory transport whose server side is played by
 * `serve` (used by the test layers).
 *
 * @category layers
 * @since 0.1.0
 */
export const layerInMemory = <R>(
  serve: (server: Transport.InMemoryServer) => Effect.Effect<void, never, R>,
  options: AppServerClient.Options = {}
): Layer.Layer<AppServerClient.AppServerClient, CodexError.CodexError, Exclude<R, Scope.Scope>> =>
  layerFrom(Transport.layerInMemory(serve), options)

/**
 * Re-exported so users can build their own schedules against the default.
 *
 * @category constants
 * @since 0.1.0
 */
export const defaultOverloadRetry: Schedule.Schedule<Duration.Duration> = AppServerClient.defaultOverloadRetry
