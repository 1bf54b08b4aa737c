/**
 * The scripted in-memory app-server behind `CodexTest.layer`: threads, turns
 * and the rest of what the `Codex` service sends, answered like codex 0.169.0
 * answers them, one scripted step per `turn/start`.
 */
import { Cause, Clock, Deferred, Duration, Effect, Exit, Fiber, Option, Schema, Scope, Stream } from "effect"
import {
  ClientRequestParams,
  ExperimentalClientRequestMethods,
  ExperimentalFields,
  type ServerNotificationMethod,
  type ServerNotificationParamsByMethod,
  type ServerRequestMethod,
  type ServerRequestParamsByMethod,
  type ServerRequestResponseByMethod,
  ServerRequestResponses
} from "../../../schema/generated/Methods.gen.ts"
import type * as Protocol from "../../../schema/generated/Protocol.gen.ts"
import * as JsonRpc from "../../../schema/JsonRpc.ts"
import * as CodexError from "../../../schema/CodexError.ts"
import { type ClientAnswer, type Options, type Step, StepTypeId, type TurnContext, type TurnEnd, type Usage } from "./codexTestModel.ts"
import type * as Transport from "../../Transport.ts"
import type { Harness, RecordedAnswer } from "./codexTestHarness.ts"
import * as P from "./codexTestPayloads.ts"

const INVALID = JsonRpc.ErrorCode.InvalidRequest


type Failure = { readonly code: number; readonly message: string; readonly data?: unknown }

/** Thrown by handlers (synchronously) to answer with a JSON-RPC error. */
class RpcFailure {
  readonly failure: Failure
  constructor(failure: Failure) {
    this.failure = failure
  }
}

const invalid = (message: string): never => {
  throw new RpcFailure({ code: INVALID, message })
}

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

const PARAMS_TYPES: Record<string, string> = {
  "thread/start": "ThreadStartParams",
  "thread/fork": "ThreadForkParams",
  "thread/resume": "ThreadResumeParams",
  "thread/list": "ThreadListParams",
  "turn/start": "TurnStartParams",
  "turn/steer": "TurnSteerParams"
}

const KNOWN_METHODS = Object.keys(ClientRequestParams)

/** What `makeServer` gives the layer. */
export interface ScriptedServer {
  /** Serves the connection until it ends. */
  readonly serve: Effect.Effect<void>
  /** How many scripted steps have not been played. */
  readonly remaining: () => number
}

