import { assert, describe, it } from "@effect/vitest"
import { Result, Schema } from "effect"
import * as fs from "node:fs"
import * as Protocol from "../../src/schema/index.ts"

// ---------------------------------------------------------------------------------------------------------------
// Captured codex sessions (copied from the protocol notes into test/fixtures/transcripts): every message must decode with the generated schemas
// ---------------------------------------------------------------------------------------------------------------

const transcriptsDir = new URL("../fixtures/transcripts/", import.meta.url)

interface Line {
  readonly dir: string
  readonly proc?: string
  readonly msg: unknown
}

type Msg = {
  readonly id?: string | number
  readonly method?: string
  readonly params?: unknown
  readonly result?: unknown
  readonly error?: unknown
}

/** Methods the binary answers although they are absent from its JSON Schema (legacy v1 API). */
const LEGACY_CLIENT_METHODS: ReadonlySet<string> = new Set(["getAuthStatus"])

const isMsg = (u: unknown): u is Msg => typeof u === "object" && u !== null && !Array.isArray(u)

const has = <K extends string>(record: { readonly [k in K]: unknown }, key: string): key is K =>
  Object.hasOwn(record, key)

const decodeWith = (schema: Schema.Decoder<unknown>, value: unknown): string | undefined => {
  const result = Schema.decodeUnknownResult(schema)(value)
  return Result.isFailure(result) ? result.failure.message : undefined
}

interface Tally {
  decoded: Record<string, number>
  skipped: Array<string>
  failures: Array<string>
  unknownMethods: Array<string>
}

const decodeTranscript = (file: string, tally: Tally) => {
  const lines = fs.readFileSync(new URL(file, transcriptsDir), "utf8").split("\n").filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as Line)
  // requests are paired with responses by id within one process of one transcript
  const clientRequests = new Map<string, { readonly method: string; readonly params: unknown; readonly line: number }>()
  const serverRequests = new Map<string, string>()
  const key = (line: Line, id: string | number) => `${line.proc ?? ""}#${typeof id}:${id}`
  const count = (what: string) => (tally.decoded[what] = (tally.decoded[what] ?? 0) + 1)
  const check = (where: string, schema: Schema.Decoder<unknown>, value: unknown, what: string) => {
    const error = decodeWith(schema, value)
    if (error === undefined) count(what)
    else tally.failures.push(`${where}: ${error}`)
  }

  lines.forEach((line, index) => {
    const where = `${file}:${index + 1}`
    const msg = line.msg
    if ((line.dir !== "c2s" && line.dir !== "s2c") || !isMsg(msg)) return
    if (line.dir === "s2c") {
      if (msg.method !== undefined && msg.id !== undefined) {
        // server -> client request
        serverRequests.set(key(line, msg.id), msg.method)
        if (!has(Protocol.ServerRequestParams, msg.method)) return void tally.unknownMethods.push(`${where}: ${msg.method}`)
        check(`${where} ${msg.method}`, Protocol.ServerRequestParams[msg.method], msg.params, "server request params")
      } else if (msg.method !== undefined) {
        if (!has(Protocol.ServerNotificationParams, msg.method)) {
          return void tally.unknownMethods.push(`${where}: ${msg.method}`)
        }
        check(`${where} ${msg.method}`, Protocol.ServerNotificationParams[msg.method], msg.params, "notification params")
      } else if (msg.id !== undefined) {
        const request = clientRequests.get(key(line, msg.id))
        if (request === undefined) return void tally.failures.push(`${where}: response to an unknown request id`)
        if (msg.error !== undefined) return void tally.skipped.push(`${where}: error response to ${request.method}`)
        if (LEGACY_CLIENT_METHODS.has(request.method)) {
          return void tally.skipped.push(`${where}: ${request.method} is not in the JSON Schema (legacy)`)
        }
        if (!has(Protocol.ClientRequestResponses, request.method)) {
          return void tally.unknownMethods.push(`${where}: ${request.method}`)
        }
        check(`${where} ${request.method} response`, Protocol.ClientRequestResponses[request.method], msg.result, "responses")
        // the request was accepted by codex, so its params must decode too
        check(
          `${file}:${request.line} ${request.method} params`,
          Protocol.ClientRequestParams[request.method],
          request.params,
          "client request params"
        )
      }
    } else {
      if (msg.method !== undefined && msg.id !== undefined) {
        clientRequests.set(key(line, msg.id), { method: msg.method, params: msg.params, line: index + 1 })
      } else if (msg.method !== undefined) {
        if (!has(Protocol.ClientNotificationParams, msg.method)) {
          return void tally.skipped.push(`${where}: unknown client notification ${msg.method} (deliberate)`)
        }
        check(`${where} ${msg.method}`, Protocol.ClientNotificationParams[msg.method], msg.params, "client notifications")
      } else if (msg.id !== undefined) {
        const method = serverRequests.get(key(line, msg.id))
        if (method === undefined) return void tally.skipped.push(`${where}: reply to an unknown server request (deliberate)`)
        if (msg.error !== undefined) return void tally.skipped.push(`${where}: error reply to ${method}`)
        if (!has(Protocol.ServerRequestResponses, method)) return void tally.unknownMethods.push(`${where}: ${method}`)
        check(`${where} ${method} reply`, Protocol.ServerRequestResponses[method], msg.result, "server request replies")
      }
    }
  })
}

