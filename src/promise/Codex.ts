/**
 * `Codex` and `Thread`: the Promise API of `@openai/codex-sdk` 0.163 on a
 * long-lived `codex app-server`, so code written for that SDK runs with its
 * import changed to `effect-codex/promise`.
 *
 * ```ts
 * import { Codex } from "effect-codex/promise"
 *
 * const codex = new Codex()
 * const thread = codex.startThread({ workingDirectory: "/path/to/repo" })
 * const turn = await thread.run("Diagnose the test failure and propose a fix")
 * console.log(turn.finalResponse)
 * const next = await thread.run("Implement the fix")
 * console.log(next.usage)
 * ```
 *
 * What is the same: the options, `startThread` / `resumeThread`, `thread.id`,
 * `run` → `{ items, finalResponse, usage }`, `runStreamed` → `{ events }` with
 * the same event and item shapes (`thread.started` on every run, usage as the
 * thread's running total), `AbortSignal`s rejecting with an `AbortError`.
 *
 * What is better: one app-server serves every turn of the process (no
 * process start per turn), shared by every `Codex` on the same `CODEX_HOME`;
 * approvals can be answered (`onApproval`); a running turn can be steered
 * (`thread.steer`) or interrupted (`thread.interrupt`, or the signal) without
 * killing anything; threads fork (`thread.fork`); `runStreamed(input,
 * { deltas: true })` streams text as it is written; errors are `CodexError`s
 * with a `reason`.
 *
 * The app-server starts on the first turn and does not keep Node alive while
 * idle; `close()` (or `await using`) stops it once no other `Codex` on it is
 * open, and a process that exits without closing leaves none behind.
 *
 * @since 0.1.0
 */
import { Cause, Effect, Exit, Schema, Stream } from "../schema/internal/effect.ts"
import * as CodexError from "../schema/CodexError.ts"
import type * as Protocol from "../schema/generated/Protocol.gen.ts"
import * as ProtocolLazy from "../schema/generated/ProtocolLazy.gen.ts"
import * as CodexService from "../services/Codex.ts"
import type * as EffectThread from "../services/Thread.ts"
import type * as EffectTurn from "../services/Turn.ts"
import type * as Events from "./Events.ts"
import * as Converter from "./internal/events.ts"
import * as Options from "./internal/options.ts"
import * as Shared from "./internal/shared.ts"

/**
 * A value of `config`: what TOML can hold.
 *
 * @category models
 * @since 0.1.0
 */
export type CodexConfigValue = string | number | boolean | Array<CodexConfigValue> | CodexConfigObject

/**
 * A `config` table: nested objects become dotted keys, as codex-sdk flattens them.
 *
 * @category models
 * @since 0.1.0
 */
export type CodexConfigObject = { [key: string]: CodexConfigValue }

/**
 * An approval request codex sends while a turn runs: run this command? apply
 * this file change? `item` is the item as the events last showed it (its `id`
 * is the events' id).
 *
 * @category models
 * @since 0.1.0
 */
export type ApprovalRequest =
  | {
    type: "command_execution"
    thread_id: string
    turn_id: string
    item_id: string
    /** The command line to run. */
    command: string
    cwd: string | null
    /** Why the agent asks (for a command outside the sandbox, its justification). */
    reason: string | null
    item: Events.CommandExecutionItem | undefined
  }
  | {
    type: "file_change"
    thread_id: string
    turn_id: string
    item_id: string
    reason: string | null
    /** A directory the change asks to write under, when it is outside the writable roots. */
    grant_root: string | null
    item: Events.FileChangeItem | undefined
  }

/**
 * The answer to an approval request: `"accept"`, `"accept_for_session"` (and
 * the same request again in this session), `"decline"` (the agent goes on
 * without it), `"cancel"` (the turn is interrupted).
 *
 * @category models
 * @since 0.1.0
 */
export type ApprovalDecision = "accept" | "accept_for_session" | "decline" | "cancel"

