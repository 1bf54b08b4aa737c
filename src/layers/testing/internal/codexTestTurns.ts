/**
 * Turns of the scripted app-server: `turn/start` plays the next scripted step
 * (or steers the running turn), `turn/steer` and `turn/interrupt` act on the
 * running one, `thread/compact/start` runs a compaction turn. A step plays
 * through the {@link TurnContext} made here; when it ends, the turn completes.
 *
 * @internal
 */
import { Cause, Clock, Deferred, Duration, Effect, Exit, Option } from "../../../schema/internal/effect.ts"
import { Fiber } from "../../../schema/internal/effect.ts"
import type {
  ServerNotificationMethod, ServerNotificationParamsByMethod
} from "../../../schema/generated/Methods.gen.ts"
import type * as Protocol from "../../../schema/generated/Protocol.gen.ts"
import * as CodexError from "../../../schema/CodexError.ts"
import * as JsonRpc from "../../../schema/JsonRpc.ts"
import type { RecordedAnswer } from "./codexTestHarness.ts"
import { type Step, StepTypeId, type TurnContext, type TurnEnd, type Usage } from "./codexTestModel.ts"
import * as P from "./codexTestPayloads.ts"
import { request } from "./codexTestRequests.ts"
import { answer, decode, type Handlers, invalid, nextId, notify, type State } from "./codexTestState.ts"
import { touch, usable } from "./codexTestThreads.ts"

/** The running turn of a thread. */
interface ActiveTurn {
  readonly turnId: string
  readonly thread: P.ThreadState
  readonly index: number
  readonly step: Step
  readonly kind: "user" | "compact"
  readonly params: Protocol.TurnStartParams
  state: "running" | "interrupting" | "ending" | "ended"
  playFiber: Fiber.Fiber<void, TurnEnd> | undefined
  readonly playDone: Deferred.Deferred<void>
  readonly done: Deferred.Deferred<void>
  readonly items: Array<Protocol.ThreadItem>
  readonly answers: Array<RecordedAnswer>
  readonly steers: Array<ReadonlyArray<Protocol.UserInput>>
  readonly diffs: Array<string>
  startedAtMs: number
}

/** Outcome of a turn's play. */
type Outcome = { readonly status: "completed" | "interrupted" | "failed"; readonly error: Protocol.TurnError | null }

const fullUsage = (u: Usage) => ({
  input: u.input,
  cached: u.cached ?? 0,
  output: u.output,
  reasoning: u.reasoning ?? 0
})

/** The finished turn: as `turn/completed` reports it (`wire`) and as the thread's history keeps it. */
const turnOf = (active: ActiveTurn, status: Outcome["status"], error: Protocol.TurnError | null, nowMs: number) => {
  const ended = (items: Array<Protocol.ThreadItem>, itemsView: Protocol.TurnItemsView): Protocol.Turn => ({
    id: active.turnId,
    rootTurnId: active.turnId,
    items,
    itemsView,
    status,
    error,
    startedAt: P.seconds(active.startedAtMs),
    completedAt: P.seconds(nowMs),
    durationMs: nowMs - active.startedAtMs
  })
  const summary = status === "completed"
    ? active.items.filter((item) => item.type === "agentMessage").slice(-1)
    : []
  return {
    wire: ended(summary, status === "completed" && active.kind === "user" ? "summary" : "notLoaded"),
    history: ended(active.items.slice(), "full")
  }
}

/** Sends a notification of a turn; completed items become the turn's items. */
const emit = <M extends ServerNotificationMethod>(
  state: State,
  active: ActiveTurn,
  method: M,
  params: ServerNotificationParamsByMethod[M]
) =>
  Effect.suspend(() => {
    if (method === "item/completed") {
      active.items.push((params as Protocol.ItemCompletedNotification).item)
    }
    return notify(state, method, params)
  })

