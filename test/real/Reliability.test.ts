/**
 * Reliability targets (DESIGN.md) against real processes: the pinned codex
 * binary, and a small Node app-server that writes garbage over real stdio.
 *
 * - 1000 requests fired at once are all answered (the client windows them);
 * - codex SIGKILLed with requests pending: every pending request, every
 *   subscriber and every later request fails with ProcessExited, within 100 ms;
 * - no codex process is left after teardown, an interrupted start, or an
 *   interrupted main fiber (pid checks on /proc/<pid>/environ CODEX_HOME);
 * - garbage, empty and 16 MiB lines, batches, unknown ids and notifications
 *   over a real pipe: the connection stays up and every valid message arrives.
 */
import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Option, Scope, Stream } from "effect"
import { ChildProcess, ChildProcessSpawner } from "effect/process"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import * as AppServer from "../../src/layers/AppServer.ts"
import * as Transport from "../../src/layers/Transport.ts"
import { AppServerClient } from "../../src/services/AppServerClient.ts"
import type * as CodexError from "../../src/schema/CodexError.ts"
import { isAlive, offlineConfig, pidsWithEnv, tempCodexHome, tempDir, writeScript } from "../support/Home.ts"
import * as CodexBinary from "../support/CodexBinary.ts"
import { exitReason } from "../support/Errors.ts"

const withClient = <A, E, R>(
  options: AppServer.Options,
  use: (client: AppServerClient["Service"]) => Effect.Effect<A, E, R>
) =>
  Effect.flatMap(AppServerClient, use).pipe(
    Effect.provide(AppServer.layer({ codexPath: CodexBinary.codexPath, ...options }))
  )

/**
 * Config for tests that start threads. codex 0.169.0 runs a login-shell "snapshot"
 * (`/bin/bash -lc ...`, started with setsid, so in its own session) for every
 * `thread/start`. Those helpers escape the process-group kill and can outlive
 * the app-server by seconds (they source ~/.bashrc), which would show up in the
 * pid checks below as processes with our CODEX_HOME. They are codex's, not the
 * SDK's; see the report. Turned off here so the pid checks measure the SDK.
 */
const threadConfig = { features: { plugins: false, shell_snapshot: false }, analytics: { enabled: false } } as const

const range = (n: number) => Array.from({ length: n }, (_, i) => i)

/** Waits (polling every ms) until `condition` holds, at most `timeoutMs`. */
const waitUntil = (condition: () => boolean, timeoutMs = 10_000) =>
  Effect.gen(function*() {
    const deadline = Date.now() + timeoutMs
    while (!condition()) {
      if (Date.now() > deadline) return yield* Effect.die(new Error("waitUntil: condition not met in time"))
      yield* Effect.sleep("1 millis")
    }
  })


