/**
 * A typed JSON-RPC client for the codex app-server, over any {@link Transport}.
 *
 * It performs the `initialize` handshake, sends typed requests (params encoded
 * and responses decoded with the schemas generated from the pinned codex),
 * windows how many requests are in flight, retries `-32001 Server overloaded`
 * with a `Schedule`, bounds every request in time, fans notifications out to
 * every subscriber, and answers the server's own requests off the reader fiber.
 *
 * When the connection ends, every pending request, every subscriber and every
 * later call fails at once with the reason (`ProcessExited`, `TransportError`,
 * or `Closed` when the layer's Scope closes).
 *
 * @stability experimental
 * @since 0.1.0
 */
import {
  Cause, Clock, Context, Deferred, Duration, Effect, Exit, Layer, Option, PubSub, Result, Schedule, Schema, Scope,
  Stream
} from "../schema/internal/effect.ts"
import {
  ClientRequestParams,
  type ClientRequestMethod,
  type ClientRequestParamsByMethod,
  type ClientRequestResponseByMethod,
  ClientRequestResponses
} from "../schema/generated/Methods.gen.ts"
import type * as Arr from "effect/Array"
import type * as Protocol from "../schema/generated/Protocol.gen.ts"
import * as Incoming_ from "../schema/Incoming.ts"
import { guardOf, strictGuardOf } from "../schema/internal/plain.ts"
import * as JsonRpc from "../schema/JsonRpc.ts"
import * as Transport from "./Transport.ts"
import { version } from "../schema/Version.ts"
import * as CodexError from "../schema/CodexError.ts"
import { InFlight, type Request as PendingRequest, type Settle } from "./internal/inflight.ts"
import * as Checks from "./internal/options.ts"
import * as Tap from "./internal/tap.ts"
import * as Telemetry from "./internal/telemetry.ts"

/**
 * A notification the pinned protocol knows, with decoded params.
 *
 * @category models
 * @since 0.1.0
 */
export type Notification = Incoming_.Notification

/**
 * A notification the pinned protocol does not know (a newer codex), or whose
 * params did not decode: kept raw so nothing is lost.
 *
 * @category models
 * @since 0.1.0
 */
export type UnknownNotification = Incoming_.UnknownNotification

/**
 * A request the server sent to the client, with decoded params.
 *
 * @category models
 * @since 0.1.0
 */
export type ServerRequest = Incoming_.ServerRequest

/**
 * A request the server sent whose method the pinned protocol does not know (a
 * method of an older or newer codex), with raw params.
 *
 * @category models
 * @since 0.1.0
 */
export interface UnknownServerRequest {
  readonly _tag: "UnknownServerRequest"
  readonly id: JsonRpc.RequestId
  readonly method: string
  readonly params: unknown
}

/**
 * What subscribers of the client receive.
 *
 * @category models
 * @since 0.1.0
 */
export type Incoming = Incoming_.Incoming

/**
 * The answer a server-request handler gives: a result (encoded with the
 * method's response schema) or a JSON-RPC error.
 *
 * @category models
 * @since 0.1.0
 */
export type ServerRequestAnswer = Incoming_.ServerRequestAnswer

/**
 * Answers server requests. Returns `Option.none()` for requests it does not
 * handle, so the next handler (or the default JSON-RPC error) applies.
 *
 * @category models
 * @since 0.1.0
 */
export type ServerRequestHandler = (request: ServerRequest) => Effect.Effect<Option.Option<ServerRequestAnswer>>

/**
 * Answers server requests the pinned protocol does not know, by method name.
 * Returns `Option.none()` for requests it does not handle.
 *
 * @category models
 * @since 0.1.0
 */
export type UnknownServerRequestHandler = (
  request: UnknownServerRequest
) => Effect.Effect<Option.Option<ServerRequestAnswer>>

/**
 * Per-request options.
 *
 * @category models
 * @since 0.1.0
 */
export interface RequestOptions {
  /** Overrides the client's `requestTimeout` for this request. */
  readonly timeout?: Duration.Input | undefined
}

/**
 * The client service.
 *
 * @category models
 * @since 0.1.0
 */
