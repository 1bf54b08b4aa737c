/**
 * `CodexPool` routing over in-memory app-servers (`CodexTest`, one per server
 * and per replacement), driven by TestClock: placement by load, pinning,
 * resume routing, the per-server cap, codex unloading a thread, a crash and
 * its replacement, a replacement that cannot start, and teardown.
 */
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Exit, Fiber, Layer, Option, Redacted, Schedule, Scope, Stream } from "effect"
import { TestClock } from "effect/testing"
import * as AppServer from "../../src/layers/AppServer.ts"
import * as CodexPool from "../../src/layers/CodexPool.ts"
import * as CodexTest from "../../src/layers/testing/CodexTest.ts"
import * as CodexError from "../../src/schema/CodexError.ts"
import type { AppServerClient } from "../../src/services/AppServerClient.ts"
import * as Approvals from "../../src/services/Approvals.ts"
import * as Codex from "../../src/services/Codex.ts"
import { exitReason, reasonOf } from "../support/Errors.ts"
import { eventually } from "../support/Eventually.ts"

type Server = Layer.Layer<AppServerClient | CodexTest.CodexTest, CodexError.CodexError>

/**
 * `CodexTest` numbers thread ids from 1 in each server, where codex's are
 * UUIDv7s, unique across the processes of a pool: stored threads without an id
 * move a server's counter on, so server `index` numbers its threads from
 * `index * 100 + 1`.
 */
const server = (index: number, script: ReadonlyArray<CodexTest.Step> = [], options: CodexTest.Options = {}): Server =>
  CodexTest.layer(script, {
    ...options,
    threads: [...Array.from({ length: index * 100 }, () => ({ archived: true })), ...(options.threads ?? [])]
  })

/**
 * A `connect` for the pool that builds `plan(index, attempt)` (attempt 0 is the
 * first process of a place, 1 its first replacement, ...) and keeps every
 * server's `CodexTest` service, by place and generation, for assertions.
 */
const fleet = (plan: (index: number, attempt: number) => Server) => {
  const tests: Array<Array<CodexTest.Service>> = []
  const attempts: Array<number> = []
  const connect = (index: number): Layer.Layer<AppServerClient, CodexError.CodexError> =>
    Layer.suspend(() => {
      const attempt = attempts[index] = (attempts[index] ?? -1) + 1
      return Layer.tap(
        plan(index, attempt),
        (context: Context.Context<AppServerClient | CodexTest.CodexTest>) =>
          Effect.sync(() => void (tests[index] ??= []).push(Context.get(context, CodexTest.CodexTest)))
      )
    })
  return { tests, attempts, connect }
}

const build = (layer: Layer.Layer<Codex.Codex | CodexPool.CodexPool, CodexError.CodexError>) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const context = yield* Layer.buildWithScope(layer, scope)
    return { scope, codex: Context.get(context, Codex.Codex), pool: Context.get(context, CodexPool.CodexPool) }
  })

const serverOf = (pool: CodexPool.Service, threadId: string) => Effect.map(pool.serverOf(threadId), Option.getOrUndefined)


const replies = (n: number) => Array.from({ length: n }, (_, i) => CodexTest.reply(`answer ${i}`))

