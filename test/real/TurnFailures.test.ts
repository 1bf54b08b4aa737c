/**
 * Failed turns on the real binary + LocalModel: every model failure kind maps
 * to `TurnFailed` with codex's own `codexErrorInfo`, the failed turn's events
 * hold the `Error` event, the thread stays usable; and the app-server killed
 * mid-turn fails the turn with `ProcessExited` at once.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Stream } from "effect"
import * as NodeFs from "node:fs"
import * as LocalModel from "../../src/layers/testing/LocalModel.ts"
import * as Codex from "../../src/services/Codex.ts"
import type * as Thread from "../../src/services/Thread.ts"
import type * as TurnEvent from "../../src/streams/TurnEvent.ts"
import * as Real from "../support/Real.ts"
import { exitReason } from "../support/Errors.ts"



interface Kind {
  readonly name: string
  readonly step: LocalModel.Step
  readonly info: unknown
  readonly message: RegExp
}

/** What codex 0.169.0 reports for each failure (request and stream retries off). */
const kinds: ReadonlyArray<Kind> = [
  {
    name: "429 rate limited",
    step: LocalModel.rateLimited(),
    info: { responseTooManyFailedAttempts: { httpStatusCode: 429 } },
    message: /429/
  },
  { name: "500", step: LocalModel.serverError(), info: "internalServerError", message: /./ },
  {
    name: "401",
    step: LocalModel.unauthorized(),
    info: { httpConnectionFailed: { httpStatusCode: 401 } },
    message: /401/
  },
  { name: "quota", step: LocalModel.quotaExceeded(), info: "usageLimitExceeded", message: /[Qq]uota/ },
  { name: "400", step: LocalModel.httpError(400, "bad request from LocalModel"), info: "other", message: /bad request from LocalModel/ },
  { name: "truncated stream", step: LocalModel.truncated(), info: "other", message: /stream disconnected before completion/ },
  { name: "malformed SSE", step: LocalModel.malformed(), info: "other", message: /stream disconnected before completion/ },
  { name: "response.failed", step: LocalModel.responseFailed("kaboom"), info: "other", message: /kaboom/ },
  { name: "SSE error event", step: LocalModel.sseError("sse boom"), info: "other", message: /stream disconnected/ },
  { name: "response.incomplete", step: LocalModel.incomplete(), info: "other", message: /Incomplete response/ },
  // last: codex then considers the context full, and the next turn starts with a compaction
  {
    name: "context window exceeded",
    step: LocalModel.contextWindowExceeded(),
    info: "contextWindowExceeded",
    message: /context window/
  }
]

/** Runs one failing turn through `thread.turn`; returns its events and the caught `TurnFailed`. */
const failingTurn = (thread: Thread.Thread, prompt: string) =>
  Effect.scoped(Effect.gen(function*() {
    const turn = yield* thread.turn(prompt)
    const events = yield* Stream.runCollect(turn.events).pipe(Effect.timeout("10 seconds"))
    const reason = yield* turn.result.pipe(
      Effect.map(() => undefined),
      Effect.catchReason("CodexError", "TurnFailed", (reason) => Effect.succeed(reason))
    )
    return { turn, events, reason }
  }))

