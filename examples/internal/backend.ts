/**
 * Shared by the examples: which model the codex app-server talks to.
 *
 * - With `CODEX_API_KEY` or `OPENAI_API_KEY` set: the real model, with the key
 *   given to codex as a `Redacted` value (never logged).
 * - Otherwise: the embedded `LocalModel`, a scripted Responses-API server on
 *   127.0.0.1 with its own temporary `CODEX_HOME`, so every example runs
 *   anywhere, hermetically, without a key. The script is what that model
 *   answers, one step per model request, in order; past its end a request
 *   fails, unless `local.fallback` answers it. Examples that take any prompt
 *   (the dashboard, the CLI) give no script and
 *   `local: { fallback: LocalModel.assistant() }`, a deterministic responder
 *   that answers every request.
 *
 * An example provides `Backend.layer(script)` where a real program would
 * provide `AppServer.layer()`:
 *
 * ```ts
 * program.pipe(
 *   Effect.provide(Codex.layer),
 *   Effect.provide(Backend.layer([LocalModel.text("Hello!")])),
 *   Effect.provide(NodeServices.layer),
 *   NodeRuntime.runMain
 * )
 * ```
 */
import { Config, Console, Context, Effect, Layer, Option } from "effect"
import type { ChildProcessSpawner } from "effect/process"
import { AppServer, type AppServerClient, type CodexError } from "effect-codex"
import { LocalModel } from "effect-codex/testing"

/** What the examples need to know about the model they run against. */
export interface Service {
  /** `true` with an API key (the real model), `false` with the LocalModel. */
  readonly real: boolean
  /** The options of `AppServer.layer` for this backend. */
  readonly appServerOptions: AppServer.Options
  /** The LocalModel (its recorded requests, ...), when there is no API key. */
  readonly local: LocalModel.Service | undefined
}

/** The backend the example runs against. */
export class Backend extends Context.Service<Backend, Service>()("examples/Backend") {}

/** Options of {@link layerBackend} / {@link layer}. */
export interface Options {
  /** Options of the LocalModel (approval policy, sandbox, model slug, `fallback`...). */
  readonly local?: LocalModel.Options | undefined
  /** More `AppServer.layer` options, for both backends. */
  readonly appServer?: AppServer.Options | undefined
}

const apiKey = Config.Redacted("CODEX_API_KEY").pipe(
  Config.orElse(() => Config.Redacted("OPENAI_API_KEY")),
  Config.option
)

/**
 * Picks the backend: the real model when an API key is set, else a LocalModel
 * playing `script`. Says which on stderr (stdout stays the example's own).
 */
export const layerBackend = (
  script: ReadonlyArray<LocalModel.Step>,
  options: Options = {}
): Layer.Layer<Backend, Config.ConfigError> =>
  Layer.effect(
    Backend,
    Effect.gen(function*() {
      const key = yield* apiKey
      if (Option.isSome(key)) {
        yield* Console.error("[backend] real model (API key found)")
        return { real: true, appServerOptions: { ...options.appServer, apiKey: key.value }, local: undefined }
      }
      yield* Console.error("[backend] no CODEX_API_KEY / OPENAI_API_KEY: embedded LocalModel on 127.0.0.1")
      const model = yield* LocalModel.make(script, options.local)
      return {
        real: false,
        appServerOptions: {
          ...options.appServer,
          // a program that keeps its threads across processes gives its own CODEX_HOME
          codexHome: options.appServer?.codexHome ?? model.codexHome,
          config: { ...model.appServerOptions.config, ...options.appServer?.config }
        },
        local: model
      }
    })
  )

/**
 * A codex app-server process for the {@link Backend} in context. Provide it
 * twice (two `Effect.provide`) to get two processes on the same `CODEX_HOME`.
 */
export const appServer: Layer.Layer<
  AppServerClient.AppServerClient,
  CodexError.CodexError,
  Backend | ChildProcessSpawner.ChildProcessSpawner
> = Layer.unwrap(Backend.use((backend) => Effect.succeed(AppServer.layer(backend.appServerOptions))))

/** The backend and one app-server process on it. */
export const layer = (
  script: ReadonlyArray<LocalModel.Step>,
  options: Options = {}
): Layer.Layer<
  AppServerClient.AppServerClient | Backend,
  CodexError.CodexError | Config.ConfigError,
  ChildProcessSpawner.ChildProcessSpawner
> => appServer.pipe(Layer.provideMerge(layerBackend(script, options)))

/** The LocalModel's recorded requests (none with the real model). */
export const recordedRequests: Effect.Effect<ReadonlyArray<LocalModel.RecordedRequest>, never, Backend> = Backend.use((
  backend
) => backend.local === undefined ? Effect.succeed([]) : backend.local.requests)
