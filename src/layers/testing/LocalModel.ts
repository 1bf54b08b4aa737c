/**
 * `LocalModel`: a scripted, OpenAI-Responses-compatible model server on 127.0.0.1 for hermetic runs of
 * the real `codex` binary (no API key, no network).
 *
 * Each `POST /v1/responses` the binary sends is answered by the next step of a script, as an SSE stream
 * (text, reasoning, tool calls) or as an HTTP / stream failure. Every request is recorded for assertions.
 * Past the end of the script a request fails (so a test's script stays exact) unless the `fallback` option
 * answers it: {@link assistant} is a deterministic responder that answers any prompt, runs a command or
 * edits a file when asked, and {@link layerAssistant} is a model made of it alone (demos, examples).
 * The layer also creates a fresh `CODEX_HOME` holding a `config.toml` and a model catalog that point codex
 * at the server, and `appServerOptions` carries the same settings for `AppServer.layer`.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { AppServer, Codex } from "effect-codex"
 * import { LocalModel } from "effect-codex/testing"
 *
 * // The real codex, pointed at a scripted model: no API key, no network.
 * const appServer = Layer.unwrap(Effect.gen(function*() {
 *   const model = yield* LocalModel.LocalModel
 *   return AppServer.layer(model.appServerOptions)
 * })).pipe(Layer.provide(LocalModel.layer([LocalModel.text("Hello!", { deltas: 3 })])))
 * ```
 *
 * @stability unstable
 * @since 0.1.0
 */
import { Context, Duration, Effect, Layer } from "../../schema/internal/effect.ts"
import type { Scope } from "../../schema/internal/effect.ts"
import * as Fs from "node:fs"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { decide, estimateTokens, wordDeltas } from "./internal/localModelAssistant.ts"
import type { InputItem, RequestBody } from "./internal/localModelWire.ts"
import { makeCatalog } from "./internal/localModelCatalog.ts"
import { encodeDocument } from "../../schema/internal/toml.ts"

// =============================================================================
// Recorded requests
// =============================================================================



export type { InputItem, RequestBody } from "./internal/localModelWire.ts"

/**
 * A request the server received, in arrival order.
 *
 * @since 0.1.0
 * @category models
 */
export interface RecordedRequest {
  /** 0-based position among all requests this server received. */
  readonly index: number
  readonly method: string
  /** Path and query, e.g. `/v1/responses`. */
  readonly path: string
  /** Lower-cased header names; `authorization` and `cookie` are left out. */
  readonly headers: Readonly<Record<string, string>>
  /** The parsed JSON body (`{}` when the body is not a JSON object). */
  readonly body: RequestBody
  readonly rawBody: string
  /**
   * `true` when the script had no step left for it: it was answered by the `fallback` option, or (without
   * one) with an error naming its index.
   */
  readonly unscripted: boolean
}

// =============================================================================
// Script steps
// =============================================================================

/**
 * Token usage reported in `response.completed` (surfaces as `thread/tokenUsage/updated`).
 *
 * @since 0.1.0
 * @category models
 */
export interface Usage {
  readonly input: number
  readonly cached?: number
  readonly output: number
  readonly reasoning?: number
}

/**
 * One SSE frame: an event object (sent as `event: <type>` + `data: <json>`) or a raw string written as is.
 *
 * @since 0.1.0
 * @category models
 */
export type Frame = { readonly type: string; readonly [key: string]: unknown } | string

/**
 * What a step needs while it is rendered: fresh ids that are unique for the server's lifetime.
 *
 * @since 0.1.0
 * @category models
 */
export interface RenderContext {
  readonly id: (prefix: string) => string
}

/**
 * A step answered with `200 text/event-stream`: `response.created`, the output items' frames, then
 * `response.completed` (`end: "complete"`), nothing (`"cut"`: the stream just ends), or the stream
 * stays open until the client goes away or the server closes (`"hang"`).
 *
 * @since 0.1.0
 * @category models
 */
export interface SseStep {
  readonly _tag: "SseStep"
  readonly items: ReadonlyArray<(ctx: RenderContext) => ReadonlyArray<Frame>>
  readonly end: "complete" | "cut" | "hang"
  readonly usage: Usage | undefined
  /** Milliseconds to wait before each frame. */
  readonly chunkDelay: number
}

/**
 * A step answered with a plain HTTP response (no stream).
 *
 * @since 0.1.0
 * @category models
 */
export interface HttpStep {
  readonly _tag: "HttpStep"
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

/**
 * One scripted answer: consumed by one `POST /v1/responses`, in order. A function computes the answer
 * from the request (e.g. echo the user's text, or branch on the tool outputs it carries).
 *
 * @since 0.1.0
 * @category models
 */
export type Step = SseStep | HttpStep | ((request: RecordedRequest) => Step)

const sseStep = (items: SseStep["items"], end: SseStep["end"] = "complete", usage?: Usage): SseStep => ({
  _tag: "SseStep",
  items,
  end,
  usage,
  chunkDelay: 0
})

const splitText = (text: string, parts: number): Array<string> => {
  const n = Math.max(1, Math.min(Math.floor(parts), text.length))
  const size = Math.ceil(text.length / n)
  const out: Array<string> = []
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size))
  return out.length === 0 ? [""] : out
}

