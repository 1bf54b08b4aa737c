/**
 * How the program answers codex when it asks: run this command? change these
 * files? widen permissions? answer this MCP server? answer the user's question?
 *
 * Safe by default: without an `Approvals` layer every command execution, file
 * change and permission request is declined (not cancelled: `cancel` would
 * interrupt the turn), MCP elicitations are cancelled and user-input requests
 * get no answers. Nothing is ever accepted by default.
 *
 * Each handler is `(params) => Effect<decision>` with the protocol's typed
 * params and decision. A handler that fails, dies or does not answer within
 * `timeout` gets the default answer, and the turn goes on. Handlers run off the
 * connection's reader fiber, so many requests may be pending at once.
 *
 * ```ts
 * import { Effect } from "effect"
 * import { Approvals, Codex } from "effect-codex"
 *
 * // accept read-only git commands, decline everything else
 * const approvals = Approvals.layer({
 *   commandExecution: Approvals.acceptCommandsMatching(/^git (status|diff|log)\b/),
 *   timeout: "30 seconds"
 * })
 *
 * const CodexLive = Codex.layer.pipe(Layer.provide(approvals))
 * ```
 *
 * For approvals answered from elsewhere (a web UI), use {@link manual}: the
 * request shows up in the turn's events as `ApprovalRequested`, and
 * {@link respond} answers it by `requestId`.
 *
 * @since 0.1.0
 */
import { Cause, Context, Deferred, Duration, Effect, Layer, Option, Predicate } from "effect"
import type * as Protocol from "../schema/generated/Protocol.gen.ts"
import * as Shell from "../schema/internal/shell.ts"
import type { RequestId } from "../schema/JsonRpc.ts"
import type * as AppServerClient from "./AppServerClient.ts"

/**
 * Context given to a handler with the params: which request this is.
 *
 * @category models
 * @since 0.1.0
 */
export interface RequestInfo {
  readonly requestId: RequestId
  readonly method: string
}

/**
 * A handler: params in, decision out. Failures and defects become the default
 * answer (logged).
 *
 * @category models
 * @since 0.1.0
 */
export type Handler<P, D, R = never> = (params: P, request: RequestInfo) => Effect.Effect<D, unknown, R>

const ManualTypeId = "~effect-codex/Approvals/Manual" as const

/**
 * A handler that waits for {@link respond} (or the timeout).
 *
 * @category models
 * @since 0.1.0
 */
export interface Manual {
  readonly [ManualTypeId]: typeof ManualTypeId
}

/**
 * Leaves the request for the program to answer later with {@link respond}
 * (for example from a web handler), within `timeout`.
 *
 * @category handlers
 * @since 0.1.0
 */
export const manual: Manual = { [ManualTypeId]: ManualTypeId }

const isManual = (u: unknown): u is Manual => Predicate.hasProperty(u, ManualTypeId)

/**
 * The handlers of {@link layer}; each may be a function or {@link manual}.
 *
 * @category models
 * @since 0.1.0
 */
export interface Handlers<R = never> {
  readonly commandExecution?:
    | Handler<Protocol.CommandExecutionRequestApprovalParams, Protocol.CommandExecutionApprovalDecision, R>
    | Manual
    | undefined
  readonly fileChange?:
    | Handler<Protocol.FileChangeRequestApprovalParams, Protocol.FileChangeApprovalDecision, R>
    | Manual
    | undefined
  readonly permissions?:
    | Handler<Protocol.PermissionsRequestApprovalParams, Protocol.PermissionsRequestApprovalResponse, R>
    | Manual
    | undefined
  readonly elicitation?:
    | Handler<Protocol.McpServerElicitationRequestParams, Protocol.McpServerElicitationRequestResponse, R>
    | Manual
    | undefined
  readonly userInput?:
    | Handler<Protocol.ToolRequestUserInputParams, Protocol.ToolRequestUserInputResponse, R>
    | Manual
    | undefined
  /** How long a request may wait for its answer before it gets the default one. Default: no limit. */
  readonly timeout?: Duration.Input | undefined
}

