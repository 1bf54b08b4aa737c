// A minimal MCP server over stdio (newline-delimited JSON-RPC) for the real-binary tests: one tool,
// `echo` (it answers its `text`, also as structured content), and one resource, `memo://greeting`.
// codex starts it as configured in `mcp_servers` (see test/real/ServerOps.test.ts).
import * as readline from "node:readline"

const send = (message) => process.stdout.write(JSON.stringify({ jsonrpc: "2.0", ...message }) + "\n")

const results = {
  initialize: (params) => ({
    protocolVersion: params.protocolVersion,
    capabilities: { tools: {}, resources: {} },
    serverInfo: { name: "echo", version: "1.0.0" }
  }),
  "tools/list": () => ({
    tools: [{
      name: "echo",
      description: "Answers its text",
      inputSchema: { type: "object", properties: { text: { type: "string" } }, required: ["text"] }
    }]
  }),
  "tools/call": (params) => ({
    content: [{ type: "text", text: `echo: ${params.arguments?.text}` }],
    structuredContent: { echoed: params.arguments?.text }
  }),
  "resources/list": () => ({ resources: [{ uri: "memo://greeting", name: "greeting", mimeType: "text/plain" }] }),
  "resources/templates/list": () => ({ resourceTemplates: [] }),
  "resources/read": (params) => ({ contents: [{ uri: params.uri, mimeType: "text/plain", text: "hello from memo" }] })
}

readline.createInterface({ input: process.stdin }).on("line", (line) => {
  const message = JSON.parse(line)
  if (message.id === undefined) return // a notification
  const result = Object.hasOwn(results, message.method) ? results[message.method] : undefined
  send(result === undefined
    ? { id: message.id, error: { code: -32601, message: `no method ${message.method}` } }
    : { id: message.id, result: result(message.params ?? {}) })
})