/**
 * Options of {@link text}.
 *
 * @since 0.1.0
 * @category models
 */
export interface TextOptions {
  /** How the text streams: a number of roughly equal chunks, or the chunks themselves. Default: 1. */
  readonly deltas?: number | ReadonlyArray<string> | undefined
  readonly usage?: Usage | undefined
  /** The message phase (`"commentary"` or `"final_answer"`); codex copies it to the agentMessage item. */
  readonly phase?: "commentary" | "final_answer" | undefined
  /** Item id (default: a fresh `msg_<n>`); codex uses it as the agentMessage item id. */
  readonly id?: string | undefined
}

/**
 * An assistant message: `output_item.added`, one `output_text.delta` per chunk, `output_item.done`,
 * `response.completed`. The binary only surfaces deltas (`item/agentMessage/delta`) after `added`,
 * which is why it is always sent.
 *
 * @example
 * ```ts
 * import { LocalModel } from "effect-codex/testing"
 *
 * LocalModel.text("Hello from the mock model!", { deltas: 4, usage: { input: 1234, cached: 1000, output: 56 } })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const text = (text: string, options: TextOptions = {}): SseStep => {
  const chunks = typeof options.deltas === "object" ? options.deltas : splitText(text, options.deltas ?? 1)
  return sseStep([(ctx) => {
    const id = options.id ?? ctx.id("msg")
    const phase = options.phase === undefined ? {} : { phase: options.phase }
    return [
      {
        type: "response.output_item.added",
        item: { type: "message", role: "assistant", id, status: "in_progress", content: [], ...phase }
      },
      ...chunks.map((delta): Frame => ({
        type: "response.output_text.delta",
        item_id: id,
        content_index: 0,
        delta
      })),
      {
        type: "response.output_item.done",
        item: {
          type: "message",
          role: "assistant",
          id,
          status: "completed",
          content: [{ type: "output_text", text, annotations: [] }],
          ...phase
        }
      }
    ]
  }], "complete", options.usage)
}

/**
 * A message whose text is `JSON.stringify(value)`: the answer to a turn with an `outputSchema`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const json = (value: unknown, options: TextOptions = {}): SseStep => text(JSON.stringify(value), options)

/**
 * A reasoning item: summary text (streamed as `reasoning_summary_text.delta` chunks, surfacing as
 * `item/reasoning/summaryTextDelta`) and optional raw reasoning content. Combine it with a message
 * through {@link response}.
 *
 * @since 0.1.0
 * @category constructors
 */
export const reasoning = (
  summary: string,
  options: { readonly deltas?: number | ReadonlyArray<string> | undefined; readonly content?: string | undefined } = {}
): SseStep => {
  const chunks = typeof options.deltas === "object" ? options.deltas : splitText(summary, options.deltas ?? 1)
  return sseStep([(ctx) => {
    const id = ctx.id("rs")
    return [
      { type: "response.output_item.added", item: { type: "reasoning", id, summary: [] } },
      { type: "response.reasoning_summary_part.added", item_id: id, summary_index: 0, part: { type: "summary_text", text: "" } },
      ...chunks.map((delta): Frame => ({ type: "response.reasoning_summary_text.delta", item_id: id, summary_index: 0, delta })),
      {
        type: "response.output_item.done",
        item: {
          type: "reasoning",
          id,
          summary: [{ type: "summary_text", text: summary }],
          ...(options.content === undefined ? {} : { content: [{ type: "reasoning_text", text: options.content }] }),
          encrypted_content: null
        }
      }
    ]
  }])
}

const functionCall = (
  name: string,
  args: unknown,
  options: { readonly callId?: string | undefined; readonly namespace?: string | undefined }
): SseStep =>
  sseStep([(ctx) => [{
    type: "response.output_item.done",
    item: {
      type: "function_call",
      id: ctx.id("fc"),
      status: "completed",
      name,
      ...(options.namespace === undefined ? {} : { namespace: options.namespace }),
      arguments: typeof args === "string" ? args : JSON.stringify(args),
      call_id: options.callId ?? ctx.id("call")
    }
  }]])

/**
 * Options of {@link shell}.
 *
 * @since 0.1.0
 * @category models
 */
export interface ShellOptions {
  /** Shown to the user as the approval `reason`. */
  readonly justification?: string | undefined
  /**
   * Ask to run outside the sandbox (`sandbox_permissions: "require_escalated"`): with
   * `approvalPolicy: "on-request"` this is what triggers `item/commandExecution/requestApproval`.
   * Without it the command runs inside the sandbox and no approval is asked.
   */
  readonly escalate?: boolean | undefined
  readonly workdir?: string | undefined
  readonly yieldTimeMs?: number | undefined
  /** Default: a fresh `call_<n>`; codex uses it as the commandExecution item id. */
  readonly callId?: string | undefined
}

