/**
 * The `Codex` service: threads, models and the account, over an
 * {@link AppServerClient.AppServerClient} connection.
 *
 * Every method is also a module-level accessor:
 *
 * ```ts
 * import { NodeRuntime, NodeServices } from "@effect/platform-node"
 * import { Console, Effect } from "effect"
 * import { AppServer, Codex } from "effect-codex"
 *
 * const program = Effect.gen(function*() {
 *   const thread = yield* Codex.startThread({ model: "gpt-5.4" })
 *   const result = yield* thread.run("Say hello in one sentence.")
 *   yield* Console.log(result.finalResponse)
 * })
 *
 * program.pipe(
 *   Effect.provide(Codex.layer),
 *   Effect.provide(AppServer.layer()),
 *   Effect.provide(NodeServices.layer),
 *   NodeRuntime.runMain
 * )
 * ```
 *
 * `Codex.layer` reads {@link Approvals.Approvals} when it is built: provide it
 * to that layer or around the whole program; without it the safe default
 * (decline) applies.
 *
 * @stability unstable
 * @since 0.1.0
 */
import { Cause, Context, Effect, Layer, Option, type Redacted, Stream } from "effect"
import * as Redact from "effect/Redacted"
import type * as Protocol from "../schema/generated/Protocol.gen.ts"
import { Router } from "../streams/internal/router.ts"
import * as AppServerClient from "./AppServerClient.ts"
import * as Approvals from "./Approvals.ts"
import * as CodexError from "../schema/CodexError.ts"
import * as CodexTool from "./CodexTool.ts"
import * as Thread from "./Thread.ts"

/**
 * The Codex service.
 *
 * @category models
 * @since 0.1.0
 */
export interface Service {
  /** Starts a new thread. */
  readonly startThread: (options?: Thread.StartOptions) => Effect.Effect<Thread.Thread, CodexError.CodexError>
  /** Loads a stored thread (from this or an earlier app-server process) to run turns on it. */
  readonly resumeThread: (
    threadId: string,
    options?: Thread.ResumeOptions
  ) => Effect.Effect<Thread.Thread, CodexError.CodexError>
  /** A new thread with the history of an existing one. */
  readonly forkThread: (
    threadId: string,
    options?: Thread.ForkOptions
  ) => Effect.Effect<Thread.Thread, CodexError.CodexError>
  /** One page of stored threads. */
  readonly listThreads: (
    options?: Protocol.ThreadListParams
  ) => Effect.Effect<Protocol.ThreadListResponse, CodexError.CodexError>
  /** Every stored thread, over all pages. */
  readonly threads: (options?: Omit<Protocol.ThreadListParams, "cursor">) => Stream.Stream<Protocol.Thread, CodexError.CodexError>
  /** Archives a thread. */
  readonly archiveThread: (threadId: string) => Effect.Effect<void, CodexError.CodexError>
  /** Restores an archived thread. */
  readonly unarchiveThread: (threadId: string) => Effect.Effect<Thread.Thread, CodexError.CodexError>
  /** The models this codex offers. */
  readonly models: (options?: Protocol.ModelListParams) => Effect.Effect<Protocol.ModelListResponse, CodexError.CodexError>
  /** The `initialize` response: user agent, codex home, platform. */
  readonly metadata: Effect.Effect<Protocol.InitializeResponse>
  /** The signed-in account, if any. */
  readonly account: Effect.Effect<Protocol.GetAccountResponse, CodexError.CodexError>
  /** Signs in with an API key (stored by codex in its home). */
  readonly loginApiKey: (apiKey: Redacted.Redacted<string>) => Effect.Effect<void, CodexError.CodexError>
  /** Signs out. */
  readonly logout: Effect.Effect<void, CodexError.CodexError>
}

/**
 * The key of the Codex service.
 *
 * @category services
 * @since 0.1.0
 */
export class Codex extends Context.Service<Codex, Service>()("effect-codex/Codex") {}

const invalid = (description: string) => CodexError.make(new CodexError.InvalidOptions({ description }))

