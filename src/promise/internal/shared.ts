/**
 * The app-servers behind `effect-codex/promise`: one `codex app-server` per
 * set of process-wide options (one per `CODEX_HOME` for the usual `new
 * Codex()`), shared by every `Codex` instance of the process that uses them
 * and reference-counted, started on first use.
 *
 * Sharing is what makes codex-sdk code work here: codex lets one process
 * write a thread at a time ("thread ... already has an active writer"), and
 * code written for `codex exec` (a process per turn) freely resumes, in a new
 * `Codex`, a thread that another instance still holds.
 *
 * Two process-level duties come with it:
 * - An idle app-server must not keep Node alive (codex-sdk code never closes
 *   anything and expects the process to exit when its work is done): the
 *   child and its pipes are unreferenced, every Effect timer of these
 *   runtimes is an unreferenced one, and while work is in flight a
 *   referenced timer holds the process up instead ({@link hold}).
 * - A process that exits without `close()` leaves no app-server behind: an
 *   `exit` listener kills the process group of every one still running
 *   (a process killed by a signal closes codex's stdin, and codex exits on EOF).
 *
 * @internal
 */
import { NodeServices } from "@effect/platform-node"
import { Cause, ChildProcessSpawner, Clock, Duration, Effect, Exit, Layer } from "../../schema/internal/effect.ts"
import { Fiber } from "../../schema/internal/effect.ts"
import * as ManagedRuntime from "effect/ManagedRuntime"
import type { ChildProcess } from "node:child_process"
import * as AppServer from "../../layers/AppServer.ts"
import * as Stdio from "../../layers/internal/stdioLines.ts"
import * as CodexError from "../../schema/CodexError.ts"
import type * as Protocol from "../../schema/generated/Protocol.gen.ts"
import * as Approvals from "../../services/Approvals.ts"
import * as Codex from "../../services/Codex.ts"

/**
 * Answers one approval request of a thread: the protocol's method and params
 * in, the protocol's decision out.
 *
 * @internal
 */
export type Approve = (method: string, params: unknown) => Promise<unknown>

/**
 * A shared app-server, as one `Codex` instance holds it.
 *
 * @internal
 */
export interface Server {
  /** Runs an effect against the server, starting it on first use; keeps Node alive meanwhile. */
  readonly run: <A>(effect: Effect.Effect<A, CodexError.CodexError, Codex.Codex>) => Promise<A>
  /** Forks an effect against the server (the caller holds the process up while it runs). */
  readonly fork: <A>(
    effect: Effect.Effect<A, CodexError.CodexError, Codex.Codex>
  ) => Promise<{ readonly await: Promise<Exit.Exit<A, CodexError.CodexError>>; readonly interrupt: () => Promise<void> }>
  /** Counts up when a crashed or failed server is replaced: thread handles of an older one are stale. */
  readonly generation: () => number
  /** Who answers the approval requests of a thread, by thread id (a thread no one answers for is declined). */
  readonly approvers: Map<string, Approve>
}

// =============================================================================
// Keeping Node alive while work is in flight
// =============================================================================

let busy = 0
let keepAlive: NodeJS.Timeout | undefined

/**
 * Holds the process up until the returned function is called (once).
 *
 * @internal
 */
export const hold = (): (() => void) => {
  if (busy++ === 0) keepAlive = setInterval(() => {}, 2 ** 30)
  let released = false
  return () => {
    if (released) return
    released = true
    if (--busy === 0 && keepAlive !== undefined) {
      clearInterval(keepAlive)
      keepAlive = undefined
    }
  }
}

const MAX_TIMER_MILLIS = 2 ** 31 - 1

const unrefSleep = (millis: number): Effect.Effect<void> => {
  if (millis <= 0) return Effect.yieldNow
  if (!Number.isFinite(millis)) return Effect.never
  return Effect.callback<void>((resume) => {
    const timer = setTimeout(
      () => resume(millis > MAX_TIMER_MILLIS ? unrefSleep(millis - MAX_TIMER_MILLIS) : Effect.void),
      Math.min(millis, MAX_TIMER_MILLIS)
    )
    timer.unref()
    return Effect.sync(() => clearTimeout(timer))
  })
}

