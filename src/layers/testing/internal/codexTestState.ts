/**
 * What the parts of the scripted app-server share: the one mutable `State` of
 * a connection, the shape of a method handler, and the wire helpers every part
 * uses (sending, decoding params, paging). A failure is a value: the JSON-RPC
 * error object the request is answered with, in the Effect error channel.
 *
 * @internal
 */
import { Clock, type Deferred, Effect, Exit, Schema, type Scope } from "../../../schema/internal/effect.ts"
import {
  type ClientRequestMethod,
  ClientRequestParams,
  type ClientRequestParamsByMethod,
  ExperimentalClientRequestMethods,
  ExperimentalFields,
  type ServerNotificationMethod,
  type ServerNotificationParamsByMethod
} from "../../../schema/generated/Methods.gen.ts"
import type * as Protocol from "../../../schema/generated/Protocol.gen.ts"
import * as JsonRpc from "../../../schema/JsonRpc.ts"
import type * as Transport from "../../Transport.ts"
import type { Harness } from "./codexTestHarness.ts"
import type { Options, Step } from "./codexTestModel.ts"
import type * as P from "./codexTestPayloads.ts"

// =============================================================================
// Handlers
// =============================================================================

/** What a request is answered with when it fails: a JSON-RPC error object. */
export type Failure = JsonRpc.ErrorObject

/** The answer to a request: its result, and what the server sends once the result is out. */
export interface Answer {
  readonly result: unknown
  readonly then: Effect.Effect<void>
}

/**
 * The part of a request that runs in its own fiber, since it may wait (a turn
 * played before its `turn/start` is answered, an interrupt waiting for the play
 * to stop): it succeeds with the answer or fails with the error to send.
 */
export type Reply = Effect.Effect<Answer, Failure>

/**
 * One method's handler. It runs in the read loop, so what it checks and changes
 * in the state lands in the order the client's lines came (a `turn/interrupt`
 * right after a `turn/start` finds the turn); it must not wait. It fails with
 * the error to answer, or returns the {@link Reply} that answers.
 */
export type Handler = (state: State, params: unknown) => Effect.Effect<Reply, Failure>

/** Handlers by method. */
export type Handlers = { readonly [M in ClientRequestMethod]?: Handler }

/** A reply with this result, then `then`. */
export const answer = (result: unknown, then: Effect.Effect<void> = Effect.void): Reply =>
  Effect.succeed({ result, then })

/** Fails with codex's `InvalidRequest` error, the one most refusals use. */
export const invalid = (message: string): Effect.Effect<never, Failure> =>
  Effect.fail({ code: JsonRpc.ErrorCode.InvalidRequest, message })

// =============================================================================
// State
// =============================================================================

/** What the client answered to a server request, as it came. */
export interface RawAnswer {
  readonly result?: unknown
  readonly error?: JsonRpc.ErrorObject
}

/** The mutable state of one connection, shared by every part of the server. */
export interface State {
  readonly script: ReadonlyArray<Step>
  readonly options: Options
  readonly harness: Harness
  readonly server: Transport.InMemoryServer
  /** Where turns and request fibers run: the server's life. */
  readonly scope: Scope.Scope
  readonly codexHome: string
  /** The working directory of threads started without one. */
  readonly defaultCwd: string
  readonly threads: Map<string, P.ThreadState>
  /** Server requests waiting for the client's answer, by request id. */
  readonly pendingAnswers: Map<number, Deferred.Deferred<RawAnswer>>
  readonly counters: {
    thread: number
    turn: number
    item: number
    /** Creation and update order of threads. */
    seq: number
    request: number
    turnStarts: number
  }
  /** Counters of {@link nextId}, by prefix. */
  readonly prefixed: Map<string, number>
  initialized: boolean
  experimentalApi: boolean
  /** The client's name from `initialize`, reported as the threads' originator. */
  originator: string
  account: Protocol.Account | null
}

