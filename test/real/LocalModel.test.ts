import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Scope } from "effect"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import * as LocalModel from "../../src/layers/testing/LocalModel.ts"
import { configToArgs } from "../../src/schema/internal/toml.ts"
import { startCodex, tempDir } from "../support/RawCodex.ts"

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

const post = (url: string, body: unknown = { input: [] }) =>
  Effect.promise(() =>
    fetch(`${url}/responses`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })
      .then(async (res) => ({ status: res.status, text: await res.text() }))
  )

describe("LocalModel (real codex binary)", () => {
  it.live("plain text turn: deltas, usage, recorded request; unscripted request fails clearly", () =>
    Effect.gen(function*() {
      const model = yield* LocalModel.make([
        LocalModel.text("Hello from the mock model!", {
          deltas: ["Hello ", "from the ", "mock ", "model!"],
          usage: { input: 1234, cached: 1000, output: 56, reasoning: 7 }
        })
      ])
      const session = yield* startCodex(model)
      const log = yield* session.turn("Say hello")

      assert.deepStrictEqual(log.ofMethod("item/agentMessage/delta").map((d) => d.delta), [
        "Hello ",
        "from the ",
        "mock ",
        "model!"
      ])
      const [usage] = log.ofMethod("thread/tokenUsage/updated")
      assert.deepStrictEqual(usage.tokenUsage.last, {
        totalTokens: 1290,
        inputTokens: 1234,
        cachedInputTokens: 1000,
        cacheWriteInputTokens: 0,
        outputTokens: 56,
        reasoningOutputTokens: 7
      })
      assert.strictEqual(log.turn.status, "completed")
      assert.strictEqual(log.turn.items[0].text, "Hello from the mock model!")

      const [request] = yield* model.requests
      assert.strictEqual(request!.path, "/v1/responses")
      assert.strictEqual(request!.body.model, "mock-model")
      assert.strictEqual(LocalModel.lastUserText(request!), "Say hello")
      assert.include(LocalModel.toolNames(request!), "apply_patch")
      assert.isUndefined(request!.headers.authorization)
      assert.strictEqual(yield* model.remaining, 0)

      // Past the end of the script: a failed turn whose message names the request.
      const extra = yield* session.turn("One more")
      assert.strictEqual(extra.turn.status, "failed")
      assert.strictEqual(extra.turn.error.message, "LocalModel: no scripted response for request #1")
      assert.isTrue((yield* model.requests)[1]!.unscripted)
    }))

  it.live("shell with escalation: approval requested, accepted, output sent back to the model", () =>
    Effect.gen(function*() {
      const model = yield* LocalModel.make([
        LocalModel.shell("touch marker.txt && echo created-marker", {
          escalate: true,
          justification: "Create marker.txt in the workspace?",
          callId: "call_exec_1"
        }),
        LocalModel.text("Done.")
      ], { approvalPolicy: "on-request" })
      const session = yield* startCodex(model)
      const log = yield* session.turn("Create a marker file")

      const [approval] = log.serverRequests
      assert.strictEqual(approval!.method, "item/commandExecution/requestApproval")
      assert.strictEqual(approval!.params.itemId, "call_exec_1")
      assert.strictEqual(approval!.params.reason, "Create marker.txt in the workspace?")
      assert.strictEqual(log.turn.status, "completed")
      assert.isTrue(NodeFs.existsSync(NodePath.join(session.cwd, "marker.txt")))

      const requests = yield* model.requests
      assert.strictEqual(requests.length, 2)
      const [output] = LocalModel.toolOutputs(requests[1]!)
      assert.strictEqual(output!.type, "function_call_output")
      assert.strictEqual(output!.callId, "call_exec_1")
      assert.include(output!.output, "created-marker")
    }))

  it.live("applyPatch: file change approval, file written, custom_tool_call_output", () =>
    Effect.gen(function*() {
      const model = yield* LocalModel.make([
        LocalModel.applyPatch("*** Begin Patch\n*** Add File: hello.txt\n+hello from apply_patch\n*** End Patch\n"),
        LocalModel.text("Patched.")
      ], { approvalPolicy: "on-request" })
      const session = yield* startCodex(model)
      const log = yield* session.turn("Create hello.txt")

      assert.deepStrictEqual(log.serverRequests.map((r) => r.method), ["item/fileChange/requestApproval"])
      assert.strictEqual(log.turn.status, "completed")
      assert.strictEqual(NodeFs.readFileSync(NodePath.join(session.cwd, "hello.txt"), "utf8"), "hello from apply_patch\n")
      const [output] = LocalModel.toolOutputs((yield* model.requests)[1]!)
      assert.strictEqual(output!.type, "custom_tool_call_output")
      assert.include(output!.output, "Success")
    }))

  it.live("toolCall: a client dynamic tool gets item/tool/call; reasoning + response combine", () =>
    Effect.gen(function*() {
      const model = yield* LocalModel.make([
        LocalModel.response([
          LocalModel.reasoning("Need the weather", { deltas: 2 }),
          LocalModel.toolCall("lookup_weather", { city: "Paris" }, { callId: "call_dyn_1" })
        ]),
        // A dynamic step: answers from what the request carries.
        (request) => LocalModel.text(`Weather: ${LocalModel.toolOutputs(request)[0]?.output}`, { phase: "final_answer" })
      ])
      const session = yield* startCodex(model, {
        threadParams: {
          dynamicTools: [{
            type: "function",
            name: "lookup_weather",
            description: "Look up the weather for a city",
            inputSchema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] }
          }]
        }
      })
      const log = yield* session.turn("What is the weather in Paris?", {
        onServerRequest: () => ({ contentItems: [{ type: "inputText", text: "Sunny in Paris" }], success: true })
      })
      const [call] = log.serverRequests
      assert.strictEqual(call!.method, "item/tool/call")
      assert.deepStrictEqual(call!.params.arguments, { city: "Paris" })
      assert.deepStrictEqual(log.ofMethod("item/reasoning/summaryTextDelta").map((d) => d.delta), ["Need the", " weather"])
      assert.strictEqual(log.turn.items[0].text, "Weather: Sunny in Paris")
      assert.strictEqual(log.turn.items[0].phase, "final_answer")
    }))

  it.live("error steps map to the expected codexErrorInfo; the thread stays usable", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [LocalModel.Step, unknown, string | RegExp]> = [
        [LocalModel.rateLimited(), { responseTooManyFailedAttempts: { httpStatusCode: 429 } }, /429 Too Many Requests/],
        [LocalModel.serverError(), "internalServerError", /high demand/],
        [LocalModel.unauthorized(), { httpConnectionFailed: { httpStatusCode: 401 } }, /401 Unauthorized/],
        [LocalModel.quotaExceeded(), "usageLimitExceeded", /Quota exceeded/],
        [LocalModel.httpError(400, "bad request (test)"), "other", "bad request (test)"],
        [LocalModel.truncated(), "other", /stream closed before response.completed/],
        [LocalModel.malformed(), "other", /stream closed before response.completed/],
        [LocalModel.sseError("ignored"), "other", /stream closed before response.completed/],
        [LocalModel.responseFailed("The model failed (test)"), "other", /The model failed \(test\)/],
        [LocalModel.incomplete(), "other", /Incomplete response returned, reason: max_output_tokens/],
        // Last: it makes codex compact the context before the next turn (one extra model request).
        [LocalModel.contextWindowExceeded(), "contextWindowExceeded", /context window/]
      ]
      const model = yield* LocalModel.make(cases.map(([step]) => step))
      const session = yield* startCodex(model)
      for (const [step, info, message] of cases) {
        const log = yield* session.turn("trigger error")
        const label = JSON.stringify(info) + " " + String(message) + " " + JSON.stringify(step)
        assert.strictEqual(log.turn.status, "failed", label)
        assert.deepStrictEqual(log.turn.error.codexErrorInfo, info, label)
        if (typeof message === "string") assert.strictEqual(log.turn.error.message, message, label)
        else assert.match(log.turn.error.message, message, label)
        assert.strictEqual(log.errors.length, 1, label)
        assert.isFalse(log.errors[0].willRetry, label)
      }
      yield* model.push(LocalModel.text("summary of the conversation"), LocalModel.text("recovered"))
      const after = yield* session.turn("after errors")
      assert.strictEqual(after.turn.status, "completed")
      assert.strictEqual(after.turn.items[0].text, "recovered")
      assert.isDefined(after.ofMethod("item/completed").find((i) => i.item.type === "contextCompaction"))
      assert.strictEqual((yield* model.requests).length, cases.length + 2)
    }))

  it.live("hang + slow: interrupt mid-stream; the next turn sees <turn_aborted>", () =>
    Effect.gen(function*() {
      const model = yield* LocalModel.make([
        LocalModel.hang(LocalModel.slow(LocalModel.text("xxx", { deltas: 3 }), { chunkDelay: "30 millis" })),
        LocalModel.text("Again done")
      ])
      const session = yield* startCodex(model)
      const interrupted = yield* Effect.forkChild(session.turn("Write slowly"))
      const request = yield* model.awaitRequest(0)
      // codex names the turn in the request metadata.
      const turnId = (request.body.client_metadata as { turn_id: string }).turn_id
      // 5 frames 30 ms apart: after that the stream is open and idle.
      yield* Effect.sleep("400 millis")
      yield* Effect.promise(() => session.client.request("turn/interrupt", { threadId: session.threadId, turnId }))
      const log = yield* Fiber.join(interrupted)
      assert.strictEqual(log.turn.status, "interrupted")
      assert.deepStrictEqual(log.ofMethod("item/agentMessage/delta").map((d) => d.delta), ["x", "x", "x"])
      const next = yield* session.turn("Again")
      assert.strictEqual(next.turn.status, "completed")
      assert.include(JSON.stringify((yield* model.requests)[1]!.body.input), "<turn_aborted>")
    }))

  it.live("a hanging stream does not block scope close", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const model = yield* LocalModel.make([LocalModel.hang()]).pipe(Scope.provide(scope))
      const home = model.codexHome
      assert.isTrue(NodeFs.existsSync(NodePath.join(home, "config.toml")))
      const res = yield* Effect.promise(() => fetch(`${model.url}/responses`, { method: "POST", body: "{}" }))
      assert.strictEqual(res.headers.get("content-type"), "text/event-stream")
      const started = Date.now()
      yield* Scope.close(scope, Exit.void)
      assert.isBelow(Date.now() - started, 500)
      assert.isFalse(NodeFs.existsSync(home))
      const refused = yield* Effect.promise(() => fetch(`${model.url}/responses`, { method: "POST" }).then(() => false, () => true))
      assert.isTrue(refused)
    }))

  it.live("appServerOptions.config alone (as -c args, empty CODEX_HOME) points codex at the model", () =>
    Effect.gen(function*() {
      const model = yield* LocalModel.make([LocalModel.text("via -c")])
      const emptyHome = yield* tempDir("effect-codex-home-")
      const session = yield* startCodex(model, {
        env: { CODEX_HOME: emptyHome },
        args: [...configToArgs(model.appServerOptions.config)]
      })
      const log = yield* session.turn("hi")
      assert.strictEqual(log.turn.items[0].text, "via -c")
      assert.include(LocalModel.toolNames((yield* model.requests)[0]!), "apply_patch")
      const pid = session.client.child.pid!
      yield* Effect.promise(() => session.client.close())
      assert.isFalse(isAlive(pid))
    }))

  it.live("push, remaining, dynamic steps, other paths, layer accessors", () =>
    Effect.gen(function*() {
      const echo: LocalModel.Step = (request) => LocalModel.text(`echo: ${LocalModel.lastUserText(request)}`)
      const model = yield* LocalModel.LocalModel
      assert.match(model.url, /^http:\/\/127\.0\.0\.1:\d+\/v1$/)
      assert.strictEqual(yield* LocalModel.remaining, 0)
      yield* LocalModel.push(echo, LocalModel.httpError(418, { teapot: true }))
      assert.strictEqual(yield* LocalModel.remaining, 2)

      const first = yield* post(model.url, { input: [{ type: "message", role: "user", content: [{ type: "input_text", text: "ping" }] }] })
      assert.include(first.text, "echo: ping")
      assert.include(first.text, "event: response.completed")
      const second = yield* post(model.url)
      assert.deepStrictEqual(second, { status: 418, text: "{\"teapot\":true}" })
      const notFound = yield* Effect.promise(() => fetch(`${model.url}/models`).then((r) => r.status))
      assert.strictEqual(notFound, 404)

      const requests = yield* LocalModel.requests
      assert.deepStrictEqual(requests.map((r) => [r.index, r.method, r.path, r.unscripted]), [
        [0, "POST", "/v1/responses", false],
        [1, "POST", "/v1/responses", false],
        [2, "GET", "/v1/models", true]
      ])
      assert.strictEqual((yield* LocalModel.awaitRequest(2)).path, "/v1/models")
      const config = NodeFs.readFileSync(NodePath.join(model.codexHome, "config.toml"), "utf8")
      assert.include(config, `base_url = "${model.url}"`)
      assert.include(config, `approval_policy = "on-request"`)
    }).pipe(Effect.provide(LocalModel.layer([], { approvalPolicy: "on-request" }))))

  it.live("LocalModel streams 20,000 undelayed deltas (one loop, no call per frame)", () =>
    Effect.gen(function*() {
      const deltas = Array.from({ length: 20_000 }, (_, i) => `d${i} `)
      const model = yield* LocalModel.make([LocalModel.text(deltas.join(""), { deltas })])
      const { status, text } = yield* post(model.url)
      assert.strictEqual(status, 200)
      const frames = text.split("\n\n").filter((frame) => frame.includes("response.output_text.delta"))
      assert.strictEqual(frames.length, 20_000)
      assert.include(frames[19_999], "d19999 ")
      assert.include(text, "response.completed")
    }))
})
