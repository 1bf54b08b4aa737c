/**
 * `CodexTest`: an in-memory codex app-server for tests. No process, no model,
 * no network: your program runs unchanged against a server that speaks the
 * app-server protocol the `Codex` service uses, with payloads shaped like the
 * real binary's (codex 0.169.0).
 *
 * - {@link layer} plays a script: one {@link Step} per `turn/start`, in order,
 *   across threads ({@link reply}, {@link reasoning}, {@link command},
 *   {@link fileChange}, {@link toolCall}, {@link userInput}, {@link fail},
 *   {@link slow}, {@link turn}, ...). Threads, listing, reading, naming,
 *   forking, archiving, compaction, steering and interrupts work as in codex.
 * - {@link layerReplay} plays back a recorded JSONL session and checks that the
 *   client sends what was recorded; {@link layerRecording} and
 *   {@link recordTransport} record such sessions from the real binary.
 * - The {@link CodexTest} service records what the client sent and answered,
 *   for assertions.
 *
 * ```ts
 * import { Effect } from "effect"
 * import { Codex } from "effect-codex"
 * import { CodexTest } from "effect-codex/testing"
 *
 * const program = Effect.gen(function*() {
 *   const thread = yield* Codex.startThread()
 *   const result = yield* thread.run("Say hello")
 *   return result.finalResponse // "hi"
 * })
 *
 * program.pipe(
 *   Effect.provide(Codex.layer),
 *   Effect.provide(CodexTest.layer([CodexTest.reply("hi")]))
 * )
 * ```
 *
 * @stability unstable
 * @since 0.1.0
 */
import { Context, Data, Duration, Effect, Layer, type Schema, Scope } from "../../schema/internal/effect.ts"
import type { ChildProcessSpawner } from "../../schema/internal/effect.ts"
import * as NodeFs from "node:fs"
import type { ServerNotificationMethod, ServerNotificationParamsByMethod } from "../../schema/generated/Methods.gen.ts"
import type * as Protocol from "../../schema/generated/Protocol.gen.ts"
import * as AppServerClient from "../../services/AppServerClient.ts"
import type * as CodexError from "../../schema/CodexError.ts"
import * as AppServer from "../AppServer.ts"
import * as Harness from "./internal/codexTestHarness.ts"
import * as P from "./internal/codexTestPayloads.ts"
import * as Replay from "./internal/codexTestReplay.ts"
import {
  type Usage,
  type TurnEnd,
  type TurnContext,
  type CrashOptions,
  type Step,
  type Options,
  StepTypeId
} from "./internal/codexTestModel.ts"
import { makeServer } from "./internal/codexTestServer.ts"
import * as Transport from "../Transport.ts"

// =============================================================================
// Models
// =============================================================================

/**
 * A request or notification the client sent, in order (secret-looking fields
 * such as `apiKey` are recorded as `"<redacted>"`).
 *
 * @category models
 * @since 0.1.0
 */
export type ClientMessage = Harness.ClientMessage

/**
 * The client's answer to a server request (an approval, a tool call, a user
 * input request), with the request it answers.
 *
 * @category models
 * @since 0.1.0
 */
export type RecordedAnswer = Harness.RecordedAnswer

/**
 * A turn seen on the connection, with how it ended (`inProgress` while it
 * runs).
 *
 * @category models
 * @since 0.1.0
 */
export type PlayedTurn = Harness.PlayedTurn

export type {
  Usage,
  ClientAnswer,
  TurnEnd,
  TurnContext,
  CrashOptions,
  Step,
  StoredThread,
  Options,
} from "./internal/codexTestModel.ts"



/**
 * The usage a {@link reply} reports unless told otherwise (what codex reports
 * for the transcripts' mock model).
 *
 * @category constants
 * @since 0.1.0
 */
export const defaultUsage: Usage = { input: 100, cached: 10, output: 20, reasoning: 0 }






// =============================================================================
// Steps
// =============================================================================

const makeStep = (label: string, play: (turn: TurnContext) => Effect.Effect<void, TurnEnd>): Step => ({
  [StepTypeId]: StepTypeId,
  label,
  play
})

const short = (text: string) => JSON.stringify(text.length > 40 ? `${text.slice(0, 37)}...` : text)

/**
 * A custom step: anything codex could send, through the {@link TurnContext}.
 *
 * ```ts
 * import { Effect } from "effect"
 * import { CodexTest } from "effect-codex/testing"
 *
 * const plan = CodexTest.custom("plan", (turn) =>
 *   turn.notify("turn/plan/updated", {
 *     threadId: turn.threadId,
 *     turnId: turn.turnId,
 *     explanation: null,
 *     plan: [{ step: "read the code", status: "completed" }]
 *   }))
 * ```
 *
 * @category steps
 * @since 0.1.0
 */