/**
 * The model runs a shell command: a `function_call` to codex's `exec_command` tool.
 *
 * @example
 * ```ts
 * import { LocalModel } from "effect-codex/testing"
 *
 * LocalModel.shell("touch marker.txt", { escalate: true, justification: "Create marker.txt?" })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const shell = (cmd: string, options: ShellOptions = {}): SseStep =>
  functionCall("exec_command", {
    cmd,
    ...(options.workdir === undefined ? {} : { workdir: options.workdir }),
    ...(options.yieldTimeMs === undefined ? {} : { yield_time_ms: options.yieldTimeMs }),
    ...(options.escalate ? { sandbox_permissions: "require_escalated" } : {}),
    ...(options.justification === undefined ? {} : { justification: options.justification })
  }, options)

/**
 * The model edits files with codex's freeform `apply_patch` tool (a `custom_tool_call`; the tool exists
 * because the catalog written by `LocalModel` asks for it). With `approvalPolicy: "on-request"` this
 * triggers `item/fileChange/requestApproval`.
 *
 * @example
 * ```ts
 * import { LocalModel } from "effect-codex/testing"
 *
 * LocalModel.applyPatch("*** Begin Patch\n*** Add File: hello.txt\n+hello\n*** End Patch\n")
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const applyPatch = (patch: string, options: { readonly callId?: string | undefined } = {}): SseStep =>
  sseStep([(ctx) => [{
    type: "response.output_item.done",
    item: {
      type: "custom_tool_call",
      id: ctx.id("ctc"),
      status: "completed",
      call_id: options.callId ?? ctx.id("call"),
      name: "apply_patch",
      input: patch
    }
  }]])

/**
 * The model calls a tool by name (a `function_call`), e.g. a client dynamic tool registered with
 * `thread/start.dynamicTools`, which codex forwards as the server request `item/tool/call`.
 * `args` is JSON-encoded unless it is already a string.
 *
 * @since 0.1.0
 * @category constructors
 */
export const toolCall = (
  name: string,
  args: unknown,
  options: { readonly namespace?: string | undefined; readonly callId?: string | undefined } = {}
): SseStep => functionCall(name, args, options)

/**
 * Several outputs in one response, e.g. reasoning, a commentary message and a tool call. The stream ends
 * like the last step unless one of them cuts or hangs; `usage` defaults to the last one given.
 *
 * @example
 * ```ts
 * import { LocalModel } from "effect-codex/testing"
 *
 * LocalModel.response([LocalModel.reasoning("Plan"), LocalModel.text("Done.")], { usage: { input: 10, output: 2 } })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const response = (
  steps: ReadonlyArray<SseStep>,
  options: { readonly usage?: Usage | undefined; readonly chunkDelay?: Duration.Input | undefined } = {}
): SseStep => ({
  _tag: "SseStep",
  items: steps.flatMap((s) => s.items),
  end: steps.some((s) => s.end === "hang") ? "hang" : steps.some((s) => s.end === "cut") ? "cut" : "complete",
  usage: options.usage ?? steps.findLast((s) => s.usage !== undefined)?.usage,
  chunkDelay: options.chunkDelay === undefined
    ? Math.max(0, ...steps.map((s) => s.chunkDelay))
    : Duration.toMillis(options.chunkDelay)
})

/**
 * The same stream with a pause before each frame, e.g. to interrupt or steer a turn mid-stream.
 *
 * @example
 * ```ts
 * import { LocalModel } from "effect-codex/testing"
 *
 * LocalModel.slow(LocalModel.text("one two three", { deltas: 3 }), { chunkDelay: "100 millis" })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const slow = (step: SseStep, options: { readonly chunkDelay: Duration.Input }): SseStep => ({
  ...step,
  chunkDelay: Duration.toMillis(options.chunkDelay)
})

/**
 * A stream that never finishes: it sends `step`'s output frames (none by default) without
 * `response.completed`, then stays open until the client disconnects (e.g. `turn/interrupt`) or the
 * server closes. For interrupt and steer tests.
 *
 * @since 0.1.0
 * @category constructors
 */
export const hang = (step?: SseStep): SseStep => ({ ...(step ?? sseStep([])), end: "hang" })

/**
 * A stream cut before `response.completed` (default: a partial message "partial"). Codex fails the turn
 * with `codexErrorInfo: "other"`, "stream disconnected before completion: stream closed before
 * response.completed" (with `stream_max_retries: 0`; otherwise it reconnects and re-requests).
 *
 * @since 0.1.0
 * @category constructors
 */
export const truncated = (step?: SseStep): SseStep => ({ ...(step ?? text("partial")), end: "cut" })

/**
 * An SSE frame that is not JSON, then the stream ends. Codex: `"other"`, "stream disconnected before
 * completion: stream closed before response.completed".
 *
 * @since 0.1.0
 * @category constructors
 */
export const malformed = (): SseStep => sseStep([() => ["event: response.output_text.delta\ndata: {not json\n\n"]], "cut")

/**
 * A `response.failed` event. Codex: `codexErrorInfo: "other"`, message "stream disconnected before
 * completion: <message>". (`code: "context_length_exceeded"` / `"insufficient_quota"` map to other
 * errors; see {@link contextWindowExceeded} and {@link quotaExceeded}.)
 *
 * @since 0.1.0
 * @category constructors
 */
