/**
 * `CodexPool`: one {@link Codex.Codex} service over several `codex app-server`
 * processes on this machine, for programs that run more turns at once than one
 * process serves well.
 *
 * ```ts
 * import { NodeRuntime, NodeServices } from "@effect/platform-node"
 * import { Console, Effect } from "effect"
 * import { Codex, CodexPool } from "effect-codex"
 *
 * const program = Effect.gen(function*() {
 *   // four threads, spread over the two servers, running at once
 *   const results = yield* Effect.forEach(
 *     ["a", "b", "c", "d"],
 *     (name) => Effect.flatMap(Codex.startThread(), (thread) => thread.run(`Review module ${name}`)),
 *     { concurrency: "unbounded" }
 *   )
 *   yield* Console.log(results.map((result) => result.finalResponse))
 * })
 *
 * program.pipe(
 *   Effect.provide(CodexPool.layer({ size: 2, server: { codexHome: "/srv/codex" } })),
 *   Effect.provide(NodeServices.layer),
 *   NodeRuntime.runMain
 * )
 * ```
 *
 * How it routes:
 * - a thread stays on the server that loaded it for as long as it is loaded
 *   there: codex allows one writer per thread, and a second app-server that
 *   resumes a loaded thread is refused (`-32600 "thread … already has an
 *   active writer"`);
 * - `startThread` (and `unarchiveThread`) go to the least loaded server, load
 *   being the threads loaded there plus the starts on their way; `forkThread`
 *   goes to the server of its source (so the fork keeps the source's client
 *   tools) when it has room;
 * - `resumeThread(id)` goes to the server that has the thread loaded, else to
 *   the least loaded one (and, refused there as the thread's writer is
 *   elsewhere, to the server that reports it loaded);
 * - listing, reading models and the account go to any server: the servers of
 *   one pool share one `CODEX_HOME` (checked when the pool starts), so every
 *   server sees the same history, the same auth and the same config;
 * - `loginApiKey` and `logout` go to every server.
 *
 * What survives a crash: a server that dies (killed, out of memory) fails its
 * own open turns and requests with `ProcessExited` at once; the other servers
 * and their turns go on. A replacement process takes its place (retried with
 * `restartSchedule` if it cannot start), and the dead server's threads, whose
 * history is on disk in the shared `CODEX_HOME`, can be loaded again with
 * `Codex.resumeThread(id)`: their old handles stay bound to the dead process.
 *
 * Closing the layer's Scope closes every server (stdin EOF, then SIGTERM,
 * then SIGKILL, all at once), including a replacement still starting.
 *
 * @stability unstable
 * @stability unstable
 * @since 0.1.0
 */
import {
  Cause, Context, Deferred, Duration, Effect, Exit, FiberMap, Layer, LayerMap, Option, type Redacted, Result,
  Schedule, Scope, Stream
} from "../schema/internal/effect.ts"
import type { ChildProcessSpawner } from "../schema/internal/effect.ts"
import * as CodexError from "../schema/CodexError.ts"
import * as Incoming from "../schema/Incoming.ts"
import type * as Protocol from "../schema/generated/Protocol.gen.ts"
import * as AppServerClient from "../services/AppServerClient.ts"
import * as Codex from "../services/Codex.ts"
import * as Checks from "../services/internal/options.ts"
import type * as Thread from "../services/Thread.ts"
import * as AppServer from "./AppServer.ts"
import { Book, type Member } from "./internal/codexPool.ts"
import { pages } from "../services/internal/history.ts"

// =============================================================================
// Models
// =============================================================================

/**
 * What the pool reports about one of its servers.
 *
 * @category models
 * @since 0.1.0
 */
