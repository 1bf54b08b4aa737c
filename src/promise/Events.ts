/**
 * The events and items of `effect-codex/promise`: the shapes of
 * `@openai/codex-sdk` 0.163 (what `codex exec --experimental-json` prints),
 * field for field, so code written against that SDK reads them unchanged.
 *
 * Where this API says more than `codex exec` can, the additions are optional
 * or wider: `item.updated` events carry a `delta` when text deltas were asked
 * for (`runStreamed(input, { deltas: true })`), and a command the program
 * declined has `status: "declined"`.
 *
 * @since 0.1.0
 */

/**
 * Token usage of a thread, summed over all of its turns so far (as
 * `@openai/codex-sdk` reports it: the second run of a 1,234-token turn
 * reports 2,468 input tokens).
 *
 * @category models
 * @since 0.1.0
 */
export interface Usage {
  /** Input tokens. */
  input_tokens: number
  /** Input tokens read from the prompt cache. */
  cached_input_tokens: number
  /** Input tokens written to the prompt cache (0 when the provider does not say). */
  cache_write_input_tokens: number
  /** Output tokens. */
  output_tokens: number
  /** Output tokens spent on reasoning. */
  reasoning_output_tokens: number
}

/**
 * The agent's answer: natural-language text, or JSON text when the turn had an
 * `outputSchema`.
 *
 * @category items
 * @since 0.1.0
 */
export interface AgentMessageItem {
  id: string
  type: "agent_message"
  text: string
}

/**
 * The agent's reasoning summary (its parts joined by newlines).
 *
 * @category items
 * @since 0.1.0
 */
export interface ReasoningItem {
  id: string
  type: "reasoning"
  text: string
}

/**
 * The status of a command: `"declined"` when its approval was declined (the
 * command never ran); `codex exec` never asks, so `@openai/codex-sdk` never
 * shows one.
 *
 * @category items
 * @since 0.1.0
 */
export type CommandExecutionStatus = "in_progress" | "completed" | "failed" | "declined"

/**
 * A command the agent ran.
 *
 * @category items
 * @since 0.1.0
 */
export interface CommandExecutionItem {
  id: string
  type: "command_execution"
  /** The command line, as codex ran it (e.g. `/bin/bash -lc 'npm test'`). */
  command: string
  /** stdout and stderr, interleaved. */
  aggregated_output: string
  /**
   * The exit code once the command exited; `null` before (`codex exec` prints
   * `null`, though `@openai/codex-sdk` declares the field optional).
   */
  exit_code: number | null
  status: CommandExecutionStatus
}

/**
 * What a file change does to one file.
 *
 * @category items
 * @since 0.1.0
 */
export type PatchChangeKind = "add" | "delete" | "update"

/**
 * One file of a file change.
 *
 * @category items
 * @since 0.1.0
 */
export interface FileUpdateChange {
  path: string
  kind: PatchChangeKind
}

/**
 * The status of a file change (`"failed"` also for a declined one, as
 * `codex exec` reports it).
 *
 * @category items
 * @since 0.1.0
 */
export type PatchApplyStatus = "in_progress" | "completed" | "failed"

/**
 * Files the agent changed.
 *
 * @category items
 * @since 0.1.0
 */
export interface FileChangeItem {
  id: string
  type: "file_change"
  changes: Array<FileUpdateChange>
  status: PatchApplyStatus
}

/**
 * The status of an MCP tool call.
 *
 * @category items
 * @since 0.1.0
 */
export type McpToolCallStatus = "in_progress" | "completed" | "failed"

/**
 * A content block of an MCP tool result (`text`, `image`, `resource`, ...), as
 * the MCP server sent it.
 *
 * @category items
 * @since 0.1.0
 */
export interface McpContentBlock {
  type: string
  [key: string]: unknown
}

/**
 * A call to a tool of an MCP server.
 *
 * @category items
 * @since 0.1.0
 */