describe("Reliability (real binary)", () => {
  it.live("1000 requests fired at once through one layer are all answered", () =>
    Effect.gen(function*() {
      const codexHome = yield* tempCodexHome
      yield* withClient({ codexHome, config: offlineConfig }, (client) =>
        Effect.gen(function*() {
          const started = Date.now()
          const results = yield* Effect.forEach(
            range(1000),
            (i) =>
              i % 2 === 0
                ? client.request("thread/loaded/list", {}).pipe(Effect.map((r) => Array.isArray(r.data)))
                : client.request("model/list", {}).pipe(Effect.map((r) => r.data.length > 0)),
            { concurrency: "unbounded" }
          )
          const elapsed = Date.now() - started
          assert.strictEqual(results.length, 1000)
          assert.isTrue(results.every((ok) => ok))
          console.log(`[reliability] 1000 concurrent requests (window 64) answered in ${elapsed} ms`)
        }))
    }).pipe(Effect.provide(NodeServices.layer)))

  /**
   * One run: start codex, fire `total` thread/start requests (slow: they keep the
   * 64-request window full), SIGKILL codex right after the first answer, check
   * that every pending request, a running subscriber and a later request fail
   * with ProcessExited / SIGKILL; returns ms from the kill to the last failure.
   */
  const killWithPending = (total: number) =>
    Effect.gen(function*() {
      const codexHome = yield* tempCodexHome
      const measured = yield* withClient({ codexHome, config: threadConfig }, (client) =>
        Effect.gen(function*() {
          const pids = pidsWithEnv("CODEX_HOME", codexHome)
          assert.strictEqual(pids.length, 1, "one codex process")
          const pid = pids[0]!

          // A subscriber that is running when the process dies.
          const events = yield* client.subscribe
          let notifications = 0
          const subscriber = yield* events.pipe(
            Stream.runForEach(() => Effect.sync(() => notifications++)),
            Effect.exit,
            Effect.forkChild
          )

          const settled: Array<{ readonly at: number; readonly exit: Exit.Exit<unknown, CodexError.CodexError> }> = []
          const fibers = yield* Effect.forEach(range(total), () =>
            client.request("thread/start", {}).pipe(
              Effect.exit,
              Effect.tap((exit) => Effect.sync(() => settled.push({ at: Date.now(), exit }))),
              Effect.forkChild
            ))
          // Kill as soon as the pipeline is flowing: the rest are in flight or queued on the window.
          yield* waitUntil(() => settled.length >= 1)
          const pendingAtKill = total - settled.length
          const killedAt = Date.now()
          process.kill(pid, "SIGKILL")
          yield* Effect.forEach(fibers, Fiber.join, { discard: true })

          const failed = settled.filter((s) => Exit.isFailure(s.exit))
          const lastFailure = Math.max(...failed.map((s) => s.at)) - killedAt
          assert.isAtLeast(pendingAtKill, 20)
          assert.isAtLeast(failed.length, 20)
          assert.strictEqual(settled.length, total)
          for (const { exit } of failed) {
            const reason = exitReason(exit)
            assert.strictEqual(reason?._tag, "ProcessExited")
            if (reason?._tag === "ProcessExited") {
              assert.isUndefined(reason.exitCode)
              assert.strictEqual(reason.signal, "SIGKILL")
            }
          }

          // The subscriber fails too, after the notifications it got.
          const subscriberExit = yield* Fiber.join(subscriber)
          assert.strictEqual(exitReason(subscriberExit)?._tag, "ProcessExited")
          assert.isAbove(notifications, 0)

          // A later request fails at once, with the same reason.
          const before = Date.now()
          const later = yield* Effect.exit(client.request("thread/loaded/list", {}))
          const laterMs = Date.now() - before
          assert.isBelow(laterMs, 20)
          const laterReason = exitReason(later)
          assert.strictEqual(laterReason?._tag, "ProcessExited")
          if (laterReason?._tag === "ProcessExited") assert.strictEqual(laterReason.signal, "SIGKILL")
          const closed = yield* client.awaitClosed
          assert.strictEqual(closed.reason._tag, "ProcessExited")
          // A subscription made after the end fails at once.
          const lateEvents = yield* Stream.runDrain(client.incoming).pipe(Effect.exit)
          assert.strictEqual(exitReason(lateEvents)?._tag, "ProcessExited")
          return { pendingAtKill, failed: failed.length, lastFailure, laterMs }
        }))
      assert.deepStrictEqual(pidsWithEnv("CODEX_HOME", codexHome), [])
      return measured
    }).pipe(Effect.scoped)

  it.live("codex SIGKILLed with requests pending: all fail with ProcessExited within 100 ms", () =>
    Effect.gen(function*() {
      // Every run must be correct; the 100 ms bound is wall-clock time on a shared
      // 2-core machine, so it gets up to 3 runs and must hold in one of them.
      const runs: Array<{ readonly pendingAtKill: number; readonly failed: number; readonly lastFailure: number }> = []
      for (let attempt = 0; attempt < 3; attempt++) {
        const run = yield* killWithPending(100)
        runs.push(run)
        if (run.lastFailure < 100) break
      }
      console.log(
        `[reliability] SIGKILL: ` + runs.map((r) =>
          `${r.pendingAtKill} pending at kill, ${r.failed} failed ProcessExited(SIGKILL), last ${r.lastFailure} ms after the kill`
        ).join("; ")
      )
      assert.isBelow(Math.min(...runs.map((r) => r.lastFailure)), 100)
    }).pipe(Effect.provide(NodeServices.layer)))

  it.live("20 build/teardown cycles leave no codex process behind", () =>
    Effect.gen(function*() {
      const codexHome = yield* tempCodexHome
      const started = Date.now()
      for (const cycle of range(20)) {
        const pid = yield* withClient({ codexHome, config: offlineConfig }, (client) =>
          Effect.gen(function*() {
            yield* client.request("thread/loaded/list", {})
            const pids = pidsWithEnv("CODEX_HOME", codexHome)
            assert.strictEqual(pids.length, 1, `cycle ${cycle}: one codex process while the layer is up`)
            return pids[0]!
          }))
        assert.deepStrictEqual(pidsWithEnv("CODEX_HOME", codexHome), [], `cycle ${cycle}: nothing left`)
        assert.isFalse(isAlive(pid), `cycle ${cycle}: pid ${pid} is gone`)
      }
      console.log(`[reliability] 20 build/teardown cycles in ${Date.now() - started} ms`)
    }).pipe(Effect.provide(NodeServices.layer)))

  it.live("a start interrupted at any point leaves no process behind", () =>
    Effect.gen(function*() {
      const codexHome = yield* tempCodexHome
      const outcomes: Array<string> = []
      // From "during spawn" to "during initialize" to "just built".
      for (const delay of [0, 1, 2, 5, 10, 20, 40, 80, 160]) {
        const outcome = yield* AppServerClient.pipe(
          Effect.provide(AppServer.layer({ codexPath: CodexBinary.codexPath, codexHome, config: offlineConfig })),
          Effect.timeoutOption(delay),
          Effect.map(Option.match({ onNone: () => "interrupted", onSome: () => "built" }))
        )
        outcomes.push(`${delay}ms:${outcome}`)
        assert.deepStrictEqual(pidsWithEnv("CODEX_HOME", codexHome), [], `after interrupting at ${delay} ms`)
      }
      console.log(`[reliability] interrupted starts: ${outcomes.join(" ")}`)
      assert.isTrue(outcomes.some((o) => o.endsWith("interrupted")))
    }).pipe(Effect.provide(NodeServices.layer)))

  it.live("interrupting the fiber that holds the layer while requests are pending leaves no process", () =>
    Effect.gen(function*() {
      const codexHome = yield* tempCodexHome
      // 1. Many cheap requests in flight: stdin EOF is enough, codex exits at once.
      let answered = 0
      const main = yield* withClient({ codexHome, config: offlineConfig }, (client) =>
        Effect.forEach(
          range(2000),
          (i) =>
            (i % 2 === 0
              ? Effect.asVoid(client.request("thread/loaded/list", {}))
              : Effect.asVoid(client.request("model/list", {}))).pipe(Effect.tap(() => Effect.sync(() => answered++))),
          { concurrency: "unbounded" }
        )).pipe(Effect.forkChild)
      yield* waitUntil(() => answered >= 1)
      assert.strictEqual(pidsWithEnv("CODEX_HOME", codexHome).length, 1)
      let before = Date.now()
      yield* Fiber.interrupt(main)
      const cheap = Date.now() - before
      const pendingCheap = 2000 - answered
      assert.isAbove(pendingCheap, 0)
      assert.deepStrictEqual(pidsWithEnv("CODEX_HOME", codexHome), [])

      // 2. thread/start requests in flight: codex shuts every loaded thread down after EOF
      // (~25-50 ms each), so teardown escalates to SIGTERM, then SIGKILL, each after shutdownTimeout.
      answered = 0
      const slow = yield* withClient(
        { codexHome, config: threadConfig, shutdownTimeout: "300 millis" },
        (client) =>
          Effect.forEach(
            range(200),
            () => client.request("thread/start", {}).pipe(Effect.tap(() => Effect.sync(() => answered++))),
            { concurrency: "unbounded" }
          )
      ).pipe(Effect.forkChild)
      yield* waitUntil(() => answered >= 1)
      before = Date.now()
      yield* Fiber.interrupt(slow)
      const threads = Date.now() - before
      console.log(
        `[reliability] interrupt: ${pendingCheap} cheap requests pending -> torn down in ${cheap} ms; ` +
          `${200 - answered} thread/start pending (shutdownTimeout 300 ms) -> torn down in ${threads} ms`
      )
      assert.isBelow(threads, 2_500)
      assert.deepStrictEqual(pidsWithEnv("CODEX_HOME", codexHome), [])
    }).pipe(Effect.provide(NodeServices.layer)))

  it.live("a host process stopped with SIGTERM (NodeRuntime.runMain) or SIGKILL leaves no codex behind", () =>
    Effect.gen(function*() {
      const spawner = yield* ChildProcessSpawner.ChildProcessSpawner
      const root = NodePath.resolve(import.meta.dirname, "../..")
      const host = `
        import { NodeRuntime, NodeServices } from "@effect/platform-node"
        import { Effect } from "effect"
        import * as AppServer from ${JSON.stringify(NodePath.join(root, "src/layers/AppServer.ts"))}
        import { AppServerClient } from ${JSON.stringify(NodePath.join(root, "src/services/AppServerClient.ts"))}
        let ready = false
        const program = Effect.gen(function*() {
          const client = yield* AppServerClient
          // Keeps 200 requests pending until the host is stopped.
          yield* Effect.forever(Effect.forEach(Array.from({ length: 1000 }), () =>
            client.request("thread/loaded/list", {}).pipe(Effect.tap(() => Effect.sync(() => {
              if (!ready) { ready = true; console.log("READY") }
            }))), { concurrency: 200, discard: true }))
        }).pipe(
          Effect.provide(AppServer.layer({ codexPath: process.env.TEST_CODEX_PATH, codexHome: process.env.TEST_CODEX_HOME, config: { features: { plugins: false }, analytics: { enabled: false } } })),
          Effect.provide(NodeServices.layer)
        )
        NodeRuntime.runMain(program)
      `
      // runMain treats SIGINT like SIGTERM; SIGKILL runs no finalizer at all.
      for (const signal of ["SIGTERM", "SIGKILL"] as const) {
        const codexHome = yield* tempCodexHome
        const started = Date.now()
        const outcome = yield* Effect.scoped(Effect.gen(function*() {
          const handle = yield* spawner.spawn(
            ChildProcess.make(process.execPath, ["--input-type=module", "--no-warnings", "-e", host], {
              cwd: root,
              env: {
                TEST_CODEX_HOME: codexHome,
                ...(CodexBinary.codexPath === undefined ? {} : { TEST_CODEX_PATH: CodexBinary.codexPath })
              },
              extendEnv: true,
              stderr: "ignore",
              forceKillAfter: "2 seconds"
            })
          )
          const ready = yield* handle.stdout.pipe(
            Stream.decodeText(),
            Stream.splitLines,
            Stream.filter((line) => line === "READY"),
            Stream.runHead,
            Effect.timeout("20 seconds")
          )
          assert.isTrue(Option.isSome(ready))
          assert.strictEqual(pidsWithEnv("CODEX_HOME", codexHome).length, 1)
          const signalledAt = Date.now()
          process.kill(handle.pid, signal)
          const exit = yield* Effect.exit(handle.exitCode)
          const hostGone = Date.now() - signalledAt
          const leftAtHostExit = pidsWithEnv("CODEX_HOME", codexHome)
          // After SIGKILL no finalizer runs: codex must notice stdin EOF by itself.
          const deadline = Date.now() + 3_000
          while (pidsWithEnv("CODEX_HOME", codexHome).length > 0 && Date.now() < deadline) {
            yield* Effect.sleep("10 millis")
          }
          return {
            exit: Exit.isSuccess(exit) ? `code ${exit.value}` : "signal",
            hostGone,
            codexGone: Date.now() - signalledAt,
            leftAtHostExit,
            left: pidsWithEnv("CODEX_HOME", codexHome)
          }
        }))
        console.log(
          `[reliability] host ${signal}: host exited (${outcome.exit}) after ${outcome.hostGone} ms, ` +
            `no codex after ${outcome.codexGone} ms (whole run ${Date.now() - started} ms)`
        )
        assert.deepStrictEqual(outcome.left, [], `${signal}: no codex left`)
        if (signal !== "SIGKILL") {
          // runMain interrupted the main fiber, so the layer's finalizers ran before the host exited.
          assert.deepStrictEqual(outcome.leftAtHostExit, [], `${signal}: codex gone when the host exits`)
        }
      }
    }).pipe(Effect.provide(NodeServices.layer)), 60_000)
})

