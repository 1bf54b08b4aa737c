/**
 * The replaying in-memory app-server behind `CodexTest.layerReplay`: plays a
 * recorded session back, checking that what the client sends matches the
 * recording.
 */
import { type Cause, Effect, Queue, Scope, Stream } from "../../../schema/internal/effect.ts"
import * as NodeOs from "node:os"
import * as JsonRpc from "../../../schema/JsonRpc.ts"
import type * as Transport from "../../Transport.ts"
import { type Harness, type MismatchInfo, replayError } from "./codexTestHarness.ts"
import { isUuid } from "./codexTestPayloads.ts"

/** One line of a transcript, as `test/fixtures/transcripts` stores it. */
export interface Entry {
  /** 1-based line number in the transcript. */
  readonly line: number
  readonly t: number
  readonly dir: "c2s" | "s2c"
  readonly msg: unknown
}

/** How a replay behaves. */
export interface ReplayConfig {
  readonly timing: "instant" | "recorded"
  /** Keys left out of comparisons (besides the volatile ones). */
  readonly ignore: ReadonlyArray<string>
}

/** Keys whose values change from run to run; never compared. */
const VOLATILE = new Set([
  "jsonrpc",
  "cwd",
  "path",
  "codexHome",
  "startedAtMs",
  "completedAtMs",
  "emittedAtMs",
  "createdAt",
  "updatedAt",
  "recencyAt",
  "currentTimeAt",
  "durationMs"
])

const TMP_PREFIXES = Array.from(new Set([NodeOs.tmpdir(), "/tmp", "/var/folders", "/private/var/folders"]))

/** Replaces a temporary path prefix with `<tmp>`, as the transcripts do. */
const normalizePath = (s: string): string => {
  if (s.startsWith("<tmp>")) return s
  for (const prefix of TMP_PREFIXES) {
    if (s === prefix || s.startsWith(prefix + "/")) {
      const rest = s.slice(prefix.length + 1)
      const slash = rest.indexOf("/")
      return slash < 0 ? "<tmp>" : `<tmp>${rest.slice(slash)}`
    }
  }
  return s
}

/** A bijection between recorded and actual ids, learned as messages match. */
class IdMap {
  readonly forward: Map<string, string>
  readonly backward: Map<string, string>
  constructor(forward = new Map<string, string>(), backward = new Map<string, string>()) {
    this.forward = forward
    this.backward = backward
  }
  copy(): IdMap {
    return new IdMap(new Map(this.forward), new Map(this.backward))
  }
  /** Fixes every id the server hands out to itself: the client uses it as it is. */
  seed(value: unknown): void {
    if (typeof value === "string") {
      if (isUuid(value) && !this.forward.has(value) && !this.backward.has(value)) {
        this.forward.set(value, value)
        this.backward.set(value, value)
      }
    } else if (Array.isArray(value)) {
      for (const element of value) this.seed(element)
    } else if (typeof value === "object" && value !== null) {
      for (const field of Object.values(value)) this.seed(field)
    }
  }
  /** Whether `expected` may stand for `actual`; learns the pair when new. */
  accept(expected: string, actual: string): boolean {
    const known = this.forward.get(expected)
    if (known !== undefined) return known === actual
    if (this.backward.has(actual)) return false
    this.forward.set(expected, actual)
    this.backward.set(actual, expected)
    return true
  }
}

const show = (value: unknown): string => {
  const text = JSON.stringify(value) ?? String(value)
  return text.length > 120 ? `${text.slice(0, 117)}...` : text
}

const isPresent = (value: unknown) => value !== undefined && value !== null

