/**
 * Turns on the real binary + LocalModel: history across turns, interrupt (by
 * `turn.interrupt`, by interrupting the fiber of `thread.run`, by closing the
 * Scope of `thread.turn`), steer, a second `turn/start` while a turn is active,
 * concurrent runs on one thread, an instant model (also with the `turn/start`
 * response arriving after the whole turn), structured output that does not
 * match.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Layer, Schema, Stream } from "effect"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import * as LocalModel from "../../src/layers/testing/LocalModel.ts"
import * as Codex from "../../src/services/Codex.ts"
import type * as Thread from "../../src/services/Thread.ts"
import type * as TurnEvent from "../../src/streams/TurnEvent.ts"
import { exitReason } from "../support/Errors.ts"
import * as CodexBinary from "../support/CodexBinary.ts"
import * as Real from "../support/Real.ts"





const tagsOf = (events: ReadonlyArray<TurnEvent.TurnEvent>) => events.map((event) => event._tag)

/** Every event belongs to this turn. */
const assertOwnEvents = (events: ReadonlyArray<TurnEvent.TurnEvent>, threadId: string, turnId: string) => {
  for (const event of events) {
    if (event._tag === "Other" || event._tag === "ApprovalRequested") continue
    assert.strictEqual(event.threadId, threadId)
    if ("turnId" in event) assert.strictEqual(event.turnId, turnId)
    if ("turn" in event) assert.strictEqual(event.turn.id, turnId)
  }
}

/** The status of a turn as codex stored it. */
const storedStatus = (thread: Thread.Thread, turnId: string) =>
  thread.read({ includeTurns: true }).pipe(
    Effect.map((response) => response.thread.turns.find((t) => t.id === turnId)?.status)
  )

const TURN_ABORTED = "<turn_aborted>"

/**
 * A script for turns that may be interrupted before their model request: the
 * request whose last user message is `prompt` hangs, any other is answered
 * with `answer` (so a step is not consumed by a request that never came).
 */
const hangOn = (prompt: string, answer: string): ReadonlyArray<LocalModel.Step> =>
  Array.from({ length: 4 }, () => (request: LocalModel.RecordedRequest) =>
    LocalModel.lastUserText(request) === prompt ? LocalModel.hang() : LocalModel.text(answer))

/**
 * A stdio proxy in front of the real codex that holds every `turn/start`
 * response back until the next `turn/completed` has been passed on (or, when
 * given a hold in ms, until that long has passed): the client then sees a whole
 * (instant) turn before the response that names it, the case the router buffers
 * for (argv: real binary, log file, hold ms or "none"). The real binary over a local pipe
 * never does this on its own (it answers first, and the SDK claims the turn
 * before routing its events), so without the proxy that path is not exercised.
 */
const PROXY = `
import { spawn } from "node:child_process"
import { appendFileSync } from "node:fs"
import * as readline from "node:readline"
const [real, log, holdMs, ...args] = process.argv.slice(2)
const child = spawn(real, args, { stdio: ["pipe", "pipe", "inherit"] })
const starts = new Set()
const held = new Map()
const out = (line) => process.stdout.write(line + "\\n")
const flush = (why) => {
  for (const [id, entry] of held) {
    clearTimeout(entry.timer)
    // logged before it is passed on: once the client has the answer, the log says why it came
    appendFileSync(log, why + "\\n")
    out(entry.line)
  }
  held.clear()
}
readline.createInterface({ input: process.stdin })
  .on("line", (line) => {
    try {
      const message = JSON.parse(line)
      if (message.method === "turn/start") starts.add(message.id)
    } catch {}
    child.stdin.write(line + "\\n")
  })
  .on("close", () => child.stdin.end())
readline.createInterface({ input: child.stdout }).on("line", (line) => {
  let message
  try { message = JSON.parse(line) } catch { return out(line) }
  if (message.method === undefined && starts.has(message.id)) {
    starts.delete(message.id)
    const release = () => { held.delete(message.id); appendFileSync(log, "timeout\\n"); out(line) }
    held.set(message.id, { line, timer: holdMs === "none" ? undefined : setTimeout(release, Number(holdMs)) })
    return
  }
  out(line)
  if (message.method === "turn/completed") flush("after-turn-completed")
})
child.on("exit", (code, signal) => { flush("exit"); process.exit(code ?? 1) })
`