export const responseFailed = (message: string, options: { readonly code?: string | undefined } = {}): SseStep =>
  sseStep([(ctx) => [{
    type: "response.failed",
    response: { id: ctx.id("resp"), status: "failed", error: { code: options.code ?? "server_error", message } }
  }]], "cut")

/**
 * A `response.incomplete` event. Codex: `"other"`, "Incomplete response returned, reason: <reason>".
 *
 * @since 0.1.0
 * @category constructors
 */
export const incomplete = (reason = "max_output_tokens"): SseStep =>
  sseStep([(ctx) => [{
    type: "response.incomplete",
    response: { id: ctx.id("resp"), status: "incomplete", incomplete_details: { reason } }
  }]], "cut")

/**
 * An SSE `error` event, then the stream ends. Codex 0.169 ignores `error` events on the HTTP transport,
 * so the message does not surface: the turn fails with `"other"`, "stream disconnected before
 * completion: stream closed before response.completed".
 *
 * @since 0.1.0
 * @category constructors
 */
export const sseError = (message: string): SseStep =>
  sseStep([() => [{ type: "error", code: "server_error", message, param: null }]], "cut")

/**
 * `response.failed` with `code: "context_length_exceeded"`. Codex: `codexErrorInfo:
 * "contextWindowExceeded"`, and it reports the context as full, so the thread's NEXT turn first runs an
 * automatic compaction: script one extra step (the summary, e.g. `text("summary")`) before that turn's.
 *
 * @since 0.1.0
 * @category constructors
 */
export const contextWindowExceeded = (): SseStep =>
  responseFailed("Your input exceeds the context window of this model.", { code: "context_length_exceeded" })

/**
 * A plain HTTP answer with `status` and `body` (an object is sent as JSON). Codex, with retries off:
 * 400 and other 4xx -> `"other"` with the body as message; 401 -> `{ httpConnectionFailed:
 * { httpStatusCode: 401 } }`; 429 -> `{ responseTooManyFailedAttempts: { httpStatusCode: 429 } }`;
 * 5xx -> `"internalServerError"` (body ignored).
 *
 * @since 0.1.0
 * @category constructors
 */
export const httpError = (
  status: number,
  body?: unknown,
  options: { readonly headers?: Readonly<Record<string, string>> | undefined } = {}
): HttpStep => {
  const isText = typeof body === "string"
  return {
    _tag: "HttpStep",
    status,
    headers: { "content-type": isText ? "text/plain" : "application/json", ...options.headers },
    body: isText
      ? body
      : JSON.stringify(body ?? { error: { type: "invalid_request_error", message: `LocalModel: HTTP ${status}` } })
  }
}

/**
 * HTTP 429 `rate_limit_exceeded`. Codex: `{ responseTooManyFailedAttempts: { httpStatusCode: 429 } }`,
 * "exceeded retry limit, last status: 429 Too Many Requests" (codex does not retry 429).
 *
 * @since 0.1.0
 * @category constructors
 */
export const rateLimited = (): HttpStep =>
  httpError(429, { error: { type: "rate_limit_exceeded", code: "rate_limit_exceeded", message: "Rate limited (LocalModel)" } })

/**
 * HTTP 500. Codex: `codexErrorInfo: "internalServerError"` with a generic "high demand" message (the body
 * is not shown). With `requestMaxRetries > 0` codex retries it silently.
 *
 * @since 0.1.0
 * @category constructors
 */
export const serverError = (): HttpStep =>
  httpError(500, { error: { type: "server_error", message: "Internal server error (LocalModel)" } })

/**
 * HTTP 401. Codex: `{ httpConnectionFailed: { httpStatusCode: 401 } }`, "unexpected status 401
 * Unauthorized: Unauthorized (LocalModel), url: ...".
 *
 * @since 0.1.0
 * @category constructors
 */
export const unauthorized = (): HttpStep =>
  httpError(401, { error: { type: "invalid_request_error", code: "invalid_api_key", message: "Unauthorized (LocalModel)" } })

/**
 * HTTP 429 `insufficient_quota`. Codex: `codexErrorInfo: "usageLimitExceeded"`, "Quota exceeded. Check
 * your plan and billing details." (a `response.failed` with that code has the same effect).
 *
 * @since 0.1.0
 * @category constructors
 */
export const quotaExceeded = (): HttpStep =>
  httpError(429, {
    error: { type: "insufficient_quota", code: "insufficient_quota", message: "You exceeded your current quota (LocalModel)" }
  })

// =============================================================================
// The built-in responder
// =============================================================================

/**
 * Options of {@link assistant} (and of {@link layerAssistant}).
 *
 * @since 0.1.0
 * @category models
 */
export interface AssistantOptions {
  /** A pause before each SSE frame, e.g. `"30 millis"` to watch the answer stream word by word. Default: none. */
  readonly chunkDelay?: Duration.Input | undefined
  /** What a "run" prompt runs when the prompt quotes no command in backticks. Default: `"ls"`. */
  readonly command?: string | undefined
  /** The file a "fix" prompt writes, relative to the thread's cwd. Default: `"LOCALMODEL_NOTES.md"`. */
  readonly file?: string | undefined
  /** A reasoning item (summary deltas) before each output. Default: `true`. */
  readonly reasoning?: boolean | undefined
}

