import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Layer, Logger, Redacted, Schema } from "effect"
import { TestClock } from "effect/testing"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import * as AppServer from "../../src/layers/AppServer.ts"
import * as CodexTest from "../../src/layers/testing/CodexTest.ts"
import { AppServerClient } from "../../src/services/AppServerClient.ts"
import * as Codex from "../../src/services/Codex.ts"
import type * as CodexError from "../../src/schema/CodexError.ts"
import { exitReason, reasonOf } from "../support/Errors.ts"
import * as Fake from "../support/FakeServer.ts"
import { awaitNoPidsWithEnv, tempDir, writeScript } from "../support/Home.ts"

const build = <E>(layer: Layer.Layer<AppServerClient, E, never>) => Effect.scoped(Layer.build(layer))

const spawnMarker = (dir: string) => NodePath.join(dir, "spawned")

describe("Options: every option is checked before anything is spawned or sent", () => {
  // Each of these hung, was clamped silently or died with an untyped defect before.
  const bad: ReadonlyArray<readonly [name: string, options: Record<string, unknown>]> = [
    ["maxInFlight", { maxInFlight: Number.NaN }],
    ["maxInFlight", { maxInFlight: 0 }],
    ["maxInFlight", { maxInFlight: -1 }],
    ["maxInFlight", { maxInFlight: 2.5 }],
    ["requestTimeout", { requestTimeout: "abc" }],
    ["requestTimeout", { requestTimeout: -5 }],
    ["requestTimeout", { requestTimeout: Number.NaN }],
    ["requestTimeout", { requestTimeout: 0 }],
    ["startupTimeout", { startupTimeout: "soon" }],
    ["shutdownTimeout", { shutdownTimeout: "xyz" }],
    ["shutdownTimeout", { shutdownTimeout: "Infinity" }],
    ["experimentalApi", { experimentalApi: "yes" }],
    ["args", { args: "--verbose" }],
    ["env.KEY", { env: { KEY: 42 } }],
    ["apiKey", { apiKey: "sk-plain-string" }],
    ["codexHome", { codexHome: "" }],
    ["config", { config: "model=x" }],
    ["overloadRetry", { overloadRetry: 3 }],
    ["clientInfo", { clientInfo: "me" }],
    ["optOutNotificationMethods", { optOutNotificationMethods: "item/agentMessage/delta" }]
  ]

  for (const [name, options] of bad) {
    it.live(`AppServer.layer: ${JSON.stringify(options)} is InvalidOptions naming ${name}, nothing spawned`, () =>
      Effect.gen(function*() {
        const dir = yield* tempDir()
        const codexPath = writeScript(dir, "codex", `touch ${JSON.stringify(spawnMarker(dir))}; sleep 5`)
        const reason = yield* reasonOf(
          build(AppServer.layer({ codexPath, ...options } as AppServer.Options).pipe(Layer.provide(NodeServices.layer)))
        ).pipe(Effect.timeout("5 seconds"))
        assert.strictEqual(reason._tag, "InvalidOptions")
        assert.include(reason.message, `option ${name}`)
        assert.isFalse(NodeFs.existsSync(spawnMarker(dir)), "nothing was spawned")
        assert.notInclude(reason.message, "sk-plain-string")
      }))
  }

  it.effect("the in-memory layers check the same client options", () =>
    Effect.gen(function*() {
      const reason = yield* reasonOf(build(CodexTest.layer([], { maxInFlight: Number.NaN })).pipe(
        Effect.catchDefect((defect) => Effect.fail((defect as CodexError.CodexError)))
      ))
      assert.strictEqual(reason._tag, "InvalidOptions")
      const fake = yield* reasonOf(build(Fake.layer(() => Effect.void, { requestTimeout: "abc" as never })))
      assert.include(fake.message, "option requestTimeout")
    }))

  it.live("layerWebSocket: a bad URL is InvalidOptions and does not echo the URL", () =>
    Effect.gen(function*() {
      const reason = yield* reasonOf(build(AppServer.layerWebSocket({ url: "http://user:hunter2@127.0.0.1:1/" })))
      assert.strictEqual(reason._tag, "InvalidOptions")
      assert.include(reason.message, "option url")
      assert.notInclude(reason.message, "hunter2")
      for (const url of ["ws://127.0.0.1:1/#frag", "ws://127.0.0.1:port/", "tcp://127.0.0.1:1", "not a url"]) {
        const bad = yield* reasonOf(build(AppServer.layerWebSocket({ url })))
        assert.strictEqual(bad._tag, "InvalidOptions", url)
      }
      const token = yield* reasonOf(build(AppServer.layerWebSocket({ url: "ws://127.0.0.1:1", token: 5 as never })))
      assert.include(token.message, "option token")
    }))

  it.effect("a per-request timeout that is not a duration is InvalidOptions, the request is not sent", () =>
    Effect.gen(function*() {
      const sent: Array<string> = []
      const reason = yield* Effect.gen(function*() {
        const client = yield* AppServerClient
        return yield* reasonOf(client.requestRaw("model/list", {}, { timeout: "later" as never }))
      }).pipe(Effect.provide(Fake.layer((message) => Effect.sync(() => sent.push(message.method ?? "")))))
      assert.strictEqual(reason._tag, "InvalidOptions")
      assert.deepStrictEqual(sent, [])
    }))

  it.effect("outputSchema that is neither a Schema nor a JSON Schema object is InvalidOptions, no turn starts", () =>
    Effect.gen(function*() {
      const result = yield* Effect.gen(function*() {
        const thread = yield* Codex.startThread()
        const garbage = yield* reasonOf(thread.run("x", { outputSchema: "garbage" as never }))
        const array = yield* reasonOf(thread.run("x", { outputSchema: [1, 2] as never }))
        const untyped = yield* reasonOf(thread.run("x", { outputSchema: { properties: {} } as never }))
        const interrupt = yield* reasonOf(thread.run("x", { interruptTimeout: "never" as never }))
        const starts = yield* CodexTest.requestsOf("turn/start")
        return { garbage, array, untyped, interrupt, starts }
      }).pipe(Effect.provide(Codex.layer), Effect.provide(CodexTest.layer([CodexTest.reply("unused")])))
      assert.include(result.garbage.message, "option outputSchema")
      assert.include(result.array.message, "option outputSchema")
      assert.include(result.untyped.message, "option outputSchema")
      assert.include(result.interrupt.message, "option interruptTimeout")
      assert.strictEqual(result.starts.length, 0)
      // a real Schema and a real JSON Schema still work
      yield* Effect.gen(function*() {
        const thread = yield* Codex.startThread()
        const typed = yield* thread.run("x", { outputSchema: Schema.Struct({ ok: Schema.Boolean }) })
        assert.deepStrictEqual(typed.output, { ok: true })
      }).pipe(Effect.provide(Codex.layer), Effect.provide(CodexTest.layer([CodexTest.reply(`{"ok":true}`)])))
    }))

  it.effect("a Redacted apiKey is accepted (the check does not reveal it)", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(
        build(AppServer.layer({ apiKey: Redacted.make("sk-1"), codexPath: "/nonexistent/codex" }).pipe(
          Layer.provide(NodeServices.layer)
        ))
      )
      assert.strictEqual(exitReason(exit)?._tag, "SpawnError")
    }))
})

