/**
 * effect/ai integration: Codex as an effect/ai `LanguageModel`, in its own
 * entry point so programs that do not use effect/ai do not load it.
 *
 * - {@link CodexLanguageModel}: `CodexLanguageModel.layer(options?)` and
 *   `CodexLanguageModel.model(name, options?)` over the `Codex` service, so
 *   `LanguageModel.generateText` / `streamText` / `generateObject` and `Chat`
 *   run Codex turns.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as CodexLanguageModel from "./services/CodexLanguageModel.ts"
