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
 */
export * from "./generated/Methods.gen.ts"
export * from "./generated/Protocol.gen.ts"
export type { OpenLiteral } from "./internal/OpenLiterals.ts"
