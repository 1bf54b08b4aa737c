/**
 * The `Codex` service: threads, models and the account, over an
 * {@link AppServerClient.AppServerClient} connection, and the rest of the
 * server: commands outside a turn, stored history, usage and rate limits,
 * configuration, skills, MCP servers, file search and feedback.
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
import {
  Cause, Context, Effect, Layer, Option, type Redacted, Redacted as Redact, type Schema, type Scope, Stream
} from "../schema/internal/effect.ts"
import type * as Protocol from "../schema/generated/Protocol.gen.ts"
import { Router } from "../streams/internal/router.ts"
import * as AppServerClient from "./AppServerClient.ts"
import * as Approvals from "./Approvals.ts"
import * as CodexError from "../schema/CodexError.ts"
import * as Incoming from "../schema/Incoming.ts"
import * as CodexTool from "./CodexTool.ts"
import type * as Command from "./Command.ts"
import * as History from "./internal/history.ts"
import * as ServerOps from "./internal/serverOps.ts"
import * as Tap from "./internal/tap.ts"
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

  // --- Commands outside a turn ------------------------------------------------

  /**
   * Runs an argv vector under codex's sandbox, outside any turn
   * (`command/exec`), with its output streamed; the handle's Scope closing
   * before the process exits terminates it. See {@link Command.Command}.
   */
  readonly command: (
    argv: ReadonlyArray<string>,
    options?: Command.Options
  ) => Effect.Effect<Command.Command, CodexError.CodexError, Scope.Scope>
  /**
   * Runs an argv vector to its exit and returns codex's answer: exit code and
   * the buffered stdout and stderr (capped by codex, 1 MiB each by default).
   * Interrupting the fiber terminates the process.
   */
  readonly exec: (
    argv: ReadonlyArray<string>,
    options?: Command.ExecOptions
  ) => Effect.Effect<Protocol.CommandExecResponse, CodexError.CodexError>

  // --- Loaded threads and stored history, by id --------------------------------

  /** One page of the ids of the threads loaded in this app-server. */
  readonly listLoadedThreads: (
    options?: Protocol.ThreadLoadedListParams
  ) => Effect.Effect<Protocol.ThreadLoadedListResponse, CodexError.CodexError>
  /** The ids of every thread loaded in this app-server, over all pages. */
  readonly loadedThreads: (
    options?: Omit<Protocol.ThreadLoadedListParams, "cursor">
  ) => Stream.Stream<string, CodexError.CodexError>
  /** Deletes a thread and its stored history. */
  readonly deleteThread: (threadId: string) => Effect.Effect<void, CodexError.CodexError>
  /**
   * Stops this connection's subscription to a thread's events (see
   * `thread.unsubscribe`); `resumeThread` subscribes again.
   */
  readonly unsubscribeThread: (
    threadId: string
  ) => Effect.Effect<Protocol.ThreadUnsubscribeResponse, CodexError.CodexError>
  /** One page of a thread's stored turns, loaded or not (newest first by default). */
  readonly listTurns: (
    threadId: string,
    options?: Omit<Protocol.ThreadTurnsListParams, "threadId">
  ) => Effect.Effect<Protocol.ThreadTurnsListResponse, CodexError.CodexError>
  /** Every stored turn of a thread, over all pages. */
  readonly turns: (
    threadId: string,
    options?: Omit<Protocol.ThreadTurnsListParams, "threadId" | "cursor">
  ) => Stream.Stream<Protocol.Turn, CodexError.CodexError>
  /** One page of a thread's stored items (oldest first by default). */
  readonly listItems: (
    threadId: string,
    options?: Omit<Protocol.ThreadItemsListParams, "threadId">
  ) => Effect.Effect<Protocol.ThreadItemsListResponse, CodexError.CodexError>
  /** Every stored item of a thread, over all pages. */
  readonly items: (
    threadId: string,
    options?: Omit<Protocol.ThreadItemsListParams, "threadId" | "cursor">
  ) => Stream.Stream<Protocol.ThreadItemEntry, CodexError.CodexError>

  // --- Usage and limits ------------------------------------------------------

  /**
   * The account's rate limits (`account/rateLimits/read`). Needs a ChatGPT
   * sign-in: with an API key or none, codex answers RpcError
   * "codex account authentication required to read rate limits".
   */
  readonly rateLimits: (
    options?: Protocol.GetAccountRateLimitsParams
  ) => Effect.Effect<Protocol.GetAccountRateLimitsResponse, CodexError.CodexError>
  /** The account's token usage, or one thread's (`account/usage/read`); needs a ChatGPT sign-in too. */
  readonly usage: (
    options?: Protocol.GetAccountTokenUsageParams
  ) => Effect.Effect<Protocol.GetAccountTokenUsageResponse, CodexError.CodexError>
  /**
   * Every `account/rateLimits/updated` codex sends while the stream runs
   * (after each model response): the snapshot to watch.
   */
  readonly rateLimitUpdates: Stream.Stream<Protocol.RateLimitSnapshot, CodexError.CodexError>

  // --- Configuration and environment -----------------------------------------

  /** The effective configuration (`config/read`), with its layers if `includeLayers`. */
  readonly readConfig: (
    options?: Protocol.ConfigReadParams
  ) => Effect.Effect<Protocol.ConfigReadResponse, CodexError.CodexError>
  /**
   * Writes one value to codex's `config.toml` (`config/value/write`; dotted
   * `keyPath`, `mergeStrategy` `"replace"` unless given).
   */
  readonly writeConfig: (
    keyPath: string,
    value: Schema.Json,
    options?: Omit<Protocol.ConfigValueWriteParams, "keyPath" | "value" | "mergeStrategy"> & {
      readonly mergeStrategy?: Protocol.MergeStrategy | undefined
    }
  ) => Effect.Effect<Protocol.ConfigWriteResponse, CodexError.CodexError>
  /** Writes several values at once (`config/batchWrite`; each `mergeStrategy` `"replace"` unless given). */
  readonly writeConfigBatch: (
    edits: ReadonlyArray<
      Omit<Protocol.ConfigEdit, "mergeStrategy"> & { readonly mergeStrategy?: Protocol.MergeStrategy | undefined }
    >,
    options?: Omit<Protocol.ConfigBatchWriteParams, "edits">
  ) => Effect.Effect<Protocol.ConfigWriteResponse, CodexError.CodexError>
  /**
   * The skills codex finds for working directories (`skills/list`): its
   * system skills, `$CODEX_HOME/skills`, and a repository's `.codex/skills`
   * and `.agents/skills`. Pass an entry to `Input.skillFrom`.
   */
  readonly skills: (options?: Protocol.SkillsListParams) => Effect.Effect<Protocol.SkillsListResponse, CodexError.CodexError>
  /** One page of the configured MCP servers with their tools, resources and status (`mcpServerStatus/list`). */
  readonly listMcpServers: (
    options?: Protocol.ListMcpServerStatusParams
  ) => Effect.Effect<Protocol.ListMcpServerStatusResponse, CodexError.CodexError>
  /** Every configured MCP server, over all pages. */
  readonly mcpServers: (
    options?: Omit<Protocol.ListMcpServerStatusParams, "cursor">
  ) => Stream.Stream<Protocol.McpServerStatus, CodexError.CodexError>
  /** Calls a tool of an MCP server through a loaded thread's connection to it (`mcpServer/tool/call`). */
  readonly callMcpTool: (
    params: Protocol.McpServerToolCallParams
  ) => Effect.Effect<Protocol.McpServerToolCallResponse, CodexError.CodexError>
  /** Reads a resource of an MCP server (`mcpServer/resource/read`). */
  readonly readMcpResource: (
    params: Protocol.McpResourceReadParams
  ) => Effect.Effect<Protocol.McpResourceReadResponse, CodexError.CodexError>
  /** Fuzzy-matches file paths under `roots` (`fuzzyFileSearch`), best first. */
  readonly fuzzyFileSearch: (
    params: Protocol.FuzzyFileSearchParams
  ) => Effect.Effect<Protocol.FuzzyFileSearchResponse, CodexError.CodexError>
  /**
   * Sends feedback (and optionally codex's logs) to OpenAI (`feedback/upload`).
   * It goes to the internet: offline, codex answers RpcError (-32603).
   */
  readonly uploadFeedback: (
    params: Protocol.FeedbackUploadParams
  ) => Effect.Effect<Protocol.FeedbackUploadResponse, CodexError.CodexError>
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
  const unsubscribed = new Set<string>()
  const forget = (threadId: string) => {
    tools.delete(threadId)
    unsubscribed.delete(threadId)
  }

  // When the connection ends, for whatever reason, nothing tied to it may wait:
  // open turns (result and events) fail with the reason, pending approvals are dropped.
  // Approvals first: failing a turn may resume its waiters synchronously, and
  // they must find the approvals already dropped.
  const end = (error: CodexError.CodexError) => {
    approvals.closeUnsafe()
    router.failAll(error)
  }
  // Closing this layer's Scope ends the connection for its turns even though the
  // client (a layer below) is still up: the router stops listening first and
  // would never see the client's own end.
  yield* Effect.addFinalizer(() => Effect.sync(() => end(CodexError.make(new CodexError.Closed()))))

  // One message, synchronously; only approvals bookkeeping and logs need Effects.
  const routeOne = (incoming: AppServerClient.Incoming): Effect.Effect<void> | undefined => {
    if (incoming._tag === "ServerRequest") {
      // registered before the turn's stream shows it, so a UI can answer at once
      approvals.prepareUnsafe(incoming)
    }
    router.routeInBatch(incoming)
    if (incoming._tag === "Notification") {
      if (incoming.method === "serverRequest/resolved") return approvals.settle(incoming.params.requestId)
      // A thread's tools are kept for resumes that name none (codex keeps calling them: they are part of the
      // stored thread), until codex deletes the thread or closes it (it unloads a thread no connection is
      // subscribed to, a while after the last left); a resume after that brings its tools again.
      const unloaded = Incoming.unloadedThread(incoming)
      if (unloaded !== undefined) forget(unloaded)
      // codex retries on its own (no credentials, no network, 5xx): say why the program waits
      if (incoming.method === "error" && incoming.params.willRetry) return retryWarning(incoming.params)
    }
    return undefined
  }
  // a defect here must not leave every open turn waiting for events that will never be routed
  const routingFailed = (cause: Cause.Cause<unknown>) =>
    Effect.logError("codex: routing events failed; open turns are failed", cause).pipe(
      Effect.andThen(Effect.sync(() =>
        end(CodexError.make(new CodexError.ProtocolError({ description: `routing events failed: ${Cause.pretty(cause)}` })))
      ))
    )

  const tap = Tap.of(client)
  if (tap !== undefined) {
    // On the client's reader: in wire order, before the answers that follow, each turn woken once per batch.
    yield* tap({
      message: routeOne,
      batchEnd: () => router.endBatch(),
      end,
      defect: (error) => routingFailed(Cause.die(error))
    })
  } else {
    // A client built by hand: route from a subscription, a batch at a time.
    const events = yield* client.subscribe
    const routeBatch = (batch: ReadonlyArray<AppServerClient.Incoming>): Effect.Effect<void> => {
      let pending: Array<Effect.Effect<void>> | undefined
      for (const incoming of batch) {
        const effect = routeOne(incoming)
        if (effect !== undefined) (pending ??= []).push(effect)
      }
      router.endBatch()
      return pending === undefined ? Effect.void : Effect.forEach(pending, (effect) => effect, { discard: true })
    }
    yield* events.pipe(
      Stream.runForEachArray(routeBatch),
      Effect.catchCause((cause) => {
        if (Cause.hasInterruptsOnly(cause)) return Effect.void
        const error = Cause.findErrorOption(cause)
        return Option.isSome(error) ? Effect.sync(() => end(error.value)) : routingFailed(cause)
      }),
      Effect.forkScoped
    )
  }

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

  const history = History.make(client)
  const session: Thread.Session = {
    client,
    router,
    forkThread: (threadId, options) => forkThread(threadId, options),
    archiveThread: (threadId) => archiveThread(threadId),
    unsubscribeThread: (threadId) => unsubscribeThread(threadId),
    history,
    unsubscribed
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
      // resuming subscribes this connection to the thread's events again
      unsubscribed.delete(threadId)
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

  // codex stops sending the thread's events to this connection, also those of a turn already running
  const unsubscribeThread = Effect.fn("Codex.unsubscribeThread")(function*(threadId: string) {
    const open = router.openOn(threadId)
    if (open.length > 0) {
      return yield* invalid(
        `thread ${threadId} has a turn running on this connection (${open.join(", ")}): ` +
          "its events would stop; interrupt it or wait for its end before unsubscribing"
      )
    }
    const response = yield* history.unsubscribe(threadId)
    unsubscribed.add(threadId)
    return response
  })

  const listThreads = Effect.fn("Codex.listThreads")(function*(options: Protocol.ThreadListParams = {}) {
    return yield* client.request("thread/list", options)
  })

  return Codex.of({
    startThread,
    resumeThread,
    forkThread,
    listThreads,
    threads: (options = {}) => History.pages((cursor) => listThreads(cursor === undefined ? options : { ...options, cursor })),
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
    logout: client.request("account/logout", undefined).pipe(Effect.asVoid, Effect.withSpan("Codex.logout")),
    unsubscribeThread,
    ...ServerOps.make(client, history)
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

// --- Commands outside a turn -------------------------------------------------

/**
 * Runs an argv vector outside any turn, its output streamed; closing the
 * Scope before it exits terminates it.
 *
 * @category accessors
 * @since 0.1.0
 */
export const command = (
  argv: ReadonlyArray<string>,
  options?: Command.Options
): Effect.Effect<Command.Command, CodexError.CodexError, Codex | Scope.Scope> =>
  Codex.use((codex) => codex.command(argv, options))

/**
 * Runs an argv vector to its exit; codex's answer holds the exit code and the
 * buffered output.
 *
 * @category accessors
 * @since 0.1.0
 */
export const exec = (
  argv: ReadonlyArray<string>,
  options?: Command.ExecOptions
): Effect.Effect<Protocol.CommandExecResponse, CodexError.CodexError, Codex> =>
  Codex.use((codex) => codex.exec(argv, options))

// --- Loaded threads and stored history, by id ----------------------------------

/**
 * One page of the ids of the loaded threads.
 *
 * @category accessors
 * @since 0.1.0
 */
export const listLoadedThreads = (
  options?: Protocol.ThreadLoadedListParams
): Effect.Effect<Protocol.ThreadLoadedListResponse, CodexError.CodexError, Codex> =>
  Codex.use((codex) => codex.listLoadedThreads(options))

/**
 * The ids of every loaded thread, over all pages.
 *
 * @category accessors
 * @since 0.1.0
 */
export const loadedThreads = (
  options?: Omit<Protocol.ThreadLoadedListParams, "cursor">
): Stream.Stream<string, CodexError.CodexError, Codex> =>
  Stream.unwrap(Codex.use((codex) => Effect.succeed(codex.loadedThreads(options))))

/**
 * Deletes a thread and its stored history.
 *
 * @category accessors
 * @since 0.1.0
 */
export const deleteThread = (threadId: string): Effect.Effect<void, CodexError.CodexError, Codex> =>
  Codex.use((codex) => codex.deleteThread(threadId))

/**
 * Stops this connection's subscription to a thread's events.
 *
 * @category accessors
 * @since 0.1.0
 */
export const unsubscribeThread = (
  threadId: string
): Effect.Effect<Protocol.ThreadUnsubscribeResponse, CodexError.CodexError, Codex> =>
  Codex.use((codex) => codex.unsubscribeThread(threadId))

/**
 * One page of a thread's stored turns.
 *
 * @category accessors
 * @since 0.1.0
 */
export const listTurns = (
  threadId: string,
  options?: Omit<Protocol.ThreadTurnsListParams, "threadId">
): Effect.Effect<Protocol.ThreadTurnsListResponse, CodexError.CodexError, Codex> =>
  Codex.use((codex) => codex.listTurns(threadId, options))

/**
 * Every stored turn of a thread, over all pages.
 *
 * @category accessors
 * @since 0.1.0
 */
export const turns = (
  threadId: string,
  options?: Omit<Protocol.ThreadTurnsListParams, "threadId" | "cursor">
): Stream.Stream<Protocol.Turn, CodexError.CodexError, Codex> =>
  Stream.unwrap(Codex.use((codex) => Effect.succeed(codex.turns(threadId, options))))

/**
 * One page of a thread's stored items.
 *
 * @category accessors
 * @since 0.1.0
 */
export const listItems = (
  threadId: string,
  options?: Omit<Protocol.ThreadItemsListParams, "threadId">
): Effect.Effect<Protocol.ThreadItemsListResponse, CodexError.CodexError, Codex> =>
  Codex.use((codex) => codex.listItems(threadId, options))

/**
 * Every stored item of a thread, over all pages.
 *
 * @category accessors
 * @since 0.1.0
 */
export const items = (
  threadId: string,
  options?: Omit<Protocol.ThreadItemsListParams, "threadId" | "cursor">
): Stream.Stream<Protocol.ThreadItemEntry, CodexError.CodexError, Codex> =>
  Stream.unwrap(Codex.use((codex) => Effect.succeed(codex.items(threadId, options))))

// --- Usage and limits ----------------------------------------------------------

/**
 * The account's rate limits (needs a ChatGPT sign-in).
 *
 * @category accessors
 * @since 0.1.0
 */
export const rateLimits = (
  options?: Protocol.GetAccountRateLimitsParams
): Effect.Effect<Protocol.GetAccountRateLimitsResponse, CodexError.CodexError, Codex> =>
  Codex.use((codex) => codex.rateLimits(options))

/**
 * The account's (or a thread's) token usage (needs a ChatGPT sign-in).
 *
 * @category accessors
 * @since 0.1.0
 */
export const usage = (
  options?: Protocol.GetAccountTokenUsageParams
): Effect.Effect<Protocol.GetAccountTokenUsageResponse, CodexError.CodexError, Codex> =>
  Codex.use((codex) => codex.usage(options))

/**
 * Every rate-limit snapshot codex sends while the stream runs.
 *
 * @category accessors
 * @since 0.1.0
 */
export const rateLimitUpdates: Stream.Stream<Protocol.RateLimitSnapshot, CodexError.CodexError, Codex> = Stream
  .unwrap(Codex.use((codex) => Effect.succeed(codex.rateLimitUpdates)))

// --- Configuration and environment ---------------------------------------------

/**
 * The effective configuration.
 *
 * @category accessors
 * @since 0.1.0
 */
export const readConfig = (
  options?: Protocol.ConfigReadParams
): Effect.Effect<Protocol.ConfigReadResponse, CodexError.CodexError, Codex> =>
  Codex.use((codex) => codex.readConfig(options))

/**
 * Writes one value to codex's `config.toml`.
 *
 * @category accessors
 * @since 0.1.0
 */
export const writeConfig = (
  keyPath: string,
  value: Schema.Json,
  options?: Parameters<Service["writeConfig"]>[2]
): Effect.Effect<Protocol.ConfigWriteResponse, CodexError.CodexError, Codex> =>
  Codex.use((codex) => codex.writeConfig(keyPath, value, options))

/**
 * Writes several values to codex's `config.toml` at once.
 *
 * @category accessors
 * @since 0.1.0
 */
export const writeConfigBatch = (
  edits: Parameters<Service["writeConfigBatch"]>[0],
  options?: Omit<Protocol.ConfigBatchWriteParams, "edits">
): Effect.Effect<Protocol.ConfigWriteResponse, CodexError.CodexError, Codex> =>
  Codex.use((codex) => codex.writeConfigBatch(edits, options))

/**
 * The skills codex finds for working directories.
 *
 * @category accessors
 * @since 0.1.0
 */
export const skills = (
  options?: Protocol.SkillsListParams
): Effect.Effect<Protocol.SkillsListResponse, CodexError.CodexError, Codex> => Codex.use((codex) => codex.skills(options))

/**
 * One page of the configured MCP servers and their status.
 *
 * @category accessors
 * @since 0.1.0
 */
export const listMcpServers = (
  options?: Protocol.ListMcpServerStatusParams
): Effect.Effect<Protocol.ListMcpServerStatusResponse, CodexError.CodexError, Codex> =>
  Codex.use((codex) => codex.listMcpServers(options))

/**
 * Every configured MCP server, over all pages.
 *
 * @category accessors
 * @since 0.1.0
 */
export const mcpServers = (
  options?: Omit<Protocol.ListMcpServerStatusParams, "cursor">
): Stream.Stream<Protocol.McpServerStatus, CodexError.CodexError, Codex> =>
  Stream.unwrap(Codex.use((codex) => Effect.succeed(codex.mcpServers(options))))

/**
 * Calls a tool of an MCP server.
 *
 * @category accessors
 * @since 0.1.0
 */
export const callMcpTool = (
  params: Protocol.McpServerToolCallParams
): Effect.Effect<Protocol.McpServerToolCallResponse, CodexError.CodexError, Codex> =>
  Codex.use((codex) => codex.callMcpTool(params))

/**
 * Reads a resource of an MCP server.
 *
 * @category accessors
 * @since 0.1.0
 */
export const readMcpResource = (
  params: Protocol.McpResourceReadParams
): Effect.Effect<Protocol.McpResourceReadResponse, CodexError.CodexError, Codex> =>
  Codex.use((codex) => codex.readMcpResource(params))

/**
 * Fuzzy-matches file paths under roots.
 *
 * @category accessors
 * @since 0.1.0
 */
export const fuzzyFileSearch = (
  params: Protocol.FuzzyFileSearchParams
): Effect.Effect<Protocol.FuzzyFileSearchResponse, CodexError.CodexError, Codex> =>
  Codex.use((codex) => codex.fuzzyFileSearch(params))

/**
 * Sends feedback to OpenAI.
 *
 * @category accessors
 * @since 0.1.0
 */
export const uploadFeedback = (
  params: Protocol.FeedbackUploadParams
): Effect.Effect<Protocol.FeedbackUploadResponse, CodexError.CodexError, Codex> =>
  Codex.use((codex) => codex.uploadFeedback(params))
