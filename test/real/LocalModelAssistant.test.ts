import { assert, describe, it } from "@effect/vitest"
import { NodeServices } from "@effect/platform-node"
import { Effect, Layer, Schema, Stream } from "effect"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import * as LocalModel from "../../src/layers/testing/LocalModel.ts"
import * as Approvals from "../../src/services/Approvals.ts"
import * as Codex from "../../src/services/Codex.ts"
import type * as Thread from "../../src/services/Thread.ts"
import type * as TurnEvent from "../../src/streams/TurnEvent.ts"
import * as Real from "../support/Real.ts"

const HINT = "I am the LocalModel's built-in responder, a deterministic stand-in for a model: " +
  "a prompt with \"run\" or \"command\" makes me run a shell command, one with \"fix\", \"edit\" or \"change\" makes me edit a file."

/** Real codex + a LocalModel with `script`, then the responder; shell snapshots off. */
const withAssistant = (
  options: {
    readonly script?: ReadonlyArray<LocalModel.Step>
    readonly model?: LocalModel.Options
    readonly approvals?: Real.Options["approvals"]
    readonly assistant?: LocalModel.AssistantOptions
  } = {}
) =>
  Real.layer(options.script ?? [], {
    ...Real.fast,
    ...(options.approvals === undefined ? {} : { approvals: options.approvals }),
    model: { ...Real.fast.model, ...options.model, fallback: LocalModel.assistant(options.assistant) }
  })

/** A scratch directory inside the LocalModel's CODEX_HOME (removed with it). */
const workspace = LocalModel.LocalModel.use((model) =>
  Effect.sync(() => {
    const dir = NodePath.join(model.codexHome, "ws")
    NodeFs.mkdirSync(dir, { recursive: true })
    return dir
  })
)

/** Runs a turn and keeps its events. */
const runTurn = (thread: Thread.Thread, prompt: string) =>
  Effect.scoped(Effect.gen(function*() {
    const turn = yield* thread.turn(prompt)
    const events = Array.from(yield* Stream.runCollect(turn.events))
    const result = yield* turn.result
    const deltas = events.flatMap((e) => (e._tag === "AgentMessageDelta" ? [e.delta] : []))
    const reasoning = events.flatMap((e) => (e._tag === "ReasoningDelta" ? [e.delta] : []))
    return { events, result, deltas, reasoning }
  }))

const ofTag = <T extends TurnEvent.TurnEvent["_tag"]>(events: ReadonlyArray<TurnEvent.TurnEvent>, tag: T) =>
  events.filter((e): e is Extract<TurnEvent.TurnEvent, { _tag: T }> => e._tag === tag)

const itemOfType = (items: ReadonlyArray<{ readonly type: string }>, type: string) =>
  items.find((item) => item.type === type) as Record<string, any> | undefined

const PROMPTS = [
  "What is effect-codex?",
  "Explain layers in one line",
  "How do I resume a thread?",
  "What does a Scope do?",
  "Name three Stream operators",
  "Why Schema instead of zod?",
  "Is this deterministic?",
  "What is the capital of France?",
  "Tell me a joke about TypeScript",
  "Thanks, that is all"
]

