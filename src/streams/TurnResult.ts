/**
 * The outcome of a finished turn, collected from its events.
 *
 * @stability unstable
 * @since 0.1.0
 */
import { Schema } from "../schema/internal/effect.ts"
import type * as Protocol from "../schema/generated/Protocol.gen.ts"
import * as ProtocolLazy from "../schema/generated/ProtocolLazy.gen.ts"
import * as CodexError from "../schema/CodexError.ts"
import type { TurnEvent } from "./TurnEvent.ts"
import * as Summary from "./internal/summary.ts"

// built on first use: building it while this module loads would load effect/Schema at import
let codexErrorInfoGuard: ((u: unknown) => u is Protocol.CodexErrorInfo) | undefined
const isCodexErrorInfo = (u: unknown): u is Protocol.CodexErrorInfo =>
  (codexErrorInfoGuard ??= Schema.is(ProtocolLazy.CodexErrorInfo()))(u)

/**
 * A turn that ended `completed` or `interrupted` (a `failed` turn is a
 * `TurnFailed` error instead).
 *
 * - `items`: every item completed during the turn, in order (not the summary in
 *   `turn/completed`, which only holds the final message);
 * - `finalResponse`: the last agent message with phase `final_answer`, else the
 *   last one without a phase;
 * - `usage`: the last `thread/tokenUsage/updated` of the turn;
 * - `durationMs`: the protocol's, else measured by the client;
 * - `turn`: the protocol `Turn` of `turn/completed` as codex sent it (status,
 *   timings, error; its `items` are codex's summary, not `items` above). When
 *   the pinned schema cannot decode it (a newer codex), it is the raw value.
 *
 * @category models
 * @since 0.1.0
 */
export interface TurnResult {
  readonly threadId: string
  readonly turnId: string
  readonly status: "completed" | "interrupted"
  readonly finalResponse: string | undefined
  readonly items: ReadonlyArray<Protocol.ThreadItem>
  readonly usage: Protocol.ThreadTokenUsage | undefined
  readonly durationMs: number
  readonly turn: Protocol.Turn
}

/**
 * A {@link TurnResult} with the final answer decoded by an output schema.
 *
 * @category models
 * @since 0.1.0
 */
export interface TurnResultWithOutput<A> extends TurnResult {
  readonly output: A
}

/**
 * Picks the final response among completed items: the last agent message with
 * phase `final_answer`, else the last agent message without a phase.
 *
 * @category constructors
 * @since 0.1.0
 */
export const finalResponseOf = (items: ReadonlyArray<Protocol.ThreadItem>): string | undefined => {
  let withoutPhase: string | undefined
  for (let i = items.length - 1; i >= 0; i--) {
    const item = items[i]!
    if (item.type !== "agentMessage") continue
    if (item.phase === "final_answer") return item.text
    if ((item.phase === undefined || item.phase === null) && withoutPhase === undefined) withoutPhase = item.text
  }
  return withoutPhase
}

/**
 * Collects the result of a turn from all of its events, the last being
 * `TurnCompleted`. A `failed` turn gives a `TurnFailed` error.
 *
 * @category constructors
 * @since 0.1.0
 */
export const collect = (
  events: ReadonlyArray<TurnEvent>,
  measuredMs: number
): { readonly _tag: "Success"; readonly result: TurnResult } | {
  readonly _tag: "Failure"
  readonly error: CodexError.CodexError
} => {
  // a live turn's events come with their summary: no walk over every delta
  const summary = Summary.of(events)
  // a copy: a turn collected before its end goes on adding to the summary's
  const items = summary.items.slice()
  const usage = summary.usage
  const completed = summary.completed
  const lastError = summary.lastError
  if (completed === undefined) {
    return {
      _tag: "Failure",
      error: CodexError.make(new CodexError.ProtocolError({ description: "turn ended without turn/completed" }))
    }
  }
  const turn = completed.turn
  // Statuses are open literals (a newer codex may add some): anything else is a failure.
  const status = turn.status === "completed" ? "completed" : turn.status === "interrupted" ? "interrupted" : undefined
  if (status === undefined) {
    const error = turn.error ?? lastError
    return {
      _tag: "Failure",
      error: CodexError.make(
        new CodexError.TurnFailed({
          threadId: completed.threadId,
          turnId: turn.id,
          message: typeof error?.message === "string" ? error.message : `turn ended with status ${turn.status}`,
          // an undecoded turn/completed (newer codex) may carry values the pinned schema does not know
          codexErrorInfo: isCodexErrorInfo(error?.codexErrorInfo) ? error.codexErrorInfo : undefined,
          additionalDetails: typeof error?.additionalDetails === "string" ? error.additionalDetails : undefined
        })
      )
    }
  }
  return {
    _tag: "Success",
    result: {
      threadId: completed.threadId,
      turnId: turn.id,
      status,
      finalResponse: finalResponseOf(items),
      items,
      usage,
      durationMs: typeof turn.durationMs === "number" ? turn.durationMs : measuredMs,
      turn
    }
  }
}
