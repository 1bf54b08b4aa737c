/**
 * Codex threads on Effect Cluster: runners that host the `CodexThread`
 * entity (one thread per application key) on a `CodexPool`, clients that
 * reach them, and the embedded default that runs the same API in one process
 * with no database.
 *
 * A cluster is a set of runner processes and a SQL database (PostgreSQL with
 * `@effect/sql-pg`): the database holds the cluster's runners, shard locks
 * and persisted messages, and this module's three tables (the key -> thread
 * map, every thread's rollout, the journal of persisted turns), created if
 * missing. A client needs only the database: it finds the runners there.
 *
 * ```ts
 * import { NodeRuntime, NodeServices } from "@effect/platform-node"
 * import { PgClient } from "@effect/sql-pg"
 * import { Effect, Layer, Redacted } from "effect"
 * import { CodexCluster } from "effect-codex/cluster"
 *
 * // One runner process: its own CODEX_HOME, a pool of 2 app-servers, port 34431 for the other runners.
 * const runner = CodexCluster.layerRunner({
 *   host: "10.0.0.12",
 *   port: 34431,
 *   pool: { size: 2, server: { codexHome: "/var/lib/runner/codex" } },
 *   thread: (ticket) => ({ cwd: `/srv/checkouts/${ticket}` })
 * }).pipe(
 *   Layer.provide(PgClient.layer({ url: Redacted.make(process.env.DATABASE_URL ?? "") })),
 *   Layer.provide(NodeServices.layer)
 * )
 *
 * Layer.launch(runner).pipe(NodeRuntime.runMain)
 * ```
 *
 * @stability unstable
 * @since 0.1.0
 */
import { NodeClusterSocket } from "@effect/platform-node"
import { Clock, Context, type Duration, Effect, Layer, Option, Schedule } from "../schema/internal/effect.ts"
import type * as Config from "effect/Config"
import * as MessageStorage from "effect/cluster/MessageStorage"
import * as RunnerAddress from "effect/cluster/RunnerAddress"
import * as Runners from "effect/cluster/Runners"
import * as RunnerHealth from "effect/cluster/RunnerHealth"
import * as RunnerStorage from "effect/cluster/RunnerStorage"
import * as Sharding from "effect/cluster/Sharding"
import * as ShardingConfig from "effect/cluster/ShardingConfig"
import * as Singleton from "effect/cluster/Singleton"
import type { ChildProcessSpawner } from "../schema/internal/effect.ts"
import type * as SocketServer from "effect/socket/SocketServer"
import type * as SqlClient from "effect/sql/SqlClient"
import * as CodexError from "../schema/CodexError.ts"
import type * as Codex from "../services/Codex.ts"
import * as CodexThread from "../services/CodexThread.ts"
import type * as Thread from "../services/Thread.ts"
import * as CodexPool from "./CodexPool.ts"
import * as MessageRetention from "./internal/messageRetention.ts"
import * as ThreadEntity from "./internal/threadEntity.ts"
import * as ThreadStore_ from "./internal/threadStore.ts"

// =============================================================================
// Store
// =============================================================================

/**
 * What a {@link ThreadStore} does: load and save a key's thread record,
 * append to and read a thread's rollout, and keep the journal of persisted
 * turns. Every failure is a `CodexError` (`TransportError`).
 *
 * @category models
 * @since 0.1.0
 */
export interface Store extends ThreadStore_.Store {}

/**
 * Where the runners keep what a key's thread needs to move between them (the
 * key -> thread map, the rollouts, the turn journal).
 *
 * @category services
 * @since 0.1.0
 */
export class ThreadStore extends Context.Service<ThreadStore, Store>()("effect-codex/cluster/ThreadStore") {}

