/**
 * The version of effect-codex, as in its package.json (a test keeps them equal).
 *
 * ```ts
 * import { Version } from "effect-codex"
 *
 * console.log(`effect-codex ${Version.version}`)
 * ```
 *
 * @stability unstable
 * @since 0.1.0
 */

/**
 * The version of this package; also the `clientInfo.version` the client reports
 * to codex unless `clientInfo` is given.
 *
 * @category constants
 * @since 0.1.0
 */
export const version = "0.1.0"
