/**
 * What a turn's result needs from its events (the completed items, the token
 * usage, the last error, the end), kept up to date as events are appended, so
 * that collecting the result at the end of a turn of N deltas does not walk
 * the N deltas again (a walk that runs once per turn, in V8's baseline tier,
 * and cost more per event than routing it).
 *
 * @internal
 */
import type * as Protocol from "../../schema/generated/Protocol.gen.ts"
import type { TurnEvent } from "../TurnEvent.ts"

/** The parts of a turn's events a result is made of, in the order they came. */
export class Summary {
  /** How many events were added: a summary stands for an array of exactly this length. */
  count = 0
  readonly items: Array<Protocol.ThreadItem> = []
  /** The first `thread/tokenUsage/updated` (the thread's totals before the turn plus its first response). */
  firstUsage: Protocol.ThreadTokenUsage | undefined = undefined
  /** The last `thread/tokenUsage/updated`. */
  usage: Protocol.ThreadTokenUsage | undefined = undefined
  /** The error of the last `error` codex does not retry. */
  lastError: Protocol.TurnError | undefined = undefined
  completed: Protocol.TurnCompletedNotification | undefined = undefined

  add(event: TurnEvent): void {
    this.count++
    switch (event._tag) {
      case "ItemCompleted":
        this.items.push(event.item)
        return
      case "TokenUsageUpdated":
        this.firstUsage ??= event.tokenUsage
        this.usage = event.tokenUsage
        return
      case "Error":
        if (!event.willRetry) this.lastError = event.error
        return
      case "TurnCompleted":
        this.completed = event
        return
    }
  }
}

// The summaries kept beside live event arrays (a turn's, see router.ts TurnState).
const kept = new WeakMap<ReadonlyArray<TurnEvent>, Summary>()

/**
 * Keeps `summary` for `events`: whoever appends to `events` must add the same
 * event to `summary`, at once.
 */
export const keep = (events: ReadonlyArray<TurnEvent>, summary: Summary): void => {
  kept.set(events, summary)
}

/**
 * The summary of `events`: the kept one when it stands for the array as it is
 * now, else one made by walking it.
 */
export const of = (events: ReadonlyArray<TurnEvent>): Summary => {
  const summary = kept.get(events)
  if (summary !== undefined && summary.count === events.length) return summary
  const walked = new Summary()
  for (let i = 0; i < events.length; i++) walked.add(events[i]!)
  return walked
}
