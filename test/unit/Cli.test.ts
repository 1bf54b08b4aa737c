/**
 * What the `effect-codex` command line prints, without running it: the pure formatting functions
 * (src/bin/internal/format.ts) and the renderer that turns a turn's events into the answer on stdout,
 * a line per command and file change on stderr, and the spinner's label (src/bin/internal/render.ts),
 * fed with the recorded sessions in test/fixtures/transcripts and with hand-made events.
 */
import { assert, describe, it } from "@effect/vitest"
import { Duration, Option } from "effect"
import * as fs from "node:fs"
import { policyOf } from "../../src/bin/internal/approvals.ts"
import * as Format from "../../src/bin/internal/format.ts"
import { type Op, Renderer } from "../../src/bin/internal/render.ts"
import type * as Protocol from "../../src/schema/generated/Protocol.gen.ts"
import * as Incoming from "../../src/schema/Incoming.ts"
import * as TurnEvent from "../../src/streams/TurnEvent.ts"

const dir = new URL("../fixtures/transcripts/", import.meta.url)

/** The turn events of a recorded session, as the SDK hands them to a turn's stream. */
const eventsOf = (file: string): Array<TurnEvent.TurnEvent> =>
  fs.readFileSync(new URL(file, dir), "utf8").split("\n").filter((line) => line.trim() !== "").flatMap((line) => {
    const { dir: direction, msg } = JSON.parse(line)
    if (direction !== "s2c" || msg.method === undefined) return []
    if (msg.id !== undefined) {
      const decoded = Incoming.decodeServerRequest(msg.id, msg.method, msg.params)
      return decoded._tag === "Request" ? [TurnEvent.fromIncoming(decoded.request)] : []
    }
    // only what the router hands a turn: messages naming a turn
    if (msg.params?.turnId === undefined && msg.params?.turn?.id === undefined) return []
    return [TurnEvent.fromIncoming(Incoming.decodeNotification(msg.method, msg.params))]
  })

/** What a run prints: stdout, the stderr lines, the spinner's labels in order. */
const play = (events: ReadonlyArray<TurnEvent.TurnEvent>, renderer = new Renderer()) => {
  const ops: Array<Op> = events.flatMap((event) => renderer.feed(event))
  return {
    stdout: ops.flatMap((op) => (op._tag === "Answer" ? [op.text] : [])).join(""),
    notes: ops.flatMap((op) => (op._tag === "Note" ? [op.line] : [])),
    labels: ops.flatMap((op) => (op._tag === "Status" ? [op.label] : []))
  }
}

const base = { threadId: "t", turnId: "u" }
const delta = (itemId: string, text: string): TurnEvent.TurnEvent => ({ _tag: "AgentMessageDelta", ...base, itemId, delta: text })
const message = (id: string, text: string, phase: Protocol.MessagePhase | null = null): Protocol.ThreadItem => ({
  type: "agentMessage",
  id,
  text,
  phase
})
const started = (item: Protocol.ThreadItem): TurnEvent.TurnEvent => ({ _tag: "ItemStarted", ...base, item } as TurnEvent.TurnEvent)
const completed = (item: Protocol.ThreadItem): TurnEvent.TurnEvent =>
  ({ _tag: "ItemCompleted", ...base, item } as TurnEvent.TurnEvent)
const turnCompleted: TurnEvent.TurnEvent = {
  _tag: "TurnCompleted",
  threadId: "t",
  turn: { id: "u", items: [], status: "completed", error: null }
}
const command = (
  command: string,
  fields: Partial<Extract<Protocol.ThreadItem, { readonly type: "commandExecution" }>>
): Extract<Protocol.ThreadItem, { readonly type: "commandExecution" }> => ({
  type: "commandExecution",
  id: "c1",
  command,
  commandActions: [],
  cwd: "/repo",
  status: "completed",
  ...fields
})
const fileChange = (
  changes: ReadonlyArray<Protocol.FileUpdateChange>,
  status: Protocol.PatchApplyStatus = "completed"
): Extract<Protocol.ThreadItem, { readonly type: "fileChange" }> => ({ type: "fileChange", id: "f1", changes, status })
const breakdown = (input: number, cached: number, output: number, reasoning: number): Protocol.TokenUsageBreakdown => ({
  inputTokens: input,
  cachedInputTokens: cached,
  outputTokens: output,
  reasoningOutputTokens: reasoning,
  totalTokens: input + output
})

