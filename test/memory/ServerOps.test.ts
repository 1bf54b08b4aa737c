/**
 * The rest of the server in memory: what the client sends and how it reads codex's answers, where the
 * real binary cannot show it offline (a review on a thread of its own, rate limits and usage of a
 * signed-in account, feedback upload) or cannot show it deterministically (output that arrives in the
 * same read as the exit, a terminate codex refuses at first, an interrupted `exec`), and a client tool
 * call for a thread codex announced deleted.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Schema, Stream } from "effect"
import * as NodeFs from "node:fs"
import * as CodexTest from "../../src/layers/testing/CodexTest.ts"
import type * as Transport from "../../src/layers/Transport.ts"
import * as Codex from "../../src/services/Codex.ts"
import * as CodexTool from "../../src/services/CodexTool.ts"
import * as Command from "../../src/services/Command.ts"
import { eventually } from "../support/Eventually.ts"
import * as Fake from "../support/FakeServer.ts"

/** codex 0.169's answer to `thread/start` (from a recorded session). */
const threadStarted = (() => {
  for (const line of NodeFs.readFileSync(new URL("../fixtures/transcripts/a-plain-message.jsonl", import.meta.url), "utf8").split("\n")) {
    if (line.trim() === "") continue
    const parsed = JSON.parse(line) as { dir: string; msg: { result?: { thread?: Record<string, unknown> } } }
    if (parsed.dir === "s2c" && parsed.msg.result?.thread !== undefined) return parsed.msg.result
  }
  throw new Error("no thread/start answer in the transcript")
})()

const b64 = (text: string) => Buffer.from(text).toString("base64")

/** A Codex over a fake app-server whose every request goes to `onMessage`. */
const fake = (onMessage: (message: Fake.Received, server: Transport.InMemoryServer) => Effect.Effect<void>) =>
  Codex.layer.pipe(Layer.provideMerge(Fake.layer(onMessage)))

