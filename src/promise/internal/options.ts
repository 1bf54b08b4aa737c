/**
 * How the options of `@openai/codex-sdk` become app-server settings: the same
 * codex settings `codex exec` gets from that SDK's flags and `--config`
 * overrides, given instead to one long-lived `codex app-server` (process-wide
 * options) and to `thread/start` / `thread/resume` / `turn/start`
 * (per-thread and per-turn options).
 *
 * Pure: options in, settings out.
 *
 * @internal
 */
import { Redacted, type Schema } from "../../schema/internal/effect.ts"
import { createHash } from "node:crypto"
import * as Os from "node:os"
import * as Path from "node:path"
import type * as AppServer from "../../layers/AppServer.ts"
import type * as Protocol from "../../schema/generated/Protocol.gen.ts"
import type * as Input from "../../schema/Input.ts"

/**
 * A value of `config`: what TOML can hold.
 *
 * @internal
 */
export type ConfigValue = string | number | boolean | Array<ConfigValue> | ConfigObject

/**
 * A `config` table.
 *
 * @internal
 */
export type ConfigObject = { [key: string]: ConfigValue }

/**
 * The process-wide options (those of `new Codex(options)` that decide which
 * app-server runs).
 *
 * @internal
 */
export interface ProcessOptions {
  readonly codexPathOverride?: string | undefined
  readonly baseUrl?: string | undefined
  readonly apiKey?: string | undefined
  readonly config?: ConfigObject | undefined
  readonly configOverrides?: ReadonlyArray<string> | undefined
  readonly env?: Record<string, string> | undefined
}

/**
 * The per-thread options (`ThreadOptions` of `startThread` / `resumeThread`).
 *
 * @internal
 */
export interface ThreadSettings {
  readonly model?: string | undefined
  readonly threadSource?: string | undefined
  readonly sandboxMode?: "read-only" | "workspace-write" | "danger-full-access" | undefined
  readonly workingDirectory?: string | undefined
  readonly skipGitRepoCheck?: boolean | undefined
  readonly modelReasoningEffort?: string | undefined
  readonly networkAccessEnabled?: boolean | undefined
  readonly webSearchMode?: "disabled" | "cached" | "live" | undefined
  readonly webSearchEnabled?: boolean | undefined
  readonly approvalPolicy?: "never" | "on-request" | "on-failure" | "untrusted" | undefined
  readonly additionalDirectories?: ReadonlyArray<string> | undefined
}

/**
 * `AppServer.layer` options for the process-wide options. `configOverrides`
 * and `baseUrl` go last, as `codex exec` gets them after the structured
 * `config` (a later `-c` wins).
 *
 * @internal
 */
export const appServerOptions = (options: ProcessOptions): AppServer.Options => ({
  ...(options.codexPathOverride === undefined ? {} : { codexPath: options.codexPathOverride }),
  ...(options.config === undefined ? {} : { config: options.config }),
  args: [
    ...(options.configOverrides ?? []).flatMap((override) => ["-c", override]),
    ...(options.baseUrl === undefined || options.baseUrl === "" ? [] : ["-c", `openai_base_url=${JSON.stringify(options.baseUrl)}`])
  ],
  // as codex-sdk: an `env` replaces the environment instead of adding to it
  ...(options.env === undefined ? {} : { env: options.env, inheritEnv: false }),
  ...(options.apiKey === undefined || options.apiKey === "" ? {} : { apiKey: Redacted.make(options.apiKey) }),
  // the client's name is what codex records as the originator of threads (codex-sdk's is `codex_sdk_ts`)
  clientInfo: { name: "effect_codex_promise", title: "effect-codex/promise", version: "0.1.0" }
})

/**
 * The `CODEX_HOME` the app-server will use for these options.
 *
 * @internal
 */
export const codexHomeOf = (options: ProcessOptions, env: NodeJS.ProcessEnv = process.env): string => {
  const fromEnv = options.env === undefined ? env.CODEX_HOME : options.env.CODEX_HOME
  const home = options.env === undefined ? Os.homedir() : options.env.HOME ?? Os.homedir()
  return Path.resolve(fromEnv !== undefined && fromEnv !== "" ? fromEnv : Path.join(home, ".codex"))
}

