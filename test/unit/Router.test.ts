/**
 * The router: notifications and server requests to turns, by thread id and turn id, exactly. Fed with
 * the recorded sessions in test/fixtures/transcripts (goldens) and with the races the live client meets.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Stream } from "effect"
import * as fs from "node:fs"
import * as CodexError from "../../src/schema/CodexError.ts"
import * as Incoming from "../../src/schema/Incoming.ts"
import { Router, type TurnState } from "../../src/streams/internal/router.ts"
import * as TurnEvent from "../../src/streams/TurnEvent.ts"
import * as TurnResult from "../../src/streams/TurnResult.ts"

const dir = new URL("../fixtures/transcripts/", import.meta.url)

interface Line {
  readonly dir: string
  readonly proc?: string
  readonly msg: { readonly id?: number | string; readonly method?: string; readonly params?: any; readonly result?: any }
}

const read = (file: string): ReadonlyArray<Line> =>
  fs.readFileSync(new URL(file, dir), "utf8").split("\n").filter((line) => line.trim() !== "").map((line) =>
    JSON.parse(line) as Line
  )

/** The message as the client hands it to the router. */
const incomingOf = (msg: Line["msg"]): Incoming.Incoming | undefined => {
  if (msg.method === undefined) return undefined
  if (msg.id !== undefined) {
    const decoded = Incoming.decodeServerRequest(msg.id, msg.method, msg.params)
    return decoded._tag === "Request" ? decoded.request : undefined
  }
  return Incoming.decodeNotification(msg.method, msg.params)
}

const notification = (method: string, params: Record<string, unknown>) => Incoming.decodeNotification(method, params)

const turnStarted = (threadId: string, turnId: string, rootTurnId: string = turnId) =>
  notification("turn/started", { threadId, turn: { id: turnId, rootTurnId, items: [], status: "inProgress", error: null } })
const turnCompleted = (threadId: string, turnId: string, status = "completed") =>
  notification("turn/completed", { threadId, turn: { id: turnId, items: [], status, error: null } })
const delta = (threadId: string, turnId: string, text: string) =>
  notification("item/agentMessage/delta", { threadId, turnId, itemId: "m", delta: text })

/**
 * Replays one process of a transcript through a router as the client would: `beginStart` when the
 * client sends `turn/start`, `claim` when its answer arrives, every other server message routed.
 */
const replay = (lines: ReadonlyArray<Line>) => {
  const router = new Router()
  const starts = new Map<number | string, string>()
  const turns: Array<TurnState> = []
  for (const line of lines) {
    const starting = line.msg.method === "turn/start" || line.msg.method === "review/start"
    if (line.dir === "c2s" && starting && line.msg.id !== undefined) {
      starts.set(line.msg.id, line.msg.params.threadId)
      router.beginStart(line.msg.params.threadId)
      // as thread.review does: its answer may name another thread
      if (line.msg.method === "review/start") router.beginStartElsewhere()
    } else if (line.dir === "s2c") {
      const threadId = line.msg.id === undefined ? undefined : starts.get(line.msg.id)
      if (threadId !== undefined && line.msg.method === undefined) {
        starts.delete(line.msg.id!)
        const result = line.msg.result
        if (result?.turn?.id !== undefined) turns.push(router.claim(result.reviewThreadId ?? threadId, result.turn.id))
        if (result?.reviewThreadId !== undefined) router.endStartElsewhere()
        router.endStart(threadId)
        continue
      }
      const incoming = incomingOf(line.msg)
      if (incoming !== undefined) router.route(incoming)
    }
  }
  return { router, turns }
}

const transcripts = fs.readdirSync(dir).filter((file) => file.endsWith(".jsonl")).sort()