/**
 * {@link Real.layer} with the reordering proxy; `log` lists one line per held response and why it was released.
 * Without `holdMs` a response waits for its `turn/completed` however long the turn takes (a timer would let it
 * go early on a slow machine and so undo the reordering the test is about); the test's own timeout bounds it.
 */
const reorderedLayer = (script: ReadonlyArray<LocalModel.Step>, log: { path: string }, holdMs?: number) =>
  Layer.unwrap(Effect.gen(function*() {
    const dir = yield* Effect.acquireRelease(
      Effect.sync(() => NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "effect-codex-proxy-"))),
      (dir) => Effect.sync(() => NodeFs.rmSync(dir, { recursive: true, force: true }))
    )
    const proxy = NodePath.join(dir, "proxy.mjs")
    NodeFs.writeFileSync(proxy, PROXY)
    log.path = NodePath.join(dir, "log")
    NodeFs.writeFileSync(log.path, "")
    const binary = CodexBinary.binary
    const codexPath = NodePath.join(dir, "codex")
    NodeFs.writeFileSync(
      codexPath,
      `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(proxy)} ${JSON.stringify(binary.command)} ${
        JSON.stringify(log.path)
      } ${holdMs ?? "none"} ${binary.prefixArgs.map((a) => JSON.stringify(a)).join(" ")} "$@"\n`,
      { mode: 0o755 }
    )
    return Real.layer(script, {
      ...Real.fast,
      appServer: {
        codexPath,
        env: {
          ...binary.env,
          PATH: [...binary.pathDirs, process.env.PATH ?? ""].join(NodePath.delimiter)
        }
      }
    })
  }))

const proxyLog = (log: { path: string }) =>
  NodeFs.readFileSync(log.path, "utf8").split("\n").filter((line) => line.length > 0)

