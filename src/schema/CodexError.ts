/**
 * The one error every effect-codex operation fails with.
 *
 * A `CodexError` carries a `reason`, tagged by `_tag`, that says what went
 * wrong: the process could not start or died, the transport or the protocol
 * broke, the server answered with a JSON-RPC error, a turn failed, and so on.
 * Recover from one reason with `Effect.catchReason`:
 *
 * ```ts
 * import { Effect } from "effect"
 * import { Codex } from "effect-codex"
 *
 * const program = Codex.startThread().pipe(
 *   Effect.flatMap((thread) => thread.run("Fix the failing test")),
 *   Effect.catchReason("CodexError", "TurnFailed", (reason) =>
 *     Effect.succeed(`the model failed: ${reason.message}`))
 * )
 * ```
 *
 * No reason ever carries a secret: API keys travel as `Redacted` values and
 * only reach the child process environment.
 *
 * @stability unstable
 * @since 0.1.0
 */
import { Predicate, Schema } from "./internal/effect.ts"
import * as LazySchema from "./internal/lazySchemas.ts"
import * as ProtocolLazy from "./generated/ProtocolLazy.gen.ts"

const TypeId = "~effect-codex/CodexError" as const
const ReasonTypeId = "~effect-codex/CodexError/Reason" as const

// Every class here is `Schema.Error` as a value and a type, with its schema built on first use
// (LazySchema.ErrorClass): defining them loads nothing of effect/Schema, which is a quarter of a cold import.

/**
 * The codex binary could not be started (missing file, not executable, ...).
 *
 * @category reasons
 * @since 0.1.0
 */
export class SpawnError extends LazySchema.ErrorClass<SpawnError>("effect-codex/CodexError/SpawnError", ["command", "description", "cause"])(() => ({
  _tag: Schema.tag("SpawnError"),
  command: Schema.String,
  description: Schema.String,
  cause: Schema.optional(Schema.Defect())
})) {
  readonly [ReasonTypeId] = ReasonTypeId
  override get message(): string {
    return `Cannot start ${this.command}: ${this.description}`
  }
}

/** How many of the last stderr lines a `ProcessExited` message quotes, and in at most how many characters. */
const MESSAGE_STDERR_LINES = 5
const MESSAGE_STDERR_CHARS = 1024

/**
 * The newest stderr lines that fit in {@link MESSAGE_STDERR_CHARS}, oldest
 * first; the newest line is always there, cut if it alone is too long.
 */
const stderrSummary = (tail: ReadonlyArray<string>): string => {
  const picked: Array<string> = []
  let budget = MESSAGE_STDERR_CHARS
  for (let i = tail.length - 1; i >= 0 && picked.length < MESSAGE_STDERR_LINES; i--) {
    const line = tail[i]!
    if (line.length <= budget) {
      picked.unshift(line)
      budget -= line.length + 3 // " | "
      continue
    }
    if (picked.length === 0) {
      let cut = budget
      // do not split a surrogate pair
      const code = line.charCodeAt(cut - 1)
      if (code >= 0xd800 && code <= 0xdbff) cut--
      picked.unshift(`${line.slice(0, cut)}…`)
    }
    break
  }
  return picked.join(" | ")
}

/**
 * The app-server process exited (or was killed). Every request pending at that
 * moment, every request made afterwards and every open turn fails with it.
 * `exitCode` is `undefined` when a signal ended the process; `stderrTail` holds
 * the last lines the process wrote to stderr (over stdio: at most 50 lines and
 * 16 KiB, each line cut at 8 KiB, with the secrets the process was given
 * replaced by `<redacted>`). The message quotes about 1 KiB of the newest.
 *
 * @category reasons
 * @since 0.1.0
 */
export class ProcessExited extends LazySchema.ErrorClass<ProcessExited>("effect-codex/CodexError/ProcessExited", ["exitCode", "signal", "stderrTail"])(() => ({
  _tag: Schema.tag("ProcessExited"),
  exitCode: Schema.UndefinedOr(Schema.Number),
  signal: Schema.UndefinedOr(Schema.String),
  stderrTail: Schema.Array(Schema.String)
})) {
  readonly [ReasonTypeId] = ReasonTypeId
  override get message(): string {
    const how = this.exitCode !== undefined
      ? `with code ${this.exitCode}`
      : this.signal !== undefined
      ? `on signal ${this.signal}`
      : "unexpectedly"
    const tail = this.stderrTail.length > 0 ? `; stderr: ${stderrSummary(this.stderrTail)}` : ""
    return `codex app-server exited ${how}${tail}`
  }
}

/**
 * Bytes could not be written to or read from the connection (a broken pipe, a
 * WebSocket that failed to open or closed).
 *
 * @category reasons
 * @since 0.1.0
 */