export const custom = (label: string, play: (turn: TurnContext) => Effect.Effect<void, TurnEnd>): Step =>
  makeStep(label, play)

/**
 * Options of {@link reply}.
 *
 * @category models
 * @since 0.1.0
 */
export interface ReplyOptions {
  /**
   * How the text streams as `item/agentMessage/delta`: a number of chunks, the
   * chunks themselves, or `0` for none. Default: one chunk per word.
   */
  readonly deltas?: number | ReadonlyArray<string> | undefined
  /** Token usage sent after the message; `false` for none. Default {@link defaultUsage}. */
  readonly usage?: Usage | false | undefined
  /** The message phase (`"final_answer"`, `"commentary"`, ...). Default `null`, as codex sends. */
  readonly phase?: Protocol.MessagePhase | null | undefined
  /** Reasoning summary streamed before the message (see {@link reasoning}). */
  readonly reasoning?: string | undefined
}

/**
 * The agent answers with a message: an `agentMessage` item started, its text
 * streamed as `item/agentMessage/delta`, completed, then
 * `thread/tokenUsage/updated` (as in the transcript `a-plain-message`). The
 * text may be computed from the turn (its input, earlier answers, steers).
 *
 * @category steps
 * @since 0.1.0
 */
export const reply = (text: string | ((turn: TurnContext) => string), options: ReplyOptions = {}): Step =>
  makeStep(typeof text === "string" ? `reply(${short(text)})` : "reply(<function>)", (turn) =>
    Effect.gen(function*() {
      if (options.reasoning !== undefined) yield* reasoning(options.reasoning).play(turn)
      const message = typeof text === "string" ? text : text(turn)
      const id = turn.nextId("msg")
      const startedAtMs = yield* turn.now
      const phase = options.phase ?? null
      yield* turn.startItem(P.agentMessage(id, "", phase, startedAtMs, null))
      for (const delta of P.chunks(message, options.deltas)) {
        yield* turn.notify("item/agentMessage/delta", { threadId: turn.threadId, turnId: turn.turnId, itemId: id, delta })
      }
      yield* turn.completeItem(P.agentMessage(id, message, phase, startedAtMs, yield* turn.now))
      if (options.usage !== false) yield* turn.usage(options.usage ?? defaultUsage)
    }))

/**
 * Options of {@link reasoning}.
 *
 * @category models
 * @since 0.1.0
 */
export interface ReasoningOptions {
  /** How the summary streams: a number of chunks or the chunks. Default: one chunk per word. */
  readonly deltas?: number | ReadonlyArray<string> | undefined
}

/**
 * The agent reasons: a `reasoning` item whose summary streams as
 * `item/reasoning/summaryTextDelta`. Follow it with an answer:
 * `CodexTest.turn(CodexTest.reasoning("..."), CodexTest.reply("..."))`, or use
 * `reply(text, { reasoning })`.
 *
 * @category steps
 * @since 0.1.0
 */
export const reasoning = (text: string, options: ReasoningOptions = {}): Step =>
  makeStep(`reasoning(${short(text)})`, (turn) =>
    Effect.gen(function*() {
      const id = turn.nextId("rs")
      const startedAtMs = yield* turn.now
      const ids = { threadId: turn.threadId, turnId: turn.turnId, itemId: id }
      yield* turn.startItem({ type: "reasoning", id, summary: [], content: [], startedAtMs, completedAtMs: null })
      yield* turn.notify("item/reasoning/summaryPartAdded", { ...ids, summaryIndex: 0 })
      for (const delta of P.chunks(text, options.deltas)) {
        yield* turn.notify("item/reasoning/summaryTextDelta", { ...ids, summaryIndex: 0, delta })
      }
      yield* turn.completeItem({
        type: "reasoning",
        id,
        summary: [text],
        content: [],
        startedAtMs,
        completedAtMs: yield* turn.now
      })
    }))

/**
 * Options of {@link command}.
 *
 * @category models
 * @since 0.1.0
 */
export interface CommandOptions {
  /** What the command prints. Default `""`. */
  readonly output?: string | undefined
  /** How output streams as `item/commandExecution/outputDelta`. Default: one chunk per line. */
  readonly deltas?: number | ReadonlyArray<string> | undefined
  /** The exit code; non-zero gives status `failed`. Default `0`. */
  readonly exitCode?: number | undefined
  /**
   * Ask the client first (`item/commandExecution/requestApproval`) and wait
   * for its decision: `accept` (or `acceptForSession`, an amendment) runs the
   * command, `decline` gives status `declined`, `cancel` also interrupts the
   * turn, an error answer gives status `failed`. Default `false`.
   */
  readonly approval?: boolean | undefined
  /** The justification shown with the approval request. */
  readonly reason?: string | undefined
  /** Default: the turn's working directory. */
  readonly cwd?: string | undefined
}

