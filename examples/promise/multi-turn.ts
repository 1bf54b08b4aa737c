/**
 * The guide's multi-turn conversation, on `effect-codex/promise`: `run` again
 * on the same thread continues it (the second turn sees the first). Only the
 * import differs from the `@openai/codex-sdk` program.
 *
 *   node --import ./scripts/source-hooks.ts examples/promise/multi-turn.ts
 */
import { Codex } from "effect-codex/promise"

const codex = new Codex()
const thread = codex.startThread()

// First turn: analyze
const analysis = await thread.run("Review the authentication module for security issues")
console.log(`analysis: ${analysis.finalResponse}`)

// Second turn: fix what was found
const fixes = await thread.run("Implement the fixes you identified. Run the test suite after each change.")
console.log(`fixes: ${fixes.finalResponse}`)
for (const item of fixes.items) console.log(`- ${item.type}`)
console.log("usage so far:", fixes.usage)
