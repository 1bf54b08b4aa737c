/**
 * The stateful side of `CodexLanguageModel`: which thread a request runs on,
 * and the client tools a request's toolkit offers inside a turn.
 *
 * Threads. A request continues the thread its prompt names (see
 * `aiPrompt.ts`) when that is safe: the thread is not running another
 * request, its latest turn is the one the prompt's last assistant message came
 * from (so a branch of an older history does not land on a thread that has
 * moved on), its developer instructions are the prompt's, and it already
 * offers every tool the request brings (codex fixes a thread's dynamic tools at
 * `thread/start`). Otherwise the request starts a new thread and replays the
 * history into it. Threads this process started are kept (the most recent
 * {@link MAX_THREADS}); any other is resumed by id, and a resume that codex
 * refuses (an ephemeral thread of another process, say) also starts anew.
 *
 * Client tools. codex calls a dynamic tool with `item/tool/call` and waits for
 * the answer before the turn goes on, so the request's own toolkit handler
 * answers it inside the turn. The tools registered on a thread are stable
 * closures that look up the request running on the thread now (its
 * {@link Call}); what they answered is recorded there, and becomes the
 * provider-executed tool-call / tool-result parts of the response.
 *
 * @internal
 */
import {
  Cause, type Context, Deferred, Effect, OpenAiStructuredOutput, Option, Result, Schema, type Scope, Stream
} from "../../schema/internal/effect.ts"
import * as AiError from "effect/ai/AiError"
import type * as Prompt from "effect/ai/Prompt"
import type * as Response from "effect/ai/Response"
import * as Tool from "effect/ai/Tool"
import type * as Toolkit from "effect/ai/Toolkit"
import type * as CodexError from "../../schema/CodexError.ts"
import type * as Input from "../../schema/Input.ts"
import * as OutputSchema from "../../schema/OutputSchema.ts"
import type * as Codex from "../Codex.ts"
import * as CodexTool from "../CodexTool.ts"
import type * as Thread from "../Thread.ts"
import type * as Parts from "./aiParts.ts"
import { MODULE, toAiError } from "./aiErrors.ts"
import { PROVIDER_KEY } from "./aiPrompt.ts"
import type * as Plan from "./aiPrompt.ts"

/**
 * How many threads a model keeps handles of. The least recently used beyond
 * that are forgotten and unsubscribed from, so codex may unload them (it keeps
 * a thread loaded while a connection is subscribed to it); a later request
 * that continues one resumes it.
 */
export const MAX_THREADS = 256

// =============================================================================
// Client tools
// =============================================================================

/** What a request's tool answered, as the parts will show it. */
interface Answered {
  readonly name: string
  /** The text codex got (the `dynamicToolCall` item's content). */
  readonly text: string
  readonly success: boolean
  readonly result: unknown
  readonly isFailure: boolean
  used: boolean
}

/** The request running on a thread now. */
export interface Call {
  /** The request's client tools by name. */
  readonly tools: ReadonlyMap<string, Tool.Any>
  readonly toolkit: Toolkit.WithHandler<any> | undefined
  /** The context of the request: tool handlers run in it (their services, spans). */
  readonly context: Context.Context<never>
  readonly messages: ReadonlyArray<Prompt.Message>
  readonly answered: Array<Answered>
  /** Failed when a tool whose `failureMode` is `"error"` fails: the request fails with it. */
  readonly failed: Deferred.Deferred<never, unknown>
}

/** The request slot of a thread, read by its tools when codex calls them. */
interface Slot {
  call: Call | undefined
}

/** A tool's answer that is not a success, as a failure `CodexTool` turns into `success: false`. */
class ToolAnswer {
  readonly message: string
  constructor(message: string) {
    this.message = message
  }
}

const render = (value: unknown): string => {
  if (typeof value === "string") return value
  if (value === undefined) return ""
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}

const modelText = (output: ReadonlyArray<Prompt.ToolModelOutputPart> | undefined): string | undefined => {
  if (output === undefined) return undefined
  const texts = output.flatMap((part) => part.type === "text" ? [part.text] : [])
  return texts.length === 0 ? undefined : texts.join("\n")
}

const encodeAiError = Schema.encodeUnknownSync(AiError.AiError)