export interface Server {
  /** Its place in the pool, `0 .. size - 1`; a replacement takes the same place. */
  readonly index: number
  /** `up`: serving; `restarting`: its process died and a replacement is starting (or waits to retry). */
  readonly status: "up" | "restarting"
  /** How many times its process was replaced. */
  readonly restarts: number
  /** The threads loaded on it, in the order they were placed there. */
  readonly threads: ReadonlyArray<string>
  /** The `initialize` answer of its current process. */
  readonly metadata: Protocol.InitializeResponse | undefined
  /** Why the last replacement failed to start, while it is still restarting. */
  readonly lastError: CodexError.CodexError | undefined
}

/**
 * Options of a pool, whatever connects its servers ({@link layer},
 * {@link layerFrom}).
 *
 * @category models
 * @since 0.1.0
 */
export interface PoolOptions {
  /** How many app-server processes (a positive integer). */
  readonly size: number
  /**
   * How many threads one server may hold loaded (a positive integer; default:
   * no limit). When every server is full, placing one more thread fails with
   * `Overloaded` (retryable) until a place frees: a thread archived, unloaded
   * by codex (`thread/closed`), deleted, or a server replaced.
   */
  readonly maxThreadsPerServer?: number | undefined
  /**
   * How to retry starting a replacement for a server that died. Default:
   * exponential from 100 ms, capped at 10 s, without end. While every server
   * is down and the latest start of each failed, calls fail with that error.
   */
  readonly restartSchedule?: Schedule.Schedule<unknown, CodexError.CodexError> | undefined
}

/**
 * Options of {@link layer}: the pool's, and the options of its app-servers
 * (the same for every server, or computed from the server's index). The
 * servers must share one `codexHome`.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options extends PoolOptions {
  readonly server?: AppServer.Options | ((index: number) => AppServer.Options) | undefined
}

/**
 * The pool's own service, beside the {@link Codex.Codex} it provides: where
 * its threads are and how its servers fare.
 *
 * @category models
 * @since 0.1.0
 */
export interface Service {
  /** Every server: up or restarting, its threads, its restarts. */
  readonly servers: Effect.Effect<ReadonlyArray<Server>>
  /** The index of the server that holds a thread loaded, if the pool placed it. */
  readonly serverOf: (threadId: string) => Effect.Effect<Option.Option<number>>
}

/**
 * The key of the pool's service.
 *
 * @category services
 * @since 0.1.0
 */
export class CodexPool extends Context.Service<CodexPool, Service>()("effect-codex/CodexPool") {}

// =============================================================================
// Internal
// =============================================================================

const fail = (reason: CodexError.CodexErrorReason) => Effect.fail(CodexError.make(reason))

const DEFAULT_RESTART: Schedule.Schedule<unknown, CodexError.CodexError> = Schedule.exponential("100 millis").pipe(
  Schedule.modifyDelay(({ duration }) => Effect.succeed(Duration.min(duration, Duration.seconds(10))))
)

const checkOptions = (options: PoolOptions): Checks.Checked<{ readonly size: number; readonly maxThreads: number }> => {
  const checked = Checks.all([
    Checks.record("options", options),
    options === null || typeof options !== "object" || options.size !== undefined
      ? Result.succeed(undefined)
      : Result.fail(Checks.invalid("size", "a positive integer", undefined)),
    options?.maxThreadsPerServer === Infinity
      ? Result.succeed(undefined)
      : Checks.positiveInt("maxThreadsPerServer", options?.maxThreadsPerServer, 1),
    Checks.schedule("restartSchedule", options?.restartSchedule)
  ])
  if (Result.isFailure(checked)) return Result.fail(checked.failure)
  const size = Checks.positiveInt("size", options.size, 1)
  if (Result.isFailure(size)) return Result.fail(size.failure)
  return Result.succeed({ size: size.success, maxThreads: options.maxThreadsPerServer ?? Infinity })
}

// codex refuses to load a thread another process holds: its message is the only sign
const isActiveWriter = (error: CodexError.CodexError) =>
  error.reason._tag === "RpcError" && error.reason.message.includes("active writer")

interface Running {
  readonly member: Member
  readonly scope: Scope.Closeable
}