/**
 * Answers approval requests. A callback that throws, or answers something
 * else, declines.
 *
 * @category models
 * @since 0.1.0
 */
export type ApprovalHandler = (request: ApprovalRequest) => ApprovalDecision | Promise<ApprovalDecision>

/**
 * Options of `new Codex(options)`: codex-sdk's, plus `onApproval`.
 *
 * `Codex` instances with the same options (the same `CODEX_HOME`, binary,
 * `env`, `config`, `baseUrl`, `apiKey`) share one app-server.
 *
 * @category models
 * @since 0.1.0
 */
export interface CodexOptions {
  /** The codex executable (default: the native binary of the pinned `@openai/codex`). */
  codexPathOverride?: string | undefined
  /** The OpenAI API base URL (`openai_base_url`). */
  baseUrl?: string | undefined
  /** An API key, given to codex as `CODEX_API_KEY` (and `OPENAI_API_KEY`); never logged. */
  apiKey?: string | undefined
  /** codex config overrides (`-c key=value`, TOML values; nested objects become dotted keys). */
  config?: CodexConfigObject | undefined
  /** Raw `key=value` overrides, passed as they are after `config`. */
  configOverrides?: Array<string> | undefined
  /** The environment of codex; when given, this process's environment is not inherited. */
  env?: Record<string, string> | undefined
  /**
   * Answers the approval requests of every thread of this instance (a
   * thread's own `onApproval` wins). Without one, every request is declined;
   * with one, threads default to `approvalPolicy: "on-request"`.
   */
  onApproval?: ApprovalHandler | undefined
}

/**
 * The approval policies. `"on-failure"`, which codex 0.171 no longer
 * accepts, is `"on-request"` here. (`codex exec`, and so `@openai/codex-sdk`,
 * always runs with `"never"`, whatever the option says.)
 *
 * @category models
 * @since 0.1.0
 */
export type ApprovalMode = "never" | "on-request" | "on-failure" | "untrusted"

/**
 * The sandbox modes.
 *
 * @category models
 * @since 0.1.0
 */
export type SandboxMode = "read-only" | "workspace-write" | "danger-full-access"

/**
 * Reasoning efforts (what the model offers decides which are valid).
 *
 * @category models
 * @since 0.1.0
 */
export type ModelReasoningEffort = "minimal" | "low" | "medium" | "high" | "xhigh" | "max" | "ultra" | "persistent"

/**
 * Web search modes.
 *
 * @category models
 * @since 0.1.0
 */
export type WebSearchMode = "disabled" | "cached" | "live"

/**
 * Options of `startThread` / `resumeThread`: codex-sdk's, plus `onApproval`.
 *
 * @category models
 * @since 0.1.0
 */
export interface ThreadOptions {
  model?: string | undefined
  /** Source classification of a new thread (ignored on resume). */
  threadSource?: string | undefined
  sandboxMode?: SandboxMode | undefined
  /** The thread's working directory (default: this process's). */
  workingDirectory?: string | undefined
  /** Accepted for compatibility: the app-server does not check for a git repository. */
  skipGitRepoCheck?: boolean | undefined
  modelReasoningEffort?: ModelReasoningEffort | undefined
  /** Network access inside the workspace-write sandbox. */
  networkAccessEnabled?: boolean | undefined
  webSearchMode?: WebSearchMode | undefined
  /** `true` is `webSearchMode: "live"`, `false` is `"disabled"` (`webSearchMode` wins). */
  webSearchEnabled?: boolean | undefined
  /** Default `"never"` as in `codex exec`, or `"on-request"` when approvals are answered (`onApproval`). */
  approvalPolicy?: ApprovalMode | undefined
  /** More writable directories for the workspace-write sandbox (`codex exec --add-dir`). */
  additionalDirectories?: Array<string> | undefined
  /** Answers this thread's approval requests (instead of the instance's `onApproval`). */
  onApproval?: ApprovalHandler | undefined
}