export interface Service {
  /** The `initialize` response: user agent, codex home, platform. */
  readonly metadata: Protocol.InitializeResponse
  /** Whether the connection was initialized with `capabilities.experimentalApi`. */
  readonly experimentalApi: boolean
  /** Sends a typed request and waits for its typed response. */
  readonly request: <M extends ClientRequestMethod>(
    method: M,
    params: ClientRequestParamsByMethod[M],
    options?: RequestOptions
  ) => Effect.Effect<ClientRequestResponseByMethod[M], CodexError.CodexError>
  /** Sends a request by name with raw params and returns the raw result (escape hatch for methods newer than the pinned protocol). */
  readonly requestRaw: (
    method: string,
    params: unknown,
    options?: RequestOptions
  ) => Effect.Effect<unknown, CodexError.CodexError>
  /** Sends a notification. */
  readonly notify: (method: string, params?: unknown) => Effect.Effect<void, CodexError.CodexError>
  /**
   * Subscribes now: the returned stream holds every message received from this
   * moment on, even if it is run later, and fails when the connection ends.
   */
  readonly subscribe: Effect.Effect<Stream.Stream<Incoming, CodexError.CodexError>, never, Scope.Scope>
  /** Every message received while the stream runs (subscribes when run). */
  readonly incoming: Stream.Stream<Incoming, CodexError.CodexError>
  /**
   * Calls `listener` for every notification received while the Scope is
   * open, on the reader itself: in wire order with the answers to requests,
   * so what it records is complete when the answer of a request sent before
   * arrives (the output of `command/exec` when its exit code does). It must
   * be cheap and must not block; an exception it throws is logged.
   */
  readonly listen: (
    listener: (notification: Notification | UnknownNotification) => void
  ) => Effect.Effect<void, never, Scope.Scope>
  /**
   * Registers a handler for server requests for the life of the Scope. The
   * most recently registered handler is asked first.
   */
  readonly handleServerRequests: (handler: ServerRequestHandler) => Effect.Effect<void, never, Scope.Scope>
  /**
   * Registers a handler, for the life of the Scope, for server requests whose
   * method the pinned protocol does not know (so a request that an older codex
   * still sends can be answered by name); its result is sent as is, there is
   * no schema to encode it with. Unanswered, such a request gets MethodNotFound.
   */
  readonly handleUnknownServerRequests: (handler: UnknownServerRequestHandler) => Effect.Effect<void, never, Scope.Scope>
  /** Succeeds with the error that ended the connection, once it has ended. */
  readonly awaitClosed: Effect.Effect<CodexError.CodexError>
}

/**
 * The key of the client service.
 *
 * @category services
 * @since 0.1.0
 */
export class AppServerClient extends Context.Service<AppServerClient, Service>()("effect-codex/AppServerClient") {}

/**
 * Options of {@link make}.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** Identifies the client to codex (shows in its user agent). */
  readonly clientInfo?: { readonly name: string; readonly title?: string | null; readonly version: string } | undefined
  /** Opts into codex's experimental API (needed for client tools). Default `true`. */
  readonly experimentalApi?: boolean | undefined
  /** Notification methods codex should not send on this connection. */
  readonly optOutNotificationMethods?: ReadonlyArray<string> | undefined
  /**
   * The longest a request may wait for its answer, counted from the call
   * (waiting for a window slot included). Default 5 minutes; `Infinity` for no limit.
   */
  readonly requestTimeout?: Duration.Input | undefined
  /**
   * The longest the connection may take to start: spawn or connect, then the
   * `initialize` answer. Default 30 seconds; past it the layer fails with
   * `Timeout` (method `initialize`).
   */
  readonly startupTimeout?: Duration.Input | undefined
  /** How to retry `-32001 Server overloaded`. Default: exponential from 25 ms, jittered, capped at 2 s, 8 retries. */
  readonly overloadRetry?: Schedule.Schedule<unknown, CodexError.CodexError> | undefined
  /** How many requests may be in flight at once (a positive integer). Default 64. */
  readonly maxInFlight?: number | undefined
  /**
   * A span per JSON-RPC request (`AppServerClient.request`, attribute
   * `codex.method`). Off by default: it costs more CPU than the rest of a
   * request; the public operations (`Codex.*`, `Thread.*`) are always traced.
   */
  readonly requestSpans?: boolean | undefined
}

