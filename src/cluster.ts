/**
 * Codex threads on Effect Cluster, in their own entry point so programs that
 * do not use the cluster do not load it.
 *
 * - {@link CodexThread}: the entity (one Codex thread per application key),
 *   its RPCs and schemas, and `CodexThread.client`, a typed handle per key.
 * - {@link CodexCluster}: `layerRunner` (a runner process hosting the
 *   entities on a `CodexPool`), `layerClient` (a process that only sends),
 *   `layerEmbedded` (the same API in one process, no database), and the
 *   store that keeps a thread's history in the cluster's SQL database.
 *
 * See docs/scaling.md.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as CodexCluster from "./layers/CodexCluster.ts"
/** @since 0.1.0 */
export * as CodexThread from "./services/CodexThread.ts"
