/**
 * The rest of the server on the real binary + LocalModel: usage and rate limits, configuration, skills
 * (and what `Input.skill` / `Input.mention` do to the model request), MCP servers (a local stdio server,
 * test/support/mcp-echo-server.mjs), fuzzy file search, goals, and image inputs. `feedback/upload` goes
 * to the internet, so it is covered in memory only (test/memory/ServerOps.test.ts).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Stream } from "effect"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { NodeServices } from "@effect/platform-node"
import * as LocalModel from "../../src/layers/testing/LocalModel.ts"
import * as Input from "../../src/schema/Input.ts"
import * as Codex from "../../src/services/Codex.ts"
import { exitReason, itemOf } from "../support/Errors.ts"
import { tempDir } from "../support/Home.ts"
import * as Real from "../support/Real.ts"

/** An 8x8 red PNG. */
const RED_PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAAEklEQVR4nGP4z8CAFWEXHbQSACj/P8Fu7N9hAAAAAElFTkSuQmCC",
  "base64"
)

const writeSkill = (dir: string, name: string) => {
  NodeFs.mkdirSync(dir, { recursive: true })
  const path = NodePath.join(dir, "SKILL.md")
  NodeFs.writeFileSync(path, `---\nname: ${name}\ndescription: Greets people (${name}).\n---\n\nSKILL-BODY-${name}\n`)
  return path
}

/** The user input parts of the last user message the model received. */
const lastUserParts = (request: LocalModel.RecordedRequest) => {
  const message = request.body.input?.findLast((item) => item.type === "message" && item.role === "user")
  return (message?.content ?? []) as ReadonlyArray<{ readonly type: string; readonly image_url?: string }>
}

const mcpConfig = {
  mcp_servers: {
    echo: { command: process.execPath, args: [NodePath.resolve(import.meta.dirname, "../support/mcp-echo-server.mjs")] }
  }
}

describe("Usage and limits (real binary + LocalModel)", () => {
  it.live("rateLimitUpdates: codex sends a snapshot after each model response, even with no account", () =>
    Effect.gen(function*() {
      const updates = yield* Effect.forkChild(Stream.runCollect(Codex.rateLimitUpdates.pipe(Stream.take(1))), {
        startImmediately: true
      })
      const thread = yield* Codex.startThread()
      yield* thread.run("hello")
      const [snapshot] = Array.from(yield* Fiber.join(updates))
      assert.strictEqual(snapshot?.limitId, "codex")
      assert.isNull(snapshot?.primary, "no account: no window")
    }).pipe(Effect.provide(Real.layer([LocalModel.text("Hi.")], Real.fast))))

  it.live("rateLimits and usage need a ChatGPT sign-in: without one, codex's RpcError says so", () =>
    Effect.gen(function*() {
      const limits = exitReason(yield* Effect.exit(Codex.rateLimits()))
      assert.strictEqual(limits?._tag, "RpcError")
      if (limits?._tag === "RpcError") assert.include(limits.message, "authentication required to read rate limits")
      const usage = exitReason(yield* Effect.exit(Codex.usage()))
      assert.strictEqual(usage?._tag, "RpcError")
      if (usage?._tag === "RpcError") assert.include(usage.message, "authentication required to read token usage")
    }).pipe(Effect.provide(Real.layer([], Real.fast))))
})