describe("Commands (in memory)", () => {
  it.live("command: the request streams output with a fresh process id; chunks sent with the exit in one read are all kept", () =>
    Effect.gen(function*() {
      const received: Array<Fake.Received> = []
      const result = yield* Effect.gen(function*() {
        const command = yield* Codex.command(["sh", "-c", "echo hi"], { cwd: "/work" })
        const exit = yield* command.exit
        const text = yield* command.output.pipe(Command.text(), Stream.mkString)
        return { exit, text, processId: command.processId }
      }).pipe(
        Effect.scoped,
        Effect.provide(fake((message, server) => {
          received.push(message)
          if (message.method !== "command/exec") return Effect.void
          const processId = message.params.processId
          const delta = (stream: string, text: string) => ({
            method: "command/exec/outputDelta",
            params: { processId, stream, deltaBase64: b64(text), capReached: false }
          })
          // one line each, but with no pause in between: the client reads them in one batch
          return Effect.forEach([
            delta("stdout", "h"),
            delta("stdout", "i\n"),
            delta("stderr", "warn\n"),
            { id: message.id, result: { exitCode: 0, stdout: "", stderr: "" } }
          ], (value) => Fake.send(server, value), { discard: true })
        }))
      )
      assert.strictEqual(result.exit.exitCode, 0)
      assert.strictEqual(result.text, "hi\nwarn\n")
      const exec = received.find((message) => message.method === "command/exec")!
      assert.deepStrictEqual(exec.params, {
        command: ["sh", "-c", "echo hi"],
        cwd: "/work",
        processId: result.processId,
        streamStdoutStderr: true,
        streamStdin: true
      })
      assert.match(result.processId, /^effect-codex-[0-9a-f-]{36}$/)
    }))

  it.live("command: output of another process id is not this command's", () =>
    Effect.gen(function*() {
      const text = yield* Effect.gen(function*() {
        const command = yield* Codex.command(["true"], { stdin: false })
        yield* command.exit
        return yield* command.output.pipe(Command.text(), Stream.mkString)
      }).pipe(
        Effect.scoped,
        Effect.provide(fake((message, server) =>
          message.method !== "command/exec" ? Effect.void : Effect.forEach([
            {
              method: "command/exec/outputDelta",
              params: { processId: "someone-else", stream: "stdout", deltaBase64: b64("no"), capReached: false }
            },
            { id: message.id, result: { exitCode: 0, stdout: "", stderr: "" } }
          ], (value) => Fake.send(server, value), { discard: true })
        ))
      )
      assert.strictEqual(text, "")
    }))

  it.live("exec: buffered (no streaming asked), and interrupting it sends command/exec/terminate for its process", () =>
    Effect.gen(function*() {
      const received: Array<Fake.Received> = []
      yield* Effect.gen(function*() {
        const fiber = yield* Effect.forkChild(Codex.exec(["sleep", "60"], { timeoutMs: 90_000 }))
        while (!received.some((message) => message.method === "command/exec")) yield* Effect.yieldNow
        yield* Fiber.interrupt(fiber)
      }).pipe(Effect.provide(fake((message, server) => {
        received.push(message)
        if (message.method !== "command/exec/terminate") return Effect.void
        const exec = received.find((m) => m.method === "command/exec")!
        return Effect.andThen(
          Fake.send(server, { id: message.id, result: {} }),
          Fake.send(server, { id: exec.id, result: { exitCode: 137, stdout: "", stderr: "" } })
        )
      })))
      const exec = received.find((message) => message.method === "command/exec")!
      assert.deepStrictEqual(exec.params, { command: ["sleep", "60"], timeoutMs: 90_000, processId: exec.params.processId })
      const terminate = received.find((message) => message.method === "command/exec/terminate")
      assert.deepStrictEqual(terminate?.params, { processId: exec.params.processId })
    }))

  it.live("terminate: while codex does not know the process yet (RpcError), it is sent again", () =>
    Effect.gen(function*() {
      let terminates = 0
      let execId: number | string | undefined
      const exit = yield* Effect.gen(function*() {
        const command = yield* Codex.command(["sleep", "60"])
        yield* command.terminate
        return yield* command.exit
      }).pipe(
        Effect.scoped,
        Effect.provide(fake((message, server) => {
          if (message.method === "command/exec") {
            return Effect.sync(() => void (execId = message.id))
          }
          if (message.method !== "command/exec/terminate") return Effect.void
          terminates++
          return terminates < 3
            ? Fake.send(server, {
              id: message.id,
              error: { code: -32600, message: `no active command/exec for process id "${message.params.processId}"` }
            })
            : Effect.andThen(
              Fake.send(server, { id: message.id, result: {} }),
              Fake.send(server, { id: execId, result: { exitCode: 137, stdout: "", stderr: "" } })
            )
        }))
      )
      assert.strictEqual(exit.exitCode, 137)
      assert.strictEqual(terminates, 3)
    }))

  it.live("write / closeStdin / resize send codex's shapes (base64 bytes, closeStdin alone, the size)", () =>
    Effect.gen(function*() {
      const received: Array<Fake.Received> = []
      yield* Effect.gen(function*() {
        const command = yield* Codex.command(["cat"], { tty: true, size: { rows: 24, cols: 80 } })
        yield* command.write("héllo")
        yield* command.closeStdin
        yield* command.resize({ rows: 40, cols: 120 })
      }).pipe(
        Effect.scoped,
        Effect.provide(fake((message, server) => {
          received.push(message)
          if (message.method === "command/exec") return Effect.void
          if (message.method === "command/exec/terminate") {
            const exec = received.find((m) => m.method === "command/exec")!
            return Effect.andThen(
              Fake.send(server, { id: message.id, result: {} }),
              Fake.send(server, { id: exec.id, result: { exitCode: 137, stdout: "", stderr: "" } })
            )
          }
          return Fake.send(server, { id: message.id, result: {} })
        }))
      )
      const processId = received[0]!.params.processId
      assert.deepStrictEqual(received.slice(1).map((message) => [message.method, message.params]), [
        ["command/exec/write", { processId, deltaBase64: b64("héllo") }],
        ["command/exec/write", { processId, closeStdin: true }],
        ["command/exec/resize", { processId, size: { rows: 40, cols: 120 } }],
        // the Scope closed while it ran
        ["command/exec/terminate", { processId }]
      ])
    }))
})

