/**
 * Traces and metrics without a process: the trace context on the wire (a fake server sees the raw
 * lines), the turn and approval spans and the metrics (CodexTest), read from a recording tracer and a
 * fresh metric registry per test.
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Layer, Metric, Option, Schedule, Stream, Tracer } from "effect"
import { TestClock } from "effect/testing"
import * as CodexTest from "../../src/layers/testing/CodexTest.ts"
import { AppServerClient } from "../../src/services/AppServerClient.ts"
import * as Approvals from "../../src/services/Approvals.ts"
import * as Codex from "../../src/services/Codex.ts"
import * as Metrics from "../../src/services/Metrics.ts"
import * as Fake from "../support/FakeServer.ts"

/** A tracer that keeps every span it makes. */
const recording = () => {
  const spans: Array<Tracer.NativeSpan> = []
  const tracer = Tracer.make({
    span(options) {
      const span = new Tracer.NativeSpan(options)
      spans.push(span)
      return span
    }
  })
  const named = (name: string) => spans.filter((span) => span.name === name)
  const one = (name: string) => {
    const found = named(name)
    assert.lengthOf(found, 1, `one ${name} span in ${spans.map((span) => span.name).join(", ")}`)
    return found[0]!
  }
  return { spans, tracer, named, one }
}

const parentOf = (span: Tracer.AnySpan) => Option.getOrUndefined((span as Tracer.Span).parent)

/** A counter's count, for these attributes. */
const count = (metric: Metric.Counter<number>, attributes: Record<string, string> = {}) =>
  Effect.map(Metric.value(Metric.withAttributes(metric, attributes)), (state) => state.count)

/** Runs with a fresh registry and the tracer, Codex.layer (and approvals) over CodexTest. */
const withCodexTest = (
  tracer: Tracer.Tracer,
  script: ReadonlyArray<CodexTest.Step>,
  options: CodexTest.Options & { readonly approvals?: Layer.Layer<Approvals.Approvals> } = {}
) =>
<A, E, R>(self: Effect.Effect<A, E, R>) => {
  const { approvals, ...rest } = options
  const codex = approvals === undefined ? Codex.layer : Codex.layer.pipe(Layer.provide(approvals))
  return self.pipe(
    Effect.provide(codex),
    Effect.provide(CodexTest.layer(script, rest)),
    Effect.provideService(Tracer.Tracer, tracer),
    Effect.provideService(Metric.MetricRegistry, new Map())
  )
}

const echo = Fake.layer((message, server) => Fake.send(server, { id: message.id, result: { data: [] } }))