/**
 * What identifies an app-server: instances whose options give the same key
 * share one. The API key is only kept as a digest.
 *
 * @internal
 */
export const serverKey = (options: ProcessOptions, env: NodeJS.ProcessEnv = process.env): string =>
  JSON.stringify([
    codexHomeOf(options, env),
    options.codexPathOverride ?? null,
    options.env ?? null,
    options.config ?? null,
    options.configOverrides ?? null,
    options.baseUrl ?? null,
    options.apiKey === undefined ? null : createHash("sha256").update(options.apiKey).digest("hex")
  ])

/**
 * The codex config overrides `codex exec` gets from these thread options
 * (`--config` flags of codex-sdk), keyed by dotted path.
 *
 * @internal
 */
export const threadConfig = (options: ThreadSettings): Record<string, Schema.Json> => {
  const config: Record<string, Schema.Json> = {}
  if (options.modelReasoningEffort !== undefined) config.model_reasoning_effort = options.modelReasoningEffort
  if (options.networkAccessEnabled !== undefined) {
    config["sandbox_workspace_write.network_access"] = options.networkAccessEnabled
  }
  const webSearch = options.webSearchMode ??
    (options.webSearchEnabled === true ? "live" : options.webSearchEnabled === false ? "disabled" : undefined)
  if (webSearch !== undefined) config.web_search = webSearch
  // codex exec's `--add-dir`: more writable roots for the workspace-write sandbox
  if (options.additionalDirectories !== undefined && options.additionalDirectories.length > 0) {
    config["sandbox_workspace_write.writable_roots"] = options.additionalDirectories.map((dir) => Path.resolve(dir))
  }
  return config
}

/**
 * The `thread/start` (and, without `threadSource`, `thread/resume` /
 * `thread/fork`) params for these thread options. Without an
 * `approvalPolicy`, it is `"never"` as in `codex exec` (which always runs
 * with `"never"`), or `"on-request"` when the program answers approvals
 * (`onApproval`). The working directory
 * defaults to this process's, as `codex exec` inherits it.
 *
 * @internal
 */
export const threadParams = (
  options: ThreadSettings,
  answersApprovals: boolean,
  cwd: string = process.cwd()
): Pick<Protocol.ThreadStartParams, "model" | "sandbox" | "cwd" | "approvalPolicy" | "config" | "threadSource"> => {
  const config = threadConfig(options)
  return {
    ...(options.model === undefined ? {} : { model: options.model }),
    ...(options.sandboxMode === undefined ? {} : { sandbox: options.sandboxMode }),
    cwd: Path.resolve(cwd, options.workingDirectory ?? "."),
    // codex 0.171 refuses "on-failure" (deprecated): its nearest policy is "on-request"
    approvalPolicy: options.approvalPolicy === "on-failure"
      ? "on-request"
      : options.approvalPolicy ?? (answersApprovals ? "on-request" : "never"),
    ...(Object.keys(config).length === 0 ? {} : { config }),
    ...(options.threadSource === undefined ? {} : { threadSource: options.threadSource })
  }
}

/**
 * One part of an input.
 *
 * @internal
 */
export type InputPart = { readonly type: "text"; readonly text: string } | { readonly type: "local_image"; readonly path: string }

/**
 * The turn input for codex-sdk's `Input`, as `codex exec` builds it: the
 * images first, then one text with the text parts joined by blank lines
 * (line ends normalized to `\n`).
 *
 * @internal
 */
export const toInput = (input: string | ReadonlyArray<InputPart>): ReadonlyArray<Input.Item> => {
  const texts: Array<string> = []
  const images: Array<Input.Item> = []
  if (typeof input === "string") texts.push(input)
  else {
    for (const part of input) {
      if (part.type === "text") texts.push(part.text)
      else if (part.type === "local_image") images.push({ type: "localImage", path: part.path })
    }
  }
  const text = texts.join("\n\n").replace(/\r\n/g, "\n").replace(/\r/g, "\n")
  return [...images, { type: "text", text, text_elements: [] }]
}