/**
 * The store in the cluster's SQL database: tables `effect_codex_threads`,
 * `effect_codex_rollouts` and `effect_codex_turns` (another prefix with
 * `tablePrefix`), created if missing.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerStoreSql = (
  options: { readonly tablePrefix?: string | undefined } = {}
): Layer.Layer<ThreadStore, CodexError.CodexError, SqlClient.SqlClient> =>
  Layer.effect(ThreadStore, ThreadStore_.makeSql(options))

/**
 * The store in memory: for one process (the embedded cluster, tests), where
 * keys never move to another runner.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerStoreMemory: Layer.Layer<ThreadStore> = Layer.sync(ThreadStore, ThreadStore_.makeMemory)

// =============================================================================
// Retention
// =============================================================================

/**
 * How much of the {@link ThreadStore} a cluster keeps; without it, the store
 * keeps everything. Each field unset keeps everything of its kind:
 *
 * - `turnsPerKey`: the journal keeps the newest N finished turns of each key.
 *   A `turnKey` whose entry is gone runs again when sent again (its stored
 *   result went with the entry).
 * - `turnMaxAge`: finished turns last touched longer ago leave the journal.
 * - `threadMaxAge`: a key with nothing touched for this long (no turn began
 *   or ended, no history stored) is forgotten whole: its thread record,
 *   rollout and journal. Its next message starts a new thread. Make it much
 *   longer than the entities' `maxIdleTime`.
 * - `every`: how often the store is pruned (default 1 hour; first at start).
 *
 * A running turn's entry stays whatever its age (it tells a redelivered
 * message from a new one). The rollout of a key's thread is its history, and
 * is kept whole while the key is: a runner that gets the key resumes the
 * thread from it.
 *
 * The cluster's own message storage keeps every answered `Run` with its reply
 * (the turn's result) unless pruned: `Run`s answered longer ago than
 * `turnMaxAge` (or `threadMaxAge`, when it is the only age), and at least a
 * minute ago (their caller has read the answer), go too, with their replies.
 * That is effect's in-memory storage (the embedded cluster), or its SQL
 * tables `cluster_messages` and `cluster_replies` (the ones
 * {@link layerRunner} uses) when a `SqlClient` is in context. A message not
 * answered yet always stays. `turnsPerKey` alone prunes no messages.
 *
 * @category models
 * @since 0.1.0
 */
export interface Retention extends ThreadStore_.Retention {
  readonly every?: Duration.Input | undefined
}

/**
 * What one prune removed: journal entries (`turns`), keys forgotten whole
 * (`keys`), and answered `Run` messages of the cluster's message storage
 * with their replies (`messages`).
 *
 * @category models
 * @since 0.1.0
 */
export interface Pruned extends ThreadStore_.Pruned {
  readonly messages: number
}

const checkRetention = (retention: Retention): Effect.Effect<void, CodexError.CodexError> => {
  const perKey = retention.turnsPerKey
  return perKey === undefined || (Number.isInteger(perKey) && perKey >= 0)
    ? Effect.void
    : Effect.fail(CodexError.make(
      new CodexError.InvalidOptions({ description: `retention.turnsPerKey must be a whole number >= 0, got ${perKey}` })
    ))
}

// The store, then the message storage found in context (see Retention).
const pruneAll = (
  store: Store,
  messages: MessageRetention.Pruner | undefined,
  retention: Retention
): Effect.Effect<Pruned, CodexError.CodexError> =>
  Effect.gen(function*() {
    const pruned = yield* store.prune(retention)
    if (messages === undefined) return { ...pruned, messages: 0 }
    const { keysBefore, turnsBefore } = ThreadStore_.cutoffs(retention, yield* Clock.currentTimeMillis)
    const before = turnsBefore ?? keysBefore
    return { ...pruned, messages: before === undefined ? 0 : yield* messages(before) }
  })

/**
 * Prunes the {@link ThreadStore}, and the cluster's message storage when it
 * is in context (see {@link Retention}), once, as `retention` says (its
 * `every` is not used): for a prune run by hand or by your own schedule.
 *
 * @category retention
 * @since 0.1.0
 */
export const prune = (retention: Retention): Effect.Effect<Pruned, CodexError.CodexError, ThreadStore> =>
  Effect.gen(function*() {
    yield* checkRetention(retention)
    const store = yield* ThreadStore
    return yield* pruneAll(store, yield* MessageRetention.find(CodexThread.CodexThread.type), retention)
  })

