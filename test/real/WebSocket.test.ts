/**
 * AppServer.layerWebSocket against a real `codex app-server --listen ws://...`
 * that each test spawns itself (fresh CODEX_HOME, plugins off), on a free port,
 * once `/readyz` answers 200.
 */
import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Option, Schedule, type Scope, Stream } from "effect"
import { ChildProcess, ChildProcessSpawner } from "effect/process"
import { Redacted } from "effect"
import * as NodeFs from "node:fs"
import * as NodeHttp from "node:http"
import * as NodeNet from "node:net"
import * as NodePath from "node:path"
import * as AppServer from "../../src/layers/AppServer.ts"
import { AppServerClient } from "../../src/services/AppServerClient.ts"
import type * as CodexError from "../../src/schema/CodexError.ts"
import { awaitNoPidsWithEnv, tempCodexHome, tempDir } from "../support/Home.ts"
import * as CodexBinary from "../support/CodexBinary.ts"
import { exitReason } from "../support/Errors.ts"

/** A TCP port nothing listens on (free at the time of the call). */
const freePort = Effect.promise(() =>
  new Promise<number>((resolve, reject) => {
    const server = NodeNet.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as NodeNet.AddressInfo
      server.close(() => resolve(port))
    })
  })
)

/** GET http://127.0.0.1:<port><path> on a fresh connection that is closed afterwards (no keep-alive). */
const httpStatus = (port: number, path: string) =>
  Effect.tryPromise(() =>
    new Promise<number>((resolve, reject) => {
      const request = NodeHttp.get({ host: "127.0.0.1", port, path, agent: false, headers: { connection: "close" } }, (response) => {
        response.resume()
        response.on("end", () => resolve(response.statusCode ?? 0))
      })
      request.on("error", reject)
    })
  )

interface WsServer {
  readonly url: string
  readonly port: number
  readonly codexHome: string
  readonly pid: number
  readonly stderr: ReadonlyArray<string>
  /** Waits for the server process's exit event (Node has reaped it). */
  readonly exited: Effect.Effect<void>
}

/**
 * Spawns `codex app-server --listen ws://127.0.0.1:<port>` in the current Scope
 * and waits for `/readyz`. `shell_snapshot` is off: codex runs a setsid'ed login
 * shell per thread/start that would outlive a SIGKILLed server (see Reliability.test.ts).
 */
const wsServer = (extraArgs: ReadonlyArray<string> = []) =>
  Effect.gen(function*() {
    const codexHome = yield* tempCodexHome
    const port = yield* freePort
    const url = `ws://127.0.0.1:${port}`
    const binary = CodexBinary.binary
    const spawner = yield* ChildProcessSpawner.ChildProcessSpawner
    const handle = yield* spawner.spawn(
      ChildProcess.make(binary.command, [
        ...binary.prefixArgs,
        "app-server",
        "--listen",
        url,
        "-c",
        "features.plugins=false",
        "-c",
        "features.shell_snapshot=false",
        "-c",
        "analytics.enabled=false",
        ...extraArgs
      ], {
        env: { ...binary.env, CODEX_HOME: codexHome },
        extendEnv: true,
        stdout: "ignore",
        stderr: "pipe",
        forceKillAfter: "2 seconds"
      })
    )
    const stderr: Array<string> = []
    yield* handle.stderr.pipe(
      Stream.decodeText(),
      Stream.splitLines,
      Stream.runForEach((line) => Effect.sync(() => stderr.push(line))),
      Effect.ignore,
      Effect.forkScoped
    )
    const started = Date.now()
    yield* httpStatus(port, "/readyz").pipe(
      Effect.flatMap((status) => status === 200 ? Effect.void : Effect.fail(status)),
      Effect.retry(Schedule.spaced("20 millis")),
      Effect.timeoutOrElse({
        duration: "15 seconds",
        orElse: () => Effect.die(new Error(`codex --listen ${url} not ready; stderr:\n${stderr.join("\n")}`))
      })
    )
    const readyMs = Date.now() - started
    // exitCode fails for an exit by signal: either way the process has exited
    const exited = Effect.ignore(handle.exitCode)
    return { url, port, codexHome, pid: handle.pid, stderr, exited, readyMs } as WsServer & { readonly readyMs: number }
  })

const withWs = <A, E, R>(
  options: AppServer.WebSocketOptions,
  use: (client: AppServerClient["Service"]) => Effect.Effect<A, E, R>
) => Effect.flatMap(AppServerClient, use).pipe(Effect.provide(AppServer.layerWebSocket(options)))


/** ESTABLISHED TCP connections (both ends, this network namespace) to or from `port`. */
const establishedOn = (port: number): number => {
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0")
  return NodeFs.readFileSync("/proc/net/tcp", "utf8").split("\n").slice(1).filter((line) => {
    const [, local, remote, state] = line.trim().split(/\s+/)
    return state === "01" && (local?.endsWith(`:${hexPort}`) || remote?.endsWith(`:${hexPort}`))
  }).length
}

