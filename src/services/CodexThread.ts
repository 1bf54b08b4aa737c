/**
 * A Codex thread as an Effect Cluster entity: one thread per application key
 * (a ticket, a pull request, a customer), placed on one runner of the cluster,
 * with its history kept in the cluster's database so that it survives the
 * runner.
 *
 * This module is the protocol, shared by runners and clients: the entity
 * {@link CodexThread}, its RPCs and their schemas, and {@link client}, a typed
 * handle per key whose errors are `CodexError`. The runners are built with
 * `CodexCluster` (`effect-codex/cluster`).
 *
 * ```ts
 * import { Console, Effect, Stream } from "effect"
 * import { TurnEvent } from "effect-codex"
 * import { CodexThread } from "effect-codex/cluster"
 *
 * const program = Effect.gen(function*() {
 *   const threads = yield* CodexThread.client
 *   const ticket = threads("T-1042")
 *   const result = yield* ticket.run("Reproduce the bug in T-1042.md and write a failing test.")
 *   yield* Console.log(result.finalResponse, "on", result.runner, "attempt", result.attempt)
 *   // the next turn on the same key sees the earlier one, whichever runner serves it
 *   yield* ticket.stream("Now fix it.").pipe(TurnEvent.textDeltas, Stream.runForEach(Console.log))
 * })
 * ```
 *
 * @stability unstable
 * @since 0.1.0
 */
import { Effect, Predicate, Schema, Stream } from "../schema/internal/effect.ts"
import * as ClusterSchema from "effect/cluster/ClusterSchema"
import * as Entity from "effect/cluster/Entity"
import type * as Sharding from "effect/cluster/Sharding"
import * as Rpc from "effect/rpc/Rpc"
import * as CodexError from "../schema/CodexError.ts"
import type * as Protocol from "../schema/generated/Protocol.gen.ts"
import type * as Input from "../schema/Input.ts"
import type * as OutputSchema from "../schema/OutputSchema.ts"
import type * as TurnEvent from "../streams/TurnEvent.ts"
import type * as TurnResultModule from "../streams/TurnResult.ts"
import type * as Turn from "./Turn.ts"

// =============================================================================
// Wire schemas
// =============================================================================

// Protocol values (items, events, usage) travel as plain JSON: the generated protocol unions have
// untagged members the cluster's binary serialization cannot tell apart, and the runner built them
// from codex's JSON in the first place. The receiving side checks only their outer shape.
const opaque = <T>(expected: string, is: (u: unknown) => boolean) =>
  Schema.Unknown.pipe(Schema.decodeTo(Schema.declare((u): u is T => is(u), { expected })))

const isInput = (u: unknown): boolean => typeof u === "string" || Predicate.isObject(u) || Array.isArray(u)

/**
 * The input of a turn (`Input.Input`: text, an input item, or a list of them).
 *
 * @category schemas
 * @since 0.1.0
 */
export const InputSchema = opaque<Input.Input>("a turn input", isInput)

/**
 * The `turn/start` options a cluster turn may carry: `Turn.Options` without
 * the client-side `interruptTimeout` (the runner's own applies).
 *
 * @category models
 * @since 0.1.0
 */
export type TurnOptions = Omit<Turn.Options, "interruptTimeout">

/**
 * Schema of {@link TurnOptions}.
 *
 * @category schemas
 * @since 0.1.0
 */
export const TurnOptionsSchema = opaque<TurnOptions>("turn options", Predicate.isObject)

/**
 * What a turn sent to a key carries: its input, its options, a raw JSON Schema
 * for structured output, and an optional `turnKey`. A `turnKey` names the turn
 * within its key: a second message with the same `turnKey` gets the stored
 * result of the first instead of running again (without one, only the
 * cluster's redelivery of the same message is recognized).
 *
 * @category schemas
 * @since 0.1.0
 */
export const TurnRequest = Schema.Struct({
  input: InputSchema,
  options: Schema.optional(TurnOptionsSchema),
  outputSchema: Schema.optional(opaque<OutputSchema.JsonSchemaObject>("a JSON Schema object", Predicate.isObject)),
  turnKey: Schema.optional(Schema.String)
})

/**
 * The type of {@link TurnRequest}.
 *
 * @category models
 * @since 0.1.0
 */
export type TurnRequest = typeof TurnRequest.Type

/**
 * The result of a turn run through the cluster: the `TurnResult` of the turn,
 * plus where and how it ran.
 *
 * - `key`: the application key; `runner`: the address (`host:port`) of the
 *   runner that ran it.
 * - `attempt`: 1 on the first delivery; more when the cluster delivered the
 *   message again because the runner running it died (at-least-once): the
 *   turn then ran again, on the history as it was before it (what the dead
 *   runner's turn did to the workspace stays done).
 * - `replayed`: the turn had already finished (the same message, or the same
 *   `turnKey`): this is its stored result, nothing ran.
 * - `output`: the final answer parsed as JSON, when `outputSchema` was given.
 *
 * @category models
 * @since 0.1.0
 */