/** The state of a fresh connection. */
export const makeState = (
  script: ReadonlyArray<Step>,
  options: Options,
  harness: Harness,
  server: Transport.InMemoryServer,
  scope: Scope.Scope
): State => ({
  script,
  options,
  harness,
  server,
  scope,
  codexHome: options.codexHome ?? "/tmp/codex-test/home",
  defaultCwd: options.cwd ?? process.cwd(),
  threads: new Map(),
  pendingAnswers: new Map(),
  counters: { thread: 0, turn: 0, item: 0, seq: 0, request: 0, turnStarts: 0 },
  prefixed: new Map(),
  initialized: false,
  experimentalApi: false,
  originator: "effect_codex",
  account: options.account ?? null
})

/** A fresh id such as `msg_0001`, unique for the server's life. */
export const nextId = (state: State, prefix: string): string => {
  const n = (state.prefixed.get(prefix) ?? 0) + 1
  state.prefixed.set(prefix, n)
  return `${prefix}_${n.toString().padStart(4, "0")}`
}

// =============================================================================
// Sending
// =============================================================================

/** Sends one message to the client (and records it). */
export const send = (state: State, message: Record<string, unknown>): Effect.Effect<void> =>
  Effect.suspend(() => {
    state.harness.onServerMessage(message)
    return state.server.send(JSON.stringify(message))
  })

/** Sends a notification, stamped with the current time as codex does. */
export const notify = <M extends ServerNotificationMethod>(
  state: State,
  method: M,
  params: ServerNotificationParamsByMethod[M]
): Effect.Effect<void> => Effect.flatMap(Clock.currentTimeMillis, (now) => send(state, { method, params, emittedAtMs: now }))

// =============================================================================
// Params
// =============================================================================

/** The params types whose experimental fields need the `experimentalApi` capability. */
const PARAMS_TYPES: Partial<Record<ClientRequestMethod, string>> = {
  "thread/start": "ThreadStartParams",
  "thread/fork": "ThreadForkParams",
  "thread/resume": "ThreadResumeParams",
  "thread/list": "ThreadListParams",
  "turn/start": "TurnStartParams",
  "turn/steer": "TurnSteerParams"
}

/** The params of a request, decoded as codex decodes them, or the error codex answers. */
export const decode = <M extends ClientRequestMethod>(
  state: State,
  method: M,
  params: unknown
): Effect.Effect<ClientRequestParamsByMethod[M], Failure> => {
  const schema = ClientRequestParams[method] as unknown as Schema.Decoder<ClientRequestParamsByMethod[M]>
  const exit = Schema.decodeUnknownExit(schema)(params, { onExcessProperty: "ignore" })
  if (Exit.isFailure(exit)) {
    const text = String(exit.cause).split("\n").slice(0, 3).join(" ")
    return invalid(`Invalid request: ${text}`)
  }
  if (!state.experimentalApi) {
    if (ExperimentalClientRequestMethods.has(method)) return invalid(`${method} requires experimentalApi capability`)
    const typeName = PARAMS_TYPES[method]
    const fields = typeName === undefined ? undefined : ExperimentalFields[typeName]
    for (const field of fields ?? []) {
      const value = (params as Record<string, unknown> | null | undefined)?.[field]
      if (value !== undefined && value !== null) return invalid(`${method}.${field} requires experimentalApi capability`)
    }
  }
  return Effect.succeed(exit.value)
}

/** One page of `items` from a cursor (an offset, as a string) and a limit (default 25). */
export const page = <A>(
  items: ReadonlyArray<A>,
  cursor: string | null | undefined,
  limit: number | null | undefined
): Effect.Effect<{ readonly data: Array<A>; readonly nextCursor: string | null }, Failure> => {
  const offset = cursor === undefined || cursor === null ? 0 : Number(cursor)
  if (!Number.isInteger(offset) || offset < 0) return invalid(`invalid cursor: ${cursor}`)
  const size = limit === undefined || limit === null || limit <= 0 ? 25 : limit
  const data = items.slice(offset, offset + size)
  return Effect.succeed({ data, nextCursor: offset + size < items.length ? String(offset + size) : null })
}
