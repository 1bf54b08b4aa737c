/**
 * `review/start` as a turn handle: the review is claimed like a turn of
 * `thread.turn`, by the turn id codex answers, on the thread it answers
 * (`reviewThreadId`), with the events that arrived before the answer.
 *
 * @internal
 */
import { Effect, Result, type Scope } from "../../schema/internal/effect.ts"
import type * as CodexError from "../../schema/CodexError.ts"
import type * as Protocol from "../../schema/generated/Protocol.gen.ts"
import * as Turn from "../Turn.ts"

/**
 * Starts a review on `threadId`; closing the Scope before it ends interrupts it.
 *
 * @internal
 */
export const start = (
  connection: Turn.Connection,
  threadId: string,
  target: Protocol.ReviewTarget,
  options: Omit<Protocol.ReviewStartParams, "threadId" | "target"> & {
    readonly interruptTimeout?: Turn.Options["interruptTimeout"]
  }
): Effect.Effect<Turn.Turn, CodexError.CodexError, Scope.Scope> => {
  const { interruptTimeout, ...params } = options
  const checked = Turn.interruptTimeoutOf(interruptTimeout)
  if (Result.isFailure(checked)) return Effect.fail(checked.failure)
  const { router, client } = connection
  const claim = Effect.suspend(() => {
    router.beginStart(threadId)
    // The answer may name another thread (a review delivered on a thread of its own).
    router.beginStartElsewhere()
    return client.request("review/start", { ...params, threadId, target }).pipe(
      Effect.map((response) => router.claim(response.reviewThreadId, response.turn.id)),
      Effect.ensuring(Effect.sync(() => {
        router.endStartElsewhere()
        router.endStart(threadId)
      }))
    )
  })
  return Turn.acquire(connection, claim, checked.success)
}