/**
 * The default `overloadRetry` schedule.
 *
 * @category constants
 * @since 0.1.0
 */
export const defaultOverloadRetry: Schedule.Schedule<Duration.Duration> = Schedule.exponential("25 millis", 2).pipe(
  Schedule.modifyDelay(({ duration }) => Effect.succeed(Duration.min(duration, Duration.seconds(2)))),
  Schedule.jittered,
  Schedule.upTo({ times: 8 })
)

/** The version reported in `clientInfo` unless overridden. */
const CLIENT_VERSION = version

type Terminal = { readonly _tag: "Terminal"; readonly error: CodexError.CodexError }

const fail = (reason: CodexError.CodexErrorReason) => Effect.fail(CodexError.make(reason))

const isOverloaded = (error: CodexError.CodexError) =>
  error.reason._tag === "RpcError" && error.reason.code === JsonRpc.OVERLOADED

// Newer codex versions add fields: they are ignored (the decoders' default; an explicit
// `onExcessProperty` would take Schema's slow generic path at every nested struct).

/** How often deadlines are checked; a request times out at most this late. */
const SWEEP_INTERVAL = Duration.millis(100)

interface MethodCodec {
  /** Whether params are their own encoding (no undeclared field): sent as given, nothing allocated. */
  readonly exact: (params: unknown) => boolean
  readonly encode: (params: unknown) => Exit.Exit<unknown, Schema.SchemaError>
  /** The decoded response as the effect the caller resumes with (run on the reader, see InFlight). */
  readonly settle: Settle
}

/** What `requestRaw` resumes with: the result as it came. */
const settleRaw: Settle = Effect.succeed
const always = () => true
const identity: MethodCodec = { exact: always, encode: Exit.succeed, settle: settleRaw }
const codecs = new Map<string, MethodCodec>()

// Built once per method: the params encoder and the response decoder.
const codecOf = (method: string): MethodCodec => {
  let codec: MethodCodec | undefined = codecs.get(method)
  if (codec === undefined) {
    // own entries only: a method named `toString` is unknown, not Object.prototype.toString
    const params = Object.hasOwn(ClientRequestParams, method)
      ? (ClientRequestParams as Record<string, Schema.Top>)[method]
      : undefined
    const response = Object.hasOwn(ClientRequestResponses, method)
      ? (ClientRequestResponses as Record<string, Schema.Top>)[method]
      : undefined
    const encode = params === undefined ? undefined : Schema.encodeUnknownExit(params as Schema.Codec<unknown, unknown>)
    // params with no undeclared field are their own encoding: sent as given
    const exact = params === undefined ? undefined : strictGuardOf(params)
    const decode = response === undefined ? undefined : Schema.decodeUnknownExit(response as Schema.Decoder<unknown>)
    // no transformations: a response that validates is its own decoded value, used as it came (no copy)
    const plain = response === undefined ? undefined : guardOf(response)
    codec = {
      exact: exact ?? always,
      encode: encode ?? identity.encode,
      settle: decode === undefined ? settleRaw : (value): Effect.Effect<unknown, CodexError.CodexError> => {
        if (plain!(value)) return Exit.succeed(value)
        const decoded = decode(value)
        return Exit.isSuccess(decoded)
          ? Exit.succeed(decoded.value)
          : fail(new CodexError.ProtocolError({ method, description: `unexpected response: ${issueOf(decoded)}` }))
      }
    }
    codecs.set(method, codec)
  }
  return codec
}

const issueOf = (exit: Exit.Exit<unknown, Schema.SchemaError>): string => {
  if (Exit.isSuccess(exit)) return ""
  const error = Cause.findErrorOption(exit.cause)
  return Option.isSome(error) ? error.value.message : Cause.pretty(exit.cause)
}