describe("Router: recorded sessions (goldens)", () => {
  it("every turn started in a transcript ends with TurnCompleted and holds only its own events", () => {
    let checked = 0
    for (const file of transcripts) {
      const lines = read(file)
      const procs = [...new Set(lines.map((line) => line.proc))]
      for (const proc of procs) {
        const { turns } = replay(lines.filter((line) => line.proc === proc))
        for (const turn of turns) {
          const where = `${file} ${proc ?? ""} turn ${turn.turnId}`
          assert.strictEqual(turn.phase._tag, "Completed", where)
          assert.strictEqual(turn.events.at(-1)?._tag, "TurnCompleted", where)
          for (const event of turn.events) {
            const ids = event as {
              readonly turnId?: string
              readonly turn?: { readonly id: string; readonly rootTurnId?: string | null }
            }
            // a review's turn/started names an inner turn, and the review as its root
            const turnId = ids.turnId ?? (event._tag === "TurnStarted" ? ids.turn?.rootTurnId ?? ids.turn?.id : ids.turn?.id)
            if (turnId !== undefined) assert.strictEqual(turnId, turn.turnId, `${where}: ${event._tag}`)
          }
          checked++
        }
      }
    }
    assert.isAbove(checked, 25)
  })

  it("k-review: both reviews get their inner turn/started; the interrupt recorded names that inner turn", () => {
    const lines = read("k-review.jsonl")
    const { turns } = replay(lines)
    assert.strictEqual(turns.length, 2)
    for (const turn of turns) {
      const tags = turn.events.map((event) => event._tag)
      assert.deepStrictEqual([tags.includes("TurnStarted"), tags.at(-1)], [true, "TurnCompleted"], turn.turnId)
      assert.notStrictEqual(turn.activeTurnId, turn.turnId)
    }
    const interrupt = lines.find((line) => line.msg.method === "turn/interrupt")
    assert.strictEqual(interrupt?.msg.params.turnId, turns[1]!.activeTurnId)
  })

  it("i-concurrent-threads: two threads' turns interleave on the wire and are told apart", () => {
    const { turns } = replay(read("i-concurrent-threads.jsonl"))
    assert.isAtLeast(turns.length, 2)
    assert.strictEqual(new Set(turns.map((turn) => turn.threadId)).size, turns.length)
    for (const turn of turns) assert.include(turn.events.map((event) => event._tag), "AgentMessageDelta")
  })

  it("b-exec-approval: the approval request and its serverRequest/resolved reach the turn", () => {
    const { turns } = replay(read("b-exec-approval.jsonl"))
    const tags = turns[0]!.events.map((event) => event._tag)
    const requested = tags.indexOf("ApprovalRequested")
    assert.isAtLeast(requested, 0)
    const resolved = turns[0]!.events.findIndex((event) => event._tag === "Other" && event.method === "serverRequest/resolved")
    assert.isAbove(resolved, requested)
  })
})

