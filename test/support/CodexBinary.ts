/**
 * The one place the real-binary tests get codex from: `CODEX_PATH` when it is set (CI runs the real-binary
 * tests a second time with the previous codex, see `.ci/run`), else the native binary of the pinned
 * `@openai/codex` (as `AppServer.layer` resolves it by default).
 */
import { execFileSync } from "node:child_process"
import * as AppServer from "../../src/layers/AppServer.ts"

const fromEnv = process.env.CODEX_PATH === "" ? undefined : process.env.CODEX_PATH

/**
 * `codexPath` for `AppServer.layer`: `undefined` unless `CODEX_PATH` is set, so the default run spawns the
 * pinned binary exactly as users get it (with the npm wrapper's environment).
 */
export const codexPath: string | undefined = fromEnv

/** The binary, for tests that spawn codex themselves. */
export const binary: AppServer.CodexBinary = fromEnv === undefined
  ? AppServer.resolveCodexBinary()
  : { command: fromEnv, prefixArgs: [], env: {}, pathDirs: [] }

let cachedVersion: string | undefined

/** The version of {@link binary} (`codex --version`), e.g. `0.171.0`: what its `initialize` user agent carries. */
export const version = (): string => {
  if (cachedVersion !== undefined) return cachedVersion
  const out = execFileSync(binary.command, [...binary.prefixArgs, "--version"], { encoding: "utf8" }).trim()
  const match = /(\d+\.\d+\.\d+\S*)$/.exec(out)
  if (match === null) throw new Error(`cannot read the codex version from ${JSON.stringify(out)}`)
  return cachedVersion = match[1]!
}

/** `version()` as a RegExp source (dots escaped). */
export const versionPattern = (): string => version().replace(/\./g, "\\.")
