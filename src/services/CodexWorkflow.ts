/**
 * Codex turns as durable workflow activities (`effect/workflow`).
 *
 * A workflow's body runs again from the top on every replay (after it
 * suspended, or in a new process after a crash); finished activities return
 * their stored result instead of running. These helpers make a thread and a
 * turn such activities:
 *
 * - {@link thread}: a thread started once per workflow execution; its id is the
 *   activity's stored result, so a replay in the same process reuses the
 *   thread and a replay in a new process resumes it (`Codex.resumeThread`)
 *   when one of its turns has to run.
 * - {@link turn}: a turn keyed by name; its result ({@link TurnRecord}, a
 *   Schema: what a turn returns must be serializable) is stored, so a replay
 *   does not run it again. A turn that was in flight when its process died
 *   runs again (at-least-once), unless the thread's history shows it
 *   completed: then its result is read back from there. `recovery` on the
 *   record and a log line say which happened.
 * - `retry`: a `Schedule` applied while the error is `CodexError.isRetryable`.
 *
 * Engines: {@link layerMemory} (no database, one process: not durable) and
 * {@link layerSql} (the cluster workflow engine on one runner over a
 * `SqlClient`, e.g. `@effect/sql-pg`'s `PgClient`: durable).
 *
 * ```ts
 * import { NodeRuntime, NodeServices } from "@effect/platform-node"
 * import { Console, Effect, Schema } from "effect"
 * import { Workflow } from "effect/workflow"
 * import { AppServer, Codex, CodexError } from "effect-codex"
 * import { CodexWorkflow } from "effect-codex/workflow"
 *
 * const Fix = Workflow.make("Fix", {
 *   payload: { ticket: Schema.String },
 *   success: Schema.String,
 *   error: CodexError.CodexError,
 *   idempotencyKey: ({ ticket }) => ticket
 * })
 *
 * const FixLive = Fix.toLayer(({ ticket }) =>
 *   Effect.gen(function*() {
 *     const thread = yield* CodexWorkflow.thread("fixer", { cwd: `/srv/checkouts/${ticket}` })
 *     const fix = yield* CodexWorkflow.turn(thread, "fix", `Fix ${ticket} and run the tests.`)
 *     const check = yield* CodexWorkflow.turn(thread, "check", "Did every test pass? Answer yes or no.")
 *     return `${fix.finalResponse}\n${check.finalResponse}`
 *   })
 * )
 *
 * Fix.execute({ ticket: "T-101" }).pipe(
 *   Effect.flatMap(Console.log),
 *   Effect.provide(FixLive),
 *   Effect.provide(CodexWorkflow.layerMemory),
 *   Effect.provide(Codex.layer),
 *   Effect.provide(AppServer.layer()),
 *   Effect.provide(NodeServices.layer),
 *   NodeRuntime.runMain
 * )
 * ```
 *
 * @stability unstable
 * @since 0.1.0
 */
import { NodeCrypto } from "@effect/platform-node"
import { Effect, Layer, Option, Schedule, Schema, Scope } from "../schema/internal/effect.ts"
// Deep paths: only the modules used are loaded, not every cluster module.
import * as ClusterWorkflowEngine from "effect/cluster/ClusterWorkflowEngine"
import type * as Sharding from "effect/cluster/Sharding"
import type * as ShardingConfig from "effect/cluster/ShardingConfig"
import * as SingleRunner from "effect/cluster/SingleRunner"
import type { ConfigError } from "effect/Config"
import type * as SqlClient from "effect/sql/SqlClient"
import * as Activity from "effect/workflow/Activity"
import * as WorkflowEngine from "effect/workflow/WorkflowEngine"
import * as CodexError from "../schema/CodexError.ts"
import * as ProtocolLazy from "../schema/generated/ProtocolLazy.gen.ts"
import type * as Input from "../schema/Input.ts"
import * as OutputSchema from "../schema/OutputSchema.ts"
import * as TurnResult from "../streams/TurnResult.ts"
import * as Codex from "./Codex.ts"
import * as WorkflowTurns from "./internal/workflowTurns.ts"
import type * as Thread from "./Thread.ts"
import type * as Turn from "./Turn.ts"