describe("trace context on requests", () => {
  it.effect("a request inside a span carries the span's traceparent in the envelope", () =>
    Effect.gen(function*() {
      const seen: Array<Fake.Received> = []
      const layer = Fake.layer((message, server) =>
        Effect.sync(() => seen.push(message)).pipe(Effect.andThen(Fake.send(server, { id: message.id, result: { data: [] } })))
      )
      const { one, tracer } = recording()
      yield* Effect.gen(function*() {
        const client = yield* AppServerClient
        yield* client.requestRaw("outside/span", {})
        yield* client.request("thread/loaded/list", {}).pipe(Effect.withSpan("outer"))
        yield* client.requestRaw("raw/inside", {}).pipe(Effect.withSpan("outer-raw"))
      }).pipe(Effect.provide(layer), Effect.provideService(Tracer.Tracer, tracer))
      const [outside, inside, raw] = seen
      assert.strictEqual(outside!.method, "outside/span")
      assert.isUndefined(outside!.trace)
      const outer = one("outer")
      assert.deepStrictEqual(inside!.trace, { traceparent: `00-${outer.traceId}-${outer.spanId}-01` })
      const outerRaw = one("outer-raw")
      assert.deepStrictEqual(raw!.trace, { traceparent: `00-${outerRaw.traceId}-${outerRaw.spanId}-01` })
    }))

  it.effect("with requestSpans the traceparent names the request's own span", () =>
    Effect.gen(function*() {
      const seen: Array<Fake.Received> = []
      const layer = Fake.layer(
        (message, server) =>
          Effect.sync(() => seen.push(message)).pipe(Effect.andThen(Fake.send(server, { id: message.id, result: { data: [] } }))),
        { requestSpans: true }
      )
      const { one, named, tracer } = recording()
      yield* AppServerClient.pipe(
        Effect.flatMap((client) => client.request("thread/loaded/list", {})),
        Effect.withSpan("outer"),
        Effect.provide(layer),
        Effect.provideService(Tracer.Tracer, tracer)
      )
      const request = named("AppServerClient.request").find((span) => span.attributes.get("codex.method") === "thread/loaded/list")!
      assert.strictEqual(parentOf(request)?.spanId, one("outer").spanId)
      assert.deepStrictEqual(seen[0]!.trace, { traceparent: `00-${request.traceId}-${request.spanId}-01` })
    }))

  it.effect("a span whose ids are not W3C ids (noop or hand-made) sends no trace field", () =>
    Effect.gen(function*() {
      const seen: Array<Fake.Received> = []
      const layer = Fake.layer((message, server) =>
        Effect.sync(() => seen.push(message)).pipe(Effect.andThen(Fake.send(server, { id: message.id, result: {} })))
      )
      class OddSpan extends Tracer.NativeSpan {
        override get traceId() {
          return "trace-1"
        }
        override get spanId() {
          return "span-1"
        }
      }
      const odd = Tracer.make({ span: (options) => new OddSpan(options) })
      yield* Effect.gen(function*() {
        const client = yield* AppServerClient
        yield* client.requestRaw("odd/ids", {}).pipe(Effect.withSpan("odd"), Effect.provideService(Tracer.Tracer, odd))
        yield* client.requestRaw("tracing/off", {}).pipe(Effect.withSpan("off"), Effect.withTracerEnabled(false))
      }).pipe(Effect.provide(layer))
      assert.deepStrictEqual(seen.map((message) => [message.method, message.trace]), [
        ["odd/ids", undefined],
        ["tracing/off", undefined]
      ])
    }))

  it.effect("an unsampled span is propagated with flags 00", () =>
    Effect.gen(function*() {
      const seen: Array<Fake.Received> = []
      const layer = Fake.layer((message, server) =>
        Effect.sync(() => seen.push(message)).pipe(Effect.andThen(Fake.send(server, { id: message.id, result: {} })))
      )
      const parent = Tracer.externalSpan({ traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "00f067aa0ba902b7", sampled: false })
      yield* AppServerClient.pipe(
        Effect.flatMap((client) => client.requestRaw("from/upstream", {})),
        Effect.withParentSpan(parent),
        Effect.provide(layer)
      )
      assert.deepStrictEqual(seen[0]!.trace, { traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00" })
    }))
})

describe("turn spans", () => {
  it.effect("the Turn span is a child of Thread.run, holds the turn/start request, and carries ids, model, status and usage", () => {
    const { named, one, tracer } = recording()
    return Effect.gen(function*() {
      const thread = yield* Codex.startThread({ model: "gpt-5.4" })
      const result = yield* thread.run("Say hello").pipe(Effect.withSpan("program"))
      const turn = one("Turn")
      assert.strictEqual(parentOf(turn)?.spanId, one("Thread.run").spanId)
      assert.strictEqual(parentOf(one("Thread.run"))?.spanId, one("program").spanId)
      const start = named("AppServerClient.request").find((span) => span.attributes.get("codex.method") === "turn/start")!
      assert.strictEqual(parentOf(start)?.spanId, turn.spanId)
      assert.strictEqual(turn.status._tag, "Ended")
      assert.deepStrictEqual(Object.fromEntries(turn.attributes), {
        "codex.thread_id": thread.id,
        "codex.turn_id": result.turnId,
        "codex.model": "gpt-5.4",
        "codex.turn.status": "completed",
        "codex.usage.input_tokens": 100,
        "codex.usage.cached_input_tokens": 10,
        "codex.usage.output_tokens": 20,
        "codex.usage.reasoning_output_tokens": 0,
        "codex.usage.total_tokens": 120
      })
      // it ends with the turn, before the Thread.run that waited for it
      const runEnd = one("Thread.run").status
      assert.isTrue(turn.status._tag === "Ended" && runEnd._tag === "Ended" && turn.status.endTime <= runEnd.endTime)
    }).pipe(withCodexTest(tracer, [CodexTest.reply("hi")], { requestSpans: true }))
  })

  it.effect("a turn's model is the turn's own, which sticks for the turns after it", () => {
    const { named, tracer } = recording()
    return Effect.gen(function*() {
      const thread = yield* Codex.startThread({ model: "gpt-5.4" })
      yield* thread.run("one")
      yield* thread.run("two", { model: "gpt-5.4-mini" })
      yield* thread.run("three")
      assert.deepStrictEqual(named("Turn").map((span) => span.attributes.get("codex.model")), [
        "gpt-5.4",
        "gpt-5.4-mini",
        "gpt-5.4-mini"
      ])
    }).pipe(withCodexTest(tracer, [CodexTest.reply("1"), CodexTest.reply("2"), CodexTest.reply("3")]))
  })

  it.effect("a failed turn's span ends with the failure and names the reason", () => {
    const { one, tracer } = recording()
    return Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      const error = yield* Effect.flip(thread.run("fail please"))
      assert.strictEqual(error.reason._tag, "TurnFailed")
      const turn = one("Turn")
      assert.strictEqual(turn.attributes.get("codex.turn.status"), "failed")
      assert.strictEqual(turn.attributes.get("codex.error.reason"), "TurnFailed")
      assert.isTrue(turn.status._tag === "Ended" && turn.status.exit._tag === "Failure")
    }).pipe(withCodexTest(tracer, [CodexTest.fail("model unavailable", "serverOverloaded")]))
  })

  it.effect("the Turn span of thread.turn ends when the turn ends, though nobody awaits its result", () => {
    const { one, tracer } = recording()
    return Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      yield* Effect.scoped(Effect.gen(function*() {
        const turn = yield* thread.turn("Say hello")
        yield* Stream.runDrain(turn.events)
      }))
      const span = one("Turn")
      assert.strictEqual(span.status._tag, "Ended")
      assert.strictEqual(span.attributes.get("codex.turn.status"), "completed")
    }).pipe(withCodexTest(tracer, [CodexTest.reply("hi")]))
  })
})

