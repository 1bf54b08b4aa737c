/**
 * What happens in a turn, as one union tagged by `_tag`.
 *
 * Each case carries the params of the notification it comes from as its own
 * fields, typed by the schemas generated from the pinned codex:
 * `AgentMessageDelta` has `threadId`, `turnId`, `itemId`, `delta`;
 * `ItemCompleted` has `item`; `TurnCompleted` has `turn`. Anything else tied
 * to the turn, including methods a newer codex adds, is `Other`.
 *
 * A newer codex may change a nested shape the pinned schemas do not know. The
 * lifecycle events (`TurnStarted`, `TurnCompleted`, `ItemStarted`,
 * `ItemCompleted`) are still recognised from the method and the ids, with
 * their params passed on raw (so an item's fields may differ from its
 * type in the parts that changed); other undecoded notifications are `Other`.
 *
 * ```ts
 * import { Effect, Stream } from "effect"
 * import { TurnEvent } from "effect-codex"
 *
 * // print the answer as it streams
 * const printAnswer = (turn: { events: Stream.Stream<TurnEvent.TurnEvent, unknown> }) =>
 *   turn.events.pipe(TurnEvent.textDeltas, Stream.runForEach((text) => Effect.sync(() => process.stdout.write(text))))
 * ```
 *
 * @stability experimental
 * @since 0.1.0
 */
import { Result, Stream } from "../schema/internal/effect.ts"
import type { ServerRequestMethod, ServerRequestParamsByMethod } from "../schema/generated/Methods.gen.ts"
import type * as Protocol from "../schema/generated/Protocol.gen.ts"
import { unwrapShell } from "../schema/internal/shell.ts"
import type { RequestId } from "../schema/JsonRpc.ts"
import type { Incoming } from "../schema/Incoming.ts"
import * as Deltas from "./internal/deltas.ts"
import { lifecycleEvent } from "./internal/undecoded.ts"

/**
 * `turn/started`.
 * @category models
 * @since 0.1.0
 */
export interface TurnStarted extends Protocol.TurnStartedNotification {
  readonly _tag: "TurnStarted"
}

/**
 * `item/started`: an item (message, command, file change, tool call, ...) began.
 * @category models
 * @since 0.1.0
 */
export interface ItemStarted extends Protocol.ItemStartedNotification {
  readonly _tag: "ItemStarted"
}

/**
 * `item/completed`: an item finished, with its final content.
 * @category models
 * @since 0.1.0
 */
export interface ItemCompleted extends Protocol.ItemCompletedNotification {
  readonly _tag: "ItemCompleted"
}

/**
 * `item/agentMessage/delta`: a piece of the agent's message text.
 * @category models
 * @since 0.1.0
 */
export interface AgentMessageDelta extends Protocol.AgentMessageDeltaNotification {
  readonly _tag: "AgentMessageDelta"
}

/**
 * `item/reasoning/summaryTextDelta` (`kind: "summary"`) or
 * `item/reasoning/textDelta` (`kind: "text"`): a piece of reasoning.
 * @category models
 * @since 0.1.0
 */
export type ReasoningDelta =
  | (Protocol.ReasoningSummaryTextDeltaNotification & { readonly _tag: "ReasoningDelta"; readonly kind: "summary" })
  | (Protocol.ReasoningTextDeltaNotification & { readonly _tag: "ReasoningDelta"; readonly kind: "text" })

/**
 * `item/commandExecution/outputDelta`: output of a running command.
 * @category models
 * @since 0.1.0
 */
export interface CommandOutputDelta extends Protocol.CommandExecutionOutputDeltaNotification {
  readonly _tag: "CommandOutputDelta"
}

/**
 * `turn/plan/updated`: the agent's plan changed.
 * @category models
 * @since 0.1.0
 */
export interface PlanUpdated extends Protocol.TurnPlanUpdatedNotification {
  readonly _tag: "PlanUpdated"
}

/**
 * `turn/diff/updated`: the unified diff of the turn's file changes so far.
 * @category models
 * @since 0.1.0
 */
export interface DiffUpdated extends Protocol.TurnDiffUpdatedNotification {
  readonly _tag: "DiffUpdated"
}

/**
 * `thread/tokenUsage/updated`: token usage after a model response.
 * @category models
 * @since 0.1.0
 */
export interface TokenUsageUpdated extends Protocol.ThreadTokenUsageUpdatedNotification {
  readonly _tag: "TokenUsageUpdated"
}

/**
 * A server request tied to this turn (command or file-change approval, tool
 * call, user input, ...), emitted whoever answers it.
 * @category models
 * @since 0.1.0
 */
export type ApprovalRequested = {
  readonly [M in ServerRequestMethod]: {
    readonly _tag: "ApprovalRequested"
    readonly method: M
    readonly requestId: RequestId
    readonly params: ServerRequestParamsByMethod[M]
  }
}[ServerRequestMethod]

/**
 * `error`: the model call failed; `willRetry` says whether codex retries.
 * @category models
 * @since 0.1.0
 */
export interface Error extends Protocol.ErrorNotification {
  readonly _tag: "Error"
}

/**
 * `turn/completed`: the turn ended (`completed`, `interrupted` or `failed`).
 * @category models
 * @since 0.1.0
 */
export interface TurnCompleted extends Protocol.TurnCompletedNotification {
  readonly _tag: "TurnCompleted"
}

/**
 * Any other notification tied to the turn, including methods the pinned
 * protocol does not know.
 * @category models
 * @since 0.1.0
 */
export interface Other {
  readonly _tag: "Other"
  readonly method: string
  readonly params: unknown
}

/**
 * Everything that can happen in a turn.
 *
 * @category models
 * @since 0.1.0
 */