/**
 * Builds the pool: `size` servers, each a connection from `connect(index)`
 * with the {@link Codex.Codex} service of `Codex.make` over it, started at
 * once; then one supervisor per server replaces it when its connection ends.
 * `connect` is called again for every replacement. Needs the Scope the
 * servers live in.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = Effect.fnUntraced(function*<R>(
  connect: (index: number) => Layer.Layer<AppServerClient.AppServerClient, CodexError.CodexError, R>,
  options: PoolOptions
): Effect.fn.Return<{ readonly codex: Codex.Service; readonly pool: Service }, CodexError.CodexError, R | Scope.Scope> {
  const checked = checkOptions(options)
  if (Result.isFailure(checked)) return yield* Effect.fail(checked.failure)
  const { maxThreads, size } = checked.success
  const restartSchedule = options.restartSchedule ?? DEFAULT_RESTART
  const book = new Book(size, maxThreads)
  const running: Array<Running | undefined> = Array.from({ length: size }, () => undefined)
  let closing = false
  let lastMetadata: Protocol.InitializeResponse | undefined

  // Waiters for a server to come up (or for every start to have failed): woken on every change.
  let changed = Deferred.makeUnsafe<void>()
  const signal = () => {
    const waiters = changed
    changed = Deferred.makeUnsafe<void>()
    Deferred.doneUnsafe(waiters, Exit.void)
  }

  // Every server's Scope, open or starting: closed by the pool's finalizer whatever state it is in.
  const scopes = new Set<Scope.Closeable>()
  const closeScope = (scope: Scope.Closeable, exit: Exit.Exit<unknown, unknown>) =>
    Effect.suspend(() => {
      scopes.delete(scope)
      return Scope.close(scope, exit)
    })

  const supervisors = yield* FiberMap.make<number>()
  // Runs before the supervisors' own finalizer and before anything a server
  // opened: no replacement may start, then every server closes at once.
  yield* Effect.addFinalizer((exit) =>
    Effect.gen(function*() {
      closing = true
      yield* FiberMap.clear(supervisors)
      for (const entry of running) if (entry !== undefined) book.down(entry.member)
      signal()
      yield* Effect.forEach([...scopes], (scope) => closeScope(scope, exit), { concurrency: "unbounded", discard: true })
    })
  )

  // A fresh memo map per server: a layer the program built elsewhere (another
  // `Codex.layer`, the same connection layer) must not be shared by a server.
  const start = (index: number, restarts: number): Effect.Effect<Running, CodexError.CodexError, R> =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      scopes.add(scope)
      return yield* Effect.gen(function*() {
        const context = yield* Layer.buildWithMemoMap(
          Codex.layer.pipe(Layer.provideMerge(connect(index))),
          Layer.makeMemoMapUnsafe(),
          scope
        )
        const member: Member = {
          index,
          restarts,
          codex: Context.get(context, Codex.Codex),
          client: Context.get(context, AppServerClient.AppServerClient),
          threads: new Set(),
          reserved: 0,
          alive: true
        }
        // codex unloads a thread on its own (idle with no subscriber) and says so: its place frees
        // on the reader (no subscription, so the client publishes nothing for it). A deleted thread
        // is unloaded too, and codex announces only `thread/deleted` for it, from any client.
        yield* Scope.provide(
          member.client.listen((incoming) => {
            const unloaded = Incoming.unloadedThread(incoming)
            if (unloaded !== undefined) book.unpin(unloaded, member)
          }),
          scope
        )
        return { member, scope }
      }).pipe(Effect.onExit((exit) => Exit.isFailure(exit) ? closeScope(scope, exit) : Effect.void))
    })

  const install = (index: number, next: Running) => {
    running[index] = next
    lastMetadata = next.member.client.metadata
    book.up(next.member)
    signal()
  }

  // One fiber per server: waits for its connection to end, then replaces it.
  const supervise = (index: number): Effect.Effect<void, never, R> =>
    Effect.gen(function*() {
      while (true) {
        const current = running[index]!
        const error = yield* current.member.client.awaitClosed
        book.down(current.member)
        signal()
        yield* closeScope(current.scope, Exit.void)
        if (closing) return
        yield* Effect.logWarning(`codex pool: server ${index} ended (${error.message}); starting a replacement`)
        const next = yield* start(index, current.member.restarts + 1).pipe(
          Effect.tapError((error) =>
            Effect.sync(() => {
              book.failed(index, error)
              signal()
            }).pipe(Effect.andThen(Effect.logWarning(`codex pool: replacement of server ${index} failed: ${error.message}`)))
          ),
          Effect.retry(restartSchedule)
        )
        install(index, next)
      }
    }).pipe(
      Effect.catchCause((cause) =>
        Cause.hasInterruptsOnly(cause)
          ? Effect.void
          : Effect.logError(`codex pool: server ${index} stays down (restartSchedule ended)`, cause)
      )
    )

  // All servers start at once; the pool is up when each one is.
  const initial = yield* Effect.forEach(Array.from({ length: size }, (_, index) => index), (index) => start(index, 0), {
    concurrency: "unbounded"
  })
  const homes = new Set(initial.map(({ member }) => member.client.metadata.codexHome))
  if (homes.size > 1) {
    return yield* fail(
      new CodexError.InvalidOptions({
        description: `the servers of a pool must share one CODEX_HOME (so every server sees every thread); got ${[...homes].join(", ")}`
      })
    )
  }
  initial.forEach((next, index) => install(index, next))
  for (let index = 0; index < size; index++) yield* FiberMap.run(supervisors, index, supervise(index))

  // ---------------------------------------------------------------------------
  // Placement
  // ---------------------------------------------------------------------------

  const noServer = (): Effect.Effect<never, CodexError.CodexError> | undefined => {
    if (closing) return fail(new CodexError.Closed())
    const failure = book.startFailure()
    return failure === undefined ? undefined : Effect.fail(failure)
  }

  // Chooses and reserves in one synchronous step, so concurrent starts see each other's load.
  const place = (method: string, preferred?: Member): Effect.Effect<Member, CodexError.CodexError> =>
    Effect.suspend(() => {
      if (preferred !== undefined && preferred.alive && book.hasRoom(preferred)) {
        preferred.reserved++
        return Effect.succeed(preferred)
      }
      const choice = book.choose()
      switch (choice._tag) {
        case "Member":
          choice.member.reserved++
          return Effect.succeed(choice.member)
        case "Full":
          return fail(new CodexError.Overloaded({ method }))
        case "NoneUp": {
          const waiting = changed
          return noServer() ?? Effect.andThen(Deferred.await(waiting), place(method))
        }
      }
    })

  const anyMember: Effect.Effect<Member, CodexError.CodexError> = Effect.suspend(() => {
    const member = book.any()
    if (member !== undefined) return Effect.succeed(member)
    const waiting = changed
    return noServer() ?? Effect.andThen(Deferred.await(waiting), anyMember)
  })

  // The connection is gone for good, and not because the pool is closing.
  const died = (error: CodexError.CodexError) =>
    !closing && (error.reason._tag === "ProcessExited" || error.reason._tag === "TransportError")

  interface Placed {
    readonly holder: Member
    readonly thread: Thread.Thread
  }

  // Loads a thread on a placed server (or the one that turns out to hold it)
  // and pins it there. A server that died between the choice and the request
  // leaves the placement at once (its supervisor may not have seen the end
  // yet), and the request goes to another server, once.
  const onPlaced = (
    method: string,
    load: (member: Member) => Effect.Effect<Placed, CodexError.CodexError>,
    preferred?: Member
  ): Effect.Effect<Thread.Thread, CodexError.CodexError> => {
    const attempt = (retry: boolean): Effect.Effect<Thread.Thread, CodexError.CodexError> =>
      Effect.acquireUseRelease(
        place(method, retry ? undefined : preferred),
        (member) =>
          load(member).pipe(
            Effect.map(({ holder, thread }) => adopt(holder, thread)),
            Effect.tapError((error) => Effect.sync(() => died(error) && book.down(member)))
          ),
        (member) => Effect.sync(() => void member.reserved--)
      )
    return Effect.catchIf(attempt(false), died, () => attempt(true))
  }

  const placedOn = (member: Member) => (thread: Thread.Thread): Placed => ({ holder: member, thread })

  const adopt = (member: Member, thread: Thread.Thread): Thread.Thread => {
    book.pin(thread.id, member)
    return {
      ...thread,
      fork: (options) => forkThread(thread.id, options),
      archive: archiveThread(thread.id)
    }
  }

  /** Runs `use` on any live server; on one that turns out dead, once more on another. */
  const onAny = <A>(use: (codex: Codex.Service) => Effect.Effect<A, CodexError.CodexError>) => {
    const attempt = Effect.flatMap(anyMember, (member) =>
      use(member.codex).pipe(Effect.tapError((error) => Effect.sync(() => died(error) && book.down(member)))))
    return Effect.catchIf(attempt, died, () => attempt)
  }

  const holderOf = (threadId: string): Effect.Effect<Member, CodexError.CodexError> =>
    Effect.suspend(() => {
      const pinned = book.pinned(threadId)
      return pinned === undefined ? anyMember : Effect.succeed(pinned)
    })

  const onThread = <A>(threadId: string, use: (codex: Codex.Service) => Effect.Effect<A, CodexError.CodexError>) =>
    Effect.flatMap(holderOf(threadId), (member) => use(member.codex))

  const onEvery = (use: (codex: Codex.Service) => Effect.Effect<void, CodexError.CodexError>) =>
    Effect.flatMap(anyMember, () =>
      Effect.forEach(book.members(), (member) => use(member.codex), { concurrency: "unbounded", discard: true }))

  // The server whose codex holds the thread's writer, when the pool did not place it there.
  const locate = (threadId: string, except: Member): Effect.Effect<Member | undefined, CodexError.CodexError> =>
    Effect.gen(function*() {
      for (const member of book.members()) {
        if (member === except) continue
        let cursor: string | null | undefined
        do {
          const page = yield* member.client.request("thread/loaded/list", cursor == null ? {} : { cursor })
          if (page.data.includes(threadId)) return member
          cursor = page.nextCursor
        } while (cursor != null)
      }
      return undefined
    })

  // ---------------------------------------------------------------------------
  // The Codex service
  // ---------------------------------------------------------------------------

  const startThread = Effect.fn("CodexPool.startThread")(function*(options?: Thread.StartOptions) {
    return yield* onPlaced("thread/start", (member) => Effect.map(member.codex.startThread(options), placedOn(member)))
  })

  const resumeThread = Effect.fn("CodexPool.resumeThread")(function*(threadId: string, options?: Thread.ResumeOptions) {
    const pinned = book.pinned(threadId)
    if (pinned !== undefined) {
      const resumed = yield* Effect.exit(pinned.codex.resumeThread(threadId, options))
      if (Exit.isSuccess(resumed)) return adopt(pinned, resumed.value)
      const error = Cause.findErrorOption(resumed.cause)
      if (Option.isNone(error) || !died(error.value)) return yield* resumed
      // its server died: the thread is loaded nowhere now, place it anew
      book.down(pinned)
    }
    return yield* onPlaced("thread/resume", (member) =>
      member.codex.resumeThread(threadId, options).pipe(
        Effect.map(placedOn(member)),
        Effect.catchIf(isActiveWriter, (refused) =>
          Effect.flatMap(locate(threadId, member), (holder) =>
            holder === undefined
              ? Effect.fail(refused)
              : Effect.map(holder.codex.resumeThread(threadId, options), placedOn(holder))))
      ))
  })

  const forkThread = Effect.fn("CodexPool.forkThread")(function*(threadId: string, options?: Thread.ForkOptions) {
    return yield* onPlaced(
      "thread/fork",
      (member) => Effect.map(member.codex.forkThread(threadId, options), placedOn(member)),
      book.pinned(threadId)
    )
  })

  const archiveThread = Effect.fn("CodexPool.archiveThread")(function*(threadId: string) {
    const member = book.pinned(threadId) ?? (yield* anyMember)
    yield* member.codex.archiveThread(threadId)
    // codex unloads an archived thread
    book.unpin(threadId, member)
  })

  const unarchiveThread = Effect.fn("CodexPool.unarchiveThread")(function*(threadId: string) {
    return yield* onPlaced("thread/unarchive", (member) => Effect.map(member.codex.unarchiveThread(threadId), placedOn(member)))
  })

  const listThreads = Effect.fn("CodexPool.listThreads")(function*(options?: Protocol.ThreadListParams) {
    return yield* onAny((codex) => codex.listThreads(options))
  })

  const codex = Codex.Codex.of({
    startThread,
    resumeThread,
    forkThread,
    listThreads,
    threads: (options = {}) => pages((cursor) => listThreads(cursor === undefined ? options : { ...options, cursor })),
    archiveThread,
    unarchiveThread,
    models: (options) => onAny((codex) => codex.models(options)).pipe(Effect.withSpan("CodexPool.models")),
    metadata: Effect.sync(() => book.any()?.client.metadata ?? lastMetadata!),
    account: onAny((codex) => codex.account).pipe(Effect.withSpan("CodexPool.account")),
    loginApiKey: (apiKey: Redacted.Redacted<string>) =>
      onEvery((codex) => codex.loginApiKey(apiKey)).pipe(Effect.withSpan("CodexPool.loginApiKey")),
    logout: onEvery((codex) => codex.logout).pipe(Effect.withSpan("CodexPool.logout")),
    // commands, configuration, usage and the environment: any server (they share CODEX_HOME)
    command: (argv, options) => Effect.flatMap(anyMember, (member) => member.codex.command(argv, options)),
    exec: (argv, options) => onAny((codex) => codex.exec(argv, options)),
    // loaded threads: those of every server
    listLoadedThreads: (options) =>
      Effect.flatMap(anyMember, () =>
        Effect.forEach(book.members(), (member) => Stream.runCollect(member.codex.loadedThreads(options)), {
          concurrency: "unbounded"
        })).pipe(Effect.map((lists) => ({ data: lists.flatMap((list) => Array.from(list)), nextCursor: null }))),
    loadedThreads: (options) =>
      Stream.unwrap(Effect.map(anyMember, () =>
        Stream.mergeAll(book.members().map((member) => member.codex.loadedThreads(options)), {
          concurrency: "unbounded"
        }))),
    // a thread's history and lifetime: the server that holds it, else any
    deleteThread: (threadId) => onThread(threadId, (codex) => codex.deleteThread(threadId)),
    unsubscribeThread: (threadId) => onThread(threadId, (codex) => codex.unsubscribeThread(threadId)),
    listTurns: (threadId, options) => onThread(threadId, (codex) => codex.listTurns(threadId, options)),
    turns: (threadId, options) =>
      Stream.unwrap(Effect.map(holderOf(threadId), (member) => member.codex.turns(threadId, options))),
    listItems: (threadId, options) => onThread(threadId, (codex) => codex.listItems(threadId, options)),
    items: (threadId, options) =>
      Stream.unwrap(Effect.map(holderOf(threadId), (member) => member.codex.items(threadId, options))),
    rateLimits: (options) => onAny((codex) => codex.rateLimits(options)),
    usage: (options) => onAny((codex) => codex.usage(options)),
    rateLimitUpdates: Stream.unwrap(Effect.map(anyMember, (member) => member.codex.rateLimitUpdates)),
    readConfig: (options) => onAny((codex) => codex.readConfig(options)),
    writeConfig: (keyPath, value, options) => onAny((codex) => codex.writeConfig(keyPath, value, options)),
    writeConfigBatch: (edits, options) => onAny((codex) => codex.writeConfigBatch(edits, options)),
    skills: (options) => onAny((codex) => codex.skills(options)),
    listMcpServers: (options) => onAny((codex) => codex.listMcpServers(options)),
    mcpServers: (options) => Stream.unwrap(Effect.map(anyMember, (member) => member.codex.mcpServers(options))),
    callMcpTool: (params) => onAny((codex) => codex.callMcpTool(params)),
    readMcpResource: (params) => onAny((codex) => codex.readMcpResource(params)),
    fuzzyFileSearch: (params) => onAny((codex) => codex.fuzzyFileSearch(params)),
    uploadFeedback: (params) => onAny((codex) => codex.uploadFeedback(params))
  })

  const pool: Service = {
    servers: Effect.sync(() =>
      book.places().map((place, index): Server => ({
        index,
        status: place.member === undefined ? "restarting" : "up",
        restarts: place.restarts,
        threads: place.member === undefined ? [] : [...place.member.threads],
        metadata: place.member?.client.metadata,
        lastError: place.lastError
      }))
    ),
    serverOf: (threadId) => Effect.sync(() => Option.fromUndefinedOr(book.pinned(threadId)?.index))
  }
  return { codex, pool }
})