export class TransportError extends LazySchema.ErrorClass<TransportError>("effect-codex/CodexError/TransportError", ["description", "cause"])(() => ({
  _tag: Schema.tag("TransportError"),
  description: Schema.String,
  cause: Schema.optional(Schema.Defect())
})) {
  readonly [ReasonTypeId] = ReasonTypeId
  override get message(): string {
    return this.description
  }
}

/**
 * A message did not match the protocol: params that do not encode, a response
 * that does not decode with the pinned schema, a missing field.
 *
 * @category reasons
 * @since 0.1.0
 */
export class ProtocolError extends LazySchema.ErrorClass<ProtocolError>("effect-codex/CodexError/ProtocolError", ["method", "description", "cause"])(() => ({
  _tag: Schema.tag("ProtocolError"),
  method: Schema.optional(Schema.String),
  description: Schema.String,
  cause: Schema.optional(Schema.Defect())
})) {
  readonly [ReasonTypeId] = ReasonTypeId
  override get message(): string {
    return this.method === undefined ? this.description : `${this.method}: ${this.description}`
  }
}

/**
 * The app-server answered a request with a JSON-RPC error (`-32600` for most
 * invalid requests, `-32603` for internal errors).
 *
 * @category reasons
 * @since 0.1.0
 */
export class RpcError extends LazySchema.ErrorClass<RpcError>("effect-codex/CodexError/RpcError", ["method", "code", "message", "data"])(() => ({
  _tag: Schema.tag("RpcError"),
  method: Schema.String,
  code: Schema.Number,
  message: Schema.String,
  data: Schema.optional(Schema.Unknown)
})) {
  readonly [ReasonTypeId] = ReasonTypeId
}

/**
 * The server kept answering `-32001 "Server overloaded; retry later."` until
 * the `overloadRetry` schedule gave up.
 *
 * @category reasons
 * @since 0.1.0
 */
export class Overloaded extends LazySchema.ErrorClass<Overloaded>("effect-codex/CodexError/Overloaded", ["method"])(() => ({
  _tag: Schema.tag("Overloaded"),
  method: Schema.String
})) {
  readonly [ReasonTypeId] = ReasonTypeId
  override get message(): string {
    return `${this.method}: server overloaded, retries exhausted`
  }
}

/**
 * A request got no answer within `requestTimeout`.
 *
 * @category reasons
 * @since 0.1.0
 */
export class Timeout extends LazySchema.ErrorClass<Timeout>("effect-codex/CodexError/Timeout", ["method"])(() => ({
  _tag: Schema.tag("Timeout"),
  method: Schema.String
})) {
  readonly [ReasonTypeId] = ReasonTypeId
  override get message(): string {
    return `${this.method}: no answer in time`
  }
}

/**
 * A turn ended with status `failed`. `codexErrorInfo` is the protocol's own
 * value, for example `"internalServerError"`, `"usageLimitExceeded"` or
 * `{ responseTooManyFailedAttempts: { httpStatusCode: 429 } }`.
 *
 * @category reasons
 * @since 0.1.0
 */
export class TurnFailed extends LazySchema.ErrorClass<TurnFailed>("effect-codex/CodexError/TurnFailed", ["threadId", "turnId", "message", "codexErrorInfo", "additionalDetails"])(() => ({
  _tag: Schema.tag("TurnFailed"),
  threadId: Schema.String,
  turnId: Schema.String,
  message: Schema.String,
  // Encoded as plain JSON: the protocol's union (open literals, several untagged objects, any string or
  // object) has members the cluster's binary serialization cannot tell apart; the type stays the protocol's.
  codexErrorInfo: Schema.optional(Schema.Json.pipe(Schema.decodeTo(ProtocolLazy.CodexErrorInfo()))),
  additionalDetails: Schema.optional(Schema.NullOr(Schema.String))
})) {
  readonly [ReasonTypeId] = ReasonTypeId
}

/**
 * The final answer of a turn run with an `outputSchema` did not decode. `text`
 * is the raw answer, kept so nothing is lost.
 *
 * @category reasons
 * @since 0.1.0
 */
export class OutputDecodeError extends LazySchema.ErrorClass<OutputDecodeError>("effect-codex/CodexError/OutputDecodeError", ["text", "description"])(() => ({
  _tag: Schema.tag("OutputDecodeError"),
  text: Schema.String,
  description: Schema.String
})) {
  readonly [ReasonTypeId] = ReasonTypeId
  override get message(): string {
    return `The final answer does not match the output schema: ${this.description}`
  }
}

/**
 * Options that cannot work: a config value TOML cannot express, tools without
 * the experimental API, an output schema strict mode cannot represent.
 *
 * @category reasons
 * @since 0.1.0
 */
export class InvalidOptions extends LazySchema.ErrorClass<InvalidOptions>("effect-codex/CodexError/InvalidOptions", ["description"])(() => ({
  _tag: Schema.tag("InvalidOptions"),
  description: Schema.String
})) {
  readonly [ReasonTypeId] = ReasonTypeId
  override get message(): string {
    return this.description
  }
}