/**
 * Experimental cyber access selection for a turn (passed to codex as is).
 *
 * @category models
 * @since 0.1.0
 */
export type CyberAccessProgram = "standard" | "daybreak_blue" | "daybreak_red"

/**
 * Options of `run` / `runStreamed`: codex-sdk's, plus `deltas`.
 *
 * @category models
 * @since 0.1.0
 */
export interface TurnOptions {
  /** A JSON Schema (a plain object) the final answer must match; an Effect Schema works too. */
  outputSchema?: unknown
  /** Aborting interrupts the turn (codex stops it; nothing is killed) and rejects with an `AbortError`. */
  signal?: AbortSignal | undefined
  cyberAccessProgram?: CyberAccessProgram | undefined
  /**
   * `runStreamed` only: stream messages, reasoning and command output as they
   * are written (`item.started`, then `item.updated` with a `delta`, then
   * `item.completed`). Default `false`, which gives codex-sdk's events.
   */
  deltas?: boolean | undefined
}

/**
 * One part of an input.
 *
 * @category models
 * @since 0.1.0
 */
export type UserInput = { type: "text"; text: string } | { type: "local_image"; path: string }

/**
 * A turn's input: text, or text and local images.
 *
 * @category models
 * @since 0.1.0
 */
export type Input = string | Array<UserInput>

/**
 * A completed turn: every item completed, the last agent message, the
 * thread's token usage so far.
 *
 * @category models
 * @since 0.1.0
 */
export interface RunResult {
  items: Array<Events.ThreadItem>
  finalResponse: string
  usage: Events.Usage | null
}

/**
 * Alias of {@link RunResult} (codex-sdk's name).
 *
 * @category models
 * @since 0.1.0
 */
export type Turn = RunResult

/**
 * The result of `runStreamed`.
 *
 * @category models
 * @since 0.1.0
 */
export interface RunStreamedResult {
  events: AsyncGenerator<Events.ThreadEvent>
}

/**
 * Alias of {@link RunStreamedResult} (codex-sdk's name).
 *
 * @category models
 * @since 0.1.0
 */
export type StreamedTurn = RunStreamedResult

/**
 * What `run` and `runStreamed` reject with when their `signal` aborts: an
 * `Error` named `AbortError` (code `ABORT_ERR`, the signal's reason as
 * `cause`), as Node's own.
 *
 * @category errors
 * @since 0.1.0
 */
export class AbortError extends Error {
  override name = "AbortError"
  readonly code = "ABORT_ERR"
  constructor(options?: { readonly cause?: unknown }) {
    super("The operation was aborted", options)
  }
}

// =============================================================================
// Internals
// =============================================================================

/** What threads need from their `Codex`. */
interface Session {
  /** The shared server, leased on first use. Throws once the `Codex` is closed. */
  readonly server: () => Shared.Server
  readonly onApproval: ApprovalHandler | undefined
}

const closedError = () => CodexError.make(new CodexError.Closed())

const isCodexErrorInfo = Schema.is(ProtocolLazy.CodexErrorInfo())

const DECISIONS: Record<ApprovalDecision, Protocol.CommandExecutionApprovalDecision & Protocol.FileChangeApprovalDecision> = {
  accept: "accept",
  accept_for_session: "acceptForSession",
  decline: "decline",
  cancel: "cancel"
}

const nullable = (value: unknown): string | null => typeof value === "string" ? value : null