describe("Review (in memory)", () => {
  it.live("a review answered on another thread (reviewThreadId) is claimed there, with its events from before the answer", () =>
    Effect.gen(function*() {
      const review = "review-turn"
      const other = "01a1fc6b-0000-7000-8000-00000000beef"
      const { events, result, threadId, sent } = yield* Effect.gen(function*() {
        const thread = yield* Codex.startThread()
        const turn = yield* thread.review({ type: "baseBranch", branch: "main" }, { delivery: "detached" })
        const events = Array.from(yield* Stream.runCollect(turn.events)).map((event) => event._tag)
        return { events, result: yield* turn.result, threadId: turn.threadId, sent: thread.id }
      }).pipe(
        Effect.scoped,
        Effect.provide(fake((message, server) => {
          if (message.method === "thread/start") return Fake.send(server, { id: message.id, result: threadStarted })
          if (message.method !== "review/start") return Effect.void
          const item = { type: "enteredReviewMode", id: "entered", review: "changes against main" }
          const agent = { type: "agentMessage", id: "m", text: "Looks good.", phase: null }
          return Effect.forEach([
            { method: "item/completed", params: { threadId: other, turnId: review, item } },
            {
              method: "turn/started",
              params: { threadId: other, turn: { id: "inner", rootTurnId: review, items: [], status: "inProgress", error: null } }
            },
            { id: message.id, result: { reviewThreadId: other, turn: { id: review, items: [], status: "inProgress", error: null } } },
            { method: "item/completed", params: { threadId: other, turnId: review, item: agent } },
            {
              method: "turn/completed",
              params: { threadId: other, turn: { id: review, items: [agent], status: "completed", error: null } }
            }
          ], (value) => Fake.send(server, value), { discard: true })
        }))
      )
      assert.notStrictEqual(sent, other)
      assert.strictEqual(threadId, other)
      assert.deepStrictEqual(events, ["ItemCompleted", "TurnStarted", "ItemCompleted", "TurnCompleted"])
      assert.strictEqual(result.turnId, review)
      assert.strictEqual(result.finalResponse, "Looks good.")
    }))
})