describe("Router: the races of a live connection", () => {
  it("an instant model: events that arrive before the turn/start answer are handed to the turn", () => {
    const router = new Router()
    router.beginStart("t")
    router.route(turnStarted("t", "u"))
    router.route(delta("t", "u", "hi"))
    router.route(turnCompleted("t", "u"))
    const turn = router.claim("t", "u")
    router.endStart("t")
    assert.deepStrictEqual(turn.events.map((event) => event._tag), ["TurnStarted", "AgentMessageDelta", "TurnCompleted"])
    assert.strictEqual(turn.phase._tag, "Completed")
    assert.isUndefined(router.active("u"))
  })

  it("steer race: a turn/start answered with the active turn's id after it completed finds that turn", () => {
    const router = new Router()
    router.beginStart("t")
    const first = router.claim("t", "u")
    router.endStart("t")
    router.route(turnStarted("t", "u"))
    // a second turn/start goes out while u runs; codex steers u and answers with u's id,
    // but u's turn/completed is routed before the answer is read
    router.beginStart("t")
    router.route(turnCompleted("t", "u"))
    const second = router.claim("t", "u")
    router.endStart("t")
    assert.strictEqual(second, first)
    assert.strictEqual(second.phase._tag, "Completed")
  })

  it("events of a thread with no start pending and no such turn are dropped, not misrouted", () => {
    const router = new Router()
    router.beginStart("t")
    const turn = router.claim("t", "u")
    router.endStart("t")
    router.route(delta("t", "other-turn", "not mine"))
    router.route(delta("other-thread", "u", "same turn id, another thread"))
    router.route(delta("t", "u", "mine"))
    assert.deepStrictEqual(turn.events.map((event) => (event as { delta?: string }).delta), ["mine"])
  })

  it("serverRequest/resolved for a request still in a start buffer follows it to the turn", () => {
    const router = new Router()
    router.beginStart("t")
    const recorded = read("b-exec-approval.jsonl").find((line) => line.msg.method === "item/commandExecution/requestApproval")!
    const request = Incoming.decodeServerRequest(7, "item/commandExecution/requestApproval", {
      ...recorded.msg.params,
      threadId: "t",
      turnId: "u"
    })
    assert.strictEqual(request._tag, "Request")
    if (request._tag === "Request") router.route(request.request)
    router.route(notification("serverRequest/resolved", { threadId: "t", requestId: 7 }))
    const turn = router.claim("t", "u")
    router.endStart("t")
    assert.deepStrictEqual(
      turn.events.map((event) => event._tag === "Other" ? event.method : event._tag),
      ["ApprovalRequested", "serverRequest/resolved"]
    )
  })

  it("a turn/completed whose params a newer codex changed still completes the turn", () => {
    const router = new Router()
    router.beginStart("t")
    const turn = router.claim("t", "u")
    router.endStart("t")
    router.route(Incoming.decodeNotification("turn/completed", {
      threadId: "t",
      turn: { id: "u", status: "completed", items: "a new shape", error: null }
    }))
    assert.strictEqual(turn.phase._tag, "Completed")
  })

  it.effect("failAll: open turns fail with the reason, their streams end with it, later claims fail at once", () =>
    Effect.gen(function*() {
      const router = new Router()
      router.beginStart("t")
      const turn = router.claim("t", "u")
      router.endStart("t")
      router.route(delta("t", "u", "partial"))
      const events = yield* Effect.forkChild(Stream.runCollect(turn.stream))
      const error = CodexError.make(new CodexError.ProcessExited({ exitCode: undefined, signal: "SIGKILL", stderrTail: [] }))
      router.failAll(error)
      const exit = yield* Fiber.await(events)
      assert.isTrue(Exit.isFailure(exit))
      assert.strictEqual(turn.phase._tag, "Failed")
      const endExit = yield* Effect.exit(turn.awaitEnd)
      assert.isTrue(Exit.isFailure(endExit))
      const late = router.claim("t", "v")
      assert.strictEqual(late.phase._tag, "Failed")
    }))

  it.effect("every run of a turn's stream sees the whole turn from its first event", () =>
    Effect.gen(function*() {
      const router = new Router()
      router.beginStart("t")
      const turn = router.claim("t", "u")
      router.endStart("t")
      router.route(turnStarted("t", "u"))
      router.route(delta("t", "u", "a"))
      const live = yield* Effect.forkChild(Stream.runCollect(turn.stream))
      router.route(delta("t", "u", "b"))
      router.route(turnCompleted("t", "u"))
      const first = yield* Fiber.join(live)
      const again = yield* Stream.runCollect(turn.stream)
      assert.deepStrictEqual(Array.from(first).map((event) => event._tag), Array.from(again).map((event) => event._tag))
      assert.strictEqual(Array.from(again).length, 4)
    }))

  it.effect("awaitUnclaimed: the turn codex starts by itself (compaction) is claimed with its buffered events", () =>
    Effect.gen(function*() {
      const router = new Router()
      router.beginStart("t")
      const waiting = yield* Effect.forkChild(router.awaitUnclaimed("t"))
      router.route(turnStarted("t", "c"))
      const turn = yield* Fiber.join(waiting)
      router.endStart("t")
      assert.strictEqual(turn.turnId, "c")
      assert.deepStrictEqual(turn.events.map((event) => event._tag), ["TurnStarted"])
      assert.isTrue(turn.started)
    }))

  // review/start answers with the review's turn id; every event of the review carries it, but its
  // turn/started names an inner turn, with the review's id as rootTurnId (codex 0.169 and 0.171)
  it("a review's turn/started (inner turn, rootTurnId = the review) routed before the answer is the review's", () => {
    const router = new Router()
    router.beginStart("t")
    router.route(notification("item/started", { threadId: "t", turnId: "review", item: { type: "enteredReviewMode", id: "i", review: "x" } }))
    router.route(turnStarted("t", "inner", "review"))
    const turn = router.claim("t", "review")
    router.endStart("t")
    router.route(turnCompleted("t", "review"))
    assert.deepStrictEqual(turn.events.map((event) => event._tag), ["ItemStarted", "TurnStarted", "TurnCompleted"])
    assert.strictEqual(turn.phase._tag, "Completed")
    // codex refuses turn/interrupt with the review's id ("expected active turn id ... but found <inner>")
    assert.strictEqual(turn.activeTurnId, "inner")
  })

  it("a review's turn/started routed after the answer reaches the review, which has not started yet", () => {
    const router = new Router()
    router.beginStart("t")
    const turn = router.claim("t", "review")
    router.endStart("t")
    assert.isFalse(turn.started)
    router.route(turnStarted("t", "inner", "review"))
    assert.isTrue(turn.started)
    assert.strictEqual(turn.activeTurnId, "inner")
    assert.strictEqual(turn.turnId, "review")
  })

  it("a turn/started whose rootTurnId names a turn that already started is not that turn's", () => {
    const router = new Router()
    router.beginStart("t")
    const turn = router.claim("t", "u")
    router.endStart("t")
    router.route(turnStarted("t", "u"))
    // a turn codex starts on behalf of u (a goal continuation) is a turn of its own
    router.route(turnStarted("t", "v", "u"))
    assert.deepStrictEqual(turn.events.map((event) => (event as { turn?: { id: string } }).turn?.id), ["u"])
    assert.strictEqual(turn.activeTurnId, "u")
  })

  it("a start answered with another thread (a review on a thread of its own) gets that thread's early events", () => {
    const router = new Router()
    router.beginStart("t")
    router.beginStartElsewhere()
    router.route(turnStarted("r", "inner", "review"))
    router.route(delta("r", "review", "early"))
    router.route(delta("elsewhere", "z", "not claimed"))
    const turn = router.claim("r", "review")
    router.endStartElsewhere()
    router.endStart("t")
    router.route(delta("r", "review", "late"))
    router.route(turnCompleted("r", "review"))
    assert.strictEqual(turn.threadId, "r")
    assert.deepStrictEqual(turn.events.map((event) => event._tag), ["TurnStarted", "AgentMessageDelta", "AgentMessageDelta", "TurnCompleted"])
    // nothing is kept once no such start is pending
    router.route(delta("x", "y", "dropped"))
    assert.strictEqual(router.claim("x", "y").events.length, 0)
  })

  it.effect("openOn: a turn's waiter, resumed synchronously by its end, no longer sees it open", () =>
    Effect.gen(function*() {
      const router = new Router()
      router.beginStart("t")
      const turn = router.claim("t", "u")
      router.endStart("t")
      router.route(turnStarted("t", "u"))
      assert.deepStrictEqual(router.openOn("t"), ["u"])
      const seen = yield* Effect.forkChild(Effect.map(turn.awaitEnd, () => router.openOn("t")), { startImmediately: true })
      router.route(turnCompleted("t", "u"))
      assert.deepStrictEqual(yield* Fiber.join(seen), [])
    }))
  it.effect("a batch of N deltas wakes the turn stream once: routeInBatch appends, endBatch wakes", () =>
    Effect.gen(function*() {
      const router = new Router()
      router.beginStart("t")
      const turn = router.claim("t", "u")
      router.endStart("t")
      const chunks: Array<number> = []
      const consumer = yield* Effect.forkChild(
        turn.stream.pipe(Stream.runForEachArray((chunk) => Effect.sync(() => void chunks.push(chunk.length)))),
        { startImmediately: true }
      )
      router.route(turnStarted("t", "u"))
      assert.deepStrictEqual(chunks, [1])
      for (let i = 0; i < 100; i++) router.routeInBatch(delta("t", "u", `d${i}`))
      // appended, nobody woken yet
      assert.strictEqual(turn.events.length, 101)
      assert.deepStrictEqual(chunks, [1])
      router.endBatch()
      assert.deepStrictEqual(chunks, [1, 100])
      router.routeInBatch(delta("t", "u", "last"))
      router.routeInBatch(turnCompleted("t", "u"))
      // the end is known at once (end hooks, openOn); the stream wakes with the batch
      assert.strictEqual(turn.phase._tag, "Completed")
      assert.deepStrictEqual(router.openOn("t"), [])
      router.endBatch()
      yield* Fiber.join(consumer)
      assert.deepStrictEqual(chunks, [1, 100, 2])
    }))

  it.effect("failAll wakes what the unfinished batch routed before failing the turn", () =>
    Effect.gen(function*() {
      const router = new Router()
      router.beginStart("t")
      const turn = router.claim("t", "u")
      router.endStart("t")
      const seen: Array<string> = []
      const consumer = yield* Effect.forkChild(
        turn.stream.pipe(Stream.runForEach((event) => Effect.sync(() => void seen.push(event._tag))), Effect.exit),
        { startImmediately: true }
      )
      router.routeInBatch(turnStarted("t", "u"))
      router.routeInBatch(delta("t", "u", "x"))
      router.failAll(CodexError.make(new CodexError.Closed()))
      const exit = yield* Fiber.join(consumer)
      assert.deepStrictEqual(seen, ["TurnStarted", "AgentMessageDelta"])
      assert.isTrue(Exit.isFailure(exit))
    }))

  it("kept deltas share the turn's id strings and keep their values", () => {
    const router = new Router()
    router.beginStart("t")
    const turn = router.claim("t", "u")
    router.endStart("t")
    router.route(notification("item/agentMessage/delta", { threadId: "t", turnId: "u", itemId: "m1", delta: "a" }))
    router.route(notification("item/agentMessage/delta", { threadId: "t", turnId: "u", itemId: "m1", delta: "b" }))
    router.route(notification("item/agentMessage/delta", { threadId: "t", turnId: "u", itemId: "m2", delta: "c" }))
    assert.deepStrictEqual(turn.events, [
      { _tag: "AgentMessageDelta", delta: "a", itemId: "m1", threadId: "t", turnId: "u" },
      { _tag: "AgentMessageDelta", delta: "b", itemId: "m1", threadId: "t", turnId: "u" },
      { _tag: "AgentMessageDelta", delta: "c", itemId: "m2", threadId: "t", turnId: "u" }
    ])
  })
})

