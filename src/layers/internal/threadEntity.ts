/**
 * The handlers of the `CodexThread` entity on one runner.
 *
 * One entity per key; its thread lives in this runner's `Codex` (usually a
 * `CodexPool`). History outlives the runner through the store: after every
 * turn the bytes codex appended to the thread's rollout are stored, and a
 * runner that gets a key it does not hold writes the stored rollout into its
 * own CODEX_HOME and resumes the thread from it.
 *
 * @internal
 */
import { type Duration, Effect, Option, Stream } from "../../schema/internal/effect.ts"
import * as Entity from "effect/cluster/Entity"
import * as Rpc from "effect/rpc/Rpc"
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import * as CodexError from "../../schema/CodexError.ts"
import type * as Input from "../../schema/Input.ts"
import type * as TurnResultModule from "../../streams/TurnResult.ts"
import * as Codex from "../../services/Codex.ts"
import * as CodexThread from "../../services/CodexThread.ts"
import type * as Thread from "../../services/Thread.ts"
import type * as Turn from "../../services/Turn.ts"
import type { Store } from "./threadStore.ts"

/** What the runner's entities are built with. */
export interface EntityOptions {
  /** The options of the thread started for a key (its `cwd`, model, sandbox, tools...). Default: none. */
  readonly thread?: ((key: string) => Thread.StartOptions) | undefined
  /** How long an interrupted turn may take to end. */
  readonly interruptTimeout?: Duration.Input | undefined
}

/**
 * The threads this runner's Codex has loaded, with the rollout size stored for each when it was last
 * in step with the store. Shared by the runner's entities: a key that comes back to the runner finds
 * its thread still loaded, and the size tells whether another runner moved it on meanwhile.
 */
export type Loaded = Map<string, number>

// The fields of thread/start that thread/resume accepts too: a restored thread keeps them.
const RESUME_FIELDS = [
  "approvalPolicy",
  "approvalsReviewer",
  "baseInstructions",
  "config",
  "cwd",
  "developerInstructions",
  "model",
  "modelProvider",
  "permissions",
  "personality",
  "runtimeWorkspaceRoots",
  "sandbox",
  "serviceTier",
  "tools"
] as const

const resumeOptions = (start: Thread.StartOptions): Thread.ResumeOptions => {
  const out: Record<string, unknown> = {}
  for (const field of RESUME_FIELDS) {
    if (start[field] !== undefined) out[field] = start[field]
  }
  return out as Thread.ResumeOptions
}

const ioError = (what: string) => (cause: unknown) =>
  CodexError.make(
    new CodexError.TransportError({
      description: `cluster rollout: ${what}: ${cause instanceof Error ? cause.message : String(cause)}`,
      cause
    })
  )

const NEWLINE = 0x0a

/**
 * The complete lines of a file after byte `offset` (a rollout is JSON lines, so a stored chunk always
 * ends a line and decodes as UTF-8 on its own). `undefined` when there is none.
 */
const readTail = (path: string, offset: number) =>
  Effect.tryPromise({
    try: async () => {
      const handle = await Fs.open(path, "r")
      try {
        const { size } = await handle.stat()
        if (size <= offset) return undefined
        const buffer = Buffer.alloc(size - offset)
        await handle.read(buffer, 0, buffer.length, offset)
        const end = buffer.lastIndexOf(NEWLINE)
        return end < 0 ? undefined : buffer.subarray(0, end + 1).toString("utf8")
      } finally {
        await handle.close()
      }
    },
    catch: ioError(`read ${path}`)
  })

/** The size of a file in bytes, `undefined` when it is missing. */
const fileSize = (path: string) =>
  Effect.promise(() => Fs.stat(path).then((stat) => stat.size, () => undefined))

const writeFile = (path: string, data: string) =>
  Effect.tryPromise({
    try: async () => {
      await Fs.mkdir(Path.dirname(path), { recursive: true })
      await Fs.writeFile(path, data)
    },
    catch: ioError(`write ${path}`)
  })