/**
 * Prunes the {@link ThreadStore} on a schedule, on one runner of the
 * cluster at a time (a cluster singleton named
 * `"effect-codex/cluster/retention"`): at start, then every
 * `retention.every`. A prune that fails is logged and tried again at the next
 * tick. {@link layerRunner} and {@link layerEmbedded} include it when given
 * `retention`.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerRetention = (
  retention: Retention
): Layer.Layer<never, CodexError.CodexError, ThreadStore | Sharding.Sharding> =>
  Layer.unwrap(Effect.gen(function*() {
    yield* checkRetention(retention)
    const store = yield* ThreadStore
    const messages = yield* MessageRetention.find(CodexThread.CodexThread.type)
    const once = pruneAll(store, messages, retention).pipe(
      Effect.tap((pruned) =>
        pruned.turns + pruned.keys + pruned.messages === 0
          ? Effect.void
          : Effect.logDebug("effect-codex cluster: pruned the thread store").pipe(Effect.annotateLogs({ ...pruned }))
      ),
      Effect.catch((error) =>
        Effect.logWarning("effect-codex cluster: could not prune the thread store; trying again at the next tick").pipe(
          Effect.annotateLogs({ error: error.message })
        )
      )
    )
    // The singleton's fiber is interrupted when its shard moves or the runner stops; a prune is a few
    // short transactions, so nothing needs finishing.
    return Singleton.make(
      "effect-codex/cluster/retention",
      Effect.repeat(once, Schedule.spaced(retention.every ?? "1 hour"))
    )
  }))

// The entity layer, with the scheduled prune beside it when a retention is given.
const withRetention = <E, R>(
  entity: Layer.Layer<never, E, R>,
  retention: Retention | undefined
): Layer.Layer<never, E | CodexError.CodexError, R | ThreadStore | Sharding.Sharding> =>
  retention === undefined ? entity : Layer.merge(entity, layerRetention(retention))

// =============================================================================
// Entities
// =============================================================================

/**
 * How a runner serves its keys.
 *
 * @category models
 * @since 0.1.0
 */
export interface EntityOptions {
  /**
   * The options of the thread started for a key: its `cwd` (a directory on
   * this runner: see docs/scaling.md on workspaces), model, sandbox, tools.
   * They are given again when the thread is restored on another runner.
   */
  readonly thread?: ((key: string) => Thread.StartOptions) | undefined
  /** How long an interrupted turn may take to end (default 5 seconds). */
  readonly interruptTimeout?: Duration.Input | undefined
  /**
   * How long a key stays on its runner with nothing to do before it is
   * released (its thread is then unsubscribed, so codex may unload it).
   * Default: the cluster's `entityMaxIdleTime` (1 minute).
   */
  readonly maxIdleTime?: Duration.Input | undefined
}

/**
 * Registers the `CodexThread` entity on this runner: its keys' threads run on
 * the `Codex` service in context (a `CodexPool` for a runner), their history
 * goes to the {@link ThreadStore}. One message at a time per key (`Run`,
 * `Stream`); `Steer`, `Interrupt` and `Describe` run beside a turn.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerEntity = (
  options: EntityOptions = {}
): Layer.Layer<never, never, Codex.Codex | Sharding.Sharding | ThreadStore> =>
  Layer.unwrap(Effect.gen(function*() {
    const store = yield* ThreadStore
    const loaded: ThreadEntity.Loaded = new Map()
    return CodexThread.CodexThread.toLayer(
      ThreadEntity.build(store, loaded, options),
      options.maxIdleTime === undefined ? {} : { maxIdleTime: options.maxIdleTime }
    )
  }))

// =============================================================================
// Runner and client over sockets
// =============================================================================

/**
 * How runners and clients talk: `serialization` (`"binary"`, the default, or
 * `"ndjson"`; every process of a cluster must use the same) and any
 * `ShardingConfig` field (poll intervals, shard counts...).
 *
 * @category models
 * @since 0.1.0
 */
export interface SocketOptions {
  readonly serialization?: "binary" | "ndjson" | undefined
  readonly shardingConfig?: Partial<ShardingConfig.ShardingConfig["Service"]> | undefined
}

/**
 * Options of {@link layerRunner}.
 *
 * @category models
 * @since 0.1.0
 */
export interface RunnerOptions extends EntityOptions, SocketOptions {
  /** The address other runners and clients reach this runner at. */
  readonly host: string
  readonly port: number
  /** Where to listen, when not at `host:port` (behind NAT, in a container: `0.0.0.0`). */
  readonly listen?: { readonly host: string; readonly port: number } | undefined
  /**
   * The runner's app-servers. Give every runner its own `codexHome`: codex
   * allows one writer per thread in a CODEX_HOME, and a key's thread is
   * restored into the home of the runner that gets it.
   */
  readonly pool: CodexPool.Options
  /**
   * How runners tell a dead runner: `"ping"` (the default: they ping each
   * other) or `"k8s"` (pod readiness, with `runnerHealthK8s`).
   */
  readonly runnerHealth?: "ping" | "k8s" | undefined
  readonly runnerHealthK8s?: { readonly namespace?: string | undefined; readonly labelSelector?: string | undefined } | undefined
  /** Prune the cluster's store (see {@link Retention}); default: keep everything. */
  readonly retention?: Retention | undefined
}

