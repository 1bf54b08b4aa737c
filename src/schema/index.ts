/**
 * Effect Schemas of the codex app-server protocol (generated from the pinned codex binary).
 *
 * ```ts
 * import { Schema } from "effect"
 * import * as Protocol from "effect-codex/schema"
 *
 * declare const json: unknown
 * const params: Protocol.ThreadStartParams = { cwd: "/tmp" }
 * Schema.decodeUnknownEffect(Protocol.ThreadItem)(json)
 * Protocol.ClientRequestResponses["thread/start"] // response schema by method
 * ```
 *
 * The protocol is codex's own and changes between codex versions (see
 * docs/upgrading-codex.md): these schemas follow the pinned codex.
 *
 * @stability experimental
 * @since 0.1.0
 */
export * from "./generated/Methods.gen.ts"
export * from "./generated/Protocol.gen.ts"
export type { OpenLiteral } from "./internal/OpenLiterals.ts"
