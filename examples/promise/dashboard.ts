/**
 * The guide's dashboard backend, on `effect-codex/promise`: a "Fix this bug"
 * button posts a ticket, a follow-up resumes the thread by id. Each request
 * makes its own `new Codex()` and never closes it, as the guide's handler
 * does. Only the import differs from the `@openai/codex-sdk` program (the
 * guide uses Express; this is the same handler on node:http).
 *
 * That handler works here because every `Codex` of the process on the same
 * CODEX_HOME shares one app-server: codex lets one process write a thread at
 * a time, so a follow-up in a new `Codex` must not start a second one while
 * the first request's instance still holds the thread.
 *
 *   POST /api/fix        {"ticket": {"id", "title", "description"}}  ->  {"threadId", "summary", "changedFiles"}
 *   POST /api/follow-up  {"threadId", "message"}                     ->  {"threadId", "answer"}
 *
 *   PORT=3000 node --import ./scripts/source-hooks.ts examples/promise/dashboard.ts
 */
import { Codex } from "effect-codex/promise"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"

interface Ticket {
  readonly id: string
  readonly title: string
  readonly description: string
}

const readJson = async (req: IncomingMessage): Promise<any> => {
  let body = ""
  for await (const chunk of req) body += chunk
  return JSON.parse(body)
}

const send = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { "content-type": "application/json" })
  res.end(JSON.stringify(body))
}

// "Fix this bug": a new thread per ticket
async function fixTicket(ticket: Ticket) {
  const codex = new Codex({ apiKey: process.env.CODEX_API_KEY })
  const thread = codex.startThread({ workingDirectory: process.env.REPO_PATH, sandboxMode: "workspace-write", skipGitRepoCheck: true })
  const result = await thread.run(`Fix ticket ${ticket.id}: ${ticket.title}\n\n${ticket.description}`)
  const changedFiles = result.items.flatMap((item) =>
    item.type === "file_change" ? item.changes.map((change) => change.path) : []
  )
  return { threadId: thread.id, summary: result.finalResponse, changedFiles }
}

// A follow-up on a ticket's thread, in another request (and another Codex)
async function followUp(threadId: string, message: string) {
  const codex = new Codex({ apiKey: process.env.CODEX_API_KEY })
  const thread = codex.resumeThread(threadId, {
    workingDirectory: process.env.REPO_PATH,
    sandboxMode: "workspace-write",
    skipGitRepoCheck: true
  })
  const result = await thread.run(message)
  return { threadId: thread.id, answer: result.finalResponse }
}

const server = createServer(async (req, res) => {
  try {
    if (req.method === "POST" && req.url === "/api/fix") {
      const { ticket } = await readJson(req)
      return send(res, 200, await fixTicket(ticket))
    }
    if (req.method === "POST" && req.url === "/api/follow-up") {
      const { message, threadId } = await readJson(req)
      return send(res, 200, await followUp(threadId, message))
    }
    send(res, 404, { error: "not found" })
  } catch (error) {
    send(res, 500, { error: error instanceof Error ? error.message : String(error) })
  }
})

server.listen(Number(process.env.PORT ?? 3000), "127.0.0.1", () => {
  const address = server.address()
  console.log(`listening on http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : ""}`)
})