describe("Usage, limits and feedback (in memory: they need a ChatGPT account or the internet)", () => {
  const rateLimits = {
    rateLimits: {
      limitId: "codex",
      primary: { usedPercent: 42, windowDurationMins: 300, resetsAt: 1796120000 },
      secondary: null,
      planType: "plus"
    },
    rateLimitsByLimitId: null
  }
  const usage = {
    summary: { lifetimeTokens: 1200, peakDailyTokens: 900, currentStreakDays: 1, longestStreakDays: 2 },
    dailyUsageBuckets: null
  }

  it.live("rateLimits and usage send their params and decode codex's answers", () =>
    Effect.gen(function*() {
      const limits = yield* Codex.rateLimits({ excludeResetCreditDetails: true })
      assert.strictEqual(limits.rateLimits.primary?.usedPercent, 42)
      const tokens = yield* Codex.usage({ threadId: "t" })
      assert.strictEqual(tokens.summary.lifetimeTokens, 1200)
      assert.deepStrictEqual(yield* CodexTest.requestsOf("account/rateLimits/read"), [{ excludeResetCreditDetails: true }])
      assert.deepStrictEqual(yield* CodexTest.requestsOf("account/usage/read"), [{ threadId: "t" }])
    }).pipe(
      Effect.provide(Codex.layer.pipe(Layer.provideMerge(CodexTest.layer([], {
        methods: {
          "account/rateLimits/read": () => Effect.succeed(rateLimits),
          "account/usage/read": () => Effect.succeed(usage)
        }
      }))))
    ))

  it.live("rateLimitUpdates: the snapshots of account/rateLimits/updated, in order", () =>
    Effect.gen(function*() {
      const sent = yield* Effect.gen(function*() {
        const fiber = yield* Effect.forkChild(Codex.rateLimitUpdates.pipe(Stream.take(2), Stream.runCollect), {
          startImmediately: true
        })
        yield* Codex.models()
        return Array.from(yield* Fiber.join(fiber))
      }).pipe(Effect.provide(fake((message, server) =>
        message.method !== "model/list" ? Effect.void : Effect.forEach([
          { method: "account/rateLimits/updated", params: { rateLimits: { ...rateLimits.rateLimits, primary: null } } },
          { method: "account/rateLimits/updated", params: rateLimits },
          { id: message.id, result: { data: [], nextCursor: null } }
        ], (value) => Fake.send(server, value), { discard: true })
      )))
      assert.deepStrictEqual(sent.map((snapshot) => snapshot.primary?.usedPercent ?? null), [null, 42])
    }))

  it.live("uploadFeedback sends its params and decodes codex's answer", () =>
    Effect.gen(function*() {
      const answer = yield* Codex.uploadFeedback({ classification: "bug", reason: "it broke", includeLogs: false, threadId: "t" })
      assert.deepStrictEqual(answer, { threadId: "t", promptHash: "abc" })
      assert.deepStrictEqual(yield* CodexTest.requestsOf("feedback/upload"), [
        { classification: "bug", reason: "it broke", includeLogs: false, threadId: "t" }
      ])
    }).pipe(
      Effect.provide(Codex.layer.pipe(Layer.provideMerge(CodexTest.layer([], {
        methods: { "feedback/upload": () => Effect.succeed({ threadId: "t", promptHash: "abc" }) }
      }))))
    ))
})

describe("Client tools (in memory)", () => {
  for (const end of ["thread/deleted", "thread/closed"] as const) {
    it.effect(`a thread's tools are forgotten when codex announces it ${end.slice(7)}: a call for it is then answered 'no tool'`, () =>
      Effect.gen(function*() {
        const replies: Array<Fake.Received> = []
        let server!: Transport.InMemoryServer
        const lookup = CodexTool.make("lookup", {
          description: "Looks a word up",
          parameters: Schema.Struct({ word: Schema.String }),
          run: ({ word }) => Effect.succeed(`found ${word}`)
        })
        const layer = Codex.layer.pipe(Layer.provideMerge(Fake.layer((message, s) => {
          server = s
          if (message.method === "thread/start") return Fake.send(s, { id: message.id, result: threadStarted })
          return Effect.sync(() => void replies.push(message))
        }, { experimentalApi: true })))
        yield* Effect.gen(function*() {
          const thread = yield* Codex.startThread({ tools: [lookup] })
          const call = (id: number) =>
            Fake.send(server, {
              id,
              method: "item/tool/call",
              params: { threadId: thread.id, turnId: "u", callId: `c${id}`, namespace: null, tool: "lookup", arguments: { word: "x" } }
            }).pipe(
              Effect.andThen(eventually(Effect.sync(() => replies.some((reply) => reply.id === id)))),
              Effect.map(() => replies.find((reply) => reply.id === id)!.result)
            )
          assert.deepStrictEqual(yield* call(1), { contentItems: [{ type: "inputText", text: "found x" }], success: true })
          yield* Fake.send(server, { method: end, params: { threadId: thread.id } })
          assert.deepStrictEqual(yield* call(2), {
            contentItems: [{ type: "inputText", text: "No tool named lookup on this client" }],
            success: false
          })
        }).pipe(Effect.provide(layer))
      }))
  }
})