/** A Node app-server that answers over stdio and writes every kind of garbage. */
const fakeServer = String.raw`
// Every write goes through one queue, one piece per event-loop turn, so pieces
// of different messages never interleave but do reach the client as separate reads.
const queue = []
let pumping = false
const pump = () => {
  const piece = queue.shift()
  if (piece === undefined) return void (pumping = false)
  process.stdout.write(piece)
  setImmediate(pump)
}
const write = (piece) => {
  queue.push(piece)
  if (!pumping) { pumping = true; setImmediate(pump) }
}
const out = (value) => write((typeof value === "string" ? value : JSON.stringify(value)) + "\n")
let buffer = ""
process.stdin.setEncoding("utf8")
process.stdin.on("data", (chunk) => {
  buffer += chunk
  let newline
  while ((newline = buffer.indexOf("\n")) >= 0) {
    const line = buffer.slice(0, newline)
    buffer = buffer.slice(newline + 1)
    handle(JSON.parse(line))
  }
})
process.stdin.on("end", () => {
  const exit = () => queue.length === 0 && !pumping ? process.exit(0) : setTimeout(exit, 5)
  exit()
})
const MiB = 1024 * 1024
function handle(m) {
  if (m.method === "initialize") {
    return out({ id: m.id, result: { userAgent: "fake/0.169.0", codexHome: process.env.CODEX_HOME, platformFamily: "unix", platformOs: "linux" } })
  }
  if (m.method === "initialized") return
  if (m.method === "garbage/all") {
    out("{not json")
    out("")
    out("   ")
    out("\u0000\u0001 binary-ish \uFFFD")
    out("x".repeat(16 * MiB))                               // a 16 MiB line of junk
    out([{ id: m.id, result: "batch" }])                     // a batch array
    out({ id: 987654, result: "nobody asked" })              // a response to an unknown id
    out({ id: m.id })                                        // neither result nor error
    out({ id: m.id, error: "not an object" })                // a malformed error
    out({ method: 42 })                                      // a method that is not a string
    out({ method: "some/new/notification", params: { a: 1 } })                                  // unknown notification
    out({ method: "thread/status/changed", params: { threadId: "t1", status: { type: "hibernating" } } }) // unknown enum value
    out({ method: "big/notification", params: { blob: "y".repeat(16 * MiB) } })                // a valid 16 MiB line
    return out({ id: m.id, result: { ok: true } })
  }
  if (m.method === "flood") {
    // More lines in one write than the transport buffers (4096): backpressure, nothing dropped.
    let text = ""
    for (let n = 0; n < m.params.count; n++) text += JSON.stringify({ method: "flood/item", params: { n } }) + "\n"
    write(text)
    return out({ id: m.id, result: { sent: m.params.count } })
  }
  if (m.method === "echo") {
    // Garbage before every answer, and every answer split over two writes (and two reads).
    out("garbage before " + m.id)
    const text = JSON.stringify({ id: m.id, result: m.params })
    write(text.slice(0, 5))
    return write(text.slice(5) + "\n")
  }
  out({ id: m.id, error: { code: -32600, message: "unknown method " + m.method } })
}
`