/**
 * A request waiting for {@link respond}.
 *
 * @category models
 * @since 0.1.0
 */
export interface PendingRequest {
  readonly requestId: RequestId
  readonly method: string
  readonly params: unknown
}

/**
 * The approvals service: what a program needs to answer requests left to
 * {@link manual}. Build it with {@link make} or {@link layer}; the plumbing
 * that connects it to a connection is internal.
 *
 * @category models
 * @since 0.1.0
 */
export interface Service {
  /**
   * Answers a request left to {@link manual}, with the protocol's response for
   * its method (`{ decision: "accept" }` for a command approval). `false` when
   * nothing is waiting on that id (never asked, already answered, or its
   * connection ended).
   */
  readonly respond: (requestId: RequestId, response: unknown) => Effect.Effect<boolean>
  /** The requests waiting for {@link respond}. */
  readonly pending: Effect.Effect<ReadonlyArray<PendingRequest>>
}

/**
 * What a connection needs from the service. Kept off {@link Service} so
 * whoever builds approvals never implements it.
 *
 * @internal
 */
export interface Plumbing {
  /** Joins a connection: its requests are answered and tracked apart from other connections'. */
  readonly connect: () => Connection
}

/**
 * One connection's view of the service.
 *
 * @internal
 */
export interface Connection {
  /** Answers a server request this service handles; `None` for others. */
  readonly handle: (
    request: AppServerClient.ServerRequest
  ) => Effect.Effect<Option.Option<AppServerClient.ServerRequestAnswer>>
  /**
   * Registers a request left to {@link manual} as pending, before the request
   * is shown to anyone (so `respond` right after `ApprovalRequested` finds
   * it). Other requests are ignored.
   */
  readonly prepareUnsafe: (request: AppServerClient.ServerRequest) => void
  /** Settles a pending manual request with its default answer (codex resolved it). */
  readonly settle: (requestId: RequestId) => Effect.Effect<void>
  /**
   * The connection ended: its pending requests are dropped (no answer could
   * reach codex), so `pending` no longer lists them and `respond` returns `false`.
   */
  readonly closeUnsafe: () => void
}

const plumbings = new WeakMap<Service, Plumbing>()

/**
 * The plumbing of a service built by {@link make}; `undefined` for a service
 * built by hand (it then gets the safe default answers).
 *
 * @internal
 */
export const plumbingOf = (service: Service): Plumbing | undefined => plumbings.get(service)

/**
 * The key of the approvals service.
 *
 * @category services
 * @since 0.1.0
 */
export class Approvals extends Context.Service<Approvals, Service>()("effect-codex/Approvals") {}

const decline = { decision: "decline" } as const
const legacyDenied = { decision: { denied: { rejection: "declined by the client" } } } as const

/**
 * The answer given when nobody else answers: declines, grants nothing,
 * cancels elicitations, gives no user input.
 *
 * @category defaults
 * @since 0.1.0
 */
export const defaultResponse = (method: string): unknown => {
  switch (method) {
    case "item/commandExecution/requestApproval":
    case "item/fileChange/requestApproval":
      return decline
    case "item/permissions/requestApproval":
      return { permissions: {}, scope: "turn" }
    case "mcpServer/elicitation/request":
      return { action: "cancel", content: null }
    case "item/tool/requestUserInput":
      return { answers: {} }
    case "applyPatchApproval":
    case "execCommandApproval":
      return legacyDenied
    default:
      return undefined
  }
}

type AnyHandler = Handler<any, any, any> | Manual | undefined

// The requests this service answers: exactly those with a default answer.
const isHandled = (method: string): boolean => defaultResponse(method) !== undefined

