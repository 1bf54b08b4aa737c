/**
 * Forward-compatible string enums for the generated protocol schemas.
 *
 * A newer codex may add members to a string enum (a new item status, a new plan type, ...). A closed
 * `Schema.Literals` would then reject the whole payload, so the generator emits every multi-member string
 * enum as an "open literal": decoding accepts any string, while the TypeScript type keeps the known members
 * for autocompletion and exhaustiveness hints: `"a" | "b" | (string & {})`.
 *
 * Single-literal discriminators (`type: "agentMessage"`, `method: "turn/started"`) are NOT opened, so
 * narrowing on tagged unions keeps working.
 *
 * @internal
 */
import { Schema } from "./effect.ts"
/**
 * The type of an open literal: one of the known members, or any other string sent by a newer server.
 * @since 0.1.0
 * @category models
 */
export type OpenLiteral<L extends string> = L | (string & {})

/**
 * A string schema that knows its members but accepts (and encodes) any string.
 *
 * The runtime schema is `Union([Literals(literals), String])` (first match wins), so JSON Schema output
 * and error messages still list the known members.
 */
export const OpenLiterals = <const L extends readonly [string, ...Array<string>]>(
  literals: L
): Schema.Codec<OpenLiteral<L[number]>> => Schema.Union([Schema.Literals(literals), Schema.String])