describe("LocalModel.assistant (real codex binary)", () => {
  it.live("answers 10 prompts in a row on one thread: text from the prompt and the thread, streamed as word deltas", () =>
    Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      for (const [i, prompt] of PROMPTS.entries()) {
        const { deltas, reasoning, result } = yield* runTurn(thread, prompt)
        const rest = i === 0 ? ` ${HINT}` : ` Before that you said: “${PROMPTS[i - 1]}”.`
        assert.strictEqual(result.status, "completed", prompt)
        assert.strictEqual(result.finalResponse, `You said: “${prompt}” (message ${i + 1} of this thread).${rest}`)
        assert.isAbove(deltas.length, 5, prompt)
        assert.strictEqual(deltas.join(""), result.finalResponse)
        assert.strictEqual(reasoning.join(""), `Answering “${prompt}”.`)
        assert.isAbove(result.usage?.last.inputTokens ?? 0, 0)
      }
      const requests = yield* LocalModel.requests
      assert.strictEqual(requests.length, PROMPTS.length)
      assert.isTrue(requests.every((r) => r.unscripted))
    }).pipe(Effect.provide(withAssistant())))

  it.live("answers 10 prompts on 10 new threads; the same prompt on a fresh thread gets the same answer", () =>
    Effect.gen(function*() {
      for (const prompt of PROMPTS) {
        const first = yield* runTurn(yield* Codex.startThread(), prompt)
        const again = yield* runTurn(yield* Codex.startThread(), prompt)
        assert.strictEqual(first.result.finalResponse, `You said: “${prompt}” (message 1 of this thread). ${HINT}`)
        assert.deepStrictEqual(again.deltas, first.deltas)
        assert.deepStrictEqual(again.reasoning, first.reasoning)
      }
      assert.strictEqual((yield* LocalModel.requests).length, 2 * PROMPTS.length)
    }).pipe(Effect.provide(withAssistant())))

  it.live("a \"run\" prompt asks to run a command outside the sandbox; accepted, its output is in the final answer", () =>
    Effect.gen(function*() {
      const cwd = yield* workspace
      NodeFs.writeFileSync(NodePath.join(cwd, "visible-to-ls.txt"), "")
      const thread = yield* Codex.startThread({ cwd })
      const { events, result, deltas } = yield* runTurn(thread, "Please run a command to list the files")

      const [approval] = ofTag(events, "ApprovalRequested")
      assert.strictEqual(approval?.method, "item/commandExecution/requestApproval")
      assert.strictEqual((approval?.params as { reason?: string }).reason, "Run `ls` for \"Please run a command to list the files\"?")
      const command = itemOfType(result.items, "commandExecution")
      assert.strictEqual(command?.status, "completed")
      assert.strictEqual(command?.exitCode, 0)
      assert.include(command?.aggregatedOutput, "visible-to-ls.txt")
      assert.match(
        result.finalResponse ?? "",
        /^You said: “Please run a command to list the files” \(message 1 of this thread\)\. I ran `ls` \(exit code 0\)\. Its output:\n\n```\n[^`]*visible-to-ls\.txt[^`]*```$/
      )
      assert.strictEqual(deltas.join(""), result.finalResponse)
      const requests = yield* LocalModel.requests
      assert.strictEqual(requests.length, 2)
      assert.strictEqual(LocalModel.toolOutputs(requests[1]!)[0]?.type, "function_call_output")
    }).pipe(Effect.provide(withAssistant({
      model: { approvalPolicy: "on-request" },
      approvals: Approvals.layer({ commandExecution: () => Effect.succeed("accept") })
    }))))

  it.live("a declined command: the final answer says it did not run", () =>
    Effect.gen(function*() {
      const thread = yield* Codex.startThread({ cwd: yield* workspace })
      const { result } = yield* runTurn(thread, "Run `touch nope.txt`")
      assert.strictEqual(itemOfType(result.items, "commandExecution")?.status, "declined")
      assert.include(result.finalResponse, "I asked to run `touch nope.txt`, but that was declined, so it did not run.")
    }).pipe(Effect.provide(withAssistant({ model: { approvalPolicy: "on-request" } })))) // no Approvals layer: declined

  it.live("approval policy never refuses the escalation: the responder runs the command inside the sandbox", () =>
    Effect.gen(function*() {
      const thread = yield* Codex.startThread({ cwd: yield* workspace })
      const { events, result } = yield* runTurn(thread, "run `echo sandboxed-hello`")
      assert.lengthOf(ofTag(events, "ApprovalRequested"), 0)
      // The sandboxed login shell may print warnings of this machine's profile before the output.
      assert.match(
        result.finalResponse ?? "",
        /codex refused to run it outside the sandbox \(approval policy `never`\), so I ran it inside the sandbox\. I ran `echo sandboxed-hello` \(exit code 0\)\. Its output:\n\n```\n(.*\n)*sandboxed-hello\n```$/
      )
      const requests = yield* LocalModel.requests
      assert.strictEqual(requests.length, 3) // escalated (refused), sandboxed, final answer
      assert.match(LocalModel.toolOutputs(requests[1]!)[0]!.output, /cannot ask for escalated permissions/)
    }).pipe(Effect.provide(withAssistant())))

  it.live("a \"fix\" prompt writes a file (approval, diff); the next one on the thread appends to it; run + change does both", () =>
    Effect.gen(function*() {
      const cwd = yield* workspace
      const notes = NodePath.join(cwd, "LOCALMODEL_NOTES.md")
      const thread = yield* Codex.startThread({ cwd })

      const first = yield* runTurn(thread, "Fix the typo in the README")
      assert.deepStrictEqual(ofTag(first.events, "ApprovalRequested").map((a) => a.method), ["item/fileChange/requestApproval"])
      const change = itemOfType(first.result.items, "fileChange")
      assert.strictEqual(change?.status, "completed")
      assert.deepStrictEqual(change?.changes.map((c: { kind: { type: string } }) => c.kind.type), ["add"])
      const [diff] = ofTag(first.events, "DiffUpdated")
      assert.include(diff?.diff, "+++ b/LOCALMODEL_NOTES.md")
      assert.include(diff?.diff, "+- Fix the typo in the README")
      assert.strictEqual(NodeFs.readFileSync(notes, "utf8"), "# Changes requested from the LocalModel\n\n- Fix the typo in the README\n")
      assert.strictEqual(
        first.result.finalResponse,
        "You said: “Fix the typo in the README” (message 1 of this thread). I wrote `LOCALMODEL_NOTES.md` (the change is in the turn's diff)."
      )

      const second = yield* runTurn(thread, "Run `cat LOCALMODEL_NOTES.md`, then change it again")
      assert.deepStrictEqual(ofTag(second.events, "ApprovalRequested").map((a) => a.method), [
        "item/commandExecution/requestApproval",
        "item/fileChange/requestApproval"
      ])
      assert.deepStrictEqual(
        itemOfType(second.result.items, "fileChange")?.changes.map((c: { kind: { type: string } }) => c.kind.type),
        ["update"]
      )
      assert.include(ofTag(second.events, "DiffUpdated").at(-1)?.diff, "+- Run `cat LOCALMODEL_NOTES.md`, then change it again")
      assert.strictEqual(
        NodeFs.readFileSync(notes, "utf8"),
        "# Changes requested from the LocalModel\n\n- Fix the typo in the README\n- Run `cat LOCALMODEL_NOTES.md`, then change it again\n"
      )
      // The command ran before the patch: its output is the file as the first turn left it.
      assert.include(second.result.finalResponse, "I ran `cat LOCALMODEL_NOTES.md` (exit code 0). Its output:\n\n```\n# Changes requested")
      assert.include(second.result.finalResponse, "I added a line to `LOCALMODEL_NOTES.md` (the change is in the turn's diff).")
      assert.strictEqual((yield* LocalModel.requests).length, 2 + 3)
    }).pipe(Effect.provide(withAssistant({
      model: { approvalPolicy: "on-request" },
      approvals: Approvals.layer({
        commandExecution: () => Effect.succeed("accept"),
        fileChange: () => Effect.succeed("accept")
      })
    }))))

  it.live("a declined file change writes nothing and the answer says it was rejected", () =>
    Effect.gen(function*() {
      const cwd = yield* workspace
      const thread = yield* Codex.startThread({ cwd })
      const { result } = yield* runTurn(thread, "edit something")
      assert.strictEqual(itemOfType(result.items, "fileChange")?.status, "declined")
      assert.isFalse(NodeFs.existsSync(NodePath.join(cwd, "LOCALMODEL_NOTES.md")))
      assert.match(result.finalResponse ?? "", /I proposed a change to `LOCALMODEL_NOTES\.md`, but it was rejected: /)
    }).pipe(Effect.provide(withAssistant({ model: { approvalPolicy: "on-request" } }))))

  it.live("a turn with an outputSchema gets a JSON value of that schema", () =>
    Effect.gen(function*() {
      const Summary = Schema.Struct({
        language: Schema.String,
        files: Schema.Number,
        verdict: Schema.Literals(["tidy", "messy"]),
        tags: Schema.Array(Schema.String),
        owner: Schema.NullOr(Schema.Struct({ name: Schema.String }))
      })
      const thread = yield* Codex.startThread()
      const result = yield* thread.run("Summarize this repository as JSON.", { outputSchema: Summary })
      assert.deepStrictEqual(result.output, {
        language: "language (LocalModel)",
        files: 0,
        verdict: "tidy",
        tags: ["tags[0] (LocalModel)"],
        owner: { name: "name (LocalModel)" }
      })
      // The next turn, without a schema, is prose again.
      const next = yield* thread.run("And now?")
      assert.include(next.finalResponse, "(message 2 of this thread)")
    }).pipe(Effect.provide(withAssistant())))

  it.live("as a fallback: the script is played first, exactly, then the responder answers", () =>
    Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      assert.strictEqual((yield* thread.run("one")).finalResponse, "scripted one")
      assert.strictEqual((yield* thread.run("two")).finalResponse, "scripted two")
      const third = yield* thread.run("three")
      assert.strictEqual(third.finalResponse, "You said: “three” (message 3 of this thread). Before that you said: “two”.")
      // A pushed step goes before the fallback.
      yield* LocalModel.push(LocalModel.text("pushed"))
      assert.strictEqual((yield* thread.run("four")).finalResponse, "pushed")
      assert.include((yield* thread.run("five")).finalResponse, "(message 5 of this thread)")
      assert.deepStrictEqual((yield* LocalModel.requests).map((r) => r.unscripted), [false, false, true, false, true])
    }).pipe(Effect.provide(withAssistant({
      script: [LocalModel.text("scripted one"), LocalModel.text("scripted two")]
    }))))

  it.live("a script without a fallback stays exact: request #2 fails as before", () =>
    Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      assert.strictEqual((yield* thread.run("one")).finalResponse, "a")
      assert.strictEqual((yield* thread.run("two")).finalResponse, "b")
      const error = yield* Effect.flip(thread.run("three"))
      assert.strictEqual(error.reason._tag, "TurnFailed")
      assert.include(error.message, "LocalModel: no scripted response for request #2")
      assert.isTrue((yield* LocalModel.requests)[2]!.unscripted)
    }).pipe(Effect.provide(Real.layer([LocalModel.text("a"), LocalModel.text("b")], Real.fast))))

  it.live("layerAssistant: a model made of the responder alone, with its options", () =>
    Effect.gen(function*() {
      const cwd = yield* workspace
      const thread = yield* Codex.startThread({ cwd })
      const started = Date.now()
      const { reasoning, result } = yield* runTurn(thread, "run it")
      assert.deepStrictEqual(reasoning, [])
      assert.match(result.finalResponse ?? "", /I ran `echo custom-command` \(exit code 0\)\. Its output:\n\n```\n(.*\n)*custom-command\n```$/)
      // Two responses: 3 frames (created, call, completed), then at least 5; 10 ms before each frame.
      assert.isAtLeast(Date.now() - started, 80)
      const config = NodeFs.readFileSync(NodePath.join((yield* LocalModel.LocalModel).codexHome, "config.toml"), "utf8")
      assert.include(config, `approval_policy = "on-request"`)
    }).pipe(Effect.provide(
      Codex.layer.pipe(
        Layer.provide(Approvals.layer({ commandExecution: () => Effect.succeed("accept") })),
        Layer.provideMerge(Real.appServer()),
        Layer.provideMerge(LocalModel.layerAssistant({
          ...Real.fast.model,
          approvalPolicy: "on-request",
          command: "echo custom-command",
          reasoning: false,
          chunkDelay: "10 millis"
        })),
        Layer.provide(NodeServices.layer)
      )
    )))
})

