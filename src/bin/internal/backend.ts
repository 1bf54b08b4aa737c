/**
 * Which codex `effect-codex` talks to: the user's own (their `CODEX_HOME`, config, login or API key;
 * `CODEX_PATH` picks another binary), or, with `--local-model`, the real codex binary pointed at the
 * embedded `LocalModel` (a scripted model on 127.0.0.1 with its own temporary `CODEX_HOME`, no key,
 * nothing leaves the machine): for trying the tool out, and for its tests.
 *
 * Built inside each command's handler, so `--help` and `--version` never start codex.
 *
 * @internal
 */
import * as Config from "effect/Config"
import { Effect, Layer, Option } from "../../schema/internal/effect.ts"
import * as NodeFs from "node:fs"
import type { ChildProcessSpawner } from "../../schema/internal/effect.ts"
import * as AppServer from "../../layers/AppServer.ts"
import * as LocalModel from "../../layers/testing/LocalModel.ts"
import type * as CodexError from "../../schema/CodexError.ts"
import { version } from "../../schema/Version.ts"
import type * as AppServerClient from "../../services/AppServerClient.ts"
import * as Approvals from "../../services/Approvals.ts"
import * as Codex from "../../services/Codex.ts"
import type { LocalModel as LocalModelOption } from "./flags.ts"

const homeFor = (chosen: string | undefined, temporary: string): string => {
  if (chosen === undefined) return temporary
  NodeFs.mkdirSync(chosen, { recursive: true })
  return chosen
}

/** How the tool introduces itself to codex (it shows in codex's user agent and logs). */
const clientInfo = { name: "effect_codex_cli", title: "effect-codex CLI", version }

/**
 * The embedded model's pace: slow enough to watch the answer stream word by word, fast enough that a
 * turn takes a second or two.
 */
const LOCAL_CHUNK_DELAY = "20 millis"

/**
 * Options of {@link layer}.
 *
 * @internal
 */
export interface Options {
  /** The embedded LocalModel (with where its threads are kept) instead of the user's codex configuration. */
  readonly localModel: LocalModelOption
  /** How approvals are answered (default: declined). */
  readonly approvals?: Layer.Layer<Approvals.Approvals> | undefined
}

const appServer = (
  localModel: LocalModelOption
): Layer.Layer<AppServerClient.AppServerClient, CodexError.CodexError | Config.ConfigError, ChildProcessSpawner.ChildProcessSpawner> =>
  Option.isSome(localModel)
    ? Layer.unwrap(LocalModel.LocalModel.use((model) =>
      Effect.sync(() => AppServer.layerConfig({
        clientInfo,
        // The embedded model's provider and home, whatever the environment says. A home of the
        // user's choosing keeps the threads across runs (the config comes as `-c` flags, so a bare
        // directory will do); the model's own temporary home goes with it.
        codexHome: Config.succeed(homeFor(localModel.value.home, model.codexHome)),
        apiKey: Config.succeed(undefined),
        config: model.appServerOptions.config
      }))
    )).pipe(Layer.provide(LocalModel.layer([], { fallback: LocalModel.assistant({ chunkDelay: LOCAL_CHUNK_DELAY }) })))
    : AppServer.layerConfig({ clientInfo })

/**
 * `Codex` (and the `AppServerClient` under it) on the chosen codex, with the approvals given (also
 * provided, for `Approvals.respond`).
 *
 * @internal
 */
export const layer = (
  options: Options
): Layer.Layer<
  Codex.Codex | AppServerClient.AppServerClient | Approvals.Approvals,
  CodexError.CodexError | Config.ConfigError,
  ChildProcessSpawner.ChildProcessSpawner
> =>
  Codex.layer.pipe(
    Layer.provideMerge(options.approvals ?? Approvals.declineAll),
    Layer.provideMerge(appServer(options.localModel))
  )