describe("generated protocol schemas", () => {
  it("decode every message of the captured transcripts", () => {
    const files = fs.readdirSync(transcriptsDir).filter((f) => f.endsWith(".jsonl")).sort()
    assert.isTrue(files.length > 0, "no transcripts found")
    const tally: Tally = { decoded: {}, skipped: [], failures: [], unknownMethods: [] }
    for (const file of files) decodeTranscript(file, tally)
    const total = Object.values(tally.decoded).reduce((a, b) => a + b, 0)
    console.log(
      `transcripts: ${files.length} files, ${total} messages decoded (${
        Object.entries(tally.decoded).map(([k, n]) => `${k}: ${n}`).join(", ")
      }), ${tally.skipped.length} skipped:\n  ${tally.skipped.join("\n  ")}`
    )
    assert.deepStrictEqual(tally.unknownMethods, [], "methods missing from the generated method maps")
    assert.deepStrictEqual(tally.failures, [], "messages that failed to decode")
    assert.isTrue(total > 900)
  })
})

// ---------------------------------------------------------------------------------------------------------------
// Method maps
// ---------------------------------------------------------------------------------------------------------------

describe("method maps", () => {
  it("have params and responses for the same methods", () => {
    const params = Object.keys(Protocol.ClientRequestParams).sort()
    assert.deepStrictEqual(Object.keys(Protocol.ClientRequestResponses).sort(), params)
    assert.deepStrictEqual(
      Object.keys(Protocol.ServerRequestResponses).sort(),
      Object.keys(Protocol.ServerRequestParams).sort()
    )
    assert.isTrue(params.includes("thread/start"))
    assert.isTrue(Object.hasOwn(Protocol.ServerNotificationParams, "item/completed"))
    assert.isTrue(Object.hasOwn(Protocol.ClientNotificationParams, "initialized"))
  })

  it("know the experimental methods and fields", () => {
    assert.isTrue(Protocol.ExperimentalClientRequestMethods.has("thread/search"))
    assert.isFalse(Protocol.ExperimentalClientRequestMethods.has("thread/start"))
    for (const m of Protocol.ExperimentalClientRequestMethods) assert.isTrue(Object.hasOwn(Protocol.ClientRequestParams, m))
    assert.include(Protocol.ExperimentalFields.ThreadStartParams, "dynamicTools")
  })

  it("type methods without params as optional", () => {
    const logout: Protocol.ClientRequestParamsByMethod["account/logout"] = undefined
    assert.strictEqual(decodeWith(Protocol.ClientRequestParams["account/logout"], logout), undefined)
    assert.strictEqual(decodeWith(Protocol.ClientRequestParams["config/mcpServer/reload"], null), undefined)
    assert.strictEqual(decodeWith(Protocol.ClientRequestParams["account/rateLimits/read"], undefined), undefined)
    assert.isDefined(decodeWith(Protocol.ClientRequestParams["thread/start"], undefined))
  })
})

// ---------------------------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------------------------