/**
 * A deterministic stand-in for a model: a dynamic step that answers any request from what the request
 * carries (same request, same answer), so it can serve any number of turns. Use it as the `fallback` of
 * {@link layer} / {@link make}, or alone through {@link layerAssistant}.
 *
 * Every response streams like {@link text} (`output_item.added`, one `output_text.delta` per word, at
 * most 48, `output_item.done`, `response.completed` with a usage estimate of 4 characters a token),
 * after a reasoning summary (unless `reasoning: false`). What it does depends on the last prompt the user typed (codex's own context
 * messages are skipped), matched as whole words, in any case:
 *
 * - **"run" or "command"**: an `exec_command` call with `sandbox_permissions: "require_escalated"`
 *   running the first `backticked` span of the prompt, else `command` (default `ls`). Under
 *   `approvalPolicy: "on-request"` codex asks for approval (`item/commandExecution/requestApproval`);
 *   under `"never"` codex refuses the escalation and the responder runs the command inside the sandbox.
 * - **"fix", "edit" or "change"**: an `apply_patch` call that creates `file` (default
 *   `LOCALMODEL_NOTES.md`) with the prompt as a bullet, or appends the bullet when this thread wrote the
 *   file before: a `fileChange` item, a `turn/diff/updated` once written, and an approval under
 *   `"on-request"` with a read-only sandbox. Both kinds of words: the command first, then the patch.
 * - Then, on the request that carries the `function_call_output` / `custom_tool_call_output`, a final
 *   answer that says what happened (exit code and output, declined, rejected, the file written).
 * - A turn with an `outputSchema`: the final answer is a JSON value built from the schema (first enum
 *   member, `0`, `true`, strings naming their key).
 * - Anything else: one message quoting the prompt, its position in the thread and the prompt before it
 *   (on a thread's first message, a line saying what the trigger words do instead).
 *
 * @example
 * ```ts
 * import { LocalModel } from "effect-codex/testing"
 *
 * // Exact for the first turn, then keeps answering.
 * const model = LocalModel.layer([LocalModel.text("Hello!")], { fallback: LocalModel.assistant() })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const assistant = (options: AssistantOptions = {}): Step => {
  const config = { command: options.command ?? "ls", file: options.file ?? "LOCALMODEL_NOTES.md" }
  return (request) => {
    const decision = decide(request.body, config)
    const thinking = options.reasoning === false ? [] : [reasoning(decision.thought, { deltas: wordDeltas(decision.thought) })]
    const thoughtTokens = options.reasoning === false ? 0 : estimateTokens(decision.thought)
    const [output, written] = decision._tag === "Command"
      ? [
        shell(decision.cmd, {
          escalate: decision.escalate,
          ...(decision.escalate ? { justification: decision.justification } : {})
        }),
        decision.cmd
      ]
      : decision._tag === "Patch"
      ? [applyPatch(decision.patch), decision.patch]
      : [text(decision.text, { deltas: wordDeltas(decision.text), phase: "final_answer" }), decision.text]
    return response([...thinking, output], {
      usage: {
        input: estimateTokens(request.rawBody),
        output: estimateTokens(written) + thoughtTokens,
        reasoning: thoughtTokens
      },
      ...(options.chunkDelay === undefined ? {} : { chunkDelay: options.chunkDelay })
    })
  }
}

// =============================================================================
// Reading recorded requests
// =============================================================================

const contentText = (item: InputItem): string =>
  Array.isArray(item.content)
    ? item.content
      .map((c: { readonly text?: unknown }) => (typeof c?.text === "string" ? c.text : ""))
      .join("")
    : ""

/**
 * Every message a request carries, as `"role: text"`, in order: the conversation the model saw
 * (history, instructions, the new user message).
 *
 * @since 0.1.0
 * @category constructors
 */
export const messages = (request: RecordedRequest): ReadonlyArray<string> =>
  (request.body.input ?? []).flatMap((item) =>
    item.type === "message" && Array.isArray(item.content) ? [`${item.role}: ${contentText(item)}`] : []
  )

/**
 * The text of the last `user` message of a request: for a turn's first request, what the user typed.
 *
 * @since 0.1.0
 * @category constructors
 */
export const lastUserText = (request: RecordedRequest): string | undefined => {
  const last = (request.body.input ?? []).findLast((i) => i.type === "message" && i.role === "user")
  return last === undefined ? undefined : contentText(last)
}

/**
 * The tool results a request carries back to the model (`function_call_output` and
 * `custom_tool_call_output` items), in order.
 *
 * @since 0.1.0
 * @category constructors
 */
export const toolOutputs = (
  request: RecordedRequest
): ReadonlyArray<{ readonly type: string; readonly callId: string; readonly output: string }> =>
  (request.body.input ?? [])
    .filter((i) => i.type === "function_call_output" || i.type === "custom_tool_call_output")
    .map((i) => ({
      type: i.type,
      callId: String(i.call_id),
      output: typeof i.output === "string" ? i.output : JSON.stringify(i.output)
    }))

