/**
 * Threads of the scripted app-server: the stored threads it starts with, how
 * a thread id is looked up (with the errors codex gives), and the `thread/*`
 * methods that do not start a turn.
 *
 * @internal
 */
import { Clock, Effect } from "../../../schema/internal/effect.ts"
import type { StoredThread } from "./codexTestModel.ts"
import * as P from "./codexTestPayloads.ts"
import {
  answer,
  decode,
  type Handlers,
  invalid,
  nextId,
  notify,
  page,
  type Failure,
  type Reply,
  type State
} from "./codexTestState.ts"

/** Creates a thread (defaults as codex's for a new one) and stores it. */
export const newThread = (
  state: State,
  fields: Partial<P.ThreadState> & { readonly id?: string; readonly atMs: number }
): P.ThreadState => {
  const seq = ++state.counters.seq
  const thread: P.ThreadState = {
    id: fields.id ?? P.uuid("8", ++state.counters.thread),
    seq,
    updatedSeq: seq,
    cwd: fields.cwd ?? state.defaultCwd,
    name: fields.name ?? null,
    preview: fields.preview ?? "",
    ephemeral: fields.ephemeral ?? false,
    forkedFromId: fields.forkedFromId ?? null,
    model: fields.model ?? state.options.model ?? P.DEFAULT_MODEL,
    modelProvider: fields.modelProvider ?? P.DEFAULT_MODEL_PROVIDER,
    approvalPolicy: fields.approvalPolicy ?? "on-request",
    sandbox: fields.sandbox ?? P.sandboxPolicy("read-only"),
    createdAt: P.seconds(fields.atMs),
    updatedAt: P.seconds(fields.atMs),
    archived: fields.archived ?? false,
    loaded: fields.loaded ?? true,
    subscribed: fields.loaded ?? true,
    turns: fields.turns ?? [],
    active: undefined,
    usage: { input: 0, cached: 0, output: 0, reasoning: 0 },
    lastUsage: { input: 0, cached: 0, output: 0, reasoning: 0 }
  }
  state.threads.set(thread.id, thread)
  return thread
}

/** Stores the threads the server knows from the start (not loaded, their history as finished turns). */
export const storeThreads = (state: State, stored: ReadonlyArray<StoredThread>, atMs: number): void => {
  for (const entry of stored) {
    const turns = (entry.history ?? []).map((turn) =>
      P.historyTurn(
        { turn: P.uuid("9", ++state.counters.turn), user: P.uuid("a", ++state.counters.item), agent: nextId(state, "msg") },
        turn.user,
        turn.agent,
        atMs
      )
    )
    newThread(state, {
      ...(entry.id === undefined ? {} : { id: entry.id }),
      ...(entry.cwd === undefined ? {} : { cwd: entry.cwd }),
      name: entry.name ?? null,
      preview: entry.preview ?? entry.history?.[0]?.user ?? "",
      archived: entry.archived ?? false,
      loaded: false,
      turns,
      atMs
    })
  }
}

