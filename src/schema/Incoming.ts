/**
 * What the app-server sends a client, decoded: notifications, server
 * requests, and the answers a client gives to those requests.
 *
 * Every function here is pure: a parsed JSON-RPC message in, plain data out.
 * Nothing sends, logs or waits; the client decides what to do with the
 * outcome (publish it, answer with an error, warn).
 *
 * @since 0.1.0
 */
import { Cause, Exit, Option, Schema } from "./internal/effect.ts"
import {
  ServerNotificationParams,
  type ServerNotificationMethod,
  type ServerNotificationParamsByMethod,
  ServerRequestParams,
  type ServerRequestMethod,
  type ServerRequestParamsByMethod,
  ServerRequestResponses
} from "./generated/Methods.gen.ts"
import { guardOf } from "./internal/plain.ts"
import * as JsonRpc from "./JsonRpc.ts"

/**
 * A notification the pinned protocol knows, with decoded params.
 *
 * @category models
 * @since 0.1.0
 */
export type Notification = {
  readonly [M in ServerNotificationMethod]: {
    readonly _tag: "Notification"
    readonly method: M
    readonly params: ServerNotificationParamsByMethod[M]
  }
}[ServerNotificationMethod]

/**
 * A notification the pinned protocol does not know (a newer codex), or whose
 * params did not decode: kept raw so nothing is lost.
 *
 * @category models
 * @since 0.1.0
 */
export interface UnknownNotification {
  readonly _tag: "UnknownNotification"
  readonly method: string
  readonly params: unknown
}

/**
 * A request the server sent to the client, with decoded params.
 *
 * @category models
 * @since 0.1.0
 */
export type ServerRequest = {
  readonly [M in ServerRequestMethod]: {
    readonly _tag: "ServerRequest"
    readonly id: JsonRpc.RequestId
    readonly method: M
    readonly params: ServerRequestParamsByMethod[M]
  }
}[ServerRequestMethod]

/**
 * What subscribers of a client receive.
 *
 * @category models
 * @since 0.1.0
 */
export type Incoming = Notification | UnknownNotification | ServerRequest

/**
 * The answer a server-request handler gives: a result (encoded with the
 * method's response schema) or a JSON-RPC error.
 *
 * @category models
 * @since 0.1.0
 */
export type ServerRequestAnswer =
  | { readonly _tag: "Result"; readonly result: unknown }
  | { readonly _tag: "Error"; readonly error: JsonRpc.ErrorObject }

// Newer codex versions add fields: they are ignored, not errors (the decoders' default; passing
// `onExcessProperty` explicitly would take Schema's slow generic path at every nested struct).

/** A map's own entry: a method named `toString` must not find `Object.prototype.toString`. */
const own = <A>(map: Readonly<Record<string, A>>, key: string): A | undefined =>
  Object.hasOwn(map, key) ? map[key] : undefined

type Decoder = (input: unknown) => Exit.Exit<unknown, Schema.SchemaError>

const decoders = new Map<Schema.Top, Decoder>()
const decoderOf = (schema: Schema.Top): Decoder => {
  let decoder = decoders.get(schema)
  if (decoder === undefined) {
    const decode = Schema.decodeUnknownExit(schema as Schema.Decoder<unknown>)
    // no transformations: what validates is its own decoded value, kept as it came (no copy)
    const plain = guardOf(schema)
    decoder = (input) => plain(input) ? Exit.succeed(input) : decode(input)
    decoders.set(schema, decoder)
  }
  return decoder
}

type Params = Record<string, unknown>

const isParams = (u: unknown): u is Params => typeof u === "object" && u !== null && !Array.isArray(u)

const isDelta = (p: Params) =>
  typeof p.delta === "string" && typeof p.itemId === "string" && typeof p.threadId === "string" &&
  typeof p.turnId === "string"

/**
 * Whether the params of a hot notification (a turn streams thousands of
 * them) match its schema, checked by hand: `undefined` for a method not
 * here. Like every plain schema they are used as they came (see
 * `internal/plain.ts`); must stay equivalent to the generated schemas (a test
 * checks).
 */
const isHot = (method: string, params: unknown): boolean | undefined => {
  switch (method) {
    case "item/agentMessage/delta":
    case "item/commandExecution/outputDelta":
    case "item/fileChange/outputDelta":
    case "item/plan/delta":
      return isParams(params) && isDelta(params)
    case "item/reasoning/summaryTextDelta":
      return isParams(params) && isDelta(params) && Number.isSafeInteger(params.summaryIndex)
    case "item/reasoning/textDelta":
      return isParams(params) && isDelta(params) && Number.isSafeInteger(params.contentIndex)
    default:
      return undefined
  }
}

