/**
 * `effect-codex/promise`: the Promise API of `@openai/codex-sdk` 0.163
 * (`new Codex()`, `startThread`, `resumeThread`, `thread.run`,
 * `thread.runStreamed`, its options, events and items) on long-lived codex
 * app-servers, with what that SDK cannot do: approvals (`onApproval`),
 * `thread.steer`, interrupting without killing, `thread.fork`, text deltas.
 * Code written for `@openai/codex-sdk` runs with its import changed:
 *
 * ```ts
 * import { Codex } from "effect-codex/promise" // was: from "@openai/codex-sdk"
 *
 * const codex = new Codex()
 * const thread = codex.startThread()
 * const result = await thread.run("Analyze the test failures in the CI logs and propose fixes")
 * console.log(result.finalResponse)
 * ```
 *
 * See docs/migrating-from-codex-sdk.md for what is the same, what is better
 * and what differs.
 *
 * @since 0.1.0
 */

export { AbortError, Codex, Thread } from "./promise/Codex.ts"
export type {
  ApprovalDecision,
  ApprovalHandler,
  ApprovalMode,
  ApprovalRequest,
  CodexConfigObject,
  CodexConfigValue,
  CodexOptions,
  CyberAccessProgram,
  Input,
  ModelReasoningEffort,
  RunResult,
  RunStreamedResult,
  SandboxMode,
  StreamedTurn,
  ThreadOptions,
  Turn,
  TurnOptions,
  UserInput,
  WebSearchMode
} from "./promise/Codex.ts"
export type {
  AgentMessageItem,
  CommandExecutionItem,
  CommandExecutionStatus,
  ErrorItem,
  FileChangeItem,
  FileUpdateChange,
  ItemCompletedEvent,
  ItemStartedEvent,
  ItemUpdatedEvent,
  McpContentBlock,
  McpToolCallItem,
  McpToolCallStatus,
  PatchApplyStatus,
  PatchChangeKind,
  ReasoningItem,
  ThreadError,
  ThreadErrorEvent,
  ThreadEvent,
  ThreadItem,
  ThreadStartedEvent,
  TodoItem,
  TodoListItem,
  TurnCompletedEvent,
  TurnFailedEvent,
  TurnStartedEvent,
  Usage,
  WebSearchItem
} from "./promise/Events.ts"