describe("Turns (real binary + LocalModel)", () => {
  it.live("multi-turn: the second model request carries the first turn's history", () =>
    Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      const first = yield* thread.run("What is 2+2?")
      const second = yield* thread.run("And times 3?")
      assert.strictEqual(first.finalResponse, "4")
      assert.strictEqual(second.finalResponse, "12")
      assert.notStrictEqual(first.turnId, second.turnId)
      assert.strictEqual(second.threadId, thread.id)
      const requests = yield* LocalModel.requests
      assert.strictEqual(requests.length, 2)
      assert.isFalse(LocalModel.messages(requests[0]!).includes("assistant: 4"))
      Real.assertInOrder(LocalModel.messages(requests[1]!), ["user: What is 2+2?", "assistant: 4", "user: And times 3?"])
    }).pipe(Effect.provide(Real.layer([LocalModel.text("4"), LocalModel.text("12")], Real.fast))))

  it.live("turn.interrupt: status interrupted; the next turn works and its input has <turn_aborted>", () =>
    Effect.scoped(Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      const turn = yield* thread.turn("Write slowly")
      yield* LocalModel.awaitRequest(0)
      const before = performance.now()
      yield* turn.interrupt
      const interruptMs = performance.now() - before
      const result = yield* turn.result
      assert.strictEqual(result.status, "interrupted")
      assert.strictEqual(result.turnId, turn.id)
      const events = yield* Stream.runCollect(turn.events)
      const last = events[events.length - 1]!
      assert.strictEqual(last._tag, "TurnCompleted")
      assert.strictEqual(last._tag === "TurnCompleted" && last.turn.status, "interrupted")
      assert.strictEqual(yield* storedStatus(thread, turn.id), "interrupted")

      const next = yield* thread.run("Go on")
      assert.strictEqual(next.status, "completed")
      assert.strictEqual(next.finalResponse, "done")
      const request = yield* LocalModel.awaitRequest(1)
      assert.isTrue(LocalModel.messages(request).some((m) => m.startsWith("user: ") && m.includes(TURN_ABORTED)))
      console.log(`[turns] turn.interrupt -> turn ended in ${interruptMs.toFixed(1)} ms`)
      assert.isBelow(interruptMs, 2000)
    })).pipe(Effect.provide(Real.layer([LocalModel.hang(), LocalModel.text("done")], Real.fast))))

  it.live("interrupting the fiber of thread.run interrupts the turn at once; the next turn works", () =>
    Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      const fiber = yield* thread.run("Write slowly", { interruptTimeout: "3 seconds" }).pipe(Effect.forkChild)
      yield* LocalModel.awaitRequest(0)
      const before = performance.now()
      const exit = yield* Fiber.interrupt(fiber).pipe(Effect.andThen(Fiber.await(fiber)))
      const elapsed = performance.now() - before
      assert.isTrue(Exit.hasInterrupts(exit))
      // codex got turn/interrupt (not just a client-side give-up): it stored the turn as interrupted.
      const stored = yield* thread.read({ includeTurns: true })
      assert.strictEqual(stored.thread.turns.length, 1)
      assert.strictEqual(stored.thread.turns[0]!.status, "interrupted")
      console.log(`[turns] fiber interrupt of thread.run ended in ${elapsed.toFixed(1)} ms`)
      assert.isBelow(elapsed, 1000, "well within interruptTimeout")

      const next = yield* thread.run("Again")
      assert.strictEqual(next.finalResponse, "again")
      assert.isTrue(LocalModel.messages(yield* LocalModel.awaitRequest(1)).some((m) => m.includes(TURN_ABORTED)))
    }).pipe(Effect.provide(Real.layer([LocalModel.hang(), LocalModel.text("again")], Real.fast))))

  it.live("interrupting the fiber waiting on turn.result interrupts the turn", () =>
    Effect.scoped(Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      const turn = yield* thread.turn("Write slowly")
      const fiber = yield* turn.result.pipe(Effect.forkChild)
      yield* LocalModel.awaitRequest(0)
      const before = performance.now()
      yield* Fiber.interrupt(fiber)
      const elapsed = performance.now() - before
      // the turn has ended (its events end with TurnCompleted interrupted), before the Scope closes
      const events = yield* Stream.runCollect(turn.events).pipe(Effect.timeout("1 second"))
      const last = events[events.length - 1]!
      assert.strictEqual(last._tag === "TurnCompleted" && last.turn.status, "interrupted")
      assert.isBelow(elapsed, 1000)
    })).pipe(Effect.provide(Real.layer([LocalModel.hang()], Real.fast))))

  it.live("interrupting thread.run while its turn/start is still in flight: the turn is interrupted, nothing hangs", () =>
    Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      const fiber = yield* thread.run("Write slowly").pipe(Effect.forkChild)
      yield* Effect.yieldNow
      const before = performance.now()
      yield* Fiber.interrupt(fiber)
      const elapsed = performance.now() - before
      assert.isBelow(elapsed, 1000)
      // codex may or may not have started the turn; if it did, it is not left running
      const stored = yield* thread.read({ includeTurns: true })
      for (const turn of stored.thread.turns) assert.notStrictEqual(turn.status, "inProgress")
      const next = yield* thread.run("Again")
      assert.strictEqual(next.status, "completed")
      console.log(
        `[turns] run interrupted during turn/start: ended in ${elapsed.toFixed(1)} ms; stored turns: ` +
          JSON.stringify(stored.thread.turns.map((t) => t.status))
      )
    }).pipe(Effect.provide(Real.layer(hangOn("Write slowly", "again"), Real.fast))))

  it.live("turn.interrupt right after thread.turn (before the model was called)", () =>
    Effect.scoped(Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      const turn = yield* thread.turn("Write slowly")
      const before = performance.now()
      yield* turn.interrupt
      const elapsed = performance.now() - before
      const result = yield* turn.result
      assert.strictEqual(result.status, "interrupted")
      const next = yield* thread.run("Again")
      assert.strictEqual(next.finalResponse, "again")
      console.log(`[turns] turn.interrupt right after thread.turn: ended in ${elapsed.toFixed(1)} ms`)
    })).pipe(Effect.provide(Real.layer(hangOn("Write slowly", "again"), Real.fast))))

  it.live("closing the Scope of thread.turn before the end interrupts the turn", () =>
    Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      const before = { at: 0 }
      const turnId = yield* Effect.scoped(Effect.gen(function*() {
        const turn = yield* thread.turn("Write slowly")
        yield* LocalModel.awaitRequest(0)
        before.at = performance.now()
        return turn.id
      }))
      const closeMs = performance.now() - before.at
      assert.strictEqual(yield* storedStatus(thread, turnId), "interrupted")
      console.log(`[turns] Scope close of thread.turn interrupted the turn in ${closeMs.toFixed(1)} ms`)
      assert.isBelow(closeMs, 1000)
      const next = yield* thread.run("Again")
      assert.strictEqual(next.finalResponse, "after scope")
    }).pipe(Effect.provide(Real.layer([LocalModel.hang(), LocalModel.text("after scope")], Real.fast))))

  it.live("a turn that completed inside its Scope is not interrupted when the Scope closes", () =>
    Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      const turnId = yield* Effect.scoped(Effect.gen(function*() {
        const turn = yield* thread.turn("Hi")
        yield* turn.result
        return turn.id
      }))
      assert.strictEqual(yield* storedStatus(thread, turnId), "completed")
    }).pipe(Effect.provide(Real.layer([LocalModel.text("hi")], Real.fast))))

  it.live("turn.steer: the steered input reaches the next model request of the same turn", () =>
    Effect.scoped(Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      const turn = yield* thread.turn("Count to ten slowly")
      yield* LocalModel.awaitRequest(0)
      // codex answers with the id of the turn that took the input
      assert.deepStrictEqual(yield* turn.steer("Stop at three"), { turnId: turn.id })
      const request = yield* LocalModel.awaitRequest(1)
      Real.assertInOrder(LocalModel.messages(request), ["user: Count to ten slowly", "user: Stop at three"])
      const result = yield* turn.result
      assert.strictEqual(result.status, "completed")
      assert.strictEqual(result.turnId, turn.id)
      assert.strictEqual(result.finalResponse, "1 2 3")
      // the steer shows up as a user message item of the same turn
      const userTexts = result.items.flatMap((item) =>
        item.type === "userMessage" ? item.content.flatMap((c) => (c.type === "text" ? [c.text] : [])) : []
      )
      assert.deepStrictEqual(userTexts, ["Count to ten slowly", "Stop at three"])
    })).pipe(Effect.provide(Real.layer([LocalModel.hang(), LocalModel.text("1 2 3")], Real.fast))))

  it.live("turn.steer right after thread.turn (before turn/started) reaches the model", () =>
    Effect.scoped(Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      const turn = yield* thread.turn("Count to ten slowly")
      yield* turn.steer("Stop at three")
      const result = yield* turn.result
      assert.strictEqual(result.status, "completed")
      const requests = yield* LocalModel.requests
      assert.isTrue(
        requests.some((request) => LocalModel.messages(request).includes("user: Stop at three")),
        "the steered input reached a model request"
      )
    })).pipe(Effect.provide(Real.layer([LocalModel.hang(), LocalModel.text("1 2 3"), LocalModel.text("1 2 3")], Real.fast))))

  it.live("turn.steer after the turn ended fails with an RpcError", () =>
    Effect.scoped(Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      const turn = yield* thread.turn("Hi")
      yield* turn.result
      const exit = yield* Effect.exit(turn.steer("too late"))
      assert.strictEqual(exitReason(exit)?._tag, "RpcError")
      // interrupting a finished turn is a no-op
      yield* turn.interrupt
    })).pipe(Effect.provide(Real.layer([LocalModel.text("hi")], Real.fast))))

  it.live("a second thread.turn while one is active: codex steers the active turn; both handles see it", () =>
    Effect.scoped(Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      const first = yield* thread.turn("first")
      yield* LocalModel.awaitRequest(0)
      const second = yield* thread.turn("second while first active").pipe(Effect.timeout("5 seconds"))
      assert.strictEqual(second.id, first.id)
      const request = yield* LocalModel.awaitRequest(1)
      Real.assertInOrder(LocalModel.messages(request), ["user: first", "user: second while first active"])
      const [a, b] = yield* Effect.all([first.result, second.result], { concurrency: 2 }).pipe(
        Effect.timeout("5 seconds")
      )
      assert.strictEqual(a.finalResponse, "both")
      assert.deepStrictEqual(a, b)
      const eventsA = yield* Stream.runCollect(first.events)
      const eventsB = yield* Stream.runCollect(second.events)
      assert.deepStrictEqual(eventsA, eventsB)
      assert.strictEqual(eventsA[0]!._tag, "TurnStarted")
      assert.strictEqual(eventsA[eventsA.length - 1]!._tag, "TurnCompleted")
    })).pipe(Effect.provide(Real.layer([LocalModel.hang(), LocalModel.text("both")], Real.fast))))

  it.live("a second thread.run while one is active on the same thread: both get the one result", () =>
    Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      const first = yield* thread.run("first").pipe(Effect.forkChild)
      yield* LocalModel.awaitRequest(0)
      const second = yield* thread.run("second").pipe(Effect.timeout("5 seconds"))
      const firstResult = yield* Fiber.join(first).pipe(Effect.timeout("5 seconds"))
      assert.strictEqual(second.turnId, firstResult.turnId)
      assert.strictEqual(second.finalResponse, "joined")
      assert.strictEqual(firstResult.finalResponse, "joined")
    }).pipe(Effect.provide(Real.layer([LocalModel.hang(), LocalModel.text("joined")], Real.fast))))

  it.live("6 concurrent thread.run on one idle thread: all complete (codex merges some into one turn), none hangs", () =>
    Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      const results = yield* Effect.forEach(
        Array.from({ length: 6 }, (_, i) => i),
        (i) => thread.run(`parallel ${i}`),
        { concurrency: "unbounded" }
      ).pipe(Effect.timeout("15 seconds"))
      for (const result of results) {
        assert.strictEqual(result.status, "completed")
        assert.isDefined(result.finalResponse)
      }
      const stored = yield* thread.read({ includeTurns: true })
      const storedIds = stored.thread.turns.map((t) => t.id)
      for (const result of results) assert.include(storedIds, result.turnId)
      for (const turn of stored.thread.turns) assert.strictEqual(turn.status, "completed")
      console.log(`[turns] 6 concurrent runs on one thread -> ${new Set(results.map((r) => r.turnId)).size} turn(s)`)
    }).pipe(
      Effect.provide(Real.layer(
        Array.from({ length: 20 }, () => (request: LocalModel.RecordedRequest) =>
          LocalModel.text(`re: ${LocalModel.lastUserText(request)}`)),
        Real.fast
      ))
    ))

  it.live("instant model: 30 quick turns in a row each have all their events", () =>
    Effect.gen(function*() {
      const n = 30
      const threads = yield* Effect.all([Codex.startThread(), Codex.startThread()])
      const started = performance.now()
      for (let i = 0; i < n; i++) {
        const thread = threads[i % 2]!
        const events = yield* Effect.scoped(
          thread.turn(`quick ${i}`).pipe(Effect.flatMap((turn) =>
            Stream.runCollect(turn.events).pipe(
              Effect.tap((events) => Effect.sync(() => assertOwnEvents(events, thread.id, turn.id)))
            )
          ))
        )
        const tags = tagsOf(events)
        assert.strictEqual(tags[0], "TurnStarted", `turn ${i}: ${tags.join(",")}`)
        assert.strictEqual(tags[tags.length - 1], "TurnCompleted", `turn ${i}`)
        assert.strictEqual(tags.filter((t) => t === "TurnStarted").length, 1)
        const texts = events.flatMap((e) =>
          e._tag === "ItemCompleted" && e.item.type === "agentMessage" ? [e.item.text] : []
        )
        assert.deepStrictEqual(texts, [`answer ${i}`], `turn ${i}`)
        const userTexts = events.flatMap((e) =>
          e._tag === "ItemCompleted" && e.item.type === "userMessage" ? [e.item.content] : []
        )
        assert.strictEqual(userTexts.length, 1, `turn ${i}: user message`)
        assert.strictEqual(events.filter((e) => e._tag === "AgentMessageDelta").map((e) => e.delta).join(""), `answer ${i}`)
      }
      console.log(`[turns] ${n} instant turns in ${(performance.now() - started).toFixed(0)} ms`)
    }).pipe(
      Effect.provide(Real.layer(
        Array.from({ length: 30 }, () => (request: LocalModel.RecordedRequest) =>
          LocalModel.text((LocalModel.lastUserText(request) ?? "?").replace("quick", "answer"), { deltas: 2 })),
        Real.fast
      ))
    ))

  const reorderLog = { path: "" }
  it.live("instant model, turn/start responses held back past turn/completed: every turn has all its events", () =>
    Effect.gen(function*() {
      const n = 10
      const thread = yield* Codex.startThread()
      for (let i = 0; i < n; i++) {
        const outcome = yield* Effect.scoped(Effect.gen(function*() {
          const turn = yield* thread.turn(`quick ${i}`)
          const events = yield* Stream.runCollect(turn.events)
          const result = yield* turn.result
          return { turn, events, result }
        })).pipe(Effect.timeout("5 seconds"))
        assertOwnEvents(outcome.events, thread.id, outcome.turn.id)
        const tags = tagsOf(outcome.events)
        assert.strictEqual(tags[0], "TurnStarted", `turn ${i}: ${tags.join(",")}`)
        assert.strictEqual(tags[tags.length - 1], "TurnCompleted", `turn ${i}`)
        assert.include(tags, "AgentMessageDelta")
        assert.strictEqual(outcome.result.finalResponse, `answer ${i}`)
      }
      // each of the n responses came after its turn/completed
      assert.deepStrictEqual(proxyLog(reorderLog), Array.from({ length: n }, () => "after-turn-completed"))
    }).pipe(
      Effect.provide(reorderedLayer(
        Array.from({ length: 10 }, () => (request: LocalModel.RecordedRequest) =>
          LocalModel.text((LocalModel.lastUserText(request) ?? "?").replace("quick", "answer"), { deltas: 2 })),
        reorderLog
      ))
    ))

  const steerLog = { path: "" }
  it.live("a second thread.turn while one is active, answered after the active turn completed: no hang", () =>
    Effect.scoped(Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      const first = yield* thread.turn("first")
      yield* LocalModel.awaitRequest(0)
      // codex steers the active turn, answers with its id, the model answers at once, the turn
      // completes, and only then does the proxy pass the answer on: the handle must be the ended turn
      const second = yield* thread.turn("second while first active").pipe(Effect.timeout("5 seconds"))
      assert.strictEqual(second.id, first.id)
      const result = yield* second.result.pipe(Effect.timeout("5 seconds"))
      assert.strictEqual(result.finalResponse, "steered")
      assert.deepStrictEqual(yield* first.result, result)
      // the first answer was let go after 300 ms (its turn hangs), the second after turn/completed
      assert.deepStrictEqual(proxyLog(steerLog), ["timeout", "after-turn-completed"])
    })).pipe(Effect.provide(reorderedLayer([LocalModel.hang(), LocalModel.text("steered")], steerLog, 300))))

  it.live("instant model: 20 concurrent thread.run on 20 threads, with turn.events read late", () =>
    Effect.gen(function*() {
      const n = 20
      const threads = yield* Effect.forEach(Array.from({ length: n }, (_, i) => i), () => Codex.startThread(), {
        concurrency: n
      })
      yield* Effect.forEach(threads, (thread, i) =>
        Effect.scoped(Effect.gen(function*() {
          const turn = yield* thread.turn(`quick ${i}`)
          // let the turn finish before anyone reads its events
          const result = yield* turn.result
          const events = yield* Stream.runCollect(turn.events)
          assertOwnEvents(events, thread.id, turn.id)
          assert.strictEqual(events[0]!._tag, "TurnStarted")
          assert.strictEqual(events[events.length - 1]!._tag, "TurnCompleted")
          assert.strictEqual(result.finalResponse, `answer ${i}`)
        })), { concurrency: n, discard: true })
    }).pipe(
      Effect.provide(Real.layer(
        Array.from({ length: 20 }, () => (request: LocalModel.RecordedRequest) =>
          LocalModel.text((LocalModel.lastUserText(request) ?? "?").replace("quick", "answer"))),
        Real.fast
      ))
    ))
})

