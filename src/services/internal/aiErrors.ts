/**
 * `CodexError` -> `AiError` for `CodexLanguageModel`. Pure: one table from the
 * reason (and, for a failed turn, codex's own `codexErrorInfo`) to the
 * effect/ai reason that means the same, so retry policies written against
 * `AiError` (`isRetryable`, `RateLimitError`, ...) work on Codex. `UnknownError`
 * is left for what has no better match (codex's `"other"`, a process that is
 * gone). The original reason travels in the AiError reason's `metadata.codex`.
 *
 * @internal
 */
import { Predicate, Schema } from "../../schema/internal/effect.ts"
import * as AiError from "effect/ai/AiError"
import * as CodexError from "../../schema/CodexError.ts"

/** The module name every AiError of the Codex language model carries. */
export const MODULE = "CodexLanguageModel"

type Json = Schema.MutableJson

const toJson = (value: unknown): Json | null => {
  if (value === undefined) return null
  try {
    return JSON.parse(JSON.stringify(value)) as Json
  } catch {
    return String(value)
  }
}

/** `metadata` of a reason: what codex said, as JSON. */
const metadataOf = (reason: CodexError.CodexErrorReason): { readonly codex: Json } => {
  const fields: Record<string, Json | null> = { reason: reason._tag, message: reason.message }
  switch (reason._tag) {
    case "TurnFailed":
      fields.threadId = reason.threadId
      fields.turnId = reason.turnId
      fields.codexErrorInfo = toJson(reason.codexErrorInfo)
      if (typeof reason.additionalDetails === "string") fields.additionalDetails = reason.additionalDetails
      break
    case "RpcError":
      fields.method = reason.method
      fields.code = reason.code
      break
    case "Overloaded":
    case "Timeout":
      fields.method = reason.method
      break
    case "ProcessExited":
      fields.exitCode = reason.exitCode ?? null
      fields.signal = reason.signal ?? null
      break
  }
  return { codex: fields as Json }
}

/** The HTTP status codex reports in a `codexErrorInfo` object variant, if any. */
const statusIn = (info: unknown, key: string): { readonly found: boolean; readonly status: number | undefined } => {
  if (!Predicate.isObject(info) || !(key in info)) return { found: false, status: undefined }
  const inner = (info as Record<string, unknown>)[key]
  const status = Predicate.isObject(inner) ? (inner as { httpStatusCode?: unknown }).httpStatusCode : undefined
  return { found: true, status: typeof status === "number" ? status : undefined }
}

const byStatus = (
  status: number | undefined,
  description: string,
  metadata: { readonly codex: Json },
  noStatus: () => AiError.AiErrorReason
): AiError.AiErrorReason => {
  if (status === undefined) return noStatus()
  if (status === 401) return new AiError.AuthenticationError({ kind: "InvalidKey", description, metadata })
  if (status === 403) return new AiError.AuthenticationError({ kind: "InsufficientPermissions", description, metadata })
  if (status === 429) return new AiError.RateLimitError({ metadata })
  if (status === 408) return new AiError.NetworkError({ reason: "TransportError", ...modelRequest, description })
  if (status >= 500) return new AiError.InternalProviderError({ description, metadata })
  if (status >= 400) return new AiError.InvalidRequestError({ description, metadata })
  return new AiError.UnknownError({ description, metadata })
}

// codex talks to the model provider itself; the request it made is not visible here.
const modelRequest = { method: "POST", url: "codex model provider" } as const