/** A notification as the client hands it over once its params decoded (built by hand: the router reads only the shape). */
const decoded = (method: string, params: Record<string, unknown>) => ({ _tag: "Notification", method, params }) as Incoming.Incoming

describe("Router: the hot path", () => {
  it("a routed delta of each kind is the event TurnEvent.fromIncoming makes of it, fields in the same order", () => {
    const router = new Router()
    router.beginStart("t")
    const turn = router.claim("t", "u")
    router.endStart("t")
    const messages = [
      notification("item/agentMessage/delta", { threadId: "t", turnId: "u", itemId: "m", delta: "a" }),
      notification("item/reasoning/summaryTextDelta", { threadId: "t", turnId: "u", itemId: "r", delta: "b", summaryIndex: 0 }),
      notification("item/reasoning/textDelta", { threadId: "t", turnId: "u", itemId: "r", delta: "c", contentIndex: 1 }),
      notification("item/commandExecution/outputDelta", { threadId: "t", turnId: "u", itemId: "x", delta: "d" })
    ]
    for (const message of messages) assert.strictEqual(message._tag, "Notification")
    for (const message of messages) router.route(message)
    const expected = messages.map(TurnEvent.fromIncoming)
    assert.deepStrictEqual(turn.events, expected)
    assert.deepStrictEqual(turn.events.map((event) => Object.keys(event)), expected.map((event) => Object.keys(event)))
  })

  it("deltas alternating between two turns reach their own; a released turn is not found again through the last one", () => {
    const router = new Router()
    router.beginStart("t")
    const one = router.claim("t", "u1")
    const two = router.claim("t", "u2")
    router.endStart("t")
    for (let i = 0; i < 3; i++) {
      router.route(delta("t", "u1", `1.${i}`))
      router.route(delta("t", "u2", `2.${i}`))
      router.route(delta("t", "u2", `2.${i}b`))
    }
    router.route(turnCompleted("t", "u1"))
    // u1 was the last turn routed to, and has ended
    router.route(delta("t", "u1", "late"))
    router.route(delta("t", "u2", "after"))
    const texts = (turn: TurnState) => turn.events.flatMap((event) => event._tag === "AgentMessageDelta" ? [event.delta] : [])
    assert.deepStrictEqual(texts(one), ["1.0", "1.1", "1.2"])
    assert.deepStrictEqual(texts(two), ["2.0", "2.0b", "2.1", "2.1b", "2.2", "2.2b", "after"])
    assert.strictEqual(one.events.at(-1)?._tag, "TurnCompleted")
    assert.isUndefined(router.active("u1"))
  })

  it("a message naming the last turn's id on another thread is not that turn's", () => {
    const router = new Router()
    router.beginStart("t")
    const turn = router.claim("t", "u")
    router.endStart("t")
    router.route(delta("t", "u", "mine"))
    router.route(delta("other", "u", "not mine"))
    assert.deepStrictEqual(turn.events.map((event) => event._tag === "AgentMessageDelta" ? event.delta : event._tag), ["mine"])
  })

  it("a failed connection leaves no last turn to route to", () => {
    const router = new Router()
    router.beginStart("t")
    const turn = router.claim("t", "u")
    router.endStart("t")
    router.route(delta("t", "u", "before"))
    router.failAll(CodexError.make(new CodexError.Closed()))
    router.route(delta("t", "u", "after"))
    assert.strictEqual(turn.events.length, 1)
    assert.strictEqual(turn.phase._tag, "Failed")
  })
})

