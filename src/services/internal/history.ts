/**
 * The operations on one thread's stored history and settings, by thread id:
 * what both `Codex` (by id) and a `Thread` handle offer. Untraced: each caller
 * names its own span.
 *
 * @internal
 */
import { Effect, Option, Stream } from "../../schema/internal/effect.ts"
import type * as CodexError from "../../schema/CodexError.ts"
import type * as Protocol from "../../schema/generated/Protocol.gen.ts"
import type * as AppServerClient from "../AppServerClient.ts"

/**
 * Every element of every page, following `nextCursor` until codex gives none
 * (or an empty page).
 *
 * @internal
 */
export const pages = <A, E>(
  page: (cursor: string | undefined) => Effect.Effect<{
    readonly data: ReadonlyArray<A>
    readonly nextCursor?: string | null | undefined
  }, E>
): Stream.Stream<A, E> =>
  Stream.paginate(undefined as string | undefined, (cursor) =>
    Effect.map(page(cursor), (page) =>
      [
        page.data,
        page.nextCursor === undefined || page.nextCursor === null || page.data.length === 0
          ? Option.none()
          : Option.some(page.nextCursor)
      ] as const))

/**
 * Options of a paginated listing of one thread: its protocol params but the thread.
 *
 * @internal
 */
export type ListOptions<P> = Omit<P, "threadId">

/**
 * Options of a stream over a thread's pages: its protocol params but the thread and the cursor.
 *
 * @internal
 */
export type StreamOptions<P> = Omit<P, "threadId" | "cursor">

const withCursor = <P extends object>(options: P, cursor: string | undefined): P =>
  cursor === undefined ? options : { ...options, cursor }

/**
 * The history operations over a client.
 *
 * @internal
 */
export const make = (client: AppServerClient.Service) => {
  const listTurns = (
    threadId: string,
    options: ListOptions<Protocol.ThreadTurnsListParams> = {}
  ): Effect.Effect<Protocol.ThreadTurnsListResponse, CodexError.CodexError> =>
    client.request("thread/turns/list", { ...options, threadId })

  const listItems = (
    threadId: string,
    options: ListOptions<Protocol.ThreadItemsListParams> = {}
  ): Effect.Effect<Protocol.ThreadItemsListResponse, CodexError.CodexError> =>
    client.request("thread/items/list", { ...options, threadId })

  return {
    listTurns,
    turns: (
      threadId: string,
      options: StreamOptions<Protocol.ThreadTurnsListParams> = {}
    ): Stream.Stream<Protocol.Turn, CodexError.CodexError> =>
      pages((cursor) => listTurns(threadId, withCursor(options, cursor))),
    listItems,
    items: (
      threadId: string,
      options: StreamOptions<Protocol.ThreadItemsListParams> = {}
    ): Stream.Stream<Protocol.ThreadItemEntry, CodexError.CodexError> =>
      pages((cursor) => listItems(threadId, withCursor(options, cursor))),
    revert: (threadId: string, beforeTurnId: string) => client.request("thread/revert", { threadId, beforeTurnId }),
    delete: (threadId: string) => Effect.asVoid(client.request("thread/delete", { threadId })),
    unsubscribe: (threadId: string) => client.request("thread/unsubscribe", { threadId }),
    updateMetadata: (threadId: string, patch: Omit<Protocol.ThreadMetadataUpdateParams, "threadId">) =>
      client.request("thread/metadata/update", { ...patch, threadId }),
    setGoal: (threadId: string, goal: Omit<Protocol.ThreadGoalSetParams, "threadId">) =>
      client.request("thread/goal/set", { ...goal, threadId }),
    goal: (threadId: string) => client.request("thread/goal/get", { threadId }),
    clearGoal: (threadId: string, options: Omit<Protocol.ThreadGoalClearParams, "threadId"> = {}) =>
      client.request("thread/goal/clear", { ...options, threadId })
  }
}

/**
 * The history operations.
 *
 * @internal
 */
export type History = ReturnType<typeof make>