const isAccepted = (decision: unknown): boolean =>
  decision === "accept" || decision === "acceptForSession" ||
  (typeof decision === "object" && decision !== null &&
    ("acceptWithExecpolicyAmendment" in decision || "applyNetworkPolicyAmendment" in decision))

/**
 * After an approval request: an accepted item goes on (`false`); a declined
 * one (or one whose answer was an error) is completed as such, and `cancel`
 * interrupts the turn, as codex does (`true`: the step is over).
 */
const endUnlessAccepted = (
  turn: TurnContext,
  started: Protocol.ThreadItem,
  decision: unknown
): Effect.Effect<boolean, TurnEnd> =>
  Effect.gen(function*() {
    if (isAccepted(decision)) {
      yield* turn.setStatus([])
      return false
    }
    yield* turn.completeItem({
      ...started,
      status: decision === undefined ? "failed" : "declined",
      completedAtMs: yield* turn.now
    } as Protocol.ThreadItem)
    yield* turn.setStatus([])
    if (decision === "cancel") return yield* turn.interrupt
    return true
  })

/**
 * The agent runs a shell command: a `commandExecution` item (shown as
 * `/bin/bash -lc '<cmd>'`, as codex shows it), its output streamed, then
 * completed with `aggregatedOutput` and `exitCode`. With `approval`, codex
 * asks the client first (transcripts `b-exec-approval`, `b2-exec-decline`);
 * the turn goes on whatever the answer.
 *
 * @category steps
 * @since 0.1.0
 */
export const command = (cmd: string, options: CommandOptions = {}): Step =>
  makeStep(`command(${short(cmd)})`, (turn) =>
    Effect.gen(function*() {
      const id = turn.nextId("call_exec")
      const cwd = options.cwd ?? turn.cwd
      const shell = `/bin/bash -lc ${P.shellQuote(cmd)}`
      const commandActions = [{ type: "unknown", command: cmd }] as const
      const startedAtMs = yield* turn.now
      const started = {
        type: "commandExecution",
        id,
        pluginId: null,
        scriptPath: null,
        command: shell,
        cwd,
        processId: null,
        source: "agent",
        status: "inProgress",
        commandActions,
        aggregatedOutput: null,
        exitCode: null,
        durationMs: null,
        startedAtMs,
        completedAtMs: null
      } as const
      if (options.approval === true) {
        yield* turn.setStatus(["waitingOnApproval"])
        yield* turn.startItem(started)
        const amendment = P.execpolicyAmendment(cmd)
        const answer = yield* turn.request("item/commandExecution/requestApproval", {
          kind: "command",
          threadId: turn.threadId,
          turnId: turn.turnId,
          itemId: id,
          startedAtMs,
          environmentId: "local",
          reason: options.reason ?? null,
          command: shell,
          cwd,
          commandActions,
          proposedExecpolicyAmendment: amendment,
          availableDecisions: ["accept", { acceptWithExecpolicyAmendment: { execpolicy_amendment: amendment } }, "cancel"]
        })
        const decision = answer._tag === "Result" ? answer.result.decision : undefined
        if (yield* endUnlessAccepted(turn, started, decision)) return
      } else {
        yield* turn.startItem(started)
      }
      const output = options.output ?? ""
      for (const delta of P.lineChunks(output, options.deltas)) {
        yield* turn.notify("item/commandExecution/outputDelta", {
          threadId: turn.threadId,
          turnId: turn.turnId,
          itemId: id,
          delta
        })
      }
      const exitCode = options.exitCode ?? 0
      const completedAtMs = yield* turn.now
      yield* turn.completeItem({
        ...started,
        processId: "4242",
        source: "unifiedExecStartup",
        status: exitCode === 0 ? "completed" : "failed",
        aggregatedOutput: output,
        exitCode,
        durationMs: completedAtMs - startedAtMs,
        completedAtMs
      })
    }))

/**
 * Options of {@link fileChange}.
 *
 * @category models
 * @since 0.1.0
 */
export interface FileChangeOptions {
  /**
   * Ask the client first (`item/fileChange/requestApproval`): `accept` applies
   * the change, `decline` gives status `declined`, `cancel` also interrupts
   * the turn, an error answer gives `failed`. Default `false`.
   */
  readonly approval?: boolean | undefined
  /** Default `"add"` (the diff is then the new file's content, as codex reports it). */
  readonly kind?: "add" | "update" | "delete" | undefined
  /** The reason shown with the approval request. */
  readonly reason?: string | undefined
}