const retryWarning = (params: Protocol.ErrorNotification) =>
  Effect.logWarning(`codex: ${params.error.message} (codex retries)`).pipe(
    Effect.annotateLogs({ "codex.thread_id": params.threadId, "codex.turn_id": params.turnId })
  )

/**
 * Builds the service over the client in context: routes the connection's
 * events to turns and answers server requests (approvals, tools) for the life
 * of the Scope.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = Effect.gen(function*() {
  const client = yield* AppServerClient.AppServerClient
  const provided = Option.getOrUndefined(yield* Effect.serviceOption(Approvals.Approvals))
  // a hand-built Approvals service has no plumbing: the safe default answers then
  const plumbing = (provided === undefined ? undefined : Approvals.plumbingOf(provided)) ??
    Approvals.plumbingOf(yield* Approvals.make())!
  const approvals = plumbing.connect()
  const router = new Router()
  const tools = new Map<string, Map<string, CodexTool.Prepared>>()

  // When the connection ends, for whatever reason, nothing tied to it may wait:
  // open turns (result and events) fail with the reason, pending approvals are dropped.
  // Approvals first: failing a turn may resume its waiters synchronously, and
  // they must find the approvals already dropped.
  const end = (error: CodexError.CodexError) => {
    approvals.closeUnsafe()
    router.failAll(error)
  }
  // Closing this layer's Scope ends the connection for its turns even though the
  // client (a layer below) is still up: the router fiber is interrupted first and
  // would never see the client's own end.
  yield* Effect.addFinalizer(() => Effect.sync(() => end(CodexError.make(new CodexError.Closed()))))

  const events = yield* client.subscribe
  // Batches are routed synchronously; only approvals bookkeeping and logs need Effects.
  const routeBatch = (batch: ReadonlyArray<AppServerClient.Incoming>): Effect.Effect<void> => {
    let pending: Array<Effect.Effect<void>> | undefined
    for (const incoming of batch) {
      if (incoming._tag === "ServerRequest") {
        // registered before the turn's stream shows it, so a UI can answer at once
        approvals.prepareUnsafe(incoming)
      }
      router.route(incoming)
      if (incoming._tag === "Notification") {
        if (incoming.method === "serverRequest/resolved") {
          ;(pending ??= []).push(approvals.settle(incoming.params.requestId))
        } else if (incoming.method === "error" && incoming.params.willRetry) {
          // codex retries on its own (no credentials, no network, 5xx): say why the program waits
          ;(pending ??= []).push(retryWarning(incoming.params))
        }
      }
    }
    return pending === undefined ? Effect.void : Effect.forEach(pending, (effect) => effect, { discard: true })
  }
  yield* events.pipe(
    Stream.runForEachArray(routeBatch),
    Effect.catchCause((cause) => {
      if (Cause.hasInterruptsOnly(cause)) return Effect.void
      const error = Cause.findErrorOption(cause)
      if (Option.isSome(error)) return Effect.sync(() => end(error.value))
      // a defect here must not leave every open turn waiting for events that will never be routed
      return Effect.logError("codex: routing events failed; open turns are failed", cause).pipe(
        Effect.andThen(Effect.sync(() =>
          end(CodexError.make(new CodexError.ProtocolError({ description: `routing events failed: ${Cause.pretty(cause)}` })))
        ))
      )
    }),
    Effect.forkScoped
  )

  yield* client.handleServerRequests((request) => {
    if (request.method === "item/tool/call") {
      const tool = tools.get(request.params.threadId)?.get(request.params.tool)
      return Effect.map(
        tool === undefined
          ? Effect.succeed({
            contentItems: [{ type: "inputText" as const, text: `No tool named ${request.params.tool} on this client` }],
            success: false
          })
          : tool.call(request.params.arguments),
        (result) => Option.some({ _tag: "Result" as const, result })
      )
    }
    return approvals.handle(request)
  })
  // codex up to 0.169 asks the client for the time (`currentTime/read`, whole Unix seconds); 0.171 dropped the
  // method from the protocol, so it is answered by name for the servers that still send it.
  yield* client.handleUnknownServerRequests((request) =>
    Effect.succeed(
      request.method === "currentTime/read"
        ? Option.some({ _tag: "Result" as const, result: { currentTimeAt: Math.floor(Date.now() / 1000) } })
        : Option.none()
    )
  )

  const prepareTools = (list: ReadonlyArray<CodexTool.Any> | undefined) =>
    Effect.gen(function*() {
      if (list === undefined || list.length === 0) return undefined
      if (!client.experimentalApi) {
        return yield* invalid("client tools need the experimental API: build AppServer.layer with experimentalApi: true")
      }
      const names = new Set<string>()
      for (const tool of list) {
        if (names.has(tool.name)) return yield* invalid(`two tools are named ${tool.name}`)
        names.add(tool.name)
      }
      return yield* Effect.forEach(list, CodexTool.prepare)
    })

  const register = (threadId: string, prepared: ReadonlyArray<CodexTool.Prepared> | undefined) => {
    if (prepared !== undefined) tools.set(threadId, new Map(prepared.map((tool) => [tool.spec.name, tool])))
  }

  const session: Thread.Session = {
    client,
    router,
    forkThread: (threadId, options) => forkThread(threadId, options),
    archiveThread: (threadId) => archiveThread(threadId)
  }

  const startThread = Effect.fn("Codex.startThread")(function*(options: Thread.StartOptions = {}) {
    const { tools: list, ...params } = options
    const prepared = yield* prepareTools(list)
    const response = yield* client.request("thread/start", {
      ...params,
      ...(prepared === undefined ? {} : { dynamicTools: prepared.map((tool) => tool.spec) })
    })
    register(response.thread.id, prepared)
    return Thread.make(session, response.thread)
  })

  const resumeThread = Effect.fn("Codex.resumeThread")(
    function*(threadId: string, options: Thread.ResumeOptions = {}) {
      const { tools: list, ...params } = options
      const prepared = yield* prepareTools(list)
      const response = yield* client.request("thread/resume", { ...params, threadId })
      register(response.thread.id, prepared)
      return Thread.make(session, response.thread)
    }
  )

  const forkThread = Effect.fn("Codex.forkThread")(function*(threadId: string, options: Thread.ForkOptions = {}) {
    const { tools: list, ...params } = options
    const prepared = yield* prepareTools(list)
    const response = yield* client.request("thread/fork", { ...params, threadId })
    // A fork keeps the tools of its source unless others are given.
    const inherited = tools.get(threadId)
    if (prepared !== undefined) register(response.thread.id, prepared)
    else if (inherited !== undefined) tools.set(response.thread.id, inherited)
    return Thread.make(session, response.thread)
  })

  const archiveThread = Effect.fn("Codex.archiveThread")(function*(threadId: string) {
    yield* client.request("thread/archive", { threadId })
  })

  const unarchiveThread = Effect.fn("Codex.unarchiveThread")(function*(threadId: string) {
    yield* client.request("thread/unarchive", { threadId })
    // codex unloads archived threads: load it again so the handle can run turns
    const response = yield* client.request("thread/resume", { threadId })
    return Thread.make(session, response.thread)
  })

  const listThreads = Effect.fn("Codex.listThreads")(function*(options: Protocol.ThreadListParams = {}) {
    return yield* client.request("thread/list", options)
  })

  return Codex.of({
    startThread,
    resumeThread,
    forkThread,
    listThreads,
    threads: (options = {}) =>
      Stream.paginate(undefined as string | undefined, (cursor) =>
        Effect.map(
          listThreads(cursor === undefined ? options : { ...options, cursor }),
          (page) =>
            [
              page.data,
              page.nextCursor === undefined || page.nextCursor === null || page.data.length === 0
                ? Option.none()
                : Option.some(page.nextCursor)
            ] as const
        )),
    archiveThread,
    unarchiveThread,
    models: Effect.fn("Codex.models")(function*(options: Protocol.ModelListParams = {}) {
      return yield* client.request("model/list", options)
    }),
    metadata: Effect.succeed(client.metadata),
    account: client.request("account/read", {}).pipe(Effect.withSpan("Codex.account")),
    loginApiKey: Effect.fn("Codex.loginApiKey")(function*(apiKey: Redacted.Redacted<string>) {
      yield* client.request("account/login/start", { type: "apiKey", apiKey: Redact.value(apiKey) })
    }),
    logout: client.request("account/logout", undefined).pipe(Effect.asVoid, Effect.withSpan("Codex.logout"))
  })
})

/**
 * The Codex service over the {@link AppServerClient.AppServerClient} in
 * context. Reads {@link Approvals.Approvals} if provided.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer: Layer.Layer<Codex, never, AppServerClient.AppServerClient> = Layer.effect(Codex, make)

/**
 * Starts a new thread.
 *
 * @category accessors
 * @since 0.1.0
 */
