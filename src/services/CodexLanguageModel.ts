/**
 * Codex as an effect/ai `LanguageModel`: `LanguageModel.generateText`,
 * `streamText`, `generateObject` and `Chat` run Codex turns.
 *
 * ```ts
 * import { NodeRuntime, NodeServices } from "@effect/platform-node"
 * import { Console, Effect } from "effect"
 * import { Chat } from "effect/ai"
 * import { AppServer, Codex } from "effect-codex"
 * import { CodexLanguageModel } from "effect-codex/ai"
 *
 * const program = Effect.gen(function*() {
 *   const chat = yield* Chat.empty
 *   const first = yield* chat.generateText({ prompt: "Which files are in this repository?" })
 *   yield* Console.log(first.text)
 *   // the same Codex thread, resumed: codex remembers the first turn
 *   const second = yield* chat.generateText({ prompt: "Which of them is the largest?" })
 *   yield* Console.log(second.text)
 * })
 *
 * program.pipe(
 *   Effect.provide(CodexLanguageModel.model("gpt-5.4")),
 *   Effect.provide(Codex.layer),
 *   Effect.provide(AppServer.layer()),
 *   Effect.provide(NodeServices.layer),
 *   NodeRuntime.runMain
 * )
 * ```
 *
 * How a request becomes a turn:
 * - system messages become the thread's developer instructions;
 * - the part of the prompt after its last assistant message is the turn's
 *   input (text; images by URL, data or local file; text files inline);
 * - the response id is the thread id, and every part carries
 *   `metadata.codex = { threadId, turnId, itemId }`. A prompt whose last
 *   assistant message carries them (what `Chat` keeps in its history)
 *   continues that thread: only the new messages are sent, and codex keeps
 *   its own context (files read, commands run). `previousResponseId` (from an
 *   effect/ai `ResponseIdTracker`) works the same way. Any other history is
 *   replayed, as a transcript, into a new thread (ephemeral unless
 *   `thread.ephemeral` says otherwise);
 * - `generateObject`: the schema is the turn's `outputSchema` (strict mode;
 *   optional fields are sent as nullable), and the final answer is decoded;
 * - a toolkit's tools are offered to codex as client (dynamic) tools and
 *   answered inside the turn by the toolkit's handlers: they show as
 *   provider-executed tool calls with their results;
 * - codex's own commands, file changes and MCP calls show as provider-executed
 *   tool calls when the toolkit holds {@link CommandExecution},
 *   {@link FileChange} / {@link McpToolCall} (or all of {@link CodexTools});
 * - `CodexError` reasons become the `AiError` reasons that mean the same
 *   (rate limit, quota, authentication, overload, timeout, invalid output...).
 *
 * Gotchas:
 * - the handlers of a toolkit must be in context when the request runs: pass
 *   the `Toolkit` itself (`toolkit: MyTools`, with `MyTools.toLayer(...)`
 *   provided), not a `WithHandler` resolved elsewhere; its tool parameters
 *   must be Effect Schemas strict mode can express;
 * - codex fixes a thread's client tools when the thread starts: a later
 *   request that brings new tools starts a new thread (history replayed);
 * - a tool that `needsApproval` is declined (a turn cannot pause for an
 *   approval); codex's own approvals go through `Approvals`, as for
 *   `thread.run`;
 * - `toolChoice` other than `"none"` (no client tools) is not enforced.
 *
 * @stability unstable
 * @stability unstable
 * @since 0.1.0
 */
import { Deferred, Effect, Exit, Layer, OpenAiStructuredOutput, Result, Stream } from "../schema/internal/effect.ts"
import * as AiError from "effect/ai/AiError"
import * as LanguageModel from "effect/ai/LanguageModel"
import * as Model from "effect/ai/Model"
import * as Tool from "effect/ai/Tool"
import * as Toolkit from "effect/ai/Toolkit"
import type { Schema } from "../schema/internal/effect.ts"
import * as OutputSchema from "../schema/OutputSchema.ts"
import type * as TurnEvent from "../streams/TurnEvent.ts"
import * as Codex from "./Codex.ts"
import { MODULE, toAiError } from "./internal/aiErrors.ts"
import * as Parts from "./internal/aiParts.ts"
import * as Plan from "./internal/aiPrompt.ts"
import { type Call, clientToolParts, Threads, toolProblem } from "./internal/aiSession.ts"
import type * as Thread from "./Thread.ts"
import type * as Turn from "./Turn.ts"