describe("compaction spans", () => {
  it.effect("Thread.compact is the compaction's span: thread and turn ids, model, status and usage; counted as a compaction, not a turn", () => {
    const { named, one, tracer } = recording()
    return Effect.gen(function*() {
      const thread = yield* Codex.startThread({ model: "gpt-5.4" })
      yield* thread.run("one")
      yield* thread.compact.pipe(Effect.withSpan("program"))
      const [turn, compaction] = yield* CodexTest.turns
      assert.strictEqual(compaction!.step, "compaction")
      const span = one("Thread.compact")
      assert.strictEqual(parentOf(span)?.spanId, one("program").spanId)
      assert.strictEqual(span.status._tag, "Ended")
      assert.isTrue(span.status._tag === "Ended" && span.status.exit._tag === "Success")
      assert.deepStrictEqual(Object.fromEntries(span.attributes), {
        "codex.thread_id": thread.id,
        "codex.model": "gpt-5.4",
        "codex.turn_id": compaction!.turnId,
        "codex.turn.status": "completed",
        // the compaction's own growth of the thread's totals, not the totals (the turn before used as much)
        "codex.usage.input_tokens": 100,
        "codex.usage.cached_input_tokens": 10,
        "codex.usage.output_tokens": 20,
        "codex.usage.reasoning_output_tokens": 0,
        "codex.usage.total_tokens": 120
      })
      assert.notStrictEqual(compaction!.turnId, turn!.turnId)
      // the request runs inside it, and no Turn span is made for the compaction
      const request = named("AppServerClient.request").find((s) => s.attributes.get("codex.method") === "thread/compact/start")!
      assert.strictEqual(parentOf(request)?.spanId, span.spanId)
      assert.deepStrictEqual(named("Turn").map((s) => s.attributes.get("codex.turn_id")), [turn!.turnId])

      assert.strictEqual(yield* count(Metrics.compactions, { "codex.turn.status": "completed" }), 1)
      const durations = yield* Metric.value(
        Metric.withAttributes(Metrics.compactionDuration, { "codex.turn.status": "completed" })
      )
      assert.strictEqual(durations.count, 1)
      assert.strictEqual(yield* count(Metrics.turnsStarted), 1)
      assert.strictEqual(yield* count(Metrics.turnsCompleted, { "codex.turn.status": "completed" }), 1)
      // tokens: the turn's and the compaction's, by the thread's model
      const byModel = { "codex.model": "gpt-5.4" }
      assert.strictEqual(yield* count(Metrics.inputTokens, byModel), 200)
      assert.strictEqual(yield* count(Metrics.cachedInputTokens, byModel), 20)
      assert.strictEqual(yield* count(Metrics.outputTokens, byModel), 40)
    }).pipe(withCodexTest(tracer, [CodexTest.reply("1")], { requestSpans: true }))
  })

  it.effect("a compaction runs on the thread's model: the thread's own, then the one a turn set", () => {
    const { named, tracer } = recording()
    return Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      yield* thread.compact
      yield* thread.run("one", { model: "gpt-5.4-mini" })
      yield* thread.compact
      const [first, second] = named("Thread.compact")
      assert.strictEqual(thread.info.model, "mock-model")
      assert.strictEqual(first!.attributes.get("codex.model"), "mock-model")
      assert.strictEqual(second!.attributes.get("codex.model"), "gpt-5.4-mini")
      assert.strictEqual(yield* count(Metrics.compactions, { "codex.turn.status": "completed" }), 2)
      assert.strictEqual(yield* count(Metrics.outputTokens, { "codex.model": "mock-model" }), 20)
      assert.strictEqual(yield* count(Metrics.outputTokens, { "codex.model": "gpt-5.4-mini" }), 40)
    }).pipe(withCodexTest(tracer, [CodexTest.reply("1")]))
  })
})