// =============================================================================
// Turn records
// =============================================================================

/**
 * How a turn activity got its result: `"ran"` (the turn ran in this run),
 * `"ranAgain"` (an earlier run started it and died before storing the result,
 * and the thread's history does not show it completed: it ran once more, so
 * its commands and edits may have run twice), `"fromHistory"` (an earlier run
 * started it and died after codex completed it: the result is read back from
 * the thread's history, nothing ran again).
 *
 * @category models
 * @since 0.1.0
 */
export const Recovery = Schema.Literals(["ran", "ranAgain", "fromHistory"])

/**
 * The type of {@link Recovery}.
 *
 * @category models
 * @since 0.1.0
 */
export type Recovery = typeof Recovery.Type

const recordFields = {
  threadId: Schema.String,
  turnId: Schema.String,
  status: Schema.Literals(["completed", "interrupted"]),
  finalResponse: Schema.optional(Schema.String),
  durationMs: Schema.Number,
  usage: Schema.optional(ProtocolLazy.ThreadTokenUsage()),
  recovery: Recovery
}

/**
 * What a turn activity stores and returns: the fields of a `TurnResult` a
 * later step needs (its items are left out: they can be large, and the
 * thread's history keeps them), and how the result was obtained. `usage` is
 * absent when the result was read back from history.
 *
 * @category models
 * @since 0.1.0
 */
export const TurnRecord = Schema.Struct(recordFields)

/**
 * The type of {@link TurnRecord}.
 *
 * @category models
 * @since 0.1.0
 */
export interface TurnRecord extends Schema.Schema.Type<typeof TurnRecord> {}

/**
 * A {@link TurnRecord} with the final answer decoded by the turn's `outputSchema`.
 *
 * @category models
 * @since 0.1.0
 */
export interface TurnRecordWithOutput<A> extends TurnRecord {
  readonly output: A
}

/**
 * The Schema of a {@link TurnRecordWithOutput} for an output schema.
 *
 * @category schemas
 * @since 0.1.0
 */
export const TurnRecordWithOutput = <S extends Schema.Top>(output: S) => Schema.Struct({ ...recordFields, output })

// =============================================================================
// Threads
// =============================================================================

/**
 * Options of {@link thread}: how to start the thread the first time
 * (`Codex.startThread` options), and how to resume it in a later process.
 * A thread that must be resumed cannot be `ephemeral` (codex keeps no
 * history of those).
 *
 * @category models
 * @since 0.1.0
 */
export interface ThreadOptions extends Thread.StartOptions {
  /** Options of `Codex.resumeThread` when a replay in a new process resumes the thread. */
  readonly resume?: Thread.ResumeOptions | undefined
  /** The thread's name in codex (`thread.setName`). Default: the workflow's tag and `name`, as `"Tag/name"`. */
  readonly threadName?: string | undefined
}

// Threads this process started or resumed, per Codex service: a replay in the
// same process reuses the handle (and its server, in a pool) instead of
// resuming a thread that is already loaded. Kept while their execution runs
// (suspended included): its end forgets them, so a process that runs
// executions for months keeps only the live ones.
const handles = new WeakMap<object, Map<string, Thread.Thread>>()

/**
 * How many thread handles this process keeps for replays on `codex` (for tests).
 *
 * @internal
 */
export const keptHandles = (codex: object): number => handles.get(codex)?.size ?? 0

const handlesOf = (codex: object): Map<string, Thread.Thread> => {
  let map = handles.get(codex)
  if (map === undefined) {
    map = new Map()
    handles.set(codex, map)
  }
  return map
}

const activityName = (kind: string, name: string) => `effect-codex/${kind}/${name}`

/**
 * A workflow's thread: its id (stored by the workflow engine) and the way to
 * a handle on it in this process.
 *
 * @category models
 * @since 0.1.0
 */