describe("Cli renderer", () => {
  it("a plain answer streams to stdout as it arrives and ends with a newline (transcript a)", () => {
    const out = play(eventsOf("a-plain-message.jsonl"))
    assert.strictEqual(out.stdout, "Hello from the mock model!\n")
    assert.deepStrictEqual(out.notes, [])
  })

  it("a command gets one line on stderr, the shell wrapper looked through (transcript b)", () => {
    const out = play(eventsOf("b-exec-approval.jsonl"))
    assert.deepStrictEqual(out.notes, ["$ touch marker.txt && echo created-marker · exit 0 · 0 ms"])
    assert.strictEqual(out.labels[0], "thinking")
    assert.include(out.labels, "running: touch marker.txt && echo created-marker")
    assert.include(out.labels, "waiting for approval")
    assert.isTrue(out.stdout.startsWith("Command output was:"))
    assert.isTrue(out.stdout.endsWith("\n"))
  })

  it("a declined command says so (transcript b2)", () => {
    assert.deepStrictEqual(play(eventsOf("b2-exec-decline.jsonl")).notes, ["$ touch marker.txt · declined"])
  })

  it("a file change gets a line per file, relative to the thread's directory (transcript c)", () => {
    const out = play(eventsOf("c-apply-patch-approval.jsonl"), new Renderer({ cwd: "<tmp>/ws" }))
    assert.deepStrictEqual(out.notes, ["+ hello.txt"])
    assert.include(out.labels, "editing 1 file(s)")
  })

  it("two messages are set off by a blank line, each on lines of its own", () => {
    const out = play([
      delta("m1", "I will look."),
      completed(message("m1", "I will look.", "commentary")),
      completed(command("ls", { exitCode: 0, durationMs: 12 })),
      delta("m2", "Done"),
      delta("m2", "."),
      completed(message("m2", "Done.", "final_answer")),
      turnCompleted
    ])
    assert.strictEqual(out.stdout, "I will look.\n\nDone.\n")
    assert.deepStrictEqual(out.notes, ["$ ls · exit 0 · 12 ms"])
  })

  it("a message that arrives whole (no deltas) is printed whole", () => {
    assert.strictEqual(play([completed(message("m1", "All at once")), turnCompleted]).stdout, "All at once\n")
  })

  it("a line on stderr while an answer line is open ends that line first", () => {
    const renderer = new Renderer()
    assert.deepStrictEqual(renderer.feed(delta("m1", "partial")), [{ _tag: "Answer", text: "partial" }])
    assert.deepStrictEqual(
      renderer.feed({ _tag: "Error", ...base, error: { message: "Reconnecting... 1/2" }, willRetry: true } as TurnEvent.TurnEvent),
      [{ _tag: "Answer", text: "\n" }, { _tag: "Note", line: "! Reconnecting... 1/2 (codex retries)" }]
    )
  })

  it("an interrupted turn still ends the open answer line", () => {
    const out = play([delta("m1", "half an ans"), { ...turnCompleted, turn: { ...turnCompleted.turn, status: "interrupted" } } as TurnEvent.TurnEvent])
    assert.strictEqual(out.stdout, "half an ans\n")
  })

  it("with --output-schema the answer is not printed as it streams (it is printed decoded)", () => {
    const out = play([delta("m1", "{\"a\":"), delta("m1", "1}"), completed(message("m1", "{\"a\":1}")), turnCompleted], new Renderer({ answer: false }))
    assert.strictEqual(out.stdout, "")
  })

  it("remembers the items codex started (an approval prompt lists a file change's files)", () => {
    const renderer = new Renderer()
    const change = fileChange([{ path: "/repo/a.ts", kind: { type: "update", move_path: null }, diff: "" }], "inProgress")
    renderer.feed(started(change))
    assert.deepStrictEqual(renderer.item("f1"), change)
    renderer.feed(completed({ ...change, status: "completed" }))
    assert.isUndefined(renderer.item("f1"))
  })
})