/**
 * The agent edits a file (apply_patch): a `fileChange` item; once applied,
 * `turn/diff/updated` carries the turn's unified diff (transcript
 * `c-apply-patch-approval`). A relative `path` is taken from the turn's
 * working directory.
 *
 * @category steps
 * @since 0.1.0
 */
export const fileChange = (path: string, diff: string, options: FileChangeOptions = {}): Step =>
  makeStep(`fileChange(${short(path)})`, (turn) =>
    Effect.gen(function*() {
      const id = turn.nextId("call_patch")
      const kind = options.kind ?? "add"
      const absolute = path.startsWith("/") ? path : `${turn.cwd.replace(/\/$/, "")}/${path}`
      const relative = absolute.startsWith(turn.cwd + "/") ? absolute.slice(turn.cwd.length + 1) : path
      const startedAtMs = yield* turn.now
      const started = {
        type: "fileChange",
        id,
        changes: [{ path: absolute, kind: { type: kind }, diff }],
        status: "inProgress",
        startedAtMs,
        completedAtMs: null
      } as const
      yield* turn.startItem(started)
      if (options.approval === true) {
        yield* turn.setStatus(["waitingOnApproval"])
        const answer = yield* turn.request("item/fileChange/requestApproval", {
          threadId: turn.threadId,
          turnId: turn.turnId,
          itemId: id,
          startedAtMs,
          reason: options.reason ?? null,
          grantRoot: null
        })
        const decision = answer._tag === "Result" ? answer.result.decision : undefined
        if (yield* endUnlessAccepted(turn, started, decision)) return
      }
      yield* turn.completeItem({ ...started, status: "completed", completedAtMs: yield* turn.now })
      yield* turn.diff(P.unifiedDiff(relative, kind, diff))
    }))

/**
 * Options of {@link toolCall}.
 *
 * @category models
 * @since 0.1.0
 */
export interface ToolCallOptions {
  readonly namespace?: string | undefined
}

/**
 * The agent calls a client tool (a `CodexTool` given to `startThread`): a
 * `dynamicToolCall` item, the `item/tool/call` server request, and the item
 * completed with the client's `contentItems` and `success` (transcript
 * `j-dynamic-tool-call`). An error answer gives status `failed`.
 *
 * @category steps
 * @since 0.1.0
 */
export const toolCall = (tool: string, args: Schema.Json, options: ToolCallOptions = {}): Step =>
  makeStep(`toolCall(${short(tool)})`, (turn) =>
    Effect.gen(function*() {
      const id = turn.nextId("call_dyn")
      const namespace = options.namespace ?? null
      const startedAtMs = yield* turn.now
      const started = {
        type: "dynamicToolCall",
        id,
        namespace,
        tool,
        arguments: args,
        status: "inProgress",
        contentItems: null,
        success: null,
        durationMs: null,
        startedAtMs,
        completedAtMs: null
      } as const
      yield* turn.startItem(started)
      const answer = yield* turn.request("item/tool/call", {
        threadId: turn.threadId,
        turnId: turn.turnId,
        callId: id,
        namespace,
        tool,
        arguments: args
      })
      const completedAtMs = yield* turn.now
      const result = answer._tag === "Result"
        ? answer.result
        : { contentItems: [{ type: "inputText" as const, text: answer.error.message }], success: false }
      yield* turn.completeItem({
        ...started,
        status: result.success ? "completed" : "failed",
        contentItems: result.contentItems,
        success: result.success,
        durationMs: completedAtMs - startedAtMs,
        completedAtMs
      })
    }))

/**
 * The agent asks the user questions (`item/tool/requestUserInput`) and waits
 * for the answers; a string is a question with a generated id (`q1`, `q2`,
 * ...). The answers are in {@link TurnContext.answers} for later steps (a
 * {@link reply} computed from the turn) and in {@link answers}.
 *
 * @category steps
 * @since 0.1.0
 */
export const userInput = (
  questions: ReadonlyArray<string | Protocol.ToolRequestUserInputQuestion>
): Step =>
  makeStep(`userInput(${questions.length})`, (turn) =>
    Effect.gen(function*() {
      yield* turn.setStatus(["waitingOnUserInput"])
      yield* turn.request("item/tool/requestUserInput", {
        threadId: turn.threadId,
        turnId: turn.turnId,
        itemId: turn.nextId("call_input"),
        isBlocking: true,
        autoResolutionMs: null,
        questions: questions.map((question, i) =>
          typeof question === "string"
            ? { id: `q${i + 1}`, header: `Question ${i + 1}`, question, isOther: false, isSecret: false, options: null }
            : question
        )
      })
      yield* turn.setStatus([])
    }))