/** The user message of a turn's input (or of input steered into it). */
const userMessage = (state: State, active: ActiveTurn, input: ReadonlyArray<Protocol.UserInput>) =>
  Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    const item = {
      type: "userMessage",
      id: P.uuid("a", ++state.counters.item),
      clientId: null,
      content: input,
      startedAtMs: now,
      completedAtMs: null
    } as const
    const threadId = active.thread.id
    yield* emit(state, active, "item/started", { item, threadId, turnId: active.turnId, startedAtMs: now })
    yield* emit(state, active, "item/completed", {
      item: { ...item, completedAtMs: now },
      threadId,
      turnId: active.turnId,
      contentTokenCount: null,
      completedAtMs: now
    })
    if (active.thread.preview === "") active.thread.preview = P.inputText(input)
  })

/** What a step sees of its turn, pausing `delay` before each message. */
const makeContext = (state: State, active: ActiveTurn, delay: Duration.Duration): TurnContext => {
  const threadId = active.thread.id
  const turnId = active.turnId
  const pace = Duration.isZero(delay) ? Effect.void : Effect.sleep(delay)
  const send = <M extends ServerNotificationMethod>(method: M, params: ServerNotificationParamsByMethod[M]) =>
    Effect.andThen(pace, emit(state, active, method, params))
  const self: TurnContext = {
    threadId,
    turnId,
    index: active.index,
    params: active.params,
    input: active.params.input,
    text: P.inputText(active.params.input),
    cwd: active.params.cwd ?? active.thread.cwd,
    answers: active.answers,
    steers: active.steers,
    delay,
    withDelay: (next) => makeContext(state, active, Duration.fromInputUnsafe(next)),
    nextId: (prefix) => nextId(state, prefix),
    now: Clock.currentTimeMillis,
    notify: send,
    request: (method, params) => Effect.andThen(pace, request(state, { threadId, answers: active.answers }, method, params)),
    startItem: (item) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        send("item/started", { item, threadId, turnId, startedAtMs: item.startedAtMs ?? now })),
    completeItem: (item) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        send("item/completed", {
          item,
          threadId,
          turnId,
          contentTokenCount: null,
          completedAtMs: item.completedAtMs ?? now
        })),
    setStatus: (activeFlags) => send("thread/status/changed", { threadId, status: { type: "active", activeFlags } }),
    usage: (usage) =>
      Effect.suspend(() => {
        const last = fullUsage(usage)
        const total = active.thread.usage
        total.input += last.input
        total.cached += last.cached
        total.output += last.output
        total.reasoning += last.reasoning
        Object.assign(active.thread.lastUsage, last)
        return send("thread/tokenUsage/updated", {
          threadId,
          turnId,
          tokenUsage: { total: P.breakdown(total), last: P.breakdown(last), modelContextWindow: P.MODEL_CONTEXT_WINDOW }
        }).pipe(Effect.andThen(notify(state, "account/rateLimits/updated", P.rateLimits)))
      }),
    diff: (diff) =>
      Effect.suspend(() => {
        active.diffs.push(diff)
        return send("turn/diff/updated", { threadId, turnId, diff: active.diffs.join("") })
      }),
    fail: (message, codexErrorInfo = "other", additionalDetails = null) => {
      const error: Protocol.TurnError = { message, codexErrorInfo, additionalDetails }
      return send("error", { error, willRetry: false, threadId, turnId }).pipe(
        Effect.andThen(Effect.fail({ _tag: "TurnEnd", status: "failed", error } satisfies TurnEnd))
      )
    },
    interrupt: Effect.fail({ _tag: "TurnEnd", status: "interrupted", error: null } satisfies TurnEnd),
    crash: (options = {}) =>
      Effect.andThen(
        state.server.close(CodexError.make(
          new CodexError.ProcessExited({
            exitCode: options.signal === undefined ? options.exitCode ?? 1 : undefined,
            signal: options.signal,
            stderrTail: [...(options.stderr ?? [])]
          })
        )),
        Effect.never
      )
  }
  return self
}

/** Ends a turn: the thread goes idle, a user turn joins its history, `turn/completed` goes out. */
const finish = (state: State, active: ActiveTurn, outcome: Outcome) =>
  Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    const thread = active.thread
    active.state = "ended"
    if (thread.active === active) thread.active = undefined
    const { history, wire } = turnOf(active, outcome.status, outcome.error, now)
    if (active.kind === "user") thread.turns.push(history)
    touch(state, thread, now)
    yield* notify(state, "thread/status/changed", { threadId: thread.id, status: { type: "idle" } })
    yield* notify(state, "turn/completed", { threadId: thread.id, turn: wire })
    yield* Deferred.succeed(active.done, undefined)
  })

