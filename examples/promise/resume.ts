/**
 * The guide's two-stage pipeline, on `effect-codex/promise`: stage 1 starts a
 * thread and prints its id; stage 2, another process, resumes the thread by
 * id and goes on where it left off. Only the import differs from the
 * `@openai/codex-sdk` program.
 *
 *   node --import ./scripts/source-hooks.ts examples/promise/resume.ts
 *   node --import ./scripts/source-hooks.ts examples/promise/resume.ts <thread id>
 */
import { Codex } from "effect-codex/promise"

const codex = new Codex()
const threadId = process.argv[2]

if (threadId === undefined) {
  // Stage 1: look at the problem, keep the thread id for later
  const thread = codex.startThread()
  const triage = await thread.run("Read the failing test and explain the bug")
  console.log(`triage: ${triage.finalResponse}`)
  console.log(`thread id: ${thread.id}`)
} else {
  // Stage 2: resume the thread by id
  const thread = codex.resumeThread(threadId)
  const result = await thread.run("Continue where you left off and summarize the next step")
  console.log(`resumed ${thread.id}: ${result.finalResponse}`)
}
