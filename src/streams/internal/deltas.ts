/**
 * The events of the hot delta notifications, built with fixed shapes (no
 * spread). One builder for `TurnEvent.fromIncoming` and the router: the
 * router passes the ids its turn already holds, so a turn of N deltas keeps
 * each id string once.
 *
 * @internal
 */
import type { Notification } from "../../schema/Incoming.ts"

/**
 * The event of `incoming` if it is one of the hot deltas, `undefined`
 * otherwise. `threadId` and `turnId` are the ids to put in it (equal to the
 * params'); the item id is `lastItemId` when it equals the params' one.
 *
 * @internal
 */
export const of = (incoming: Notification, threadId: string, turnId: string, lastItemId: string) => {
  switch (incoming.method) {
    case "item/agentMessage/delta": {
      const p = incoming.params
      return { _tag: "AgentMessageDelta" as const, delta: p.delta, itemId: same(p.itemId, lastItemId), threadId, turnId }
    }
    case "item/reasoning/summaryTextDelta": {
      const p = incoming.params
      return {
        _tag: "ReasoningDelta" as const,
        kind: "summary" as const,
        delta: p.delta,
        itemId: same(p.itemId, lastItemId),
        summaryIndex: p.summaryIndex,
        threadId,
        turnId
      }
    }
    case "item/reasoning/textDelta": {
      const p = incoming.params
      return {
        _tag: "ReasoningDelta" as const,
        kind: "text" as const,
        contentIndex: p.contentIndex,
        delta: p.delta,
        itemId: same(p.itemId, lastItemId),
        threadId,
        turnId
      }
    }
    case "item/commandExecution/outputDelta": {
      const p = incoming.params
      return { _tag: "CommandOutputDelta" as const, delta: p.delta, itemId: same(p.itemId, lastItemId), threadId, turnId }
    }
    default:
      return undefined
  }
}

// deltas of one item follow each other: keep the first copy of its id
const same = (itemId: string, last: string): string => itemId === last ? last : itemId