/** A failure result as the tool's `failureResultSchema` encodes it: an AiError. */
const aiFailure = (name: string, reason: AiError.AiErrorReason) =>
  encodeAiError(AiError.make({ module: MODULE, method: `${name}.handle`, reason }))

// codex's call id does not reach a client tool's run (CodexTool passes the arguments only), so the
// approval rule sees an empty toolCallId.
const needsApproval = (tool: Tool.Any, params: unknown, call: Call): Effect.Effect<boolean> => {
  const rule = tool.needsApproval
  if (rule === undefined || rule === false) return Effect.succeed(false)
  if (rule === true) return Effect.succeed(true)
  return Effect.suspend(() => {
    const decided = rule(params as never, { toolCallId: "", messages: call.messages })
    return Effect.isEffect(decided) ? decided : Effect.succeed(decided)
  }).pipe(Effect.catchCause(() => Effect.succeed(true)))
}

/**
 * Answers a call of a client tool with the handler of the request running on
 * the thread. Never fails but with a {@link ToolAnswer} (codex gets
 * `success: false` and the turn goes on); a failing tool whose `failureMode` is
 * `"error"` also fails the request.
 */
const answer = (slot: Slot, name: string, decoded: unknown): Effect.Effect<string, ToolAnswer> =>
  Effect.suspend(() => {
    const call = slot.call
    const tool = call?.tools.get(name)
    if (call === undefined || tool === undefined || call.toolkit === undefined) {
      return Effect.fail(new ToolAnswer(`The tool ${name} is not available in this request.`))
    }
    const record = (text: string, success: boolean, result: unknown, isFailure: boolean) => {
      call.answered.push({ name, text, success, result, isFailure, used: false })
      return success ? Effect.succeed(text) : Effect.fail(new ToolAnswer(text))
    }
    const params = Schema.encodeUnknownExit(tool.parametersSchema as Schema.Codec<unknown, unknown>)(decoded)
    if (params._tag === "Failure") {
      const description = Cause.pretty(params.cause)
      const text = `Invalid arguments for ${name}: ${description}`
      return record(text, false, aiFailure(name, new AiError.ToolParameterValidationError({ toolName: name, description })), true)
    }
    return needsApproval(tool, decoded, call).pipe(
      Effect.flatMap((approval) => {
        if (approval) {
          const reason = `${name} needs an approval, which a Codex turn cannot ask for: declined`
          return record(reason, false, { type: "execution-denied", reason }, true)
        }
        const handled = call.toolkit!.handle(name, params.value as never).pipe(
          Effect.flatMap((results) => Stream.runLast(Stream.filter(results, (result) => !result.preliminary)))
        ) as Effect.Effect<Option.Option<Tool.HandlerResult<Tool.Any>>, unknown>
        return handled.pipe(
          Effect.provideContext(call.context),
          Effect.matchCauseEffect({
            onSuccess: (last) => {
              if (Option.isNone(last)) return record("(no result)", false, undefined, true)
              const result = last.value
              const text = modelText(result.modelOutput) ?? render(result.encodedResult)
              return record(
                result.isFailure && text.length === 0 ? "(failed)" : text,
                !result.isFailure,
                result.encodedResult,
                result.isFailure
              )
            },
            onFailure: (cause) => {
              if (Cause.hasInterruptsOnly(cause)) return Effect.interrupt
              // failureMode "error": the tool's failure is the request's, as effect/ai does with its own handlers
              const error = Cause.squash(cause)
              const message = error instanceof Error || (typeof error === "object" && error !== null && "message" in error)
                ? String((error as { message: unknown }).message)
                : String(error)
              return Deferred.failCause(call.failed, cause).pipe(
                Effect.andThen(Effect.fail(new ToolAnswer(message.length > 0 ? message : `${name} failed`)))
              )
            }
          })
        )
      })
    )
  })

/** The codex tools of a thread: one stable closure per tool, answering for the request in the slot. */
const codexTools = (slot: Slot, tools: ReadonlyArray<Tool.Any>): ReadonlyArray<CodexTool.Any> =>
  tools.map((tool) =>
    CodexTool.make(tool.name, {
      description: Tool.getDescription(tool) ?? tool.name,
      parameters: tool.parametersSchema as Schema.Top & { readonly DecodingServices: never },
      run: (decoded) => answer(slot, tool.name, decoded)
    })
  )

