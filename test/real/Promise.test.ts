/**
 * `effect-codex/promise` side by side with `@openai/codex-sdk` 0.163 itself, on the real binary: each side
 * gets its own LocalModel playing the same script (and its own CODEX_HOME, working directory and HOME), the
 * same options, and the results are compared with their ids normalised. Then what only the facade does
 * (one app-server per CODEX_HOME shared by `Codex` instances, close, approvals, steer, interrupt, fork,
 * deltas), the guide's programs (examples/promise/) run with only the import changed, no app-server left
 * behind by a process that exits or is killed, and the per-turn latency of both.
 */
import { Codex as CodexSdk } from "@openai/codex-sdk"
import { afterEach, assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import * as NodeV8 from "node:v8"
import * as NodeVm from "node:vm"
import * as LocalModel from "../../src/layers/testing/LocalModel.ts"
import { AbortError, Codex, type ThreadEvent, type ThreadItem, type ThreadOptions } from "../../src/promise.ts"
import * as Shared from "../../src/promise/internal/shared.ts"
import * as CodexError from "../../src/schema/CodexError.ts"
import * as CodexBinary from "../support/CodexBinary.ts"
import { awaitNoPidsWithEnv, pidsWithEnv } from "../support/Home.ts"

NodeV8.setFlagsFromString("--expose-gc")
const gc = NodeVm.runInNewContext("gc") as () => void

const ROOT = Path.resolve(import.meta.dirname, "../..")

// -----------------------------------------------------------------------------
// Fixtures: LocalModels, directories, both SDKs
// -----------------------------------------------------------------------------

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

const tempDir = (prefix: string): string => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), prefix))
  cleanups.push(() => Fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** A working directory that is a git repository (`codex exec` refuses others without `skipGitRepoCheck`). */
const gitRepo = (): string => {
  const dir = tempDir("promise-repo-")
  execFileSync("git", ["init", "-q", dir])
  Fs.writeFileSync(Path.join(dir, "README.md"), "# demo\n")
  return dir
}

const FAST = { features: { shell_snapshot: false } }

const startModel = async (
  script: ReadonlyArray<LocalModel.Step>,
  options: LocalModel.Options = {}
): Promise<LocalModel.Service> => {
  const scope = Effect.runSync(Scope.make())
  cleanups.push(() => Effect.runPromise(Scope.close(scope, Exit.void)))
  return Effect.runPromise(
    LocalModel.make(script, { ...options, config: { ...FAST, ...options.config } }).pipe(Scope.provide(scope))
  )
}

const requestsOf = (model: LocalModel.Service) => Effect.runPromise(model.requests)
const awaitRequest = (model: LocalModel.Service, index: number) => Effect.runPromise(model.awaitRequest(index))

/** What codex runs with on both sides: the binary's PATH, the model's CODEX_HOME, an empty HOME (no login-shell noise in command output). */
const envFor = (model: LocalModel.Service, home: string): Record<string, string> => ({
  ...CodexBinary.binary.env,
  PATH: [...CodexBinary.binary.pathDirs, ...(process.env.PATH === undefined ? [] : [process.env.PATH])].join(Path.delimiter),
  CODEX_HOME: model.codexHome,
  HOME: home
})

/** The facade on this model (closed after the test). */
const facade = (model: LocalModel.Service, home: string, options: ConstructorParameters<typeof Codex>[0] = {}) => {
  const codex = new Codex({
    ...(CodexBinary.codexPath === undefined ? {} : { codexPathOverride: CodexBinary.codexPath }),
    env: envFor(model, home),
    ...options
  })
  cleanups.push(() => codex.close())
  return codex
}

const codexSdk = (model: LocalModel.Service, home: string) =>
  new CodexSdk({ codexPathOverride: CodexBinary.binary.command, env: envFor(model, home) })

/** Either SDK, as the tests use it. */
interface AnyThread {
  readonly id: string | null
  run(input: any, options?: any): Promise<{ items: ReadonlyArray<unknown>; finalResponse: string; usage: unknown }>
  runStreamed(input: any, options?: any): Promise<{ events: AsyncGenerator<any> }>
}
interface AnyCodex {
  startThread(options?: any): AnyThread
  resumeThread(id: string, options?: any): AnyThread
}

interface Side {
  readonly name: "codex-sdk" | "facade"
  readonly model: LocalModel.Service
  readonly cwd: string
  readonly home: string
  readonly codex: () => AnyCodex
}

/** Both SDKs, each on its own LocalModel playing `script`. */
const bothSides = async (script: () => ReadonlyArray<LocalModel.Step>, options: LocalModel.Options = {}): Promise<ReadonlyArray<Side>> => {
  const make = async (name: Side["name"]): Promise<Side> => {
    const model = await startModel(script(), options)
    const home = tempDir("promise-home-")
    const cwd = gitRepo()
    return { name, model, cwd, home, codex: () => name === "facade" ? facade(model, home) : codexSdk(model, home) }
  }
  return [await make("codex-sdk"), await make("facade")]
}

const collect = async (events: AsyncGenerator<ThreadEvent>): Promise<{ events: Array<ThreadEvent>; error: unknown }> => {
  const out: Array<ThreadEvent> = []
  try {
    for await (const event of events) out.push(event)
    return { events: out, error: undefined }
  } catch (error) {
    return { events: out, error }
  }
}

/** What a promise rejects with (fails the test when it resolves). */
const rejection = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then((value) => assert.fail(`expected a rejection, got ${JSON.stringify(value)}`), (error: unknown) => error)

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g

/** A value with its side's paths and every uuid replaced, for comparing the two sides. */
const normalize = (value: unknown, side: Side): unknown =>
  JSON.parse(
    JSON.stringify(value)
      .replaceAll(Fs.realpathSync(side.cwd), "<cwd>")
      .replaceAll(side.cwd, "<cwd>")
      .replaceAll(side.model.codexHome, "<codex-home>")
      .replaceAll(side.home, "<home>")
      .replace(UUID, "<uuid>")
  )

const sameOnBothSides = <A>(sides: ReadonlyArray<Side>, values: ReadonlyArray<A>, what: string) => {
  assert.deepStrictEqual(normalize(values[1], sides[1]!), normalize(values[0], sides[0]!), `${what}: facade vs codex-sdk`)
}

const USAGE = { input: 1234, cached: 1000, output: 56, reasoning: 7 }

const optionsFor = (side: Side, extra: ThreadOptions = {}) => ({ workingDirectory: side.cwd, skipGitRepoCheck: true, ...extra })

// -----------------------------------------------------------------------------
// Side by side
// -----------------------------------------------------------------------------

describe("effect-codex/promise side by side with @openai/codex-sdk (real binary + LocalModel)", { timeout: 120_000 }, () => {
  it("the same turns give the same events and results: a command, a file change, a resumed thread", async () => {
    const sides = await bothSides(() => [
      LocalModel.response([LocalModel.reasoning("Let me look"), LocalModel.shell("echo hi")], { usage: USAGE }),
      LocalModel.text("It printed hi.", { usage: USAGE }),
      LocalModel.applyPatch("*** Begin Patch\n*** Add File: hello.txt\n+hello\n*** End Patch\n"),
      LocalModel.text("Wrote hello.txt.", { usage: USAGE }),
      LocalModel.text("Still here.", { usage: USAGE })
    ], { sandboxMode: "workspace-write" })
    const outcomes = []
    for (const side of sides) {
      const codex = side.codex()
      const thread = codex.startThread(optionsFor(side, { sandboxMode: "workspace-write" }))
      assert.isNull(thread.id)
      const first = await collect((await thread.runStreamed("Run echo")).events)
      assert.isUndefined(first.error, `${side.name}: ${String(first.error)}`)
      const second = await thread.run("Write hello.txt")
      // a new Codex resumes the thread by id (the first one is still open)
      const resumed = side.codex().resumeThread(thread.id!, optionsFor(side, { sandboxMode: "workspace-write" }))
      const third = await collect((await resumed.runStreamed("Are you there?")).events)
      assert.isUndefined(third.error, `${side.name}: ${String(third.error)}`)
      assert.strictEqual(Fs.readFileSync(Path.join(side.cwd, "hello.txt"), "utf8"), "hello\n", side.name)
      // thread.started opens every runStreamed, the resumed one included
      assert.deepStrictEqual(first.events[0], { type: "thread.started", thread_id: thread.id! }, side.name)
      assert.deepStrictEqual(third.events[0], { type: "thread.started", thread_id: thread.id! }, side.name)
      // the result survives JSON
      assert.deepStrictEqual(JSON.parse(JSON.stringify(second)), second, side.name)
      outcomes.push({ first: first.events, second, third: third.events })
    }
    sameOnBothSides(sides, outcomes, "events and results")
    const { first, second, third } = outcomes[1]!
    assert.deepStrictEqual(first.map((e) => e.type === "item.started" || e.type === "item.completed" ? `${e.type} ${e.item.type} ${e.item.id}` : e.type), [
      "thread.started",
      "turn.started",
      "item.completed reasoning item_0",
      "item.started command_execution item_1",
      "item.completed command_execution item_1",
      "item.completed agent_message item_2",
      "turn.completed"
    ])
    assert.deepStrictEqual(second.items.map((item) => (item as ThreadItem).type), ["file_change", "agent_message"])
    assert.strictEqual(second.finalResponse, "Wrote hello.txt.")
    // usage is the thread's running total: 4 model requests of 1,234 input tokens (the patch step reports none)
    assert.strictEqual((third.at(-1) as Extract<ThreadEvent, { type: "turn.completed" }>).usage.input_tokens, 4 * 1234)
  })

  it("usage is the thread's running total: the second run of a 1,234-token turn reports 2,468 input tokens", async () => {
    const sides = await bothSides(() => [LocalModel.text("one", { usage: USAGE }), LocalModel.text("two", { usage: USAGE })])
    const usages = []
    for (const side of sides) {
      const thread = side.codex().startThread(optionsFor(side))
      const first = await thread.run("first")
      const second = await thread.run("second")
      usages.push([first.usage, second.usage])
    }
    sameOnBothSides(sides, usages, "usage")
    assert.deepStrictEqual(usages[1], [
      { input_tokens: 1234, cached_input_tokens: 1000, cache_write_input_tokens: 0, output_tokens: 56, reasoning_output_tokens: 7 },
      { input_tokens: 2468, cached_input_tokens: 2000, cache_write_input_tokens: 0, output_tokens: 112, reasoning_output_tokens: 14 }
    ])
  })

  it("the model sees the same request for the same thread options (model, effort, sandbox, network, web search, extra dirs)", async () => {
    const sides = await bothSides(() => [LocalModel.text("ok", { usage: USAGE })])
    const extra = tempDir("promise-extra-")
    const bodies = []
    for (const side of sides) {
      const thread = side.codex().startThread(optionsFor(side, {
        model: "mock-model",
        modelReasoningEffort: "high",
        sandboxMode: "workspace-write",
        networkAccessEnabled: true,
        webSearchMode: "live",
        approvalPolicy: "never",
        additionalDirectories: [extra]
      }))
      await thread.run("What is here?")
      const [request] = await requestsOf(side.model)
      // client_metadata names the client (codex exec or the app-server): the rest is the model's input
      const { client_metadata: _, ...body } = request!.body as Record<string, unknown>
      bodies.push(body)
    }
    sameOnBothSides(sides, bodies, "model request")
    const body = bodies[1] as { model: string; reasoning: { effort: string }; tools: Array<{ type: string }> }
    assert.strictEqual(body.model, "mock-model")
    assert.strictEqual(body.reasoning.effort, "high")
    assert.isTrue(body.tools.some((tool) => tool.type === "web_search"), JSON.stringify(body.tools.map((t) => t.type)))
  })

  it("input with local images: images first, then the text parts, as codex exec sends them", async () => {
    const sides = await bothSides(() => [LocalModel.text("A red dot.", { usage: USAGE })])
    const image = Path.join(tempDir("promise-img-"), "dot.png")
    // a 1x1 red PNG
    Fs.writeFileSync(image, Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==", "base64"))
    const inputs = []
    for (const side of sides) {
      const result = await side.codex().startThread(optionsFor(side)).run([
        { type: "text", text: "What is in this picture?" },
        { type: "local_image", path: image },
        { type: "text", text: "Be brief." }
      ])
      assert.strictEqual(result.finalResponse, "A red dot.")
      const [request] = await requestsOf(side.model)
      inputs.push((request!.body.input ?? []).at(-1))
    }
    sameOnBothSides(sides, inputs, "user message")
    const content = (inputs[1] as unknown as { content: Array<{ type: string; text?: string }> }).content
    assert.deepStrictEqual(content.map((part) => part.type), ["input_text", "input_image", "input_text", "input_text"])
    assert.strictEqual(content.at(-1)!.text, "What is in this picture?\n\nBe brief.")
  })

  it("outputSchema: the same schema reaches the model and the answer is its JSON text", async () => {
    const sides = await bothSides(() => [LocalModel.json({ verdict: "ok", notes: ["tidy"] }, { usage: USAGE })])
    const schema = {
      type: "object",
      properties: { verdict: { type: "string", enum: ["ok", "needs work"] }, notes: { type: "array", items: { type: "string" } } },
      required: ["verdict", "notes"],
      additionalProperties: false
    }
    const formats = []
    for (const side of sides) {
      const result = await side.codex().startThread(optionsFor(side)).run("Review it", { outputSchema: schema })
      assert.deepStrictEqual(JSON.parse(result.finalResponse), { verdict: "ok", notes: ["tidy"] }, side.name)
      const [request] = await requestsOf(side.model)
      formats.push(request!.body.text)
    }
    sameOnBothSides(sides, formats, "text.format")
    assert.deepStrictEqual((formats[1] as { format: { schema: unknown } }).format.schema, schema)
  })

  it("threads live in CODEX_HOME for both: a thread started by one SDK resumes in the other", async () => {
    const model = await startModel([
      LocalModel.text("Noted: fig.", { usage: USAGE }),
      LocalModel.text("fig", { usage: USAGE }),
      LocalModel.text("Noted: date.", { usage: USAGE }),
      LocalModel.text("date", { usage: USAGE })
    ])
    const home = tempDir("promise-home-")
    const cwd = gitRepo()
    const sdk = codexSdk(model, home)
    const ours = facade(model, home)
    const bySdk = sdk.startThread({ workingDirectory: cwd })
    await bySdk.run("Remember the word fig")
    assert.strictEqual((await ours.resumeThread(bySdk.id!, { workingDirectory: cwd }).run("Which word?")).finalResponse, "fig")
    const byFacade = ours.startThread({ workingDirectory: cwd })
    await byFacade.run("Remember the word date")
    await ours.close()
    assert.strictEqual((await sdk.resumeThread(byFacade.id!, { workingDirectory: cwd }).run("Which word?")).finalResponse, "date")
    const requests = await requestsOf(model)
    assert.includeMembers([...LocalModel.messages(requests[1]!)], ["user: Remember the word fig", "assistant: Noted: fig."])
    assert.includeMembers([...LocalModel.messages(requests[3]!)], ["user: Remember the word date", "assistant: Noted: date."])
  })

  it("approvalPolicy \"on-failure\" (which codex 0.171 refuses) still runs the turn on both", async () => {
    const sides = await bothSides(() => [LocalModel.text("ok", { usage: USAGE })])
    for (const side of sides) {
      const result = await side.codex().startThread(optionsFor(side, { approvalPolicy: "on-failure" })).run("hi")
      assert.strictEqual(result.finalResponse, "ok", side.name)
    }
  })

  it("a failed turn: the same error events and turn.failed; run rejects with the same message (a CodexError TurnFailed here)", async () => {
    const sides = await bothSides(() => [LocalModel.httpError(400, "bad request body"), LocalModel.httpError(400, "bad request body")])
    const streams = []
    const errors: Array<unknown> = []
    for (const side of sides) {
      const thread = side.codex().startThread(optionsFor(side))
      streams.push(await collect((await thread.runStreamed("Fail please")).events))
      errors.push(await rejection(thread.run("Fail again")))
    }
    sameOnBothSides(sides, streams.map((s) => s.events), "events of a failed turn")
    assert.deepStrictEqual(streams[1]!.events.slice(1).map((e) => e.type), ["turn.started", "error", "turn.failed"])
    assert.deepStrictEqual(streams[1]!.events.at(-1), { type: "turn.failed", error: { message: "bad request body" } })
    // codex-sdk's generator then throws because `codex exec` exited with code 1; the facade's ends
    assert.match(String(streams[0]!.error), /Codex Exec exited with code 1/)
    assert.isUndefined(streams[1]!.error)
    for (const error of errors) {
      assert.instanceOf(error, Error)
      assert.strictEqual((error as Error).message, "bad request body")
    }
    assert.isTrue(CodexError.isCodexError(errors[1]))
    assert.strictEqual((errors[1] as CodexError.CodexError).reason._tag, "TurnFailed")
  })

  it("abort: both reject with an AbortError; the facade interrupts the turn without killing codex, and the thread goes on", async () => {
    const sides = await bothSides(() => [LocalModel.text("warm", { usage: USAGE }), LocalModel.hang(), LocalModel.text("after", { usage: USAGE })])
    for (const side of sides) {
      const thread = side.codex().startThread(optionsFor(side))
      await thread.run("warm up")
      const pids = pidsWithEnv("CODEX_HOME", side.model.codexHome)
      const controller = new AbortController()
      const running = thread.run("Count to a million", { signal: controller.signal })
      await awaitRequest(side.model, 1)
      controller.abort()
      const error = await rejection(running)
      assert.instanceOf(error, Error, side.name)
      assert.strictEqual((error as Error).name, "AbortError", side.name)
      // an aborted signal rejects at once, before any model request
      const before = (await requestsOf(side.model)).length
      const again = await rejection(thread.run("no", { signal: AbortSignal.abort() }))
      assert.strictEqual((again as Error).name, "AbortError", side.name)
      assert.strictEqual((await requestsOf(side.model)).length, before, side.name)
      if (side.name === "facade") {
        assert.instanceOf(error, AbortError)
        // the same app-server, still running: nothing was killed
        assert.deepStrictEqual(pidsWithEnv("CODEX_HOME", side.model.codexHome), pids)
        assert.lengthOf(pids, 1)
        const next = await thread.run("And now?")
        assert.strictEqual(next.finalResponse, "after")
      }
    }
  })
})

// -----------------------------------------------------------------------------
// What only the facade does
// -----------------------------------------------------------------------------

describe("effect-codex/promise on the app-server (real binary + LocalModel)", { timeout: 120_000 }, () => {
  it("one app-server per CODEX_HOME: a second Codex resumes a thread the first still holds; the last close stops it", async () => {
    const model = await startModel([LocalModel.text("Noted: kiwi.", { usage: USAGE }), LocalModel.text("kiwi", { usage: USAGE }), LocalModel.text("still kiwi", { usage: USAGE })])
    const home = tempDir("promise-home-")
    const first = facade(model, home)
    const thread = first.startThread({ skipGitRepoCheck: true })
    await thread.run("Remember the word kiwi")
    const second = facade(model, home)
    const resumed = second.resumeThread(thread.id!)
    assert.strictEqual((await resumed.run("Which word?")).finalResponse, "kiwi")
    const [, request] = await requestsOf(model)
    assert.includeMembers([...LocalModel.messages(request!)], ["user: Remember the word kiwi", "assistant: Noted: kiwi."])
    assert.lengthOf(pidsWithEnv("CODEX_HOME", model.codexHome), 1)

    await first.close()
    // the other instance still holds the server
    assert.strictEqual((await resumed.run("And now?")).finalResponse, "still kiwi")
    const closed = await rejection(thread.run("after close"))
    assert.strictEqual((closed as CodexError.CodexError).reason?._tag, "Closed")
    await second[Symbol.asyncDispose]()
    assert.deepStrictEqual(await Effect.runPromise(awaitNoPidsWithEnv("CODEX_HOME", model.codexHome, 10_000)), [])
  })

  it("close() while a turn runs: the turn rejects with Closed and the app-server stops", async () => {
    const model = await startModel([LocalModel.hang()])
    const codex = facade(model, tempDir("promise-home-"))
    const running = rejection(codex.startThread({ skipGitRepoCheck: true }).run("Count to a million"))
    await awaitRequest(model, 0)
    await codex.close()
    await codex.close()
    assert.strictEqual(((await running) as CodexError.CodexError).reason?._tag, "Closed")
    assert.deepStrictEqual(await Effect.runPromise(awaitNoPidsWithEnv("CODEX_HOME", model.codexHome, 10_000)), [])
  })

  it("a failed turn rejects with the CodexError of the turn: TurnFailed with codex's codexErrorInfo", async () => {
    const model = await startModel([LocalModel.quotaExceeded()])
    const error = await rejection(facade(model, tempDir("promise-home-")).startThread({ skipGitRepoCheck: true }).run("Hi"))
    assert.isTrue(CodexError.isCodexError(error))
    const reason = (error as CodexError.CodexError).reason as CodexError.TurnFailed
    assert.strictEqual(reason._tag, "TurnFailed")
    assert.strictEqual(reason.codexErrorInfo, "usageLimitExceeded")
    assert.isString(reason.threadId)
    assert.isString(reason.turnId)
    assert.notStrictEqual(reason.turnId, "")
  })

  it("instances with other process options get their own app-server, and codex allows one writer per thread", async () => {
    const model = await startModel([LocalModel.text("one", { usage: USAGE })])
    const home = tempDir("promise-home-")
    const thread = facade(model, home).startThread({ skipGitRepoCheck: true })
    await thread.run("hello")
    const other = facade(model, home, { config: { hide_agent_reasoning: false } })
    const error = await rejection(other.resumeThread(thread.id!).run("hello again"))
    assert.match(String((error as Error)?.message), /already has an active writer/)
    assert.lengthOf(pidsWithEnv("CODEX_HOME", model.codexHome), 2)
  })

  // codex-sdk has no close(): a program that makes a Codex per user (other options each) and drops it must not keep
  // an app-server per instance for the life of the process
  it("a Codex nobody holds any more (never closed) gives its app-server back once collected", async () => {
    const model = await startModel([LocalModel.text("one"), LocalModel.text("two"), LocalModel.text("three")])
    const home = tempDir("promise-home-")
    const before = Shared.stats().servers
    const runOne = async (user: number) => {
      const codex = new Codex({
        ...(CodexBinary.codexPath === undefined ? {} : { codexPathOverride: CodexBinary.codexPath }),
        env: { ...envFor(model, home), EFFECT_CODEX_TEST_USER: String(user) }
      })
      return (await codex.startThread({ skipGitRepoCheck: true }).run(`hello ${user}`)).finalResponse
    }
    assert.deepStrictEqual([await runOne(1), await runOne(2), await runOne(3)], ["one", "two", "three"])
    assert.strictEqual(Shared.stats().servers, before + 3)
    const deadline = Date.now() + 20_000
    while (Shared.stats().servers > before && Date.now() < deadline) {
      gc()
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    assert.strictEqual(Shared.stats().servers, before)
    assert.deepStrictEqual(await Effect.runPromise(awaitNoPidsWithEnv("CODEX_HOME", model.codexHome, 10_000)), [])
  })

  it("onApproval: the request (command, reason, the item's id) is answered; accepted, the command runs", async () => {
    const model = await startModel([
      LocalModel.shell("touch approved.txt", { escalate: true, justification: "Create approved.txt?" }),
      LocalModel.text("Created it.", { usage: USAGE })
    ])
    const cwd = tempDir("promise-cwd-")
    const requests: Array<unknown> = []
    const codex = facade(model, tempDir("promise-home-"), {
      onApproval: (request) => {
        requests.push(request)
        return "accept"
      }
    })
    const { events } = await codex.startThread({ workingDirectory: cwd }).runStreamed("Create approved.txt")
    const { events: seen } = await collect(events)
    const command = seen.find((e): e is Extract<ThreadEvent, { type: "item.completed" }> =>
      e.type === "item.completed" && e.item.type === "command_execution"
    )!.item as Extract<ThreadItem, { type: "command_execution" }>
    assert.strictEqual(command.status, "completed")
    assert.isTrue(Fs.existsSync(Path.join(cwd, "approved.txt")))
    assert.lengthOf(requests, 1)
    const request = requests[0] as { type: string; command: string; reason: string; item_id: string; item: ThreadItem }
    assert.strictEqual(request.type, "command_execution")
    assert.include(request.command, "touch approved.txt")
    assert.strictEqual(request.reason, "Create approved.txt?")
    assert.strictEqual(request.item_id, command.id)
    assert.strictEqual(request.item.type, "command_execution")
  })

  it("without onApproval every request is declined: the command shows as declined and does not run", async () => {
    const model = await startModel([
      LocalModel.shell("touch declined.txt", { escalate: true, justification: "Create it?" }),
      LocalModel.text("Could not.", { usage: USAGE })
    ])
    const cwd = tempDir("promise-cwd-")
    const result = await facade(model, tempDir("promise-home-")).startThread({ workingDirectory: cwd, approvalPolicy: "on-request" })
      .run("Create declined.txt")
    const command = result.items.find((item) => item.type === "command_execution") as Extract<ThreadItem, { type: "command_execution" }>
    assert.strictEqual(command.status, "declined")
    assert.isFalse(Fs.existsSync(Path.join(cwd, "declined.txt")))
    assert.strictEqual(result.finalResponse, "Could not.")
  })

  it("thread.steer: the input reaches the next model request of the running turn", async () => {
    const model = await startModel([LocalModel.hang(), LocalModel.text("1 2 3", { usage: USAGE })])
    const thread = facade(model, tempDir("promise-home-")).startThread({ skipGitRepoCheck: true })
    assert.match(String(await rejection(thread.steer("nothing runs"))), /No turn is running/)
    const running = thread.run("Count to ten slowly")
    await awaitRequest(model, 0)
    await thread.steer("Stop at three")
    const result = await running
    assert.strictEqual(result.finalResponse, "1 2 3")
    const [, request] = await requestsOf(model)
    assert.includeMembers([...LocalModel.messages(request!)], ["user: Count to ten slowly", "user: Stop at three"])
  })

  it("thread.interrupt: the turn stops without an error or a kill (usage null); the next turn runs", async () => {
    const model = await startModel([LocalModel.hang(), LocalModel.text("next", { usage: USAGE })])
    const thread = facade(model, tempDir("promise-home-")).startThread({ skipGitRepoCheck: true })
    const running = thread.run("Count to a million")
    await awaitRequest(model, 0)
    await thread.interrupt()
    assert.deepStrictEqual(await running, { items: [], finalResponse: "", usage: null })
    assert.strictEqual((await thread.run("Next")).finalResponse, "next")
    // nothing running: a no-op
    await thread.interrupt()
  })

  it("breaking out of runStreamed interrupts the turn; the thread goes on", async () => {
    const model = await startModel([LocalModel.hang(), LocalModel.text("next", { usage: USAGE })])
    const thread = facade(model, tempDir("promise-home-")).startThread({ skipGitRepoCheck: true })
    const { events } = await thread.runStreamed("Count to a million")
    for await (const event of events) {
      if (event.type !== "turn.started") continue
      // once the model call is under way (an earlier interrupt would leave the hanging step to the next turn)
      await awaitRequest(model, 0)
      break
    }
    assert.strictEqual((await thread.run("Next")).finalResponse, "next")
  })

  it("a consumer that stops reading without return() holds nothing once the turn ended (Node may exit)", async () => {
    const model = await startModel([LocalModel.text("done", { usage: USAGE })])
    const thread = facade(model, tempDir("promise-home-")).startThread({ skipGitRepoCheck: true })
    const { events } = await thread.runStreamed("Hi")
    assert.strictEqual((await events.next()).value?.type, "thread.started")
    assert.strictEqual((await events.next()).value?.type, "turn.started")
    assert.strictEqual(Shared.stats().held, 1)
    // the turn goes on and ends while nobody reads
    await awaitRequest(model, 0)
    const deadline = Date.now() + 10_000
    while (Shared.stats().held > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
    assert.strictEqual(Shared.stats().held, 0)
    // what was left is still there to read
    const rest: Array<string> = []
    for await (const event of events) rest.push(event.type)
    assert.deepStrictEqual(rest, ["item.completed", "turn.completed"])
  })

  it("thread.fork: a new thread with the history", async () => {
    const model = await startModel([LocalModel.text("Noted.", { usage: USAGE }), LocalModel.text("plum", { usage: USAGE })])
    const thread = facade(model, tempDir("promise-home-")).startThread({ skipGitRepoCheck: true })
    assert.match(String(await rejection(thread.fork())), /no id yet/)
    await thread.run("Remember the word plum")
    const fork = await thread.fork()
    assert.isString(fork.id)
    assert.notStrictEqual(fork.id, thread.id)
    assert.strictEqual((await fork.run("Which word?")).finalResponse, "plum")
    const [, request] = await requestsOf(model)
    assert.includeMembers([...LocalModel.messages(request!)], ["user: Remember the word plum", "assistant: Noted.", "user: Which word?"])
  })

  it("deltas: the answer streams as item.updated deltas that spell the completed message", async () => {
    const model = await startModel([LocalModel.text("Hello there, friend.", { deltas: 4, usage: USAGE })])
    const { events } = await facade(model, tempDir("promise-home-")).startThread({ skipGitRepoCheck: true })
      .runStreamed("Greet me", { deltas: true })
    const { events: seen } = await collect(events)
    const message = seen.filter((e) => (e.type === "item.started" || e.type === "item.updated" || e.type === "item.completed") && e.item.type === "agent_message")
    assert.strictEqual(message[0]!.type, "item.started")
    assert.strictEqual(message.at(-1)!.type, "item.completed")
    assert.strictEqual(new Set(message.map((e) => (e as { item: ThreadItem }).item.id)).size, 1)
    const deltas = message.flatMap((e) => e.type === "item.updated" && e.delta !== undefined ? [e.delta] : [])
    assert.isAbove(deltas.length, 1)
    assert.strictEqual(deltas.join(""), "Hello there, friend.")
  })

  it("a crashed app-server is replaced: the thread resumes on the new one", async () => {
    const model = await startModel([LocalModel.text("one", { usage: USAGE }), LocalModel.text("two", { usage: USAGE }), LocalModel.text("three", { usage: USAGE })])
    const thread = facade(model, tempDir("promise-home-")).startThread({ skipGitRepoCheck: true })
    await thread.run("first")
    const [pid] = pidsWithEnv("CODEX_HOME", model.codexHome)
    process.kill(pid!, "SIGKILL")
    await Effect.runPromise(awaitNoPidsWithEnv("CODEX_HOME", model.codexHome, 10_000))
    // the turn that meets the dead server fails; the next starts a new one and resumes the thread there
    const failed = await rejection(thread.run("second"))
    assert.strictEqual((failed as CodexError.CodexError).reason?._tag, "ProcessExited")
    assert.strictEqual((await thread.run("third")).finalResponse, "two")
    assert.lengthOf(pidsWithEnv("CODEX_HOME", model.codexHome), 1)
  })
})

// -----------------------------------------------------------------------------
// The guide's programs, with only the import changed
// -----------------------------------------------------------------------------

interface Exited {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

interface Running {
  readonly child: ChildProcess
  readonly stdout: () => string
  readonly exited: Promise<Exited>
  readonly waitFor: (pattern: RegExp) => Promise<RegExpMatchArray>
}

const EXAMPLES = Path.join(ROOT, "examples", "promise")
/** The same programs with `from "@openai/codex-sdk"` (kept out of git with the rest of .tmp/). */
const SDK_COPIES = Path.join(ROOT, ".tmp", "promise-examples")

/** The example as written, or its copy with the import changed to `@openai/codex-sdk`. */
const exampleFile = (name: string, sdk: "facade" | "codex-sdk"): string => {
  const source = Path.join(EXAMPLES, `${name}.ts`)
  if (sdk === "facade") return source
  const text = Fs.readFileSync(source, "utf8")
  const changed = text.replace(/from "effect-codex\/promise"/g, "from \"@openai/codex-sdk\"")
  // exactly the import lines differ
  const diff = text.split("\n").filter((line, i) => line !== changed.split("\n")[i])
  assert.isTrue(diff.length >= 1 && diff.every((line) => /^import .* from "effect-codex\/promise"$/.test(line)), diff.join("\n"))
  Fs.mkdirSync(SDK_COPIES, { recursive: true })
  const copy = Path.join(SDK_COPIES, `${name}.ts`)
  Fs.writeFileSync(copy, changed)
  return copy
}

const runExample = (file: string, args: ReadonlyArray<string>, cwd: string, env: Record<string, string>): Running => {
  const childEnv: Record<string, string | undefined> = { ...process.env, ...env }
  delete childEnv.CODEX_API_KEY
  delete childEnv.OPENAI_API_KEY
  const child = spawn(process.execPath, ["--import", Path.join(ROOT, "scripts", "source-hooks.ts"), file, ...args], {
    cwd,
    env: childEnv,
    stdio: ["ignore", "pipe", "pipe"]
  })
  let stdout = ""
  let stderr = ""
  const listeners = new Set<() => void>()
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk
    for (const listener of listeners) listener()
  })
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
  const exited = new Promise<Exited>((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 90_000)
    child.on("close", (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr })
    })
  })
  cleanups.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
  })
  const waitFor = (pattern: RegExp) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const check = () => {
        const match = stdout.match(pattern)
        if (match !== null) {
          listeners.delete(check)
          resolve(match)
        }
      }
      listeners.add(check)
      void exited.then(() => listeners.has(check) && reject(new Error(`exited before ${pattern}:\n${stdout}\n${stderr}`)))
      check()
    })
  return { child, stdout: () => stdout, exited, waitFor }
}

