import { Cause, Effect, Exit, Option } from "effect"
import type * as Protocol from "../../src/schema/generated/Protocol.gen.ts"
import type * as CodexError from "../../src/schema/CodexError.ts"

/** The reason an effect fails with (the effect must fail). */
export const reasonOf = <A, R>(effect: Effect.Effect<A, CodexError.CodexError, R>) =>
  Effect.flip(effect).pipe(Effect.map((error) => error.reason))

/** The reason of a failed exit, `undefined` for a success or a failure without a CodexError. */
export const exitReason = (exit: Exit.Exit<unknown, CodexError.CodexError>) => {
  if (Exit.isSuccess(exit)) return undefined
  const error = Cause.findErrorOption(exit.cause)
  return Option.isSome(error) ? error.value.reason : undefined
}

/** The first item of a type. */
export const itemOf = <T extends Protocol.ThreadItem["type"]>(items: ReadonlyArray<Protocol.ThreadItem>, type: T) =>
  items.find((item) => item.type === type) as Extract<Protocol.ThreadItem, { readonly type: T }> | undefined