export const startThread = (options?: Thread.StartOptions): Effect.Effect<Thread.Thread, CodexError.CodexError, Codex> =>
  Codex.use((codex) => codex.startThread(options))

/**
 * Loads a stored thread to run turns on it.
 *
 * @category accessors
 * @since 0.1.0
 */
export const resumeThread = (
  threadId: string,
  options?: Thread.ResumeOptions
): Effect.Effect<Thread.Thread, CodexError.CodexError, Codex> => Codex.use((codex) => codex.resumeThread(threadId, options))

/**
 * Forks a thread.
 *
 * @category accessors
 * @since 0.1.0
 */
export const forkThread = (
  threadId: string,
  options?: Thread.ForkOptions
): Effect.Effect<Thread.Thread, CodexError.CodexError, Codex> => Codex.use((codex) => codex.forkThread(threadId, options))

/**
 * One page of stored threads.
 *
 * @category accessors
 * @since 0.1.0
 */
export const listThreads = (
  options?: Protocol.ThreadListParams
): Effect.Effect<Protocol.ThreadListResponse, CodexError.CodexError, Codex> =>
  Codex.use((codex) => codex.listThreads(options))

/**
 * Every stored thread, over all pages.
 *
 * @category accessors
 * @since 0.1.0
 */
export const threads = (
  options?: Omit<Protocol.ThreadListParams, "cursor">
): Stream.Stream<Protocol.Thread, CodexError.CodexError, Codex> =>
  Stream.unwrap(Codex.use((codex) => Effect.succeed(codex.threads(options))))