/**
 * The thread codex no longer holds loaded after `incoming`: the one it
 * closed (`thread/closed`: no connection was subscribed to it) or deleted
 * (`thread/deleted`, for which it sends no `thread/closed`); `undefined` for
 * any other message. Bookkeeping kept per loaded thread ends there.
 *
 * @internal
 */
export const unloadedThread = (incoming: Incoming): string | undefined =>
  incoming._tag === "Notification" && (incoming.method === "thread/closed" || incoming.method === "thread/deleted")
    ? incoming.params.threadId
    : undefined

/**
 * Whether the pinned protocol has a notification of this name.
 *
 * @category guards
 * @since 0.1.0
 */
export const isKnownNotification = (method: string): boolean => Object.hasOwn(ServerNotificationParams, method)

/**
 * Decodes a notification: `Notification` when the pinned schema accepts its
 * params, else `UnknownNotification` with the params as they came.
 *
 * @category decoding
 * @since 0.1.0
 */
export const decodeNotification = (method: string, params: unknown): Notification | UnknownNotification => {
  if (isHot(method, params) === true) return { _tag: "Notification", method, params } as Notification
  const schema = own(ServerNotificationParams as Record<string, Schema.Top>, method)
  if (schema === undefined) return { _tag: "UnknownNotification", method, params }
  const exit = decoderOf(schema)(params)
  return Exit.isSuccess(exit)
    ? { _tag: "Notification", method, params: exit.value } as Notification
    : { _tag: "UnknownNotification", method, params }
}

/**
 * The outcome of decoding a server request: the request, or the JSON-RPC
 * error the client must answer with (an unknown method, params that do not
 * decode).
 *
 * @category models
 * @since 0.1.0
 */
export type DecodedRequest =
  | { readonly _tag: "Request"; readonly request: ServerRequest }
  | { readonly _tag: "Refused"; readonly error: JsonRpc.ErrorObject; readonly reason: "unknown" | "undecodable" }

/**
 * Decodes a server request by its method's params schema.
 *
 * @category decoding
 * @since 0.1.0
 */
export const decodeServerRequest = (id: JsonRpc.RequestId, method: string, params: unknown): DecodedRequest => {
  const schema = own(ServerRequestParams as Record<string, Schema.Top>, method)
  if (schema === undefined) {
    return {
      _tag: "Refused",
      reason: "unknown",
      error: { code: JsonRpc.ErrorCode.MethodNotFound, message: `effect-codex does not know the server request ${method}` }
    }
  }
  const exit = decoderOf(schema)(params)
  if (Exit.isFailure(exit)) {
    return {
      _tag: "Refused",
      reason: "undecodable",
      error: { code: JsonRpc.ErrorCode.InvalidParams, message: `effect-codex could not decode the params of ${method}` }
    }
  }
  return { _tag: "Request", request: { _tag: "ServerRequest", id, method, params: exit.value } as ServerRequest }
}

/**
 * The line that answers a server request, or, when a handler's result does
 * not match the method's response schema, an internal-error line and the
 * issue (for a warning): codex must always get an answer.
 *
 * @category encoding
 * @since 0.1.0
 */
export const encodeAnswer = (
  id: JsonRpc.RequestId,
  method: string,
  answer: ServerRequestAnswer
): { readonly line: string; readonly issue?: string | undefined } => {
  if (answer._tag === "Error") return { line: JsonRpc.encodeError(id, answer.error) }
  const schema = own(ServerRequestResponses as Record<string, Schema.Top>, method)
  if (schema === undefined) return { line: JsonRpc.encodeResponse(id, answer.result) }
  const exit = Schema.encodeUnknownExit(schema as Schema.Codec<unknown, unknown>)(answer.result)
  if (Exit.isSuccess(exit)) return { line: JsonRpc.encodeResponse(id, exit.value) }
  const error = Cause.findErrorOption(exit.cause)
  return {
    line: JsonRpc.encodeError(id, {
      code: JsonRpc.ErrorCode.InternalError,
      message: `The client's answer to ${method} does not match the protocol`
    }),
    issue: Option.isSome(error) ? error.value.message : Cause.pretty(exit.cause)
  }
}
