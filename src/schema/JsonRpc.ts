/**
 * The JSON-RPC envelope of the codex app-server, as pure functions: a line in,
 * a classified message out; values in, a line out. No I/O.
 *
 * codex omits `"jsonrpc"` in what it sends and accepts messages without it.
 * Messages are classified by which keys they carry, never by trying schemas in
 * turn: a union that tries "notification" first would read a server request
 * as a notification and drop its `id`, and the turn waiting on it would hang.
 *
 * @stability experimental
 * @since 0.1.0
 */
import type { W3cTraceContext } from "./generated/Protocol.gen.ts"

/**
 * A JSON-RPC request id. codex numbers its own requests from 0.
 *
 * @category models
 * @since 0.1.0
 */
export type RequestId = string | number

/**
 * The `error` member of a JSON-RPC error response.
 *
 * @category models
 * @since 0.1.0
 */
export interface ErrorObject {
  readonly code: number
  readonly message: string
  readonly data?: unknown
}

/**
 * A message received from the server, classified by shape.
 *
 * @category models
 * @since 0.1.0
 */
export type Incoming =
  | { readonly _tag: "Response"; readonly id: RequestId; readonly result: unknown }
  | { readonly _tag: "ErrorResponse"; readonly id: RequestId | null; readonly error: ErrorObject }
  | { readonly _tag: "Request"; readonly id: RequestId; readonly method: string; readonly params: unknown }
  | { readonly _tag: "Notification"; readonly method: string; readonly params: unknown }
  | { readonly _tag: "Invalid"; readonly reason: string }

/**
 * The JSON-RPC error code codex uses when its queues are full.
 *
 * @category constants
 * @since 0.1.0
 */
export const OVERLOADED = -32001

/**
 * Standard JSON-RPC error codes the client itself sends.
 *
 * @category constants
 * @since 0.1.0
 */
export const ErrorCode = {
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603
} as const

const isId = (u: unknown): u is RequestId => typeof u === "string" || (typeof u === "number" && Number.isFinite(u))

const isObject = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

/**
 * Classifies an already parsed JSON value.
 *
 * @category decoding
 * @since 0.1.0
 */
export const classify = (value: unknown): Incoming => {
  if (!isObject(value)) return { _tag: "Invalid", reason: "not a JSON object" }
  const method = value.method
  if (typeof method === "string") {
    if ("id" in value) {
      return isId(value.id)
        ? { _tag: "Request", id: value.id, method, params: value.params }
        : { _tag: "Invalid", reason: "request with an invalid id" }
    }
    return { _tag: "Notification", method, params: value.params }
  }
  if (!("id" in value)) return { _tag: "Invalid", reason: "neither a request, a response nor a notification" }
  const id = value.id
  if ("error" in value) {
    const error = value.error
    if (!isObject(error) || typeof error.code !== "number") {
      return { _tag: "Invalid", reason: "error response without a numeric code" }
    }
    return {
      _tag: "ErrorResponse",
      id: isId(id) ? id : null,
      error: {
        code: error.code,
        message: typeof error.message === "string" ? error.message : "",
        ...("data" in error ? { data: error.data } : {})
      }
    }
  }
  if ("result" in value && isId(id)) return { _tag: "Response", id, result: value.result }
  return { _tag: "Invalid", reason: "response without a result" }
}

/**
 * Parses and classifies one line. Empty lines, invalid JSON and batches are
 * `Invalid`, never thrown.
 *
 * @category decoding
 * @since 0.1.0
 */
export const parse = (line: string): Incoming => {
  // a line opening an object (what codex sends) is not blank: only others are trimmed
  if (line.charCodeAt(0) !== 123 && line.trim().length === 0) return { _tag: "Invalid", reason: "empty line" }
  let value: unknown
  try {
    value = JSON.parse(line)
  } catch {
    return { _tag: "Invalid", reason: "invalid JSON" }
  }
  return classify(value)
}

/**
 * Serializes a request, with the W3C trace context of the caller's span in
 * the envelope's `trace` field when one is given.
 *
 * @category encoding
 * @since 0.1.0
 */
export const encodeRequest = (id: RequestId, method: string, params: unknown, trace?: W3cTraceContext): string =>
  JSON.stringify(
    trace === undefined
      ? (params === undefined ? { id, method } : { id, method, params })
      : (params === undefined ? { id, method, trace } : { id, method, params, trace })
  )

/**
 * Serializes a notification.
 *
 * @category encoding
 * @since 0.1.0
 */
export const encodeNotification = (method: string, params?: unknown): string =>
  JSON.stringify(params === undefined ? { method } : { method, params })

/**
 * Serializes a successful response to a server request.
 *
 * @category encoding
 * @since 0.1.0
 */
export const encodeResponse = (id: RequestId, result: unknown): string => JSON.stringify({ id, result })

/**
 * Serializes an error response to a server request.
 *
 * @category encoding
 * @since 0.1.0
 */
export const encodeError = (id: RequestId, error: ErrorObject): string => JSON.stringify({ id, error })

/**
 * A short, single-line preview of a message for logs: never the whole line
 * (lines can be 16 MiB).
 *
 * @category utils
 * @since 0.1.0
 */
export const preview = (line: string, max = 160): string =>
  line.length <= max ? line : `${line.slice(0, max)}... (${line.length} chars)`