/** Builds the scripted server over the server side of an in-memory transport. */
export const makeServer = (
  script: ReadonlyArray<Step>,
  options: Options,
  harness: Harness,
  server: Transport.InMemoryServer
): Effect.Effect<ScriptedServer, never, Scope.Scope> =>
  Effect.gen(function*() {
    const scope = yield* Scope.Scope
    const startMs = yield* Clock.currentTimeMillis
    const codexHome = options.codexHome ?? "/tmp/codex-test/home"
    const defaultCwd = options.cwd ?? process.cwd()
    const threads = new Map<string, P.ThreadState>()
    const models = options.models ?? P.defaultModels
    const pendingAnswers = new Map<number, Deferred.Deferred<{ result?: unknown; error?: JsonRpc.ErrorObject }>>()
    const counters = { thread: 0, turn: 0, item: 0, seq: 0, request: 0, turnStarts: 0 }
    const prefixed = new Map<string, number>()
    let initialized = false
    let experimentalApi = false
    let originator = "effect_codex"
    let account: Protocol.Account | null = options.account ?? null

    const nextId = (prefix: string): string => {
      const n = (prefixed.get(prefix) ?? 0) + 1
      prefixed.set(prefix, n)
      return `${prefix}_${n.toString().padStart(4, "0")}`
    }

    // ---------------------------------------------------------------------
    // Sending
    // ---------------------------------------------------------------------

    const sendMessage = (message: Record<string, unknown>) =>
      Effect.suspend(() => {
        harness.onServerMessage(message)
        return server.send(JSON.stringify(message))
      })

    const notifyNow = <M extends ServerNotificationMethod>(method: M, params: ServerNotificationParamsByMethod[M]) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => sendMessage({ method, params, emittedAtMs: now }))

    const respond = (id: JsonRpc.RequestId, result: unknown) => sendMessage({ id, result })
    const respondError = (id: JsonRpc.RequestId, failure: Failure) => sendMessage({ error: failure, id })

    // ---------------------------------------------------------------------
    // Threads
    // ---------------------------------------------------------------------

    const context = (withTurns: boolean) => ({ codexHome, originator, withTurns })

    const newThread = (fields: Partial<P.ThreadState> & { readonly id?: string; readonly atMs: number }) => {
      const seq = ++counters.seq
      const thread: P.ThreadState = {
        id: fields.id ?? P.uuid("8", ++counters.thread),
        seq,
        updatedSeq: seq,
        cwd: fields.cwd ?? defaultCwd,
        name: fields.name ?? null,
        preview: fields.preview ?? "",
        ephemeral: fields.ephemeral ?? false,
        forkedFromId: fields.forkedFromId ?? null,
        model: fields.model ?? options.model ?? P.DEFAULT_MODEL,
        modelProvider: fields.modelProvider ?? P.DEFAULT_MODEL_PROVIDER,
        approvalPolicy: fields.approvalPolicy ?? "on-request",
        sandbox: fields.sandbox ?? P.sandboxPolicy("read-only"),
        createdAt: P.seconds(fields.atMs),
        updatedAt: P.seconds(fields.atMs),
        archived: fields.archived ?? false,
        loaded: fields.loaded ?? true,
        turns: fields.turns ?? [],
        active: undefined,
        usage: { input: 0, cached: 0, output: 0, reasoning: 0 }
      }
      threads.set(thread.id, thread)
      return thread
    }

    for (const stored of options.threads ?? []) {
      const turns = (stored.history ?? []).map((entry) =>
        P.historyTurn(
          { turn: P.uuid("9", ++counters.turn), user: P.uuid("a", ++counters.item), agent: nextId("msg") },
          entry.user,
          entry.agent,
          startMs
        )
      )
      newThread({
        ...(stored.id === undefined ? {} : { id: stored.id }),
        ...(stored.cwd === undefined ? {} : { cwd: stored.cwd }),
        name: stored.name ?? null,
        preview: stored.preview ?? stored.history?.[0]?.user ?? "",
        archived: stored.archived ?? false,
        loaded: false,
        turns,
        atMs: startMs
      })
    }

    /** The thread with this id, or the error codex gives for it. */
    const lookup = (threadId: string, missing: "not found" | "not loaded" | "no rollout"): P.ThreadState => {
      const thread = threads.get(threadId)
      if (thread !== undefined) return thread
      if (!P.isUuid(threadId)) {
        const bad = threadId.replace(/[0-9a-fA-F-]/g, "").charAt(0) || threadId.charAt(0)
        return invalid(
          `invalid thread id: invalid character: expected an optional prefix of \`urn:uuid:\` followed by [0-9a-fA-F-], found \`${bad}\``
        )
      }
      return invalid(
        missing === "not found"
          ? `thread not found: ${threadId}`
          : missing === "not loaded"
          ? `thread not loaded: ${threadId}`
          : `no rollout found for thread id ${threadId}`
      )
    }

    const usable = (threadId: string): P.ThreadState => {
      const thread = lookup(threadId, "not found")
      if (thread.archived) return invalid(`thread not found: ${threadId}`)
      return thread
    }

    const touch = (thread: P.ThreadState, nowMs: number) => {
      thread.updatedSeq = ++counters.seq
      thread.updatedAt = P.seconds(nowMs)
    }

    // ---------------------------------------------------------------------
    // Turns
    // ---------------------------------------------------------------------

    const turnOf = (active: ActiveTurn, status: Outcome["status"], error: Protocol.TurnError | null, nowMs: number) => {
      const summary = status === "completed"
        ? active.items.filter((item) => item.type === "agentMessage").slice(-1)
        : []
      return {
        wire: {
          id: active.turnId,
          rootTurnId: active.turnId,
          items: summary,
          itemsView: status === "completed" && active.kind === "user" ? "summary" : "notLoaded",
          status,
          error,
          startedAt: P.seconds(active.startedAtMs),
          completedAt: P.seconds(nowMs),
          durationMs: nowMs - active.startedAtMs
        } satisfies Protocol.Turn,
        history: {
          id: active.turnId,
          rootTurnId: active.turnId,
          items: active.items.slice(),
          itemsView: "full",
          status,
          error,
          startedAt: P.seconds(active.startedAtMs),
          completedAt: P.seconds(nowMs),
          durationMs: nowMs - active.startedAtMs
        } satisfies Protocol.Turn
      }
    }

    const emit = <M extends ServerNotificationMethod>(
      active: ActiveTurn,
      method: M,
      params: ServerNotificationParamsByMethod[M]
    ) =>
      Effect.suspend(() => {
        if (method === "item/completed") {
          active.items.push((params as Protocol.ItemCompletedNotification).item)
        }
        return notifyNow(method, params)
      })

    const userMessage = (active: ActiveTurn, input: ReadonlyArray<Protocol.UserInput>) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const item = {
          type: "userMessage",
          id: P.uuid("a", ++counters.item),
          clientId: null,
          content: input,
          startedAtMs: now,
          completedAtMs: null
        } as const
        const threadId = active.thread.id
        yield* emit(active, "item/started", { item, threadId, turnId: active.turnId, startedAtMs: now })
        yield* emit(active, "item/completed", {
          item: { ...item, completedAtMs: now },
          threadId,
          turnId: active.turnId,
          contentTokenCount: null,
          completedAtMs: now
        })
        if (active.thread.preview === "") active.thread.preview = P.inputText(input)
      })

    const request = <M extends ServerRequestMethod>(
      active: ActiveTurn,
      method: M,
      params: ServerRequestParamsByMethod[M]
    ): Effect.Effect<ClientAnswer<M>> =>
      Effect.suspend(() => {
        const id = counters.request++
        const deferred = Deferred.makeUnsafe<{ result?: unknown; error?: JsonRpc.ErrorObject }>()
        pendingAnswers.set(id, deferred)
        const threadId = active.thread.id
        const resolved = method === "item/tool/call"
          ? Effect.void
          : notifyNow("serverRequest/resolved", { threadId, requestId: id })
        return sendMessage({ method, id, params }).pipe(
          Effect.andThen(Deferred.await(deferred)),
          Effect.onInterrupt(() =>
            Effect.suspend(() => pendingAnswers.delete(id) ? resolved : Effect.void)
          ),
          Effect.tap(() => resolved),
          Effect.map((raw): ClientAnswer<M> => {
            const answer: RecordedAnswer = {
              requestId: id,
              method,
              params,
              ...(raw.error === undefined ? { result: raw.result } : { error: raw.error })
            }
            active.answers.push(answer)
            if (raw.error !== undefined) return { _tag: "Error", error: raw.error }
            const schema = ServerRequestResponses[method] as unknown as Schema.Decoder<unknown>
            const decoded = Schema.decodeUnknownExit(schema)(raw.result, { onExcessProperty: "ignore" })
            return Exit.isSuccess(decoded)
              ? { _tag: "Result", result: decoded.value as ServerRequestResponseByMethod[M] }
              : {
                _tag: "Error",
                error: { code: JsonRpc.ErrorCode.InvalidParams, message: `the answer to ${method} does not decode: ${String(decoded.cause)}` }
              }
          })
        )
      })

    const makeContext = (active: ActiveTurn, delay: Duration.Duration): TurnContext => {
      const threadId = active.thread.id
      const turnId = active.turnId
      const pace = Duration.isZero(delay) ? Effect.void : Effect.sleep(delay)
      const notify = <M extends ServerNotificationMethod>(method: M, params: ServerNotificationParamsByMethod[M]) =>
        Effect.andThen(pace, emit(active, method, params))
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
        withDelay: (next) => makeContext(active, Duration.fromInputUnsafe(next)),
        nextId,
        now: Clock.currentTimeMillis,
        notify,
        request: (method, params) => Effect.andThen(pace, request(active, method, params)),
        startItem: (item) =>
          Effect.flatMap(Clock.currentTimeMillis, (now) =>
            notify("item/started", { item, threadId, turnId, startedAtMs: item.startedAtMs ?? now })),
        completeItem: (item) =>
          Effect.flatMap(Clock.currentTimeMillis, (now) =>
            notify("item/completed", {
              item,
              threadId,
              turnId,
              contentTokenCount: null,
              completedAtMs: item.completedAtMs ?? now
            })),
        setStatus: (activeFlags) =>
          notify("thread/status/changed", { threadId, status: { type: "active", activeFlags } }),
        usage: (usage) =>
          Effect.suspend(() => {
            const last = fullUsage(usage)
            const total = active.thread.usage
            total.input += last.input
            total.cached += last.cached
            total.output += last.output
            total.reasoning += last.reasoning
            return notify("thread/tokenUsage/updated", {
              threadId,
              turnId,
              tokenUsage: { total: P.breakdown(total), last: P.breakdown(last), modelContextWindow: P.MODEL_CONTEXT_WINDOW }
            }).pipe(Effect.andThen(notifyNow("account/rateLimits/updated", P.rateLimits)))
          }),
        diff: (diff) =>
          Effect.suspend(() => {
            active.diffs.push(diff)
            return notify("turn/diff/updated", { threadId, turnId, diff: active.diffs.join("") })
          }),
        fail: (message, codexErrorInfo = "other", additionalDetails = null) => {
          const error: Protocol.TurnError = { message, codexErrorInfo, additionalDetails }
          return notify("error", { error, willRetry: false, threadId, turnId }).pipe(
            Effect.andThen(Effect.fail({ _tag: "TurnEnd", status: "failed", error } satisfies TurnEnd))
          )
        },
        interrupt: Effect.fail({ _tag: "TurnEnd", status: "interrupted", error: null } satisfies TurnEnd),
        crash: (options = {}) =>
          Effect.andThen(
            server.close(CodexError.make(
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

    const finish = (active: ActiveTurn, outcome: Outcome) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const thread = active.thread
        active.state = "ended"
        if (thread.active === active) thread.active = undefined
        const { history, wire } = turnOf(active, outcome.status, outcome.error, now)
        if (active.kind === "user") thread.turns.push(history)
        touch(thread, now)
        yield* notifyNow("thread/status/changed", { threadId: thread.id, status: { type: "idle" } })
        yield* notifyNow("turn/completed", { threadId: thread.id, turn: wire })
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

    const runTurn = (active: ActiveTurn) =>
      Effect.gen(function*() {
        active.startedAtMs = yield* Clock.currentTimeMillis
        const threadId = active.thread.id
        yield* notifyNow("thread/status/changed", { threadId, status: { type: "active", activeFlags: [] } })
        yield* notifyNow("turn/started", {
          threadId,
          turn: P.turnInProgress(active.turnId, P.seconds(active.startedAtMs))
        })
        if (active.kind === "user") yield* userMessage(active, active.params.input)
        if (active.state !== "running") return yield* Deferred.succeed(active.playDone, undefined)
        const fiber = yield* Effect.forkIn(active.step.play(makeContext(active, Duration.zero)), scope)
        active.playFiber = fiber
        const exit = yield* Fiber.await(fiber)
        yield* Deferred.succeed(active.playDone, undefined)
        if (active.state !== "running") return
        active.state = "ending"
        yield* finish(active, outcomeOf(active, exit))
      })

    const startActive = (
      thread: P.ThreadState,
      step: Step,
      index: number,
      kind: ActiveTurn["kind"],
      params: Protocol.TurnStartParams
    ): ActiveTurn => {
      const active: ActiveTurn = {
        turnId: P.uuid("9", ++counters.turn),
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
      harness.labels.set(active.turnId, { index, step: kind === "user" ? step.label : "compaction" })
      return active
    }

    const activeOf = (thread: P.ThreadState): ActiveTurn | undefined => thread.active as ActiveTurn | undefined

    const unscripted = (index: number, threadId: string): Step => ({
      [StepTypeId]: StepTypeId,
      label: "unscripted",
      play: (turn) => turn.fail(`CodexTest: no scripted turn for turn/start #${index} on thread ${threadId}`, "other")
    })

    const compaction: Step = {
      [StepTypeId]: StepTypeId,
      label: "compaction",
      play: (turn) =>
        Effect.gen(function*() {
          const id = P.uuid("b", ++counters.item)
          const startedAtMs = yield* turn.now
          const item = { type: "contextCompaction", id, startedAtMs, completedAtMs: null } as const
          yield* turn.startItem(item)
          yield* turn.usage({ input: 100, cached: 10, output: 20 })
          yield* turn.completeItem({ ...item, completedAtMs: yield* turn.now })
        })
    }

    // ---------------------------------------------------------------------
    // Requests
    // ---------------------------------------------------------------------

    const decode = (method: string, params: unknown): unknown => {
      const schema = (ClientRequestParams as Record<string, Schema.Top | undefined>)[method]
      if (schema === undefined) return params
      const exit = Schema.decodeUnknownExit(schema as Schema.Decoder<unknown>)(params, { onExcessProperty: "ignore" })
      if (Exit.isFailure(exit)) {
        const text = String(exit.cause).split("\n").slice(0, 3).join(" ")
        return invalid(`Invalid request: ${text}`)
      }
      if (!experimentalApi) {
        if (ExperimentalClientRequestMethods.has(method)) invalid(`${method} requires experimentalApi capability`)
        const typeName = PARAMS_TYPES[method]
        const fields = typeName === undefined ? undefined : ExperimentalFields[typeName]
        for (const field of fields ?? []) {
          const value = (params as Record<string, unknown> | null | undefined)?.[field]
          if (value !== undefined && value !== null) invalid(`${method}.${field} requires experimentalApi capability`)
        }
      }
      return exit.value
    }

    const page = <A>(items: ReadonlyArray<A>, cursor: string | null | undefined, limit: number | null | undefined) => {
      const offset = cursor === undefined || cursor === null ? 0 : Number(cursor)
      if (!Number.isInteger(offset) || offset < 0) return invalid(`invalid cursor: ${cursor}`)
      const size = limit === undefined || limit === null || limit <= 0 ? 25 : limit
      const data = items.slice(offset, offset + size)
      return { data, nextCursor: offset + size < items.length ? String(offset + size) : null }
    }

    /** Handles one request: runs the synchronous part now (ordering), returns the rest. */
    const handle = (id: JsonRpc.RequestId, method: string, rawParams: unknown): Effect.Effect<void> => {
      const custom = options.methods?.[method]
      if (method === "initialize") {
        if (initialized) return invalid("Already initialized")
        const params = decode(method, rawParams) as Protocol.InitializeParams
        initialized = true
        experimentalApi = params.capabilities?.experimentalApi === true
        originator = params.clientInfo.name
        const result: Protocol.InitializeResponse = {
          userAgent: `${params.clientInfo.name}/${P.CLI_VERSION} (CodexTest; in-memory) (${params.clientInfo.name}; ${params.clientInfo.version})`,
          codexHome,
          platformFamily: "unix",
          platformOs: "linux"
        }
        return respond(id, result)
      }
      if (!initialized) return invalid("Not initialized")
      if (custom !== undefined) {
        return custom(rawParams).pipe(
          Effect.matchEffect({ onFailure: (error) => respondError(id, error), onSuccess: (result) => respond(id, result) })
        )
      }
      switch (method) {
        case "thread/start": {
          const params = decode(method, rawParams) as Protocol.ThreadStartParams
          return Effect.gen(function*() {
            const now = yield* Clock.currentTimeMillis
            const thread = newThread({
              atMs: now,
              ...(params.cwd == null ? {} : { cwd: params.cwd }),
              ...(params.model == null ? {} : { model: params.model }),
              ...(params.modelProvider == null ? {} : { modelProvider: params.modelProvider }),
              ...(params.approvalPolicy == null ? {} : { approvalPolicy: params.approvalPolicy }),
              sandbox: P.sandboxPolicy(params.sandbox),
              ephemeral: params.ephemeral === true
            })
            yield* respond(id, { thread: P.threadRecord(thread, context(false)), ...P.threadSettings(thread) })
            yield* notifyNow("thread/started", { thread: P.threadRecord(thread, context(false)) })
          })
        }
        case "thread/resume": {
          const params = decode(method, rawParams) as Protocol.ThreadResumeParams
          const thread = lookup(params.threadId, "no rollout")
          if (thread.archived) return invalid(`no rollout found for thread id ${params.threadId}`)
          thread.loaded = true
          if (params.cwd != null) thread.cwd = params.cwd
          if (params.model != null) thread.model = params.model
          if (params.approvalPolicy != null) thread.approvalPolicy = params.approvalPolicy
          if (params.sandbox != null) thread.sandbox = P.sandboxPolicy(params.sandbox)
          return respond(id, {
            thread: P.threadRecord(thread, context(params.excludeTurns !== true)),
            ...P.threadSettings(thread)
          })
        }
        case "thread/fork": {
          const params = decode(method, rawParams) as Protocol.ThreadForkParams
          const source = lookup(params.threadId, "no rollout")
          return Effect.gen(function*() {
            const now = yield* Clock.currentTimeMillis
            const thread = newThread({
              atMs: now,
              cwd: params.cwd ?? source.cwd,
              name: source.name,
              preview: source.preview,
              forkedFromId: source.id,
              model: params.model ?? source.model,
              modelProvider: source.modelProvider,
              approvalPolicy: params.approvalPolicy ?? source.approvalPolicy,
              sandbox: params.sandbox == null ? source.sandbox : P.sandboxPolicy(params.sandbox),
              ephemeral: params.ephemeral === true,
              turns: source.turns.slice()
            })
            yield* respond(id, {
              thread: P.threadRecord(thread, context(params.excludeTurns !== true)),
              ...P.threadSettings(thread)
            })
            yield* notifyNow("thread/started", { thread: P.threadRecord(thread, context(false)) })
          })
        }
        case "thread/list": {
          const params = decode(method, rawParams) as Protocol.ThreadListParams
          const archived = params.archived === true
          const term = params.searchTerm?.toLowerCase()
          const key = params.sortKey === "updated_at" || params.sortKey === "recency_at" ? "updatedSeq" : "seq"
          const direction = params.sortDirection === "asc" ? 1 : -1
          const all = Array.from(threads.values())
            .filter((thread) => thread.archived === archived && !thread.ephemeral)
            .filter((thread) =>
              term === undefined ||
              thread.preview.toLowerCase().includes(term) ||
              (thread.name ?? "").toLowerCase().includes(term)
            )
            .filter((thread) => params.modelProviders == null || params.modelProviders.includes(thread.modelProvider))
            .sort((a, b) => (a[key] - b[key]) * direction)
          const { data, nextCursor } = page(all, params.cursor, params.limit)
          return respond(id, {
            data: data.map((thread) => P.threadRecord(thread, context(false))),
            readStates: {},
            nextCursor,
            backwardsCursor: null
          })
        }
        case "thread/loaded/list": {
          const loaded = Array.from(threads.values()).filter((thread) => thread.loaded && !thread.archived)
          return respond(id, { data: loaded.map((thread) => thread.id), nextCursor: null })
        }
        case "thread/read": {
          const params = decode(method, rawParams) as Protocol.ThreadReadParams
          const thread = lookup(params.threadId, "not loaded")
          const result = { thread: P.threadRecord(thread, context(params.includeTurns === true)) }
          return params.includeTurns === true
            ? notifyNow("deprecationNotice", {
              summary:
                "Full-history hydration is deprecated for paginated threads; omit `includeTurns` or set it to `false`, then page with `thread/turns/list` and `thread/items/list`.",
              details: null
            }).pipe(Effect.andThen(respond(id, result)))
            : respond(id, result)
        }
        case "thread/name/set": {
          const params = decode(method, rawParams) as Protocol.ThreadSetNameParams
          const thread = lookup(params.threadId, "not found")
          thread.name = params.name
          return respond(id, {}).pipe(
            Effect.andThen(notifyNow("thread/name/updated", { threadId: thread.id, threadName: params.name }))
          )
        }
        case "thread/archive": {
          const params = decode(method, rawParams) as Protocol.ThreadArchiveParams
          const thread = lookup(params.threadId, "not found")
          thread.archived = true
          thread.loaded = false
          return respond(id, {}).pipe(Effect.andThen(notifyNow("thread/archived", { threadId: thread.id })))
        }
        case "thread/unarchive": {
          const params = decode(method, rawParams) as Protocol.ThreadUnarchiveParams
          const thread = lookup(params.threadId, "no rollout")
          thread.archived = false
          return respond(id, { thread: P.threadRecord(thread, context(false)) }).pipe(
            Effect.andThen(notifyNow("thread/unarchived", { threadId: thread.id }))
          )
        }
        case "thread/compact/start": {
          const params = decode(method, rawParams) as Protocol.ThreadCompactStartParams
          const thread = usable(params.threadId)
          if (thread.active !== undefined) return invalid(`thread ${thread.id} has an active turn`)
          const active = startActive(thread, compaction, 0, "compact", { threadId: thread.id, input: [] })
          return respond(id, {}).pipe(Effect.andThen(Effect.forkIn(runTurn(active), scope)), Effect.asVoid)
        }
        case "turn/start": {
          const params = decode(method, rawParams) as Protocol.TurnStartParams
          const thread = usable(params.threadId)
          const running = activeOf(thread)
          if (running !== undefined && running.kind === "compact") {
            // what codex 0.169.0 answers while a compaction turn runs (a compaction cannot be steered)
            return respondError(id, {
              code: JsonRpc.ErrorCode.InternalError,
              message: "ActiveTurnNotSteerable { turn_kind: Compact }"
            })
          }
          if (running !== undefined) {
            // codex steers the active turn and answers with its id
            if (running.state !== "running") return invalid(`thread ${thread.id} is finishing a turn`)
            running.steers.push(params.input)
            return respond(id, { turn: P.turnInProgress(running.turnId, null) }).pipe(
              Effect.andThen(userMessage(running, params.input))
            )
          }
          const index = ++counters.turnStarts
          const step = script[index - 1] ?? options.fallback ?? unscripted(index, thread.id)
          const active = startActive(thread, step, index, "user", params)
          const response = respond(id, { turn: P.turnInProgress(active.turnId, null) })
          return options.early === true
            ? runTurn(active).pipe(Effect.andThen(Deferred.await(active.done)), Effect.andThen(response))
            : response.pipe(Effect.andThen(Effect.forkIn(runTurn(active), scope)), Effect.asVoid)
        }
        case "turn/steer": {
          const params = decode(method, rawParams) as Protocol.TurnSteerParams
          const thread = usable(params.threadId)
          const running = activeOf(thread)
          if (running === undefined || running.state !== "running" || running.kind !== "user") {
            return invalid("no active turn to steer")
          }
          if (running.turnId !== params.expectedTurnId) {
            return invalid(`expected active turn id \`${params.expectedTurnId}\` but found \`${running.turnId}\``)
          }
          running.steers.push(params.input)
          return respond(id, { turnId: running.turnId }).pipe(Effect.andThen(userMessage(running, params.input)))
        }
        case "turn/interrupt": {
          const params = decode(method, rawParams) as Protocol.TurnInterruptParams
          const thread = threads.get(params.threadId)
          const running = thread === undefined ? undefined : activeOf(thread)
          if (running === undefined || running.turnId !== params.turnId) return invalid("no active turn to interrupt")
          if (running.state === "ending" || running.state === "ended") {
            return Deferred.await(running.done).pipe(
              Effect.andThen(respondError(id, { code: INVALID, message: "no active turn to interrupt" }))
            )
          }
          if (running.state === "interrupting") {
            return Deferred.await(running.done).pipe(Effect.andThen(respond(id, {})))
          }
          running.state = "interrupting"
          return Effect.gen(function*() {
            if (running.playFiber !== undefined) yield* Fiber.interrupt(running.playFiber)
            yield* Deferred.await(running.playDone)
            yield* respond(id, {})
            yield* finish(running, { status: "interrupted", error: null })
          })
        }
        case "model/list": {
          const params = decode(method, rawParams) as Protocol.ModelListParams
          const visible = params.includeHidden === true ? models : models.filter((model) => !model.hidden)
          return respond(id, page(visible, params.cursor, params.limit))
        }
        case "account/read":
          decode(method, rawParams)
          return respond(id, { account, requiresOpenaiAuth: false, userId: null })
        case "account/login/start": {
          const params = decode(method, rawParams) as Protocol.LoginAccountParams
          if (params.type !== "apiKey") return invalid(`CodexTest supports only apiKey login, not ${params.type}`)
          account = { type: "apiKey" }
          return respond(id, { type: "apiKey" }).pipe(
            Effect.andThen(notifyNow("account/login/completed", { loginId: null, success: true, error: null })),
            Effect.andThen(notifyNow("account/updated", { authMode: "apikey", planType: null }))
          )
        }
        case "account/logout":
          account = null
          return respond(id, {}).pipe(Effect.andThen(notifyNow("account/updated", { authMode: null, planType: null })))
        default:
          if (KNOWN_METHODS.includes(method)) {
            return invalid(
              `CodexTest: ${method} is not implemented by the in-memory app-server (answer it with the \`methods\` option)`
            )
          }
          return invalid(
            `Invalid request: unknown variant \`${method}\`, expected one of ${KNOWN_METHODS.map((m) => `\`${m}\``).join(", ")}`
          )
      }
    }

    const onRequest = (id: JsonRpc.RequestId, method: string, params: unknown): Effect.Effect<void> => {
      let work: Effect.Effect<void>
      try {
        work = handle(id, method, params)
      } catch (error) {
        if (error instanceof RpcFailure) return respondError(id, error.failure)
        throw error
      }
      return work.pipe(
        Effect.catchDefect((defect) =>
          defect instanceof RpcFailure
            ? respondError(id, defect.failure)
            : respondError(id, { code: JsonRpc.ErrorCode.InternalError, message: `CodexTest: ${String(defect)}` })
        )
      )
    }

    const onLine = (line: string): Effect.Effect<void> =>
      Effect.suspend(() => {
        const message = harness.onClientLine(line)
        switch (message._tag) {
          case "Request":
            return Effect.asVoid(Effect.forkIn(onRequest(message.id, message.method, message.params), scope))
          case "Response":
          case "ErrorResponse": {
            if (typeof message.id !== "number") return Effect.void
            const deferred = pendingAnswers.get(message.id)
            if (deferred === undefined) return Effect.void
            pendingAnswers.delete(message.id)
            return Deferred.succeed(
              deferred,
              message._tag === "Response" ? { result: message.result } : { error: message.error }
            )
          }
          default:
            return Effect.void
        }
      }).pipe(Effect.asVoid)

    return {
      serve: server.received.pipe(Stream.runForEach(onLine)),
      remaining: () => Math.max(0, script.length - counters.turnStarts)
    }
  })