describe("steered turns", () => {
  it.effect("a turn/start that codex answers with the active turn (it steers it) counts one turn", () => {
    const { named, tracer } = recording()
    return Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      const turnId = yield* Effect.scoped(Effect.gen(function*() {
        const first = yield* thread.turn("first")
        const second = yield* Effect.forkChild(thread.run("and this too"))
        yield* CodexTest.awaitRequest("turn/start", 2)
        yield* TestClock.adjust("1 second")
        const result = yield* Fiber.join(second)
        assert.strictEqual(result.turnId, first.id)
        yield* first.result
        return first.id
      }))
      assert.strictEqual(yield* count(Metrics.turnsStarted), 1)
      assert.strictEqual(yield* count(Metrics.turnsCompleted, { "codex.turn.status": "completed" }), 1)
      // each turn/start has its span, both name the one turn and end with it
      assert.deepStrictEqual(named("Turn").map((span) => [span.attributes.get("codex.turn_id"), span.status._tag]), [
        [turnId, "Ended"],
        [turnId, "Ended"]
      ])
    }).pipe(withCodexTest(tracer, [CodexTest.turn(CodexTest.delay("500 millis"), CodexTest.reply("done"))]))
  })
})

describe("approval spans", () => {
  it.effect("an approval's wait is a span of its own, a child of its turn, with the decision", () => {
    const { one, tracer } = recording()
    const answered = Deferred.makeUnsafe<void>()
    const approvals = Approvals.layer({
      commandExecution: () => Effect.as(Deferred.succeed(answered, undefined), "accept" as const)
    })
    return Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      yield* thread.run("Run the tests")
      yield* Deferred.await(answered)
      const approval = one("Approval")
      assert.strictEqual(parentOf(approval)?.spanId, one("Turn").spanId)
      assert.strictEqual(approval.attributes.get("codex.method"), "item/commandExecution/requestApproval")
      assert.strictEqual(approval.attributes.get("codex.approval.decision"), "accept")
      assert.strictEqual(approval.attributes.get("codex.thread_id"), thread.id)
      assert.strictEqual(approval.status._tag, "Ended")
    }).pipe(withCodexTest(tracer, [
      CodexTest.turn(CodexTest.command("npm test", { approval: true, output: "ok\n" }), CodexTest.reply("The tests pass."))
    ], { approvals }))
  })
})

