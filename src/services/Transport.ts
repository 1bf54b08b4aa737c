/**
 * The contract between the client and whatever moves its bytes: `offer` one
 * serialized JSON-RPC message, read the `incoming` ones. The constructors
 * (stdio, WebSocket, in memory) live in the layers floor
 * (`src/layers/Transport.ts`), which re-exports this contract.
 *
 * @since 0.1.0
 */
import { Context, Effect, type Stream } from "../schema/internal/effect.ts"
import * as CodexError from "../schema/CodexError.ts"

/**
 * The transport service: `offer` one message, read `incoming` messages.
 *
 * @category models
 * @since 0.1.0
 */
export interface Service {
  /**
   * Queues one serialized JSON message (no trailing newline) for sending,
   * without suspending: the hot path of every request. `false` when the
   * connection is closed. Writing happens in order on the transport's own fiber.
   */
  readonly offer: (message: string) => boolean
  /**
   * Every message the server sends, in order. Meant for one consumer (the
   * client's reader); fails when the connection ends.
   */
  readonly incoming: Stream.Stream<string, CodexError.CodexError>
}

/**
 * Sends one message: {@link Service.offer} as an Effect that fails with
 * `Closed` when the connection is closed.
 *
 * @category combinators
 * @since 0.1.0
 */
export const send = (transport: Service, message: string): Effect.Effect<void, CodexError.CodexError> =>
  Effect.suspend(() => transport.offer(message) ? Effect.void : Effect.fail(CodexError.make(new CodexError.Closed())))

/**
 * The key of the transport service.
 *
 * @category services
 * @since 0.1.0
 */
export class Transport extends Context.Service<Transport, Service>()("effect-codex/Transport") {}

