/**
 * The scripted in-memory app-server behind `CodexTest.layer`: threads, turns
 * and the rest of what the `Codex` service sends, answered like codex 0.169.0
 * answers them, one scripted step per `turn/start`.
 *
 * This module is the connection: the read loop, the `initialize` handshake and
 * the table of method handlers; the handlers live by concern in
 * `codexTestThreads.ts`, `codexTestTurns.ts` and `codexTestAccount.ts`, server
 * requests in `codexTestRequests.ts`, and the state they share in
 * `codexTestState.ts`.
 */
import { Clock, Effect, Scope, Stream } from "../../../schema/internal/effect.ts"
import { ClientRequestParams } from "../../../schema/generated/Methods.gen.ts"
import type * as Protocol from "../../../schema/generated/Protocol.gen.ts"
import * as JsonRpc from "../../../schema/JsonRpc.ts"
import type * as Transport from "../../Transport.ts"
import * as Account from "./codexTestAccount.ts"
import type { Harness } from "./codexTestHarness.ts"
import type { Options, Step } from "./codexTestModel.ts"
import * as P from "./codexTestPayloads.ts"
import { settle } from "./codexTestRequests.ts"
import {
  answer,
  decode,
  type Failure,
  type Handler,
  type Handlers,
  invalid,
  makeState,
  type Reply,
  send,
  type State
} from "./codexTestState.ts"
import * as Threads from "./codexTestThreads.ts"
import * as Turns from "./codexTestTurns.ts"

/** Every method the server answers itself, once initialized. */
const handlers: Handlers = { ...Threads.handlers, ...Turns.handlers, ...Account.handlers }

const KNOWN_METHODS = Object.keys(ClientRequestParams)

const initialize: Handler = (state, raw) =>
  Effect.gen(function*() {
    if (state.initialized) return yield* invalid("Already initialized")
    const params = yield* decode(state, "initialize", raw)
    state.initialized = true
    state.experimentalApi = params.capabilities?.experimentalApi === true
    state.originator = params.clientInfo.name
    const result: Protocol.InitializeResponse = {
      userAgent:
        `${params.clientInfo.name}/${P.CLI_VERSION} (CodexTest; in-memory) (${params.clientInfo.name}; ${params.clientInfo.version})`,
      codexHome: state.codexHome,
      platformFamily: "unix",
      platformOs: "linux"
    }
    return answer(result)
  })

/** A method of the `methods` option: its answer, nothing after it. */
const custom = (method: (params: unknown) => Effect.Effect<unknown, JsonRpc.ErrorObject>): Handler => (_, raw) =>
  Effect.succeed(Effect.map(method(raw), (result) => ({ result, then: Effect.void })))

/** A method the server does not answer: codex's error for an unknown one, or one naming the option to use. */
const unanswered = (method: string): Handler => () =>
  invalid(
    KNOWN_METHODS.includes(method)
      ? `CodexTest: ${method} is not implemented by the in-memory app-server (answer it with the \`methods\` option)`
      : `Invalid request: unknown variant \`${method}\`, expected one of ${KNOWN_METHODS.map((m) => `\`${m}\``).join(", ")}`
  )

/** The handler of a method: the handshake first, then the `methods` option, then the built-in ones. */
const handlerOf = (state: State, method: string): Handler => {
  if (method === "initialize") return initialize
  if (!state.initialized) return () => invalid("Not initialized")
  const methods = state.options.methods
  // own keys only: a request for `toString` must not find the object method
  const option = methods !== undefined && Object.hasOwn(methods, method) ? methods[method] : undefined
  if (option !== undefined) return custom(option)
  return Object.hasOwn(handlers, method) ? handlers[method as keyof Handlers]! : unanswered(method)
}

/** Sends the answer of a reply (its result, then what follows it, or its error); a defect is answered too. */
const answerWith = (state: State, id: JsonRpc.RequestId, reply: Reply): Effect.Effect<void> =>
  reply.pipe(
    Effect.matchEffect({
      onFailure: (failure: Failure) => send(state, { error: failure, id }),
      onSuccess: ({ result, then }) => Effect.andThen(send(state, { id, result }), then)
    }),
    Effect.catchDefect((defect) =>
      send(state, { error: { code: JsonRpc.ErrorCode.InternalError, message: `CodexTest: ${String(defect)}` }, id })
    )
  )

/**
 * Handles one request: its handler runs now, in the read loop (so requests
 * change the state in the order they came); the reply runs in its own fiber.
 */
const onRequest = (state: State, id: JsonRpc.RequestId, method: string, params: unknown): Effect.Effect<void> =>
  handlerOf(state, method)(state, params).pipe(
    // a handler's refusal is answered as a reply that fails
    Effect.catch((failure): Effect.Effect<Reply> => Effect.succeed(Effect.fail(failure))),
    Effect.flatMap((reply) => Effect.forkIn(answerWith(state, id, reply), state.scope)),
    Effect.asVoid
  )

const onLine = (state: State, line: string): Effect.Effect<void> =>
  Effect.suspend(() => {
    const message = state.harness.onClientLine(line)
    switch (message._tag) {
      case "Request":
        return onRequest(state, message.id, message.method, message.params)
      case "Response":
      case "ErrorResponse":
        return settle(state, message)
      default:
        return Effect.void
    }
  })

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
    const state = makeState(script, options, harness, server, yield* Scope.Scope)
    Threads.storeThreads(state, options.threads ?? [], yield* Clock.currentTimeMillis)
    return {
      serve: server.received.pipe(Stream.runForEach((line) => onLine(state, line))),
      remaining: () => Math.max(0, script.length - state.counters.turnStarts)
    }
  })