const outcomeOf = (active: ActiveTurn, exit: Exit.Exit<void, TurnEnd>): Outcome => {
  if (Exit.isSuccess(exit)) return { status: "completed", error: null }
  const end = Cause.findErrorOption(exit.cause)
  if (Option.isSome(end)) return { status: end.value.status, error: end.value.error }
  return {
    status: "failed",
    error: {
      message: `CodexTest: the step ${active.step.label} died: ${Cause.pretty(exit.cause)}`,
      codexErrorInfo: "other",
      additionalDetails: null
    }
  }
}

/** Plays a turn: starts it, plays its step in its own fiber (an interrupt stops that fiber), finishes it. */
const runTurn = (state: State, active: ActiveTurn) =>
  Effect.gen(function*() {
    active.startedAtMs = yield* Clock.currentTimeMillis
    const threadId = active.thread.id
    yield* notify(state, "thread/status/changed", { threadId, status: { type: "active", activeFlags: [] } })
    yield* notify(state, "turn/started", {
      threadId,
      turn: P.turnInProgress(active.turnId, P.seconds(active.startedAtMs))
    })
    if (active.kind === "user") yield* userMessage(state, active, active.params.input)
    if (active.state !== "running") return yield* Deferred.succeed(active.playDone, undefined)
    const fiber = yield* Effect.forkIn(active.step.play(makeContext(state, active, Duration.zero)), state.scope)
    active.playFiber = fiber
    const exit = yield* Fiber.await(fiber)
    yield* Deferred.succeed(active.playDone, undefined)
    if (active.state !== "running") return
    active.state = "ending"
    yield* finish(state, active, outcomeOf(active, exit))
  })

/** Makes a turn the thread's running one (it plays once {@link runTurn} runs). */
const startActive = (
  state: State,
  thread: P.ThreadState,
  step: Step,
  index: number,
  kind: ActiveTurn["kind"],
  params: Protocol.TurnStartParams
): ActiveTurn => {
  const active: ActiveTurn = {
    turnId: P.uuid("9", ++state.counters.turn),
    thread,
    index,
    step,
    kind,
    params,
    state: "running",
    playFiber: undefined,
    playDone: Deferred.makeUnsafe<void>(),
    done: Deferred.makeUnsafe<void>(),
    items: [],
    answers: [],
    steers: [],
    diffs: [],
    startedAtMs: 0
  }
  thread.active = active
  thread.loaded = true
  state.harness.labels.set(active.turnId, { index, step: kind === "user" ? step.label : "compaction" })
  return active
}

const activeOf = (thread: P.ThreadState): ActiveTurn | undefined => thread.active as ActiveTurn | undefined

/** Played for a `turn/start` with no scripted step and no fallback: the turn fails, naming what is missing. */
const unscripted = (index: number, threadId: string): Step => ({
  [StepTypeId]: StepTypeId,
  label: "unscripted",
  play: (turn) => turn.fail(`CodexTest: no scripted turn for turn/start #${index} on thread ${threadId}`, "other")
})

/** codex's estimate of a compacted context, in tokens (what it reports after a compaction). */
const COMPACTED_CONTEXT = 905

/**
 * The compaction turn `thread/compact/start` runs: a context compaction item
 * and, as codex sends them, three token updates: the thread's totals restated
 * (when it has some), the compaction's own request, and the estimate of the
 * compacted context (a `last` with no input; the totals do not grow).
 */
const compaction = (state: State, thread: P.ThreadState): Step => ({
  [StepTypeId]: StepTypeId,
  label: "compaction",
  play: (turn) =>
    Effect.gen(function*() {
      const id = P.uuid("b", ++state.counters.item)
      const startedAtMs = yield* turn.now
      const item = { type: "contextCompaction", id, startedAtMs, completedAtMs: null } as const
      const update = (last: Protocol.TokenUsageBreakdown) =>
        turn.notify("thread/tokenUsage/updated", {
          threadId: turn.threadId,
          turnId: turn.turnId,
          tokenUsage: { total: P.breakdown(thread.usage), last, modelContextWindow: P.MODEL_CONTEXT_WINDOW }
        })
      yield* turn.startItem(item)
      if (thread.usage.input + thread.usage.output > 0) yield* update(P.breakdown(thread.lastUsage))
      yield* turn.usage({ input: 100, cached: 10, output: 20 })
      yield* update({ ...P.breakdown({ input: 0, cached: 0, output: 0, reasoning: 0 }), totalTokens: COMPACTED_CONTEXT })
      yield* turn.completeItem({ ...item, completedAtMs: yield* turn.now })
    })
})

