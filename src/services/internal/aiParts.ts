/**
 * A Codex turn -> effect/ai response parts, for `CodexLanguageModel`. Pure: the
 * same item helpers build the parts of `generateText` (from the completed
 * items) and of `streamText` (from the events, with start / delta / end).
 *
 * - agent messages -> text (`json` responses: only the final answer, since the
 *   framework parses all text parts of a response as the object);
 * - reasoning -> reasoning (summary, else raw content);
 * - commands, file changes and MCP calls -> provider-executed tool calls with
 *   their results, when the request's toolkit holds the matching codex tool
 *   (effect/ai only decodes tool parts of tools it knows);
 * - client tools -> provider-executed tool calls, from what the session
 *   recorded while answering them;
 * - finish: the turn's status and the tokens the turn used.
 *
 * Every part carries `metadata.codex` = `{ threadId, turnId, itemId }`: `Chat`
 * keeps it in its history, which is how a later prompt says which thread it
 * continues (see `aiPrompt.ts`).
 *
 * @internal
 */
import { Schema } from "../../schema/internal/effect.ts"
import type * as Response from "effect/ai/Response"
import type * as Protocol from "../../schema/generated/Protocol.gen.ts"
import { unwrapShell } from "../../schema/internal/shell.ts"
import type * as TurnEvent from "../../streams/TurnEvent.ts"
import type * as TurnResult from "../../streams/TurnResult.ts"
import { PROVIDER_KEY } from "./aiPrompt.ts"

// =============================================================================
// Codex's own tools
// =============================================================================

/** Ids of the provider-defined tools that stand for codex's built-in actions. */
export const TOOL_IDS = {
  commandExecution: "codex.command_execution",
  fileChange: "codex.file_change",
  mcpToolCall: "codex.mcp_tool_call"
} as const

/** What a command-execution tool call carries. */
export const CommandExecutionParameters = Schema.Struct({
  command: Schema.String,
  cwd: Schema.String
})

/** What a command-execution tool result carries (`status`: completed, failed, declined). */
export const CommandExecutionResult = Schema.Struct({
  status: Schema.String,
  exitCode: Schema.NullOr(Schema.Number),
  output: Schema.NullOr(Schema.String),
  durationMs: Schema.NullOr(Schema.Number)
})

/** What a file-change tool call carries: the files and how each changes (add, delete, update). */
export const FileChangeParameters = Schema.Struct({
  changes: Schema.Array(Schema.Struct({ path: Schema.String, kind: Schema.String }))
})

/** What a file-change tool result carries: the status and each file's diff. */
export const FileChangeResult = Schema.Struct({
  status: Schema.String,
  changes: Schema.Array(Schema.Struct({ path: Schema.String, kind: Schema.String, diff: Schema.String }))
})

/** What an MCP tool call carries. */
export const McpToolCallParameters = Schema.Struct({
  server: Schema.String,
  tool: Schema.String,
  arguments: Schema.Json
})

/** What an MCP tool result carries: the MCP result content, or the error. */
export const McpToolCallResult = Schema.Struct({
  status: Schema.String,
  content: Schema.NullOr(Schema.Array(Schema.Json)),
  structuredContent: Schema.NullOr(Schema.Json),
  error: Schema.NullOr(Schema.String)
})

/** The names under which the request's toolkit holds codex's own tools (absent: not in the toolkit). */
export interface Builtins {
  readonly commandExecution?: string | undefined
  readonly fileChange?: string | undefined
  readonly mcpToolCall?: string | undefined
}

/** The part pair of a client-tool call, as the session recorded it. */
export interface ClientTools {
  /** The tool-call part of a `dynamicToolCall` item (undefined: not a tool of this request). */
  readonly call: (item: DynamicToolCallItem) => Response.ToolCallPartEncoded | undefined
  /** Its result part, once the item completed. */
  readonly result: (item: DynamicToolCallItem) => Response.ToolResultPartEncoded | undefined
}

/** What the item helpers need to know. */
export interface Context {
  readonly threadId: string
  readonly turnId: string
  readonly modelId: string | undefined
  readonly builtins: Builtins
  readonly clientTools: ClientTools
}

type Item = Protocol.ThreadItem
type ItemOf<T extends Item["type"]> = Extract<Item, { readonly type: T }>
/** A client-tool call item. */
export type DynamicToolCallItem = ItemOf<"dynamicToolCall">