// The legacy approvals mean the same as the v2 ones; their answers are translated.
const toReviewDecision = (decision: unknown): Protocol.ReviewDecision => {
  switch (decision) {
    case "accept":
      return "approved"
    case "acceptForSession":
      return "approved_for_session"
    case "cancel":
      return "abort"
    default:
      if (Predicate.isObject(decision) && "acceptWithExecpolicyAmendment" in decision) {
        const amendment = (decision as { acceptWithExecpolicyAmendment: { execpolicy_amendment: ReadonlyArray<string> } })
          .acceptWithExecpolicyAmendment.execpolicy_amendment
        return { approved_execpolicy_amendment: { proposed_execpolicy_amendment: amendment } }
      }
      return legacyDenied.decision
  }
}

/**
 * Builds the service from handlers, capturing the context they need.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = <R = never>(handlers: Handlers<R> = {}): Effect.Effect<Service, never, R> =>
  Effect.map(Effect.context<R>(), (context) => {
    const timeout = handlers.timeout === undefined ? undefined : Duration.fromInputUnsafe(handlers.timeout)

    const handlerFor = (method: string): { handler: AnyHandler; wrap: (decision: unknown) => unknown } => {
      switch (method) {
        case "item/commandExecution/requestApproval":
          return { handler: handlers.commandExecution, wrap: (decision) => ({ decision }) }
        case "item/fileChange/requestApproval":
          return { handler: handlers.fileChange, wrap: (decision) => ({ decision }) }
        case "execCommandApproval":
          return {
            handler: adaptLegacyExec(handlers.commandExecution),
            wrap: (decision) => ({ decision: toReviewDecision(decision) })
          }
        case "applyPatchApproval":
          return {
            handler: adaptLegacyPatch(handlers.fileChange),
            wrap: (decision) => ({ decision: toReviewDecision(decision) })
          }
        case "item/permissions/requestApproval":
          return { handler: handlers.permissions, wrap: (response) => response }
        case "mcpServer/elicitation/request":
          return { handler: handlers.elicitation, wrap: (response) => response }
        default:
          return { handler: handlers.userInput, wrap: (response) => response }
      }
    }

    // One map per connection: request ids are only unique within a connection,
    // and a connection that ends drops its own requests, not another's.
    const connections = new Set<Map<RequestId, Waiting>>()

    // Entries are made when the request is first seen (`prepareUnsafe`, called
    // before the request reaches any turn stream) or when its handler runs,
    // whichever comes first, so `respond` right after `ApprovalRequested` finds it.
    const entryFor = (waiting: Map<RequestId, Waiting>, request: AppServerClient.ServerRequest): Waiting => {
      let entry = waiting.get(request.id)
      if (entry === undefined) {
        entry = {
          info: { requestId: request.id, method: request.method, params: request.params },
          deferred: Deferred.makeUnsafe<unknown>(),
          answered: false
        }
        waiting.set(request.id, entry)
      }
      return entry
    }

    const awaitManual = (waiting: Map<RequestId, Waiting>, request: AppServerClient.ServerRequest) =>
      Effect.acquireUseRelease(
        Effect.sync(() => entryFor(waiting, request).deferred),
        Deferred.await,
        () => Effect.sync(() => waiting.delete(request.id))
      )

    const answer = (entry: Waiting | undefined, response: (method: string) => unknown) =>
      Effect.suspend(() => {
        if (entry === undefined || entry.answered) return Effect.succeed(false)
        entry.answered = true
        return Effect.as(Deferred.succeed(entry.deferred, response(entry.info.method)), true)
      })

    const answerOf = (waiting: Map<RequestId, Waiting>, request: AppServerClient.ServerRequest): Effect.Effect<unknown> => {
      const fallback = defaultResponse(request.method)
      const { handler, wrap } = handlerFor(request.method)
      if (handler === undefined) return Effect.succeed(fallback)
      const run: Effect.Effect<unknown, unknown> = isManual(handler)
        ? awaitManual(waiting, request)
        : (Effect.suspend(() => handler(request.params, { requestId: request.id, method: request.method })).pipe(
          Effect.map(wrap),
          Effect.provideContext(context)
        ) as Effect.Effect<unknown, unknown>)
      const bounded = timeout === undefined ? run : run.pipe(
        Effect.timeoutOrElse({
          duration: timeout,
          orElse: () =>
            Effect.logWarning(`codex: ${request.method} not answered within ${Duration.format(timeout)}; declined`)
              .pipe(Effect.as(fallback))
        })
      )
      return bounded.pipe(
        Effect.catchCause((cause) =>
          Cause.hasInterruptsOnly(cause) ? Effect.interrupt : Effect.logWarning(
            `codex: the ${request.method} handler failed; declined`,
            cause
          ).pipe(Effect.as(fallback))
        )
      )
    }

    const find = (requestId: RequestId): Waiting | undefined => {
      for (const waiting of connections) {
        const entry = waiting.get(requestId)
        if (entry !== undefined && !entry.answered) return entry
      }
      return undefined
    }

    const service = Approvals.of({
      respond: (requestId, response) =>
        Effect.suspend(() =>
          answer(find(requestId), (method) => unwrapFor(method, response, handlerFor(method).wrap))
        ),
      pending: Effect.sync(() => {
        const out: Array<PendingRequest> = []
        for (const waiting of connections) {
          for (const entry of waiting.values()) if (!entry.answered) out.push(entry.info)
        }
        return out
      })
    })
    plumbings.set(service, {
      connect: () => {
        const waiting = new Map<RequestId, Waiting>()
        connections.add(waiting)
        let closed = false
        return {
          handle: (request) =>
            isHandled(request.method)
              ? Effect.map(answerOf(waiting, request), (result) => Option.some({ _tag: "Result" as const, result }))
              : Effect.succeedNone,
          prepareUnsafe: (request) => {
            if (!closed && isManual(handlerFor(request.method).handler) && isHandled(request.method)) {
              entryFor(waiting, request)
            }
          },
          settle: (requestId) => Effect.asVoid(Effect.suspend(() => answer(waiting.get(requestId), defaultResponse))),
          closeUnsafe: () => {
            closed = true
            connections.delete(waiting)
            for (const entry of waiting.values()) {
              if (entry.answered) continue
              entry.answered = true
              // the handler's fiber ends with the default answer, which the closed connection drops
              Deferred.doneUnsafe(entry.deferred, Effect.succeed(defaultResponse(entry.info.method)))
            }
            waiting.clear()
          }
        }
      }
    })
    return service
  })

interface Waiting {
  readonly info: PendingRequest
  readonly deferred: Deferred.Deferred<unknown>
  answered: boolean
}

// `respond` takes the protocol response of the v2 method; legacy methods get it translated.
const unwrapFor = (method: string, response: unknown, wrap: (decision: unknown) => unknown): unknown =>
  method === "execCommandApproval" || method === "applyPatchApproval"
    ? wrap(Predicate.hasProperty(response, "decision") ? response.decision : response)
    : response

const adaptLegacyExec = (handler: AnyHandler): AnyHandler => {
  if (handler === undefined || isManual(handler)) return handler
  return (params: Protocol.ExecCommandApprovalParams, request) =>
    handler({
      threadId: params.conversationId,
      turnId: "",
      itemId: params.callId,
      command: params.command.join(" "),
      cwd: params.cwd,
      reason: params.reason ?? null,
      startedAtMs: Date.now()
    } as unknown as Protocol.CommandExecutionRequestApprovalParams, request)
}

const adaptLegacyPatch = (handler: AnyHandler): AnyHandler => {
  if (handler === undefined || isManual(handler)) return handler
  return (params: Protocol.ApplyPatchApprovalParams, request) =>
    handler({
      threadId: params.conversationId,
      turnId: "",
      itemId: params.callId,
      reason: params.reason ?? null,
      grantRoot: params.grantRoot ?? null,
      startedAtMs: Date.now()
    } as unknown as Protocol.FileChangeRequestApprovalParams, request)
}

/**
 * Approvals from handlers. The context the handlers need is captured when
 * the layer is built.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = <R = never>(handlers: Handlers<R>): Layer.Layer<Approvals, never, R> =>
  Layer.effect(Approvals, make(handlers))

/**
 * The safe default: decline commands, file changes and permissions; cancel
 * elicitations; no user input.
 *
 * @category layers
 * @since 0.1.0
 */