describe("Turn failures (real binary + LocalModel)", () => {
  it.live("every model failure kind is TurnFailed with codex's codexErrorInfo; the thread stays usable", () =>
    Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      const seen: Array<string> = []
      for (const kind of kinds) {
        const { events, reason, turn } = yield* failingTurn(thread, `try ${kind.name}`)
        assert.isDefined(reason, `${kind.name}: TurnFailed`)
        assert.strictEqual(reason!.threadId, thread.id, kind.name)
        assert.strictEqual(reason!.turnId, turn.id, kind.name)
        assert.deepStrictEqual(reason!.codexErrorInfo, kind.info, `${kind.name}: ${JSON.stringify(reason!.codexErrorInfo)}`)
        assert.match(reason!.message, kind.message, kind.name)
        // the events include the Error event, then TurnCompleted with status failed
        const errors = events.filter((e): e is TurnEvent.Error => e._tag === "Error")
        assert.strictEqual(errors.length, 1, `${kind.name}: one Error event`)
        assert.isFalse(errors[0]!.willRetry)
        assert.deepStrictEqual(errors[0]!.error.codexErrorInfo, kind.info)
        assert.strictEqual(errors[0]!.error.message, reason!.message)
        const last = events[events.length - 1]!
        assert.strictEqual(last._tag === "TurnCompleted" && last.turn.status, "failed", kind.name)
        assert.strictEqual(events[0]!._tag, "TurnStarted")
        seen.push(`${kind.name} -> ${JSON.stringify(reason!.codexErrorInfo)}`)
      }
      console.log(`[failures]\n  ${seen.join("\n  ")}`)

      // thread.run fails the same way, and catchReason picks it up. (After the
      // context-window failure codex starts this turn with an automatic
      // compaction request: that is the request the 500 answers.)
      const caught = yield* thread.run("once more").pipe(
        Effect.map(() => "ok"),
        Effect.catchReason("CodexError", "TurnFailed", (reason) => Effect.succeed(reason.codexErrorInfo))
      )
      assert.strictEqual(caught, "internalServerError")

      // after all that the thread still runs turns (again a compaction
      // request first, answered with the summary, then the turn's own)
      const result = yield* thread.run("still there?")
      assert.strictEqual(result.status, "completed")
      assert.strictEqual(result.finalResponse, "still here")
      const requests = yield* LocalModel.requests
      assert.strictEqual(requests.length, kinds.length + 3)
      assert.include(requests[kinds.length]!.rawBody, "CONTEXT CHECKPOINT COMPACTION")
      assert.include(requests[kinds.length + 1]!.rawBody, "CONTEXT CHECKPOINT COMPACTION")
      assert.strictEqual(LocalModel.lastUserText(requests[requests.length - 1]!), "still there?")
    }).pipe(Effect.provide(Real.layer([
      ...kinds.map((kind) => kind.step),
      LocalModel.serverError(),
      LocalModel.text("SUMMARY"),
      LocalModel.text("still here")
    ], Real.fast))))

  it.live("a failure codex retries is an Error event with willRetry: true, and the turn completes", () =>
    Effect.scoped(Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      const turn = yield* thread.turn("flaky")
      const events = yield* Stream.runCollect(turn.events)
      const result = yield* turn.result
      assert.strictEqual(result.status, "completed")
      assert.strictEqual(result.finalResponse, "recovered")
      const errors = events.filter((e): e is TurnEvent.Error => e._tag === "Error")
      assert.strictEqual(errors.length, 1)
      assert.isTrue(errors[0]!.willRetry)
      assert.deepStrictEqual(errors[0]!.error.codexErrorInfo, { responseStreamDisconnected: { httpStatusCode: null } })
    })).pipe(
      Effect.provide(Real.layer([LocalModel.truncated(), LocalModel.text("recovered")], {
        model: { ...Real.fast.model, streamMaxRetries: 1 }
      }))
    ))

  it.live("app-server SIGKILLed mid-turn: result and events fail with ProcessExited within 100 ms", () =>
    Effect.scoped(Effect.gen(function*() {
      const model = yield* LocalModel.LocalModel
      const thread = yield* Codex.startThread()
      const turn = yield* thread.turn("hang on")
      yield* LocalModel.awaitRequest(0)
      const pids = appServerPids(model.codexHome)
      assert.strictEqual(pids.length, 1, "one codex app-server")

      const at = { result: 0, events: 0, liveEvents: 0 }
      const resultFiber = yield* turn.result.pipe(
        Effect.exit,
        Effect.tap(() => Effect.sync(() => at.result = performance.now())),
        Effect.forkChild
      )
      const eventsFiber = yield* Stream.runCollect(turn.events).pipe(
        Effect.exit,
        Effect.tap(() => Effect.sync(() => at.events = performance.now())),
        Effect.forkChild
      )
      // one more reader that has seen events already and waits for more
      let seenBefore = 0
      const liveFiber = yield* turn.events.pipe(
        Stream.runForEach(() => Effect.sync(() => seenBefore++)),
        Effect.exit,
        Effect.tap(() => Effect.sync(() => at.liveEvents = performance.now())),
        Effect.forkChild
      )
      yield* Effect.sleep("20 millis")
      assert.isAbove(seenBefore, 0)

      const killedAt = performance.now()
      process.kill(pids[0]!, "SIGKILL")
      const resultExit = yield* Fiber.join(resultFiber).pipe(Effect.timeout("5 seconds"))
      const eventsExit = yield* Fiber.join(eventsFiber).pipe(Effect.timeout("5 seconds"))
      const liveExit = yield* Fiber.join(liveFiber).pipe(Effect.timeout("5 seconds"))
      const latency = {
        result: at.result - killedAt,
        events: at.events - killedAt,
        liveEvents: at.liveEvents - killedAt
      }
      console.log(
        `[failures] SIGKILL mid-turn -> result failed after ${latency.result.toFixed(1)} ms, ` +
          `events after ${latency.events.toFixed(1)} ms / ${latency.liveEvents.toFixed(1)} ms`
      )
      for (const exit of [resultExit, eventsExit, liveExit]) {
        const reason = exitReason(exit)
        assert.strictEqual(reason?._tag, "ProcessExited")
        if (reason?._tag === "ProcessExited") {
          assert.isUndefined(reason.exitCode)
          assert.strictEqual(reason.signal, "SIGKILL")
        }
      }
      assert.isBelow(latency.result, 100)
      assert.isBelow(latency.events, 100)
      assert.isBelow(latency.liveEvents, 100)

      // on the dead connection: result and events again, a new run, a new thread all fail at once
      const before = performance.now()
      const again = yield* Effect.exit(turn.result)
      const eventsAgain = yield* Effect.exit(Stream.runDrain(turn.events))
      const run = yield* Effect.exit(thread.run("anyone?"))
      const scoped = yield* Effect.exit(Effect.scoped(thread.turn("anyone?")))
      const start = yield* Effect.exit(Codex.startThread())
      const elapsed = performance.now() - before
      for (const exit of [again, eventsAgain, run, scoped, start]) assert.strictEqual(exitReason(exit)?._tag, "ProcessExited")
      console.log(`[failures] 5 calls on the dead connection failed in ${elapsed.toFixed(1)} ms`)
      assert.isBelow(elapsed, 100)
    })).pipe(Effect.provide(Real.layer([LocalModel.hang()], Real.fast))))
})

/** Pids of the codex app-server processes whose environment has this CODEX_HOME. */
const appServerPids = (codexHome: string): ReadonlyArray<number> =>
  NodeFs.readdirSync("/proc").flatMap((entry) => {
    if (!/^\d+$/.test(entry)) return []
    try {
      const environ = NodeFs.readFileSync(`/proc/${entry}/environ`, "utf8").split("\0")
      const cmdline = NodeFs.readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0")
      return environ.includes(`CODEX_HOME=${codexHome}`) && cmdline.includes("app-server") ? [Number(entry)] : []
    } catch {
      return []
    }
  })
