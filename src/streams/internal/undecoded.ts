/**
 * Turn events from notifications whose params did not decode with the pinned
 * schemas (a newer codex changed a nested shape). The lifecycle of a turn must
 * survive that: the start and end of a turn and the start and completion of
 * an item are recognised from the method and the ids alone, and their params
 * are passed on raw, so a turn still ends and no completed item is lost.
 * Pure: plain data in, a turn event or `undefined` out.
 *
 * @internal
 */
/** A lifecycle event with its params raw (`TurnEvent.ts` gives it its union type). */
export type LifecycleEvent = {
  readonly _tag: "TurnStarted" | "TurnCompleted" | "ItemStarted" | "ItemCompleted"
  readonly [key: string]: unknown
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

const hasStrings = (record: Record<string, unknown>, keys: ReadonlyArray<string>) =>
  keys.every((key) => typeof record[key] === "string")

/**
 * The lifecycle event of an undecoded notification, with its params raw, or
 * `undefined` when the method is not a lifecycle one or the ids are missing.
 */
export const lifecycleEvent = (method: string, params: unknown): LifecycleEvent | undefined => {
  if (!isRecord(params) || typeof params.threadId !== "string") return undefined
  switch (method) {
    case "turn/started":
    case "turn/completed": {
      const turn = params.turn
      if (!isRecord(turn) || !hasStrings(turn, ["id", "status"])) return undefined
      return { ...params, _tag: method === "turn/started" ? "TurnStarted" : "TurnCompleted" }
    }
    case "item/started":
    case "item/completed": {
      const item = params.item
      if (typeof params.turnId !== "string" || !isRecord(item) || !hasStrings(item, ["id", "type"])) return undefined
      return { ...params, _tag: method === "item/started" ? "ItemStarted" : "ItemCompleted" }
    }
    default:
      return undefined
  }
}