describe("metrics", () => {
  it.effect("turns started, completed (by status) and failed (by reason); duration; tokens per turn, by model", () => {
    const { tracer } = recording()
    return Effect.gen(function*() {
      const thread = yield* Codex.startThread({ model: "gpt-5.4" })
      yield* thread.run("one")
      yield* thread.run("two")
      yield* Effect.flip(thread.run("three"))
      assert.strictEqual(yield* count(Metrics.turnsStarted), 3)
      assert.strictEqual(yield* count(Metrics.turnsCompleted, { "codex.turn.status": "completed" }), 2)
      assert.strictEqual(yield* count(Metrics.turnsFailed, { "codex.error.reason": "TurnFailed" }), 1)
      const durations = yield* Metric.value(Metric.withAttributes(Metrics.turnDuration, { "codex.turn.status": "completed" }))
      assert.strictEqual(durations.count, 2)
      // Each turn adds its own growth of the thread's totals (CodexTest's totals are cumulative), not the totals.
      const byModel = { "codex.model": "gpt-5.4" }
      assert.strictEqual(yield* count(Metrics.inputTokens, byModel), 200)
      assert.strictEqual(yield* count(Metrics.cachedInputTokens, byModel), 20)
      assert.strictEqual(yield* count(Metrics.outputTokens, byModel), 40)
    }).pipe(withCodexTest(tracer, [CodexTest.reply("1"), CodexTest.reply("2"), CodexTest.fail("no")]))
  })

  it.effect("a turn open when the connection dies is failed by that reason", () => {
    const { tracer } = recording()
    return Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      const error = yield* Effect.flip(thread.run("crash"))
      assert.strictEqual(error.reason._tag, "ProcessExited")
      assert.strictEqual(yield* count(Metrics.turnsFailed, { "codex.error.reason": "ProcessExited" }), 1)
      assert.strictEqual(yield* count(Metrics.turnsCompleted, { "codex.turn.status": "completed" }), 0)
    }).pipe(withCodexTest(tracer, [CodexTest.crash()]))
  })

  it.effect("approvals are counted by method and decision, the default answers too", () => {
    const { tracer } = recording()
    const method = "item/commandExecution/requestApproval"
    return Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      yield* thread.run("Run it")
      yield* thread.run("Run it again")
      assert.strictEqual(yield* count(Metrics.approvals, { "codex.method": method, "codex.approval.decision": "decline" }), 2)
      assert.strictEqual(yield* count(Metrics.approvals, { "codex.method": method, "codex.approval.decision": "accept" }), 0)
    }).pipe(withCodexTest(tracer, [
      CodexTest.turn(CodexTest.command("touch a", { approval: true }), CodexTest.reply("declined")),
      CodexTest.turn(CodexTest.command("touch b", { approval: true }), CodexTest.reply("declined again"))
    ]))
  })

  it.effect("requests in flight: the gauge reads what was sent and not answered, over every connection", () =>
    Effect.gen(function*() {
      const held: Array<{ readonly id: number | string | undefined; readonly answer: Effect.Effect<void> }> = []
      const three = Deferred.makeUnsafe<void>()
      const holding = Fake.layer((message, server) =>
        Effect.sync(() => {
          held.push({ id: message.id, answer: Fake.send(server, { id: message.id, result: {} }) })
          if (held.length === 3) Deferred.doneUnsafe(three, Effect.void)
        })
      )
      yield* Effect.gen(function*() {
        const client = yield* AppServerClient
        assert.strictEqual((yield* Metric.value(Metrics.requestsInFlight)).value, 0)
        const fibers = yield* Effect.forEach([1, 2, 3], (n) => Effect.forkChild(client.requestRaw("hold", { n })))
        yield* Deferred.await(three)
        assert.strictEqual((yield* Metric.value(Metrics.requestsInFlight)).value, 3)
        // a second connection in the same registry adds its own
        yield* AppServerClient.pipe(
          Effect.flatMap((other) => other.request("thread/loaded/list", {})),
          Effect.provide(echo)
        )
        yield* Effect.forEach(held, (entry) => entry.answer, { discard: true })
        yield* Effect.forEach(fibers, Fiber.join, { discard: true })
        assert.strictEqual((yield* Metric.value(Metrics.requestsInFlight)).value, 0)
      }).pipe(Effect.provide(holding))
    }).pipe(Effect.provideService(Metric.MetricRegistry, new Map())))

  it.effect("overload retries are counted by method", () =>
    Effect.gen(function*() {
      let calls = 0
      const overloaded = Fake.layer(
        (message, server) =>
          Fake.send(
            server,
            ++calls <= 2
              ? { id: message.id, error: { code: -32001, message: "Server overloaded; retry later." } }
              : { id: message.id, result: { data: [] } }
          ),
        { overloadRetry: Schedule.recurs(5) }
      )
      yield* AppServerClient.pipe(
        Effect.flatMap((client) => client.request("thread/loaded/list", {})),
        Effect.provide(overloaded)
      )
      assert.strictEqual(yield* count(Metrics.overloadRetries, { "codex.method": "thread/loaded/list" }), 2)
    }).pipe(Effect.provideService(Metric.MetricRegistry, new Map())))
})