type Json = Schema.Json

const metadata = (context: Context, itemId: string) => ({
  [PROVIDER_KEY]: { threadId: context.threadId, turnId: context.turnId, itemId }
})

const nullable = <A>(value: A | null | undefined): A | null => value ?? null

const kindOf = (kind: Protocol.PatchChangeKind): string => kind.type

// ---------------------------------------------------------------------------------------------
// tool parts of codex's own actions
// ---------------------------------------------------------------------------------------------

type BuiltinItem = ItemOf<"commandExecution"> | ItemOf<"fileChange"> | ItemOf<"mcpToolCall">

const builtinName = (context: Context, item: Item): string | undefined => {
  switch (item.type) {
    case "commandExecution":
      return context.builtins.commandExecution
    case "fileChange":
      return context.builtins.fileChange
    case "mcpToolCall":
      return context.builtins.mcpToolCall
    default:
      return undefined
  }
}

const isBuiltin = (item: Item): item is BuiltinItem =>
  item.type === "commandExecution" || item.type === "fileChange" || item.type === "mcpToolCall"

const builtinParams = (item: BuiltinItem): Json => {
  switch (item.type) {
    case "commandExecution":
      return { command: unwrapShell(item.command), cwd: item.cwd }
    case "fileChange":
      return { changes: item.changes.map((change) => ({ path: change.path, kind: kindOf(change.kind) })) }
    case "mcpToolCall":
      return { server: item.server, tool: item.tool, arguments: item.arguments }
  }
}

const builtinResult = (item: BuiltinItem): { readonly result: Json; readonly isFailure: boolean } => {
  switch (item.type) {
    case "commandExecution":
      return {
        result: {
          status: item.status,
          exitCode: nullable(item.exitCode),
          output: nullable(item.aggregatedOutput),
          durationMs: nullable(item.durationMs)
        },
        isFailure: item.status !== "completed"
      }
    case "fileChange":
      return {
        result: {
          status: item.status,
          changes: item.changes.map((change) => ({ path: change.path, kind: kindOf(change.kind), diff: change.diff }))
        },
        isFailure: item.status !== "completed"
      }
    case "mcpToolCall":
      return {
        result: {
          status: item.status,
          content: item.result?.content === undefined ? null : [...item.result.content],
          structuredContent: nullable(item.result?.structuredContent),
          error: item.error?.message ?? null
        },
        isFailure: item.status !== "completed"
      }
  }
}

const toolCallPart = (context: Context, item: Item): Response.ToolCallPartEncoded | undefined => {
  if (item.type === "dynamicToolCall") return context.clientTools.call(item)
  const name = builtinName(context, item)
  if (name === undefined || !isBuiltin(item)) return undefined
  return {
    type: "tool-call",
    id: item.id,
    name,
    params: builtinParams(item),
    providerExecuted: true,
    metadata: metadata(context, item.id)
  }
}

const toolResultPart = (context: Context, item: Item): Response.ToolResultPartEncoded | undefined => {
  if (item.type === "dynamicToolCall") return context.clientTools.result(item)
  const name = builtinName(context, item)
  if (name === undefined || !isBuiltin(item)) return undefined
  const { isFailure, result } = builtinResult(item)
  return {
    type: "tool-result",
    id: item.id,
    name,
    result,
    isFailure,
    providerExecuted: true,
    metadata: metadata(context, item.id)
  }
}

// ---------------------------------------------------------------------------------------------
// text, reasoning, usage, finish
// ---------------------------------------------------------------------------------------------

const reasoningText = (item: ItemOf<"reasoning">): string => {
  const summary = (item.summary ?? []).filter((text) => text.length > 0)
  return (summary.length > 0 ? summary : (item.content ?? [])).join("\n\n")
}

/** The id of the item `TurnResult.finalResponse` comes from. */
const finalMessageId = (items: ReadonlyArray<Item>): string | undefined => {
  let withoutPhase: string | undefined
  for (let i = items.length - 1; i >= 0; i--) {
    const item = items[i]!
    if (item.type !== "agentMessage") continue
    if (item.phase === "final_answer") return item.id
    if ((item.phase === undefined || item.phase === null) && withoutPhase === undefined) withoutPhase = item.id
  }
  return withoutPhase
}

/**
 * The tokens a turn used, from its `thread/tokenUsage/updated` events: the
 * thread's total at the end minus the total before the turn (the first
 * update's total less its own last request), so repeated updates count once.
 */