/**
 * A stand-in for codex (perl) whose process group keeps a zombie after it exits.
 * L, the leader, starts H, a live helper in its group (as codex starts git and
 * lsb_release), and P, a process of a group of its own that starts Z, lets Z
 * join L's group and exit, and never reaps it. Z stays a zombie in L's group as
 * long as P runs: what an exited helper of codex is until its reaper (init, once
 * codex is gone) gets to it, which some inits do late and a Node PID 1 never.
 * P prints "L H P Z" once Z is a zombie; L exits on stdin EOF.
 */
const zombieGroup = String.raw`
use strict;
$| = 1;
my $group = $$;
sub quiet { open STDIN, "<", "/dev/null"; open STDOUT, ">", "/dev/null"; open STDERR, ">", "/dev/null" }
my $h = fork() // die "fork: $!";
if ($h == 0) { quiet(); exec "sleep", "60" }
my $p = fork() // die "fork: $!";
if ($p == 0) {
  setpgrp(0, 0) or die "setpgrp: $!";
  my $z = fork() // die "fork: $!";
  if ($z == 0) { setpgrp(0, $group) or die "setpgrp: $!"; exit 0 }
  while (1) {
    open my $f, "<", "/proc/$z/stat" or die "stat: $!";
    my $stat = <$f>;
    close $f;
    last if $stat =~ /\) Z /;
    select(undef, undef, undef, 0.005);
  }
  print "$group $h $$ $z\n";
  quiet();
  sleep 60;
  exit 0;
}
while (<STDIN>) {}
exit 0;
`