/**
 * The provider name of this model (`Model.ProviderName`).
 *
 * @category constants
 * @since 0.1.0
 */
export const providerName = "codex"

// =============================================================================
// Codex's own tools
// =============================================================================

/**
 * Commands codex runs, as provider-executed tool calls: put it in the toolkit
 * of a request to see them (`params`: `command`, `cwd`; result: `status`,
 * `exitCode`, `output`, `durationMs`; a failed or declined command is a
 * failure result). No handler: codex runs the command.
 *
 * @category tools
 * @since 0.1.0
 */
export const CommandExecution = Tool.providerDefined({
  id: Parts.TOOL_IDS.commandExecution,
  customName: "codex_command_execution",
  providerName: "commandExecution",
  parameters: Parts.CommandExecutionParameters,
  success: Parts.CommandExecutionResult,
  failure: Parts.CommandExecutionResult
})()

/**
 * File changes codex makes, as provider-executed tool calls (`params`: the
 * files and their kind of change; result: `status` and each file's diff).
 *
 * @category tools
 * @since 0.1.0
 */
export const FileChange = Tool.providerDefined({
  id: Parts.TOOL_IDS.fileChange,
  customName: "codex_file_change",
  providerName: "fileChange",
  parameters: Parts.FileChangeParameters,
  success: Parts.FileChangeResult,
  failure: Parts.FileChangeResult
})()

/**
 * MCP tool calls codex makes, as provider-executed tool calls (`params`:
 * `server`, `tool`, `arguments`; result: `status`, the MCP `content` and
 * `structuredContent`, or `error`).
 *
 * @category tools
 * @since 0.1.0
 */
export const McpToolCall = Tool.providerDefined({
  id: Parts.TOOL_IDS.mcpToolCall,
  customName: "codex_mcp_tool_call",
  providerName: "mcpToolCall",
  parameters: Parts.McpToolCallParameters,
  success: Parts.McpToolCallResult,
  failure: Parts.McpToolCallResult
})()

/**
 * All of codex's own tools ({@link CommandExecution}, {@link FileChange},
 * {@link McpToolCall}), to merge with a toolkit:
 * `Toolkit.merge(CodexLanguageModel.CodexTools, MyTools)`.
 *
 * @category tools
 * @since 0.1.0
 */
export const CodexTools = Toolkit.make(CommandExecution, FileChange, McpToolCall)

// =============================================================================
// Options
// =============================================================================

/**
 * Options of {@link layer} and {@link model}.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** The model codex uses (`thread/start` `model`). Default: codex's configured model. */
  readonly model?: string | undefined
  /**
   * `thread/start` fields for the threads this model starts (`cwd`,
   * `sandbox`, `approvalPolicy`, `config`, `baseInstructions`, `ephemeral`,
   * ...). `developerInstructions` come before the prompt's system messages.
   * Threads that replay a history are ephemeral unless `ephemeral` is set.
   */
  readonly thread?: Omit<Thread.StartOptions, "tools" | "model"> | undefined
  /** `turn/start` fields for every turn (`effort`, `summary`, ...) and `interruptTimeout`. */
  readonly turn?: Omit<Turn.Options, "model"> | undefined
}

// =============================================================================
// Constructor
// =============================================================================

type Method = "generateText" | "streamText"

interface Request {
  readonly method: Method
  readonly format: "text" | "json"
  readonly outputSchema: Schema.Top | undefined
  readonly builtins: Parts.Builtins
  readonly tools: ReadonlyArray<Tool.Any>
  readonly plan: Plan.Plan
  readonly call: Call
}

const BUILTINS: Record<string, keyof Parts.Builtins> = {
  [Parts.TOOL_IDS.commandExecution]: "commandExecution",
  [Parts.TOOL_IDS.fileChange]: "fileChange",
  [Parts.TOOL_IDS.mcpToolCall]: "mcpToolCall"
}

const failWith = (method: Method, reason: AiError.AiErrorReason) =>
  Effect.fail(AiError.make({ module: MODULE, method, reason }))

