/**
 * What both in-memory app-servers of `CodexTest` (scripted and replay) share:
 * the record of what the client sent and answered, the turns seen on the
 * wire, waiters for assertions, and the JSONL transcript recorder.
 */
import { Clock, Deferred, Effect, Scope, Stream } from "../../../schema/internal/effect.ts"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import * as JsonRpc from "../../../schema/JsonRpc.ts"
import * as CodexError from "../../../schema/CodexError.ts"
import type * as Transport from "../../Transport.ts"

/** A request or notification the client sent, in order. */
export type ClientMessage =
  | { readonly _tag: "Request"; readonly id: JsonRpc.RequestId; readonly method: string; readonly params: unknown }
  | { readonly _tag: "Notification"; readonly method: string; readonly params: unknown }

/** The client's answer to a server request. */
export interface RecordedAnswer {
  readonly requestId: JsonRpc.RequestId
  /** The method of the server request answered. */
  readonly method: string
  /** The params of the server request answered. */
  readonly params: unknown
  readonly result?: unknown
  readonly error?: JsonRpc.ErrorObject
}

/** A turn seen on the wire (`turn/started` ... `turn/completed`). */
export interface PlayedTurn {
  readonly threadId: string
  readonly turnId: string
  /**
   * 1-based number of the `turn/start` that began it; 0 for turns codex starts
   * itself (compaction) and for replayed turns.
   */
  readonly index: number
  /** The scripted step that played it (the scripted server only). */
  readonly step: string | undefined
  readonly status: "inProgress" | "completed" | "interrupted" | "failed" | (string & {})
}

/** A message of a replayed transcript that the client did not match. */
export interface MismatchInfo {
  /** 1-based line of the transcript. */
  readonly line: number
  readonly expected: unknown
  readonly actual: unknown
  readonly message: string
}

const SECRET_KEYS = new Set([
  "apiKey",
  "accessToken",
  "refreshToken",
  "idToken",
  "authToken",
  "token",
  "secretAccessKey",
  "sessionToken",
  "password"
])

/** A copy with secret-looking fields (`apiKey`, `accessToken`, ...) replaced by `"<redacted>"`. */
export const redact = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(redact)
  if (typeof value !== "object" || value === null) return value
  const out: Record<string, unknown> = {}
  for (const [key, field] of Object.entries(value)) {
    out[key] = SECRET_KEYS.has(key) && typeof field === "string" ? "<redacted>" : redact(field)
  }
  return out
}

interface Waiter {
  readonly method: string
  readonly count: number
  readonly deferred: Deferred.Deferred<ClientMessage>
}

/** The record of one connection. */
export class Harness {
  readonly messages: Array<ClientMessage> = []
  readonly answers: Array<RecordedAnswer> = []
  readonly turns: Array<PlayedTurn> = []
  readonly mismatches: Array<MismatchInfo> = []
  /** Server requests sent, by id, until answered. */
  readonly serverRequests = new Map<JsonRpc.RequestId, { readonly method: string; readonly params: unknown }>()
  /** Step labels by turn id (set by the scripted server before `turn/started`). */
  readonly labels = new Map<string, { readonly index: number; readonly step: string | undefined }>()
  private waiters: Array<Waiter> = []

  /** Parses and records one line the client sent. */
  onClientLine(line: string): JsonRpc.Incoming {
    const message = JsonRpc.parse(line)
    switch (message._tag) {
      case "Request":
        this.push({ _tag: "Request", id: message.id, method: message.method, params: redact(message.params) })
        break
      case "Notification":
        this.push({ _tag: "Notification", method: message.method, params: redact(message.params) })
        break
      case "Response":
      case "ErrorResponse": {
        const id = message.id
        if (id === null) break
        const request = this.serverRequests.get(id)
        this.serverRequests.delete(id)
        this.answers.push({
          requestId: id,
          method: request?.method ?? "",
          params: request?.params,
          ...(message._tag === "Response" ? { result: message.result } : { error: message.error })
        })
        break
      }
    }
    return message
  }

  /** Notes one message the server sent (server requests, turn boundaries). */
  onServerMessage(message: { readonly method?: unknown; readonly id?: unknown; readonly params?: unknown }): void {
    if (typeof message.method !== "string") return
    if (message.id !== undefined) {
      this.serverRequests.set(message.id as JsonRpc.RequestId, { method: message.method, params: message.params })
      return
    }
    const params = message.params as { threadId?: string; turn?: { id?: string; status?: string } } | undefined
    if (params?.threadId === undefined || params.turn?.id === undefined) return
    const turnId = params.turn.id
    if (message.method === "turn/started") {
      if (this.turns.some((turn) => turn.turnId === turnId)) return
      const label = this.labels.get(turnId)
      this.turns.push({
        threadId: params.threadId,
        turnId,
        index: label?.index ?? 0,
        step: label?.step,
        status: "inProgress"
      })
    } else if (message.method === "turn/completed") {
      const index = this.turns.findIndex((turn) => turn.turnId === turnId)
      const status = params.turn.status ?? "completed"
      if (index >= 0) this.turns[index] = { ...this.turns[index]!, status }
      else {
        const label = this.labels.get(turnId)
        this.turns.push({ threadId: params.threadId, turnId, index: label?.index ?? 0, step: label?.step, status })
      }
    }
  }

