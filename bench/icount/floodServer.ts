/**
 * A fake `codex app-server` as a real child process, for the instruction-count flood: answers
 * `initialize`, `thread/start` and `turn/start` like codex 0.169.0 (payloads from the CodexTest
 * builders, so they decode with the generated schemas), and on every `turn/start` whose input text
 * is `flood <n>` writes `turn/started`, n `item/agentMessage/delta` and `turn/completed` to stdout
 * in one write. It runs natively (callgrind does not trace children), so only the client reading
 * the flood is counted.
 *
 * Usage: node bench/icount/floodServer.ts [anything; the app-server arguments are ignored]
 */
import * as NodeReadline from "node:readline"
import * as P from "../../src/layers/testing/internal/codexTestPayloads.ts"

const THREAD_ID = P.uuid("8", 1)

const threadState = P.idleThread(THREAD_ID)

/** The flood of one turn as one string (n deltas between `turn/started` and `turn/completed`). */
export const floodText = (turnId: string, n: number): string => {
  const lines: Array<string> = [
    JSON.stringify({ method: "turn/started", params: { threadId: THREAD_ID, turn: P.turnInProgress(turnId, 0) } })
  ]
  for (let i = 0; i < n; i++) {
    lines.push(JSON.stringify({
      method: "item/agentMessage/delta",
      params: { threadId: THREAD_ID, turnId, itemId: "msg_1", delta: `token ${i} ` }
    }))
  }
  lines.push(JSON.stringify({
    method: "turn/completed",
    params: { threadId: THREAD_ID, turn: { ...P.turnInProgress(turnId, 0), status: "completed", completedAt: 1, durationMs: 1 } }
  }))
  return lines.join("\n") + "\n"
}

let turns = 0
const send = (message: unknown) => process.stdout.write(JSON.stringify(message) + "\n")

NodeReadline.createInterface({ input: process.stdin }).on("line", (line) => {
  const message = JSON.parse(line) as { id?: number; method?: string; params?: any }
  const reply = (result: unknown) => send({ id: message.id, result })
  switch (message.method) {
    case "initialize":
      return reply({ userAgent: `icount/${P.CLI_VERSION}`, codexHome: "/tmp", platformFamily: "unix", platformOs: "linux" })
    case "thread/start":
      return reply({
        thread: P.threadRecord(threadState, { codexHome: "/tmp", originator: "icount", withTurns: false }),
        ...P.threadSettings(threadState)
      })
    case "turn/start": {
      const turnId = P.uuid("9", ++turns)
      const text: string = message.params?.input?.[0]?.text ?? ""
      const n = Number(/^flood (\d+)$/.exec(text)?.[1] ?? 0)
      reply({ turn: P.turnInProgress(turnId, 0) })
      process.stdout.write(floodText(turnId, n))
      return
    }
    default:
      if (message.id !== undefined && message.method !== undefined) reply({})
  }
}).on("close", () => process.exit(0))