export const turnUsage = (
  updates: ReadonlyArray<Protocol.ThreadTokenUsage>
): Protocol.TokenUsageBreakdown | undefined => {
  const first = updates[0]
  const last = updates.at(-1)
  if (first === undefined || last === undefined) return undefined
  const before = (key: "inputTokens" | "cachedInputTokens" | "outputTokens" | "reasoningOutputTokens" | "totalTokens") =>
    first.total[key] - first.last[key]
  const of = (key: "inputTokens" | "cachedInputTokens" | "outputTokens" | "reasoningOutputTokens" | "totalTokens") =>
    Math.max(0, last.total[key] - before(key))
  return {
    inputTokens: of("inputTokens"),
    cachedInputTokens: of("cachedInputTokens"),
    outputTokens: of("outputTokens"),
    reasoningOutputTokens: of("reasoningOutputTokens"),
    totalTokens: of("totalTokens")
  }
}

/** effect/ai usage of a turn (every field undefined when codex reported none). */
export const usageOf = (usage: Protocol.TokenUsageBreakdown | undefined): Response.FinishPartEncoded["usage"] =>
  usage === undefined
    ? { inputTokens: {}, outputTokens: {} }
    : {
      inputTokens: {
        total: usage.inputTokens,
        cacheRead: usage.cachedInputTokens,
        uncached: Math.max(0, usage.inputTokens - usage.cachedInputTokens),
        ...(usage.cacheWriteInputTokens === undefined ? {} : { cacheWrite: usage.cacheWriteInputTokens })
      },
      outputTokens: {
        total: usage.outputTokens,
        reasoning: usage.reasoningOutputTokens,
        text: Math.max(0, usage.outputTokens - usage.reasoningOutputTokens)
      }
    }

/** The finish part of a turn that ended (`completed` -> `stop`, `interrupted` -> `other`). */
export const finishPart = (
  result: TurnResult.TurnResult,
  usage: Protocol.TokenUsageBreakdown | undefined
): Response.FinishPartEncoded => ({
  type: "finish",
  reason: result.status === "completed" ? "stop" : "other",
  usage: usageOf(usage),
  metadata: {
    [PROVIDER_KEY]: {
      threadId: result.threadId,
      turnId: result.turnId,
      status: result.status,
      durationMs: result.durationMs
    }
  }
})

/** The response metadata of a turn: its id is the thread's (what `previousResponseId` names). */
export const responseMetadataPart = (context: Context): Response.ResponseMetadataPartEncoded => ({
  type: "response-metadata",
  id: context.threadId,
  ...(context.modelId === undefined ? {} : { modelId: context.modelId }),
  metadata: { [PROVIDER_KEY]: { threadId: context.threadId, turnId: context.turnId } }
})

// =============================================================================
// generateText: parts of the completed items
// =============================================================================

/**
 * The parts of a finished turn, from its completed items in order.
 * `format: "json"` keeps only the final answer as text.
 */
export const partsOfTurn = (
  context: Context,
  result: TurnResult.TurnResult,
  usage: Protocol.TokenUsageBreakdown | undefined,
  format: "text" | "json"
): Array<Response.PartEncoded> => {
  const parts: Array<Response.PartEncoded> = [responseMetadataPart(context)]
  const finalId = format === "json" ? finalMessageId(result.items) : undefined
  for (const item of result.items) {
    switch (item.type) {
      case "agentMessage":
        if (format === "json" ? item.id === finalId : item.text.length > 0) {
          parts.push({ type: "text", text: item.text, metadata: metadata(context, item.id) })
        }
        break
      case "reasoning": {
        const text = reasoningText(item)
        if (text.length > 0) parts.push({ type: "reasoning", text, metadata: metadata(context, item.id) })
        break
      }
      default: {
        const call = toolCallPart(context, item)
        if (call === undefined) break
        parts.push(call)
        const done = toolResultPart(context, item)
        if (done !== undefined) parts.push(done)
      }
    }
  }
  parts.push(finishPart(result, usage))
  return parts
}

// =============================================================================
// streamText: parts of the events
// =============================================================================

interface OpenReasoning {
  readonly id: string
  index: number
}

/**
 * Turns a turn's events into stream parts, one event at a time. Text and
 * reasoning open on their first delta (or start) and close when their item
 * completes; text codex completed without streaming it all is sent as a last
 * delta, so the deltas always spell the item's final text.
 */
