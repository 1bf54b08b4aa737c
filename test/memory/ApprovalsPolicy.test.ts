import { assert, describe, it } from "@effect/vitest"
import { Context, Deferred, Effect, Layer, Queue } from "effect"
import { AppServerClient } from "../../src/services/AppServerClient.ts"
import * as Approvals from "../../src/services/Approvals.ts"
import * as Codex from "../../src/services/Codex.ts"
import * as Fake from "../support/FakeServer.ts"

const commandParams = (command: string) => ({
  threadId: "thread-1",
  turnId: "turn-1",
  itemId: "call-1",
  command,
  cwd: "/tmp",
  startedAtMs: 0
})

const info = { requestId: 1, method: "item/commandExecution/requestApproval" }

describe("Approvals policies", () => {
  it("unwrapShell looks through bash -lc wrappers", () => {
    assert.strictEqual(Approvals.unwrapShell("/bin/bash -lc 'git status'"), "git status")
    assert.strictEqual(Approvals.unwrapShell("bash -c \"ls -la\""), "ls -la")
    assert.strictEqual(Approvals.unwrapShell("/bin/bash -lc 'echo '\\''hi'\\'''"), "echo 'hi'")
    assert.strictEqual(Approvals.unwrapShell("git diff"), "git diff")
  })

  it("isReadOnlyCommand accepts reads and refuses writes, chains and redirections", () => {
    for (const ok of ["git status", "/bin/bash -lc 'git log --oneline'", "ls -la src", "cat README.md", "rg foo", "pwd"]) {
      assert.isTrue(Approvals.isReadOnlyCommand(ok), ok)
    }
    for (const no of [
      "rm -rf /",
      "git push",
      "git status && rm x",
      "cat a > b",
      "ls | sh",
      "find . -delete",
      "echo $(touch x)",
      "/bin/bash -lc 'touch marker'"
    ]) {
      assert.isFalse(Approvals.isReadOnlyCommand(no), no)
    }
  })

  it.effect("acceptCommandsMatching: regex, list, predicate, and the fallback", () =>
    Effect.gen(function*() {
      const byRegex = Approvals.acceptCommandsMatching(/^git status$/)
      assert.strictEqual(yield* byRegex(commandParams("/bin/bash -lc 'git status'"), info), "accept")
      assert.strictEqual(yield* byRegex(commandParams("git push"), info), "decline")
      const byList = Approvals.acceptCommandsMatching([/^ls\b/, /^pwd$/])
      assert.strictEqual(yield* byList(commandParams("pwd"), info), "accept")
      const byPredicate = Approvals.acceptCommandsMatching(Approvals.isReadOnlyCommand, () => Effect.succeed("cancel"))
      assert.strictEqual(yield* byPredicate(commandParams("cat x"), info), "accept")
      assert.strictEqual(yield* byPredicate(commandParams("rm x"), info), "cancel")
      const noCommand = Approvals.acceptCommandsMatching(() => true)
      assert.strictEqual(yield* noCommand({ ...commandParams(""), command: null }, info), "decline")
    }))

  it("defaultResponse never accepts", () => {
    assert.deepStrictEqual(Approvals.defaultResponse("item/commandExecution/requestApproval"), { decision: "decline" })
    assert.deepStrictEqual(Approvals.defaultResponse("item/fileChange/requestApproval"), { decision: "decline" })
    assert.deepStrictEqual(Approvals.defaultResponse("mcpServer/elicitation/request"), { action: "cancel", content: null })
    assert.deepStrictEqual(Approvals.defaultResponse("item/tool/requestUserInput"), { answers: {} })
    assert.deepStrictEqual(Approvals.defaultResponse("item/permissions/requestApproval"), { permissions: {}, scope: "turn" })
    assert.deepStrictEqual(Approvals.defaultResponse("execCommandApproval"), {
      decision: { denied: { rejection: "declined by the client" } }
    })
  })
})

/** A Codex service over a fake server; returns the fake server's view of what the client answered. */
const harness = (approvals?: Layer.Layer<Approvals.Approvals>) =>
  Effect.gen(function*() {
    const answers = yield* Queue.unbounded<Fake.Received>()
    const server = yield* Deferred.make<Parameters<Parameters<typeof Fake.layer>[0]>[1]>()
    const client = Fake.layer((message, s) =>
      Deferred.succeed(server, s).pipe(
        Effect.andThen(message.method === "ready" ? Fake.send(s, { id: message.id, result: {} }) : Queue.offer(answers, message)),
        Effect.asVoid
      )
    )
    const codex = approvals === undefined ? Codex.layer : Codex.layer.pipe(Layer.provide(approvals))
    const context = yield* Layer.build(Layer.provideMerge(codex, client))
    const rpc = Context.get(context, AppServerClient)
    yield* rpc.requestRaw("ready", {})
    const s = yield* Deferred.await(server)
    const ask = (id: number, method: string, params: unknown) =>
      Fake.send(s, { id, method, params }).pipe(Effect.andThen(Queue.take(answers)))
    return { ask, send: (value: unknown) => Fake.send(s, value), answers }
  })