/** Checks a request and resolves what it needs before anything is sent. */
const prepare = Effect.fnUntraced(function*(method: Method, options: LanguageModel.ProviderOptions) {
  let outputSchema: Schema.Top | undefined
  if (options.responseFormat.type === "json") {
    outputSchema = options.responseFormat.schema
    const derived = yield* Effect.result(
      OutputSchema.make(outputSchema as Schema.Top & { readonly DecodingServices: never })
    )
    if (Result.isFailure(derived)) {
      return yield* failWith(
        method,
        new AiError.UnsupportedSchemaError({ description: `at ${derived.failure.path}: ${derived.failure.message}` })
      )
    }
  }

  const builtins: { -readonly [K in keyof Parts.Builtins]: Parts.Builtins[K] } = {}
  const tools: Array<Tool.Any> = []
  for (const tool of options.tools) {
    if (!Tool.isProviderDefined(tool)) {
      tools.push(tool)
      continue
    }
    const builtin = BUILTINS[tool.id]
    if (builtin === undefined) {
      return yield* failWith(
        method,
        new AiError.ToolConfigurationError({
          toolName: tool.name,
          description: `${tool.id} is a tool of another provider; codex runs its own tools and the toolkit's client tools`
        })
      )
    }
    builtins[builtin] = tool.name
  }
  const offered = options.toolChoice === "none" ? [] : tools
  const context = yield* Effect.context<never>()
  for (const tool of offered) {
    const problem = toolProblem(tool)
    if (problem !== undefined) {
      return yield* failWith(method, new AiError.ToolConfigurationError({ toolName: tool.name, description: problem }))
    }
    if (!context.mapUnsafe.has(tool.id)) {
      return yield* failWith(
        method,
        new AiError.ToolConfigurationError({
          toolName: tool.name,
          description: "its handler is not in context: codex answers tools inside the turn, so pass the Toolkit itself " +
            "(toolkit: MyTools) with MyTools.toLayer(...) provided, not a toolkit resolved elsewhere"
        })
      )
    }
  }
  const toolkit = offered.length === 0
    ? undefined
    : yield* (Toolkit.make(...offered) as unknown as Effect.Effect<Toolkit.WithHandler<any>>)

  const plan = Plan.plan(method, options.prompt, {
    previousResponseId: options.previousResponseId,
    incrementalPrompt: options.incrementalPrompt
  })
  if (Result.isFailure(plan)) return yield* Effect.fail(plan.failure)

  const call: Call = {
    tools: new Map(offered.map((tool) => [tool.name, tool])),
    toolkit,
    context,
    messages: options.prompt.content,
    answered: [],
    failed: yield* Deferred.make<never, unknown>()
  }
  return {
    method,
    format: options.responseFormat.type,
    outputSchema,
    builtins,
    tools: offered,
    plan: plan.success,
    call
  } satisfies Request
})