/**
 * A runner process: listens at `host:port`, joins the cluster whose database
 * is the `SqlClient` in context, and hosts `CodexThread` entities on a
 * `CodexPool`. Provides the runner's `Sharding` (so the process can be a
 * client too) and its `CodexPool`.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerRunner = (
  options: RunnerOptions
): Layer.Layer<
  Sharding.Sharding | Codex.Codex | CodexPool.CodexPool,
  CodexError.CodexError | SocketServer.SocketServerError | Config.ConfigError,
  SqlClient.SqlClient | ChildProcessSpawner.ChildProcessSpawner
> => {
  const sharding = NodeClusterSocket.layer({
    storage: "sql",
    serialization: options.serialization,
    runnerHealth: options.runnerHealth,
    runnerHealthK8s: options.runnerHealthK8s,
    shardingConfig: {
      ...options.shardingConfig,
      runnerAddress: Option.some(RunnerAddress.make(options.host, options.port)),
      ...(options.listen === undefined
        ? {}
        : { runnerListenAddress: Option.some(RunnerAddress.make(options.listen.host, options.listen.port)) })
    }
  })
  return withRetention(layerEntity(options), options.retention).pipe(
    Layer.provideMerge(sharding),
    Layer.provideMerge(CodexPool.layer(options.pool)),
    Layer.provide(layerStoreSql())
  )
}

/**
 * A client process: reaches the runners of the cluster whose database is the
 * `SqlClient` in context, hosts nothing. Use `CodexThread.client` with it.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerClient = (
  options: SocketOptions = {}
): Layer.Layer<Sharding.Sharding, Config.ConfigError, SqlClient.SqlClient> =>
  NodeClusterSocket.layer({
    clientOnly: true,
    storage: "sql",
    serialization: options.serialization,
    shardingConfig: options.shardingConfig
  })

// =============================================================================
// Embedded
// =============================================================================

/**
 * Options of {@link layerEmbedded}.
 *
 * @category models
 * @since 0.1.0
 */
export interface EmbeddedOptions extends EntityOptions {
  readonly shardingConfig?: Partial<ShardingConfig.ShardingConfig["Service"]> | undefined
  /** Prune the in-memory store (see {@link Retention}); default: keep everything. */
  readonly retention?: Retention | undefined
}

/**
 * The embedded default: the cluster's API in this one process, with no
 * database. One runner (this process), messages and history in memory, the
 * threads on the `Codex` in context. `Run` is still persisted, in memory: it
 * survives nothing the process does not. Provides `Sharding`, for
 * `CodexThread.client`.
 *
 * ```ts
 * import { NodeServices } from "@effect/platform-node"
 * import { Console, Effect, Layer } from "effect"
 * import { CodexPool } from "effect-codex"
 * import { CodexCluster, CodexThread } from "effect-codex/cluster"
 *
 * const program = Effect.gen(function*() {
 *   const threads = yield* CodexThread.client
 *   const answer = yield* threads("PR-7").run("Review the diff of PR #7")
 *   yield* Console.log(answer.finalResponse)
 * })
 *
 * const cluster = CodexCluster.layerEmbedded().pipe(
 *   Layer.provide(CodexPool.layer({ size: 2 })),
 *   Layer.provide(NodeServices.layer)
 * )
 * // program.pipe(Effect.provide(cluster), NodeRuntime.runMain)
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layerEmbedded = (
  options: EmbeddedOptions = {}
): Layer.Layer<Sharding.Sharding, CodexError.CodexError, Codex.Codex> =>
  withRetention(layerEntity(options), options.retention).pipe(
    Layer.provideMerge(layerShardingEmbedded(options.shardingConfig)),
    Layer.provide(layerStoreMemory)
  )

/**
 * The `Sharding` of {@link layerEmbedded} alone: this process as the one
 * runner, the cluster's messages in memory. For composing an embedded runner
 * by hand (with {@link layerEntity} and a {@link ThreadStore}).
 *
 * @category layers
 * @since 0.1.0
 */
export const layerShardingEmbedded = (
  shardingConfig?: Partial<ShardingConfig.ShardingConfig["Service"]> | undefined
): Layer.Layer<Sharding.Sharding> =>
  Sharding.layer.pipe(
    Layer.provideMerge(Runners.layerNoop),
    Layer.provideMerge(MessageStorage.layerMemory),
    Layer.provide([RunnerStorage.layerMemory, RunnerHealth.layerNoop]),
    Layer.provide(ShardingConfig.layer({
      runnerAddress: Option.some(RunnerAddress.make("embedded", 0)),
      ...shardingConfig
    }))
  ) as Layer.Layer<Sharding.Sharding>