  private push(message: ClientMessage): void {
    this.messages.push(message)
    if (this.waiters.length === 0) return
    const still: Array<Waiter> = []
    for (const waiter of this.waiters) {
      const found = this.nth(waiter.method, waiter.count)
      if (found === undefined) still.push(waiter)
      else Deferred.doneUnsafe(waiter.deferred, Effect.succeed(found))
    }
    this.waiters = still
  }

  private nth(method: string, count: number): ClientMessage | undefined {
    let seen = 0
    for (const message of this.messages) {
      if (message.method === method && ++seen === count) return message
    }
    return undefined
  }

  /** Waits until the client has sent `count` messages with `method`; the `count`-th. */
  awaitRequest(method: string, count: number): Effect.Effect<ClientMessage> {
    return Effect.suspend(() => {
      const found = this.nth(method, count)
      if (found !== undefined) return Effect.succeed(found)
      const deferred = Deferred.makeUnsafe<ClientMessage>()
      const waiter: Waiter = { method, count, deferred }
      this.waiters.push(waiter)
      return Deferred.await(deferred).pipe(
        Effect.onInterrupt(() => Effect.sync(() => (this.waiters = this.waiters.filter((w) => w !== waiter))))
      )
    })
  }
}

// -----------------------------------------------------------------------------
// Transcript recording
// -----------------------------------------------------------------------------

/**
 * Options of a transcript recorder.
 */
export interface RecordOptions {
  /** A first `note` line describing the session. */
  readonly note?: string | undefined
  /**
   * Substrings replaced in every recorded line, e.g. `{ [codexHome]: "<tmp>/home" }`
   * so the transcript does not depend on the machine (applied longest first).
   */
  readonly replace?: Readonly<Record<string, string>> | undefined
  /** Whether secret-looking fields (`apiKey`, tokens) are written as `"<redacted>"`. Default `true`. */
  readonly redact?: boolean | undefined
}

const serialize = (
  dir: string,
  t: number,
  line: string,
  options: RecordOptions,
  replacements: ReadonlyArray<readonly [string, string]>
): string => {
  let msg: unknown = line
  let direction = dir
  try {
    msg = JSON.parse(line)
    if (options.redact !== false) msg = redact(msg)
  } catch {
    direction = `${dir}-raw`
  }
  let text = JSON.stringify({ t, dir: direction, msg })
  for (const [from, to] of replacements) {
    if (from.length > 0) text = text.split(JSON.stringify(from).slice(1, -1)).join(JSON.stringify(to).slice(1, -1))
  }
  return text + "\n"
}

/**
 * Wraps a transport so every message in both directions is appended to a JSONL
 * transcript (`{t, dir, msg}`, `dir` = `c2s` | `s2c`, plus a final `exit` line
 * when the connection ends), the format `CodexTest.layerReplay` reads.
 */
export const recordTransport = (
  transport: Transport.Service,
  path: string,
  options: RecordOptions = {}
): Effect.Effect<Transport.Service, never, Scope.Scope> =>
  Effect.gen(function*() {
    const replacements = Object.entries(options.replace ?? {}).sort(([a], [b]) => b.length - a.length)
    const start = yield* Clock.currentTimeMillis
    const fd = yield* Effect.acquireRelease(
      Effect.sync(() => {
        NodeFs.mkdirSync(NodePath.dirname(path), { recursive: true })
        return NodeFs.openSync(path, "w")
      }),
      (fd) => Effect.sync(() => NodeFs.closeSync(fd))
    )
    let closed = false
    yield* Effect.addFinalizer(() => Effect.sync(() => void (closed = true)))
    const clock = yield* Clock.Clock
    const writeUnsafe = (dir: string, line: string) => {
      if (!closed) {
        NodeFs.writeSync(fd, serialize(dir, clock.currentTimeMillisUnsafe() - start, line, options, replacements))
      }
    }
    const write = (dir: string, line: string) => Effect.sync(() => writeUnsafe(dir, line))
    const writeRaw = (value: unknown) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.sync(() => {
          if (!closed) NodeFs.writeSync(fd, JSON.stringify({ t: now - start, ...value as object }) + "\n")
        }))
    if (options.note !== undefined) yield* writeRaw({ dir: "note", msg: options.note })
    return {
      offer: (message) => {
        writeUnsafe("c2s", message)
        return transport.offer(message)
      },
      incoming: transport.incoming.pipe(
        Stream.tap((line) => write("s2c", line)),
        Stream.tapError((error) =>
          writeRaw({
            dir: "exit",
            msg: error.reason._tag === "ProcessExited"
              ? { code: error.reason.exitCode ?? null, sig: error.reason.signal ?? null }
              : { code: null, sig: null, error: error.reason._tag }
          })
        )
      )
    } satisfies Transport.Service
  })

/** A `CodexError` that closes a replayed connection. */
export const replayError = (description: string): CodexError.CodexError =>
  CodexError.make(new CodexError.ProtocolError({ description }))