/** The AiError reason for a turn codex ended `failed`, from its `codexErrorInfo`. */
const turnFailed = (reason: CodexError.TurnFailed): AiError.AiErrorReason => {
  const metadata = metadataOf(reason)
  const description = reason.message
  const info = reason.codexErrorInfo
  switch (info) {
    case "usageLimitExceeded":
    case "sessionBudgetExceeded":
      return new AiError.QuotaExhaustedError({ metadata })
    case "rateLimitExceeded":
      return new AiError.RateLimitError({ metadata })
    case "unauthorized":
      return new AiError.AuthenticationError({ kind: "InvalidKey", description, metadata })
    case "serverOverloaded":
    case "internalServerError":
    case "flexUnavailable":
    case "policyCapacityUnavailable":
      return new AiError.InternalProviderError({ description, metadata })
    case "contextWindowExceeded":
      return new AiError.InvalidRequestError({
        parameter: "prompt",
        constraint: "exceeds the model's context window",
        description,
        metadata
      })
    case "modelNotFound":
      return new AiError.InvalidRequestError({ parameter: "model", constraint: "not found", description, metadata })
    case "badRequest":
    case "tooManyDenials":
      return new AiError.InvalidRequestError({ description, metadata })
    case "cyberPolicy":
    case "bioPolicy":
    case "misalignmentPolicyViolation":
    case "inferenceHookDenied":
      return new AiError.ContentPolicyError({ description, metadata })
  }
  const connection = statusIn(info, "httpConnectionFailed")
  if (connection.found) {
    return byStatus(connection.status, description, metadata, () =>
      new AiError.NetworkError({ reason: "TransportError", ...modelRequest, description }))
  }
  for (const key of ["responseStreamConnectionFailed", "responseStreamDisconnected"]) {
    const stream = statusIn(info, key)
    if (stream.found) {
      return byStatus(stream.status, description, metadata, () =>
        new AiError.NetworkError({ reason: "TransportError", ...modelRequest, description }))
    }
  }
  const attempts = statusIn(info, "responseTooManyFailedAttempts")
  if (attempts.found) {
    return byStatus(attempts.status, description, metadata, () => new AiError.InternalProviderError({ description, metadata }))
  }
  if (statusIn(info, "activeTurnNotSteerable").found) return new AiError.InvalidRequestError({ description, metadata })
  return new AiError.UnknownError({ description, metadata })
}

/**
 * The AiError reason that means what a CodexError's reason means.
 *
 * @internal
 */
export const reasonOf = (error: CodexError.CodexError): AiError.AiErrorReason => {
  const reason = error.reason
  const metadata = metadataOf(reason)
  switch (reason._tag) {
    case "TurnFailed":
      return turnFailed(reason)
    case "Overloaded":
      // the app-server's own queue is full (-32001): transient, like a provider under load
      return new AiError.InternalProviderError({ description: reason.message, metadata })
    case "Timeout":
      return new AiError.NetworkError({
        reason: "TransportError",
        method: reason.method,
        url: "codex app-server",
        description: reason.message
      })
    case "TransportError":
      return new AiError.NetworkError({
        reason: "TransportError",
        method: "send",
        url: "codex app-server",
        description: reason.message
      })
    case "OutputDecodeError":
      return new AiError.StructuredOutputError({ description: reason.description, responseText: reason.text, metadata })
    case "ProtocolError":
      return new AiError.InvalidResponseError({ description: reason.message, metadata })
    case "RpcError":
      return reason.code === -32603
        ? new AiError.InternalProviderError({ description: `${reason.method}: ${reason.message}`, metadata })
        : new AiError.InvalidRequestError({ description: `${reason.method}: ${reason.message}`, metadata })
    case "InvalidOptions":
      return new AiError.InvalidRequestError({ description: reason.message, metadata })
    case "SpawnError":
    case "ProcessExited":
    case "Closed":
      // the connection is gone for good: trying again on it cannot help
      return new AiError.UnknownError({ description: reason.message, metadata })
  }
}

/**
 * Wraps {@link reasonOf} in an AiError of `CodexLanguageModel.<method>`.
 *
 * @internal
 */
export const toAiError = (method: string, error: CodexError.CodexError): AiError.AiError =>
  AiError.make({ module: MODULE, method, reason: reasonOf(error) })
