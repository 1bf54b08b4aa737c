/**
 * A minimal raw JSON-RPC client for `codex app-server` over stdio: plain Node + Promises, no Effect.
 *
 * It is the baseline the SDK is benchmarked against, so it stays lean on purpose: one `spawn`, a
 * newline splitter, a `Map<id, resolver>`. Tests also use it to drive the real binary directly.
 *
 * @example
 * ```ts
 * const client = spawnRawClient({ env: { CODEX_HOME: home } })
 * await client.initialize()
 * const { thread } = await client.request("thread/start", { cwd: process.cwd() })
 * await client.close()
 * ```
 */
import * as AppServer from "../src/layers/AppServer.ts"
import { type RawClient, type RawClientOptions, spawnRawClientOf } from "./rawClientCore.ts"

export { type RawClient, type RawClientOptions, type RawIncoming, RawRpcError, spawnRawClientOf } from "./rawClientCore.ts"

/**
 * Path of the native codex binary of the pinned `@openai/codex` (the SDK's own resolution, so both
 * sides run the same file). Throws if only the npm wrapper is installed.
 */
export const resolveCodexBinary = (): string => {
  const binary = AppServer.resolveCodexBinary()
  if (binary.prefixArgs.length > 0) throw new Error("the native codex binary is not installed (only the npm wrapper)")
  return binary.command
}

/** Spawns `codex app-server` (default: the pinned native binary) and wires up newline-delimited JSON-RPC over its stdio. */
export const spawnRawClient = (options: RawClientOptions = {}): RawClient =>
  spawnRawClientOf(options.bin ?? resolveCodexBinary(), options)