describe("CodexPool (in-memory)", () => {
  it.effect("new threads go to the least loaded server, concurrent starts included", () =>
    Effect.gen(function*() {
      const servers = fleet((index) => server(index, replies(4)))
      const { codex, pool, scope } = yield* build(CodexPool.layerFrom(servers.connect, { size: 3 }))
      // three at once: each start counts as load while it is on its way, so they spread
      const first = yield* Effect.forEach([1, 2, 3], () => codex.startThread(), { concurrency: "unbounded" })
      const placed = yield* Effect.forEach(first, (thread) => serverOf(pool, thread.id))
      assert.deepStrictEqual([...placed].sort(), [0, 1, 2])
      const more = yield* Effect.forEach([1, 2, 3], () => codex.startThread())
      const counts = (yield* pool.servers).map((server) => server.threads.length)
      assert.deepStrictEqual(counts, [2, 2, 2])
      // each thread runs on the server that started it
      const results = yield* Effect.forEach([...first, ...more], (thread) => thread.run("hello"), {
        concurrency: "unbounded"
      })
      assert.strictEqual(results.length, 6)
      for (let index = 0; index < 3; index++) {
        assert.strictEqual((yield* servers.tests[index]![0]!.requestsOf("thread/start")).length, 2)
        assert.strictEqual((yield* servers.tests[index]![0]!.requestsOf("turn/start")).length, 2)
      }
      assert.deepStrictEqual(servers.attempts, [0, 0, 0])
      yield* Scope.close(scope, Exit.void)
    }))

  it.effect("the rest of the server: thread-bound calls go to the thread's server, loaded threads are every server's", () =>
    Effect.gen(function*() {
      const servers = fleet((index) =>
        server(index, [], {
          methods: {
            "config/read": () => Effect.succeed({ config: {}, origins: {} }),
            "thread/turns/list": () => Effect.succeed({ data: [], nextCursor: null })
          }
        })
      )
      const { codex, pool, scope } = yield* build(CodexPool.layerFrom(servers.connect, { size: 2 }))
      const a = yield* codex.startThread()
      const b = yield* codex.startThread()
      const loaded = yield* codex.listLoadedThreads()
      assert.deepStrictEqual([...loaded.data].sort(), [a.id, b.id].sort())
      assert.deepStrictEqual([...(yield* Stream.runCollect(codex.loadedThreads()))].sort(), [a.id, b.id].sort())
      const where = yield* serverOf(pool, b.id)
      yield* codex.listTurns(b.id)
      const asked = yield* Effect.forEach([0, 1], (index) => servers.tests[index]![0]!.requestsOf("thread/turns/list"))
      assert.deepStrictEqual(asked.map((requests) => requests.length), where === 0 ? [1, 0] : [0, 1])
      yield* codex.readConfig()
      yield* Scope.close(scope, Exit.void)
    }))

  it.effect("concurrent starts count as load while on their way: they fill the emptier server first", () =>
    Effect.gen(function*() {
      const servers = fleet((index) => server(index))
      const { codex, pool, scope } = yield* build(CodexPool.layerFrom(servers.connect, { size: 2 }))
      const first = yield* Effect.forEach([1, 2, 3, 4], () => codex.startThread())
      // server 0 empty, server 1 with two threads
      yield* Effect.forEach(first.filter((_, i) => i % 2 === 0), (thread) => thread.archive)
      assert.deepStrictEqual((yield* pool.servers).map((server) => server.threads.length), [0, 2])
      // all four choose before any answer: without the reservations all four would go to server 0
      yield* Effect.forEach([1, 2, 3, 4], () => codex.startThread(), { concurrency: "unbounded" })
      assert.deepStrictEqual((yield* pool.servers).map((server) => server.threads.length), [3, 3])
      yield* Scope.close(scope, Exit.void)
    }))

  it.effect("resumeThread goes to the server that has the thread loaded", () =>
    Effect.gen(function*() {
      const servers = fleet((index) => server(index, replies(3)))
      const { codex, pool, scope } = yield* build(CodexPool.layerFrom(servers.connect, { size: 2 }))
      const a = yield* codex.startThread()
      const b = yield* codex.startThread()
      yield* a.run("first")
      const again = yield* codex.resumeThread(a.id)
      assert.strictEqual(yield* serverOf(pool, a.id), 0)
      assert.strictEqual(yield* serverOf(pool, b.id), 1)
      yield* again.run("second")
      assert.deepStrictEqual(
        (yield* servers.tests[0]![0]!.requestsOf("thread/resume")).map((params) => (params as { threadId: string }).threadId),
        [a.id]
      )
      assert.strictEqual((yield* servers.tests[1]![0]!.requestsOf("thread/resume")).length, 0)
      assert.strictEqual((yield* servers.tests[0]![0]!.requestsOf("turn/start")).length, 2)
      yield* Scope.close(scope, Exit.void)
    }))

  it.effect("a thread the pool did not place, refused by its writer's rule, goes to the server that reports it loaded", () =>
    Effect.gen(function*() {
      const stored = "01a230d7-0000-7000-8000-000000000001"
      const servers = fleet((index) =>
        index === 0
          ? server(0, replies(2), {
            threads: [{ id: stored, history: [{ user: "earlier", agent: "noted" }] }],
            // loaded here by someone else (a sub-agent, another client of this process)
            methods: { "thread/loaded/list": () => Effect.succeed({ data: [stored], nextCursor: null }) }
          })
          : server(1, [], {
            methods: {
              "thread/resume": () =>
                Effect.fail({ code: -32600, message: `thread ${stored} already has an active writer` })
            }
          })
      )
      const { codex, pool, scope } = yield* build(CodexPool.layerFrom(servers.connect, { size: 2 }))
      yield* codex.startThread() // on 0: server 1 is now the least loaded
      const thread = yield* codex.resumeThread(stored)
      assert.strictEqual(yield* serverOf(pool, stored), 0)
      assert.strictEqual((yield* thread.run("go on")).finalResponse, "answer 0")
      assert.strictEqual((yield* servers.tests[1]![0]!.requestsOf("thread/resume")).length, 1)
      assert.deepStrictEqual((yield* pool.servers).map((server) => server.threads.length), [2, 0])
      yield* Scope.close(scope, Exit.void)
    }))

  it.effect("maxThreadsPerServer: with every server full, a new thread fails with Overloaded; archiving one frees its place", () =>
    Effect.gen(function*() {
      const servers = fleet((index) => server(index, replies(4)))
      const { codex, pool, scope } = yield* build(
        CodexPool.layerFrom(servers.connect, { size: 2, maxThreadsPerServer: 1 })
      )
      const a = yield* codex.startThread()
      const b = yield* codex.startThread()
      yield* a.run("hello")
      const full = yield* Effect.flip(codex.startThread())
      assert.strictEqual(full.reason._tag, "Overloaded")
      assert.isTrue(CodexError.isRetryable(full))
      assert.strictEqual((yield* reasonOf(codex.forkThread(a.id)))._tag, "Overloaded")
      // a thread already loaded needs no new place
      yield* codex.resumeThread(b.id)
      yield* a.archive
      assert.isTrue(Option.isNone(yield* pool.serverOf(a.id)))
      const c = yield* codex.startThread()
      assert.strictEqual(yield* serverOf(pool, c.id), 0)
      yield* Scope.close(scope, Exit.void)
    }))

  it.effect("codex unloading a thread (thread/closed) frees its place", () =>
    Effect.gen(function*() {
      const unload = CodexTest.turn(
        CodexTest.reply("done"),
        CodexTest.notify("thread/closed", (turn) => ({ threadId: turn.threadId }))
      )
      const servers = fleet((index) => server(index, [unload]))
      const { codex, pool, scope } = yield* build(CodexPool.layerFrom(servers.connect, { size: 1, maxThreadsPerServer: 1 }))
      const thread = yield* codex.startThread()
      yield* thread.run("hello")
      yield* eventually(Effect.map(pool.serverOf(thread.id), Option.isNone))
      yield* codex.startThread()
      yield* Scope.close(scope, Exit.void)
    }))

  it.effect("a deleted thread frees its place (codex announces thread/deleted, not thread/closed)", () =>
    Effect.gen(function*() {
      const servers = fleet((index) => server(index, replies(5)))
      const { codex, pool, scope } = yield* build(CodexPool.layerFrom(servers.connect, { size: 1, maxThreadsPerServer: 2 }))
      // a long-lived program that starts and deletes threads: each delete must give its place back
      for (let round = 0; round < 5; round++) {
        const thread = yield* codex.startThread()
        yield* thread.run("hello")
        yield* codex.deleteThread(thread.id)
        yield* eventually(Effect.map(pool.serverOf(thread.id), Option.isNone))
      }
      assert.deepStrictEqual((yield* pool.servers).map((server) => server.threads), [[]])
      yield* Scope.close(scope, Exit.void)
    }))

  it.effect("a server that crashes mid-turn fails only its own turns, is replaced, and its thread resumes on the replacement", () =>
    Effect.gen(function*() {
      let crashed: string | undefined
      const servers = fleet((index, attempt) => {
        if (index === 0 && attempt === 0) {
          return server(0, [CodexTest.turn(CodexTest.delay("100 millis"), CodexTest.crash({ signal: "SIGKILL" }))])
        }
        // the replacement reads the dead server's history from the shared CODEX_HOME
        return server(
          index + 2 * attempt,
          index === 0 ? [CodexTest.reply("welcome back"), CodexTest.reply("fresh")] : [
            CodexTest.turn(CodexTest.delay("500 millis"), CodexTest.reply("slow but fine"))
          ],
          { threads: crashed === undefined ? [] : [{ id: crashed, history: [{ user: "one", agent: "half" }] }] }
        )
      })
      const { codex, pool, scope } = yield* build(CodexPool.layerFrom(servers.connect, { size: 2 }))
      const doomed = yield* codex.startThread()
      const survivor = yield* codex.startThread()
      assert.strictEqual(yield* serverOf(pool, doomed.id), 0)
      assert.strictEqual(yield* serverOf(pool, survivor.id), 1)
      crashed = doomed.id
      const dying = yield* Effect.forkChild(Effect.exit(doomed.run("one")))
      const living = yield* Effect.forkChild(Effect.exit(survivor.run("two")))
      // both turns are under way before the clock moves
      yield* eventually(Effect.map(servers.tests[0]![0]!.turns, (turns) => turns.length === 1))
      yield* eventually(Effect.map(servers.tests[1]![0]!.turns, (turns) => turns.length === 1))
      yield* TestClock.adjust("100 millis")
      const died = yield* Fiber.join(dying)
      const reason = exitReason(died)
      assert.strictEqual(reason?._tag, "ProcessExited")
      if (reason?._tag === "ProcessExited") assert.strictEqual(reason.signal, "SIGKILL")
      // the replacement comes up with no thread; the other server's turn goes on
      yield* eventually(Effect.map(pool.servers, (list) => list[0]!.status === "up" && list[0]!.restarts === 1))
      assert.isTrue(Option.isNone(yield* pool.serverOf(doomed.id)))
      assert.isUndefined(living.pollUnsafe())
      yield* TestClock.adjust("500 millis")
      const lived = yield* Fiber.join(living)
      assert.strictEqual(Exit.isSuccess(lived) ? lived.value.finalResponse : undefined, "slow but fine")
      // the old handle is bound to the dead process
      assert.strictEqual((yield* reasonOf(doomed.run("again")))._tag, "ProcessExited")
      // resumed: the least loaded server is the replacement (no thread yet)
      const resumed = yield* codex.resumeThread(doomed.id)
      assert.strictEqual(yield* serverOf(pool, doomed.id), 0)
      assert.strictEqual((yield* resumed.run("three")).finalResponse, "welcome back")
      assert.deepStrictEqual(servers.attempts, [1, 0])
      yield* Scope.close(scope, Exit.void)
    }))

  it.effect("a server that dies while it starts a thread: the start goes to another server", () =>
    Effect.gen(function*() {
      const home = "/srv/codex"
      // answers initialize, then dies on the first thread/start, as a process killed at that moment
      const diesOnStart = AppServer.layerInMemory((server) =>
        server.received.pipe(
          Stream.runForEach((line) => {
            const message = JSON.parse(line) as { id?: number; method: string }
            if (message.method === "initialize") {
              return server.send(JSON.stringify({
                id: message.id,
                result: { userAgent: "dies/0", codexHome: home, platformFamily: "unix", platformOs: "linux" }
              }))
            }
            return message.method === "thread/start"
              ? server.close(CodexError.make(new CodexError.ProcessExited({ exitCode: undefined, signal: "SIGKILL", stderrTail: [] })))
              : Effect.void
          })
        )
      )
      const attempts = [0, 0]
      const connect = (index: number) =>
        Layer.suspend(() =>
          index === 0 && attempts[0]++ === 0 ? diesOnStart : server(index + attempts[0]!, replies(1), { codexHome: home })
        )
      const { codex, pool, scope } = yield* build(CodexPool.layerFrom(connect, { size: 2 }))
      const thread = yield* codex.startThread()
      assert.strictEqual(yield* serverOf(pool, thread.id), 1)
      assert.strictEqual((yield* thread.run("hi")).finalResponse, "answer 0")
      yield* eventually(Effect.map(pool.servers, (list) => list[0]!.status === "up" && list[0]!.restarts === 1))
      yield* Scope.close(scope, Exit.void)
    }))

  it.effect("while a replacement starts, a new thread waits for it", () =>
    Effect.gen(function*() {
      const servers = fleet((_, attempt) =>
        attempt === 0
          ? server(0, [CodexTest.crash()])
          : Layer.unwrap(Effect.as(Effect.sleep("1 second"), server(attempt, [CodexTest.reply("ok")])))
      )
      const { codex, pool, scope } = yield* build(CodexPool.layerFrom(servers.connect, { size: 1 }))
      const thread = yield* codex.startThread()
      assert.strictEqual((yield* reasonOf(thread.run("crash")))._tag, "ProcessExited")
      yield* eventually(Effect.map(pool.servers, (list) => list[0]!.status === "restarting"))
      const waiting = yield* Effect.forkChild(codex.startThread())
      yield* TestClock.adjust("500 millis")
      assert.isUndefined(waiting.pollUnsafe())
      yield* TestClock.adjust("500 millis")
      const next = yield* Fiber.join(waiting)
      assert.strictEqual((yield* next.run("hi")).finalResponse, "ok")
      yield* Scope.close(scope, Exit.void)
    }))

  it.effect("a replacement that cannot start: calls fail with its error instead of waiting, and it is retried", () =>
    Effect.gen(function*() {
      const spawnError = CodexError.make(new CodexError.SpawnError({ command: "codex", description: "ENOENT" }))
      const servers = fleet((_, attempt) =>
        attempt === 0
          ? server(0, [CodexTest.crash()])
          : attempt === 1
          ? Layer.effectDiscard(Effect.fail(spawnError)).pipe(Layer.provideMerge(server(1)))
          : server(2, [CodexTest.reply("back")])
      )
      const { codex, pool, scope } = yield* build(
        CodexPool.layerFrom(servers.connect, { size: 1, restartSchedule: Schedule.spaced("1 minute") })
      )
      const thread = yield* codex.startThread()
      yield* Effect.exit(thread.run("crash"))
      yield* eventually(Effect.map(pool.servers, (list) => list[0]!.lastError !== undefined))
      assert.strictEqual((yield* reasonOf(codex.startThread()))._tag, "SpawnError")
      assert.strictEqual((yield* reasonOf(codex.listThreads()))._tag, "SpawnError")
      yield* TestClock.adjust("1 minute")
      yield* eventually(Effect.map(pool.servers, (list) => list[0]!.status === "up"))
      const next = yield* codex.startThread()
      assert.strictEqual((yield* next.run("hi")).finalResponse, "back")
      // two attempts, one replacement
      assert.deepStrictEqual(servers.attempts, [2])
      assert.strictEqual((yield* pool.servers)[0]!.restarts, 1)
      yield* Scope.close(scope, Exit.void)
    }))

  it.effect("closing the pool closes every server, a replacement still starting included", () =>
    Effect.gen(function*() {
      let starting = false
      let interrupted = false
      const hanging = CodexTest.slow(CodexTest.reply("never"), { delay: "1 hour" })
      const servers = fleet((index, attempt) =>
        index === 0 && attempt === 1
          ? Layer.effectDiscard(
            Effect.sync(() => starting = true).pipe(
              Effect.andThen(Effect.never),
              Effect.onInterrupt(() => Effect.sync(() => interrupted = true))
            )
          ).pipe(Layer.provideMerge(server(2)))
          : server(index, index === 0 ? [CodexTest.crash()] : [hanging])
      )
      const { codex, pool, scope } = yield* build(CodexPool.layerFrom(servers.connect, { size: 2 }))
      const doomed = yield* codex.startThread()
      const open = yield* codex.startThread()
      yield* Effect.exit(doomed.run("crash"))
      const running = yield* Effect.forkChild(Effect.exit(open.run("forever")))
      yield* eventually(Effect.sync(() => starting))
      yield* Scope.close(scope, Exit.void)
      assert.isTrue(interrupted, "the replacement's start was interrupted")
      assert.strictEqual(exitReason(yield* Fiber.join(running))?._tag, "Closed")
      assert.strictEqual((yield* reasonOf(codex.startThread()))._tag, "Closed")
      assert.deepStrictEqual((yield* pool.servers).map((server) => server.status), ["restarting", "restarting"])
      assert.deepStrictEqual(servers.attempts, [1, 0])
    }))

  it.effect("Approvals given to the pool answer on every server, a replacement included", () =>
    Effect.gen(function*() {
      const command = CodexTest.command("npm test", { approval: true, output: "ok\n" })
      const servers = fleet((_, attempt) =>
        server(attempt, attempt === 0 ? [CodexTest.turn(command, CodexTest.crash())] : [command])
      )
      const { codex, scope } = yield* build(
        CodexPool.layerFrom(servers.connect, { size: 1 }).pipe(Layer.provide(Approvals.dangerouslyAcceptAll))
      )
      yield* Effect.exit(Effect.flatMap(codex.startThread(), (thread) => thread.run("test")))
      yield* eventually(Effect.sync(() => servers.tests[0]?.length === 2))
      yield* Effect.flatMap(codex.startThread(), (thread) => thread.run("test"))
      for (const server of servers.tests[0]!) {
        const answers = yield* server.answers
        assert.deepStrictEqual(answers.map((answer) => answer.result), [{ decision: "accept" }])
      }
      yield* Scope.close(scope, Exit.void)
    }))

  it.effect("listing and models go to any server; loginApiKey to every server", () =>
    Effect.gen(function*() {
      const servers = fleet((index) => server(index, replies(1)))
      const { codex, scope } = yield* build(CodexPool.layerFrom(servers.connect, { size: 2 }))
      const thread = yield* codex.startThread()
      yield* thread.run("hello")
      const page = yield* codex.listThreads()
      assert.isArray(page.data)
      assert.isAbove((yield* codex.models()).data.length, 0)
      assert.isString((yield* codex.metadata).userAgent)
      yield* codex.loginApiKey(Redacted.make("sk-test"))
      for (const server of servers.tests) {
        assert.strictEqual((yield* server[0]!.requestsOf("account/login/start")).length, 1)
      }
      yield* Scope.close(scope, Exit.void)
    }))

  it.effect("the same connection layer given for every server is built once per server", () =>
    Effect.gen(function*() {
      let builds = 0
      const one = Layer.unwrap(Effect.sync(() => {
        builds++
        return CodexTest.layer(replies(1))
      }))
      const { codex, scope } = yield* build(CodexPool.layerFrom(() => one, { size: 3 }))
      assert.strictEqual(builds, 3)
      const threads = yield* Effect.forEach([1, 2, 3], () => codex.startThread())
      yield* Effect.forEach(threads, (thread) => thread.run("hi"), { concurrency: "unbounded" })
      yield* Scope.close(scope, Exit.void)
    }))

  it.effect("servers that report different CODEX_HOMEs: the pool fails with InvalidOptions and closes them", () =>
    Effect.gen(function*() {
      const servers = fleet((index) => CodexTest.layer([], { codexHome: `/tmp/home-${index}` }))
      const failed = yield* Effect.exit(build(CodexPool.layerFrom(servers.connect, { size: 2 })))
      const reason = exitReason(failed)
      assert.strictEqual(reason?._tag, "InvalidOptions")
      assert.match(String(reason?.message), /share one CODEX_HOME/)
    }))

  it.effect("invalid options: InvalidOptions naming the option, before any server starts", () =>
    Effect.gen(function*() {
      const servers = fleet(() => CodexTest.layer())
      for (
        const [options, name] of [
          [{ size: 0 }, "size"],
          [{ size: 1.5 }, "size"],
          [{} as CodexPool.PoolOptions, "size"],
          [{ size: 2, maxThreadsPerServer: 0 }, "maxThreadsPerServer"],
          [{ size: 2, restartSchedule: "often" as never }, "restartSchedule"]
        ] as const
      ) {
        const reason = exitReason(yield* Effect.exit(build(CodexPool.layerFrom(servers.connect, options))))
        assert.strictEqual(reason?._tag, "InvalidOptions")
        assert.include(String(reason?.message), `option ${name}`)
      }
      assert.deepStrictEqual(servers.attempts, [])
    }))

  it.effect("keyed pools: one pool per key with its own CODEX_HOME, shared by the programs of that key, closed when idle", () =>
    Effect.gen(function*() {
      const built: Array<string> = []
      const closed: Array<string> = []
      const tenants = CodexPool.layerKeyedFrom(
        (key) =>
          CodexPool.layerFrom(() => server(0, replies(2), { codexHome: `/srv/codex/${key}` }), { size: 1 }).pipe(
            Layer.tap(() => Effect.sync(() => void built.push(key))),
            Layer.provideMerge(Layer.effectDiscard(Effect.addFinalizer(() => Effect.sync(() => void closed.push(key)))))
          ),
        { idleTimeToLive: "1 minute" }
      )
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(tenants, scope)
      const homeOf = (key: string) =>
        Codex.metadata.pipe(
          Effect.map((metadata) => metadata.codexHome),
          Effect.provide(CodexPool.keyed(key)),
          Effect.provideContext(context)
        )
      assert.deepStrictEqual(
        yield* Effect.all([homeOf("acme"), homeOf("globex"), homeOf("acme")], { concurrency: "unbounded" }),
        ["/srv/codex/acme", "/srv/codex/globex", "/srv/codex/acme"]
      )
      assert.deepStrictEqual([...built].sort(), ["acme", "globex"])
      yield* TestClock.adjust("30 seconds")
      yield* homeOf("acme")
      assert.deepStrictEqual(closed, [])
      yield* TestClock.adjust("45 seconds")
      // globex idle for 75 s: closed; acme was used 45 s ago: still up
      yield* eventually(Effect.sync(() => closed.length === 1))
      assert.deepStrictEqual(closed, ["globex"])
      yield* homeOf("globex")
      assert.deepStrictEqual(built.filter((key) => key === "globex").length, 2)
      yield* Scope.close(scope, Exit.void)
      assert.deepStrictEqual([...closed].sort(), ["acme", "globex", "globex"])
    }))
})