/** The default clock, but its timers do not keep Node alive (the client's deadline sweeper runs forever). */
const unrefClock = Layer.effect(
  Clock.Clock,
  Clock.clockWith((clock) =>
    Effect.succeed<Clock.Clock>({
      currentTimeMillisUnsafe: () => clock.currentTimeMillisUnsafe(),
      currentTimeMillis: clock.currentTimeMillis,
      currentTimeNanosUnsafe: () => clock.currentTimeNanosUnsafe(),
      currentTimeNanos: clock.currentTimeNanos,
      monotonicTimeNanosUnsafe: () => clock.monotonicTimeNanosUnsafe(),
      monotonicTimeNanos: clock.monotonicTimeNanos,
      sleep: (duration) => unrefSleep(Duration.toMillis(duration))
    })
  )
)

// =============================================================================
// The child processes
// =============================================================================

/** Every app-server process started here and still running. */
const children = new Set<ChildProcess>()
let exitHookInstalled = false

const isRunning = (child: ChildProcess) => child.exitCode === null && child.signalCode === null

/**
 * Kills what is left when this process exits: nothing can wait any more, and
 * threads are on disk as they go, so SIGKILL to each app-server's process
 * group (codex runs in its own) is safe and leaves nothing behind.
 */
const killAll = () => {
  for (const child of children) {
    if (child.pid === undefined || !isRunning(child)) continue
    try {
      process.kill(-child.pid, "SIGKILL")
    } catch {
      try {
        child.kill("SIGKILL")
      } catch {
        // gone meanwhile
      }
    }
  }
}

const unrefHandle = (handle: unknown) => {
  const unref = (handle as { unref?: unknown } | null)?.unref
  if (typeof unref === "function") unref.call(handle)
}

/**
 * Node's own spawner, watching the processes it starts (through the
 * `child_process` diagnostics channel, the documented hook that hands out
 * each new `ChildProcess`): each is unreferenced, with its pipes, and known
 * to the exit hook.
 */
const watchedSpawner = Layer.effect(
  ChildProcessSpawner.ChildProcessSpawner,
  Effect.gen(function*() {
    const inner = yield* ChildProcessSpawner.ChildProcessSpawner
    return ChildProcessSpawner.make((command) =>
      Stdio.withSpawnedChildren(inner.spawn(command)).pipe(
        Effect.tap(([handle, seen]) =>
          Effect.sync(() => {
            // other code may spawn meanwhile: ours is the one with this pid
            const child = seen.find((candidate) => candidate.pid === handle.pid)
            if (child === undefined) return
            if (!exitHookInstalled) {
              exitHookInstalled = true
              process.on("exit", killAll)
            }
            children.add(child)
            child.once("exit", () => children.delete(child))
            unrefHandle(child)
            unrefHandle(child.stdin)
            unrefHandle(child.stdout)
            unrefHandle(child.stderr)
          })
        ),
        Effect.map(([handle]) => handle)
      )
    )
  })
).pipe(Layer.provide(NodeServices.layer))

// =============================================================================
// Servers
// =============================================================================

const decline = Effect.succeed("decline" as const)

/** Approvals that ask whoever answers for the request's thread, else decline. */
const approvalsFor = (approvers: Map<string, Approve>) => {
  const dispatch = <P extends { readonly threadId: string }>(params: P, request: Approvals.RequestInfo) =>
    Effect.suspend(() => {
      const approve = approvers.get(params.threadId)
      return approve === undefined ? decline : Effect.tryPromise(() => approve(request.method, params))
    })
  return Approvals.layer({
    commandExecution: (params, request) =>
      dispatch(params, request) as Effect.Effect<Protocol.CommandExecutionApprovalDecision, unknown>,
    fileChange: (params, request) => dispatch(params, request) as Effect.Effect<Protocol.FileChangeApprovalDecision, unknown>
  })
}

interface Entry {
  readonly key: string
  readonly options: AppServer.Options
  readonly approvers: Map<string, Approve>
  refs: number
  runtime: ManagedRuntime.ManagedRuntime<Codex.Codex, CodexError.CodexError>
  generation: number
}

const servers = new Map<string, Entry>()
/** Servers shutting down, by key: a new one on the same key starts after (one writer per thread). */
const closing = new Map<string, Promise<void>>()