describe("startupTimeout: a server that never answers initialize", () => {
  it.effect("in memory: Timeout (method initialize) after startupTimeout, on the Clock", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.forkChild(
        build(AppServer.layerInMemory(() => Effect.never, { startupTimeout: "2 seconds" }))
      )
      yield* TestClock.adjust("1 second")
      assert.isUndefined(fiber.pollUnsafe())
      yield* TestClock.adjust("1 second")
      const exit = yield* Fiber.await(fiber)
      const reason = exitReason(exit)
      assert.strictEqual(reason?._tag, "Timeout")
      assert.strictEqual(reason?._tag === "Timeout" ? reason.method : undefined, "initialize")
    }))

  it.effect("the default is 30 seconds, not the 5-minute requestTimeout", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.forkChild(build(AppServer.layerInMemory(() => Effect.never)))
      yield* TestClock.adjust("29 seconds")
      assert.isUndefined(fiber.pollUnsafe())
      yield* TestClock.adjust("1 second")
      assert.strictEqual(exitReason(yield* Fiber.await(fiber))?._tag, "Timeout")
    }))

  it.live("a real process that never answers: Timeout in about startupTimeout, and the process is gone", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir()
      const marker = `effect-codex-silent-${process.pid}-${Date.now()}`
      const codexPath = writeScript(dir, "codex", `export SILENT_MARKER=${marker}\nexec sleep 60`)
      const started = performance.now()
      const exit = yield* Effect.exit(
        build(AppServer.layer({ codexPath, startupTimeout: "600 millis", shutdownTimeout: "200 millis" }).pipe(
          Layer.provide(NodeServices.layer)
        ))
      )
      const elapsed = performance.now() - started
      const reason = exitReason(exit)
      assert.strictEqual(reason?._tag, "Timeout")
      console.log(`[startup] a silent server failed with Timeout (initialize) after ${elapsed.toFixed(0)} ms (startupTimeout 600 ms)`)
      assert.isAtLeast(elapsed, 550)
      assert.isBelow(elapsed, 3000, `failed after ${elapsed.toFixed(0)} ms`)
      assert.deepStrictEqual(yield* awaitNoPidsWithEnv("SILENT_MARKER", marker, 2000), [])
    }))
})

