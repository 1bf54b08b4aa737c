/**
 * The events of one turn, from the app-server's {@link TurnEvent.TurnEvent}s
 * to the `@openai/codex-sdk` shapes, as `codex exec --experimental-json`
 * derives them from the same notifications:
 *
 * - ids are `item_0`, `item_1`, ... per turn (`codex exec` runs one turn per
 *   process); a web search keeps codex's own id;
 * - messages and reasoning only complete (no `item.started`), unless text
 *   deltas are asked for; the user's own message is not an item;
 * - `turn/plan/updated` is a `todo_list` item that completes with the turn;
 * - `turn.completed` carries the thread's running token total, an
 *   interrupted turn ends with no event, a failed one with `turn.failed`;
 * - at the end of the turn, items still open complete from the turn's
 *   summary, else as last shown (`codex exec` leaves those open).
 *
 * Pure: one converter per turn holds its state; events in, events out.
 *
 * @internal
 */
import type * as Protocol from "../../schema/generated/Protocol.gen.ts"
import type * as TurnEvent from "../../streams/TurnEvent.ts"
import type * as Events from "../Events.ts"

/**
 * Options of {@link make}.
 *
 * @internal
 */
export interface Options {
  /** Messages, reasoning and command output as `item.updated` events while they stream. */
  readonly deltas: boolean
}

/**
 * The converter of one turn.
 *
 * @internal
 */
export interface Converter {
  /** The events for one turn event, in order (often none). */
  readonly push: (event: TurnEvent.TurnEvent) => Array<Events.ThreadEvent>
  /** The item as last shown for a codex item id, while it is in progress (for approval requests). */
  readonly current: (rawId: string) => Events.ThreadItem | undefined
}

type Raw = Record<string, unknown>

const isRecord = (u: unknown): u is Raw => typeof u === "object" && u !== null && !Array.isArray(u)
const str = (u: unknown, fallback = ""): string => typeof u === "string" ? u : fallback
const strings = (u: unknown): Array<string> => Array.isArray(u) ? u.filter((s): s is string => typeof s === "string") : []

/** `inProgress` -> `in_progress`: codex's camelCase literals in the SDK's snake_case. */
const snake = (s: string): string => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)

const commandStatus = (status: unknown): Events.CommandExecutionStatus => {
  switch (status) {
    case "completed":
    case "failed":
    case "declined":
      return status
    default:
      return "in_progress"
  }
}

// `codex exec` shows a declined patch as failed
const patchStatus = (status: unknown): Events.PatchApplyStatus =>
  status === "completed" ? "completed" : status === "failed" || status === "declined" ? "failed" : "in_progress"

const mcpStatus = (status: unknown): Events.McpToolCallStatus =>
  status === "completed" || status === "failed" ? status : "in_progress"

const changeKind = (kind: unknown): Events.PatchChangeKind => {
  const type = isRecord(kind) ? kind.type : kind
  return type === "add" || type === "delete" ? type : "update"
}

/** codex's web search action (`{ type: "openPage", url }`) as `codex exec` prints it (`{ type: "open_page", url }`). */
const webSearchAction = (action: unknown): { type: string; [key: string]: unknown } => {
  if (!isRecord(action) || typeof action.type !== "string") return { type: "other" }
  const out: { type: string; [key: string]: unknown } = { type: snake(action.type) }
  for (const [key, value] of Object.entries(action)) {
    if (key !== "type" && value !== null && value !== undefined) out[key] = value
  }
  return out
}

/** The text of a reasoning item: its summary parts, one a line. */
const reasoningText = (item: Raw): string => strings(item.summary).join("\n")

/**
 * A codex item as an SDK item with id `id`; `undefined` for the kinds the SDK
 * does not show (the user's message, hook prompts, dynamic tool calls, ...).
 *
 * @internal
 */
export const toItem = (item: Protocol.ThreadItem | Raw, id: string): Events.ThreadItem | undefined => {
  const raw = item as Raw
  switch (raw.type) {
    case "agentMessage":
      return { id, type: "agent_message", text: str(raw.text) }
    case "reasoning":
      return { id, type: "reasoning", text: reasoningText(raw) }
    case "commandExecution":
      return {
        id,
        type: "command_execution",
        command: str(raw.command),
        aggregated_output: str(raw.aggregatedOutput),
        exit_code: typeof raw.exitCode === "number" ? raw.exitCode : null,
        status: commandStatus(raw.status)
      }
    case "fileChange":
      return {
        id,
        type: "file_change",
        changes: (Array.isArray(raw.changes) ? raw.changes : []).filter(isRecord).map((change) => ({
          path: str(change.path),
          kind: changeKind(change.kind)
        })),
        status: patchStatus(raw.status)
      }
    case "mcpToolCall": {
      const result = isRecord(raw.result) ? raw.result : undefined
      const error = isRecord(raw.error) ? raw.error : undefined
      return {
        id,
        type: "mcp_tool_call",
        server: str(raw.server),
        tool: str(raw.tool),
        arguments: raw.arguments ?? null,
        result: result === undefined ? null : {
          content: (Array.isArray(result.content) ? result.content : []) as Array<Events.McpContentBlock>,
          structured_content: result.structuredContent ?? null,
          ...(result._meta === undefined ? {} : { _meta: result._meta })
        },
        error: error === undefined ? null : { message: str(error.message) },
        status: mcpStatus(raw.status)
      }
    }
    case "webSearch":
      // `codex exec` prints codex's own id for a search (its item id is overwritten by it)
      return { id: str(raw.id, id), type: "web_search", query: str(raw.query), action: webSearchAction(raw.action) }
    default:
      return undefined
  }
}