export interface McpToolCallItem {
  id: string
  type: "mcp_tool_call"
  server: string
  tool: string
  arguments: unknown
  /** The result, for a call that succeeded (`null` otherwise). */
  result: { content: Array<McpContentBlock>; structured_content: unknown; _meta?: unknown } | null
  /** The error, for a call that failed (`null` otherwise). */
  error: { message: string } | null
  status: McpToolCallStatus
}

/**
 * A web search the agent made; `id` is codex's own id of the search.
 *
 * @category items
 * @since 0.1.0
 */
export interface WebSearchItem {
  id: string
  type: "web_search"
  query: string
  /** What the search did (`{ type: "search", query }`, `{ type: "open_page", url }`, ...). */
  action?: { type: string; [key: string]: unknown }
}

/**
 * One step of the agent's to-do list.
 *
 * @category items
 * @since 0.1.0
 */
export interface TodoItem {
  text: string
  completed: boolean
}

/**
 * The agent's to-do list: started with the first plan, updated as steps
 * change, completed when the turn ends.
 *
 * @category items
 * @since 0.1.0
 */
export interface TodoListItem {
  id: string
  type: "todo_list"
  items: Array<TodoItem>
}

/**
 * A non-fatal error shown as an item (a model reroute, ...).
 *
 * @category items
 * @since 0.1.0
 */
export interface ErrorItem {
  id: string
  type: "error"
  message: string
}

/**
 * Every kind of item.
 *
 * @category items
 * @since 0.1.0
 */
export type ThreadItem =
  | AgentMessageItem
  | ReasoningItem
  | CommandExecutionItem
  | FileChangeItem
  | McpToolCallItem
  | WebSearchItem
  | TodoListItem
  | ErrorItem

/**
 * First event of every `runStreamed`, for a new thread and for a resumed one.
 *
 * @category events
 * @since 0.1.0
 */
export interface ThreadStartedEvent {
  type: "thread.started"
  /** The thread id: give it to `resumeThread` to continue later. */
  thread_id: string
}

/**
 * codex started the turn.
 *
 * @category events
 * @since 0.1.0
 */
export interface TurnStartedEvent {
  type: "turn.started"
}

/**
 * The turn completed; `usage` is the thread's running total.
 *
 * @category events
 * @since 0.1.0
 */
export interface TurnCompletedEvent {
  type: "turn.completed"
  usage: Usage
}

/**
 * Why a turn failed.
 *
 * @category events
 * @since 0.1.0
 */
export interface ThreadError {
  message: string
}

/**
 * The turn failed (the model call failed for good, ...).
 *
 * @category events
 * @since 0.1.0
 */
export interface TurnFailedEvent {
  type: "turn.failed"
  error: ThreadError
}

/**
 * An item began (commands, file changes, tool calls, the to-do list; with
 * `deltas: true` also messages and reasoning).
 *
 * @category events
 * @since 0.1.0
 */
export interface ItemStartedEvent {
  type: "item.started"
  item: ThreadItem
}

/**
 * An item changed. With `deltas: true`, messages, reasoning and command output
 * are updated as they stream: `item` holds everything so far and `delta` the
 * new piece.
 *
 * @category events
 * @since 0.1.0
 */
export interface ItemUpdatedEvent {
  type: "item.updated"
  item: ThreadItem
  /** The text added by this update (only with `deltas: true`). */
  delta?: string
}

/**
 * An item reached its final state.
 *
 * @category events
 * @since 0.1.0
 */
export interface ItemCompletedEvent {
  type: "item.completed"
  item: ThreadItem
}

/**
 * An error codex reported during the turn (also while it retries a model call).
 *
 * @category events
 * @since 0.1.0
 */
export interface ThreadErrorEvent {
  type: "error"
  message: string
}

/**
 * Every event of `runStreamed`.
 *
 * @category events
 * @since 0.1.0
 */
export type ThreadEvent =
  | ThreadStartedEvent
  | TurnStartedEvent
  | TurnCompletedEvent
  | TurnFailedEvent
  | ItemStartedEvent
  | ItemUpdatedEvent
  | ItemCompletedEvent
  | ThreadErrorEvent