export interface TurnResult extends TurnResultModule.TurnResult {
  readonly key: string
  readonly runner: string
  readonly attempt: number
  readonly replayed: boolean
  readonly output?: unknown
}

/**
 * Schema of {@link TurnResult}.
 *
 * @category schemas
 * @since 0.1.0
 */
export const TurnResult: Schema.Codec<TurnResult, unknown> = Schema.Struct({
  key: Schema.String,
  runner: Schema.String,
  attempt: Schema.Number,
  replayed: Schema.Boolean,
  threadId: Schema.String,
  turnId: Schema.String,
  status: Schema.Literals(["completed", "interrupted"]),
  finalResponse: Schema.optionalKey(Schema.String),
  items: opaque<ReadonlyArray<Protocol.ThreadItem>>("thread items", Array.isArray),
  // Absent rather than `undefined` on the wire (see `wire`): the JSON codec of stored replies turns an
  // undefined opaque value into null.
  usage: Schema.optionalKey(opaque<Protocol.ThreadTokenUsage>("token usage", Predicate.isObject)),
  durationMs: Schema.Number,
  turn: opaque<Protocol.Turn>("a turn", Predicate.isObject),
  output: Schema.optionalKey(Schema.Unknown)
}) as unknown as Schema.Codec<TurnResult, unknown>

/**
 * A {@link TurnResult} as it is sent: without the keys whose value is
 * `undefined` (`finalResponse`, `usage`), which {@link TurnResult} leaves out.
 *
 * @category constructors
 * @since 0.1.0
 */
export const wire = (result: TurnResult): TurnResult => {
  const out: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(result)) {
    if (value !== undefined) out[name] = value
  }
  return out as unknown as TurnResult
}

/**
 * Schema of a `TurnEvent`, as streamed by {@link StreamEvents}.
 *
 * @category schemas
 * @since 0.1.0
 */
export const TurnEventSchema = opaque<TurnEvent.TurnEvent>(
  "a turn event",
  (u) => Predicate.isObject(u) && typeof (u as { _tag?: unknown })._tag === "string"
)

/**
 * The method of the event a {@link StreamEvents} stream starts with when it
 * runs again: its runner died mid-turn and the client sent it to the key's
 * next owner. The events of the first attempt came before it.
 *
 * @category constants
 * @since 0.1.0
 */
export const REDELIVERED = "effect-codex/cluster/redelivered"

/**
 * The event that tells a stream's reader its turn runs again (see
 * {@link REDELIVERED}): `params` has the `attempt` (2, 3...), the runner
 * that had it and the one that runs it now.
 *
 * @category models
 * @since 0.1.0
 */
export interface Redelivered extends TurnEvent.Other {
  readonly method: typeof REDELIVERED
  readonly params: { readonly attempt: number; readonly previousRunner: string; readonly runner: string }
}

/**
 * Makes a {@link Redelivered} event.
 *
 * @category constructors
 * @since 0.1.0
 */
export const redelivered = (params: Redelivered["params"]): Redelivered => ({ _tag: "Other", method: REDELIVERED, params })

/**
 * Whether a streamed event says the turn runs again (see {@link REDELIVERED}).
 *
 * @category guards
 * @since 0.1.0
 */
export const isRedelivered = (event: TurnEvent.TurnEvent): event is Redelivered =>
  event._tag === "Other" && event.method === REDELIVERED

/**
 * What a key knows about itself, from {@link Describe}.
 *
 * @category models
 * @since 0.1.0
 */
export const Description = Schema.Struct({
  key: Schema.String,
  runner: Schema.String,
  threadId: Schema.UndefinedOr(Schema.String),
  turnRunning: Schema.Boolean
})

/**
 * The type of {@link Description}.
 *
 * @category models
 * @since 0.1.0
 */
export type Description = typeof Description.Type

// =============================================================================
// RPCs and the entity
// =============================================================================

/**
 * Runs a turn on the key's thread and returns its result. Persisted: the
 * message is stored in the cluster's database and delivered again to the
 * key's next runner if its runner dies before replying (at-least-once; see
 * {@link TurnResult} `attempt`).
 *
 * @category rpcs
 * @since 0.1.0
 */
export const Run = Rpc.make("Run", { payload: TurnRequest, success: TurnResult, error: CodexError.CodexError })
  .annotate(ClusterSchema.Persisted, true)

/**
 * Runs a turn on the key's thread and streams its events (ending after
 * `TurnCompleted`). Not persisted; but when its runner dies, the client sends
 * it to the key's next owner, where the turn runs again: the stream then goes
 * on with a {@link Redelivered} event and the new attempt's events.
 *
 * @category rpcs
 * @since 0.1.0
 */
export const StreamEvents = Rpc.make("Stream", {
  payload: TurnRequest,
  success: TurnEventSchema,
  error: CodexError.CodexError,
  stream: true
})

/**
 * Adds input to the key's running turn (`turn/steer`); runs beside it.
 * Succeeds with the id of the turn that took the input; fails with
 * `InvalidOptions` when no turn is running.
 *
 * @category rpcs
 * @since 0.1.0
 */
export const Steer = Rpc.make("Steer", {
  payload: { input: InputSchema },
  success: Schema.Struct({ turnId: Schema.String }),
  error: CodexError.CodexError
})