/** Items that `codex exec` shows only once complete (no `item.started`). */
const isStreamedText = (type: unknown) => type === "agentMessage" || type === "reasoning"

/** The message of an error with optional details: `message (details)`, as `codex exec` writes it. */
const withDetails = (error: unknown): string | undefined => {
  if (!isRecord(error) || typeof error.message !== "string") return undefined
  const details = error.additionalDetails
  return typeof details === "string" && details !== "" ? `${error.message} (${details})` : error.message
}

/** `highRiskCyberActivity` -> `HighRiskCyberActivity`, as Rust's `Debug` prints the enum. */
const pascal = (s: string) => s.charAt(0).toUpperCase() + s.slice(1)

/**
 * The thread's running total from the last `thread/tokenUsage/updated` of the
 * turn (zeros when codex reported none).
 *
 * @internal
 */
export const usageOf = (usage: Protocol.ThreadTokenUsage | undefined): Events.Usage => {
  const total = usage?.total
  return {
    input_tokens: total?.inputTokens ?? 0,
    cached_input_tokens: total?.cachedInputTokens ?? 0,
    cache_write_input_tokens: total?.cacheWriteInputTokens ?? 0,
    output_tokens: total?.outputTokens ?? 0,
    reasoning_output_tokens: total?.reasoningOutputTokens ?? 0
  }
}

/** A message, reasoning or command item being streamed (`deltas: true`). */
interface Streaming {
  readonly id: string
  readonly type: "agent_message" | "reasoning" | "command_execution"
  /** Message text, command output, or the reasoning summary's parts. */
  readonly parts: Array<string>
}

/**
 * A converter for one turn.
 *
 * @internal
 */