/** The methods that start, steer or stop turns. */
export const handlers: Handlers = {
  "thread/compact/start": (state, raw) =>
    Effect.gen(function*() {
      const params = yield* decode(state, "thread/compact/start", raw)
      const thread = yield* usable(state, params.threadId)
      if (thread.active !== undefined) return yield* invalid(`thread ${thread.id} has an active turn`)
      const active = startActive(state, thread, compaction(state, thread), 0, "compact", { threadId: thread.id, input: [] })
      return answer({}, Effect.asVoid(Effect.forkIn(runTurn(state, active), state.scope)))
    }),
  "turn/start": (state, raw) =>
    Effect.gen(function*() {
      const params = yield* decode(state, "turn/start", raw)
      const thread = yield* usable(state, params.threadId)
      const running = activeOf(thread)
      if (running !== undefined && running.kind === "compact") {
        // what codex 0.169.0 answers while a compaction turn runs (a compaction cannot be steered)
        return yield* Effect.fail({
          code: JsonRpc.ErrorCode.InternalError,
          message: "ActiveTurnNotSteerable { turn_kind: Compact }"
        })
      }
      if (running !== undefined) {
        // codex steers the active turn and answers with its id
        if (running.state !== "running") return yield* invalid(`thread ${thread.id} is finishing a turn`)
        running.steers.push(params.input)
        return answer({ turn: P.turnInProgress(running.turnId, null) }, userMessage(state, running, params.input))
      }
      const index = ++state.counters.turnStarts
      const step = state.script[index - 1] ?? state.options.fallback ?? unscripted(index, thread.id)
      const active = startActive(state, thread, step, index, "user", params)
      const result = { turn: P.turnInProgress(active.turnId, null) }
      return state.options.early === true
        ? runTurn(state, active).pipe(Effect.andThen(Deferred.await(active.done)), Effect.andThen(answer(result)))
        : answer(result, Effect.asVoid(Effect.forkIn(runTurn(state, active), state.scope)))
    }),
  "turn/steer": (state, raw) =>
    Effect.gen(function*() {
      const params = yield* decode(state, "turn/steer", raw)
      const thread = yield* usable(state, params.threadId)
      const running = activeOf(thread)
      if (running === undefined || running.state !== "running" || running.kind !== "user") {
        return yield* invalid("no active turn to steer")
      }
      if (running.turnId !== params.expectedTurnId) {
        return yield* invalid(`expected active turn id \`${params.expectedTurnId}\` but found \`${running.turnId}\``)
      }
      running.steers.push(params.input)
      return answer({ turnId: running.turnId }, userMessage(state, running, params.input))
    }),
  "turn/interrupt": (state, raw) =>
    Effect.gen(function*() {
      const params = yield* decode(state, "turn/interrupt", raw)
      const thread = state.threads.get(params.threadId)
      const running = thread === undefined ? undefined : activeOf(thread)
      if (running === undefined || running.turnId !== params.turnId) return yield* invalid("no active turn to interrupt")
      // a turn already ending cannot be interrupted; the refusal waits for its end
      if (running.state === "ending" || running.state === "ended") {
        return Effect.andThen(Deferred.await(running.done), invalid("no active turn to interrupt"))
      }
      if (running.state === "interrupting") return Effect.andThen(Deferred.await(running.done), answer({}))
      running.state = "interrupting"
      return Effect.gen(function*() {
        if (running.playFiber !== undefined) yield* Fiber.interrupt(running.playFiber)
        yield* Deferred.await(running.playDone)
        return { result: {}, then: finish(state, running, { status: "interrupted", error: null }) }
      })
    })
}