describe("encoding", () => {
  it("round-trips ThreadStartParams", () => {
    const params: Protocol.ThreadStartParams = {
      cwd: "/tmp/ws",
      approvalPolicy: "on-request",
      sandbox: "workspace-write",
      model: null,
      dynamicTools: [{ type: "function", name: "weather", description: "Weather", inputSchema: { type: "object" } }]
    }
    const encoded = Schema.encodeSync(Protocol.ThreadStartParams)(params)
    const json = JSON.parse(JSON.stringify(encoded))
    assert.deepStrictEqual(json, params)
    assert.deepStrictEqual(Schema.decodeUnknownSync(Protocol.ThreadStartParams)(json), params)
  })

  it("round-trips TurnStartParams with a granular approval policy", () => {
    const params: Protocol.TurnStartParams = {
      threadId: "t",
      input: [{ type: "text", text: "hi", text_elements: [] }],
      approvalPolicy: { granular: { mcp_elicitations: false, rules: true, sandbox_approval: true } }
    }
    const encoded = Schema.encodeSync(Protocol.ClientRequestParams["turn/start"])(params)
    assert.deepStrictEqual(Schema.decodeUnknownSync(Protocol.TurnStartParams)(JSON.parse(JSON.stringify(encoded))), params)
  })
})

// ---------------------------------------------------------------------------------------------------------------
// Forward compatibility: a newer codex adds enum members and fields
// ---------------------------------------------------------------------------------------------------------------

describe("forward compatibility", () => {
  const commandItem = {
    type: "commandExecution",
    id: "call_1",
    command: "/bin/bash -lc 'ls'",
    cwd: "/tmp/ws",
    processId: null,
    source: "agent",
    status: "completed",
    commandActions: [],
    aggregatedOutput: "",
    exitCode: 0,
    durationMs: 3
  }

  it("decodes the known shape", () => {
    const item = Schema.decodeUnknownSync(Protocol.ThreadItem)(commandItem)
    assert.strictEqual(item.type, "commandExecution")
  })

  it("accepts unknown enum members and strips unknown fields", () => {
    const newer = { ...commandItem, status: "newStatus", brandNewField: { x: 1 } }
    const item = Schema.decodeUnknownSync(Protocol.ThreadItem)(newer)
    assert.strictEqual(item.type, "commandExecution")
    if (item.type === "commandExecution") {
      // narrowing on the exact discriminator still works; the status is an open literal
      const status: Protocol.CommandExecutionStatus = item.status
      assert.strictEqual(status, "newStatus")
    }
    assert.isFalse("brandNewField" in item)
  })

  it("decodes a notification with an unknown status and extra fields", () => {
    const params = {
      threadId: "th",
      turnId: "tu",
      completedAtMs: 1795236259002,
      item: { ...commandItem, status: "newStatus", extra: true },
      futureEnvelopeField: 1
    }
    const decoded = Schema.decodeUnknownSync(Protocol.ServerNotificationParams["item/completed"])(params)
    assert.strictEqual(decoded.item.type, "commandExecution")
    assert.isFalse("futureEnvelopeField" in decoded)
  })

  it("opens named single-member enums that are not discriminators", () => {
    const item = Schema.decodeUnknownSync(Protocol.ThreadItem)({
      type: "agentMessage",
      id: "msg_1",
      text: "hi",
      delivery: "someFutureDelivery" // AgentMessageDelivery = "async" | (string & {})
    })
    assert.strictEqual(item.type === "agentMessage" ? item.delivery : undefined, "someFutureDelivery")
  })

  it("still rejects unknown discriminators and wrong types", () => {
    assert.isDefined(decodeWith(Protocol.ThreadItem, { ...commandItem, type: "brandNewItem" }))
    assert.isDefined(decodeWith(Protocol.ThreadItem, { ...commandItem, status: 42 }))
  })

  it("keeps the known members in the open literal type", () => {
    // compile-time: a known member is assignable, so is any other string
    const known: Protocol.CommandExecutionStatus = "declined"
    const other: Protocol.CommandExecutionStatus = "somethingElse"
    assert.deepStrictEqual([known, other], ["declined", "somethingElse"])
    assert.strictEqual(Schema.decodeUnknownSync(Protocol.AskForApproval)("sometimesInTheFuture"), "sometimesInTheFuture")
  })
})