/**
 * Builds a client over the {@link Transport} in context and performs the
 * `initialize` / `initialized` handshake.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = Effect.fnUntraced(function*(
  options: Options = {}
): Effect.fn.Return<Service, CodexError.CodexError, Transport.Transport | Scope.Scope> {
  const checked = Checks.client(options, CLIENT_VERSION)
  if (Result.isFailure(checked)) return yield* Effect.fail(checked.failure)
  const resolved = checked.success
  const transport = yield* Transport.Transport
  const scope = yield* Scope.Scope
  const requestTimeout = resolved.requestTimeoutMs
  const overloadRetry = options.overloadRetry ?? defaultOverloadRetry
  const requestSpans = resolved.requestSpans
  const clock = yield* Clock.Clock

  const hub = yield* PubSub.unbounded<Incoming | Terminal>()
  const handlers: Array<ServerRequestHandler> = []
  const listeners: Array<(notification: Notification | UnknownNotification) => void> = []
  // Taps see every message on the reader (internal/tap.ts); subscribers get the hub only when there are any.
  let taps: ReadonlyArray<Tap.Tap> = []
  let subscribers = 0
  const unknownHandlers: Array<UnknownServerRequestHandler> = []
  const undecoded = new Set<string>()
  const closed = yield* Deferred.make<CodexError.CodexError>()
  let failure: CodexError.CodexError | undefined
  const inFlight: InFlight = new InFlight({
    max: resolved.maxInFlight,
    offer: transport.offer,
    // Each request carries the caller's trace context, so codex's spans nest under the SDK's.
    encode: (id, request) =>
      JsonRpc.encodeRequest(id, request.method, request.params, request.trace as Protocol.W3cTraceContext | undefined),
    trace: Telemetry.currentTraceContext,
    onError: (request, error) =>
      request.retry && error.code === JsonRpc.OVERLOADED ? retryOverloaded(request, error) : rpcError(request.method, error),
    now: () => clock.currentTimeMillisUnsafe(),
    onTimeout: (method) => CodexError.make(new CodexError.Timeout({ method })),
    onClosed: () => CodexError.make(new CodexError.Closed()),
    onUnencodable: (method, cause) =>
      CodexError.make(
        new CodexError.ProtocolError({
          method,
          description: `params are not JSON: ${cause instanceof Error ? cause.message : String(cause)}`
        })
      )
  })

  // Ends the connection once: fails every pending request and ends every subscriber after what it already has.
  const terminate = (error: CodexError.CodexError) =>
    Effect.suspend(() => {
      if (failure !== undefined) return Effect.void
      failure = error
      inFlight.fail(error)
      const ending = taps
      taps = []
      for (const tap of ending) tap.end(error)
      return PubSub.publish(hub, { _tag: "Terminal", error }).pipe(
        Effect.andThen(Deferred.succeed(closed, error)),
        Effect.asVoid
      )
    })

  const send = (line: string) => failure !== undefined ? Effect.fail(failure) : Transport.send(transport, line)

  const answer = (id: JsonRpc.RequestId, method: string, reply: ServerRequestAnswer) => {
    const { issue, line } = Incoming_.encodeAnswer(id, method, reply)
    return issue === undefined
      ? send(line)
      : Effect.logWarning(`codex: handler answer for ${method} does not match the protocol`, issue).pipe(
        Effect.andThen(send(line))
      )
  }

  const dispatch = <R extends ServerRequest | UnknownServerRequest>(
    list: ReadonlyArray<(request: R) => Effect.Effect<Option.Option<ServerRequestAnswer>>>,
    request: R,
    unanswered: string
  ) =>
    Effect.gen(function*() {
      for (let i = list.length - 1; i >= 0; i--) {
        const reply = yield* list[i]!(request)
        if (Option.isSome(reply)) return yield* answer(request.id, request.method, reply.value)
      }
      yield* send(JsonRpc.encodeError(request.id, { code: JsonRpc.ErrorCode.MethodNotFound, message: unanswered }))
    }).pipe(
      // A handler that dies must still answer, or the turn waiting on it hangs.
      Effect.catchCause((cause) =>
        Cause.hasInterruptsOnly(cause) ? Effect.void : Effect.logWarning("codex: server request handler failed", cause).pipe(
          Effect.andThen(send(JsonRpc.encodeError(request.id, {
            code: JsonRpc.ErrorCode.InternalError,
            message: `effect-codex failed to answer ${request.method}`
          }))),
          Effect.ignore
        )
      ),
      Effect.ignore
    )

  const rpcError = (method: string, error: JsonRpc.ErrorObject) =>
    Effect.fail(CodexError.make(
      new CodexError.RpcError({
        method,
        code: error.code,
        message: error.message,
        ...(error.data === undefined ? {} : { data: error.data })
      })
    ))

  // Handles one line at once (responses, notifications) and returns the effect
  // left to run for it, if any (logs, server-request dispatch), so a batch of
  // lines costs no Effect unless one of them needs it.
  const onMessage = (line: string): Effect.Effect<void> | undefined => {
    const message = JsonRpc.parse(line)
    switch (message._tag) {
      case "Notification": {
        const incoming = Incoming_.decodeNotification(message.method, message.params)
        if (subscribers > 0) PubSub.publishUnsafe(hub, incoming)
        let effect = taps.length > 0 ? notifyTaps(incoming) : undefined
        if (listeners.length > 0) {
          const failed = notifyListeners(incoming)
          if (failed !== undefined) return effect === undefined ? failed : Effect.andThen(effect, failed)
        }
        if (
          incoming._tag === "Notification" || !Incoming_.isKnownNotification(message.method) ||
          undecoded.has(message.method)
        ) return effect
        // once per method: a newer codex sends the same shape on every event
        undecoded.add(message.method)
        const warning = Effect.logWarning(
          `codex: ${message.method} params do not match the pinned protocol (a newer codex?); passed on raw`
        )
        // the warning first: it is about this message, the tap's effect is about what it means
        return effect === undefined ? warning : Effect.andThen(warning, effect)
      }
      case "Response":
        if (inFlight.complete(message.id as number, message.result)) return undefined
        return lateAnswer(message.id, line)
      case "ErrorResponse":
        if (message.id !== null && inFlight.completeError(message.id as number, message.error)) return undefined
        return lateAnswer(message.id, line)
      case "Request": {
        const decoded = Incoming_.decodeServerRequest(message.id, message.method, message.params)
        if (decoded._tag === "Refused" && decoded.reason === "unknown" && unknownHandlers.length > 0) {
          // a method the pinned protocol lacks (a removed one such as currentTime/read): raw, by name
          const request: UnknownServerRequest = {
            _tag: "UnknownServerRequest",
            id: message.id,
            method: message.method,
            params: message.params
          }
          return Effect.asVoid(Effect.forkIn(dispatch(unknownHandlers, request, decoded.error.message), scope))
        }
        if (decoded._tag === "Refused") {
          const reply = send(JsonRpc.encodeError(message.id, decoded.error)).pipe(Effect.ignore)
          return decoded.reason === "unknown" ? reply : Effect.andThen(
            Effect.logWarning(`codex: ${message.method} params do not match the pinned protocol`),
            reply
          )
        }
        // Published first so turn streams show the request before any answer.
        if (subscribers > 0) PubSub.publishUnsafe(hub, decoded.request)
        const tapped = taps.length > 0 ? notifyTaps(decoded.request) : undefined
        const dispatched = Effect.asVoid(
          Effect.forkIn(dispatch(handlers, decoded.request, `effect-codex has no handler for ${message.method}`), scope)
        )
        return tapped === undefined ? dispatched : Effect.andThen(tapped, dispatched)
      }
      case "Invalid":
        return Effect.logWarning(`codex: dropped a message (${message.reason})`, JsonRpc.preview(line))
    }
  }

  const notifyListeners = (incoming: Notification | UnknownNotification): Effect.Effect<void> | undefined => {
    let failed: Effect.Effect<void> | undefined
    for (const listener of listeners) {
      try {
        listener(incoming)
      } catch (error) {
        failed = Effect.logWarning(`codex: a listener failed on ${incoming.method}`, error)
      }
    }
    return failed
  }

  // A tap that throws is removed (the reader goes on for everyone else) and told why.
  const tapFailed = (tap: Tap.Tap, error: unknown): Effect.Effect<void> => {
    taps = taps.filter((other) => other !== tap)
    return tap.defect(error)
  }

  const notifyTaps = (incoming: Incoming): Effect.Effect<void> | undefined => {
    let effect: Effect.Effect<void> | undefined
    for (const tap of taps) {
      let next: Effect.Effect<void> | undefined
      try {
        next = tap.message(incoming)
      } catch (error) {
        next = tapFailed(tap, error)
      }
      if (next !== undefined) effect = effect === undefined ? next : Effect.andThen(effect, next)
    }
    return effect
  }

  const batchEnd = (): Effect.Effect<void> | undefined => {
    let effect: Effect.Effect<void> | undefined
    for (const tap of taps) {
      try {
        tap.batchEnd()
      } catch (error) {
        const next = tapFailed(tap, error)
        effect = effect === undefined ? next : Effect.andThen(effect, next)
      }
    }
    return effect
  }

  const lateAnswer = (id: JsonRpc.RequestId | null, line: string) =>
    inFlight.issued(id)
      // the caller gave up (interrupted, timed out): expected, not a server fault
      ? Effect.logDebug("codex: late answer to a request nobody waits for", JsonRpc.preview(line))
      : Effect.logWarning("codex: response to an unknown request id dropped", JsonRpc.preview(line))

  // A line's effect (a log, a dispatch) runs before the next line is handled,
  // so a warning about a message is logged before anything that follows it
  // (the turn's end, say) is published.
  // The batch ends (taps wake what the batch changed) after the last line's effect.
  // A batch that needs no effect returns none: with a transport that offers
  // `consume` (stdio), a read is then handled entirely in its `data` callback.
  const onBatch = (lines: ReadonlyArray<string>, from = 0): Effect.Effect<void> | undefined => {
    for (let i = from; i < lines.length; i++) {
      const effect = onMessage(lines[i]!)
      if (effect !== undefined) return Effect.andThen(effect, Effect.suspend(() => onBatch(lines, i + 1) ?? Effect.void))
    }
    return taps.length > 0 ? batchEnd() : undefined
  }

  yield* Transport.consume(transport, (lines) => onBatch(lines)).pipe(
    Effect.matchCauseEffect({
      onFailure: (cause) => {
        const error = Cause.findErrorOption(cause)
        return Option.isSome(error) ? terminate(error.value) : terminate(CodexError.make(new CodexError.Closed()))
      },
      onSuccess: () => terminate(CodexError.make(new CodexError.Closed()))
    }),
    Effect.forkScoped
  )
  // One sweeper checks every deadline, on the Clock (so TestClock drives it), only while a request is pending.
  yield* inFlight.busy.pipe(
    Effect.andThen(Effect.sleep(SWEEP_INTERVAL)),
    Effect.andThen(Effect.sync(() => inFlight.sweep())),
    Effect.forever,
    Effect.forkScoped
  )
  yield* Effect.addFinalizer(() => terminate(CodexError.make(new CodexError.Closed())))
  yield* Telemetry.trackInFlight(() => inFlight.size)

  // The overload retry starts only after a first -32001, from the answer's handler (the common
  // path has no catch frame): the first error is replayed to the schedule, then each attempt is
  // a request of its own (its -32001 goes back to the schedule), until the schedule gives up.
  const retryOverloaded = (request: PendingRequest, error: JsonRpc.ErrorObject) => {
    const { method, params, settle, timeoutMs } = request
    let replay: Effect.Effect<never, CodexError.CodexError> | undefined = rpcError(method, error)
    return Effect.suspend(() => {
      if (replay === undefined) {
        return Effect.andThen(Telemetry.countOverloadRetry(method), inFlight.call(method, params, timeoutMs, settle, false))
      }
      const first = replay
      replay = undefined
      return first
    }).pipe(
      Effect.retry({ schedule: overloadRetry, while: isOverloaded }),
      Effect.catchIf(isOverloaded, () => fail(new CodexError.Overloaded({ method })))
    )
  }

  const call = (
    method: string,
    params: unknown,
    options: RequestOptions | undefined,
    settle: Settle
  ): Effect.Effect<unknown, CodexError.CodexError> => {
    let timeoutMs = requestTimeout
    if (options?.timeout !== undefined) {
      const timeout = Checks.duration("timeout", options.timeout, Duration.zero, { allowInfinite: true })
      if (Result.isFailure(timeout)) return Effect.fail(timeout.failure)
      timeoutMs = Duration.toMillis(timeout.success)
    }
    return inFlight.call(method, params, timeoutMs, settle)
  }

  const requestRaw = (
    method: string,
    params: unknown,
    options?: RequestOptions
  ): Effect.Effect<unknown, CodexError.CodexError> => call(method, params, options, settleRaw)

  const request = <M extends ClientRequestMethod>(
    method: M,
    params: ClientRequestParamsByMethod[M],
    options?: RequestOptions
  ): Effect.Effect<ClientRequestResponseByMethod[M], CodexError.CodexError> => {
    const codec = codecOf(method)
    let encoded: unknown = params
    if (!codec.exact(params)) {
      const exit = codec.encode(params)
      if (Exit.isFailure(exit)) {
        return fail(new CodexError.ProtocolError({ method, description: `invalid params: ${issueOf(exit)}` }))
      }
      encoded = exit.value
    }
    const effect = call(method, encoded, options, codec.settle) as Effect.Effect<
      ClientRequestResponseByMethod[M],
      CodexError.CodexError
    >
    return requestSpans
      ? Effect.withSpan(effect, "AppServerClient.request", {
        attributes: { "codex.method": method },
        captureStackTrace: false
      })
      : effect
  }

  // Whole batches at a time (a per-element map would cost an Effect per delta); the
  // Terminal marker ends the stream after everything published before it.
  const toStream = (subscription: PubSub.Subscription<Incoming | Terminal>): Stream.Stream<Incoming, CodexError.CodexError> =>
    Stream.fromPull(Effect.sync(() => {
      let ended: CodexError.CodexError | undefined
      return Effect.suspend(() =>
        ended !== undefined ? Effect.fail(ended) : Effect.flatMap(PubSub.takeAll(subscription), (items) => {
          const end = items.findIndex((item) => item._tag === "Terminal")
          if (end === -1) return Effect.succeed(items as unknown as Arr.NonEmptyReadonlyArray<Incoming>)
          ended = (items[end] as Terminal).error
          return end === 0
            ? Effect.fail(ended)
            : Effect.succeed(items.slice(0, end) as unknown as Arr.NonEmptyReadonlyArray<Incoming>)
        })
      )
    }))

  // Counted so the reader publishes nothing while nobody listens.
  const counted = Effect.acquireRelease(
    Effect.sync(() => subscribers++),
    () => Effect.sync(() => subscribers--)
  )
  const subscribe = Effect.suspend(() =>
    failure !== undefined
      ? Effect.succeed(Stream.fail(failure))
      : Effect.andThen(counted, Effect.map(PubSub.subscribe(hub), toStream))
  )

  const experimentalApi = resolved.experimentalApi
  const optOut = resolved.optOutNotificationMethods
  const metadata = yield* request("initialize", {
    clientInfo: resolved.clientInfo,
    capabilities: {
      experimentalApi,
      ...(optOut === undefined ? {} : { optOutNotificationMethods: [...optOut] })
    }
  } as ClientRequestParamsByMethod["initialize"], {
    // initialize is a request like any other, and the start of the connection too
    timeout: Duration.millis(Math.min(resolved.startupTimeoutMs, resolved.requestTimeoutMs))
  })
  yield* send(JsonRpc.encodeNotification("initialized"))

  const register = <H>(list: Array<H>, handler: H) =>
    Effect.acquireRelease(
      Effect.sync(() => list.push(handler)),
      () =>
        Effect.sync(() => {
          const index = list.lastIndexOf(handler)
          if (index >= 0) list.splice(index, 1)
        })
    ).pipe(Effect.asVoid)

  const tap: Tap.Register = (tap) =>
    Effect.suspend(() => {
      // a connection that already ended tells the tap at once, as a subscription would
      if (failure !== undefined) return Effect.sync(() => tap.end(failure!))
      return Effect.asVoid(Effect.acquireRelease(
        Effect.sync(() => {
          taps = [...taps, tap]
        }),
        () =>
          Effect.sync(() => {
            taps = taps.filter((other) => other !== tap)
          })
      ))
    })

  return Tap.attach(AppServerClient.of({
    metadata,
    experimentalApi,
    request,
    requestRaw,
    notify: (method, params) => send(JsonRpc.encodeNotification(method, params)),
    subscribe,
    incoming: Stream.unwrap(subscribe),
    handleServerRequests: (handler) => register(handlers, handler),
    handleUnknownServerRequests: (handler) => register(unknownHandlers, handler),
    listen: (listener) => register(listeners, listener),
    awaitClosed: Deferred.await(closed)
  }), tap)
})

/**
 * A layer of the client over the {@link Transport} in context.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (options?: Options) => Layer.effect(AppServerClient, make(options))