/** The processes of this CODEX_HOME but the example itself (it has CODEX_HOME in its environment too). */
const codexPids = (model: LocalModel.Service, running: Running) =>
  pidsWithEnv("CODEX_HOME", model.codexHome).filter((pid) => pid !== running.child.pid)

/** The responder of the LocalModel with a fixed usage, so both sides count the same tokens. */
const responder: LocalModel.Step = (request) => {
  const step = (LocalModel.assistant() as (request: LocalModel.RecordedRequest) => LocalModel.SseStep)(request)
  return { ...step, usage: { input: 100, output: 10 } }
}

interface ExampleSide {
  readonly sdk: "facade" | "codex-sdk"
  readonly model: LocalModel.Service
  readonly cwd: string
  readonly home: string
  readonly env: Record<string, string>
}

const exampleSides = async (): Promise<ReadonlyArray<ExampleSide>> => {
  const make = async (sdk: ExampleSide["sdk"]): Promise<ExampleSide> => {
    const model = await startModel([], { fallback: responder })
    const home = tempDir("promise-home-")
    return { sdk, model, cwd: gitRepo(), home, env: { CODEX_HOME: model.codexHome, HOME: home } }
  }
  return [await make("codex-sdk"), await make("facade")]
}

const normalizeText = (text: string, side: ExampleSide) =>
  text.replaceAll(Fs.realpathSync(side.cwd), "<cwd>").replaceAll(side.cwd, "<cwd>").replaceAll(side.model.codexHome, "<codex-home>")
    .replace(UUID, "<uuid>")