describe("Configuration and environment (real binary + LocalModel)", () => {
  it.live("readConfig; writeConfig and writeConfigBatch write config.toml, which readConfig then reads", () =>
    Effect.gen(function*() {
      const before = yield* Codex.readConfig()
      assert.strictEqual(before.config.model, "mock-model")
      assert.isNull(before.config.model_reasoning_effort)
      const written = yield* Codex.writeConfig("model_reasoning_effort", "low")
      assert.strictEqual(written.status, "ok")
      const { codexHome } = yield* LocalModel.LocalModel
      assert.strictEqual(written.filePath, NodePath.join(codexHome, "config.toml"))
      const batch = yield* Codex.writeConfigBatch([
        { keyPath: "model_verbosity", value: "high" },
        { keyPath: "shell_environment_policy.inherit", value: "core" }
      ], { expectedVersion: written.version })
      assert.strictEqual(batch.status, "ok")
      assert.notStrictEqual(batch.version, written.version)
      const after = yield* Codex.readConfig({ includeLayers: true })
      assert.strictEqual(after.config.model_reasoning_effort, "low")
      assert.strictEqual(after.config.model_verbosity, "high")
      assert.deepInclude(after.config.shell_environment_policy, { inherit: "core" })
      assert.isAbove(after.layers?.length ?? 0, 0)
      const toml = NodeFs.readFileSync(written.filePath, "utf8")
      assert.match(toml, /model_reasoning_effort = "low"/)
      // a stale version is refused, naming why in its data
      const stale = exitReason(yield* Effect.exit(Codex.writeConfig("model_verbosity", "low", { expectedVersion: written.version })))
      assert.strictEqual(stale?._tag, "RpcError")
    }).pipe(Effect.provide(Real.layer([], Real.fast))))

  it.live("skills: the working directory's .codex/skills and .agents/skills, and codex's system skills", () =>
    Effect.gen(function*() {
      const cwd = yield* tempDir("effect-codex-skills-")
      writeSkill(NodePath.join(cwd, ".codex/skills/greeter"), "greeter")
      writeSkill(NodePath.join(cwd, ".agents/skills/agent-greeter"), "agent-greeter")
      const { data } = yield* Codex.skills({ cwds: [cwd], forceReload: true })
      assert.strictEqual(data.length, 1)
      assert.strictEqual(data[0]!.cwd, cwd)
      const byName = new Map(data[0]!.skills.map((skill) => [skill.name, skill]))
      assert.strictEqual(byName.get("greeter")?.scope, "repo")
      assert.strictEqual(byName.get("greeter")?.path, NodePath.join(cwd, ".codex/skills/greeter/SKILL.md"))
      assert.strictEqual(byName.get("agent-greeter")?.scope, "repo")
      assert.isTrue([...byName.values()].some((skill) => skill.scope === "system"))
    }).pipe(Effect.provide(Real.layer([], Real.fast))))

  it.live("Input.skillFrom adds the SKILL.md to the model request; a skill outside the roots and a mention add nothing", () =>
    Effect.gen(function*() {
      const cwd = yield* tempDir("effect-codex-skills-")
      writeSkill(NodePath.join(cwd, ".codex/skills/greeter"), "greeter")
      const outside = writeSkill(NodePath.join(cwd, "elsewhere/outsider"), "outsider")
      const notes = NodePath.join(cwd, "notes.txt")
      NodeFs.writeFileSync(notes, "MENTIONED-FILE-CONTENT\n")
      const thread = yield* Codex.startThread({ cwd })
      const { data } = yield* Codex.skills({ cwds: [cwd] })
      const greeter = data[0]!.skills.find((skill) => skill.name === "greeter")!
      const result = yield* thread.run([
        "Greet me",
        Input.skillFrom(greeter),
        Input.skill("outsider", outside),
        Input.mention("notes", notes)
      ])
      const request = yield* LocalModel.awaitRequest(0)
      const messages = LocalModel.messages(request)
      assert.isTrue(messages.some((m) => m.includes("<name>greeter</name>") && m.includes("SKILL-BODY-greeter")))
      assert.isFalse(request.rawBody.includes("SKILL-BODY-outsider"), "the skill outside codex's roots is dropped")
      assert.isFalse(request.rawBody.includes("notes.txt"), "the mention's path does not reach the model")
      assert.isFalse(request.rawBody.includes("MENTIONED-FILE-CONTENT"), "nor the mentioned file")
      // the thread's history keeps all four parts of the message
      const user = itemOf(result.items, "userMessage")
      assert.deepStrictEqual(user?.content.map((part) => part.type), ["text", "skill", "skill", "mention"])
    }).pipe(Effect.provide(Real.layer([LocalModel.text("Hello!")], Real.fast))))

  it.live("MCP servers: the configured server's tools and resources; callMcpTool and readMcpResource reach it", () =>
    Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      const servers = Array.from(yield* Stream.runCollect(Codex.mcpServers()))
      const echo = servers.find((server) => server.name === "echo")
      assert.isDefined(echo, JSON.stringify(servers))
      assert.deepStrictEqual(Object.keys(echo!.tools ?? {}), ["echo"])
      assert.deepStrictEqual(echo!.resources?.map((resource) => resource.uri), ["memo://greeting"])
      const page = yield* Codex.listMcpServers({ limit: 1 })
      assert.strictEqual(page.data.length, 1)

      const called = yield* Codex.callMcpTool({ threadId: thread.id, server: "echo", tool: "echo", arguments: { text: "hi" } })
      assert.deepStrictEqual(called.content, [{ type: "text", text: "echo: hi" }])
      assert.deepStrictEqual(called.structuredContent, { echoed: "hi" })
      const read = yield* Codex.readMcpResource({ threadId: thread.id, server: "echo", uri: "memo://greeting" })
      assert.deepStrictEqual(read.contents.map((content) => (content as { readonly text?: string }).text), ["hello from memo"])

      const unknown = exitReason(yield* Effect.exit(Codex.callMcpTool({ threadId: thread.id, server: "nope", tool: "x" })))
      assert.strictEqual(unknown?._tag, "RpcError")
      if (unknown?._tag === "RpcError") assert.include(unknown.message, "unknown MCP server 'nope'")
    }).pipe(Effect.provide(Real.layer([], { ...Real.fast, appServer: { config: mcpConfig } }))))

  it.live("fuzzyFileSearch: the paths under the roots that match, best first", () =>
    Effect.gen(function*() {
      const root = yield* tempDir("effect-codex-search-")
      NodeFs.mkdirSync(NodePath.join(root, "src"))
      for (const file of ["src/parser.ts", "src/printer.ts", "README.md"]) NodeFs.writeFileSync(NodePath.join(root, file), "")
      const { files } = yield* Codex.fuzzyFileSearch({ query: "parser", roots: [root] })
      assert.strictEqual(files[0]?.path, "src/parser.ts")
      assert.strictEqual(files[0]?.root, root)
      assert.notInclude(files.map((file) => file.path), "README.md")
    }).pipe(Effect.provide(Real.layer([], Real.fast))))
})

