/**
 * Showing a turn as it happens (`run`, `review`): each event rendered (or printed as a JSON line with
 * `--json`), approvals asked when the policy is `ask`; and the review turn, which codex starts with
 * `review/start` and whose events are read from the connection.
 *
 * @internal
 */
import { Effect, type Scope, Stream } from "../../schema/internal/effect.ts"
import type * as Prompt from "effect/cli/Prompt"
import type * as CodexError from "../../schema/CodexError.ts"
import type * as Protocol from "../../schema/generated/Protocol.gen.ts"
import * as AppServerClient from "../../services/AppServerClient.ts"
import type * as Approvals from "../../services/Approvals.ts"
import * as TurnEvent from "../../streams/TurnEvent.ts"
import * as TurnResult from "../../streams/TurnResult.ts"
import * as CliApprovals from "./approvals.ts"
import type { Policy } from "./flags.ts"
import * as Format from "./format.ts"
import type { Renderer } from "./render.ts"
import type { Display } from "./terminal.ts"

/**
 * Options of {@link show}.
 *
 * @internal
 */
export interface ShowOptions {
  readonly json: boolean
  readonly policy: Policy
  readonly renderer: Renderer
  readonly display: Display
}

/**
 * Shows every event of a turn until it ends; asks approvals on the way when the policy is `ask`.
 *
 * @internal
 */
export const show = (
  events: Stream.Stream<TurnEvent.TurnEvent, CodexError.CodexError>,
  options: ShowOptions
): Effect.Effect<void, CodexError.CodexError, Approvals.Approvals | Prompt.Environment> =>
  Stream.runForEach(events, (event) => {
    const shown = options.json
      ? options.display.answer(`${Format.jsonLine(event)}\n`)
      : options.display.apply(options.renderer.feed(event))
    return event._tag === "ApprovalRequested" && options.policy === "ask"
      ? Effect.andThen(shown, CliApprovals.ask(event, options.renderer, options.display))
      : shown
  })

// The turn a message belongs to. codex's `turn/started` for a review names a turn of its own whose
// `rootTurnId` is the one `review/start` answered with; every other event names that one.
const belongsTo = (incoming: AppServerClient.Incoming, threadId: string, turnId: string): boolean => {
  const params = incoming.params as {
    readonly threadId?: unknown
    readonly turnId?: unknown
    readonly turn?: { readonly id?: unknown; readonly rootTurnId?: unknown }
  } | undefined
  if (params === undefined || params === null || params.threadId !== threadId) return false
  return params.turnId === turnId || params.turn?.id === turnId || params.turn?.rootTurnId === turnId
}

/**
 * A review turn on a thread: its id, its events (from the first, ending after `TurnCompleted`) and
 * its result. Closing the Scope before the review ends interrupts it.
 *
 * @internal
 */
export interface Review {
  readonly turnId: string
  readonly events: Stream.Stream<TurnEvent.TurnEvent, CodexError.CodexError>
  readonly result: Effect.Effect<TurnResult.TurnResult, CodexError.CodexError>
}

/**
 * Starts `review/start` (delivered inline, on the thread itself) and follows its turn.
 *
 * @internal
 */
export const review = (
  threadId: string,
  target: Protocol.ReviewTarget
): Effect.Effect<Review, CodexError.CodexError, AppServerClient.AppServerClient | Scope.Scope> =>
  Effect.gen(function*() {
    const client = yield* AppServerClient.AppServerClient
    // subscribed before the request: an instant model ends the review before its answer is read
    const incoming = yield* client.subscribe
    const startedAt = performance.now()
    const response = yield* client.request("review/start", { threadId, target, delivery: "inline" })
    const turnId = response.turn.id
    const seen: Array<TurnEvent.TurnEvent> = []
    let ended = false
    yield* Effect.addFinalizer(() =>
      ended ? Effect.void : Effect.ignore(client.request("turn/interrupt", { threadId, turnId }))
    )
    const events = incoming.pipe(
      Stream.filter((message) => belongsTo(message, threadId, turnId)),
      Stream.map(TurnEvent.fromIncoming),
      Stream.takeUntil((event) => event._tag === "TurnCompleted"),
      Stream.tap((event) =>
        Effect.sync(() => {
          seen.push(event)
          if (event._tag === "TurnCompleted") ended = true
        })
      )
    )
    const result = Effect.suspend(() => {
      const collected = TurnResult.collect(seen, performance.now() - startedAt)
      return collected._tag === "Success" ? Effect.succeed(collected.result) : Effect.fail(collected.error)
    })
    return { turnId, events, result }
  })