/**
 * The connection is closing because the Scope of its layer is closing.
 *
 * @category reasons
 * @since 0.1.0
 */
export class Closed extends LazySchema.ErrorClass<Closed>("effect-codex/CodexError/Closed", [])(() => ({
  _tag: Schema.tag("Closed")
})) {
  readonly [ReasonTypeId] = ReasonTypeId
  override get message(): string {
    return "The codex connection is closed"
  }
}

/**
 * Every reason a {@link CodexError} can carry.
 *
 * @category models
 * @since 0.1.0
 */
export type CodexErrorReason =
  | SpawnError
  | ProcessExited
  | TransportError
  | ProtocolError
  | RpcError
  | Overloaded
  | Timeout
  | TurnFailed
  | OutputDecodeError
  | InvalidOptions
  | Closed

/**
 * Schema of {@link CodexErrorReason}.
 *
 * @category schemas
 * @since 0.1.0
 */
export const CodexErrorReason: Schema.Union<readonly [
  typeof SpawnError,
  typeof ProcessExited,
  typeof TransportError,
  typeof ProtocolError,
  typeof RpcError,
  typeof Overloaded,
  typeof Timeout,
  typeof TurnFailed,
  typeof OutputDecodeError,
  typeof InvalidOptions,
  typeof Closed
]> = LazySchema.schema(() => Schema.Union([
  SpawnError,
  ProcessExited,
  TransportError,
  ProtocolError,
  RpcError,
  Overloaded,
  Timeout,
  TurnFailed,
  OutputDecodeError,
  InvalidOptions,
  Closed
]))

/**
 * The error of every effect-codex operation; see the module docs.
 *
 * @category errors
 * @since 0.1.0
 */
export class CodexError extends LazySchema.ErrorClass<CodexError>("effect-codex/CodexError", ["reason"])(() => ({
  _tag: Schema.tag("CodexError"),
  reason: CodexErrorReason
})) {
  readonly [TypeId] = TypeId
  override readonly cause = this.reason
  override get message(): string {
    return this.reason.message
  }
}

/**
 * Wraps a reason in a {@link CodexError}.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (reason: CodexErrorReason): CodexError => new CodexError({ reason })

/**
 * Whether a value is a {@link CodexError}.
 *
 * @category guards
 * @since 0.1.0
 */
export const isCodexError = (u: unknown): u is CodexError => Predicate.hasProperty(u, TypeId)

/**
 * Whether a value is one of the {@link CodexErrorReason}s.
 *
 * @category guards
 * @since 0.1.0
 */
export const isCodexErrorReason = (u: unknown): u is CodexErrorReason => Predicate.hasProperty(u, ReasonTypeId)

const TRANSIENT_INFO = new Set(["serverOverloaded", "internalServerError", "rateLimitExceeded", "flexUnavailable"])

const transientStatus = (status: number | null | undefined) =>
  status === undefined || status === null || status === 408 || status === 429 || status >= 500

/**
 * Whether trying again later may succeed: the server was overloaded or timed
 * out, or the turn failed for a transient model-side reason (429, 5xx,
 * overload, a dropped stream). Quota, context window, auth and bad requests
 * are not retryable.
 *
 * ```ts
 * import { Effect, Schedule } from "effect"
 * import { CodexError } from "effect-codex"
 *
 * declare const run: Effect.Effect<string, CodexError.CodexError>
 * const robust = run.pipe(
 *   Effect.retry({ schedule: Schedule.exponential("1 second"), times: 3, while: CodexError.isRetryable })
 * )
 * ```
 *
 * @category guards
 * @since 0.1.0
 */
export const isRetryable = (error: CodexError): boolean => {
  const reason = error.reason
  switch (reason._tag) {
    case "Overloaded":
    case "Timeout":
      return true
    case "TurnFailed": {
      const info = reason.codexErrorInfo
      if (typeof info === "string") return TRANSIENT_INFO.has(info)
      if (!Predicate.isObject(info)) return false
      for (const key of ["responseTooManyFailedAttempts", "responseStreamDisconnected", "responseStreamConnectionFailed", "httpConnectionFailed"]) {
        if (key in info) return transientStatus((info as Record<string, { httpStatusCode?: number | null }>)[key]?.httpStatusCode)
      }
      return false
    }
    default:
      return false
  }
}

/**
 * Whether a {@link CodexError} means the connection is gone for good (the
 * process exited, the transport broke, or the layer is closing).
 *
 * @category guards
 * @since 0.1.0
 */
export const isTerminal = (error: CodexError): boolean =>
  error.reason._tag === "ProcessExited" || error.reason._tag === "TransportError" || error.reason._tag === "Closed" ||
  error.reason._tag === "SpawnError"