/** The SDK's approval request for codex's (the v2 shape; legacy requests arrive adapted to it). */
const approvalRequest = (
  method: string,
  params: Record<string, unknown>,
  converter: Converter.Converter | undefined
): ApprovalRequest | undefined => {
  const rawId = String(params.itemId ?? "")
  const item = converter?.current(rawId)
  const common = {
    thread_id: String(params.threadId ?? ""),
    turn_id: String(params.turnId ?? ""),
    item_id: item?.id ?? rawId,
    reason: nullable(params.reason)
  }
  if (method === "item/commandExecution/requestApproval" || method === "execCommandApproval") {
    return {
      type: "command_execution",
      ...common,
      command: typeof params.command === "string" ? params.command : item?.type === "command_execution" ? item.command : "",
      cwd: nullable(params.cwd),
      item: item?.type === "command_execution" ? item : undefined
    }
  }
  if (method === "item/fileChange/requestApproval" || method === "applyPatchApproval") {
    return {
      type: "file_change",
      ...common,
      grant_root: nullable(params.grantRoot),
      item: item?.type === "file_change" ? item : undefined
    }
  }
  return undefined
}

/**
 * A queue between the fiber that runs a turn and the async generator that
 * hands its events out: pushes never wait, and what was pushed before the end
 * is still handed out.
 */
class Channel<A> {
  private readonly buffer: Array<A> = []
  private waiting: (() => void) | undefined
  private ended: { readonly error: unknown } | undefined

  push(values: ReadonlyArray<A>) {
    if (this.ended !== undefined || values.length === 0) return
    for (const value of values) this.buffer.push(value)
    this.wake()
  }

  end(error?: unknown) {
    if (this.ended !== undefined) return
    this.ended = { error }
    this.wake()
  }

  private wake() {
    const waiting = this.waiting
    this.waiting = undefined
    waiting?.()
  }

  /** The next value, `undefined` at the end; throws the error the channel ended with. */
  async next(): Promise<{ readonly value: A } | undefined> {
    while (true) {
      if (this.buffer.length > 0) return { value: this.buffer.shift()! }
      if (this.ended !== undefined) {
        if (this.ended.error !== undefined) throw this.ended.error
        return undefined
      }
      await new Promise<void>((resolve) => (this.waiting = resolve))
    }
  }
}

/** What one streamed turn reports besides its events. */
interface Report {
  /** codex's `Turn` from `turn/completed` (status, error). */
  turn?: Protocol.Turn
}

const internal = Symbol.for("effect-codex/promise/Thread/internal")