/** The thread with this id, or the error codex gives for it. */
export const lookup = (
  state: State,
  threadId: string,
  missing: "not found" | "not loaded" | "no rollout"
): Effect.Effect<P.ThreadState, Failure> => {
  const thread = state.threads.get(threadId)
  if (thread !== undefined) return Effect.succeed(thread)
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

/** The thread with this id if it is not archived: one a turn can run on. */
export const usable = (state: State, threadId: string): Effect.Effect<P.ThreadState, Failure> =>
  Effect.flatMap(
    lookup(state, threadId, "not found"),
    (thread) => thread.archived ? invalid(`thread not found: ${threadId}`) : Effect.succeed(thread)
  )

/** Marks a thread updated now (for `thread/list` sorted by update). */
export const touch = (state: State, thread: P.ThreadState, nowMs: number): void => {
  thread.updatedSeq = ++state.counters.seq
  thread.updatedAt = P.seconds(nowMs)
}

/** The protocol record of a thread, with its turns or without. */
const record = (state: State, thread: P.ThreadState, withTurns: boolean) =>
  P.threadRecord(thread, { codexHome: state.codexHome, originator: state.originator, withTurns })

/**
 * The reply of `thread/start` and `thread/fork`: the thread is created when the
 * reply runs, answered with its record and settings, then announced.
 */
const open = (state: State, withTurns: boolean, fields: Partial<P.ThreadState>): Reply =>
  Effect.gen(function*() {
    const thread = newThread(state, { ...fields, atMs: yield* Clock.currentTimeMillis })
    return {
      result: { thread: record(state, thread, withTurns), ...P.threadSettings(thread) },
      then: notify(state, "thread/started", { thread: record(state, thread, false) })
    }
  })

/** The `thread/*` methods that do not start a turn. */
export const handlers: Handlers = {
  "thread/start": (state, raw) =>
    Effect.gen(function*() {
      const params = yield* decode(state, "thread/start", raw)
      return open(state, false, {
        ...(params.cwd == null ? {} : { cwd: params.cwd }),
        ...(params.model == null ? {} : { model: params.model }),
        ...(params.modelProvider == null ? {} : { modelProvider: params.modelProvider }),
        ...(params.approvalPolicy == null ? {} : { approvalPolicy: params.approvalPolicy }),
        sandbox: P.sandboxPolicy(params.sandbox),
        ephemeral: params.ephemeral === true
      })
    }),
  "thread/resume": (state, raw) =>
    Effect.gen(function*() {
      const params = yield* decode(state, "thread/resume", raw)
      const thread = yield* lookup(state, params.threadId, "no rollout")
      if (thread.archived) return yield* invalid(`no rollout found for thread id ${params.threadId}`)
      thread.loaded = true
      thread.subscribed = true
      if (params.cwd != null) thread.cwd = params.cwd
      if (params.model != null) thread.model = params.model
      if (params.approvalPolicy != null) thread.approvalPolicy = params.approvalPolicy
      if (params.sandbox != null) thread.sandbox = P.sandboxPolicy(params.sandbox)
      return answer({ thread: record(state, thread, params.excludeTurns !== true), ...P.threadSettings(thread) })
    }),
  "thread/fork": (state, raw) =>
    Effect.gen(function*() {
      const params = yield* decode(state, "thread/fork", raw)
      const source = yield* lookup(state, params.threadId, "no rollout")
      return open(state, params.excludeTurns !== true, {
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
    }),
  "thread/list": (state, raw) =>
    Effect.gen(function*() {
      const params = yield* decode(state, "thread/list", raw)
      const archived = params.archived === true
      const term = params.searchTerm?.toLowerCase()
      const key = params.sortKey === "updated_at" || params.sortKey === "recency_at" ? "updatedSeq" : "seq"
      const direction = params.sortDirection === "asc" ? 1 : -1
      const all = Array.from(state.threads.values())
        .filter((thread) => thread.archived === archived && !thread.ephemeral)
        .filter((thread) =>
          term === undefined ||
          thread.preview.toLowerCase().includes(term) ||
          (thread.name ?? "").toLowerCase().includes(term)
        )
        .filter((thread) => params.modelProviders == null || params.modelProviders.includes(thread.modelProvider))
        .sort((a, b) => (a[key] - b[key]) * direction)
      const { data, nextCursor } = yield* page(all, params.cursor, params.limit)
      return answer({
        data: data.map((thread) => record(state, thread, false)),
        readStates: {},
        nextCursor,
        backwardsCursor: null
      })
    }),
  // reads no params: one page of every loaded thread
  "thread/loaded/list": (state) =>
    Effect.sync(() => {
      const loaded = Array.from(state.threads.values()).filter((thread) => thread.loaded && !thread.archived)
      return answer({ data: loaded.map((thread) => thread.id), nextCursor: null })
    }),
  "thread/read": (state, raw) =>
    Effect.gen(function*() {
      const params = yield* decode(state, "thread/read", raw)
      const thread = yield* lookup(state, params.threadId, "not loaded")
      const result = answer({ thread: record(state, thread, params.includeTurns === true) })
      return params.includeTurns === true
        ? Effect.andThen(
          notify(state, "deprecationNotice", {
            summary:
              "Full-history hydration is deprecated for paginated threads; omit `includeTurns` or set it to `false`, then page with `thread/turns/list` and `thread/items/list`.",
            details: null
          }),
          result
        )
        : result
    }),
  "thread/name/set": (state, raw) =>
    Effect.gen(function*() {
      const params = yield* decode(state, "thread/name/set", raw)
      const thread = yield* lookup(state, params.threadId, "not found")
      thread.name = params.name
      return answer({}, notify(state, "thread/name/updated", { threadId: thread.id, threadName: params.name }))
    }),
  "thread/archive": (state, raw) =>
    Effect.gen(function*() {
      const params = yield* decode(state, "thread/archive", raw)
      const thread = yield* lookup(state, params.threadId, "not found")
      thread.archived = true
      thread.loaded = false
      return answer({}, notify(state, "thread/archived", { threadId: thread.id }))
    }),
  // as codex 0.171: the connection stops getting the thread's events (codex unloads it later, unobserved here)
  "thread/unsubscribe": (state, raw) =>
    Effect.gen(function*() {
      const params = yield* decode(state, "thread/unsubscribe", raw)
      const thread = state.threads.get(params.threadId)
      if (thread === undefined || !thread.loaded) return answer({ status: "notLoaded" })
      if (!thread.subscribed) return answer({ status: "notSubscribed" })
      thread.subscribed = false
      return answer({ status: "unsubscribed" })
    }),
  // as codex 0.171: the thread is unloaded, then announced deleted; a second delete finds no rollout
  "thread/delete": (state, raw) =>
    Effect.gen(function*() {
      const params = yield* decode(state, "thread/delete", raw)
      const thread = yield* lookup(state, params.threadId, "no rollout")
      state.threads.delete(thread.id)
      return answer(
        {},
        Effect.andThen(
          notify(state, "thread/status/changed", { threadId: thread.id, status: { type: "notLoaded" } }),
          notify(state, "thread/deleted", { threadId: thread.id })
        )
      )
    }),
  "thread/unarchive": (state, raw) =>
    Effect.gen(function*() {
      const params = yield* decode(state, "thread/unarchive", raw)
      const thread = yield* lookup(state, params.threadId, "no rollout")
      thread.archived = false
      return answer(
        { thread: record(state, thread, false) },
        notify(state, "thread/unarchived", { threadId: thread.id })
      )
    })
}
