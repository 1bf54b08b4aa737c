/**
 * The client's reader over a transport with `consume` (the stdio inbox): a
 * read is handled inside the push (Node's `data` callback), with no fiber of
 * the reader resumed, and only a line that needs an effect (a warning, a
 * dispatch) goes through the reader's fiber; wire order, the end of the
 * connection and transports with only `incoming` are as before.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Logger, Scope, Stream } from "effect"
import * as Lines from "../../src/layers/internal/stdioLines.ts"
import * as CodexError from "../../src/schema/CodexError.ts"
import * as AppServerClient from "../../src/services/AppServerClient.ts"
import * as Transport from "../../src/services/Transport.ts"
import { exitReason } from "../support/Errors.ts"

const INITIALIZE = { userAgent: "fake/0.169.0", codexHome: "/tmp", platformFamily: "unix", platformOs: "linux" }

/**
 * A transport with stdio's inbox behind it: the test pushes stdout text as
 * Node's `data` callback would. `initialize` is answered on a microtask; every
 * other message the client sends is kept in `sent`.
 */
const inboxTransport = (withConsume: boolean) => {
  const inbox = Lines.makeInbox<CodexError.CodexError>({ highWaterMark: 4096, pause: () => {}, resume: () => {} })
  const sent: Array<{ readonly id?: number; readonly method?: string }> = []
  const transport: Transport.Service = {
    offer: (raw) => {
      const message = JSON.parse(raw) as { readonly id?: number; readonly method?: string }
      if (message.method === "initialize") {
        queueMicrotask(() => inbox.push(JSON.stringify({ id: message.id, result: INITIALIZE }) + "\n"))
      } else sent.push(message)
      return true
    },
    incoming: Stream.fromPull(Effect.succeed(inbox.pull)),
    ...(withConsume ? { consume: inbox.consume } : {})
  }
  return { inbox, sent, transport }
}

/** A client over `transport` in a Scope the test closes itself. */
const client = (transport: Transport.Service, logs?: Array<string>) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const logger = Logger.make(({ message }) => {
      logs?.push(Array.isArray(message) ? String(message[0]) : String(message))
    })
    const service = yield* AppServerClient.make().pipe(
      Effect.provideService(Transport.Transport, transport),
      Scope.provide(scope),
      Effect.provide(Logger.layer([logger]))
    )
    return { client: service, scope }
  })

/** Waits until the client has sent `count` messages after the handshake. */
const sentCount = (sent: ReadonlyArray<unknown>, count: number) =>
  Effect.gen(function*() {
    while (sent.length < count) yield* Effect.yieldNow
  })

describe("the reader over a transport with consume", () => {
  for (const withConsume of [true, false]) {
    it.effect(
      withConsume
        ? "with consume, a read is handled inside the push: listeners run on the pusher's stack and the caller is answered before push returns"
        : "without consume (incoming only), the same read is pulled by the reader's own fiber, with the same result",
      () =>
        Effect.gen(function*() {
          const { inbox, sent, transport } = inboxTransport(withConsume)
          const { client: c, scope } = yield* client(transport)
          const seenOn: Array<Fiber.Fiber<unknown, unknown> | undefined> = []
          yield* c.listen(() => void seenOn.push(Fiber.getCurrent())).pipe(Scope.provide(scope))
          const caller = yield* Effect.forkChild(c.requestRaw("ping", {}))
          yield* sentCount(sent, 2)
          const id = sent.at(-1)!.id!
          const pusher = Fiber.getCurrent()
          inbox.push(`{"method":"some/note","params":{}}\n{"id":${id},"result":{"ok":true}}\n`)
          assert.deepStrictEqual(caller.pollUnsafe(), Exit.succeed({ ok: true }))
          assert.strictEqual(seenOn.length, 1)
          if (withConsume) assert.strictEqual(seenOn[0], pusher)
          else assert.notStrictEqual(seenOn[0], pusher)
          yield* Scope.close(scope, Exit.void)
        })
    )
  }

  it.effect("a line that needs an effect (a warning) goes through the reader's fiber in wire order; the lines after it, and later reads, still reach their callers", () =>
    Effect.gen(function*() {
      const { inbox, sent, transport } = inboxTransport(true)
      const order: Array<string> = []
      const { client: c, scope } = yield* client(transport, order)
      yield* c.listen((n) => void order.push(n.method)).pipe(Scope.provide(scope))
      const first = yield* Effect.forkChild(
        c.requestRaw("first", {}).pipe(Effect.tap(() => Effect.sync(() => order.push("answer of first"))))
      )
      yield* sentCount(sent, 2)
      const firstId = sent.at(-1)!.id!
      inbox.push(`{not json\n{"method":"a","params":{}}\n{"id":${firstId},"result":1}\n{"method":"b","params":{}}\n`)
      assert.deepStrictEqual(yield* Fiber.join(first), 1)
      // the warning about a line before anything after it; the listener saw `a` before the answer after it
      assert.isTrue(order[0]!.startsWith("codex: dropped a message"), order[0])
      assert.deepStrictEqual(order.slice(1, 2), ["a"])
      assert.isBelow(order.indexOf("a"), order.indexOf("answer of first"))
      assert.isBelow(order.indexOf("a"), order.indexOf("b"))
      // back to the fast path: the next answer arrives inside its push
      const second = yield* Effect.forkChild(c.requestRaw("second", {}))
      yield* sentCount(sent, 3)
      inbox.push(`{"id":${sent.at(-1)!.id!},"result":2}\n`)
      assert.deepStrictEqual(second.pollUnsafe(), Exit.succeed(2))
      yield* Scope.close(scope, Exit.void)
    }))

  it.effect("the client closed from inside a batch being handled: the pending request fails with Closed, the rest of the batch is dropped, push returns normally", () =>
    Effect.gen(function*() {
      const { inbox, sent, transport } = inboxTransport(true)
      const { client: c, scope } = yield* client(transport)
      yield* c.listen((n) => {
        if (n.method === "stop") Effect.runFork(Scope.close(scope, Exit.void))
      }).pipe(Scope.provide(scope))
      const caller = yield* Effect.forkChild(c.requestRaw("ping", {}))
      yield* sentCount(sent, 2)
      const id = sent.at(-1)!.id!
      inbox.push(`{"method":"stop","params":{}}\n{"id":${id},"result":"too late"}\n{not json\n`)
      inbox.push(`{"method":"after","params":{}}\n`)
      const exit = yield* Fiber.await(caller)
      assert.isTrue(Exit.isFailure(exit))
      assert.strictEqual(exitReason(exit)?._tag, "Closed")
      assert.strictEqual((yield* c.awaitClosed).reason._tag, "Closed")
    }))

  it.effect("the connection's end reaches a reader waiting in consume: pending requests and later calls fail with the reason", () =>
    Effect.gen(function*() {
      const { inbox, sent, transport } = inboxTransport(true)
      const { client: c, scope } = yield* client(transport)
      const caller = yield* Effect.forkChild(c.requestRaw("ping", {}))
      yield* sentCount(sent, 2)
      inbox.fail(CodexError.make(new CodexError.ProcessExited({ exitCode: 3, signal: undefined, stderrTail: [] })))
      assert.strictEqual(exitReason(yield* Fiber.await(caller))?._tag, "ProcessExited")
      assert.strictEqual((yield* c.awaitClosed).reason._tag, "ProcessExited")
      const later = yield* Effect.exit(c.requestRaw("again", {}))
      assert.strictEqual(exitReason(later)?._tag, "ProcessExited")
      yield* Scope.close(scope, Exit.void)
    }))
})
