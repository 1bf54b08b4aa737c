/**
 * What the workflow helpers read back from a thread's history: the turn an
 * earlier run started under a given client message id.
 *
 * @internal
 */
import { Effect, Option, Stream } from "../../schema/internal/effect.ts"
import type * as CodexError from "../../schema/CodexError.ts"
import type * as Protocol from "../../schema/generated/Protocol.gen.ts"
import type * as Thread from "../Thread.ts"

/**
 * The newest stored turn whose user message carries `clientId` (what the
 * helpers send as `clientUserMessageId`; codex keeps it in the rollout as
 * the item's `clientId`), if any.
 *
 * @internal
 */
export const findByClientId = (
  thread: Thread.Thread,
  clientId: string
): Effect.Effect<Option.Option<Protocol.Turn>, CodexError.CodexError> =>
  thread.turns().pipe(
    Stream.filter((turn) => turn.items.some((item) => item.type === "userMessage" && item.clientId === clientId)),
    Stream.runHead
  )

/**
 * The `clientUserMessageId` of a turn activity: stable across replays and
 * processes (the workflow's execution id and the turn's name), distinct
 * between executions and between turns of one execution.
 *
 * @internal
 */
export const clientIdOf = (executionId: string, name: string): string => `effect-codex/workflow/${executionId}/${name}`