describe("Structured output (real binary + LocalModel)", () => {
  const Answer = Schema.Struct({ city: Schema.String, population: Schema.Number })

  it.live("an answer that does not match the Schema: OutputDecodeError with the raw text", () =>
    Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      const raw = JSON.stringify({ city: "Tokyo", population: "lots" })
      const error = yield* thread.run("Largest city?", { outputSchema: Answer }).pipe(Effect.flip)
      assert.strictEqual(error.reason._tag, "OutputDecodeError")
      if (error.reason._tag === "OutputDecodeError") {
        assert.strictEqual(error.reason.text, raw)
        assert.include(error.reason.description, "population")
      }
      const caught = yield* thread.run("Again?", { outputSchema: Answer }).pipe(
        Effect.map(() => "decoded"),
        Effect.catchReason("CodexError", "OutputDecodeError", (reason) => Effect.succeed(reason.text))
      )
      assert.strictEqual(caught, "Tokyo is the largest city.")
      // the thread is fine afterwards
      const ok = yield* thread.run("Once more", { outputSchema: Answer })
      assert.deepStrictEqual(ok.output, { city: "Tokyo", population: 37 })
    }).pipe(Effect.provide(Real.layer([
      LocalModel.json({ city: "Tokyo", population: "lots" }),
      LocalModel.text("Tokyo is the largest city."),
      LocalModel.json({ city: "Tokyo", population: 37 })
    ], Real.fast))))

  it.live("a raw JSON Schema object: sent as is, the answer is parsed JSON", () =>
    Effect.gen(function*() {
      const schema = {
        type: "object",
        properties: { ok: { type: "boolean" }, items: { type: "array", items: { type: "string" } } },
        required: ["ok", "items"],
        additionalProperties: false
      }
      const thread = yield* Codex.startThread()
      const result = yield* thread.run("Check", { outputSchema: schema })
      const output: unknown = result.output
      assert.deepStrictEqual(output, { ok: true, items: ["a", "b"] })
      const [request] = yield* LocalModel.requests
      const format = (request!.body as any).text.format
      assert.strictEqual(format.type, "json_schema")
      assert.deepStrictEqual(format.schema, schema)
      // a non-JSON answer to a raw schema is an OutputDecodeError too
      const error = yield* thread.run("Check again", { outputSchema: schema }).pipe(Effect.flip)
      assert.strictEqual(error.reason._tag, "OutputDecodeError")
      assert.strictEqual(error.reason._tag === "OutputDecodeError" && error.reason.text, "nope")
      // outputSchema is per turn: the next request has no json_schema format
      yield* thread.run("Plain")
      const requests = yield* LocalModel.requests
      assert.notStrictEqual((requests[2]!.body as any).text?.format?.type, "json_schema")
    }).pipe(Effect.provide(Real.layer([
      LocalModel.json({ ok: true, items: ["a", "b"] }),
      LocalModel.text("nope"),
      LocalModel.text("plain")
    ], Real.fast))))
})