/**
 * The names of the tools offered to the model in a request (`exec_command`, `apply_patch`, dynamic tools...).
 *
 * @since 0.1.0
 * @category constructors
 */
export const toolNames = (request: RecordedRequest): ReadonlyArray<string> =>
  (request.body.tools ?? []).flatMap((t) => (typeof t.name === "string" ? [t.name] : []))

// =============================================================================
// Service
// =============================================================================

/**
 * The options that point a real codex at the server: for `AppServer.layer(model.appServerOptions)`.
 *
 * @since 0.1.0
 * @category models
 */
export interface AppServerOptions {
  readonly codexHome: string
  /** Config overrides (the same settings as `codexHome/config.toml`), for repeated `-c key=value`. */
  readonly config: Record<string, unknown>
  /** `CODEX_HOME`, for clients that only pass environment variables. */
  readonly env: Record<string, string>
}

/**
 * The running server.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Base URL ending in `/v1`, e.g. `http://127.0.0.1:38123/v1`. */
  readonly url: string
  readonly port: number
  /** A fresh temporary `CODEX_HOME` (with `config.toml` and the catalog), removed when the scope closes. */
  readonly codexHome: string
  readonly appServerOptions: AppServerOptions
  /** Every request received so far, in order. */
  readonly requests: Effect.Effect<ReadonlyArray<RecordedRequest>>
  /** Waits until request `index` (0-based) has arrived, e.g. to interrupt a turn once its model call started. */
  readonly awaitRequest: (index: number) => Effect.Effect<RecordedRequest>
  /** Appends steps to the script. */
  readonly push: (...steps: ReadonlyArray<Step>) => Effect.Effect<void>
  /** Steps not consumed yet. */
  readonly remaining: Effect.Effect<number>
}

/**
 * The `LocalModel` service key.
 *
 * @since 0.1.0
 * @category models
 */
export class LocalModel extends Context.Service<LocalModel, Service>()("effect-codex/LocalModel") {}

/**
 * Options of {@link make} / {@link layer}.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The model slug codex asks for (and the catalog defines). Default: `"mock-model"`. */
  readonly model?: string | undefined
  /**
   * Default: `"never"`. `"on-request"` makes escalated commands and patches ask for approval.
   * (`"untrusted"` in codex config aborts startup; pass it per thread with `thread/start` instead.)
   */
  readonly approvalPolicy?: "never" | "on-request" | undefined
  /** Default: `"read-only"`. */
  readonly sandboxMode?: "read-only" | "workspace-write" | "danger-full-access" | undefined
  /** codex's `request_max_retries` for this provider. Default 0, so HTTP failures surface at once. */
  readonly requestMaxRetries?: number | undefined
  /** codex's `stream_max_retries`. Default 0, so stream failures surface at once. */
  readonly streamMaxRetries?: number | undefined
  /** The model's context window in the catalog. Default 128000 (codex reports 95% of it). */
  readonly contextWindow?: number | undefined
  /** More codex config, deep-merged over the generated settings (e.g. `{ features: { x: true } }`). */
  readonly config?: Record<string, unknown> | undefined
  /** Default 0: a free port. */
  readonly port?: number | undefined
  /**
   * What answers a request when the script, including steps pushed later, has no step left. Default:
   * none, so such a request fails with HTTP 400 "LocalModel: no scripted response for request #n" and a
   * test's script stays exact. {@link assistant} keeps serving; any other step (often a function of the
   * request) answers every such request.
   */
  readonly fallback?: Step | undefined
}

const isPlainObject = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