export type TurnEvent =
  | TurnStarted
  | ItemStarted
  | ItemCompleted
  | AgentMessageDelta
  | ReasoningDelta
  | CommandOutputDelta
  | PlanUpdated
  | DiffUpdated
  | TokenUsageUpdated
  | ApprovalRequested
  | Error
  | TurnCompleted
  | Other

/**
 * The tags of {@link TurnEvent}.
 *
 * @category models
 * @since 0.1.0
 */
export type Tag = TurnEvent["_tag"]

const tagged = <T extends string, P extends object>(_tag: T, params: P) => ({ _tag, ...params })

/**
 * The turn event of a message received from the app-server.
 *
 * @category constructors
 * @since 0.1.0
 */
export const fromIncoming = (incoming: Incoming): TurnEvent => {
  switch (incoming._tag) {
    case "ServerRequest":
      return {
        _tag: "ApprovalRequested",
        method: incoming.method,
        requestId: incoming.id,
        params: incoming.params
      } as ApprovalRequested
    case "UnknownNotification":
      // raw params under a known tag: the parts a newer codex changed may differ from the type
      return (lifecycleEvent(incoming.method, incoming.params) as TurnEvent | undefined) ??
        { _tag: "Other", method: incoming.method, params: incoming.params }
    case "Notification":
      switch (incoming.method) {
        case "turn/started":
          return tagged("TurnStarted", incoming.params)
        case "item/started":
          return tagged("ItemStarted", incoming.params)
        case "item/completed":
          return tagged("ItemCompleted", incoming.params)
        case "item/agentMessage/delta":
        case "item/reasoning/summaryTextDelta":
        case "item/reasoning/textDelta":
        case "item/commandExecution/outputDelta":
          return Deltas.of(incoming, incoming.params.threadId, incoming.params.turnId, "")!
        case "turn/plan/updated":
          return tagged("PlanUpdated", incoming.params)
        case "turn/diff/updated":
          return tagged("DiffUpdated", incoming.params)
        case "thread/tokenUsage/updated":
          return tagged("TokenUsageUpdated", incoming.params)
        case "error":
          return tagged("Error", incoming.params)
        case "turn/completed":
          return tagged("TurnCompleted", incoming.params)
        default:
          return { _tag: "Other", method: incoming.method, params: incoming.params }
      }
  }
}

/**
 * Narrows a {@link TurnEvent} to one tag.
 *
 * ```ts
 * import { Stream } from "effect"
 * import { TurnEvent } from "effect-codex"
 *
 * declare const events: Stream.Stream<TurnEvent.TurnEvent>
 * const completed = events.pipe(Stream.filter(TurnEvent.is("ItemCompleted")))
 * ```
 *
 * @category guards
 * @since 0.1.0
 */
export const is = <T extends Tag>(tag: T) => (event: TurnEvent): event is Extract<TurnEvent, { readonly _tag: T }> =>
  event._tag === tag

/**
 * The agent's message text as it streams (the `delta` of every
 * `AgentMessageDelta`).
 *
 * @category streams
 * @since 0.1.0
 */
export const textDeltas = <E, R>(self: Stream.Stream<TurnEvent, E, R>): Stream.Stream<string, E, R> =>
  Stream.filterMap(self, (event) => event._tag === "AgentMessageDelta" ? Result.succeed(event.delta) : Result.failVoid)

/**
 * Reasoning text as it streams (summary and raw reasoning deltas).
 *
 * @category streams
 * @since 0.1.0
 */
export const reasoningDeltas = <E, R>(self: Stream.Stream<TurnEvent, E, R>): Stream.Stream<string, E, R> =>
  Stream.filterMap(self, (event) => event._tag === "ReasoningDelta" ? Result.succeed(event.delta) : Result.failVoid)

/**
 * Every item as it completes.
 *
 * @category streams
 * @since 0.1.0
 */
export const completedItems = <E, R>(
  self: Stream.Stream<TurnEvent, E, R>
): Stream.Stream<Protocol.ThreadItem, E, R> =>
  Stream.filterMap(self, (event) => event._tag === "ItemCompleted" ? Result.succeed(event.item) : Result.failVoid)

/**
 * Output of the commands the agent runs, as it streams.
 *
 * @category streams
 * @since 0.1.0
 */
export const commandOutput = <E, R>(self: Stream.Stream<TurnEvent, E, R>): Stream.Stream<string, E, R> =>
  Stream.filterMap(self, (event) => event._tag === "CommandOutputDelta" ? Result.succeed(event.delta) : Result.failVoid)

/**
 * A one-line, human readable description of an event, for progress displays
 * and logs (`"running: git status"`, `"editing 2 files"`, ...). `undefined`
 * for events that are not worth a line (deltas, usage).
 *
 * @category streams
 * @since 0.1.0
 */
export const describe = (event: TurnEvent): string | undefined => {
  switch (event._tag) {
    case "TurnStarted":
      return "turn started"
    case "ItemStarted":
      switch (event.item.type) {
        case "commandExecution":
          return `running: ${unwrapShell(event.item.command)}`
        case "fileChange":
          return `editing ${event.item.changes.length} file(s)`
        case "dynamicToolCall":
          return `calling tool ${event.item.tool}`
        case "mcpToolCall":
          return `calling ${event.item.server}/${event.item.tool}`
        case "webSearch":
          return `searching: ${event.item.query}`
        case "reasoning":
          return "thinking"
        default:
          return undefined
      }
    case "ApprovalRequested":
      return `waiting for an answer to ${event.method}`
    case "Error":
      return event.willRetry ? `retrying: ${event.error.message}` : `error: ${event.error.message}`
    case "TurnCompleted":
      return `turn ${event.turn.status}`
    default:
      return undefined
  }
}