/**
 * The turn fails: an `error` notification (`willRetry: false`) and
 * `turn/completed` with status `failed` and the same error, as codex does when
 * the model call fails (transcripts `f-error-*`). The program sees a
 * `CodexError` with reason `TurnFailed` carrying `codexErrorInfo`.
 *
 * @category steps
 * @since 0.1.0
 */
export const fail = (
  message: string,
  codexErrorInfo: Protocol.CodexErrorInfo = "other",
  options: { readonly additionalDetails?: string | null | undefined } = {}
): Step =>
  makeStep(`fail(${short(message)})`, (turn) => turn.fail(message, codexErrorInfo, options.additionalDetails ?? null))

/**
 * codex hit an error it retries: an `error` notification with
 * `willRetry: true` (as `"Reconnecting... 1/2"` in `f-error-retryStream`); the
 * turn goes on.
 *
 * @category steps
 * @since 0.1.0
 */
export const retrying = (
  message = "Reconnecting... 1/2",
  codexErrorInfo: Protocol.CodexErrorInfo = { responseStreamDisconnected: { httpStatusCode: null } }
): Step =>
  makeStep(`retrying(${short(message)})`, (turn) =>
    turn.notify("error", {
      error: { message, codexErrorInfo, additionalDetails: null },
      willRetry: true,
      threadId: turn.threadId,
      turnId: turn.turnId
    }))

/**
 * Sends one notification (computed from the turn if a function), e.g.
 * `turn/plan/updated`.
 *
 * @category steps
 * @since 0.1.0
 */
export const notify = <M extends ServerNotificationMethod>(
  method: M,
  params: ServerNotificationParamsByMethod[M] | ((turn: TurnContext) => ServerNotificationParamsByMethod[M])
): Step =>
  makeStep(`notify(${method})`, (turn) =>
    turn.notify(
      method,
      typeof params === "function" ? (params as (turn: TurnContext) => ServerNotificationParamsByMethod[M])(turn) : params
    ))

/**
 * The app-server process dies in the middle of the turn: every open turn,
 * pending request and pending approval fails with `ProcessExited`, as when
 * the real binary is killed.
 *
 * @category steps
 * @since 0.1.0
 */
export const crash = (options: CrashOptions = {}): Step =>
  makeStep(`crash(${options.signal ?? options.exitCode ?? 1})`, (turn) => turn.crash(options))

/**
 * Waits (on the `Clock`: `TestClock.adjust` moves it on) before the next step.
 *
 * @category steps
 * @since 0.1.0
 */
export const delay = (duration: Duration.Input): Step =>
  makeStep(`delay(${Duration.format(Duration.fromInputUnsafe(duration))})`, () => Effect.sleep(duration))

/**
 * Plays `step` with a pause of `delay` before each message it sends, on the
 * `Clock` (drive it with `TestClock.adjust`): a slow model, for interrupt and
 * streaming tests. Interrupted by `turn/interrupt`, the turn completes with
 * status `interrupted`.
 *
 * @category steps
 * @since 0.1.0
 */
export const slow = (step: Step, options: { readonly delay: Duration.Input }): Step =>
  makeStep(`slow(${step.label})`, (turn) => step.play(turn.withDelay(options.delay)))

/**
 * One turn made of several steps, played in order:
 * `CodexTest.turn(CodexTest.command("ls", { output: "a\n" }), CodexTest.reply("done"))`.
 *
 * @category steps
 * @since 0.1.0
 */
export const turn = (...steps: ReadonlyArray<Step>): Step =>
  makeStep(steps.map((step) => step.label).join(" + "), (context) =>
    Effect.forEach(steps, (step) => step.play(context), { discard: true }))

/**
 * The same as {@link turn}: several steps played in order in one turn.
 *
 * @category steps
 * @since 0.1.0
 */
export const sequence: (...steps: ReadonlyArray<Step>) => Step = turn

// =============================================================================
// Service
// =============================================================================

/**
 * A message of a replayed transcript the client did not match: what the
 * transcript expected and what the client sent.
 *
 * @category errors
 * @since 0.1.0
 */
export class ReplayMismatch extends Data.TaggedError("ReplayMismatch")<{
  /** 1-based line of the transcript. */
  readonly line: number
  readonly expected: unknown
  readonly actual: unknown
  readonly message: string
}> {}

/**
 * The script or transcript was not played to its end.
 *
 * @category errors
 * @since 0.1.0
 */
