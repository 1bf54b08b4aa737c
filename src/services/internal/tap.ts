/**
 * A consumer of a client's messages that runs on the reader itself: it sees
 * every notification and server request in wire order, synchronously, with
 * the answers to requests (a response is handled after every message read
 * before it), hears when a batch of lines read at once ends, and hears the end
 * of the connection after the last message. `Codex` routes turns through it,
 * so an event costs no PubSub publish and no fiber hop, and a turn's stream is
 * woken once per batch.
 *
 * It is not part of the public client `Service`: a client built by hand has no
 * tap, and `Codex` then routes from a subscription instead (see {@link of}).
 *
 * @internal
 */
import type { Effect, Scope } from "../../schema/internal/effect.ts"
import type * as CodexError from "../../schema/CodexError.ts"
import type { Incoming } from "../../schema/Incoming.ts"

/** What a tap is told. Every callback must be cheap and must not block. */
export interface Tap {
  /**
   * A notification or server request (a server request before any handler
   * sees it). The effect returned, if any, runs before the next message is
   * handled. Throwing is a defect: the tap is removed and `defect` runs.
   */
  readonly message: (incoming: Incoming) => Effect.Effect<void> | undefined
  /** The messages of one read have all been handled (their effects run). */
  readonly batchEnd: () => void
  /** The connection ended, after every message it delivered; called at most once. */
  readonly end: (error: CodexError.CodexError) => void
  /** `message` or `batchEnd` threw `error`; the tap is already removed. */
  readonly defect: (error: unknown) => Effect.Effect<void>
}

/** Registers a tap for the life of the Scope. */
export type Register = (tap: Tap) => Effect.Effect<void, never, Scope.Scope>

const registries = new WeakMap<object, Register>()

/** Marks `client` as one whose reader takes taps through `register`. */
export const attach = <A extends object>(client: A, register: Register): A => {
  registries.set(client, register)
  return client
}

/** How to tap `client`'s reader, or `undefined` for a client built by hand. */
export const of = (client: object): Register | undefined => registries.get(client)