/**
 * Why codex cannot offer a tool, if it cannot: its parameters must be an
 * Effect Schema that strict mode can express (codex decodes the arguments with
 * it before the handler runs).
 */
export const toolProblem = (tool: Tool.Any): string | undefined => {
  if (problems.has(tool)) return problems.get(tool)
  let problem: string | undefined
  if (Tool.isDynamic(tool) && tool.jsonSchema !== undefined) {
    problem = "codex needs an Effect Schema for the parameters (a JSON Schema alone cannot decode the arguments)"
  } else {
    const derived = Effect.runSync(
      Effect.result(OutputSchema.make(tool.parametersSchema as Schema.Top & { readonly DecodingServices: never }))
    )
    if (Result.isFailure(derived)) {
      problem = `the parameters have no strict-mode JSON Schema (at ${derived.failure.path}: ${derived.failure.message})`
    }
  }
  problems.set(tool, problem)
  return problem
}

// Tools are usually module-level constants, checked and compiled once.
const problems = new WeakMap<Tool.Any, string | undefined>()
const decoders = new WeakMap<Tool.Any, (raw: unknown) => Result.Result<unknown, unknown>>()

/** Raw arguments -> the tool's encoded parameters, decoded as codex's tool (strict mode) decoded them. */
const decoderOf = (tool: Tool.Any) => {
  let decode = decoders.get(tool)
  if (decode === undefined) {
    const parameters = tool.parametersSchema as Schema.Codec<unknown, unknown>
    const strict = Schema.decodeUnknownResult(
      OpenAiStructuredOutput.toCodecOpenAI(parameters).codec as Schema.Codec<unknown, unknown>
    )
    const encode = Schema.encodeUnknownResult(parameters)
    decode = (raw) => Result.flatMap(strict(raw), (decoded) => encode(decoded))
    decoders.set(tool, decode)
  }
  return decode
}

/**
 * The tool parts of a request's client-tool calls, for `aiParts`: the call from
 * the item's arguments (decoded as codex's tool decoded them, then encoded as
 * the tool declares them), the result from what {@link answer} recorded.
 */
export const clientToolParts = (call: Call | undefined, stamp: Plan.Stamp): Parts.ClientTools => {
  const params = new Map<string, unknown>()
  const metadata = (itemId: string) => ({ [PROVIDER_KEY]: { ...stamp, itemId } })
  return {
    call: (item) => {
      const tool = call?.tools.get(item.tool)
      if (tool === undefined) return undefined
      let encoded = params.get(item.id)
      if (encoded === undefined) {
        let decoded: Result.Result<unknown, unknown>
        try {
          decoded = decoderOf(tool)(item.arguments)
        } catch (error) {
          decoded = Result.fail(error)
        }
        // arguments that do not decode were refused by codex's tool itself: no parts
        if (Result.isFailure(decoded)) return undefined
        encoded = decoded.success
        params.set(item.id, encoded)
      }
      return {
        type: "tool-call",
        id: item.id,
        name: item.tool,
        params: encoded,
        providerExecuted: true,
        metadata: metadata(item.id)
      }
    },
    result: (item): Response.ToolResultPartEncoded | undefined => {
      if (call === undefined || !params.has(item.id)) return undefined
      const content = item.contentItems?.find((entry) => entry.type === "inputText")
      const text = content?.type === "inputText" ? content.text : ""
      const success = item.success === true
      const found = call.answered.find((entry) =>
        !entry.used && entry.name === item.tool && entry.text === text && entry.success === success
      )
      if (found !== undefined) found.used = true
      return {
        type: "tool-result",
        id: item.id,
        name: item.tool,
        result: found?.result ?? { type: "execution-interrupted", reason: text || `${item.tool} ended ${item.status}` },
        isFailure: found?.isFailure ?? true,
        providerExecuted: true,
        metadata: metadata(item.id)
      }
    }
  }
}

// =============================================================================
// Threads
// =============================================================================