export class Unfinished extends Data.TaggedError("Unfinished")<{
  /** Steps not played (script) or client messages not received (transcript). */
  readonly remaining: number
  readonly message: string
}> {}

/**
 * What the in-memory server saw, for assertions.
 *
 * @category models
 * @since 0.1.0
 */
export interface Service {
  /** Every request and notification the client sent, in order. */
  readonly requests: Effect.Effect<ReadonlyArray<ClientMessage>>
  /** The params of every request or notification with this method, in order. */
  readonly requestsOf: (method: string) => Effect.Effect<ReadonlyArray<unknown>>
  /** Every answer the client gave to a server request, in order. */
  readonly answers: Effect.Effect<ReadonlyArray<RecordedAnswer>>
  /** Every turn seen, in the order they started. */
  readonly turns: Effect.Effect<ReadonlyArray<PlayedTurn>>
  /** Waits until the client has sent `count` (default 1) messages with `method`; returns the last. */
  readonly awaitRequest: (method: string, count?: number) => Effect.Effect<ClientMessage>
  /** Script steps not played yet, or recorded client messages not received yet. */
  readonly remaining: Effect.Effect<number>
  /** Client messages a replay did not expect. */
  readonly mismatches: Effect.Effect<ReadonlyArray<ReplayMismatch>>
  /** Fails if a replay saw a mismatch, or if the script / transcript was not played to its end. */
  readonly verify: Effect.Effect<void, ReplayMismatch | Unfinished>
}

/**
 * The key of the service {@link layer} and {@link layerReplay} provide next
 * to the client.
 *
 * @category services
 * @since 0.1.0
 */
export class CodexTest extends Context.Service<CodexTest, Service>()("effect-codex/CodexTest") {}

const makeService = (harness: Harness.Harness, remaining: () => number, unit: string): Service => {
  const mismatches = Effect.sync(() => harness.mismatches.map((info) => new ReplayMismatch(info)))
  return {
    requests: Effect.sync(() => harness.messages.slice()),
    requestsOf: (method) =>
      Effect.sync(() => harness.messages.filter((message) => message.method === method).map((message) => message.params)),
    answers: Effect.sync(() => harness.answers.slice()),
    turns: Effect.sync(() => harness.turns.slice()),
    awaitRequest: (method, count = 1) => harness.awaitRequest(method, count),
    remaining: Effect.sync(remaining),
    mismatches,
    verify: Effect.gen(function*() {
      const [first] = yield* mismatches
      if (first !== undefined) return yield* first
      const left = remaining()
      if (left > 0) {
        return yield* new Unfinished({ remaining: left, message: `CodexTest: ${left} ${unit} never played` })
      }
    })
  }
}

/**
 * Every request and notification the client sent, in order.
 *
 * @category accessors
 * @since 0.1.0
 */
export const requests: Effect.Effect<ReadonlyArray<ClientMessage>, never, CodexTest> = CodexTest.use((t) => t.requests)

/**
 * The params of every request or notification the client sent with this
 * method, in order.
 *
 * @category accessors
 * @since 0.1.0
 */
export const requestsOf = (method: string): Effect.Effect<ReadonlyArray<unknown>, never, CodexTest> =>
  CodexTest.use((t) => t.requestsOf(method))

/**
 * Every answer the client gave to a server request, in order.
 *
 * @category accessors
 * @since 0.1.0
 */
export const answers: Effect.Effect<ReadonlyArray<RecordedAnswer>, never, CodexTest> = CodexTest.use((t) => t.answers)

/**
 * Every turn seen, in the order they started.
 *
 * @category accessors
 * @since 0.1.0
 */
export const turns: Effect.Effect<ReadonlyArray<PlayedTurn>, never, CodexTest> = CodexTest.use((t) => t.turns)

/**
 * Waits until the client has sent `count` (default 1) messages with `method`.
 *
 * @category accessors
 * @since 0.1.0
 */
export const awaitRequest = (method: string, count?: number): Effect.Effect<ClientMessage, never, CodexTest> =>
  CodexTest.use((t) => t.awaitRequest(method, count))

/**
 * Script steps not played yet, or recorded client messages not received yet.
 *
 * @category accessors
 * @since 0.1.0
 */
export const remaining: Effect.Effect<number, never, CodexTest> = CodexTest.use((t) => t.remaining)

/**
 * Client messages a replay did not expect.
 *
 * @category accessors
 * @since 0.1.0
 */
export const mismatches: Effect.Effect<ReadonlyArray<ReplayMismatch>, never, CodexTest> = CodexTest.use((t) =>
  t.mismatches
)

/**
 * Fails if a replay saw a mismatch, or if the script / transcript was not
 * played to its end.
 *
 * @category accessors
 * @since 0.1.0
 */
