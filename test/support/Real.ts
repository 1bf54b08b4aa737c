import { NodeServices } from "@effect/platform-node"
import { assert } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as AppServer from "../../src/layers/AppServer.ts"
import * as LocalModel from "../../src/layers/testing/LocalModel.ts"
import type { AppServerClient } from "../../src/services/AppServerClient.ts"
import type * as Approvals from "../../src/services/Approvals.ts"
import * as Codex from "../../src/services/Codex.ts"
import type * as CodexError from "../../src/schema/CodexError.ts"
import * as CodexBinary from "./CodexBinary.ts"

const isTable = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

const deepMerge = (base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> => {
  const out: Record<string, unknown> = { ...base }
  for (const [key, value] of Object.entries(over)) {
    const prev = out[key]
    out[key] = isTable(prev) && isTable(value) ? deepMerge(prev, value) : value
  }
  return out
}

/** Options of {@link layer}. */
export interface Options {
  readonly model?: LocalModel.Options
  readonly appServer?: AppServer.Options
  readonly approvals?: Layer.Layer<Approvals.Approvals>
}

/** The AppServer layer pointed at the LocalModel in context (codex from `CodexBinary` unless `codexPath` is given). */
export const appServer = (options: AppServer.Options = {}) =>
  Layer.unwrap(
    LocalModel.LocalModel.use((model) =>
      Effect.succeed(
        AppServer.layer({
          codexPath: CodexBinary.codexPath,
          ...options,
          codexHome: model.codexHome,
          config: deepMerge(model.appServerOptions.config, options.config ?? {})
        })
      )
    )
  )

/**
 * The real codex binary against a scripted LocalModel: provides Codex, the
 * client and the LocalModel.
 */
export const layer = (
  script: ReadonlyArray<LocalModel.Step>,
  options: Options = {}
): Layer.Layer<Codex.Codex | AppServerClient | LocalModel.LocalModel, CodexError.CodexError> => {
  const codex = options.approvals === undefined ? Codex.layer : Codex.layer.pipe(Layer.provide(options.approvals))
  return codex.pipe(
    Layer.provideMerge(appServer(options.appServer)),
    Layer.provideMerge(LocalModel.layer(script, options.model)),
    Layer.provide(NodeServices.layer)
  )
}

/** codex's per-thread login-shell snapshot is not needed in tests and only costs CPU. */
export const fast: Options = { model: { config: { features: { shell_snapshot: false } } } }

/** Asserts that `needles` occur in `haystack` in this order. */
export const assertInOrder = (haystack: ReadonlyArray<string>, needles: ReadonlyArray<string>) => {
  let from = 0
  for (const needle of needles) {
    const at = haystack.indexOf(needle, from)
    assert.isAtLeast(at, 0, `${JSON.stringify(needle)} in order in ${JSON.stringify(haystack)}`)
    from = at + 1
  }
}
