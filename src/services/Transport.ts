/**
 * The contract between the client and whatever moves its bytes: `offer` one
 * serialized JSON-RPC message, read the `incoming` ones. The constructors
 * (stdio, WebSocket, in memory) live in the layers floor
 * (`src/layers/Transport.ts`), which re-exports this contract.
 *
 * @since 0.1.0
 */
import { Context, Effect, Stream } from "../schema/internal/effect.ts"
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
  /**
   * Optional, instead of `incoming`: hands the same messages to `handler`
   * from wherever the transport reads them (Node's `data` callback for
   * stdio), so a read resumes no fiber. Use it through {@link consume},
   * which falls back to `incoming` for a transport without it.
   */
  readonly consume?: ((handler: BatchHandler) => Effect.Effect<void, CodexError.CodexError>) | undefined
}

/**
 * What {@link consume} hands messages to: every message received and not
 * yet handled, in order. It returns `undefined` once it is done with them,
 * or an effect that must run before any later message is handed over.
 *
 * @category models
 * @since 0.1.0
 */
export type BatchHandler = (messages: readonly [string, ...Array<string>]) => Effect.Effect<void> | undefined

/**
 * Runs `handler` on every message of `transport` until the connection ends,
 * as `Stream.runForEachArray` over `incoming` would: in order, the effect a
 * batch returns running before the next batch, failing as `incoming` fails
 * (a `handler` that throws is a defect of the returned effect). A transport
 * with its own {@link Service.consume} calls `handler` where it reads;
 * otherwise `incoming` is pulled by the fiber running this.
 *
 * @category combinators
 * @since 0.1.0
 */
export const consume = (
  transport: Service,
  handler: BatchHandler
): Effect.Effect<void, CodexError.CodexError> =>
  transport.consume !== undefined
    ? transport.consume(handler)
    : Stream.runForEachArray(transport.incoming, (messages) => handler(messages) ?? Effect.void)

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