describe("Codex.layer answers server requests the pinned protocol lacks (in-memory server)", () => {
  it.effect("currentTime/read (an older codex; removed from the protocol in 0.171) gets whole Unix seconds", () =>
    Effect.gen(function*() {
      const { ask } = yield* harness()
      const before = Math.floor(Date.now() / 1000)
      const answer = yield* ask(5, "currentTime/read", { threadId: "thread-1" })
      const after = Math.floor(Date.now() / 1000)
      assert.strictEqual(answer.id, 5)
      assert.isTrue(Number.isInteger(answer.result.currentTimeAt))
      assert.isAtLeast(answer.result.currentTimeAt, before)
      assert.isAtMost(answer.result.currentTimeAt, after)
      const unknown = yield* ask(6, "made/up/request", {})
      assert.strictEqual(unknown.error.code, -32601)
    }))
})

describe("Approvals through Codex.layer (in-memory server)", () => {
  it.effect("legacy execCommandApproval / applyPatchApproval use the same handlers", () =>
    Effect.gen(function*() {
      const { ask } = yield* harness(Approvals.dangerouslyAcceptAll)
      const exec = yield* ask(7, "execCommandApproval", {
        conversationId: "thread-1",
        callId: "c1",
        command: ["git", "status"],
        cwd: "/tmp",
        parsedCmd: []
      })
      assert.deepStrictEqual(exec, { id: 7, result: { decision: "approved" } })
      const patch = yield* ask(8, "applyPatchApproval", {
        conversationId: "thread-1",
        callId: "c2",
        fileChanges: {}
      })
      assert.deepStrictEqual(patch, { id: 8, result: { decision: "approved" } })
    }))

  it.effect("legacy execCommandApproval argv keeps its word boundaries for a policy (rg --pre hidden in quotes)", () =>
    Effect.gen(function*() {
      const { ask } = yield* harness(Approvals.layer({
        commandExecution: Approvals.acceptCommandsMatching(Approvals.isReadOnlyCommand)
      }))
      const legacy = (id: number, command: ReadonlyArray<string>) =>
        ask(id, "execCommandApproval", { conversationId: "t", callId: `c${id}`, command, cwd: "/tmp", parsedCmd: [] })
      // joined with spaces this read back as one harmless operand: rg 'a --pre=./x.sh b'
      const hostile = yield* legacy(1, ["rg", "'a", "--pre=./x.sh", "b'"])
      assert.deepStrictEqual(hostile.result, { decision: { denied: { rejection: "declined by the client" } } })
      const harmless = yield* legacy(2, ["rg", "needle", "src"])
      assert.deepStrictEqual(harmless.result, { decision: "approved" })
    }))

  it.effect("the default declines everything and never leaves a request unanswered", () =>
    Effect.gen(function*() {
      const { ask } = yield* harness()
      const exec = yield* ask(1, "execCommandApproval", {
        conversationId: "t",
        callId: "c",
        command: ["rm", "-rf", "/"],
        cwd: "/",
        parsedCmd: []
      })
      assert.deepStrictEqual(exec.result, { decision: { denied: { rejection: "declined by the client" } } })
      const command = yield* ask(2, "item/commandExecution/requestApproval", commandParams("rm -rf /"))
      assert.deepStrictEqual(command.result, { decision: "decline" })
      const input = yield* ask(3, "item/tool/requestUserInput", {
        threadId: "t",
        turnId: "u",
        itemId: "i",
        isBlocking: true,
        questions: []
      })
      assert.deepStrictEqual(input.result, { answers: {} })
      const attestation = yield* ask(4, "attestation/generate", {})
      assert.strictEqual(attestation.error?.code, -32601)
      const unknown = yield* ask(5, "brand/new/request", {})
      assert.strictEqual(unknown.error?.code, -32601)
    }))

  it.effect("serverRequest/resolved settles a manual request that is still pending", () =>
    Effect.gen(function*() {
      const service = yield* Approvals.make({ commandExecution: Approvals.manual })
      const { answers, send } = yield* harness(Layer.succeed(Approvals.Approvals, service))
      yield* send({ id: 11, method: "item/commandExecution/requestApproval", params: commandParams("make") })
      let pending = yield* service.pending
      while (pending.length === 0) {
        yield* Effect.yieldNow
        pending = yield* service.pending
      }
      assert.strictEqual(pending[0]!.requestId, 11)
      yield* send({ method: "serverRequest/resolved", params: { threadId: "thread-1", requestId: 11 } })
      const answer = yield* Queue.take(answers)
      assert.deepStrictEqual(answer, { id: 11, result: { decision: "decline" } })
      assert.strictEqual((yield* service.pending).length, 0)
      assert.isFalse(yield* service.respond(11, { decision: "accept" }))
    }))

  it.effect("closing the layer while an approval is pending leaves nothing hanging", () =>
    Effect.gen(function*() {
      const approvals = Approvals.layer({ commandExecution: () => Effect.never })
      yield* Effect.scoped(Effect.gen(function*() {
        const { send } = yield* harness(approvals)
        yield* send({ id: 21, method: "item/commandExecution/requestApproval", params: commandParams("make") })
        yield* Effect.yieldNow
      }))
      // reaching this line means the scope closed although the handler never answers
      assert.isTrue(true)
    }))
})