export interface WorkflowThread {
  /** The name given to {@link thread}. */
  readonly name: string
  /** The thread id. */
  readonly id: string
  /**
   * The thread's handle: the one this process started, or the thread resumed
   * (`Codex.resumeThread`, once per process) when an earlier process started
   * it. {@link turn} asks for it only when a turn has to run, so a replay of
   * stored turns loads nothing.
   */
  readonly handle: Effect.Effect<Thread.Thread, CodexError.CodexError>
}

/**
 * A thread for this workflow execution, started once: the first run starts
 * it (an activity whose stored result is the thread id); a replay in the
 * same process gets the same handle, one in a new process resumes it with
 * `Codex.resumeThread` when a turn needs it. `name` tells the threads of one
 * workflow apart.
 *
 * A crash between `thread/start` and storing its id starts another thread
 * in the next run (the first one stays unused in codex's history).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { CodexWorkflow } from "effect-codex/workflow"
 *
 * // inside a Workflow's body
 * const body = Effect.gen(function*() {
 *   const thread = yield* CodexWorkflow.thread("reviewer", { sandbox: "read-only" })
 *   return thread.id
 * })
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const thread = Effect.fnUntraced(function*(
  name: string,
  options: ThreadOptions = {}
): Effect.fn.Return<
  WorkflowThread,
  CodexError.CodexError,
  Codex.Codex | WorkflowEngine.WorkflowEngine | WorkflowEngine.WorkflowInstance
> {
  const codex = yield* Codex.Codex
  const instance = yield* WorkflowEngine.WorkflowInstance
  const known = handlesOf(codex)
  const { resume, threadName, ...start } = options
  const id = yield* Activity.make({
    name: activityName("thread", name),
    success: Schema.String,
    error: CodexError.CodexError,
    execute: Effect.gen(function*() {
      const started = yield* codex.startThread(start)
      // codex writes a thread's rollout with its first turn or its name: a
      // thread stored without either cannot be resumed by the next process
      // ("no rollout found"), as after a crash before the first turn.
      if (start.ephemeral !== true) yield* started.setName(threadName ?? `${instance.workflow._tag}/${name}`)
      known.set(started.id, started)
      return started.id
    })
  })
  // every run has a scope of its own, closed when the execution ends
  yield* Scope.addFinalizer(instance.scope, Effect.sync(() => void known.delete(id)))
  const handle = Effect.suspend(() => {
    const loaded = known.get(id)
    if (loaded !== undefined) return Effect.succeed(loaded)
    return Effect.logInfo(`workflow thread "${name}": resuming ${id} (started by an earlier run)`).pipe(
      Effect.andThen(codex.resumeThread(id, resume)),
      Effect.tap((resumed) => Effect.sync(() => known.set(id, resumed)))
    )
  })
  return { name, id, handle }
})

// =============================================================================
// Turns
// =============================================================================

/**
 * Options of {@link turn}: the turn's options (its `clientUserMessageId` is
 * the helper's: it finds the turn in the thread's history), and `retry`.
 *
 * @category models
 * @since 0.1.0
 */
export interface TurnOptions extends Omit<Turn.Options, "clientUserMessageId"> {
  /**
   * Runs the turn again, on the same thread, while it fails with an error
   * `CodexError.isRetryable` accepts (overloaded, timeout, a transient model
   * failure), on this schedule. Any other error fails the activity at once.
   * Default: no retry. The retries happen inside the activity: their waits
   * are not durable, and a crash starts the turn over.
   */
  readonly retry?: Schedule.Schedule<unknown, CodexError.CodexError> | undefined
}

/**
 * Options of {@link turn} with structured output: an Effect Schema for the
 * final answer (it is also part of the stored record, so it must encode to
 * JSON).
 *
 * @category models
 * @since 0.1.0
 */
export interface TurnOptionsWithOutput<S> extends TurnOptions {
  readonly outputSchema: S
}

