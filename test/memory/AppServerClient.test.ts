import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Option, Queue, Ref, Schedule, Stream, Tracer } from "effect"
import { TestClock } from "effect/testing"
import { AppServerClient } from "../../src/services/AppServerClient.ts"
import * as CodexError from "../../src/schema/CodexError.ts"
import * as Fake from "../support/FakeServer.ts"
import { reasonOf } from "../support/Errors.ts"


describe("AppServerClient (in-memory server)", () => {
  it.effect("answers out of order", () =>
    Effect.gen(function*() {
      const held: Array<Fake.Received> = []
      const all = yield* Deferred.make<void>()
      let server!: Parameters<Parameters<typeof Fake.layer>[0]>[1]
      const layer = Fake.layer((message, s) =>
        Effect.sync(() => {
          server = s
          held.push(message)
        }).pipe(
          Effect.andThen(Effect.suspend(() => held.length === 3 ? Deferred.succeed(all, undefined) : Effect.void)),
          Effect.asVoid
        )
      )
      yield* Effect.gen(function*() {
        const client = yield* AppServerClient
        const fibers = yield* Effect.forEach([1, 2, 3], (n) => Effect.forkChild(client.requestRaw("echo", { n })))
        yield* Deferred.await(all)
        for (const message of held.slice().reverse()) {
          yield* Fake.send(server, { id: message.id, result: { echoed: message.params.n } })
        }
        const results = yield* Effect.forEach(fibers, Fiber.join)
        assert.deepStrictEqual(results, [{ echoed: 1 }, { echoed: 2 }, { echoed: 3 }])
      }).pipe(Effect.provide(layer))
    }))

  it.effect("survives garbage, empty, huge and unknown-id lines", () =>
    Effect.gen(function*() {
      const layer = Fake.layer((message, server) =>
        Effect.gen(function*() {
          yield* server.send("")
          yield* server.send("   ")
          yield* server.send("{not json")
          yield* server.send("x".repeat(16 * 1024 * 1024))
          yield* server.send(JSON.stringify([{ id: message.id, result: "batch" }]))
          yield* Fake.send(server, { id: 987654, result: "nobody asked" })
          yield* Fake.send(server, { id: message.id })
          yield* Fake.send(server, { method: "some/new/notification", params: { a: 1 } })
          yield* Fake.send(server, { id: message.id, result: { ok: true } })
        })
      )
      const result = yield* Effect.gen(function*() {
        const client = yield* AppServerClient
        const events = yield* client.subscribe
        const result = yield* client.requestRaw("ping", {})
        const first = yield* Stream.runHead(events)
        assert.deepStrictEqual(Option.getOrThrow(first), {
          _tag: "UnknownNotification",
          method: "some/new/notification",
          params: { a: 1 }
        })
        return result
      }).pipe(Effect.provide(layer))
      assert.deepStrictEqual(result, { ok: true })
    }))

  it.effect("method names that are Object.prototype keys are unknown methods, not crashes", () =>
    Effect.gen(function*() {
      const answers: Array<Fake.Received> = []
      const layer = Fake.layer((message, server) =>
        message.method === "valueOf"
          ? Fake.send(server, { id: message.id, result: "answered" })
          : message.method === "probe"
          ? Effect.gen(function*() {
            yield* Fake.send(server, { method: "toString", params: {} })
            yield* Fake.send(server, { method: "hasOwnProperty", id: 41, params: {} })
            yield* Fake.send(server, { method: "constructor", id: 42, params: {} })
            yield* Fake.send(server, { id: message.id, result: { ok: true } })
          })
          : Effect.sync(() => void answers.push(message))
      )
      const result = yield* Effect.gen(function*() {
        const client = yield* AppServerClient
        const events = yield* client.subscribe
        const result = yield* client.requestRaw("probe", {})
        const first = yield* Stream.runHead(events)
        assert.deepStrictEqual(Option.getOrThrow(first), { _tag: "UnknownNotification", method: "toString", params: {} })
        // a client request by such a name goes out (and is answered) like any other
        assert.strictEqual(yield* client.requestRaw("valueOf", {}), "answered")
        return result
      }).pipe(Effect.provide(layer))
      assert.deepStrictEqual(result, { ok: true })
      const refused = answers.filter((answer) => answer.id === 41 || answer.id === 42)
      assert.deepStrictEqual(refused.map((answer) => answer.error?.code), [-32601, -32601])
    }))

  it.effect("a JSON-RPC error becomes RpcError with the method", () =>
    Effect.gen(function*() {
      const layer = Fake.layer((message, server) =>
        Fake.send(server, { id: message.id, error: { code: -32600, message: "Invalid request: unknown variant" } })
      )
      const reason = yield* reasonOf(Effect.flatMap(AppServerClient, (c) => c.requestRaw("nope", {}))).pipe(
        Effect.provide(layer)
      )
      assert.strictEqual(reason._tag, "RpcError")
      if (reason._tag === "RpcError") {
        assert.strictEqual(reason.code, -32600)
        assert.strictEqual(reason.method, "nope")
      }
    }))

  it.effect("retries -32001 with the overload schedule, then answers", () =>
    Effect.gen(function*() {
      const attempts = yield* Ref.make(0)
      const layer = Fake.layer((message, server) =>
        Ref.updateAndGet(attempts, (n) => n + 1).pipe(
          Effect.flatMap((n) =>
            n < 4
              ? Fake.send(server, { id: message.id, error: { code: -32001, message: "Server overloaded; retry later." } })
              : Fake.send(server, { id: message.id, result: { attempt: n } })
          )
        )
      )
      const result = yield* Effect.gen(function*() {
        const client = yield* AppServerClient
        const fiber = yield* Effect.forkChild(client.requestRaw("model/list", {}))
        // Each retry sleeps on the TestClock: advance it step by step.
        for (let i = 0; i < 40 && fiber.pollUnsafe() === undefined; i++) yield* TestClock.adjust("500 millis")
        return yield* Fiber.join(fiber)
      }).pipe(Effect.provide(layer))
      assert.deepStrictEqual(result, { attempt: 4 })
    }))

  it.effect("a typed request retried after -32001 decodes the answer of the attempt that succeeded", () =>
    Effect.gen(function*() {
      const attempts = yield* Ref.make(0)
      const overloaded = { code: -32001, message: "Server overloaded; retry later." }
      const layer = Fake.layer((message, server) =>
        Ref.updateAndGet(attempts, (n) => n + 1).pipe(
          Effect.flatMap((n) =>
            n === 1 || n === 2 || n === 4
              ? Fake.send(server, { id: message.id, error: overloaded })
              : n === 3
              ? Fake.send(server, { id: message.id, result: { data: "not an array" } })
              : Fake.send(server, { id: message.id, result: { data: ["thr_1"], nextCursor: null } })
          )
        )
      )
      const [bad, ok] = yield* Effect.gen(function*() {
        const client = yield* AppServerClient
        const retried = yield* Effect.forkChild(reasonOf(client.request("thread/loaded/list", {})))
        for (let i = 0; i < 40 && retried.pollUnsafe() === undefined; i++) yield* TestClock.adjust("500 millis")
        const bad = yield* Fiber.join(retried)
        const again = yield* Effect.forkChild(client.request("thread/loaded/list", {}))
        for (let i = 0; i < 40 && again.pollUnsafe() === undefined; i++) yield* TestClock.adjust("500 millis")
        return [bad, yield* Fiber.join(again)] as const
      }).pipe(Effect.provide(layer))
      // the retried attempt's answer is decoded like a first answer: a ProtocolError, not a retry
      assert.strictEqual(bad._tag, "ProtocolError")
      assert.deepStrictEqual(ok, { data: ["thr_1"], nextCursor: null })
      assert.strictEqual(yield* Ref.get(attempts), 5)
    }))

  it.effect("gives up with Overloaded when the schedule is exhausted", () =>
    Effect.gen(function*() {
      const attempts = yield* Ref.make(0)
      const layer = Fake.layer(
        (message, server) =>
          Ref.update(attempts, (n) => n + 1).pipe(
            Effect.andThen(
              Fake.send(server, { id: message.id, error: { code: -32001, message: "Server overloaded; retry later." } })
            )
          ),
        { overloadRetry: Schedule.recurs(2) }
      )
      const reason = yield* Effect.gen(function*() {
        const client = yield* AppServerClient
        return yield* reasonOf(client.requestRaw("model/list", {}))
      }).pipe(Effect.provide(layer))
      assert.strictEqual(reason._tag, "Overloaded")
      assert.strictEqual(yield* Ref.get(attempts), 3)
    }))

  it.effect("times out a request that gets no answer", () =>
    Effect.gen(function*() {
      const layer = Fake.layer(() => Effect.void, { requestTimeout: "10 seconds" })
      const reason = yield* Effect.gen(function*() {
        const client = yield* AppServerClient
        const fiber = yield* Effect.forkChild(reasonOf(client.requestRaw("thread/list", {})))
        yield* TestClock.adjust("9 seconds")
        assert.isUndefined(fiber.pollUnsafe())
        yield* TestClock.adjust("1 second")
        return yield* Fiber.join(fiber)
      }).pipe(Effect.provide(layer))
      assert.deepStrictEqual(reason._tag, "Timeout")
    }))

  it.effect("when the server goes away, pending requests and subscribers fail with its reason", () =>
    Effect.gen(function*() {
      const exited = CodexError.make(
        new CodexError.ProcessExited({ exitCode: 3, signal: undefined, stderrTail: ["boom"] })
      )
      const layer = Fake.layer((message, server) =>
        message.method === "die" ? server.close(exited) : Effect.void
      )
      yield* Effect.gen(function*() {
        const client = yield* AppServerClient
        const events = yield* client.subscribe
        const pending = yield* Effect.forkChild(reasonOf(client.requestRaw("hang", {})))
        const dying = yield* reasonOf(client.requestRaw("die", {}))
        assert.strictEqual(dying._tag, "ProcessExited")
        assert.strictEqual((yield* Fiber.join(pending))._tag, "ProcessExited")
        assert.strictEqual((yield* reasonOf(Stream.runDrain(events)))._tag, "ProcessExited")
        const later = yield* reasonOf(client.requestRaw("thread/list", {}))
        assert.deepStrictEqual(later, exited.reason)
      }).pipe(Effect.provide(layer))
    }))

  it.effect("raw params that are not JSON (a BigInt) fail that request with ProtocolError; the connection goes on", () =>
    Effect.gen(function*() {
      const layer = Fake.layer((message, s) => Fake.send(s, { id: message.id, result: { ok: message.method } }))
      yield* Effect.gen(function*() {
        const client = yield* AppServerClient
        const reason = yield* reasonOf(client.requestRaw("bad", { n: 1n }))
        assert.strictEqual(reason._tag, "ProtocolError")
        if (reason._tag === "ProtocolError") assert.include(reason.description, "params are not JSON")
        assert.deepStrictEqual(yield* client.requestRaw("good", {}), { ok: "good" })
      }).pipe(Effect.provide(layer))
    }))

  it.effect("answers server requests: unknown method, no handler, handler", () =>
    Effect.gen(function*() {
      const replies = yield* Queue.unbounded<Fake.Received>()
      let server!: Parameters<Parameters<typeof Fake.layer>[0]>[1]
      const layer = Fake.layer((message, s) => {
        server = s
        return message.method === "go" ? Fake.send(s, { id: message.id, result: {} }) : Queue.offer(replies, message).pipe(Effect.asVoid)
      })
      yield* Effect.gen(function*() {
        const client = yield* AppServerClient
        yield* client.requestRaw("go", {})
        yield* Fake.send(server, { id: 0, method: "made/up/request", params: {} })
        const unknown = yield* Queue.take(replies)
        assert.strictEqual(unknown.id, 0)
        assert.strictEqual(unknown.error.code, -32601)
        const params = {
          threadId: "t",
          turnId: "u",
          callId: "c",
          namespace: null,
          tool: "lookup",
          arguments: { q: 1 }
        }
        yield* Fake.send(server, { id: 1, method: "item/tool/call", params })
        const unhandled = yield* Queue.take(replies)
        assert.strictEqual(unhandled.id, 1)
        assert.strictEqual(unhandled.error.code, -32601)
        yield* client.handleServerRequests((request) =>
          Effect.succeed(
            request.method === "item/tool/call"
              ? Option.some({
                _tag: "Result" as const,
                result: { contentItems: [{ type: "inputText", text: `hi ${request.params.tool}` }], success: true }
              })
              : Option.none()
          )
        )
        yield* Fake.send(server, { id: 2, method: "item/tool/call", params })
        const handled = yield* Queue.take(replies)
        assert.strictEqual(handled.id, 2)
        assert.deepStrictEqual(handled.result, { contentItems: [{ type: "inputText", text: "hi lookup" }], success: true })
      }).pipe(Effect.provide(layer))
    }))

  it.effect("handleUnknownServerRequests answers a method the pinned protocol lacks, by name, raw", () =>
    Effect.gen(function*() {
      const replies = yield* Queue.unbounded<Fake.Received>()
      let server!: Parameters<Parameters<typeof Fake.layer>[0]>[1]
      const layer = Fake.layer((message, s) => {
        server = s
        return message.method === "go" ? Fake.send(s, { id: message.id, result: {} }) : Queue.offer(replies, message).pipe(Effect.asVoid)
      })
      yield* Effect.gen(function*() {
        const client = yield* AppServerClient
        yield* client.requestRaw("go", {})
        const seen: Array<string> = []
        yield* client.handleUnknownServerRequests((request) =>
          Effect.sync(() => {
            seen.push(`${request.method} ${JSON.stringify(request.params)}`)
            return request.method === "old/clock/read"
              ? Option.some({ _tag: "Result" as const, result: { at: 42, extra: [1] } })
              : Option.none()
          })
        )
        yield* Fake.send(server, { id: 0, method: "old/clock/read", params: { threadId: "t" } })
        assert.deepStrictEqual(yield* Queue.take(replies), { id: 0, result: { at: 42, extra: [1] } })
        // no handler answers: MethodNotFound, as without any handler
        yield* Fake.send(server, { id: 1, method: "made/up/request", params: {} })
        const unanswered = yield* Queue.take(replies)
        assert.strictEqual(unanswered.id, 1)
        assert.strictEqual(unanswered.error.code, -32601)
        assert.deepStrictEqual(seen, [`old/clock/read {"threadId":"t"}`, "made/up/request {}"])
        // a known method never reaches the unknown-method handlers
        yield* Fake.send(server, {
          id: 2,
          method: "item/tool/call",
          params: { threadId: "t", turnId: "u", callId: "c", namespace: null, tool: "x", arguments: {} }
        })
        assert.strictEqual((yield* Queue.take(replies)).error.code, -32601)
        assert.strictEqual(seen.length, 2)
      }).pipe(Effect.provide(layer))
    }))
})

describe("AppServerClient spans", () => {
  const recording = () => {
    const names: Array<string> = []
    const tracer = Tracer.make({
      span(options) {
        names.push(options.name)
        return new Tracer.NativeSpan(options)
      }
    })
    return { names, tracer }
  }
  const echo = Fake.layer((message, server) => Fake.send(server, { id: message.id, result: { data: [] } }))

  it.effect("one span per request with requestSpans, none by default", () =>
    Effect.gen(function*() {
      const off = recording()
      yield* AppServerClient.pipe(
        Effect.flatMap((client) => client.request("thread/loaded/list", {})),
        Effect.provide(echo),
        Effect.provideService(Tracer.Tracer, off.tracer)
      )
      assert.isFalse(off.names.includes("AppServerClient.request"))
      const on = recording()
      const echoWithSpans = Fake.layer((message, server) => Fake.send(server, { id: message.id, result: { data: [] } }), {
        requestSpans: true
      })
      yield* AppServerClient.pipe(
        Effect.flatMap((client) => client.request("thread/loaded/list", {})),
        Effect.provide(echoWithSpans),
        Effect.provideService(Tracer.Tracer, on.tracer)
      )
      assert.isTrue(on.names.includes("AppServerClient.request"))
    }))
})