describe("LocalModel.assistant (the step alone)", () => {
  const request = (input: ReadonlyArray<LocalModel.InputItem>, extra: Partial<LocalModel.RequestBody> = {}): LocalModel.RecordedRequest => {
    const body = { input, tools: [{ type: "function", name: "exec_command" }, { type: "custom", name: "apply_patch" }], ...extra }
    return { index: 0, method: "POST", path: "/v1/responses", headers: {}, body, rawBody: JSON.stringify(body), unscripted: true }
  }
  const user = (text: string): LocalModel.InputItem => ({ type: "message", role: "user", content: [{ type: "input_text", text }] })
  const render = (step: LocalModel.Step, r: LocalModel.RecordedRequest) => {
    let n = 0
    const ctx: LocalModel.RenderContext = { id: (prefix) => `${prefix}_${++n}` }
    let current = step
    while (typeof current === "function") current = current(r)
    assert.strictEqual(current._tag, "SseStep")
    const sse = current as LocalModel.SseStep
    return { frames: sse.items.flatMap((item) => item(ctx)), usage: sse.usage, chunkDelay: sse.chunkDelay }
  }

  it("same request, same answer; codex's own context messages are not the prompt", () => {
    const step = LocalModel.assistant()
    const r = request([
      user("<environment_context>\n  <cwd>/tmp</cwd>\n</environment_context>"),
      user("Hello there"),
      user("# AGENTS.md instructions for /tmp\n\n<INSTRUCTIONS>be nice</INSTRUCTIONS>")
    ])
    const once = render(step, r)
    assert.deepStrictEqual(render(step, r), once)
    assert.deepStrictEqual(render(LocalModel.assistant(), r), once)
    const types = once.frames.map((f) => (typeof f === "string" ? f : f.type))
    assert.deepStrictEqual(types.slice(-3), ["response.output_text.delta", "response.output_text.delta", "response.output_item.done"])
    assert.strictEqual(types.filter((t) => t === "response.output_item.added").length, 2) // reasoning, message
    const done = once.frames.at(-1) as unknown as { item: { content: Array<{ text: string }> } }
    assert.strictEqual(done.item.content[0]!.text, `You said: “Hello there” (message 1 of this thread). ${HINT}`)
    assert.isAbove(once.usage!.input, 0)
    assert.isAbove(once.usage!.reasoning!, 0)
  })

  it("a prompt with both kinds of words runs the command first, and no tools offered means no calls", () => {
    const step = LocalModel.assistant({ command: "git status", reasoning: false, chunkDelay: "5 millis" })
    const first = render(step, request([user("Run the checks and fix what fails")]))
    assert.strictEqual(first.chunkDelay, 5)
    const [call] = first.frames as unknown as Array<{ item: { type: string; name: string; arguments: string } }>
    assert.strictEqual(call!.item.type, "function_call")
    assert.deepStrictEqual(JSON.parse(call!.item.arguments), {
      cmd: "git status",
      sandbox_permissions: "require_escalated",
      justification: "Run `git status` for \"Run the checks and fix what fails\"?"
    })
    const noTools = render(step, request([user("Run the checks and fix what fails")], { tools: [] }))
    const done = noTools.frames.at(-1) as unknown as { item: { type: string } }
    assert.strictEqual(done.item.type, "message")
  })
})