type OutputCodec = Schema.Top & { readonly DecodingServices: never; readonly EncodingServices: never }

type TurnRequirements = WorkflowEngine.WorkflowEngine | WorkflowEngine.WorkflowInstance

/**
 * Runs a turn on a workflow's `thread` as an activity named `name` (unique
 * within the workflow). The first run runs it and stores its {@link TurnRecord}; a
 * replay returns the stored record without running anything.
 *
 * A turn that was in flight when its process died (so no record was stored)
 * is looked up in the thread's history when the workflow runs again: if
 * codex completed it, its record is rebuilt from there
 * (`recovery: "fromHistory"`); otherwise it runs again
 * (`recovery: "ranAgain"`: its commands may have run twice). Both are logged
 * at `Warning`.
 *
 * @example
 * ```ts
 * import { Effect, Schedule, Schema } from "effect"
 * import { CodexWorkflow } from "effect-codex/workflow"
 *
 * const Verdict = Schema.Struct({ approve: Schema.Boolean, reason: Schema.String })
 *
 * // inside a Workflow's body
 * const body = Effect.gen(function*() {
 *   const thread = yield* CodexWorkflow.thread("reviewer")
 *   const review = yield* CodexWorkflow.turn(thread, "review", "Review the last commit.", {
 *     outputSchema: Verdict,
 *     retry: Schedule.max([Schedule.exponential("2 seconds"), Schedule.recurs(3)])
 *   })
 *   return review.output.approve
 * })
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const turn: {
  <S extends OutputCodec>(
    thread: WorkflowThread,
    name: string,
    input: Input.Input,
    options: TurnOptionsWithOutput<S>
  ): Effect.Effect<TurnRecordWithOutput<S["Type"]>, CodexError.CodexError, TurnRequirements>
  (
    thread: WorkflowThread,
    name: string,
    input: Input.Input,
    options?: TurnOptions
  ): Effect.Effect<TurnRecord, CodexError.CodexError, TurnRequirements>
} = ((
  thread: WorkflowThread,
  name: string,
  input: Input.Input,
  options: TurnOptions & { readonly outputSchema?: OutputCodec | undefined } = {}
) =>
  Effect.gen(function*() {
    const instance = yield* WorkflowEngine.WorkflowInstance
    const clientId = WorkflowTurns.clientIdOf(instance.executionId, name)
    const { outputSchema, retry, ...turnOptions } = options
    // Stored before the turn starts: a run that finds it stored but the turn's
    // own result missing knows an earlier run died with the turn in flight.
    let startedNow = false
    const startedAt = yield* Activity.make({
      name: activityName("turn-started", name),
      success: Schema.Number,
      execute: Effect.sync(() => {
        startedNow = true
        return Date.now()
      })
    })

    const execute = Effect.gen(function*() {
      const handle = yield* thread.handle
      const runOnce = handle.run(input, {
        ...turnOptions,
        clientUserMessageId: clientId,
        ...(outputSchema === undefined ? {} : { outputSchema })
      } as Turn.Options).pipe(Effect.map((result) => toRecord(result, "ran")))
      const run = retry === undefined ? runOnce : Effect.retry(runOnce, { schedule: retry, while: CodexError.isRetryable })
      if (startedNow) return yield* run
      const output = outputSchema === undefined ? undefined : yield* prepare(outputSchema)
      const recovered = yield* recover(handle, name, clientId, startedAt, output)
      if (Option.isSome(recovered)) return recovered.value
      return { ...(yield* run), recovery: "ranAgain" as const }
    })

    return yield* Activity.make({
      name: activityName("turn", name),
      success: outputSchema === undefined ? TurnRecord : TurnRecordWithOutput(outputSchema),
      error: CodexError.CodexError,
      execute
    })
  })) as never

const prepare = (schema: OutputCodec) =>
  OutputSchema.make(schema).pipe(
    Effect.mapError((error) =>
      CodexError.make(new CodexError.InvalidOptions({ description: `outputSchema at ${error.path}: ${error.message}` }))
    )
  )

const toRecord = (
  result: TurnResult.TurnResult & { readonly output?: unknown },
  recovery: Recovery
): TurnRecord & { readonly output?: unknown } => ({
  threadId: result.threadId,
  turnId: result.turnId,
  status: result.status,
  ...(result.finalResponse === undefined ? {} : { finalResponse: result.finalResponse }),
  durationMs: result.durationMs,
  ...(result.usage === undefined ? {} : { usage: result.usage }),
  recovery,
  ...("output" in result ? { output: result.output } : {})
})

/**
 * After a crash with the turn in flight: its record rebuilt from the thread's
 * history when codex completed it, else `None` (it runs again).
 */