/**
 * Interrupts the key's running turn and waits for it to end; runs beside it.
 * Succeeds with whether a turn was running.
 *
 * @category rpcs
 * @since 0.1.0
 */
export const Interrupt = Rpc.make("Interrupt", {
  success: Schema.Struct({ interrupted: Schema.Boolean }),
  error: CodexError.CodexError
})

/**
 * Where the key lives and its thread id (if it has one yet); runs beside a turn.
 *
 * @category rpcs
 * @since 0.1.0
 */
export const Describe = Rpc.make("Describe", { success: Description, error: CodexError.CodexError })

/**
 * The entity: one per application key, named `"effect-codex/Thread"`.
 *
 * @category entities
 * @since 0.1.0
 */
export const CodexThread = Entity.make("effect-codex/Thread", [Run, StreamEvents, Steer, Interrupt, Describe])

// =============================================================================
// Client
// =============================================================================

/**
 * A key's thread, seen from anywhere in the cluster. Every call goes to the
 * runner that owns the key (starting the thread there on its first turn, or
 * restoring it from the database when the key moved).
 *
 * @category models
 * @since 0.1.0
 */
export interface Handle {
  readonly key: string
  /** Runs a turn to its end (persisted: see {@link Run}). */
  readonly run: (
    input: Input.Input,
    options?: RunOptions
  ) => Effect.Effect<TurnResult, CodexError.CodexError>
  /** Runs a turn and streams its events (see {@link StreamEvents}). */
  readonly stream: (
    input: Input.Input,
    options?: RunOptions
  ) => Stream.Stream<TurnEvent.TurnEvent, CodexError.CodexError>
  /** Steers the running turn (see {@link Steer}). */
  readonly steer: (input: Input.Input) => Effect.Effect<{ readonly turnId: string }, CodexError.CodexError>
  /** Interrupts the running turn (see {@link Interrupt}). */
  readonly interrupt: Effect.Effect<{ readonly interrupted: boolean }, CodexError.CodexError>
  /** Where the key lives (see {@link Describe}). */
  readonly describe: Effect.Effect<Description, CodexError.CodexError>
}

/**
 * Options of `handle.run` and `handle.stream`.
 *
 * @category models
 * @since 0.1.0
 */
export interface RunOptions extends TurnOptions {
  /** A raw JSON Schema for the final answer; the result's `output` is the parsed answer. */
  readonly outputSchema?: OutputSchema.JsonSchemaObject | undefined
  /** Names the turn within its key, so that sending it twice runs it once (see {@link TurnRequest}). */
  readonly turnKey?: string | undefined
}

const toRequest = (input: Input.Input, options: RunOptions | undefined): TurnRequest => {
  if (options === undefined) return { input }
  const { outputSchema, turnKey, ...turnOptions } = options
  return {
    input,
    ...(Object.keys(turnOptions).length > 0 ? { options: turnOptions } : {}),
    ...(outputSchema === undefined ? {} : { outputSchema }),
    ...(turnKey === undefined ? {} : { turnKey })
  }
}

/**
 * The cluster's own failures (a full mailbox, storage that fails, a key no
 * runner takes) as a `CodexError`: a full mailbox is `Overloaded`
 * (retryable), the others a `TransportError`.
 *
 * @category errors
 * @since 0.1.0
 */
export const fromClusterError = (rpc: string) => (error: unknown): CodexError.CodexError => {
  if (CodexError.isCodexError(error)) return error
  const tag = Predicate.hasProperty(error, "_tag") ? String(error._tag) : "UnknownError"
  if (tag === "MailboxFull") return CodexError.make(new CodexError.Overloaded({ method: `cluster/${rpc}` }))
  const message = Predicate.hasProperty(error, "message") && typeof error.message === "string" && error.message !== ""
    ? `: ${error.message}`
    : ""
  return CodexError.make(new CodexError.TransportError({ description: `cluster ${rpc}: ${tag}${message}`, cause: error }))
}

/**
 * The client of {@link CodexThread}: a {@link Handle} per key. Needs the
 * cluster's `Sharding` (a runner's, or a client-only one from
 * `CodexCluster.layerClient`).
 *
 * @category clients
 * @since 0.1.0
 */
export const client: Effect.Effect<(key: string) => Handle, never, Sharding.Sharding> = Effect.map(
  CodexThread.client,
  (clientFor) => (key: string): Handle => {
    const rpc = clientFor(key)
    return {
      key,
      run: (input, options) => rpc.Run(toRequest(input, options)).pipe(Effect.mapError(fromClusterError("Run"))),
      stream: (input, options) => rpc.Stream(toRequest(input, options)).pipe(Stream.mapError(fromClusterError("Stream"))),
      steer: (input) => rpc.Steer({ input }).pipe(Effect.mapError(fromClusterError("Steer"))),
      interrupt: rpc.Interrupt().pipe(Effect.mapError(fromClusterError("Interrupt"))),
      describe: rpc.Describe().pipe(Effect.mapError(fromClusterError("Describe")))
    }
  }
)