describe("Router: a turn's summary (TurnResult.collect without walking the deltas)", () => {
  const item = (id: string, text: string) => ({ type: "agentMessage", id, text, phase: null })
  const usage = (total: number) => {
    const breakdown = { inputTokens: total, cachedInputTokens: 0, outputTokens: 1, reasoningOutputTokens: 0, totalTokens: total + 1 }
    return { total: breakdown, last: breakdown, modelContextWindow: null }
  }
  const route = (router: Router) => {
    router.route(turnStarted("t", "u"))
    router.route(delta("t", "u", "a"))
    router.route(decoded("item/completed", { threadId: "t", turnId: "u", item: item("m1", "first") }))
    router.route(decoded("thread/tokenUsage/updated", { threadId: "t", turnId: "u", tokenUsage: usage(10) }))
    router.route(decoded("error", { threadId: "t", turnId: "u", willRetry: true, error: { message: "retrying" } }))
    router.route(decoded("error", { threadId: "t", turnId: "u", willRetry: false, error: { message: "given up" } }))
    router.route(delta("t", "u", "b"))
    router.route(decoded("thread/tokenUsage/updated", { threadId: "t", turnId: "u", tokenUsage: usage(20) }))
  }

  it("collect of a live turn's events equals the walk of a copy of them", () => {
    for (const status of ["completed", "interrupted", "failed"]) {
      const router = new Router()
      router.beginStart("t")
      const turn = router.claim("t", "u")
      router.endStart("t")
      route(router)
      router.route(decoded("item/completed", { threadId: "t", turnId: "u", item: item("m2", "second") }))
      router.route(turnCompleted("t", "u", status))
      const live = TurnResult.collect(turn.events, 5)
      const walked = TurnResult.collect([...turn.events], 5)
      assert.deepStrictEqual(live, walked)
      assert.strictEqual(turn.summary.count, turn.events.length)
      assert.deepStrictEqual(turn.summary.firstUsage, usage(10))
      assert.deepStrictEqual(turn.summary.usage, usage(20))
      if (status !== "failed") {
        assert.strictEqual(live._tag, "Success")
        if (live._tag === "Success") assert.deepStrictEqual(live.result.items.map((i) => i.id), ["m1", "m2"])
      }
    }
  })

  it("a result collected before the turn's end keeps its items when more complete", () => {
    const router = new Router()
    router.beginStart("t")
    const turn = router.claim("t", "u")
    router.endStart("t")
    route(router)
    router.route(turnCompleted("t", "u"))
    const first = TurnResult.collect(turn.events, 5)
    assert.strictEqual(first._tag, "Success")
    const items = first._tag === "Success" ? first.result.items : []
    // the turn has ended: nothing more is appended, but the summary's own array must not be what was handed out
    turn.summary.items.push(item("m9", "later") as never)
    assert.deepStrictEqual(items.map((i) => i.id), ["m1"])
  })

  it("events appended to a turn's array by anyone but the turn are walked, not taken from its summary", () => {
    const router = new Router()
    router.beginStart("t")
    const turn = router.claim("t", "u")
    router.endStart("t")
    route(router)
    turn.events.push(TurnEvent.fromIncoming(decoded("item/completed", { threadId: "t", turnId: "u", item: item("m3", "pushed") })))
    turn.events.push(TurnEvent.fromIncoming(turnCompleted("t", "u")))
    const result = TurnResult.collect(turn.events, 5)
    assert.strictEqual(result._tag, "Success")
    if (result._tag === "Success") assert.deepStrictEqual(result.result.items.map((i) => i.id), ["m1", "m3"])
  })
})