const waitFor = (condition: () => boolean, timeoutMs: number): Effect.Effect<boolean> =>
  Effect.gen(function*() {
    const deadline = Date.now() + timeoutMs
    while (!condition()) {
      if (Date.now() > deadline) return false
      yield* Effect.sleep("5 millis")
    }
    return true
  })

const live = <A, E>(name: string, self: () => Effect.Effect<A, E, Scope.Scope | ChildProcessSpawner.ChildProcessSpawner>) =>
  it.live(name, () => self().pipe(Effect.provide(NodeServices.layer)))

describe("AppServer.layerWebSocket (real binary, --listen ws://)", () => {
  live("initialize, model/list, thread/start; thread/started arrives on client.incoming", () =>
    Effect.gen(function*() {
      const server = yield* wsServer()
      yield* withWs({ url: server.url }, (client) =>
        Effect.gen(function*() {
          assert.strictEqual(client.metadata.codexHome, server.codexHome)
          assert.match(client.metadata.userAgent, new RegExp(`^effect_codex/${CodexBinary.versionPattern()} `))

          const models = yield* client.request("model/list", {})
          assert.isAbove(models.data.length, 0)

          // startImmediately: the stream has subscribed by the time forkChild returns.
          const startedNote = yield* client.incoming.pipe(
            Stream.filter((message) => message._tag === "Notification" && message.method === "thread/started"),
            Stream.runHead,
            Effect.timeout("10 seconds"),
            Effect.forkChild({ startImmediately: true })
          )
          const started = yield* client.request("thread/start", {})
          const note = yield* Fiber.join(startedNote)
          assert.isTrue(Option.isSome(note))
          const message = Option.getOrThrow(note)
          assert.strictEqual(message.method, "thread/started")
          if (message._tag === "Notification" && message.method === "thread/started") {
            assert.strictEqual(message.params.thread.id, started.thread.id)
          }
          const loaded = yield* client.request("thread/loaded/list", {})
          assert.include(loaded.data, started.thread.id)

          // Server errors come back as RpcError over WebSocket too.
          const unknown = yield* Effect.flip(client.requestRaw("no/such/method", {}))
          assert.strictEqual(unknown.reason._tag, "RpcError")
        }))
      console.log(`[websocket] server ready after ${server.readyMs} ms`)
    }))

  live("closing the layer closes the socket; the server stays up for the next client", () =>
    Effect.gen(function*() {
      const server = yield* wsServer()
      // The /readyz probe's connection is closed (no keep-alive).
      assert.isTrue(yield* waitFor(() => establishedOn(server.port) === 0, 2_000))
      yield* withWs({ url: server.url }, (client) =>
        Effect.gen(function*() {
          yield* client.request("thread/loaded/list", {})
          // Both ends of the one connection.
          assert.strictEqual(establishedOn(server.port), 2)
        }))
      const before = Date.now()
      const closed = yield* waitFor(() => establishedOn(server.port) === 0, 2_000)
      console.log(`[websocket] socket closed ${Date.now() - before} ms after the layer closed`)
      assert.isTrue(closed, "no ESTABLISHED connection left on the port")

      // Many connect/close cycles leave no connection behind either.
      for (let i = 0; i < 10; i++) {
        yield* withWs({ url: server.url }, (client) => client.request("thread/loaded/list", {}))
      }
      assert.isTrue(yield* waitFor(() => establishedOn(server.port) === 0, 2_000))
      assert.strictEqual(yield* httpStatus(server.port, "/readyz"), 200)
    }))

  live("nothing listening: TransportError at once, not a hang", () =>
    Effect.gen(function*() {
      const port = yield* freePort
      const before = Date.now()
      const error = yield* AppServerClient.pipe(
        Effect.provide(AppServer.layerWebSocket({ url: `ws://127.0.0.1:${port}`, openTimeout: "2 seconds" })),
        Effect.flip,
        Effect.timeout("10 seconds")
      )
      const elapsed = Date.now() - before
      console.log(`[websocket] connection refused -> ${error.reason._tag} after ${elapsed} ms`)
      assert.strictEqual(error.reason._tag, "TransportError")
      assert.include(error.message, `ws://127.0.0.1:${port}`)
      assert.isBelow(elapsed, 2_000)
    }))

  live("a peer that accepts TCP but never completes the handshake: TransportError after openTimeout", () =>
    Effect.gen(function*() {
      const sockets: Array<NodeNet.Socket> = []
      const silent = yield* Effect.acquireRelease(
        Effect.promise(() =>
          new Promise<NodeNet.Server>((resolve) => {
            const server = NodeNet.createServer((socket) => void sockets.push(socket))
            server.listen(0, "127.0.0.1", () => resolve(server))
          })
        ),
        (server) =>
          Effect.sync(() => {
            for (const socket of sockets) socket.destroy()
            server.close()
          })
      )
      const { port } = silent.address() as NodeNet.AddressInfo
      const before = Date.now()
      const error = yield* AppServerClient.pipe(
        Effect.provide(AppServer.layerWebSocket({ url: `ws://127.0.0.1:${port}`, openTimeout: "500 millis" })),
        Effect.flip,
        Effect.timeout("10 seconds")
      )
      const elapsed = Date.now() - before
      console.log(`[websocket] silent peer -> ${error.reason._tag} after ${elapsed} ms (openTimeout 500 ms)`)
      assert.strictEqual(error.reason._tag, "TransportError")
      assert.isAtLeast(elapsed, 450)
      assert.isBelow(elapsed, 3_000)
      assert.isAtLeast(sockets.length, 1, "the client did connect")
    }))

  live("the server killed mid-connection: pending requests, subscribers and later requests fail with TransportError", () =>
    Effect.gen(function*() {
      const server = yield* wsServer()
      let killedAt = 0
      yield* withWs({ url: server.url }, (client) =>
        Effect.gen(function*() {
          const events = yield* client.subscribe
          const subscriber = yield* events.pipe(Stream.runDrain, Effect.exit, Effect.forkChild)
          const total = 100
          const settled: Array<{ readonly at: number; readonly exit: Exit.Exit<unknown, CodexError.CodexError> }> = []
          const fibers = yield* Effect.forEach(range(total), () =>
            client.request("thread/start", {}).pipe(
              Effect.exit,
              Effect.tap((exit) => Effect.sync(() => settled.push({ at: Date.now(), exit }))),
              Effect.forkChild
            ))
          yield* waitFor(() => settled.length >= 1, 10_000)
          const pendingAtKill = total - settled.length
          killedAt = Date.now()
          // The whole group: codex runs helpers (git, lsb_release) during thread/start.
          process.kill(-server.pid, "SIGKILL")
          yield* Effect.forEach(fibers, Fiber.join, { discard: true }).pipe(Effect.timeout("10 seconds"))
          const failed = settled.filter((s) => Exit.isFailure(s.exit))
          const lastFailure = Math.max(...failed.map((s) => s.at)) - killedAt
          console.log(
            `[websocket] server SIGKILL: ${pendingAtKill} pending, ${failed.length} failed, ` +
              `last ${lastFailure} ms after the kill`
          )
          assert.isAtLeast(pendingAtKill, 20)
          assert.isAtLeast(failed.length, 20)
          for (const { exit } of failed) assert.strictEqual(exitReason(exit)?._tag, "TransportError")
          assert.isBelow(lastFailure, 1_000)

          assert.strictEqual(exitReason(yield* Fiber.join(subscriber))?._tag, "TransportError")
          const before = Date.now()
          const later = yield* Effect.exit(client.request("thread/loaded/list", {}))
          assert.strictEqual(exitReason(later)?._tag, "TransportError")
          assert.isBelow(Date.now() - before, 20)
          assert.strictEqual((yield* client.awaitClosed).reason._tag, "TransportError")
        }))
      // A SIGKILL takes effect, and the killed are reaped, asynchronously: a closed socket
      // does not mean its process (still less a helper) is gone. So: the server's exit event,
      // then no process of its CODEX_HOME, both within the bound the failures had (1 s of the kill).
      const deadline = killedAt + 1_000
      yield* server.exited.pipe(Effect.timeout(Math.max(0, deadline - Date.now())))
      assert.deepStrictEqual(yield* awaitNoPidsWithEnv("CODEX_HOME", server.codexHome, Math.max(0, deadline - Date.now())), [])
    }))

  live("--ws-auth capability-token: the token opens the connection, a wrong one fails and is never shown", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir()
      const token = "cap-token-3d9f1c0b7e2a45d8"
      const tokenFile = NodePath.join(dir, "token")
      NodeFs.writeFileSync(tokenFile, token)
      const server = yield* wsServer(["--ws-auth", "capability-token", "--ws-token-file", tokenFile])

      const metadata = yield* withWs(
        { url: server.url, token: Redacted.make(token) },
        (client) => Effect.succeed(client.metadata)
      )
      assert.strictEqual(metadata.codexHome, server.codexHome)

      const wrong = "cap-token-WRONG-0000000000"
      const error = yield* AppServerClient.pipe(
        Effect.provide(AppServer.layerWebSocket({ url: server.url, token: Redacted.make(wrong), openTimeout: "3 seconds" })),
        Effect.flip,
        Effect.timeout("10 seconds")
      )
      assert.strictEqual(error.reason._tag, "TransportError")
      for (const secret of [token, wrong]) {
        assert.notInclude(String(error), secret)
        assert.notInclude(JSON.stringify(error), secret)
      }
      const missing = yield* AppServerClient.pipe(
        Effect.provide(AppServer.layerWebSocket({ url: server.url, openTimeout: "3 seconds" })),
        Effect.flip,
        Effect.timeout("10 seconds")
      )
      assert.strictEqual(missing.reason._tag, "TransportError")
    }))
})

const range = (n: number) => Array.from({ length: n }, (_, i) => i)