/** State letter and process group of a pid, from /proc (undefined once it is reaped). */
const procState = (pid: number): { readonly state: string; readonly pgrp: number } | undefined => {
  try {
    const stat = NodeFs.readFileSync(`/proc/${pid}/stat`, "utf8")
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return { state: state!, pgrp: Number(pgrp) }
  } catch {
    return undefined
  }
}

describe("Reliability: teardown of the process group", () => {
  it.live("a zombie left in the process group (its parent never reaps it): teardown stops the live helper and does not wait for the zombie", () =>
    Effect.gen(function*() {
      // Long, so that waiting for the zombie (forceKillAfter, then the spawner's grace) cannot pass for a quick teardown.
      const shutdownTimeout = 5_000
      let outsider: number | undefined
      yield* Effect.addFinalizer(() =>
        Effect.sync(() => {
          if (outsider !== undefined) process.kill(outsider, "SIGKILL")
        })
      )
      const scope = yield* Scope.make()
      const transport = yield* Transport.stdio({
        command: "perl",
        args: ["-e", zombieGroup],
        shutdownTimeout: `${shutdownTimeout} millis`
      }).pipe(Scope.provide(scope))
      const line = yield* transport.incoming.pipe(Stream.runHead, Effect.timeout("10 seconds"))
      const [leader, helper, parent, zombie] = Option.getOrThrow(line).split(" ").map(Number) as [number, number, number, number]
      outsider = parent
      assert.deepStrictEqual(procState(zombie), { state: "Z", pgrp: leader })
      assert.strictEqual(procState(helper)?.pgrp, leader)
      assert.notStrictEqual(procState(helper)?.state, "Z")
      assert.notStrictEqual(procState(parent)?.pgrp, leader)

      const started = Date.now()
      yield* Scope.close(scope, Exit.void)
      const elapsed = Date.now() - started
      console.log(`[reliability] group with a zombie torn down in ${elapsed} ms (shutdownTimeout ${shutdownTimeout} ms)`)
      // the helper was signalled: gone, or a zombie itself
      assert.include([undefined, "Z"], procState(helper)?.state, "the live helper is stopped")
      // the group never emptied, so a wait for it to empty would have run to its end
      assert.deepStrictEqual(procState(zombie), { state: "Z", pgrp: leader })
      assert.isBelow(elapsed, shutdownTimeout)
    }).pipe(Effect.provide(NodeServices.layer)))
})