export const verify: Effect.Effect<void, ReplayMismatch | Unfinished, CodexTest> = CodexTest.use((t) => t.verify)

// =============================================================================
// Layers
// =============================================================================

/**
 * Options of a transcript recording.
 *
 * @category models
 * @since 0.1.0
 */
export interface RecordOptions extends Harness.RecordOptions {}


const recordingOf = (record: Options["record"]) =>
  record === undefined ? undefined : typeof record === "string" ? { path: record } : record

// The scripted server is a Transport (recorded when asked) plus the CodexTest
// service; the client on top is the same one AppServer.layer builds.
const withClient = (
  server: Effect.Effect<Context.Context<Transport.Transport | CodexTest>, never, Scope.Scope>,
  options: AppServerClient.Options
): Layer.Layer<AppServerClient.AppServerClient | CodexTest> =>
  AppServerClient.layer(options).pipe(Layer.provideMerge(Layer.effectContext(server)), Layer.orDie)

const recorded = (transport: Transport.Service, record: Options["record"]) => {
  const recording = recordingOf(record)
  return recording === undefined
    ? Effect.succeed(transport)
    : Harness.recordTransport(transport, recording.path, recording)
}

/**
 * An in-memory app-server playing `script`, one step per `turn/start` in
 * order across threads, and a client connected to it: provide `Codex.layer`
 * over it and run the program unchanged. A `turn/start` past the end of the
 * script fails its turn with `"CodexTest: no scripted turn for turn/start #N
 * on thread X"` (or plays `options.fallback`). Also provides {@link CodexTest}
 * for assertions.
 *
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { Approvals, Codex } from "effect-codex"
 * import { CodexTest } from "effect-codex/testing"
 *
 * const script = [
 *   CodexTest.turn(
 *     CodexTest.command("npm test", { approval: true, output: "ok\n" }),
 *     CodexTest.reply("The tests pass.")
 *   )
 * ]
 *
 * const test = Effect.gen(function*() {
 *   const thread = yield* Codex.startThread()
 *   const result = yield* thread.run("Run the tests")
 *   const [answer] = yield* CodexTest.answers // { decision: "accept" }
 *   return [result.finalResponse, answer?.result]
 * }).pipe(
 *   Effect.provide(Codex.layer.pipe(Layer.provide(Approvals.dangerouslyAcceptAll))),
 *   Effect.provide(CodexTest.layer(script))
 * )
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (
  script: ReadonlyArray<Step> = [],
  options: Options = {}
): Layer.Layer<AppServerClient.AppServerClient | CodexTest> =>
  withClient(
    Effect.gen(function*() {
      const harness = new Harness.Harness()
      const { server, transport } = yield* Transport.inMemory
      const scripted = yield* makeServer(script, options, harness, server)
      yield* Effect.forkScoped(scripted.serve)
      return Context.make(Transport.Transport, yield* recorded(transport, options.record)).pipe(
        Context.add(CodexTest, makeService(harness, scripted.remaining, "scripted turn(s) were"))
      )
    }),
    options
  )

// =============================================================================
// Replay
// =============================================================================

/**
 * One line of a JSONL transcript: `{t, dir, msg}` with `t` in ms since the
 * start, `dir` = `c2s` | `s2c` | `note` | `exit` | `model-req` | ..., and for
 * sessions of several processes `proc`.
 *
 * @category models
 * @since 0.1.0
 */
export interface TranscriptLine {
  readonly t: number
  readonly dir: string
  readonly msg: unknown
  readonly proc?: string | undefined
}

/**
 * Parses JSONL transcript text (empty lines are skipped; a bad line throws,
 * naming it).
 *
 * @category replay
 * @since 0.1.0
 */
export const parseTranscript = (text: string): ReadonlyArray<TranscriptLine> =>
  text.split("\n").flatMap((line, i) => {
    if (line.trim().length === 0) return []
    try {
      return [JSON.parse(line) as TranscriptLine]
    } catch (cause) {
      throw new Error(`transcript line ${i + 1} is not JSON: ${String(cause)}`)
    }
  })

/**
 * Options of {@link layerReplay}.
 *
 * @category models
 * @since 0.1.0
 */
export interface ReplayOptions extends AppServerClient.Options {
  /**
   * Which process of a multi-process transcript to replay (its `proc`
   * field). Default: the process of the first message.
   */
  readonly proc?: string | undefined
  /**
   * `"recorded"` waits (on the `Clock`) as long as the recording did between
   * messages, once the handshake is over. Default `"instant"`.
   */
  readonly timing?: "instant" | "recorded" | undefined
  /**
   * More keys never compared (besides the volatile ones: `cwd`, `path`,
   * timestamps, `jsonrpc`, and the whole `initialize` params).
   */
  readonly ignore?: ReadonlyArray<string> | undefined
}