// =============================================================================
// Layers
// =============================================================================

/**
 * The pool over connections from `connect(index)`, any layer of an
 * {@link AppServerClient.AppServerClient}: `AppServer.layer(...)` (what
 * {@link layer} uses), a WebSocket client, or `CodexTest.layer(...)` in tests.
 * Provides {@link Codex.Codex} and the pool's own {@link CodexPool}.
 *
 * ```ts
 * import { Effect } from "effect"
 * import { Codex, CodexPool } from "effect-codex"
 * import { CodexTest } from "effect-codex/testing"
 *
 * const pool = CodexPool.layerFrom(() => CodexTest.layer([CodexTest.reply("hi")]), { size: 2 })
 *
 * const program = Effect.gen(function*() {
 *   const thread = yield* Codex.startThread()
 *   return yield* CodexPool.serverOf(thread.id) // Option.some(0)
 * }).pipe(Effect.provide(pool))
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layerFrom = <R>(
  connect: (index: number) => Layer.Layer<AppServerClient.AppServerClient, CodexError.CodexError, R>,
  options: PoolOptions
): Layer.Layer<Codex.Codex | CodexPool, CodexError.CodexError, Exclude<R, Scope.Scope>> =>
  Layer.effectContext(
    Effect.map(make(connect, options), ({ codex, pool }) =>
      Context.make(Codex.Codex, codex).pipe(Context.add(CodexPool, pool)))
  ) as Layer.Layer<Codex.Codex | CodexPool, CodexError.CodexError, Exclude<R, Scope.Scope>>

/**
 * A {@link Codex.Codex} over `size` app-server processes spawned with
 * `AppServer.layer(options.server)` (see the module documentation for how
 * threads are routed and what survives a crash). Also provides
 * {@link CodexPool}. Reads `Approvals` when it is built, as `Codex.layer` does.
 *
 * ```ts
 * import { CodexPool } from "effect-codex"
 *
 * const pool = CodexPool.layer({
 *   size: 4,
 *   maxThreadsPerServer: 50,
 *   server: { codexHome: "/srv/codex", requestTimeout: "2 minutes" }
 * })
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (
  options: Options
): Layer.Layer<Codex.Codex | CodexPool, CodexError.CodexError, ChildProcessSpawner.ChildProcessSpawner> =>
  layerFrom(
    (index) => AppServer.layer(typeof options?.server === "function" ? options.server(index) : options?.server),
    options
  )

// =============================================================================
// Keyed pools: one per tenant
// =============================================================================

/**
 * Pools by key, built on first use and closed after `idleTimeToLive` unused:
 * an `effect` `LayerMap` of {@link layer}s.
 *
 * @category services
 * @since 0.1.0
 */