describe("Goals (real binary + LocalModel)", () => {
  it.live("a paused goal is only stored: set, get, clear, no turn", () =>
    Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      assert.isNull((yield* thread.goal).goal ?? null)
      const set = yield* thread.setGoal({ objective: "Ship the parser", status: "paused", tokenBudget: 5000 })
      assert.strictEqual(set.goal.objective, "Ship the parser")
      assert.strictEqual(set.goal.status, "paused")
      assert.strictEqual(set.goal.tokenBudget, 5000)
      assert.deepStrictEqual((yield* thread.goal).goal, set.goal)
      assert.isTrue((yield* thread.clearGoal()).cleared)
      assert.isFalse((yield* thread.clearGoal()).cleared)
      assert.isNull((yield* thread.goal).goal ?? null)
      yield* Effect.sleep("300 millis")
      assert.deepStrictEqual(yield* LocalModel.requests, [])
    }).pipe(Effect.provide(Real.layer([], Real.fast))))

  it.live("an active goal: codex runs turns by itself until the model marks it complete", () =>
    Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      yield* thread.setGoal({ objective: "Write a haiku" })
      const request = yield* LocalModel.awaitRequest(0)
      assert.include(LocalModel.messages(request).at(-1), `<codex_internal_context source="goal">`)
      assert.includeMembers([...LocalModel.toolNames(request)], ["get_goal", "update_goal"])
      let status: string | undefined
      for (let i = 0; i < 100 && status !== "complete"; i++) {
        yield* Effect.sleep("50 millis")
        status = (yield* thread.goal).goal?.status
      }
      assert.strictEqual(status, "complete")
      // the turn codex ran is the thread's, with the model's answer (no user message: codex prompted it)
      let turns = Array.from(yield* Stream.runCollect(thread.turns({ itemsView: "full" })))
      for (let i = 0; i < 100 && turns[0]?.status !== "completed"; i++) {
        yield* Effect.sleep("50 millis")
        turns = Array.from(yield* Stream.runCollect(thread.turns({ itemsView: "full" })))
      }
      assert.strictEqual(turns.length, 1)
      const answer = itemOf(turns[0]!.items, "agentMessage")
      assert.strictEqual(answer?.text, "The haiku is written.")
      assert.isUndefined(itemOf(turns[0]!.items, "userMessage"))
    }).pipe(Effect.provide(Real.layer([
      LocalModel.toolCall("update_goal", { status: "complete" }),
      LocalModel.text("The haiku is written.")
    ], Real.fast))))
})

describe("Image inputs (real binary + LocalModel)", () => {
  it.live("Input.imageFile reaches the model as an inline data URL; Input.image of an https URL is refused", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir("effect-codex-image-")
      const file = NodePath.join(dir, "red.png")
      NodeFs.writeFileSync(file, RED_PNG)
      const thread = yield* Codex.startThread()
      const image = yield* Input.imageFile(file)
      yield* thread.run(["What color?", image, Input.imageBytes(RED_PNG, "image/png")])
      const parts = lastUserParts(yield* LocalModel.awaitRequest(0))
      const urls = parts.filter((part) => part.type === "input_image").map((part) => part.image_url)
      assert.deepStrictEqual(urls, [2, 2].map(() => `data:image/png;base64,${RED_PNG.toString("base64")}`))

      const remote = exitReason(yield* Effect.exit(thread.run(["What color?", Input.image("https://example.com/red.png")])))
      assert.strictEqual(remote?._tag, "RpcError")
      if (remote?._tag === "RpcError") {
        assert.strictEqual(remote.message, "remote image URLs are not supported; use an inline data URL instead")
      }
    }).pipe(Effect.provide(Real.layer([LocalModel.text("Red.")], Real.fast)), Effect.provide(NodeServices.layer)))
})