/** The first difference between a recorded and an actual value, or `undefined`. */
const difference = (
  expected: unknown,
  actual: unknown,
  path: string,
  ids: IdMap,
  ignore: ReadonlySet<string>
): string | undefined => {
  if (typeof expected === "string" && typeof actual === "string") {
    if (isUuid(expected) && isUuid(actual)) {
      return ids.accept(expected, actual) ? undefined : `${path}: expected id ${expected}, got ${actual}`
    }
    return normalizePath(expected) === normalizePath(actual)
      ? undefined
      : `${path}: expected ${show(expected)}, got ${show(actual)}`
  }
  if (Array.isArray(expected) || Array.isArray(actual)) {
    if (!Array.isArray(expected) || !Array.isArray(actual)) {
      return `${path}: expected ${show(expected)}, got ${show(actual)}`
    }
    if (expected.length !== actual.length) {
      return `${path}: expected ${expected.length} elements, got ${actual.length} (${show(actual)})`
    }
    for (let i = 0; i < expected.length; i++) {
      const found = difference(expected[i], actual[i], `${path}[${i}]`, ids, ignore)
      if (found !== undefined) return found
    }
    return undefined
  }
  if (typeof expected === "object" && expected !== null && typeof actual === "object" && actual !== null) {
    const e = expected as Record<string, unknown>
    const a = actual as Record<string, unknown>
    const keys = new Set([...Object.keys(e), ...Object.keys(a)])
    for (const key of keys) {
      if (VOLATILE.has(key) || ignore.has(key)) continue
      if (!isPresent(e[key]) && !isPresent(a[key])) continue
      if (!isPresent(a[key])) return `${path}.${key}: expected ${show(e[key])}, got nothing`
      if (!isPresent(e[key])) return `${path}.${key}: not in the transcript, got ${show(a[key])}`
      const found = difference(e[key], a[key], `${path}.${key}`, ids, ignore)
      if (found !== undefined) return found
    }
    return undefined
  }
  if (!isPresent(expected) && !isPresent(actual)) return undefined
  return expected === actual ? undefined : `${path}: expected ${show(expected)}, got ${show(actual)}`
}

const describe = (message: JsonRpc.Incoming): string => {
  switch (message._tag) {
    case "Request":
      return `request ${message.method}`
    case "Notification":
      return `notification ${message.method}`
    case "Response":
      return `an answer to server request ${JSON.stringify(message.id)}`
    case "ErrorResponse":
      return `an error answer to server request ${JSON.stringify(message.id)}`
    case "Invalid":
      return `an invalid message (${message.reason})`
  }
}

/** Whether the client's message is the recorded one; else what differs. */
const compare = (
  expected: JsonRpc.Incoming,
  actual: JsonRpc.Incoming,
  ids: IdMap,
  ignore: ReadonlySet<string>
): string | undefined => {
  if (expected._tag !== actual._tag) return "a different kind of message"
  switch (expected._tag) {
    case "Request":
    case "Notification": {
      const a = actual as typeof expected
      if (expected.method !== a.method) return `method: expected ${expected.method}, got ${a.method}`
      // the client identifies itself its own way: the handshake is not compared
      if (expected.method === "initialize") return undefined
      return difference(expected.params, a.params, "params", ids, ignore)
    }
    case "Response": {
      const a = actual as typeof expected
      if (expected.id !== a.id) return `id: expected ${expected.id}, got ${a.id}`
      return difference(expected.result, a.result, "result", ids, ignore)
    }
    case "ErrorResponse": {
      const a = actual as typeof expected
      return expected.id === a.id ? undefined : `id: expected ${expected.id}, got ${a.id}`
    }
    case "Invalid":
      return undefined
  }
}

/** What `makeReplay` gives the layer. */
export interface Replay {
  readonly serve: Effect.Effect<void>
  /** How many recorded client messages have not been received. */
  readonly remaining: () => number
}