const recover = Effect.fnUntraced(function*(
  thread: Thread.Thread,
  name: string,
  clientId: string,
  startedAt: number,
  output: OutputSchema.OutputSchema<unknown> | undefined
) {
  const found = yield* WorkflowTurns.findByClientId(thread, clientId)
  const when = new Date(startedAt).toISOString()
  if (Option.isNone(found) || found.value.status !== "completed") {
    const seen = Option.isNone(found) ? "not in the thread's history" : `${found.value.status} in the thread's history`
    yield* Effect.logWarning(
      `workflow turn "${name}" was started by an earlier run that did not finish it (at ${when}; ${seen}): running it again`
    )
    return Option.none()
  }
  const stored = found.value
  yield* Effect.logWarning(
    `workflow turn "${name}" was started by an earlier run and completed in codex (at ${when}; turn ${stored.id}): using its result from the thread's history`
  )
  const finalResponse = TurnResult.finalResponseOf(stored.items)
  const record: TurnRecord = {
    threadId: thread.id,
    turnId: stored.id,
    status: "completed",
    ...(finalResponse === undefined ? {} : { finalResponse }),
    durationMs: stored.durationMs ?? 0,
    recovery: "fromHistory"
  }
  if (output === undefined) return Option.some(record)
  const decoded = yield* output.decode(finalResponse ?? "").pipe(
    Effect.mapError((failure) =>
      CodexError.make(new CodexError.OutputDecodeError({ text: failure.text, description: failure.message }))
    )
  )
  return Option.some({ ...record, output: decoded })
})

// =============================================================================
// Engines
// =============================================================================

/**
 * The in-memory workflow engine (`WorkflowEngine.layerMemory`): no database,
 * one process. Replays within the process work (a suspended workflow resumes,
 * finished activities are not run again), but nothing survives the process:
 * after a crash the workflow starts over. For examples, tests and jobs that
 * may simply be run again.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerMemory: Layer.Layer<WorkflowEngine.WorkflowEngine> = WorkflowEngine.layerMemory

/**
 * The durable workflow engine: effect's cluster workflow engine on a single
 * runner (this process), with workflow executions, activity results and
 * runner state in the SQL database of the `SqlClient` provided (PostgreSQL
 * through `@effect/sql-pg`'s `PgClient.layer`; effect creates its tables on
 * first use). A process killed mid-run is resumed by the next one on the same
 * database: finished activities return their stored results.
 *
 * Sharding settings come from the environment (`ShardingConfig.layerFromEnv`)
 * with `shardingConfig` over them. Run one such process per database at a
 * time (several runners need `effect/cluster`'s socket or HTTP runners).
 *
 * @category layers
 * @since 0.1.0
 */
export const layerSql = (options: {
  readonly shardingConfig?: Partial<ShardingConfig.ShardingConfig["Service"]> | undefined
} = {}): Layer.Layer<WorkflowEngine.WorkflowEngine | Sharding.Sharding, ConfigError, SqlClient.SqlClient> =>
  ClusterWorkflowEngine.layer.pipe(
    Layer.provideMerge(SingleRunner.layer({ shardingConfig: options.shardingConfig, runnerStorage: "sql" })),
    Layer.provide(NodeCrypto.layerDigest)
  )