export class Keyed extends Context.Service<
  Keyed,
  LayerMap.LayerMap<string, Codex.Codex | CodexPool, CodexError.CodexError>
>()("effect-codex/CodexPool/Keyed") {}

/**
 * Options of {@link layerKeyed}.
 *
 * @category models
 * @since 0.1.0
 */
export interface KeyedOptions {
  /**
   * The pool of one key: typically its own `server.codexHome` (its history,
   * config and auth) and `server.apiKey`, so tenants share nothing.
   */
  readonly pool: (key: string) => Options
  /** How long a key's pool stays up with no program using it. Default 5 minutes. */
  readonly idleTimeToLive?: Duration.Input | undefined
}

/**
 * One pool per key (a tenant, a team, an API key), each with its own
 * `CODEX_HOME` and API key: its servers start when a program first asks for
 * the key with {@link keyed}, and stop `idleTimeToLive` after the last one is
 * done. Closing this layer closes every pool.
 *
 * ```ts
 * import { Effect, Redacted } from "effect"
 * import { Codex, CodexPool } from "effect-codex"
 *
 * const tenants = CodexPool.layerKeyed({
 *   pool: (tenant) => ({
 *     size: 1,
 *     server: { codexHome: `/srv/codex/${tenant}`, apiKey: Redacted.make(process.env[`KEY_${tenant}`] ?? "") }
 *   })
 * })
 *
 * const forTenant = (tenant: string, prompt: string) =>
 *   Effect.flatMap(Codex.startThread(), (thread) => thread.run(prompt)).pipe(
 *     Effect.provide(CodexPool.keyed(tenant))
 *   )
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layerKeyed = (
  options: KeyedOptions
): Layer.Layer<Keyed, CodexError.CodexError, ChildProcessSpawner.ChildProcessSpawner> =>
  typeof options?.pool !== "function"
    ? Layer.effect(Keyed, Effect.fail(Checks.invalid("pool", "a function", options?.pool)))
    : layerKeyedFrom((key) => layer(options.pool(key)), options)

/**
 * {@link layerKeyed} over any pool layer per key, e.g. {@link layerFrom} with
 * in-memory servers in tests.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerKeyedFrom = <R>(
  pool: (key: string) => Layer.Layer<Codex.Codex | CodexPool, CodexError.CodexError, R>,
  options: { readonly idleTimeToLive?: Duration.Input | undefined } = {}
): Layer.Layer<Keyed, CodexError.CodexError, R> =>
  Layer.effect(
    Keyed,
    Effect.gen(function*() {
      const idle = Checks.duration("idleTimeToLive", options?.idleTimeToLive, Duration.minutes(5), {
        allowInfinite: true,
        allowZero: true
      })
      if (Result.isFailure(idle)) return yield* Effect.fail(idle.failure)
      return yield* LayerMap.make(pool, { idleTimeToLive: idle.success })
    })
  )

/**
 * The pool of `key` from {@link layerKeyed}: provides its {@link Codex.Codex}
 * (and {@link CodexPool}) to a program, starting the pool if it is not up.
 *
 * @category layers
 * @since 0.1.0
 */
export const keyed = (key: string): Layer.Layer<Codex.Codex | CodexPool, CodexError.CodexError, Keyed> =>
  Layer.unwrap(Keyed.useSync((pools) => pools.get(key)))

// =============================================================================
// Accessors
// =============================================================================

/**
 * Every server of the pool in context.
 *
 * @category accessors
 * @since 0.1.0
 */
export const servers: Effect.Effect<ReadonlyArray<Server>, never, CodexPool> = CodexPool.use((pool) => pool.servers)

/**
 * The index of the server that holds a thread loaded.
 *
 * @category accessors
 * @since 0.1.0
 */
export const serverOf = (threadId: string): Effect.Effect<Option.Option<number>, never, CodexPool> =>
  CodexPool.use((pool) => pool.serverOf(threadId))