export const declineAll: Layer.Layer<Approvals> = layer({})

/**
 * Accepts every command and file change, grants requested permissions for the
 * turn. Only for sandboxes you trust.
 *
 * @category layers
 * @since 0.1.0
 */
export const dangerouslyAcceptAll: Layer.Layer<Approvals> = layer({
  commandExecution: () => Effect.succeed("accept"),
  fileChange: () => Effect.succeed("accept"),
  permissions: (params) =>
    Effect.succeed({ permissions: params.permissions as Protocol.GrantedPermissionProfile, scope: "turn" })
})

/**
 * Answers a request left to {@link manual}. `false` when nothing waits on it.
 *
 * @category accessors
 * @since 0.1.0
 */
export const respond = (requestId: RequestId, response: unknown): Effect.Effect<boolean, never, Approvals> =>
  Approvals.use((approvals) => approvals.respond(requestId, response))

/**
 * The requests waiting for {@link respond}.
 *
 * @category accessors
 * @since 0.1.0
 */
export const pending: Effect.Effect<ReadonlyArray<PendingRequest>, never, Approvals> = Approvals.use((approvals) =>
  approvals.pending
)

/**
 * Always gives `decision`.
 *
 * @category handlers
 * @since 0.1.0
 */
export const always = <D>(decision: D): Handler<unknown, D> => () => Effect.succeed(decision)

