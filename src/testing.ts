/**
 * Test layers for programs that use effect-codex.
 *
 * - {@link LocalModel}: a scripted OpenAI-Responses-compatible server on
 *   127.0.0.1, and the `AppServer` options that point the real codex at it
 *   (hermetic runs, no API key).
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as LocalModel from "./layers/testing/LocalModel.ts"

/** @since 0.1.0 */
export * as CodexTest from "./layers/testing/CodexTest.ts"