/** A thread this model runs requests on. */
interface Entry {
  readonly thread: Thread.Thread
  readonly slot: Slot
  readonly toolNames: ReadonlySet<string>
  readonly instructions: string | undefined
  lastTurnId: string | undefined
  busy: boolean
}

/** Where a request runs: the thread, and the input to send on it. */
export interface Acquired {
  readonly thread: Thread.Thread
  readonly input: ReadonlyArray<Input.Item>
  /** Records the turn the request started (the thread's latest from now on). */
  readonly started: (turnId: string) => void
  /**
   * The request failed and its caller keeps no answer of that turn (`generateText`; a stream's
   * consumer keeps what it got): the turn before it stays the thread's latest, so a retry of the same
   * prompt continues the thread (which then holds the failed turn's message too) instead of replaying.
   */
  readonly abandoned: (turnId: string) => void
}

/** Thread options a resume accepts, taken from the model's `thread/start` options. */
const RESUME_KEYS = [
  "approvalPolicy",
  "approvalsReviewer",
  "baseInstructions",
  "config",
  "cwd",
  "model",
  "modelProvider",
  "permissions",
  "personality",
  "sandbox",
  "serviceTier"
] as const

const joinInstructions = (...texts: ReadonlyArray<string | null | undefined>): string | undefined => {
  const present = texts.filter((text): text is string => typeof text === "string" && text.length > 0)
  return present.length === 0 ? undefined : present.join("\n\n")
}

/** The threads of one model (one layer). */
export class Threads {
  private readonly entries = new Map<string, Entry>()

  private readonly codex: Codex.Service
  private readonly startOptions: Omit<Thread.StartOptions, "tools">

  constructor(codex: Codex.Service, startOptions: Omit<Thread.StartOptions, "tools">) {
    this.codex = codex
    this.startOptions = startOptions
  }

  /** Unsubscribes still in flight, by thread: a resume of that thread waits for its own to land first. */
  private readonly leaving = new Map<string, Deferred.Deferred<void>>()

  /** Keeps `entry` as the most recent; returns the entries forgotten to stay within MAX_THREADS. */
  private remember(id: string, entry: Entry): Array<Entry> | undefined {
    this.entries.delete(id)
    this.entries.set(id, entry)
    if (this.entries.size <= MAX_THREADS) return undefined
    const forgotten: Array<Entry> = []
    for (const [key, old] of this.entries) {
      if (this.entries.size <= MAX_THREADS) break
      if (!old.busy) {
        this.entries.delete(key)
        forgotten.push(old)
      }
    }
    return forgotten
  }

  /**
   * Unsubscribes from forgotten threads. Marked leaving at once (before any
   * other fiber can resume one); the requests run detached: each is one short
   * request, which ends with the connection at the latest, and a refusal (a
   * turn still winding down) leaves the thread as it was.
   */
  private leave(entries: ReadonlyArray<Entry>): Effect.Effect<void> {
    const leaving = entries.map((entry) => {
      const done = Deferred.makeUnsafe<void>()
      this.leaving.set(entry.thread.id, done)
      return { entry, done }
    })
    return Effect.forEach(leaving, ({ done, entry }) =>
      Effect.forkDetach(entry.thread.unsubscribe.pipe(
        Effect.ignore,
        Effect.ensuring(Effect.sync(() => {
          if (this.leaving.get(entry.thread.id) === done) this.leaving.delete(entry.thread.id)
          Deferred.doneUnsafe(done, Effect.void)
        }))
      )), { discard: true })
  }

  private claim(entry: Entry, call: Call, input: ReadonlyArray<Input.Item>): Effect.Effect<Acquired, never, Scope.Scope> {
    return Effect.acquireRelease(
      Effect.suspend(() => {
        entry.busy = true
        entry.slot.call = call
        const forgotten = this.remember(entry.thread.id, entry)
        const before = entry.lastTurnId
        const acquired: Acquired = {
          thread: entry.thread,
          input,
          started: (turnId: string) => void (entry.lastTurnId = turnId),
          abandoned: (turnId: string) => {
            if (entry.lastTurnId === turnId) entry.lastTurnId = before
          }
        }
        return forgotten === undefined ? Effect.succeed(acquired) : Effect.as(this.leave(forgotten), acquired)
      }),
      () =>
        Effect.sync(() => {
          entry.busy = false
          entry.slot.call = undefined
        })
    )
  }