/**
 * Gives `accept` when `predicate` holds, otherwise defers to `otherwise`
 * (default: decline).
 *
 * @category handlers
 * @since 0.1.0
 */
export const acceptIf = <P, D, R = never>(
  predicate: (params: P) => boolean,
  otherwise: Handler<P, D, R> = always("decline" as D)
): Handler<P, D | "accept", R> =>
(params, request) => predicate(params) ? Effect.succeed("accept" as const) : otherwise(params, request)

/**
 * Accepts commands whose text matches one of the patterns (or the predicate),
 * otherwise defers to `otherwise` (default: decline). The command is the
 * shell command line codex shows (`/bin/bash -lc '...'` wrappers are looked
 * through).
 *
 * @category handlers
 * @since 0.1.0
 */
export const acceptCommandsMatching = <R = never>(
  match: RegExp | ReadonlyArray<RegExp> | ((command: string) => boolean),
  otherwise?: Handler<Protocol.CommandExecutionRequestApprovalParams, Protocol.CommandExecutionApprovalDecision, R>
): Handler<Protocol.CommandExecutionRequestApprovalParams, Protocol.CommandExecutionApprovalDecision, R> => {
  const test = typeof match === "function"
    ? match
    : (command: string) => (match instanceof RegExp ? [match] : match).some((pattern) => pattern.test(command))
  return acceptIf(
    (params) => params.command !== undefined && params.command !== null && test(unwrapShell(params.command)),
    otherwise ?? always<Protocol.CommandExecutionApprovalDecision>("decline")
  )
}

/**
 * The command inside a `/bin/bash -lc '<command>'` wrapper, or the command as is.
 *
 * @category utils
 * @since 0.1.0
 */
export const unwrapShell: (command: string) => string = Shell.unwrapShell

/**
 * Commands that only read: `git status|diff|log|show|branch`, `ls`, `cat`,
 * `pwd`, `head`, `tail`, `wc`, `rg`, `grep`, `find` (no `-exec`/`-delete`).
 * No pipes, redirections or command chaining.
 *
 * @category utils
 * @since 0.1.0
 */
export const isReadOnlyCommand = (command: string): boolean => {
  const inner = unwrapShell(command)
  if (/[;&|><`$]/.test(inner)) return false
  if (/^find\b/.test(inner)) return !/\s-(exec|execdir|delete|ok|fprint)/.test(inner)
  return /^(git (status|diff|log|show|branch)\b|ls\b|cat\b|pwd$|head\b|tail\b|wc\b|rg\b|grep\b)/.test(inner)
}