/**
 * A conversation with the agent: turns run one after another, each seeing
 * the ones before.
 *
 * Made by `codex.startThread()` (its `id` is `null` until its first turn
 * starts it) or `codex.resumeThread(id)`. As in codex-sdk: `id`,
 * `run(input, options)` → `{ items, finalResponse, usage }`,
 * `runStreamed(input, options)` → `{ events }`. Beyond it: `steer(input)`
 * and `interrupt()` for the running turn, `fork(options)`.
 *
 * ```ts
 * import { Codex } from "effect-codex/promise"
 *
 * const thread = new Codex().startThread()
 * const running = thread.run("Refactor the parser")
 * await thread.steer("Keep the public API as it is")
 * const result = await running
 * const variant = await thread.fork()
 * await variant.run("Now try it with a hand-written lexer")
 * console.log(result.finalResponse)
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export class Thread {
  readonly #session: Session
  readonly #options: ThreadOptions
  #id: string | null
  #handle: { readonly generation: number; readonly promise: Promise<EffectThread.Thread> } | undefined
  #current: { readonly turn: Promise<EffectTurn.Turn> } | undefined

  /** @internal */
  constructor(
    key: typeof internal,
    session: Session,
    options: ThreadOptions,
    id: string | null,
    handle?: { readonly generation: number; readonly thread: EffectThread.Thread }
  ) {
    if (key !== internal) throw new TypeError("Threads are made by codex.startThread() or codex.resumeThread(id)")
    this.#session = session
    this.#options = { ...options }
    this.#id = id
    this.#handle = handle === undefined ? undefined : { generation: handle.generation, promise: Promise.resolve(handle.thread) }
  }

  /** The thread id: `null` for a new thread until its first turn starts. */
  get id(): string | null {
    return this.#id
  }

  get #answersApprovals(): boolean {
    return (this.#options.onApproval ?? this.#session.onApproval) !== undefined
  }

  /** The thread on the current app-server: started, or resumed by id (again after a crashed server was replaced). */
  #thread(server: Shared.Server): Promise<EffectThread.Thread> {
    const generation = server.generation()
    if (this.#handle === undefined || this.#handle.generation !== generation) {
      const { threadSource, ...params } = Options.threadParams(this.#options, this.#answersApprovals)
      const id = this.#id
      const promise = server.run(
        id === null
          ? CodexService.startThread({ ...params, ...(threadSource === undefined ? {} : { threadSource }) })
          : CodexService.resumeThread(id, params)
      )
      const handle = { generation, promise }
      this.#handle = handle
      promise.then((thread) => {
        this.#id = thread.id
      }, () => {
        // a failed start or resume is tried again by the next turn
        if (this.#handle === handle) this.#handle = undefined
      })
    }
    return this.#handle.promise
  }

  /** Who answers this thread's approvals during one turn. */
  #approver(converter: Converter.Converter): Shared.Approve | undefined {
    const handler = this.#options.onApproval ?? this.#session.onApproval
    if (handler === undefined) return undefined
    return async (method, params) => {
      const request = approvalRequest(method, params as Record<string, unknown>, converter)
      if (request === undefined) return "decline"
      const decision = await handler(request)
      return Object.hasOwn(DECISIONS, decision) ? DECISIONS[decision] : "decline"
    }
  }

  /** The events of one turn; `report` receives what `run` needs beyond them. */
  async *#events(input: Input, options: TurnOptions, report: Report): AsyncGenerator<Events.ThreadEvent> {
    const signal = options.signal
    if (signal?.aborted) throw new AbortError({ cause: signal.reason })
    const server = this.#session.server()
    const channel = new Channel<Events.ThreadEvent>()
    const converter = Converter.make({ deltas: options.deltas === true })
    let fiber: Awaited<ReturnType<Shared.Server["fork"]>> | undefined
    let resolveTurn: (turn: EffectTurn.Turn) => void = () => {}
    let rejectTurn: (error: unknown) => void = () => {}
    const current = {
      turn: new Promise<EffectTurn.Turn>((resolve, reject) => {
        resolveTurn = resolve
        rejectTurn = reject
      })
    }
    current.turn.catch(() => {})
    this.#current = current
    let aborted = false
    const onAbort = () => {
      aborted = true
      void fiber?.interrupt()
    }
    // Undone when the turn ends, not when the consumer is done: a consumer that
    // stops reading without `return()` must not keep Node up or the approver set.
    let turnEnded = () => {}
    try {
      const thread = await this.#thread(server)
      if (signal?.aborted) throw new AbortError({ cause: signal.reason })
      yield { type: "thread.started", thread_id: thread.id }
      const approve = this.#approver(converter)
      if (approve !== undefined) server.approvers.set(thread.id, approve)
      const release = Shared.hold()
      let ended = false
      turnEnded = () => {
        if (ended) return
        ended = true
        if (approve !== undefined && server.approvers.get(thread.id) === approve) server.approvers.delete(thread.id)
        if (this.#current === current) this.#current = undefined
        release()
      }
      const program = Effect.scoped(Effect.gen(function*() {
        const turn = yield* thread.turn(Options.toInput(input), {
          ...(options.outputSchema === undefined ? {} : { outputSchema: options.outputSchema as EffectTurn.JsonSchemaObject }),
          ...(options.cyberAccessProgram === undefined ? {} : { cyberAccessProgram: options.cyberAccessProgram })
        })
        resolveTurn(turn)
        yield* turn.events.pipe(Stream.runForEachArray((batch) =>
          Effect.sync(() => {
            for (const event of batch) {
              if (event._tag === "TurnCompleted") report.turn = event.turn
              channel.push(converter.push(event))
            }
          })
        ))
      }))
      fiber = await server.fork(program)
      signal?.addEventListener("abort", onAbort, { once: true })
      if (signal?.aborted) onAbort()
      void fiber.await.then((exit) => {
        turnEnded()
        rejectTurn(closedError())
        if (Exit.isSuccess(exit)) return channel.end()
        if (aborted) return channel.end(new AbortError({ cause: signal?.reason }))
        if (Cause.hasInterruptsOnly(exit.cause)) return channel.end(closedError())
        channel.end(Cause.squash(exit.cause))
      })
      while (true) {
        const next = await channel.next()
        if (next === undefined) return
        yield next.value
      }
    } catch (error) {
      rejectTurn(error)
      throw error
    } finally {
      signal?.removeEventListener("abort", onAbort)
      // a consumer that stops early stops the turn, as codex-sdk does by killing `codex exec`
      if (fiber !== undefined) {
        await fiber.interrupt().catch(() => {})
        await fiber.await
      }
      turnEnded()
      if (this.#current === current) this.#current = undefined
    }
  }

  /**
   * Runs a turn and streams its events: `thread.started` first (on every
   * call), then `turn.started`, the items, and `turn.completed` or
   * `turn.failed`. Breaking out of the loop interrupts the turn.
   */
  async runStreamed(input: Input, turnOptions: TurnOptions = {}): Promise<RunStreamedResult> {
    return { events: this.#events(input, turnOptions, {}) }
  }

  /**
   * Runs a turn to its end: the items completed, the last agent message, the
   * thread's usage so far. A failed turn rejects with a `CodexError`
   * (reason `TurnFailed`, the message `codex exec` would print).
   */
  async run(input: Input, turnOptions: TurnOptions = {}): Promise<RunResult> {
    const report: Report = {}
    const items: Array<Events.ThreadItem> = []
    let finalResponse = ""
    let usage: Events.Usage | null = null
    let failure: Events.ThreadError | undefined
    for await (const event of this.#events(input, { ...turnOptions, deltas: false }, report)) {
      if (event.type === "item.completed") {
        if (event.item.type === "agent_message") finalResponse = event.item.text
        items.push(event.item)
      } else if (event.type === "turn.completed") {
        usage = event.usage
      } else if (event.type === "turn.failed") {
        failure = event.error
        break
      }
    }
    if (failure !== undefined) {
      const error = report.turn?.error
      throw CodexError.make(
        new CodexError.TurnFailed({
          threadId: this.#id ?? "",
          turnId: report.turn?.id ?? "",
          message: failure.message,
          // a newer codex may send values the pinned schema does not know
          codexErrorInfo: isCodexErrorInfo(error?.codexErrorInfo) ? error.codexErrorInfo : undefined,
          additionalDetails: typeof error?.additionalDetails === "string" ? error.additionalDetails : undefined
        })
      )
    }
    return { items, finalResponse, usage }
  }

  /** The running turn, once codex started it. */
  async #running(): Promise<{ readonly turn: EffectTurn.Turn; readonly server: Shared.Server }> {
    const current = this.#current
    if (current === undefined) throw new Error("No turn is running on this thread")
    const turn = await current.turn
    return { turn, server: this.#session.server() }
  }

  /**
   * Adds input to the turn that is running (codex-sdk cannot): the agent
   * reads it before its next step. Rejects when no turn is running.
   */
  async steer(input: Input): Promise<void> {
    const { server, turn } = await this.#running()
    await server.run(Effect.asVoid(turn.steer(Options.toInput(input))))
  }

  /**
   * Interrupts the turn that is running and waits for it to end: codex stops
   * it, nothing is killed, the thread stays usable. The turn's `run` resolves
   * with what it has (`usage: null`); its events end with no `turn.completed`.
   * Does nothing when no turn is running.
   */
  async interrupt(): Promise<void> {
    if (this.#current === undefined) return
    const { server, turn } = await this.#running().catch(() => ({ server: undefined, turn: undefined }))
    if (server === undefined || turn === undefined) return
    await server.run(turn.interrupt)
  }

  /**
   * A new thread with this one's history (codex-sdk cannot). The thread must
   * have an id (a turn ran, or it was resumed). `options` default to this
   * thread's.
   */
  async fork(options: ThreadOptions = this.#options): Promise<Thread> {
    const id = this.#id
    if (id === null) throw new Error("This thread has no id yet: run a turn first")
    const server = this.#session.server()
    const answers = (options.onApproval ?? this.#session.onApproval) !== undefined
    const { threadSource, ...params } = Options.threadParams(options, answers)
    const generation = server.generation()
    const forked = await server.run(
      CodexService.forkThread(id, { ...params, ...(threadSource === undefined ? {} : { threadSource }) })
    )
    return new Thread(internal, this.#session, options, forked.id, { generation, thread: forked })
  }
}

// codex-sdk has no close(): a Codex nobody can reach any more (its threads
// hold it) gives its lease back, so a process that makes one per user or per
// request does not keep an app-server for each for good.
const collected = new FinalizationRegistry<{ lease: Shared.Lease | undefined }>((held) => {
  const lease = held.lease
  held.lease = undefined
  if (lease !== undefined) Shared.release(lease).catch(() => {})
})

/**
 * The entry point: makes threads (`startThread`, `resumeThread`), and holds
 * the app-server they run on (`close()`, `Symbol.asyncDispose`).
 *
 * ```ts
 * import { Codex } from "effect-codex/promise"
 *
 * const codex = new Codex({
 *   // answer approvals (codex-sdk cannot): accept read-only git commands
 *   onApproval: (request) =>
 *     request.type === "command_execution" && /^git (status|diff|log)\b/.test(request.command) ? "accept" : "decline"
 * })
 * const thread = codex.startThread({ sandboxMode: "workspace-write" })
 * const { events } = await thread.runStreamed("Summarize the last commits", { deltas: true })
 * for await (const event of events) {
 *   if (event.type === "item.updated" && event.delta !== undefined) process.stdout.write(event.delta)
 * }
 * await codex.close()
 * ```
 *
 * @category models
 * @since 0.1.0
 */
export class Codex {
  readonly #options: CodexOptions
  readonly #session: Session
  // the lease, in a box the collection hook can hold without holding this instance
  readonly #held: { lease: Shared.Lease | undefined } = { lease: undefined }
  #closed = false

  constructor(options: CodexOptions = {}) {
    const { onApproval, ...processOptions } = options
    this.#options = processOptions
    const held = this.#held
    this.#session = {
      server: () => {
        if (this.#closed) throw closedError()
        if (held.lease === undefined) {
          held.lease = Shared.acquire(Options.serverKey(this.#options), Options.appServerOptions(this.#options))
          collected.register(this, held, held)
        }
        return held.lease.server
      },
      onApproval
    }
  }

  /** A new thread; it starts with its first turn. */
  startThread(options: ThreadOptions = {}): Thread {
    return new Thread(internal, this.#session, options, null)
  }

  /**
   * A thread stored by codex (in `CODEX_HOME`), by id; it is loaded by its
   * first turn. Works while another `Codex` of this process holds it.
   */
  resumeThread(id: string, options: ThreadOptions = {}): Thread {
    return new Thread(internal, this.#session, options, id)
  }

  /**
   * Ends what this instance holds: the app-server stops once no other open
   * `Codex` shares it (turns still running on it end with a `Closed` error).
   * Later calls of this instance and its threads reject with `Closed`.
   * An instance that is never closed gives its share back once nothing
   * holds it or its threads any more (when it is garbage-collected).
   */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    const lease = this.#held.lease
    this.#held.lease = undefined
    collected.unregister(this.#held)
    if (lease !== undefined) await Shared.release(lease)
  }

  /** `await using codex = new Codex()`: {@link close} at the end of the block. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }
}