/**
 * Archives a thread.
 *
 * @category accessors
 * @since 0.1.0
 */
export const archiveThread = (threadId: string): Effect.Effect<void, CodexError.CodexError, Codex> =>
  Codex.use((codex) => codex.archiveThread(threadId))

/**
 * Restores an archived thread.
 *
 * @category accessors
 * @since 0.1.0
 */
export const unarchiveThread = (threadId: string): Effect.Effect<Thread.Thread, CodexError.CodexError, Codex> =>
  Codex.use((codex) => codex.unarchiveThread(threadId))

/**
 * The models this codex offers.
 *
 * @category accessors
 * @since 0.1.0
 */
export const models = (
  options?: Protocol.ModelListParams
): Effect.Effect<Protocol.ModelListResponse, CodexError.CodexError, Codex> => Codex.use((codex) => codex.models(options))

/**
 * The `initialize` response.
 *
 * @category accessors
 * @since 0.1.0
 */
export const metadata: Effect.Effect<Protocol.InitializeResponse, never, Codex> = Codex.use((codex) => codex.metadata)

/**
 * The signed-in account, if any.
 *
 * @category accessors
 * @since 0.1.0
 */
export const account: Effect.Effect<Protocol.GetAccountResponse, CodexError.CodexError, Codex> = Codex.use((codex) =>
  codex.account
)

/**
 * Signs in with an API key.
 *
 * @category accessors
 * @since 0.1.0
 */
export const loginApiKey = (apiKey: Redacted.Redacted<string>): Effect.Effect<void, CodexError.CodexError, Codex> =>
  Codex.use((codex) => codex.loginApiKey(apiKey))

/**
 * Signs out.
 *
 * @category accessors
 * @since 0.1.0
 */
export const logout: Effect.Effect<void, CodexError.CodexError, Codex> = Codex.use((codex) => codex.logout)