  /** Whether an entry can take a continuation. */
  private fits(entry: Entry, continuation: Plan.Continuation, instructions: string | undefined, tools: ReadonlyArray<Tool.Any>) {
    return !entry.busy &&
      (continuation.turnId === undefined || entry.lastTurnId === continuation.turnId) &&
      entry.instructions === instructions &&
      tools.every((tool) => entry.toolNames.has(tool.name))
  }

  /** A new thread for a request, given the whole (replayed) prompt. */
  private start(
    method: string,
    plan: Plan.Plan,
    tools: ReadonlyArray<Tool.Any>,
    call: Call
  ): Effect.Effect<Acquired, AiError.AiError, Scope.Scope> {
    const slot: Slot = { call: undefined }
    const instructions = joinInstructions(this.startOptions.developerInstructions, plan.instructions)
    const { developerInstructions: _, ...rest } = this.startOptions
    return this.codex.startThread({
      ...rest,
      ...(instructions === undefined ? {} : { developerInstructions: instructions }),
      // a thread made of a replayed history is a one-off unless told otherwise
      ...(plan.replayed && rest.ephemeral === undefined ? { ephemeral: true } : {}),
      ...(tools.length === 0 ? {} : { tools: codexTools(slot, tools) })
    }).pipe(
      Effect.mapError((error) => toAiError(method, error)),
      Effect.flatMap((thread) =>
        this.claim(
          {
            thread,
            slot,
            toolNames: new Set(tools.map((tool) => tool.name)),
            instructions: plan.instructions,
            lastTurnId: undefined,
            busy: false
          },
          call,
          plan.fresh
        )
      )
    )
  }

  /** A stored thread this model has no handle of, loaded again by id. */
  private resume(
    continuation: Plan.Continuation,
    plan: Plan.Plan,
    tools: ReadonlyArray<Tool.Any>
  ): Effect.Effect<Entry, CodexError.CodexError> {
    const slot: Slot = { call: undefined }
    const options: Record<string, unknown> = {}
    for (const key of RESUME_KEYS) {
      if (this.startOptions[key] !== undefined) options[key] = this.startOptions[key]
    }
    const instructions = joinInstructions(this.startOptions.developerInstructions, plan.instructions)
    const leaving = this.leaving.get(continuation.threadId)
    return Effect.andThen(leaving === undefined ? Effect.void : Deferred.await(leaving), this.codex.resumeThread(continuation.threadId, {
      ...(options as Thread.ResumeOptions),
      ...(instructions === undefined ? {} : { developerInstructions: instructions }),
      excludeTurns: true,
      ...(tools.length === 0 ? {} : { tools: codexTools(slot, tools) })
    })).pipe(
      Effect.map((thread): Entry => ({
        thread,
        slot,
        toolNames: new Set(tools.map((tool) => tool.name)),
        instructions: plan.instructions,
        lastTurnId: continuation.turnId,
        busy: false
      }))
    )
  }

  /**
   * The thread a request runs on, held for the request's Scope: the one its
   * prompt continues when that is safe, else a new one with the history replayed.
   */
  acquire(
    method: string,
    plan: Plan.Plan,
    tools: ReadonlyArray<Tool.Any>,
    call: Call
  ): Effect.Effect<Acquired, AiError.AiError, Scope.Scope> {
    const continuation = plan.continuation
    if (continuation === undefined) return this.start(method, plan, tools, call)
    const known = this.entries.get(continuation.threadId)
    if (known !== undefined) {
      return this.fits(known, continuation, plan.instructions, tools)
        ? this.claim(known, call, continuation.input)
        : this.start(method, plan, tools, call)
    }
    return this.resume(continuation, plan, tools).pipe(
      Effect.matchEffect({
        // not resumable here (unknown id, ephemeral, archived): the history is replayed instead
        onFailure: () => this.start(method, plan, tools, call),
        onSuccess: (entry) =>
          // resumed meanwhile by a concurrent request: the one remembered first wins
          this.entries.has(continuation.threadId)
            ? this.start(method, plan, tools, call)
            : this.claim(entry, call, continuation.input)
      })
    )
  }
}