export const make = (options: Options): Converter => {
  let nextId = 0
  const newId = () => `item_${nextId++}`
  // codex item id -> SDK id, for items started and not completed yet
  const open = new Map<string, string>()
  // codex item id -> the SDK item as last shown, while open
  const shown = new Map<string, Events.ThreadItem>()
  const streaming = new Map<string, Streaming>()
  let todo: { readonly id: string; items: Array<Events.TodoItem> } | undefined
  let usage: Protocol.ThreadTokenUsage | undefined
  let lastError: string | undefined

  const startedId = (rawId: string) => {
    let id = open.get(rawId)
    if (id === undefined) {
      id = newId()
      open.set(rawId, id)
    }
    return id
  }
  const completedId = (rawId: string) => {
    const id = open.get(rawId)
    open.delete(rawId)
    shown.delete(rawId)
    return id ?? newId()
  }

  const started = (raw: Raw): Array<Events.ThreadEvent> => {
    // kinds the SDK does not show take no id
    if (toItem(raw, "") === undefined) return []
    const rawId = str(raw.id)
    if (isStreamedText(raw.type)) {
      if (!options.deltas) return []
      const item = toItem(raw, startedId(rawId))!
      shown.set(rawId, item)
      streaming.set(rawId, { id: item.id, type: item.type as Streaming["type"], parts: [] })
      return [{ type: "item.started", item }]
    }
    // a file change codex starts again (after its approval) is an update of the same item
    const again = raw.type === "fileChange" && open.has(rawId)
    const item = toItem(raw, startedId(rawId))!
    shown.set(rawId, item)
    if (options.deltas && item.type === "command_execution") {
      streaming.set(rawId, { id: item.id, type: "command_execution", parts: [item.aggregated_output] })
    }
    return [{ type: again ? "item.updated" : "item.started", item }]
  }

  const completed = (raw: Raw): Array<Events.ThreadEvent> => {
    const rawId = str(raw.id)
    const wasStreamed = streaming.delete(rawId)
    if (toItem(raw, "") === undefined) return []
    // an empty reasoning summary is not shown (unless its start was)
    if (!wasStreamed && raw.type === "reasoning" && reasoningText(raw).trim() === "") return []
    const id = isStreamedText(raw.type) && !wasStreamed ? newId() : completedId(rawId)
    return [{ type: "item.completed", item: toItem(raw, id)! }]
  }

  const delta = (rawId: string, index: number, piece: string): Array<Events.ThreadEvent> => {
    const entry = streaming.get(rawId)
    if (entry === undefined) return []
    while (entry.parts.length <= index) entry.parts.push("")
    entry.parts[index] += piece
    let item: Events.ThreadItem
    switch (entry.type) {
      case "agent_message":
        item = { id: entry.id, type: "agent_message", text: entry.parts.join("") }
        break
      case "reasoning":
        item = { id: entry.id, type: "reasoning", text: entry.parts.join("\n") }
        break
      case "command_execution": {
        const base = shown.get(rawId)
        if (base === undefined || base.type !== "command_execution") return []
        item = { ...base, aggregated_output: entry.parts.join("") }
        break
      }
    }
    shown.set(rawId, item)
    return [{ type: "item.updated", item, delta: piece }]
  }

  const planUpdated = (plan: ReadonlyArray<Protocol.TurnPlanStep>): Array<Events.ThreadEvent> => {
    const items = plan.map((step) => ({ text: step.step, completed: step.status === "completed" }))
    if (todo === undefined) {
      todo = { id: newId(), items }
      return [{ type: "item.started", item: { id: todo.id, type: "todo_list", items } }]
    }
    todo.items = items
    return [{ type: "item.updated", item: { id: todo.id, type: "todo_list", items } }]
  }

  const turnCompleted = (turn: Protocol.Turn | Raw): Array<Events.ThreadEvent> => {
    const out: Array<Events.ThreadEvent> = []
    if (todo !== undefined) {
      out.push({ type: "item.completed", item: { id: todo.id, type: "todo_list", items: todo.items } })
      todo = undefined
    }
    // items started and never completed are completed from the turn's own summary
    const items = Array.isArray((turn as Raw).items) ? ((turn as Raw).items as Array<unknown>) : []
    for (const item of items) {
      if (isRecord(item) && open.has(str(item.id))) out.push(...completed(item))
    }
    // what the summary does not have (a message cut by an interrupt, ...) completes as last shown
    for (const rawId of [...open.keys()]) {
      const item = shown.get(rawId)
      completedId(rawId)
      streaming.delete(rawId)
      if (item !== undefined) out.push({ type: "item.completed", item })
    }
    switch ((turn as Raw).status) {
      case "completed":
        out.push({ type: "turn.completed", usage: usageOf(usage) })
        break
      case "interrupted":
        break
      default:
        out.push({
          type: "turn.failed",
          error: { message: withDetails((turn as Raw).error) ?? lastError ?? "turn failed" }
        })
    }
    return out
  }

  const other = (method: string, params: unknown): Array<Events.ThreadEvent> => {
    if (!isRecord(params)) return []
    switch (method) {
      case "item/fileChange/patchUpdated": {
        const rawId = str(params.itemId)
        const item = toItem({ type: "fileChange", id: rawId, changes: params.changes, status: "inProgress" }, startedId(rawId))!
        shown.set(rawId, item)
        return [{ type: "item.updated", item }]
      }
      case "model/rerouted":
        return [{
          type: "item.completed",
          item: {
            id: newId(),
            type: "error",
            message: `model rerouted: ${str(params.fromModel)} -> ${str(params.toModel)} (${pascal(str(params.reason))})`
          }
        }]
      default:
        return []
    }
  }

  const push = (event: TurnEvent.TurnEvent): Array<Events.ThreadEvent> => {
    switch (event._tag) {
      case "TurnStarted":
        return [{ type: "turn.started" }]
      case "ItemStarted":
        return started(event.item as unknown as Raw)
      case "ItemCompleted":
        return completed(event.item as unknown as Raw)
      case "AgentMessageDelta":
        return options.deltas ? delta(event.itemId, 0, event.delta) : []
      case "ReasoningDelta":
        return options.deltas && event.kind === "summary" ? delta(event.itemId, event.summaryIndex, event.delta) : []
      case "CommandOutputDelta":
        return options.deltas ? delta(event.itemId, 0, event.delta) : []
      case "PlanUpdated":
        return planUpdated(event.plan)
      case "TokenUsageUpdated":
        usage = event.tokenUsage
        return []
      case "Error": {
        const message = withDetails(event.error) ?? "error"
        lastError = message
        return [{ type: "error", message }]
      }
      case "TurnCompleted":
        return turnCompleted(event.turn)
      case "Other":
        return other(event.method, event.params)
      default:
        return []
    }
  }

  return { push, current: (rawId) => shown.get(rawId) }
}