const invalid = (description: string) => CodexError.make(new CodexError.InvalidOptions({ description }))

const parseOutput = (text: string | undefined) =>
  Effect.try({
    try: () => JSON.parse(text ?? "") as unknown,
    catch: (cause) =>
      CodexError.make(new CodexError.OutputDecodeError({ text: text ?? "", description: String(cause) }))
  })

/** The handlers of one key's entity, given the runner's Codex, store and loaded threads. */
export const build = (store: Store, loaded: Loaded, options: EntityOptions) =>
  Effect.gen(function*() {
    const address = yield* Entity.CurrentAddress
    const runnerAddress = yield* Entity.CurrentRunnerAddress
    const codex = yield* Codex.Codex
    const key = address.entityId
    const runner = `${runnerAddress.host}:${runnerAddress.port}`
    const home = (yield* codex.metadata).codexHome
    const startOptions = options.thread?.(key) ?? {}
    const interruptTimeout = options.interruptTimeout

    // The key's thread on this runner, once a turn needed it.
    let current:
      | { readonly thread: Thread.Thread; rolloutPath: string | undefined; stored: number; saved: boolean; unsure: boolean }
      | undefined
    let running: Turn.Turn | undefined

    const log = (message: string, fields: Record<string, unknown>) =>
      Effect.logWarning(message).pipe(Effect.annotateLogs({ key, runner, ...fields }))

    // Makes the key's thread ready here: loaded and in step with the store.
    const acquire = Effect.gen(function*() {
      if (current !== undefined) return current
      const record = yield* store.load(key)
      if (Option.isNone(record)) {
        const thread = yield* codex.startThread(startOptions)
        current = { thread, rolloutPath: undefined, stored: 0, saved: false, unsure: false }
        return current
      }
      const { threadId, rolloutPath, rolloutSize } = record.value
      const local = Path.join(home, rolloutPath)
      const known = loaded.get(threadId)
      if (known === rolloutSize || (known !== undefined && (yield* fileSize(local)) === rolloutSize)) {
        // (The second test: the file codex writes is exactly the stored history, though the note in
        // `loaded` is older: a sync stored its chunk and was interrupted before noting it.)
        loaded.set(threadId, rolloutSize)
        // Loaded here and nobody moved it on since: the thread codex holds is the stored one.
        const thread = yield* codex.resumeThread(threadId, resumeOptions(startOptions))
        current = { thread, rolloutPath, stored: rolloutSize, saved: true, unsure: false }
        return current
      }
      const rollout = yield* store.rollout(threadId)
      if (known === undefined) {
        // Not loaded here: codex loads it from the restored file.
        yield* writeFile(local, rollout)
        const thread = yield* codex.resumeThread(threadId, { ...resumeOptions(startOptions), path: local })
        loaded.set(threadId, rolloutSize)
        current = { thread, rolloutPath, stored: rolloutSize, saved: true, unsure: false }
        return current
      }
      // Loaded here with an older history (the key ran on another runner meanwhile): codex keeps serving
      // the loaded copy, and only archiving unloads a thread at once (checked on codex 0.171.0). So the
      // thread is archived, its archived rollout replaced by the stored one, and unarchived (loaded anew).
      yield* log("effect-codex cluster: the key's thread was loaded here with an older history; reloading the stored one", {
        threadId
      })
      // Uninterruptible: an entity interrupted between archive and unarchive (its shard released) would
      // leave the thread archived, and every later attempt fails ("no rollout found").
      yield* Effect.uninterruptible(Effect.gen(function*() {
        yield* codex.archiveThread(threadId)
        const archived = Path.join(home, "archived_sessions", Path.basename(rolloutPath))
        const exists = yield* Effect.promise(() => Fs.access(archived).then(() => true, () => false))
        if (!exists) return yield* Effect.fail(ioError("reload")(`codex did not archive the rollout at ${archived}`))
        yield* writeFile(archived, rollout)
        yield* codex.unarchiveThread(threadId)
      }))
      const thread = yield* codex.resumeThread(threadId, resumeOptions(startOptions))
      loaded.set(threadId, rolloutSize)
      current = { thread, rolloutPath, stored: rolloutSize, saved: true, unsure: false }
      return current
    })

    // Stores what codex appended to the rollout since the last sync. A failure leaves `stored` as it
    // was, so the next sync stores it all.
    const sync = Effect.gen(function*() {
      const state = current
      if (state === undefined) return
      if (state.rolloutPath === undefined) {
        const path = state.thread.info.path ?? (yield* state.thread.read()).thread.path
        if (path === null || path === undefined) return
        state.rolloutPath = Path.relative(home, path)
      }
      if (!state.saved) {
        yield* store.saveThread({ key, threadId: state.thread.id, rolloutPath: state.rolloutPath, runner })
        state.saved = true
        state.stored = 0
      }
      const file = Path.join(home, state.rolloutPath)
      if (state.unsure) {
        // The last append failed, but it may have been stored (its commit's acknowledgement lost): what
        // this runner stored for this thread is a prefix of its file, so the store's size is where to go on.
        const record = yield* store.load(key)
        const size = yield* fileSize(file)
        if (
          Option.isSome(record) && record.value.threadId === state.thread.id && record.value.runner === runner &&
          record.value.rolloutSize > state.stored && size !== undefined && record.value.rolloutSize <= size
        ) {
          state.stored = record.value.rolloutSize
          loaded.set(state.thread.id, state.stored)
        }
        state.unsure = false
      }
      const tail = yield* readTail(file, state.stored)
      if (tail === undefined) return
      // The stored chunk and the note of it go together: interrupted in between, the store would be
      // ahead of `stored`, and every later sync would fail at the wrong offset.
      yield* Effect.uninterruptible(Effect.gen(function*() {
        yield* store.appendRollout(key, state.thread.id, state.stored, tail, runner).pipe(
          Effect.tapError(() => Effect.sync(() => (state.unsure = true)))
        )
        state.stored += Buffer.byteLength(tail, "utf8")
        loaded.set(state.thread.id, state.stored)
      }))
    })

    const syncLogged = sync.pipe(
      Effect.catch((error) =>
        log("effect-codex cluster: could not store the thread's history; the next turn stores it", {
          error: error.message
        })
      )
    )

    // A thread whose server died is gone from this runner: the next turn restores it from the store.
    const forgetOnTerminal = <A, R>(effect: Effect.Effect<A, CodexError.CodexError, R>) =>
      effect.pipe(
        Effect.tapError((error) =>
          Effect.sync(() => {
            if (CodexError.isTerminal(error) && current !== undefined) {
              loaded.delete(current.thread.id)
              current = undefined
            }
          })
        )
      )

    const turnOptions = (request: CodexThread.TurnRequest): Turn.Options => ({
      ...request.options,
      ...(interruptTimeout === undefined ? {} : { interruptTimeout })
    })

    // A thread handle whose server died fails at turn/start, before anything ran: the thread is
    // restored (on the pool's replacement) and the turn started once more.
    const startTurn = (request: CodexThread.TurnRequest) =>
      Effect.gen(function*() {
        const { thread } = yield* acquire
        return yield* thread.turn(request.input as Input.Input, {
          ...turnOptions(request),
          ...(request.outputSchema === undefined ? {} : { outputSchema: request.outputSchema })
        })
      }).pipe(forgetOnTerminal, Effect.retry({ times: 1, while: CodexError.isTerminal }))

    const runTurn = (request: CodexThread.TurnRequest) =>
      Effect.scoped(Effect.gen(function*() {
        const turn = yield* startTurn(request)
        running = turn
        const result = yield* turn.result.pipe(Effect.ensuring(Effect.sync(() => (running = undefined))))
        yield* syncLogged
        return result
      })).pipe(forgetOnTerminal)

    const withPlace = (
      result: TurnResultModule.TurnResult,
      attempt: number,
      output: Option.Option<unknown>
    ): CodexThread.TurnResult =>
      CodexThread.wire({
        ...result,
        key,
        runner,
        attempt,
        replayed: false,
        ...(Option.isSome(output) ? { output: output.value } : {})
      })

    yield* Effect.addFinalizer(() =>
      current === undefined
        ? Effect.void
        // The key leaves this runner (idle, or its shard moved): codex may unload the thread.
        : Effect.ignore(current.thread.unsubscribe)
    )

    return CodexThread.CodexThread.of({
      Run: (envelope) =>
        Effect.gen(function*() {
          const request = envelope.payload
          const turnKey = request.turnKey ?? `message:${String(envelope.requestId)}`
          const start = yield* store.beginTurn(key, turnKey, runner)
          if (start._tag === "Done") {
            const stored = JSON.parse(start.result) as CodexThread.TurnResult
            return { ...stored, replayed: true }
          }
          const attempt = start._tag === "New" ? 1 : start.attempt
          if (start._tag === "Redelivered") {
            // At-least-once: the runner that had this turn died (or lost the key) before replying. It runs
            // again here, on the history stored before it; what it did to the workspace stays done.
            yield* log("effect-codex cluster: turn delivered again after its runner stopped; running it again", {
              turnKey,
              attempt,
              previousRunner: start.previousRunner
            })
          }
          return yield* Effect.gen(function*() {
            const result = yield* runTurn(request)
            const output = request.outputSchema === undefined || result.status !== "completed"
              ? Option.none()
              : Option.some(yield* parseOutput(result.finalResponse))
            const placed = withPlace(result, attempt, output)
            yield* store.finishTurn(key, turnKey, JSON.stringify(placed))
            return placed
          }).pipe(Effect.tapError(() => Effect.ignore(store.failTurn(key, turnKey))))
        }),

      Stream: (envelope) =>
        Stream.unwrap(Effect.gen(function*() {
          const request = envelope.payload
          const turnKey = request.turnKey ?? `stream:${String(envelope.requestId)}`
          // A stream is not persisted, but a client whose runner died sends it again to the key's next
          // owner: the reader has the first attempt's events already, so the new attempt says so first.
          const start = yield* store.beginTurn(key, turnKey, runner)
          const again = start._tag === "Redelivered"
            ? { attempt: start.attempt, previousRunner: start.previousRunner }
            : start._tag === "Done"
            ? { attempt: start.attempt + 1, previousRunner: runner }
            : undefined
          if (again !== undefined) {
            yield* log("effect-codex cluster: streamed turn sent again after its runner stopped; running it again", {
              turnKey,
              ...again
            })
          }
          const turn = yield* startTurn(request)
          running = turn
          const events = turn.events.pipe(
            Stream.ensuring(Effect.suspend(() => {
              running = undefined
              return Effect.andThen(syncLogged, Effect.ignore(store.finishTurn(key, turnKey, "{}")))
            }))
          )
          return again === undefined
            ? events
            : Stream.concat(Stream.succeed(CodexThread.redelivered({ ...again, runner })), events)
        })),

      Steer: (envelope) =>
        Effect.suspend(() =>
          running === undefined
            ? Effect.fail(invalid(`no turn is running on ${key}`))
            : Effect.map(running.steer(envelope.payload.input as Input.Input), ({ turnId }) => ({ turnId }))
        ).pipe(Rpc.fork),

      Interrupt: () =>
        Effect.suspend(() =>
          running === undefined
            ? Effect.succeed({ interrupted: false })
            : Effect.as(running.interrupt, { interrupted: true })
        ).pipe(Rpc.fork),

      Describe: () =>
        Effect.gen(function*() {
          const threadId = current?.thread.id ?? Option.getOrUndefined(Option.map(yield* store.load(key), (r) => r.threadId))
          return { key, runner, threadId, turnRunning: running !== undefined }
        }).pipe(Rpc.fork)
    })
  })

