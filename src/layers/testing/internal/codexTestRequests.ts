/**
 * Server requests of the scripted app-server: a step asks the client
 * (approvals, user input, tool calls), the server waits for the answer, and the
 * answer the client sends back settles the request.
 *
 * @internal
 */
import { Deferred, Effect, Exit, Schema } from "../../../schema/internal/effect.ts"
import {
  type ServerRequestMethod,
  type ServerRequestParamsByMethod,
  type ServerRequestResponseByMethod,
  ServerRequestResponses
} from "../../../schema/generated/Methods.gen.ts"
import * as JsonRpc from "../../../schema/JsonRpc.ts"
import type { RecordedAnswer } from "./codexTestHarness.ts"
import type { ClientAnswer } from "./codexTestModel.ts"
import { notify, type RawAnswer, send, type State } from "./codexTestState.ts"

/**
 * Sends a server request for a turn of `threadId` and waits for the client's
 * answer, which is added to `answers` and decoded with the protocol's response
 * schema. codex's `serverRequest/resolved` follows the answer, or the
 * interruption of a request still pending (not for `item/tool/call`, as in codex).
 */
export const request = <M extends ServerRequestMethod>(
  state: State,
  turn: { readonly threadId: string; readonly answers: Array<RecordedAnswer> },
  method: M,
  params: ServerRequestParamsByMethod[M]
): Effect.Effect<ClientAnswer<M>> =>
  Effect.suspend(() => {
    const id = state.counters.request++
    const deferred = Deferred.makeUnsafe<RawAnswer>()
    state.pendingAnswers.set(id, deferred)
    const resolved = method === "item/tool/call"
      ? Effect.void
      : notify(state, "serverRequest/resolved", { threadId: turn.threadId, requestId: id })
    return send(state, { method, id, params }).pipe(
      Effect.andThen(Deferred.await(deferred)),
      Effect.onInterrupt(() => Effect.suspend(() => state.pendingAnswers.delete(id) ? resolved : Effect.void)),
      Effect.tap(() => resolved),
      Effect.map((raw): ClientAnswer<M> => {
        const answer: RecordedAnswer = {
          requestId: id,
          method,
          params,
          ...(raw.error === undefined ? { result: raw.result } : { error: raw.error })
        }
        turn.answers.push(answer)
        if (raw.error !== undefined) return { _tag: "Error", error: raw.error }
        const schema = ServerRequestResponses[method] as unknown as Schema.Decoder<unknown>
        const decoded = Schema.decodeUnknownExit(schema)(raw.result, { onExcessProperty: "ignore" })
        return Exit.isSuccess(decoded)
          ? { _tag: "Result", result: decoded.value as ServerRequestResponseByMethod[M] }
          : {
            _tag: "Error",
            error: {
              code: JsonRpc.ErrorCode.InvalidParams,
              message: `the answer to ${method} does not decode: ${String(decoded.cause)}`
            }
          }
      })
    )
  })

/** Settles the pending server request a client's response answers; a response to nothing pending is dropped. */
export const settle = (
  state: State,
  response: Extract<JsonRpc.Incoming, { readonly _tag: "Response" | "ErrorResponse" }>
): Effect.Effect<void> => {
  if (typeof response.id !== "number") return Effect.void
  const deferred = state.pendingAnswers.get(response.id)
  if (deferred === undefined) return Effect.void
  state.pendingAnswers.delete(response.id)
  return Effect.asVoid(
    Deferred.succeed(deferred, response._tag === "Response" ? { result: response.result } : { error: response.error })
  )
}