describe("Reliability: a real process that writes garbage", () => {
  it.live("garbage, empty, 16 MiB lines, batches, unknown ids and notifications: connection stays up, nothing valid lost", () =>
    Effect.gen(function*() {
      const codexHome = yield* tempCodexHome
      const dir = yield* tempDir()
      const script = NodePath.join(dir, "fake-app-server.mjs")
      NodeFs.writeFileSync(script, fakeServer)
      const codexPath = writeScript(dir, "codex", `exec ${JSON.stringify(process.execPath)} ${JSON.stringify(script)}`)

      yield* withClient({ codexHome, codexPath, requestTimeout: "20 seconds" }, (client) =>
        Effect.gen(function*() {
          assert.strictEqual(client.metadata.userAgent, "fake/0.169.0")
          const events = yield* client.subscribe
          const started = Date.now()
          const result = yield* client.requestRaw("garbage/all", {})
          assert.deepStrictEqual(result, { ok: true })

          const received = yield* events.pipe(Stream.take(3), Stream.runCollect, Effect.timeout("10 seconds"))
          const [unknown, enumValue, big] = Array.from(received)
          assert.deepStrictEqual(unknown, {
            _tag: "UnknownNotification",
            method: "some/new/notification",
            params: { a: 1 }
          })
          // A known notification with an enum value the pinned protocol lacks is passed on, not dropped.
          assert.strictEqual(enumValue?.method, "thread/status/changed")
          assert.deepStrictEqual((enumValue as { params: any }).params.status, { type: "hibernating" })
          assert.strictEqual(big?.method, "big/notification")
          assert.strictEqual((big as { params: any }).params.blob.length, 16 * 1024 * 1024)
          const garbageMs = Date.now() - started

          // Still up: 500 concurrent requests, each answer preceded by garbage and split in two writes.
          const echoed = yield* Effect.forEach(
            range(500),
            (n) => client.requestRaw("echo", { n }),
            { concurrency: "unbounded" }
          )
          assert.deepStrictEqual(echoed, range(500).map((n) => ({ n })))
          // A flood of 20 000 notifications in one write (more lines than the transport buffers): all arrive, in order.
          const flood = yield* client.subscribe
          const collected = yield* flood.pipe(
            Stream.filter((message) => message.method === "flood/item"),
            Stream.take(20_000),
            Stream.map((message) => (message as { params: { n: number } }).params.n),
            Stream.runCollect,
            Effect.forkChild
          )
          assert.deepStrictEqual(yield* client.requestRaw("flood", { count: 20_000 }), { sent: 20_000 })
          const numbers = Array.from(yield* Fiber.join(collected).pipe(Effect.timeout("20 seconds")))
          assert.strictEqual(numbers.length, 20_000)
          assert.isTrue(numbers.every((n, i) => n === i))

          const rpc = yield* Effect.flip(client.requestRaw("what", {}))
          assert.strictEqual(rpc.reason._tag, "RpcError")
          console.log(`[reliability] garbage round (2 x 16 MiB lines) took ${garbageMs} ms`)
        }))
      assert.deepStrictEqual(pidsWithEnv("CODEX_HOME", codexHome), [])
    }).pipe(Effect.provide(NodeServices.layer)))
})