describe("requestTimeout counts from the call, queued requests included", () => {
  it.effect("maxInFlight 2, a silent server: all 10 requests fail with Timeout after requestTimeout", () =>
    Effect.gen(function*() {
      const exits = yield* Effect.gen(function*() {
        const client = yield* AppServerClient
        const fibers = yield* Effect.forEach(
          Array.from({ length: 10 }, (_, i) => i),
          (i) => Effect.forkChild(client.requestRaw("silent", { i }))
        )
        yield* TestClock.adjust("900 millis")
        assert.isTrue(fibers.every((fiber) => fiber.pollUnsafe() === undefined), "nothing failed early")
        yield* TestClock.adjust("200 millis")
        return yield* Effect.forEach(fibers, Fiber.await)
      }).pipe(Effect.provide(Fake.layer(() => Effect.void, { maxInFlight: 2, requestTimeout: "1 second" })))
      assert.deepStrictEqual(exits.map((exit) => exitReason(exit)?._tag), Array(10).fill("Timeout"))
    }))

  it.effect("a queued request that gets a slot late still answers if its deadline has not passed", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.gen(function*() {
        const client = yield* AppServerClient
        const first = yield* Effect.forkChild(client.requestRaw("slow", {}, { timeout: "10 seconds" }))
        const second = yield* Effect.forkChild(client.requestRaw("fast", {}, { timeout: "10 seconds" }))
        yield* TestClock.adjust("5 seconds")
        yield* Fiber.await(first)
        return yield* Fiber.await(second)
      }).pipe(Effect.provide(Fake.layer((message, server) =>
        message.method === "slow"
          ? Effect.sleep("4 seconds").pipe(Effect.andThen(Fake.send(server, { id: message.id, result: "slow" })))
          : Fake.send(server, { id: message.id, result: "fast" }), { maxInFlight: 1 })))
      assert.isTrue(Exit.isSuccess(exit))
    }))
})

describe("codex retrying is visible", () => {
  it.effect("an error notification with willRetry is logged at Warning with its message", () =>
    Effect.gen(function*() {
      const logs: Array<string> = []
      const result = yield* Effect.gen(function*() {
        const thread = yield* Codex.startThread()
        return yield* thread.run("hi")
      }).pipe(
        Effect.provide(Codex.layer),
        Effect.provide(CodexTest.layer([
          CodexTest.turn(CodexTest.retrying("Reconnecting... 1/5"), CodexTest.reply("done"))
        ])),
        Effect.provide(captureWarnings(logs))
      )
      assert.strictEqual(result.finalResponse, "done")
      assert.isTrue(logs.some((line) => line.includes("Reconnecting... 1/5")), JSON.stringify(logs))
    }))
})

const captureWarnings = (into: Array<string>) =>
  Logger.layer([
    Logger.make(({ logLevel, message }) => {
      if (logLevel === "Warn") into.push(Array.isArray(message) ? message.join(" ") : String(message))
    })
  ])