/**
 * An in-memory app-server that replays a recorded session (a path to a JSONL
 * file in the format of `test/fixtures/transcripts`, or its parsed lines).
 *
 * The server answers the client's requests with the recorded responses and
 * sends the recorded notifications and server requests in order, waiting for
 * each recorded client message before going on. What the client sends must
 * match the recording, up to volatile fields (`cwd`, paths, timestamps; ids
 * are matched one-to-one, so a recorded thread id stands for the one the
 * client uses; `initialize` params are not compared, as every client
 * identifies itself). Consecutive client messages may come in any order.
 * Recorded thread and turn ids are sent as they are; client request ids are
 * remapped.
 *
 * On a mismatch the request fails with an `RpcError` (`-32600`) whose message
 * names the transcript line, what it expected and what differs; the connection
 * then closes with a `ProtocolError` carrying the same message, and
 * {@link mismatches} / {@link verify} report it. Requests after the end of
 * the transcript fail the same way.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerReplay = (
  transcript: string | ReadonlyArray<TranscriptLine>,
  options: ReplayOptions = {}
): Layer.Layer<AppServerClient.AppServerClient | CodexTest> =>
  withClient(Effect.gen(function*() {
    const lines = typeof transcript === "string"
      ? yield* Effect.sync(() => parseTranscript(NodeFs.readFileSync(transcript, "utf8")))
      : transcript
    const numbered = lines.map((line, i) => ({ ...line, line: i + 1 }))
    const wire = numbered.filter((line) => line.dir === "c2s" || line.dir === "s2c")
    const proc = options.proc ?? wire[0]?.proc
    const entries = wire.filter((line) => line.proc === proc) as ReadonlyArray<Replay.Entry & { proc?: string }>
    const harness = new Harness.Harness()
    const { server, transport } = yield* Transport.inMemory
    const replay = yield* Replay.makeReplay(
      entries,
      { timing: options.timing ?? "instant", ignore: options.ignore ?? [] },
      harness,
      server
    )
    yield* Effect.forkScoped(replay.serve)
    return Context.make(Transport.Transport, transport).pipe(
      Context.add(CodexTest, makeService(harness, replay.remaining, "recorded client message(s) were"))
    )
  }), options)

// =============================================================================
// Recording
// =============================================================================

/**
 * Wraps a transport so every message in both directions is appended to a
 * JSONL transcript at `path` (`{t, dir, msg}`; `t` from the `Clock`; an
 * `exit` line when the connection ends; `apiKey` and token fields redacted),
 * ready for {@link layerReplay}. For connections {@link layerRecording} does
 * not cover (a WebSocket, a custom transport).
 *
 * @category recording
 * @since 0.1.0
 */
export const recordTransport: (
  transport: Transport.Service,
  path: string,
  options?: RecordOptions
) => Effect.Effect<Transport.Service, never, Scope.Scope> = Harness.recordTransport

/**
 * Options of {@link layerRecording}.
 *
 * @category models
 * @since 0.1.0
 */
export interface RecordingOptions extends AppServer.Options, RecordOptions {}

/**
 * `AppServer.layer` (the real codex over stdio) that also records the
 * session to a JSONL transcript at `path`: capture a session once with the
 * real binary, replay it in CI with {@link layerReplay}. Use `replace` to turn
 * machine-specific paths into placeholders (`{ [home]: "<tmp>/home" }`).
 *
 * ```ts
 * import { NodeServices } from "@effect/platform-node"
 * import { Effect } from "effect"
 * import { Codex } from "effect-codex"
 * import { CodexTest } from "effect-codex/testing"
 *
 * const record = (program: Effect.Effect<void, unknown, Codex.Codex>) =>
 *   program.pipe(
 *     Effect.provide(Codex.layer),
 *     Effect.provide(CodexTest.layerRecording("test/fixtures/hello.jsonl")),
 *     Effect.provide(NodeServices.layer)
 *   )
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layerRecording = (
  path: string,
  options: RecordingOptions = {}
): Layer.Layer<AppServerClient.AppServerClient, CodexError.CodexError, ChildProcessSpawner.ChildProcessSpawner> =>
  AppServer.layerFrom(
    Layer.effect(
      Transport.Transport,
      Effect.flatMap(
        Effect.flatMap(AppServer.stdioOptions(options), Transport.stdio),
        (transport) => Harness.recordTransport(transport, path, options)
      )
    ),
    options
  )