const deepMerge = (base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> => {
  const out: Record<string, unknown> = { ...base }
  for (const [k, v] of Object.entries(over)) {
    const prev = out[k]
    out[k] = isPlainObject(prev) && isPlainObject(v) ? deepMerge(prev, v) : v
  }
  return out
}

// The provider id the protocol notes used; it shows up as `thread.modelProvider`.
const PROVIDER_ID = "mock"
const MAX_DYNAMIC_DEPTH = 32

/**
 * Starts the server on 127.0.0.1, creates `CODEX_HOME`, and returns the service. Both are released when
 * the scope closes (open streams are destroyed, so a hanging stream cannot block teardown).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { LocalModel } from "effect-codex/testing"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const model = yield* LocalModel.make([LocalModel.text("hi")])
 *   // spawn codex with CODEX_HOME = model.codexHome, run a turn...
 *   const [request] = yield* model.requests
 * }))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = Effect.fn("LocalModel.make")(
  function*(script: ReadonlyArray<Step>, options: Options = {}): Effect.fn.Return<Service, never, Scope.Scope> {
    const queue: Array<Step> = [...script]
    const recorded: Array<RecordedRequest> = []
    const waiters = new Set<{ readonly index: number; readonly resume: (r: RecordedRequest) => void }>()
    const timers = new Set<NodeJS.Timeout>()
    let nextId = 0
    const ctx: RenderContext = { id: (prefix) => `${prefix}_${String(++nextId).padStart(4, "0")}` }

    // Created before the server so that it is removed after the server is closed.
    const codexHome = yield* Effect.acquireRelease(
      Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-codex-home-"))),
      (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 }))
    )

    const record = (req: Http.IncomingMessage, rawBody: string, unscripted: boolean): RecordedRequest => {
      const headers: Record<string, string> = {}
      for (const [k, v] of Object.entries(req.headers)) {
        if (k !== "authorization" && k !== "cookie" && v !== undefined) headers[k] = Array.isArray(v) ? v.join(", ") : v
      }
      let body: RequestBody = {}
      try {
        const parsed: unknown = JSON.parse(rawBody)
        if (isPlainObject(parsed)) body = parsed
      } catch {
        // Not JSON: keep `rawBody` only.
      }
      const request: RecordedRequest = {
        index: recorded.length,
        method: req.method ?? "",
        path: req.url ?? "",
        headers,
        body,
        rawBody,
        unscripted
      }
      recorded.push(request)
      return request
    }

    const notifyWaiters = (request: RecordedRequest) => {
      for (const w of waiters) {
        if (w.index === request.index) {
          waiters.delete(w)
          w.resume(request)
        }
      }
    }

    const sendHttp = (res: Http.ServerResponse, step: HttpStep) => {
      res.writeHead(step.status, step.headers)
      res.end(step.body)
    }

    const sendSse = (res: Http.ServerResponse, step: SseStep) => {
      const responseId = ctx.id("resp")
      const frames: Array<Frame> = [
        { type: "response.created", response: { id: responseId, status: "in_progress" } },
        ...step.items.flatMap((item) => item(ctx))
      ]
      if (step.end === "complete") {
        frames.push({
          type: "response.completed",
          response: {
            id: responseId,
            status: "completed",
            ...(step.usage === undefined ? {} : { usage: encodeUsage(step.usage) })
          }
        })
      }
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" })
      res.flushHeaders()
      const finish = () => {
        if (step.end !== "hang") res.end()
      }
      // undelayed: every frame in one loop (a frame per call would nest a call per frame)
      if (step.chunkDelay <= 0) {
        for (const frame of frames) {
          if (res.destroyed) return
          res.write(encodeFrame(frame))
        }
        return finish()
      }
      let i = 0
      const next = () => {
        if (res.destroyed) return
        if (i === frames.length) return finish()
        res.write(encodeFrame(frames[i++]!))
        const timer = setTimeout(() => {
          timers.delete(timer)
          next()
        }, step.chunkDelay)
        timers.add(timer)
      }
      next()
    }

    const answer = (res: Http.ServerResponse, request: RecordedRequest, step: Step) => {
      let current = step
      for (let depth = 0; typeof current === "function"; depth++) {
        if (depth >= MAX_DYNAMIC_DEPTH) {
          return sendHttp(res, httpError(400, `LocalModel: step for request #${request.index} nests too deeply`))
        }
        try {
          current = current(request)
        } catch (e) {
          return sendHttp(res, httpError(400, `LocalModel: step for request #${request.index} threw: ${String(e)}`))
        }
      }
      return current._tag === "HttpStep" ? sendHttp(res, current) : sendSse(res, current)
    }

    const handler = (req: Http.IncomingMessage, res: Http.ServerResponse) => {
      const chunks: Array<Buffer> = []
      req.on("data", (c: Buffer) => chunks.push(c))
      req.on("end", () => {
        const rawBody = Buffer.concat(chunks).toString("utf8")
        const path = (req.url ?? "").split("?")[0] ?? ""
        if (req.method !== "POST" || !path.endsWith("/responses")) {
          const request = record(req, rawBody, true)
          notifyWaiters(request)
          return sendHttp(res, httpError(404, `LocalModel: no route for ${req.method} ${req.url} (request #${request.index})`))
        }
        const scripted = queue.shift()
        const request = record(req, rawBody, scripted === undefined)
        notifyWaiters(request)
        const step = scripted ?? options.fallback
        // 400, not 500: codex shows a 4xx body as the turn's error message, but replaces a 5xx body by
        // a generic "high demand" text, which would hide why the test failed.
        if (step === undefined) {
          return sendHttp(res, httpError(400, `LocalModel: no scripted response for request #${request.index}`))
        }
        answer(res, request, step)
      })
    }

    const server = yield* Effect.acquireRelease(
      Effect.callback<Http.Server>((resume) => {
        const server = Http.createServer(handler)
        server.once("error", (e) => resume(Effect.die(e)))
        server.listen(options.port ?? 0, "127.0.0.1", () => resume(Effect.succeed(server)))
      }),
      (server) =>
        Effect.callback<void>((resume) => {
          for (const t of timers) clearTimeout(t)
          timers.clear()
          server.close(() => resume(Effect.void))
          // Destroys open (e.g. hanging SSE) connections so `close` completes now.
          server.closeAllConnections()
        })
    )

    const port = (server.address() as AddressInfo).port
    const url = `http://127.0.0.1:${port}/v1`
    const model = options.model ?? "mock-model"
    const catalogPath = Path.join(codexHome, "model_catalog.json")
    const config = deepMerge({
      model,
      model_provider: PROVIDER_ID,
      approval_policy: options.approvalPolicy ?? "never",
      sandbox_mode: options.sandboxMode ?? "read-only",
      model_catalog_json: catalogPath,
      // Otherwise startup syncs curated plugins from github.com / chatgpt.com.
      features: { plugins: false },
      // Otherwise codex resolves its metrics host (ab.chatgpt.com): keep every byte on loopback.
      analytics: { enabled: false },
      model_providers: {
        [PROVIDER_ID]: {
          name: "LocalModel",
          base_url: url,
          wire_api: "responses",
          request_max_retries: options.requestMaxRetries ?? 0,
          stream_max_retries: options.streamMaxRetries ?? 0
        }
      }
    }, options.config ?? {})

    yield* Effect.sync(() => {
      Fs.writeFileSync(
        catalogPath,
        JSON.stringify(makeCatalog({ slug: model, contextWindow: options.contextWindow ?? 128_000 }), null, 2)
      )
      Fs.writeFileSync(Path.join(codexHome, "config.toml"), encodeDocument(config))
    })

    return LocalModel.of({
      url,
      port,
      codexHome,
      appServerOptions: { codexHome, config, env: { CODEX_HOME: codexHome } },
      requests: Effect.sync(() => recorded.slice()),
      awaitRequest: (index) =>
        Effect.callback<RecordedRequest>((resume) => {
          const existing = recorded[index]
          if (existing !== undefined) return resume(Effect.succeed(existing))
          const waiter = { index, resume: (r: RecordedRequest) => resume(Effect.succeed(r)) }
          waiters.add(waiter)
          return Effect.sync(() => waiters.delete(waiter))
        }),
      push: (...steps) => Effect.sync(() => void queue.push(...steps)),
      remaining: Effect.sync(() => queue.length)
    })
  }
)

const encodeUsage = (u: Usage) => ({
  input_tokens: u.input,
  input_tokens_details: { cached_tokens: u.cached ?? 0 },
  output_tokens: u.output,
  output_tokens_details: { reasoning_tokens: u.reasoning ?? 0 },
  total_tokens: u.input + u.output
})

const encodeFrame = (frame: Frame): string =>
  typeof frame === "string" ? frame : `event: ${frame.type}\ndata: ${JSON.stringify(frame)}\n\n`

/**
 * A layer providing {@link LocalModel}: the server and its `CODEX_HOME` live as long as the layer.
 *
 * @example
 * ```ts
 * import { LocalModel } from "effect-codex/testing"
 *
 * const model = LocalModel.layer([
 *   LocalModel.shell("touch marker.txt", { escalate: true }),
 *   LocalModel.text("Created it.")
 * ], { approvalPolicy: "on-request" })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const layer = (script: ReadonlyArray<Step>, options?: Options): Layer.Layer<LocalModel> =>
  Layer.effect(LocalModel, make(script, options))

/**
 * Options of {@link layerAssistant}: the server's {@link Options} (but `fallback`) and the
 * {@link AssistantOptions} of its responder.
 *
 * @since 0.1.0
 * @category models
 */
export interface AssistantLayerOptions extends Omit<Options, "fallback">, AssistantOptions {}

/**
 * A model with no script that answers every request with {@link assistant}: the embedded model of
 * demos and examples run without an API key. Steps pushed with {@link push} still go first.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { AppServer } from "effect-codex"
 * import { LocalModel } from "effect-codex/testing"
 *
 * // "run" prompts ask for approval; answers stream word by word.
 * const model = LocalModel.layerAssistant({ approvalPolicy: "on-request", chunkDelay: "20 millis" })
 * const appServer = Layer.unwrap(LocalModel.LocalModel.use((m) => Effect.succeed(AppServer.layer(m.appServerOptions))))
 *   .pipe(Layer.provide(model))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const layerAssistant = (options: AssistantLayerOptions = {}): Layer.Layer<LocalModel> => {
  const { chunkDelay, command, file, reasoning: withReasoning, ...server } = options
  return layer([], {
    ...server,
    fallback: assistant({ chunkDelay, command, file, reasoning: withReasoning })
  })
}

// =============================================================================
// Accessors
// =============================================================================

/**
 * Every request received so far (accessor for {@link Service.requests}).
 *
 * @since 0.1.0
 * @category constants
 */
export const requests: Effect.Effect<ReadonlyArray<RecordedRequest>, never, LocalModel> = LocalModel.use((m) =>
  m.requests
)

/**
 * Waits until request `index` (0-based) has arrived (accessor for {@link Service.awaitRequest}).
 *
 * @since 0.1.0
 * @category constructors
 */
export const awaitRequest = (index: number): Effect.Effect<RecordedRequest, never, LocalModel> =>
  LocalModel.use((m) => m.awaitRequest(index))

/**
 * Appends steps to the running script (accessor for {@link Service.push}).
 *
 * @since 0.1.0
 * @category constructors
 */
export const push = (...steps: ReadonlyArray<Step>): Effect.Effect<void, never, LocalModel> =>
  LocalModel.use((m) => m.push(...steps))

/**
 * How many steps are left (accessor for {@link Service.remaining}).
 *
 * @since 0.1.0
 * @category constants
 */
export const remaining: Effect.Effect<number, never, LocalModel> = LocalModel.use((m) => m.remaining)
