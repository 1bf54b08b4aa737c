/**
 * The guide's basic usage, on `effect-codex/promise`: start a thread, run one
 * turn, print the result. It is `@openai/codex-sdk` code: with the import
 * changed back to "@openai/codex-sdk" it runs the same (test/real/Promise.test.ts
 * runs both and compares what they print).
 *
 * It uses codex as installed (`CODEX_HOME`, default ~/.codex, and its login
 * or `CODEX_API_KEY`); the test points `CODEX_HOME` at an embedded
 * LocalModel instead. It exits by itself: the app-server does not keep Node
 * alive once the turn is done, and it is gone when the process exits.
 *
 *   node --import ./scripts/source-hooks.ts examples/promise/basic.ts
 */
import { Codex } from "effect-codex/promise"

const codex = new Codex()
const thread = codex.startThread()
const result = await thread.run("Analyze the test failures in the CI logs and propose fixes")

console.log(result)