/** Runs an example on both sides; checks exit 0 and, on the facade's side, that no codex is left once it exited by itself. */
const runBoth = async (name: string, args: (side: ExampleSide) => ReadonlyArray<string> = () => [], sides?: ReadonlyArray<ExampleSide>) => {
  const all = sides ?? await exampleSides()
  const outputs: Array<string> = []
  for (const side of all) {
    const exit = await runExample(exampleFile(name, side.sdk), args(side), side.cwd, side.env).exited
    assert.strictEqual(exit.code, 0, `${name} (${side.sdk}): exit ${exit.code} ${exit.signal}\n${exit.stdout}\n${exit.stderr}`)
    if (side.sdk === "facade") {
      // it exited by itself, without close(), and left no app-server behind
      assert.deepStrictEqual(pidsWithEnv("CODEX_HOME", side.model.codexHome), [], `${name}: codex left behind`)
    }
    outputs.push(normalizeText(exit.stdout, side))
  }
  assert.strictEqual(outputs[1], outputs[0], `${name}: facade vs codex-sdk`)
  return { outputs, sides: all }
}

describe("the guide's programs on effect-codex/promise, with only the import changed (examples/promise/)", { timeout: 180_000 }, () => {
  it("basic: console.log(result) prints the same", async () => {
    const { outputs } = await runBoth("basic")
    assert.match(outputs[1]!, /finalResponse: ['"`]You said: “Analyze the test failures in the CI logs and propose fixes” \(message 1 of this thread\)/)
    assert.match(outputs[1]!, /usage: \{\n\s+input_tokens: \d+/)
  })

  it("multi-turn: the second turn continues the first", async () => {
    const { outputs } = await runBoth("multi-turn")
    assert.match(outputs[1]!, /fixes: You said: “Implement the fixes you identified\. Run the test suite after each change\.” \(message 2 of this thread\)\. /)
    assert.match(outputs[1]!, /usage so far:/)
  })

  it("resume: stage 2, another process, resumes the thread by id", async () => {
    const sides = await exampleSides()
    const ids: Array<string> = []
    const outputs: Array<string> = []
    for (const side of sides) {
      const stage1 = await runExample(exampleFile("resume", side.sdk), [], side.cwd, side.env).exited
      assert.strictEqual(stage1.code, 0, stage1.stderr)
      const id = /thread id: (\S+)/.exec(stage1.stdout)?.[1]
      assert.isString(id, stage1.stdout)
      ids.push(id!)
      const stage2 = await runExample(exampleFile("resume", side.sdk), [id!], side.cwd, side.env).exited
      assert.strictEqual(stage2.code, 0, stage2.stderr)
      outputs.push(normalizeText(stage1.stdout + stage2.stdout, side))
      assert.deepStrictEqual(pidsWithEnv("CODEX_HOME", side.model.codexHome), [])
    }
    assert.strictEqual(outputs[1], outputs[0])
    assert.match(outputs[1]!, /\(message 2 of this thread\)\. Before that you said: “Read the failing test and explain the bug”/)
  })

  it("cron --now: the structured review, posted to the webhook", async () => {
    const posted: Array<unknown> = []
    const webhook = Http.createServer((req, res) => {
      let body = ""
      req.on("data", (chunk) => (body += chunk))
      req.on("end", () => {
        posted.push(JSON.parse(body))
        res.end("ok")
      })
    })
    await new Promise<void>((resolve) => webhook.listen(0, "127.0.0.1", resolve))
    cleanups.push(() => new Promise<void>((resolve) => webhook.close(() => resolve())))
    const url = `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/hook`
    const sides = (await exampleSides()).map((side) => ({ ...side, env: { ...side.env, REVIEW_WEBHOOK_URL: url } }))
    const { outputs } = await runBoth("cron", () => ["--now"], sides)
    assert.match(outputs[1]!, /review: summary \(LocalModel\)\n- \[low\] title \(LocalModel\)\nposted/)
    assert.lengthOf(posted, 2)
    assert.deepStrictEqual(posted[1], posted[0])
  })

  it("dashboard: a new Codex per request, a follow-up resumes the thread while the first request's Codex is open", async () => {
    const responses: Array<unknown> = []
    const sides = await exampleSides()
    for (const side of sides) {
      const running = runExample(exampleFile("dashboard", side.sdk), [], side.cwd, { ...side.env, PORT: "0", REPO_PATH: side.cwd })
      const [, url] = await running.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/)
      const post = async (path: string, body: unknown) => {
        const response = await fetch(`${url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })
        const json = await response.json() as Record<string, unknown>
        assert.strictEqual(response.status, 200, JSON.stringify(json))
        return json
      }
      const fixed = await post("/api/fix", { ticket: { id: "BUG-7", title: "Parser crashes", description: "Fix the trailing comma crash" } })
      const followed = await post("/api/follow-up", { threadId: fixed.threadId, message: "Is it done now?" })
      const again = await post("/api/follow-up", { threadId: fixed.threadId, message: "Thanks" })
      assert.strictEqual(followed.threadId, fixed.threadId)
      responses.push(normalizeText(JSON.stringify([fixed, followed, again]), side))
      if (side.sdk === "facade") {
        // every request's Codex shares the one app-server of this CODEX_HOME
        assert.lengthOf(codexPids(side.model, running), 1)
      }
      running.child.kill("SIGTERM")
      await running.exited
      // killed by a signal, the server's stdin closes and codex exits on EOF
      assert.deepStrictEqual(await Effect.runPromise(awaitNoPidsWithEnv("CODEX_HOME", side.model.codexHome, 10_000)), [])
    }
    assert.strictEqual(responses[1], responses[0])
    const [fixed, followed] = JSON.parse(responses[1] as string) as Array<Record<string, unknown>>
    assert.deepStrictEqual(fixed!.changedFiles, ["<cwd>/LOCALMODEL_NOTES.md"])
    assert.match(String(followed!.answer), /\(message 2 of this thread\)\. Before that you said: “Fix ticket BUG-7/, String(followed!.answer))
  })

  it("a process killed mid-turn (SIGKILL) leaves no app-server behind", async () => {
    const model = await startModel([LocalModel.hang()])
    const home = tempDir("promise-home-")
    const running = runExample(exampleFile("basic", "facade"), [], gitRepo(), { CODEX_HOME: model.codexHome, HOME: home })
    await awaitRequest(model, 0)
    assert.lengthOf(codexPids(model, running), 1)
    running.child.kill("SIGKILL")
    await running.exited
    assert.deepStrictEqual(await Effect.runPromise(awaitNoPidsWithEnv("CODEX_HOME", model.codexHome, 10_000)), [])
  })
})

// -----------------------------------------------------------------------------
// Per-turn latency
// -----------------------------------------------------------------------------

const percentile = (xs: ReadonlyArray<number>, p: number) => {
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!
}

describe("per-turn latency, facade vs @openai/codex-sdk (same script, one thread each)", { timeout: 180_000 }, () => {
  it("the facade's turns are faster (printed)", async () => {
    const TURNS = 10
    const WARMUP = 2
    const sides = await bothSides(() => Array.from({ length: TURNS + WARMUP + 2 }, () => LocalModel.text("ok", { usage: USAGE })))
    const threads = sides.map((side) => side.codex().startThread(optionsFor(side)))
    const samples: Array<Array<number>> = [[], []]
    for (let i = 0; i < TURNS + WARMUP; i++) {
      // alternate which side goes first, so drift hits both alike
      for (const k of i % 2 === 0 ? [0, 1] : [1, 0]) {
        const started = performance.now()
        const result = await threads[k]!.run(`turn ${i}`)
        const ms = performance.now() - started
        assert.strictEqual(result.finalResponse, "ok")
        if (i >= WARMUP) samples[k]!.push(ms)
      }
    }
    const [sdk, ours] = samples.map((xs) => ({ p50: percentile(xs, 0.5), p90: percentile(xs, 0.9), mean: xs.reduce((a, b) => a + b, 0) / xs.length }))
    const line = (name: string, s: typeof sdk) => `${name}: p50 ${s!.p50.toFixed(1)} ms, p90 ${s!.p90.toFixed(1)} ms, mean ${s!.mean.toFixed(1)} ms`
    console.log(
      `per-turn latency over ${TURNS} turns (after ${WARMUP} warm-up):\n  ${line("@openai/codex-sdk", sdk)}\n  ${line("effect-codex/promise", ours)}\n  codex-sdk p50 / facade p50 = ${(sdk!.p50 / ours!.p50).toFixed(2)}`
    )
    assert.isBelow(ours!.p50, sdk!.p50)
  })
})