/** Builds the replaying server over the server side of an in-memory transport. */
export const makeReplay = (
  entries: ReadonlyArray<Entry>,
  config: ReplayConfig,
  harness: Harness,
  server: Transport.InMemoryServer
): Effect.Effect<Replay, never, Scope.Scope> =>
  Effect.gen(function*() {
    const ignore = new Set(config.ignore)
    const inbox = yield* Queue.unbounded<string, Cause.Done>()
    yield* server.received.pipe(
      Stream.runForEach((line) => Queue.offer(inbox, line)),
      Effect.ensuring(Queue.end(inbox)),
      Effect.forkScoped
    )
    const total = entries.filter((entry) => entry.dir === "c2s").length
    let matched = 0
    let ids = new IdMap()
    const requestIds = new Map<JsonRpc.RequestId, JsonRpc.RequestId>()

    const send = (message: Record<string, unknown>) =>
      Effect.suspend(() => {
        harness.onServerMessage(message)
        return server.send(JSON.stringify(message))
      })

    const emit = (entry: Entry) =>
      Effect.suspend(() => {
        const msg = entry.msg as Record<string, unknown>
        ids.seed(msg)
        const recorded = JsonRpc.classify(msg)
        if (recorded._tag === "Response" || recorded._tag === "ErrorResponse") {
          const actualId = recorded.id === null ? undefined : requestIds.get(recorded.id)
          // an answer to a request this client never sent (raw lines of the recording): skipped
          return actualId === undefined ? Effect.void : send({ ...msg, id: actualId })
        }
        return send(msg)
      })

    const mismatch = (info: MismatchInfo, actual: JsonRpc.Incoming, close: boolean) =>
      Effect.suspend(() => {
        harness.mismatches.push(info)
        const answer = actual._tag === "Request"
          ? send({ id: actual.id, error: { code: JsonRpc.ErrorCode.InvalidRequest, message: info.message } })
          : Effect.void
        return close ? answer.pipe(Effect.andThen(server.close(replayError(info.message)))) : answer
      })

    const take = Queue.take(inbox).pipe(Effect.map((line) => harness.onClientLine(line)))

    const play = Effect.gen(function*() {
      let cursor = 0
      let lastT = entries[0]?.t ?? 0
      let handshakeDone = false
      while (cursor < entries.length) {
        const entry = entries[cursor]!
        if (entry.dir === "s2c") {
          // no pauses during the handshake: the layer is still being built, so no test could move a TestClock
          if (config.timing === "recorded" && handshakeDone && entry.t > lastT) yield* Effect.sleep(entry.t - lastT)
          lastT = Math.max(lastT, entry.t)
          yield* emit(entry)
          cursor++
          continue
        }
        // consecutive client messages may arrive in any order
        let end = cursor
        while (end < entries.length && entries[end]!.dir === "c2s") end++
        const waiting = entries.slice(cursor, end)
        while (waiting.length > 0) {
          const actual = yield* take
          if (actual._tag === "Invalid") continue
          let found = -1
          let reason = ""
          for (let i = 0; i < waiting.length; i++) {
            const expected = JsonRpc.classify(waiting[i]!.msg)
            const trial = ids.copy()
            const different = compare(expected, actual, trial, ignore)
            if (different === undefined) {
              found = i
              ids = trial
              if (expected._tag === "Request" && actual._tag === "Request") requestIds.set(expected.id, actual.id)
              break
            }
            if (i === 0) reason = different
          }
          if (found < 0) {
            const first = waiting[0]!
            const expected = JsonRpc.classify(first.msg)
            const message = `CodexTest replay: transcript line ${first.line} expects ${describe(expected)}, ` +
              `but the client sent ${describe(actual)} (${reason})`
            return yield* mismatch({ line: first.line, expected: first.msg, actual: rawOf(actual), message }, actual, true)
          }
          const [done] = waiting.splice(found, 1)
          lastT = Math.max(lastT, done!.t)
          if (actual._tag === "Notification" && actual.method === "initialized") handshakeDone = true
          matched++
        }
        cursor = end
      }
      // the transcript is over: whatever comes now was not recorded
      while (true) {
        const actual = yield* take
        if (actual._tag === "Invalid") continue
        const message = `CodexTest replay: the transcript has ended, but the client sent ${describe(actual)}` +
          (actual._tag === "Request" ? ` ${show(actual.params)}` : "")
        yield* mismatch({ line: entries.length === 0 ? 0 : entries[entries.length - 1]!.line + 1, expected: undefined, actual: rawOf(actual), message }, actual, false)
      }
    }).pipe(Effect.catch(() => Effect.void))

    return { serve: play, remaining: () => total - matched }
  })

const rawOf = (message: JsonRpc.Incoming): unknown => {
  switch (message._tag) {
    case "Request":
      return { id: message.id, method: message.method, params: message.params }
    case "Notification":
      return { method: message.method, params: message.params }
    case "Response":
      return { id: message.id, result: message.result }
    case "ErrorResponse":
      return { id: message.id, error: message.error }
    case "Invalid":
      return message.reason
  }
}
