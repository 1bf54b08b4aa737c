/**
 * `effect-codex/promise`'s events: the app-server's turn events in the shapes of `@openai/codex-sdk`
 * (what `codex exec --experimental-json` prints for the same notifications), and the option mapping.
 * Pure functions; the side-by-side check against `@openai/codex-sdk` itself is test/real/Promise.test.ts.
 * Also fed with the recorded sessions in test/fixtures/transcripts (goldens).
 */
import { assert, describe, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as Path from "node:path"
import * as Converter from "../../src/promise/internal/events.ts"
import * as Options from "../../src/promise/internal/options.ts"
import type * as Events from "../../src/promise/Events.ts"
import * as Incoming from "../../src/schema/Incoming.ts"
import * as TurnEvent from "../../src/streams/TurnEvent.ts"

const T = "thread-1"
const U = "turn-1"

const event = (method: string, params: Record<string, unknown>): TurnEvent.TurnEvent =>
  TurnEvent.fromIncoming(Incoming.decodeNotification(method, params))

const turnStarted = () => event("turn/started", { threadId: T, turn: { id: U, items: [], status: "inProgress", error: null } })
const turnCompleted = (status = "completed", extra: Record<string, unknown> = {}) =>
  event("turn/completed", { threadId: T, turn: { id: U, items: [], status, error: null, ...extra } })
const started = (item: Record<string, unknown>) => event("item/started", { threadId: T, turnId: U, item })
const completed = (item: Record<string, unknown>) => event("item/completed", { threadId: T, turnId: U, item })

const userMessage = { type: "userMessage", id: "u1", content: [{ type: "text", text: "hi", text_elements: [] }] }
const message = (id: string, text: string) => ({ type: "agentMessage", id, text, phase: null })
const reasoning = (id: string, summary: ReadonlyArray<string>) => ({ type: "reasoning", id, summary, content: [] })
const command = (id: string, status: string, extra: Record<string, unknown> = {}) => ({
  type: "commandExecution",
  id,
  command: "/bin/bash -lc 'echo hi'",
  commandActions: [],
  cwd: "/ws",
  status,
  aggregatedOutput: null,
  exitCode: null,
  ...extra
})
const fileChange = (id: string, status: string) => ({
  type: "fileChange",
  id,
  changes: [{ path: "/ws/a.txt", kind: { type: "add" }, diff: "+a\n" }, { path: "/ws/b.txt", kind: { type: "update", move_path: null }, diff: "" }],
  status
})
const usage = (input: number, output: number) =>
  event("thread/tokenUsage/updated", {
    threadId: T,
    turnId: U,
    tokenUsage: {
      total: { inputTokens: input, cachedInputTokens: 10, outputTokens: output, reasoningOutputTokens: 3, totalTokens: input + output },
      last: { inputTokens: 1, cachedInputTokens: 0, outputTokens: 1, reasoningOutputTokens: 0, totalTokens: 2 },
      modelContextWindow: null
    }
  })

const run = (events: ReadonlyArray<TurnEvent.TurnEvent>, deltas = false): Array<Events.ThreadEvent> => {
  const converter = Converter.make({ deltas })
  return events.flatMap((e) => converter.push(e))
}

describe("promise events (codex exec shapes)", () => {
  it("a plain answer: turn.started, the message completed (no start), turn.completed with the running total", () => {
    const out = run([
      turnStarted(),
      started(userMessage),
      completed(userMessage),
      started(message("msg_1", "")),
      event("item/agentMessage/delta", { threadId: T, turnId: U, itemId: "msg_1", delta: "Hel" }),
      event("item/agentMessage/delta", { threadId: T, turnId: U, itemId: "msg_1", delta: "lo" }),
      completed(message("msg_1", "Hello")),
      usage(2468, 112),
      turnCompleted()
    ])
    assert.deepStrictEqual(out, [
      { type: "turn.started" },
      { type: "item.completed", item: { id: "item_0", type: "agent_message", text: "Hello" } },
      {
        type: "turn.completed",
        usage: { input_tokens: 2468, cached_input_tokens: 10, cache_write_input_tokens: 0, output_tokens: 112, reasoning_output_tokens: 3 }
      }
    ])
    // the key order of codex exec's JSON, for callers that compare printed events
    assert.strictEqual(
      JSON.stringify((out[2] as Events.TurnCompletedEvent).usage),
      "{\"input_tokens\":2468,\"cached_input_tokens\":10,\"cache_write_input_tokens\":0,\"output_tokens\":112,\"reasoning_output_tokens\":3}"
    )
  })

  it("usage is zero when codex reported none, and the last update of the turn wins", () => {
    assert.deepStrictEqual(run([turnStarted(), turnCompleted()]).at(-1), {
      type: "turn.completed",
      usage: { input_tokens: 0, cached_input_tokens: 0, cache_write_input_tokens: 0, output_tokens: 0, reasoning_output_tokens: 0 }
    })
    const out = run([turnStarted(), usage(1, 1), usage(5, 7), turnCompleted()])
    assert.strictEqual((out.at(-1) as Events.TurnCompletedEvent).usage.input_tokens, 5)
  })

  it("ids count per turn in the order codex exec assigns them; a command keeps its id from start to completion", () => {
    const out = run([
      turnStarted(),
      completed(reasoning("rs_1", ["Thinking", "more"])),
      started(command("call_1", "inProgress")),
      completed(command("call_1", "completed", { aggregatedOutput: "hi\n", exitCode: 0 })),
      started(message("msg_1", "")),
      completed(message("msg_1", "done")),
      turnCompleted()
    ])
    assert.deepStrictEqual(out.slice(1, 5), [
      { type: "item.completed", item: { id: "item_0", type: "reasoning", text: "Thinking\nmore" } },
      {
        type: "item.started",
        item: { id: "item_1", type: "command_execution", command: "/bin/bash -lc 'echo hi'", aggregated_output: "", exit_code: null, status: "in_progress" }
      },
      {
        type: "item.completed",
        item: { id: "item_1", type: "command_execution", command: "/bin/bash -lc 'echo hi'", aggregated_output: "hi\n", exit_code: 0, status: "completed" }
      },
      { type: "item.completed", item: { id: "item_2", type: "agent_message", text: "done" } }
    ])
  })

  it("a reasoning item with an empty summary is not shown and takes no id", () => {
    const out = run([turnStarted(), completed(reasoning("rs_1", [" "])), completed(message("m", "x")), turnCompleted()])
    assert.deepStrictEqual(out[1], { type: "item.completed", item: { id: "item_0", type: "agent_message", text: "x" } })
  })

  it("a declined command is status declined; a declined patch is failed (as codex exec shows it)", () => {
    const out = run([
      turnStarted(),
      started(command("call_1", "inProgress")),
      completed(command("call_1", "declined")),
      started(fileChange("call_2", "inProgress")),
      completed(fileChange("call_2", "declined")),
      turnCompleted()
    ])
    assert.strictEqual((out[2] as Events.ItemCompletedEvent).item.type, "command_execution")
    assert.strictEqual(((out[2] as Events.ItemCompletedEvent).item as Events.CommandExecutionItem).status, "declined")
    assert.deepStrictEqual(out[3], {
      type: "item.started",
      item: { id: "item_1", type: "file_change", changes: [{ path: "/ws/a.txt", kind: "add" }, { path: "/ws/b.txt", kind: "update" }], status: "in_progress" }
    })
    assert.strictEqual(((out[4] as Events.ItemCompletedEvent).item as Events.FileChangeItem).status, "failed")
  })

  it("a file change started again (after its approval) and a patch update are updates of the same item", () => {
    const out = run([
      turnStarted(),
      started(fileChange("p", "inProgress")),
      event("item/fileChange/patchUpdated", { threadId: T, turnId: U, itemId: "p", changes: [{ path: "/ws/c.txt", kind: { type: "delete" }, diff: "" }] }),
      started(fileChange("p", "inProgress")),
      completed(fileChange("p", "completed")),
      turnCompleted()
    ])
    assert.deepStrictEqual(out.slice(1, 5).map((e) => [e.type, (e as Events.ItemStartedEvent).item.id]), [
      ["item.started", "item_0"],
      ["item.updated", "item_0"],
      ["item.updated", "item_0"],
      ["item.completed", "item_0"]
    ])
    assert.deepStrictEqual(((out[2] as Events.ItemUpdatedEvent).item as Events.FileChangeItem).changes, [{ path: "/ws/c.txt", kind: "delete" }])
  })

  it("an MCP tool call, with nulls where codex exec prints them", () => {
    const base = { type: "mcpToolCall", id: "mcp_1", server: "docs", tool: "search", arguments: { q: "x" }, result: null, error: null }
    const out = run([
      turnStarted(),
      started({ ...base, status: "inProgress" }),
      completed({ ...base, status: "completed", result: { content: [{ type: "text", text: "found" }], structuredContent: { n: 1 } } }),
      started({ ...base, id: "mcp_2", status: "inProgress" }),
      completed({ ...base, id: "mcp_2", status: "failed", error: { message: "boom" } }),
      turnCompleted()
    ])
    assert.deepStrictEqual(out[1], {
      type: "item.started",
      item: { id: "item_0", type: "mcp_tool_call", server: "docs", tool: "search", arguments: { q: "x" }, result: null, error: null, status: "in_progress" }
    })
    assert.deepStrictEqual((out[2] as Events.ItemCompletedEvent).item, {
      id: "item_0",
      type: "mcp_tool_call",
      server: "docs",
      tool: "search",
      arguments: { q: "x" },
      result: { content: [{ type: "text", text: "found" }], structured_content: { n: 1 } },
      error: null,
      status: "completed"
    })
    assert.deepStrictEqual(((out[4] as Events.ItemCompletedEvent).item as Events.McpToolCallItem).error, { message: "boom" })
  })

  it("a web search keeps codex's id (it still takes a counter value) and its action in snake_case", () => {
    const search = { type: "webSearch", id: "ws_1", query: "effect ts", action: { type: "openPage", url: "https://effect.website", queries: null } }
    const out = run([turnStarted(), started(search), completed(search), completed(message("m", "ok")), turnCompleted()])
    assert.deepStrictEqual(out.slice(1, 4), [
      { type: "item.started", item: { id: "ws_1", type: "web_search", query: "effect ts", action: { type: "open_page", url: "https://effect.website" } } },
      { type: "item.completed", item: { id: "ws_1", type: "web_search", query: "effect ts", action: { type: "open_page", url: "https://effect.website" } } },
      { type: "item.completed", item: { id: "item_1", type: "agent_message", text: "ok" } }
    ])
  })

  it("the plan is a todo_list: started, updated, completed when the turn ends (before turn.completed)", () => {
    const plan = (second: string) =>
      event("turn/plan/updated", { threadId: T, turnId: U, explanation: null, plan: [{ step: "read", status: "completed" }, { step: "write", status: second }] })
    const out = run([turnStarted(), plan("inProgress"), plan("completed"), turnCompleted()])
    assert.deepStrictEqual(out.slice(1), [
      { type: "item.started", item: { id: "item_0", type: "todo_list", items: [{ text: "read", completed: true }, { text: "write", completed: false }] } },
      { type: "item.updated", item: { id: "item_0", type: "todo_list", items: [{ text: "read", completed: true }, { text: "write", completed: true }] } },
      { type: "item.completed", item: { id: "item_0", type: "todo_list", items: [{ text: "read", completed: true }, { text: "write", completed: true }] } },
      { type: "turn.completed", usage: Converter.usageOf(undefined) }
    ])
  })

  it("a failed turn: error events as codex reports them, then turn.failed with the message and its details", () => {
    const out = run([
      turnStarted(),
      event("error", { threadId: T, turnId: U, willRetry: true, error: { message: "Reconnecting... 1/5", codexErrorInfo: null, additionalDetails: null } }),
      event("error", { threadId: T, turnId: U, willRetry: false, error: { message: "bad request", codexErrorInfo: "other", additionalDetails: "HTTP 400" } }),
      turnCompleted("failed", { error: { message: "bad request", codexErrorInfo: "other", additionalDetails: "HTTP 400" } })
    ])
    assert.deepStrictEqual(out.slice(1), [
      { type: "error", message: "Reconnecting... 1/5" },
      { type: "error", message: "bad request (HTTP 400)" },
      { type: "turn.failed", error: { message: "bad request (HTTP 400)" } }
    ])
  })

  it("a failed turn without an error of its own takes the last error, else says so", () => {
    const lastError = run([
      turnStarted(),
      event("error", { threadId: T, turnId: U, willRetry: false, error: { message: "quota", codexErrorInfo: null, additionalDetails: null } }),
      turnCompleted("failed")
    ])
    assert.deepStrictEqual(lastError.at(-1), { type: "turn.failed", error: { message: "quota" } })
    assert.deepStrictEqual(run([turnStarted(), turnCompleted("failed")]).at(-1), { type: "turn.failed", error: { message: "turn failed" } })
  })

  it("an interrupted turn ends with no event; items it left open are completed from the turn's summary", () => {
    const out = run([
      turnStarted(),
      started(command("call_1", "inProgress")),
      turnCompleted("interrupted", { items: [command("call_1", "failed", { exitCode: 130 })] })
    ])
    assert.deepStrictEqual(out.map((e) => e.type), ["turn.started", "item.started", "item.completed"])
    assert.deepStrictEqual((out[2] as Events.ItemCompletedEvent).item, {
      id: "item_0",
      type: "command_execution",
      command: "/bin/bash -lc 'echo hi'",
      aggregated_output: "",
      exit_code: 130,
      status: "failed"
    })
  })

  it("with deltas, a message an interrupt cut completes with its text so far (nothing is left open)", () => {
    const out = run([
      turnStarted(),
      started(message("m", "")),
      event("item/agentMessage/delta", { threadId: T, turnId: U, itemId: "m", delta: "Half" }),
      turnCompleted("interrupted")
    ], true)
    assert.deepStrictEqual(out.at(-1), { type: "item.completed", item: { id: "item_0", type: "agent_message", text: "Half" } })
  })

  it("a model reroute is an error item", () => {
    const out = run([
      turnStarted(),
      event("model/rerouted", { threadId: T, turnId: U, fromModel: "gpt-a", toModel: "gpt-b", reason: "highRiskCyberActivity" })
    ])
    assert.deepStrictEqual(out[1], {
      type: "item.completed",
      item: { id: "item_0", type: "error", message: "model rerouted: gpt-a -> gpt-b (HighRiskCyberActivity)" }
    })
  })

  it("items the SDK does not show take no id: the user's message, dynamic tool calls, context compaction", () => {
    const tool = { type: "dynamicToolCall", id: "t1", tool: "lookup", arguments: {}, status: "completed", namespace: null, contentItems: null, success: true, durationMs: 1 }
    const out = run([
      turnStarted(),
      started(userMessage),
      completed(userMessage),
      started(tool),
      completed(tool),
      completed({ type: "contextCompaction", id: "c1" }),
      completed(message("m", "ok")),
      turnCompleted()
    ])
    assert.deepStrictEqual(out.map((e) => e.type), ["turn.started", "item.completed", "turn.completed"])
    assert.strictEqual((out[1] as Events.ItemCompletedEvent).item.id, "item_0")
  })

  it("with deltas: messages, reasoning and command output stream as item.updated with the text so far and the delta", () => {
    const out = run([
      turnStarted(),
      started(reasoning("rs", [])),
      event("item/reasoning/summaryTextDelta", { threadId: T, turnId: U, itemId: "rs", summaryIndex: 0, delta: "Plan" }),
      event("item/reasoning/summaryTextDelta", { threadId: T, turnId: U, itemId: "rs", summaryIndex: 1, delta: "Act" }),
      completed(reasoning("rs", ["Plan", "Act"])),
      started(command("c", "inProgress")),
      event("item/commandExecution/outputDelta", { threadId: T, turnId: U, itemId: "c", delta: "h" }),
      event("item/commandExecution/outputDelta", { threadId: T, turnId: U, itemId: "c", delta: "i\n" }),
      completed(command("c", "completed", { aggregatedOutput: "hi\n", exitCode: 0 })),
      started(message("m", "")),
      event("item/agentMessage/delta", { threadId: T, turnId: U, itemId: "m", delta: "Hel" }),
      event("item/agentMessage/delta", { threadId: T, turnId: U, itemId: "m", delta: "lo" }),
      completed(message("m", "Hello")),
      turnCompleted()
    ], true)
    const summary = out.map((e) =>
      e.type === "item.started" || e.type === "item.updated" || e.type === "item.completed"
        ? [e.type, e.item.id, e.item.type, "text" in e.item ? e.item.text : "aggregated_output" in e.item ? e.item.aggregated_output : "", (e as Events.ItemUpdatedEvent).delta]
        : [e.type]
    )
    assert.deepStrictEqual(summary, [
      ["turn.started"],
      ["item.started", "item_0", "reasoning", "", undefined],
      ["item.updated", "item_0", "reasoning", "Plan", "Plan"],
      ["item.updated", "item_0", "reasoning", "Plan\nAct", "Act"],
      ["item.completed", "item_0", "reasoning", "Plan\nAct", undefined],
      ["item.started", "item_1", "command_execution", "", undefined],
      ["item.updated", "item_1", "command_execution", "h", "h"],
      ["item.updated", "item_1", "command_execution", "hi\n", "i\n"],
      ["item.completed", "item_1", "command_execution", "hi\n", undefined],
      ["item.started", "item_2", "agent_message", "", undefined],
      ["item.updated", "item_2", "agent_message", "Hel", "Hel"],
      ["item.updated", "item_2", "agent_message", "Hello", "lo"],
      ["item.completed", "item_2", "agent_message", "Hello", undefined],
      ["turn.completed"]
    ])
  })

  it("without deltas, the same turn gives codex-sdk's events only", () => {
    const out = run([
      turnStarted(),
      started(message("m", "")),
      event("item/agentMessage/delta", { threadId: T, turnId: U, itemId: "m", delta: "Hel" }),
      completed(message("m", "Hello")),
      turnCompleted()
    ])
    assert.deepStrictEqual(out.map((e) => e.type), ["turn.started", "item.completed", "turn.completed"])
  })

  it("current(): the item as last shown, while it is open (for approval requests)", () => {
    const converter = Converter.make({ deltas: false })
    converter.push(turnStarted())
    converter.push(started(command("call_1", "inProgress")))
    assert.strictEqual(converter.current("call_1")?.id, "item_0")
    converter.push(completed(command("call_1", "completed")))
    assert.isUndefined(converter.current("call_1"))
  })

  it("items whose nested shape a newer codex changed (passed on raw) still convert", () => {
    const raw = TurnEvent.fromIncoming({
      _tag: "UnknownNotification",
      method: "item/completed",
      params: { threadId: T, turnId: U, item: { type: "commandExecution", id: "c", command: "ls", status: "someNewStatus", aggregatedOutput: 42 } }
    })
    const out = run([turnStarted(), raw])
    assert.deepStrictEqual(out[1], {
      type: "item.completed",
      item: { id: "item_0", type: "command_execution", command: "ls", aggregated_output: "", exit_code: null, status: "in_progress" }
    })
  })
})

// -----------------------------------------------------------------------------
// Goldens: every recorded turn converts to a well-formed codex-sdk event sequence
// -----------------------------------------------------------------------------

const transcripts = new URL("../fixtures/transcripts/", import.meta.url)

interface Line {
  readonly dir: string
  readonly proc?: string
  readonly msg: { readonly id?: number | string; readonly method?: string; readonly params?: any }
}

/** The turn events of every turn of a transcript, by turn id, in order. */
const turnsOf = (file: string): Map<string, Array<TurnEvent.TurnEvent>> => {
  const turns = new Map<string, Array<TurnEvent.TurnEvent>>()
  const lines = fs.readFileSync(new URL(file, transcripts), "utf8").split("\n").filter((l) => l.trim() !== "")
  for (const text of lines) {
    const line = JSON.parse(text) as Line
    if (line.dir !== "s2c" || line.msg.method === undefined || line.msg.id !== undefined) continue
    const params = line.msg.params
    const turnId: unknown = params?.turnId ?? params?.turn?.id
    if (typeof turnId !== "string") continue
    const key = `${line.proc ?? ""}/${turnId}`
    const list = turns.get(key) ?? []
    list.push(TurnEvent.fromIncoming(Incoming.decodeNotification(line.msg.method, params)))
    turns.set(key, list)
  }
  return turns
}

describe("promise events on the recorded sessions", () => {
  const files = fs.readdirSync(transcripts).filter((f) => f.endsWith(".jsonl"))

  it("every turn: turn.started first, one ending (completed, failed, or none when interrupted), each started item completed once with its id", () => {
    let turns = 0
    for (const file of files) {
      for (const [key, events] of turnsOf(file)) {
        const last = events.findLast((e) => e._tag === "TurnCompleted")
        if (events[0]?._tag !== "TurnStarted" || last === undefined) continue
        turns++
        for (const deltas of [false, true]) {
          const where = `${Path.basename(file)} ${key} (deltas ${deltas})`
          const out = run(events, deltas)
          assert.strictEqual(out[0]?.type, "turn.started", where)
          const endings = out.filter((e) => e.type === "turn.completed" || e.type === "turn.failed")
          const status = last.turn.status
          assert.deepStrictEqual(
            endings.map((e) => e.type),
            status === "completed" ? ["turn.completed"] : status === "interrupted" ? [] : ["turn.failed"],
            where
          )
          const open = new Set<string>()
          const done = new Set<string>()
          for (const e of out) {
            if (e.type === "item.started") {
              assert.isFalse(open.has(e.item.id) || done.has(e.item.id), `${where}: ${e.item.id} started twice`)
              open.add(e.item.id)
            } else if (e.type === "item.updated") {
              assert.isTrue(open.has(e.item.id), `${where}: ${e.item.id} updated while not open`)
            } else if (e.type === "item.completed") {
              assert.isFalse(done.has(e.item.id), `${where}: ${e.item.id} completed twice`)
              open.delete(e.item.id)
              done.add(e.item.id)
            }
          }
          assert.deepStrictEqual([...open], [], `${where}: items left open`)
          // what is printed is what is read back
          assert.deepStrictEqual(JSON.parse(JSON.stringify(out)), out, where)
        }
      }
    }
    assert.isAbove(turns, 20)
  })

  it("b2-exec-decline: the declined command shows as declined, then the answer", () => {
    const [events] = [...turnsOf("b2-exec-decline.jsonl").values()]
    const items = run(events!).flatMap((e) => e.type === "item.completed" ? [e.item] : [])
    assert.deepStrictEqual(items.map((i) => [i.type, i.type === "command_execution" ? i.status : ""]), [
      ["command_execution", "declined"],
      ["agent_message", ""]
    ])
  })
})

// -----------------------------------------------------------------------------
// Options
// -----------------------------------------------------------------------------

describe("promise options (as codex exec gets them from codex-sdk)", () => {
  it("thread options: model, sandbox and cwd as params; effort, network, web search and extra dirs as config; approvals default to never", () => {
    assert.deepStrictEqual(
      Options.threadParams({
        model: "gpt-5.4",
        sandboxMode: "workspace-write",
        workingDirectory: "repo",
        skipGitRepoCheck: true,
        modelReasoningEffort: "high",
        networkAccessEnabled: false,
        webSearchEnabled: true,
        additionalDirectories: ["/data", "out"],
        threadSource: "nightly"
      }, false, "/home/me"),
      {
        model: "gpt-5.4",
        sandbox: "workspace-write",
        cwd: "/home/me/repo",
        approvalPolicy: "never",
        config: {
          model_reasoning_effort: "high",
          "sandbox_workspace_write.network_access": false,
          web_search: "live",
          "sandbox_workspace_write.writable_roots": ["/data", Path.resolve("out")]
        },
        threadSource: "nightly"
      }
    )
    assert.deepStrictEqual(Options.threadParams({}, false, "/w"), { cwd: "/w", approvalPolicy: "never" })
    assert.deepStrictEqual(Options.threadParams({}, true, "/w"), { cwd: "/w", approvalPolicy: "on-request" })
    assert.strictEqual(Options.threadParams({ approvalPolicy: "untrusted" }, true, "/w").approvalPolicy, "untrusted")
    // codex 0.171 refuses the deprecated "on-failure"
    assert.strictEqual(Options.threadParams({ approvalPolicy: "on-failure" }, false, "/w").approvalPolicy, "on-request")
    // webSearchMode wins over webSearchEnabled
    assert.deepStrictEqual(Options.threadConfig({ webSearchMode: "cached", webSearchEnabled: false }), { web_search: "cached" })
    assert.deepStrictEqual(Options.threadConfig({ webSearchEnabled: false }), { web_search: "disabled" })
  })

  it("process options: codexPathOverride, config, raw overrides then baseUrl last, env replaces the environment, apiKey redacted", () => {
    const options = Options.appServerOptions({
      codexPathOverride: "/opt/codex",
      baseUrl: "http://127.0.0.1:9/v1",
      apiKey: "sk-secret-value",
      config: { show_raw_agent_reasoning: true },
      configOverrides: ["model=\"o4\""],
      env: { PATH: "/bin" }
    })
    assert.strictEqual(options.codexPath, "/opt/codex")
    assert.deepStrictEqual(options.config, { show_raw_agent_reasoning: true })
    assert.deepStrictEqual(options.args, ["-c", "model=\"o4\"", "-c", "openai_base_url=\"http://127.0.0.1:9/v1\""])
    assert.deepStrictEqual(options.env, { PATH: "/bin" })
    assert.strictEqual(options.inheritEnv, false)
    assert.notInclude(JSON.stringify(options), "sk-secret-value")
    assert.deepStrictEqual(Options.appServerOptions({}).args, [])
    assert.isUndefined(Options.appServerOptions({}).inheritEnv)
  })

  it("one server per set of process options: the same CODEX_HOME and options share, anything else does not; no key in the clear", () => {
    const env = { CODEX_HOME: "/h/a" }
    assert.strictEqual(Options.serverKey({}, env), Options.serverKey({}, { CODEX_HOME: "/h/a/" }))
    assert.notStrictEqual(Options.serverKey({}, env), Options.serverKey({}, { CODEX_HOME: "/h/b" }))
    assert.notStrictEqual(Options.serverKey({}, env), Options.serverKey({ config: { x: 1 } }, env))
    assert.notStrictEqual(Options.serverKey({ apiKey: "sk-1" }, env), Options.serverKey({ apiKey: "sk-2" }, env))
    assert.notInclude(Options.serverKey({ apiKey: "sk-very-secret" }, env), "sk-very-secret")
    // with `env`, CODEX_HOME comes from it, not from this process
    assert.strictEqual(Options.codexHomeOf({ env: { CODEX_HOME: "/h/c" } }, env), "/h/c")
    assert.strictEqual(Options.codexHomeOf({ env: { HOME: "/u" } }, env), "/u/.codex")
  })

  it("input: images first, then the text parts joined by blank lines, line ends normalized", () => {
    assert.deepStrictEqual(Options.toInput("a\r\nb"), [{ type: "text", text: "a\nb", text_elements: [] }])
    assert.deepStrictEqual(
      Options.toInput([{ type: "text", text: "look" }, { type: "local_image", path: "/p/a.png" }, { type: "text", text: "closely" }]),
      [{ type: "localImage", path: "/p/a.png" }, { type: "text", text: "look\n\nclosely", text_elements: [] }]
    )
  })
})