describe("Cli format", () => {
  it("count and duration", () => {
    assert.strictEqual(Format.count(1234567), "1,234,567")
    assert.strictEqual(Format.count(12), "12")
    assert.strictEqual(Format.duration(12.4), "12 ms")
    assert.strictEqual(Format.duration(3240), "3.2 s")
    assert.strictEqual(Format.duration(125_000), "2 min 5 s")
    assert.strictEqual(Format.duration(3_780_000), "1 h 3 min")
    assert.strictEqual(Format.duration(-1), "?")
  })

  it("parseDuration reads --timeout values and refuses the rest", () => {
    const ms = (text: string) => {
      const parsed = Format.parseDuration(text)
      return parsed === undefined ? undefined : Duration.toMillis(parsed)
    }
    assert.strictEqual(ms("90"), 90_000)
    assert.strictEqual(ms("500ms"), 500)
    assert.strictEqual(ms("30s"), 30_000)
    assert.strictEqual(ms("1.5 m"), 90_000)
    assert.strictEqual(ms("5min"), 300_000)
    assert.strictEqual(ms("1h"), 3_600_000)
    assert.strictEqual(ms("2 seconds"), 2000)
    assert.isUndefined(ms("0"))
    assert.isUndefined(ms("-5s"))
    assert.isUndefined(ms("soon"))
    assert.isUndefined(ms("Infinity"))
  })

  it("usageLine: the turn's tokens (cached and reasoning when there are any) and its duration", () => {
    const usage: Protocol.ThreadTokenUsage = { last: breakdown(1000, 200, 234, 50), total: breakdown(5000, 200, 900, 50) }
    assert.strictEqual(Format.usageLine(usage, 3200), "1,234 tokens (1,000 in, 200 cached, 234 out, 50 reasoning) · 3.2 s")
    assert.strictEqual(
      Format.usageLine({ last: breakdown(10, 0, 5, 0), total: breakdown(10, 0, 5, 0) }, 80),
      "15 tokens (10 in, 5 out) · 80 ms"
    )
    assert.strictEqual(Format.usageLine(undefined, 1000), "no token usage reported · 1.0 s")
  })

  it("commandLine for each status", () => {
    assert.strictEqual(Format.commandLine(command("/bin/bash -lc 'npm test'", { exitCode: 1, durationMs: 2500 })), "$ npm test · exit 1 · 2.5 s")
    assert.strictEqual(Format.commandLine(command("rm -rf /", { status: "declined" })), "$ rm -rf / · declined")
    assert.strictEqual(Format.commandLine(command("boom", { status: "failed" })), "$ boom · failed")
    assert.strictEqual(Format.commandLine(command("sleep 9", { status: "inProgress" })), "$ sleep 9 · still running")
    assert.strictEqual(Format.commandLine(command("echo 'a\nb'", { exitCode: 0 })), "$ echo 'a b' · exit 0")
  })

  it("fileChangeLines: a mark per kind, moves, status, paths relative to the cwd", () => {
    const lines = Format.fileChangeLines(fileChange([
      { path: "/repo/new.md", kind: { type: "add" }, diff: "" },
      { path: "/repo/src/a.ts", kind: { type: "update", move_path: null }, diff: "" },
      { path: "/repo/old.txt", kind: { type: "delete" }, diff: "" },
      { path: "/repo/x.ts", kind: { type: "update", move_path: "/repo/y.ts" }, diff: "" },
      { path: "/elsewhere/z", kind: { type: "add" }, diff: "" }
    ]), "/repo")
    assert.deepStrictEqual(lines, ["+ new.md", "~ src/a.ts", "- old.txt", "~ x.ts → y.ts", "+ /elsewhere/z"])
    assert.deepStrictEqual(
      Format.fileChangeLines(fileChange([{ path: "/repo/a", kind: { type: "add" }, diff: "" }], "declined")),
      ["+ /repo/a · declined"]
    )
    assert.strictEqual(Format.displayPath("/repository/a", "/repo"), "/repository/a")
  })

  it("relativeTime", () => {
    const now = Date.UTC(2026, 11, 1, 12, 0, 0)
    const ago = (seconds: number) => Format.relativeTime(now / 1000 - seconds, now)
    assert.strictEqual(ago(5), "just now")
    assert.strictEqual(ago(-30), "just now")
    assert.strictEqual(ago(5 * 60), "5 min ago")
    assert.strictEqual(ago(3 * 3600), "3 h ago")
    assert.strictEqual(ago(86_400), "1 day ago")
    assert.strictEqual(ago(3 * 86_400), "3 days ago")
    assert.strictEqual(ago(30 * 86_400), "2026-11-01")
  })

  const thread = (fields: Partial<Protocol.Thread>): Protocol.Thread => ({
    id: "019a-1",
    cliVersion: "0.171.0",
    createdAt: 1_796_000_000,
    updatedAt: 1_796_000_000,
    cwd: "/repo",
    ephemeral: false,
    modelProvider: "openai",
    preview: "",
    projectId: null,
    sessionId: "s",
    source: "appServer",
    status: { type: "notLoaded" },
    turns: [],
    ...fields
  } as Protocol.Thread)

  it("threadTable: the name, else the first line of the first prompt", () => {
    const now = 1_796_000_000_000 + 120_000
    assert.deepStrictEqual(
      Format.threadTable([
        thread({ id: "019a-1", name: "Fix the build", preview: "ignored" }),
        thread({ id: "019a-22", preview: "\nWhy does\nthe test fail?", updatedAt: 1_796_000_000 - 7200 }),
        thread({ id: "019a-3" })
      ], now),
      [
        "ID       UPDATED    NAME / FIRST PROMPT",
        "019a-1   2 min ago  Fix the build",
        "019a-22  2 h ago    Why does",
        "019a-3   2 min ago  (empty)"
      ]
    )
    assert.deepStrictEqual(Format.threadTable([], now), ["(no threads)"])
  })

  it("modelTable: the default model and effort marked", () => {
    const model = {
      id: "gpt-5.4",
      model: "gpt-5.4",
      displayName: "GPT-5.4",
      description: "Frontier model",
      hidden: false,
      isDefault: true,
      defaultReasoningEffort: "medium",
      supportedReasoningEfforts: [
        { reasoningEffort: "low", description: "" },
        { reasoningEffort: "medium", description: "" }
      ]
    } as Protocol.Model
    assert.deepStrictEqual(Format.modelTable([model, { ...model, model: "mini", isDefault: false, displayName: "mini" }]), [
      "  MODEL    EFFORTS      DESCRIPTION",
      "* gpt-5.4  low,medium*  GPT-5.4: Frontier model",
      "  mini     low,medium*  Frontier model"
    ])
  })

  it("transcript: header, then each turn's prompt, commands, file changes and answer", () => {
    const now = 1_796_000_000_000
    const lines = Format.transcript(thread({
      name: "Notes",
      model: "gpt-5.4",
      turns: [
        {
          id: "u1",
          status: "completed",
          items: [
            { type: "userMessage", id: "i1", content: [{ type: "text", text: "fix it" }] },
            { type: "reasoning", id: "r1", summary: ["thinking"] },
            command("git status", { exitCode: 0 }),
            fileChange([{ path: "/repo/NOTES.md", kind: { type: "add" }, diff: "" }]),
            message("m1", "Fixed.\nSee NOTES.md.")
          ]
        },
        {
          id: "u2",
          status: "failed",
          error: { message: "rate limited" },
          items: [{ type: "userMessage", id: "i2", content: [{ type: "text", text: "again" }] }]
        }
      ] as ReadonlyArray<Protocol.Turn>
    }), now)
    assert.deepStrictEqual(lines, [
      "Notes",
      "id 019a-1 · /repo · gpt-5.4",
      "created just now · updated just now · 2 turn(s)",
      "",
      "> fix it",
      "$ git status · exit 0",
      "+ NOTES.md",
      "Fixed.",
      "See NOTES.md.",
      "",
      "> again",
      "! failed: rate limited"
    ])
  })

  it("approval questions show the command, its directory and codex's reason; a file change its files", () => {
    assert.deepStrictEqual(
      Format.commandApproval({
        threadId: "t",
        turnId: "u",
        itemId: "c1",
        command: "/bin/bash -lc 'touch marker.txt'",
        cwd: "/repo",
        reason: "to create the marker",
        startedAtMs: 0
      } as Protocol.CommandExecutionRequestApprovalParams),
      { question: "Run this command?", details: ["  $ touch marker.txt", "    in /repo", "    reason: to create the marker"] }
    )
    const change = fileChange([{ path: "/repo/a.md", kind: { type: "add" }, diff: "" }], "inProgress")
    assert.deepStrictEqual(
      Format.fileChangeApproval({ threadId: "t", turnId: "u", itemId: "f1", startedAtMs: 0, grantRoot: "/repo" }, change, "/repo"),
      { question: "Apply these changes?", details: ["  + a.md", "    write access to /repo"] }
    )
    assert.deepStrictEqual(
      Format.fileChangeApproval({ threadId: "t", turnId: "u", itemId: "f1", startedAtMs: 0 }, undefined),
      { question: "Apply these changes?", details: [] }
    )
  })

  it("the approval policy: --approve wins; else ask on a terminal, decline elsewhere", () => {
    assert.strictEqual(policyOf(Option.none(), true), "ask")
    assert.strictEqual(policyOf(Option.none(), false), "decline")
    assert.strictEqual(policyOf(Option.some("all"), false), "all")
    assert.strictEqual(policyOf(Option.some("decline"), true), "decline")
  })
})