/**
 * Builds the language model over the {@link Codex.Codex} service in context.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = Effect.fnUntraced(function*(options: Options = {}) {
  const codex = yield* Codex.Codex
  const threads = new Threads(codex, {
    ...options.thread,
    ...(options.model === undefined ? {} : { model: options.model })
  })

  /** Starts the request's turn on its thread (held, with the turn, for the Scope). */
  const startTurn = Effect.fnUntraced(function*(request: Request, providerOptions: LanguageModel.ProviderOptions) {
    const acquired = yield* threads.acquire(request.method, request.plan, request.tools, request.call)
    const turn = yield* acquired.thread.turn(acquired.input, {
      ...options.turn,
      ...(request.outputSchema === undefined ? {} : { outputSchema: request.outputSchema })
    }).pipe(Effect.mapError((error) => toAiError(request.method, error)))
    acquired.started(turn.id)
    providerOptions.span.attribute("gen_ai.provider.name", providerName)
    providerOptions.span.attribute("gen_ai.response.id", turn.threadId)
    providerOptions.span.attribute("codex.thread_id", turn.threadId)
    providerOptions.span.attribute("codex.turn_id", turn.id)
    const stamp = { threadId: turn.threadId, turnId: turn.id }
    const context: Parts.Context = {
      ...stamp,
      modelId: options.model,
      builtins: request.builtins,
      clientTools: clientToolParts(request.call, stamp)
    }
    return { turn, context, acquired }
  })

  // A tool whose failureMode is "error" failed: the request fails with its error, as effect/ai's own
  // resolution does (typed by the toolkit's handler errors at the call site, not as AiError).
  const toolFailure = (call: Call) => Deferred.await(call.failed) as Effect.Effect<never, AiError.AiError>

  const generateText = (providerOptions: LanguageModel.ProviderOptions) =>
    Effect.scoped(Effect.gen(function*() {
      const request = yield* prepare("generateText", providerOptions)
      const { acquired, context, turn } = yield* startTurn(request, providerOptions)
      return yield* Effect.gen(function*() {
        const result = yield* Effect.raceFirst(
          turn.result.pipe(Effect.mapError((error) => toAiError("generateText", error))),
          toolFailure(request.call)
        )
        if (Deferred.isDoneUnsafe(request.call.failed)) return yield* toolFailure(request.call)
        const events = yield* Stream.runCollect(turn.events).pipe(
          Effect.mapError((error) => toAiError("generateText", error))
        )
        const usages = Array.from(events).flatMap((event: TurnEvent.TurnEvent) =>
          event._tag === "TokenUsageUpdated" ? [event.tokenUsage] : []
        )
        return Parts.partsOfTurn(context, result, Parts.turnUsage(usages), request.format)
      }).pipe(Effect.onExit((exit) => Exit.isFailure(exit) ? Effect.sync(() => acquired.abandoned(turn.id)) : Effect.void))
    }))

  const streamText = (providerOptions: LanguageModel.ProviderOptions) =>
    Stream.unwrap(Effect.gen(function*() {
      const request = yield* prepare("streamText", providerOptions)
      const { context, turn } = yield* startTurn(request, providerOptions)
      const parts = new Parts.StreamParts(context)
      const toAi = (error: Parameters<typeof toAiError>[1]) => toAiError("streamText", error)
      const events = turn.events.pipe(
        Stream.mapError(toAi),
        Stream.map((event) => parts.event(event)),
        Stream.flattenIterable
      )
      const end = Stream.fromEffect(turn.result.pipe(Effect.mapError(toAi))).pipe(
        Stream.map((result) => parts.finish(result)),
        Stream.flattenIterable
      )
      return Stream.fromIterable(parts.start()).pipe(
        Stream.concat(events),
        Stream.concat(end),
        Stream.interruptWhen(toolFailure(request.call))
      )
    }))

  return yield* LanguageModel.make({
    generateText,
    streamText,
    // the decoder of generateObject's answer: the codec of the strict-mode schema the turn was given
    codecTransformer: OpenAiStructuredOutput.toCodecOpenAI
  })
})

// =============================================================================
// Layers
// =============================================================================

/**
 * The `LanguageModel` service over the {@link Codex.Codex} service in context.
 *
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { LanguageModel } from "effect/ai"
 * import { Codex } from "effect-codex"
 * import { CodexLanguageModel } from "effect-codex/ai"
 * import { CodexTest } from "effect-codex/testing"
 *
 * const program = LanguageModel.generateText({ prompt: "Say hello" }).pipe(
 *   Effect.map((response) => response.text) // "hi"
 * )
 *
 * program.pipe(
 *   Effect.provide(CodexLanguageModel.layer()),
 *   Effect.provide(Codex.layer),
 *   Effect.provide(CodexTest.layer([CodexTest.reply("hi")]))
 * )
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (options?: Options): Layer.Layer<LanguageModel.LanguageModel, never, Codex.Codex> =>
  Layer.effect(LanguageModel.LanguageModel, make(options))

/**
 * A `Model` (effect/ai) for one codex model: the `LanguageModel` of
 * {@link layer} with `model: name`, plus `Model.ProviderName` (`"codex"`) and
 * `Model.ModelName`. Usable in an `ExecutionPlan`.
 *
 * @category layers
 * @since 0.1.0
 */
export const model = (
  name: string,
  options?: Omit<Options, "model">
): Model.Model<"codex", LanguageModel.LanguageModel, Codex.Codex> =>
  Model.make(providerName, name, layer({ ...options, model: name }))
