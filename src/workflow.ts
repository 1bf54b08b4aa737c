/**
 * Durable pipelines on `effect/workflow`, in their own entry point so
 * programs that do not use workflows do not load them.
 *
 * - {@link CodexWorkflow}: a Codex thread and turn as workflow activities
 *   (`CodexWorkflow.thread`, `CodexWorkflow.turn`), and the engines to run
 *   them on (`CodexWorkflow.layerMemory`, `CodexWorkflow.layerSql`).
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as CodexWorkflow from "./services/CodexWorkflow.ts"