const makeRuntime = (entry: Omit<Entry, "runtime">) => {
  const previous = closing.get(entry.key)
  const layer = Codex.layer.pipe(
    Layer.provide(approvalsFor(entry.approvers)),
    Layer.provide(AppServer.layer(entry.options).pipe(Layer.provide(Layer.mergeAll(watchedSpawner, unrefClock)))),
    Layer.provideMerge(unrefClock)
  )
  return ManagedRuntime.make(
    previous === undefined ? layer : Layer.unwrap(Effect.as(Effect.promise(() => previous), layer))
  )
}

/** The server is gone for good (it could not start, or its process ended): the next call starts another. */
const isFatal = (error: unknown) =>
  CodexError.isCodexError(error) &&
  (error.reason._tag === "ProcessExited" || error.reason._tag === "SpawnError" || error.reason._tag === "TransportError")

const replace = (entry: Entry, stale: Entry["runtime"]) => {
  // once released, the entry's runtime is being disposed and nobody may start another
  if (entry.runtime !== stale || entry.refs <= 0) return
  entry.generation++
  entry.runtime = makeRuntime(entry)
  void stale.dispose()
}

const serverOf = (entry: Entry): Server => {
  const started = async () => {
    const runtime = entry.runtime
    try {
      await runtime.context()
    } catch (error) {
      replace(entry, runtime)
      throw error
    }
    return runtime
  }
  return {
    run: async (effect) => {
      const release = hold()
      try {
        const runtime = await started()
        const exit = await runtime.runPromiseExit(effect)
        if (Exit.isSuccess(exit)) return exit.value
        const error = Cause.squash(exit.cause)
        if (isFatal(error)) replace(entry, runtime)
        throw error
      } finally {
        release()
      }
    },
    fork: async (effect) => {
      const runtime = await started()
      const fiber = runtime.runFork(effect)
      return {
        await: new Promise((resolve) => {
          fiber.addObserver((exit) => {
            if (Exit.isFailure(exit) && isFatal(Cause.squash(exit.cause))) replace(entry, runtime)
            resolve(exit)
          })
        }),
        interrupt: () => runtime.runPromise(Effect.asVoid(Fiber.interrupt(fiber)))
      }
    },
    generation: () => entry.generation,
    approvers: entry.approvers
  }
}

/**
 * A lease on the server for these options: shared with every other lease on
 * the same key until {@link release}d.
 *
 * @internal
 */
export interface Lease {
  readonly server: Server
}

const entries = new WeakMap<Lease, Entry>()

/**
 * Takes a lease on the server for `key` (made from `options` if there is none
 * yet; nothing is spawned before the first call).
 *
 * @internal
 */
export const acquire = (key: string, options: AppServer.Options): Lease => {
  let entry = servers.get(key)
  if (entry === undefined) {
    const base = { key, options, approvers: new Map<string, Approve>(), refs: 0, generation: 0 }
    entry = Object.assign(base, { runtime: makeRuntime(base) })
    servers.set(key, entry)
  }
  entry.refs++
  const lease: Lease = { server: serverOf(entry) }
  entries.set(lease, entry)
  return lease
}

/**
 * Gives a lease back; the last one shuts the server down (and resolves once it is down).
 *
 * @internal
 */
export const release = (lease: Lease): Promise<void> => {
  const entry = entries.get(lease)
  // a lease is given back once
  if (entry === undefined) return Promise.resolve()
  entries.delete(lease)
  if (--entry.refs > 0) return Promise.resolve()
  if (servers.get(entry.key) === entry) servers.delete(entry.key)
  const held = hold()
  const done = entry.runtime.dispose().finally(held)
  closing.set(entry.key, done)
  void done.finally(() => {
    if (closing.get(entry.key) === done) closing.delete(entry.key)
  })
  return done
}

/**
 * How many servers are up or shutting down, how many processes they run, how
 * many holds are out (for tests).
 *
 * @internal
 */
export const stats = (): {
  readonly servers: number
  readonly closing: number
  readonly processes: number
  /** Holds on the process ({@link hold}) not released yet. */
  readonly held: number
} => ({
  servers: servers.size,
  closing: closing.size,
  processes: [...children].filter(isRunning).length,
  held: busy
})
