/**
 * effect-codex: drive the Codex coding agent from Effect programs through its
 * app-server.
 *
 * - {@link AppServer}: layers that start (or connect to) `codex app-server`.
 * - {@link Codex}: threads, models and the account, and the rest of the
 *   server (commands outside a turn, history, usage, configuration).
 * - {@link CodexPool}: one `Codex` over several app-server processes.
 * - {@link Thread} / {@link Turn}: run turns, stream their {@link TurnEvent}s.
 * - {@link Approvals} and {@link CodexTool}: answer codex's requests with Effects.
 * - {@link CodexError}: the one error, with a `reason`.
 * - {@link Metrics}: the SDK's metrics (turns, tokens, requests, approvals).
 * - {@link Version}: the version of this package.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as AppServer from "./layers/AppServer.ts"
/** @since 0.1.0 */
export * as AppServerClient from "./services/AppServerClient.ts"
/** @since 0.1.0 */
export * as Approvals from "./services/Approvals.ts"
/** @since 0.1.0 */
export * as Codex from "./services/Codex.ts"
/** @since 0.1.0 */
export * as CodexError from "./schema/CodexError.ts"
/** @since 0.1.0 */
export * as CodexPool from "./layers/CodexPool.ts"
export * as Command from "./services/Command.ts"
/** @since 0.1.0 */
export * as CodexTool from "./services/CodexTool.ts"
/** @since 0.1.0 */
export * as Input from "./schema/Input.ts"
/** @since 0.1.0 */
export * as JsonRpc from "./schema/JsonRpc.ts"
/** @since 0.1.0 */
export * as Metrics from "./services/Metrics.ts"
/** @since 0.1.0 */
export * as OutputSchema from "./schema/OutputSchema.ts"
/** @since 0.1.0 */
export * as Thread from "./services/Thread.ts"
/** @since 0.1.0 */
export * as Transport from "./layers/Transport.ts"
/** @since 0.1.0 */
export * as Turn from "./services/Turn.ts"
/** @since 0.1.0 */
export * as TurnEvent from "./streams/TurnEvent.ts"
/** @since 0.1.0 */
export * as TurnResult from "./streams/TurnResult.ts"
/** @since 0.1.0 */
export * as Version from "./schema/Version.ts"