export class StreamParts {
  private readonly texts = new Map<string, string>()
  private readonly reasoning = new Map<string, OpenReasoning>()
  private readonly calls = new Set<string>()
  private readonly usages: Array<Protocol.ThreadTokenUsage> = []

  private readonly context: Context

  constructor(context: Context) {
    this.context = context
  }

  /** The first part of the stream. */
  start(): Array<Response.StreamPartEncoded> {
    return [responseMetadataPart(this.context)]
  }

  private openText(out: Array<Response.StreamPartEncoded>, id: string): string {
    const streamed = this.texts.get(id)
    if (streamed !== undefined) return streamed
    this.texts.set(id, "")
    out.push({ type: "text-start", id, metadata: metadata(this.context, id) })
    return ""
  }

  private reasoningDelta(out: Array<Response.StreamPartEncoded>, itemId: string, blockId: string, index: number, delta: string) {
    const open = this.reasoning.get(blockId)
    if (open === undefined) {
      this.reasoning.set(blockId, { id: itemId, index })
      out.push({ type: "reasoning-start", id: blockId, metadata: metadata(this.context, itemId) })
    } else if (open.index !== index) {
      open.index = index
      out.push({ type: "reasoning-delta", id: blockId, delta: "\n\n" })
    }
    out.push({ type: "reasoning-delta", id: blockId, delta })
  }

  private callOnce(out: Array<Response.StreamPartEncoded>, item: Item) {
    if (this.calls.has(item.id)) return true
    const call = toolCallPart(this.context, item)
    if (call === undefined) return false
    this.calls.add(item.id)
    out.push(call)
    return true
  }

  /** The parts of one event. */
  event(event: TurnEvent.TurnEvent): Array<Response.StreamPartEncoded> {
    const out: Array<Response.StreamPartEncoded> = []
    switch (event._tag) {
      case "ItemStarted": {
        const item = event.item
        if (item.type === "agentMessage") this.openText(out, item.id)
        else if (item.type !== "reasoning") this.callOnce(out, item)
        break
      }
      case "AgentMessageDelta": {
        const streamed = this.openText(out, event.itemId)
        this.texts.set(event.itemId, streamed + event.delta)
        out.push({ type: "text-delta", id: event.itemId, delta: event.delta })
        break
      }
      case "ReasoningDelta":
        if (event.kind === "summary") {
          this.reasoningDelta(out, event.itemId, event.itemId, event.summaryIndex, event.delta)
        } else {
          this.reasoningDelta(out, event.itemId, `${event.itemId}:content`, event.contentIndex, event.delta)
        }
        break
      case "ItemCompleted": {
        const item = event.item
        if (item.type === "agentMessage") {
          const streamed = this.openText(out, item.id)
          if (item.text.startsWith(streamed) && item.text.length > streamed.length) {
            out.push({ type: "text-delta", id: item.id, delta: item.text.slice(streamed.length) })
          }
          out.push({ type: "text-end", id: item.id })
          this.texts.delete(item.id)
        } else if (item.type === "reasoning") {
          let streamed = false
          for (const [blockId, open] of this.reasoning) {
            if (open.id !== item.id) continue
            streamed = true
            out.push({ type: "reasoning-end", id: blockId })
            this.reasoning.delete(blockId)
          }
          const text = reasoningText(item)
          if (!streamed && text.length > 0) {
            out.push(
              { type: "reasoning-start", id: item.id, metadata: metadata(this.context, item.id) },
              { type: "reasoning-delta", id: item.id, delta: text },
              { type: "reasoning-end", id: item.id }
            )
          }
        } else if (this.callOnce(out, item)) {
          const done = toolResultPart(this.context, item)
          if (done !== undefined) out.push(done)
        }
        break
      }
      case "TokenUsageUpdated":
        this.usages.push(event.tokenUsage)
        break
    }
    return out
  }

  /** The last parts: whatever is still open is closed, then the finish part. */
  finish(result: TurnResult.TurnResult): Array<Response.StreamPartEncoded> {
    const out: Array<Response.StreamPartEncoded> = []
    for (const id of this.texts.keys()) out.push({ type: "text-end", id })
    for (const id of this.reasoning.keys()) out.push({ type: "reasoning-end", id })
    this.texts.clear()
    this.reasoning.clear()
    out.push(finishPart(result, turnUsage(this.usages)))
    return out
  }
}
