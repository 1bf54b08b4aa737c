/**
 * Routes the connection's notifications and server requests to turns, by
 * thread id and turn id, exactly.
 *
 * Notifications can arrive before the `turn/start` response (an instant model
 * finishes the turn before the response is read), so while a `turn/start` is
 * in flight on a thread, its unclaimed events are buffered and handed to the
 * turn when the response names it. Each turn keeps all of its events so every
 * run of `turn.events` sees the turn from its first event.
 */
import { Cause, Effect, Stream } from "../../schema/internal/effect.ts"
import type * as Arr from "effect/Array"
import type { Incoming, Notification } from "../../schema/Incoming.ts"
import type * as CodexError from "../../schema/CodexError.ts"
import * as TurnEvent from "../TurnEvent.ts"
import * as Deltas from "./deltas.ts"
import { Signal } from "./signal.ts"
import * as Summary from "./summary.ts"

/** How many buffered events one pull hands downstream at most. */
const MAX_CHUNK = 4096

/**
 * Where a turn is: claimed (its `turn/start` answered) and waiting for
 * `turn/started`, running, completed (`turn/completed` seen), or failed
 * because its connection ended first. It only moves forward.
 */
export type Phase =
  | { readonly _tag: "Waiting" }
  | { readonly _tag: "Running" }
  | { readonly _tag: "Completed"; readonly at: number }
  | { readonly _tag: "Failed"; readonly error: CodexError.CodexError }

const WAITING: Phase = { _tag: "Waiting" }
const RUNNING: Phase = { _tag: "Running" }

/** The events of one turn, appended by the router, read by any number of streams. */
export class TurnState {
  readonly events: Array<TurnEvent.TurnEvent> = []
  readonly startedAt = performance.now()
  private current: Phase = WAITING
  // `ended`, as a field: it is read for every event routed
  private done = false
  /** What a result needs of `events`, kept as they are appended. */
  readonly summary = new Summary.Summary()
  private readonly signal = new Signal()
  private endHooks: Array<() => void> | undefined = undefined

  readonly threadId: string
  readonly turnId: string
  /**
   * The id codex expects in `turn/interrupt`: the turn's own, except for a
   * review, whose `turn/started` names an inner turn (its `rootTurnId` is the
   * review's id) and whose interrupt must name that inner turn.
   */
  activeTurnId: string

  // The item id of the last delta: deltas of one item follow each other.
  private itemId = ""

  constructor(threadId: string, turnId: string) {
    this.threadId = threadId
    this.turnId = turnId
    this.activeTurnId = turnId
    Summary.keep(this.events, this.summary)
  }

  /**
   * The event of a hot delta routed to this turn, or `undefined` for any
   * other message. Its ids are strings the turn already holds (equal ones:
   * the router matched them), so a turn of N deltas keeps its ids once, not N
   * times (each parsed line has its own copies). The builder is the one
   * `TurnEvent.fromIncoming` uses.
   */
  delta(incoming: Notification): TurnEvent.TurnEvent | undefined {
    const event = Deltas.of(incoming, this.threadId, this.turnId, this.itemId)
    if (event !== undefined) this.itemId = event.itemId
    return event
  }

  /** Appends an event and wakes the turn's waiters. */
  push(event: TurnEvent.TurnEvent): void {
    if (this.append(event)) this.wake()
  }

  /**
   * Appends an event without waking anyone (the caller wakes the turn later,
   * with {@link wake}); `false` when the turn had already ended. End hooks
   * still run at once: they must see the end before anything else happens.
   */
  append(event: TurnEvent.TurnEvent): boolean {
    if (this.done) return false
    // an indexed store, not `push`: its feedback (the array's map) lets the optimizer store in place
    const events = this.events
    events[events.length] = event
    this.summary.add(event)
    if (event._tag === "TurnStarted") {
      this.current = RUNNING
      this.activeTurnId = event.turn.id
    } else if (event._tag === "TurnCompleted") {
      // the time of the end, so a client-measured duration does not grow with how late `result` is read
      this.current = { _tag: "Completed", at: performance.now() }
      this.done = true
      this.runEndHooks()
    }
    return true
  }

  fail(error: CodexError.CodexError): void {
    if (this.done) return
    this.current = { _tag: "Failed", error }
    this.done = true
    this.runEndHooks()
    this.wake()
  }

  /**
   * Calls `f` once the turn has ended (at once if it has), synchronously and
   * before anyone waiting for the end is woken. `f` must not throw.
   */
  onEnd(f: () => void): void {
    if (this.ended) f()
    else (this.endHooks ??= []).push(f)
  }

  private runEndHooks(): void {
    const hooks = this.endHooks
    if (hooks === undefined) return
    this.endHooks = undefined
    for (const hook of hooks) hook()
  }

  /** codex rejects `turn/interrupt` before `turn/started` ("no active turn to interrupt"). */
  get started(): boolean {
    return this.phase._tag !== "Waiting"
  }

  /** Where the turn is; only {@link append} and {@link fail} move it. */
  get phase(): Phase {
    return this.current
  }

  /** Completed or failed: nothing more will happen to it. */
  get ended(): boolean {
    return this.done
  }

  /** When `turn/completed` arrived (`performance.now()`), if it did. */
  get endedAt(): number | undefined {
    return this.phase._tag === "Completed" ? this.phase.at : undefined
  }

  /** Resumes everyone waiting for a change (Effect resumes them synchronously). */
  wake(): void {
    this.signal.wake()
  }

  /** Waits until something changes (an event, the end, a failure). */
  get changed(): Effect.Effect<void> {
    return this.signal.wait
  }

  /** Waits for the end of the turn. */
  readonly awaitEnd: Effect.Effect<void, CodexError.CodexError> = Effect.suspend(() => {
    switch (this.phase._tag) {
      case "Completed":
        return Effect.void
      case "Failed":
        return Effect.fail(this.phase.error)
      default:
        return Effect.flatMap(this.changed, () => this.awaitEnd)
    }
  })

  /** Every event from the first, then live ones, ending after `TurnCompleted`. */
  readonly stream: Stream.Stream<TurnEvent.TurnEvent, CodexError.CodexError> = Stream.fromPull(Effect.sync(() => {
    let index = 0
    const pull: Effect.Effect<Arr.NonEmptyReadonlyArray<TurnEvent.TurnEvent>, CodexError.CodexError | Cause.Done> =
      Effect.suspend(() => {
        if (index < this.events.length) {
          const end = Math.min(this.events.length, index + MAX_CHUNK)
          const chunk = this.events.slice(index, end) as unknown as Arr.NonEmptyReadonlyArray<TurnEvent.TurnEvent>
          index = end
          return Effect.succeed(chunk)
        }
        switch (this.phase._tag) {
          case "Completed":
            return Effect.fail(Cause.Done())
          case "Failed":
            return Effect.fail(this.phase.error)
          default:
            return Effect.flatMap(this.changed, () => pull)
        }
      })
    return pull
  }))
}

/** The turn a message names: `params.turnId`, else `params.turn.id`. */
const turnIdOf = (params: Record<string, unknown>): string | undefined => {
  if (typeof params.turnId === "string") return params.turnId
  const turn = params.turn as { id?: unknown } | null | undefined
  return typeof turn === "object" && turn !== null && typeof turn.id === "string" ? turn.id : undefined
}

/**
 * The turn a `turn/started` starts on behalf of, when it names another one:
 * a review's `turn/started` carries an inner turn id, and the review's own id
 * (the one `review/start` answers, and every other event of the review
 * carries) as `rootTurnId`.
 */
const rootOf = (event: TurnEvent.TurnEvent): string | undefined => {
  if (event._tag !== "TurnStarted") return undefined
  const root = event.turn.rootTurnId
  return typeof root === "string" && root !== event.turn.id ? root : undefined
}

/** A routed event nobody claimed yet, with the ids it names. */
interface Buffered {
  readonly threadId: string
  readonly turnId: string
  readonly event: TurnEvent.TurnEvent
}

/** Whether a buffered event belongs to the turn `turnId`: it names it, or starts on its behalf. */
const belongsTo = (entry: Buffered, turnId: string): boolean =>
  entry.turnId === turnId || rootOf(entry.event) === turnId

interface PendingStart {
  count: number
  readonly buffer: Array<Buffered>
  // Callers of `awaitUnclaimed`, told the id of the first turn codex starts on
  // this thread by itself (`thread/compact/start` runs one).
  readonly watchers: Array<(outcome: { readonly turnId: string } | { readonly error: CodexError.CodexError }) => void>
  // Turns of this thread that ended while the start was in flight. A
  // `turn/start` sent while a turn is active is answered with the active
  // turn's id (codex steers it), and that turn's `turn/completed` may be
  // routed before the answer is read: `claim` must then find the ended turn,
  // not make a new one that never ends. Kept only while a start is pending.
  readonly ended: Array<TurnState>
}

/** The router of one connection. */
export class Router {
  private readonly turns = new Map<string, TurnState>()
  private readonly starts = new Map<string, PendingStart>()
  // serverRequest/resolved names the request, not the turn.
  private readonly requestTurns = new Map<string | number, TurnState>()
  // While a start may answer with a thread nobody knows yet (a review
  // delivered on a new thread), the events of threads with no start pending
  // are kept here, to be claimed by that answer.
  private elsewhere = 0
  private readonly orphans: Array<Buffered> = []
  private failure: CodexError.CodexError | undefined
  // Turns changed since the last `endBatch`; a turn may appear more than once (waking twice is harmless).
  private dirty: Array<TurnState> = []
  // The turn the last routed message went to, while it is in `turns`: a turn's
  // events come in runs, and comparing its id costs less than hashing the
  // fresh copy of it each parsed line carries.
  private last: TurnState | undefined = undefined

  /** Routes one message from the connection and wakes the turn it changed. */
  route(incoming: Incoming): void {
    this.routeInBatch(incoming)
    this.endBatch()
  }

  /**
   * Routes one message of a batch: the turn it changes is woken by
   * {@link endBatch}, so a turn's stream resumes once per batch, not per event.
   */
  routeInBatch(incoming: Incoming): void {
    if (incoming._tag === "Notification" && incoming.method === "serverRequest/resolved") {
      const requestId = incoming.params.requestId
      const turn = this.requestTurns.get(requestId)
      if (turn !== undefined) {
        this.requestTurns.delete(requestId)
        this.add(turn, TurnEvent.fromIncoming(incoming))
        return
      }
      // The request may still wait in a start buffer (the turn/start response
      // has not named its turn yet): buffer the resolution under that turn.
      const start = this.starts.get(incoming.params.threadId)
      const requested = start?.buffer.find((entry) =>
        entry.event._tag === "ApprovalRequested" && entry.event.requestId === requestId
      )
      if (requested !== undefined) {
        start!.buffer.push({ threadId: requested.threadId, turnId: requested.turnId, event: TurnEvent.fromIncoming(incoming) })
      }
      return
    }
    const params = incoming.params as Record<string, unknown> | null | undefined
    if (typeof params !== "object" || params === null) return
    const threadId = typeof params.threadId === "string" ? params.threadId : undefined
    const turnId = turnIdOf(params)
    if (turnId === undefined) return
    const last = this.last
    const turn = last !== undefined && last.turnId === turnId ? last : this.lookup(turnId)
    if (turn !== undefined && (threadId === undefined || threadId === turn.threadId)) {
      this.deliver(turn, incoming)
      return
    }
    if (threadId === undefined) return
    if (incoming._tag === "Notification" && incoming.method === "turn/started") {
      const event = TurnEvent.fromIncoming(incoming)
      const root = rootOf(event)
      const owner = root === undefined ? undefined : this.turns.get(root)
      // only a turn that has not started yet: a review waiting for its inner turn
      if (owner !== undefined && owner.threadId === threadId && !owner.started) {
        this.add(owner, event)
        return
      }
    }
    const start = this.starts.get(threadId)
    if (start !== undefined) {
      start.buffer.push({ threadId, turnId, event: TurnEvent.fromIncoming(incoming) })
      if (start.watchers.length > 0) {
        const watchers = start.watchers.splice(0)
        for (const watcher of watchers) watcher({ turnId })
      }
    } else if (this.elsewhere > 0) {
      this.orphans.push({ threadId, turnId, event: TurnEvent.fromIncoming(incoming) })
    }
  }

  private lookup(turnId: string): TurnState | undefined {
    const turn = this.turns.get(turnId)
    if (turn !== undefined) this.last = turn
    return turn
  }

  private deliver(turn: TurnState, incoming: Incoming): void {
    if (incoming._tag === "ServerRequest") this.requestTurns.set(incoming.id, turn)
    const event = (incoming._tag === "Notification" ? turn.delta(incoming) : undefined) ?? TurnEvent.fromIncoming(incoming)
    this.add(turn, event)
    if (turn.ended) this.release(turn)
  }

  private add(turn: TurnState, event: TurnEvent.TurnEvent): void {
    if (turn.append(event) && this.dirty[this.dirty.length - 1] !== turn) this.dirty.push(turn)
  }

  /** Wakes every turn changed since the last call (its streams, its result). */
  endBatch(): void {
    if (this.dirty.length === 0) return
    const dirty = this.dirty
    this.dirty = []
    for (const turn of dirty) turn.wake()
  }

  private release(turn: TurnState): void {
    if (this.last === turn) this.last = undefined
    if (this.turns.get(turn.turnId) === turn) this.turns.delete(turn.turnId)
    for (const [id, owner] of this.requestTurns) if (owner === turn) this.requestTurns.delete(id)
    this.starts.get(turn.threadId)?.ended.push(turn)
  }

  /** A `turn/start` (or steer) is about to be sent on `threadId`: buffer its events. */
  beginStart(threadId: string): void {
    const start = this.starts.get(threadId)
    if (start === undefined) this.starts.set(threadId, { count: 1, buffer: [], watchers: [], ended: [] })
    else start.count++
  }

  /** The `turn/start` on `threadId` ended (answered or failed). */
  endStart(threadId: string): void {
    const start = this.starts.get(threadId)
    if (start === undefined) return
    if (--start.count === 0) this.starts.delete(threadId)
  }

  /**
   * A start whose answer may name a thread with no start pending (a review
   * delivered on a new thread) is about to be sent: keep such threads' events
   * too. Call {@link endStartElsewhere} when it is answered (after `claim`).
   */
  beginStartElsewhere(): void {
    this.elsewhere++
  }

  /** The start of {@link beginStartElsewhere} ended; what nobody claimed is dropped. */
  endStartElsewhere(): void {
    if (--this.elsewhere === 0) this.orphans.length = 0
  }

  /**
   * The turn named by a `turn/start` response: the existing one when codex
   * steered an active turn, else a new one holding what was buffered for it.
   */
  claim(threadId: string, turnId: string): TurnState {
    const existing = this.turns.get(turnId) ??
      this.starts.get(threadId)?.ended.find((turn) => turn.turnId === turnId)
    if (existing !== undefined) return existing
    const turn = new TurnState(threadId, turnId)
    if (this.failure !== undefined) {
      turn.fail(this.failure)
      return turn
    }
    const start = this.starts.get(threadId)
    if (start !== undefined) this.takeFrom(start.buffer, turn)
    if (this.orphans.length > 0) this.takeFrom(this.orphans, turn)
    if (!turn.ended) this.turns.set(turnId, turn)
    else this.release(turn)
    return turn
  }

  /** Moves the events of `turn` out of a buffer, in order, into the turn. */
  private takeFrom(buffer: Array<Buffered>, turn: TurnState): void {
    const kept = buffer.filter((entry) => {
      if (entry.threadId !== turn.threadId || !belongsTo(entry, turn.turnId)) return true
      if (entry.event._tag === "ApprovalRequested") this.requestTurns.set(entry.event.requestId, turn)
      turn.push(entry.event)
      return false
    })
    buffer.length = 0
    buffer.push(...kept)
  }

  /**
   * The next turn codex starts on `threadId` by itself (the turn of
   * `thread/compact/start`), claimed with the events buffered for it.
   * Call between `beginStart` and `endStart`.
   */
  awaitUnclaimed(threadId: string): Effect.Effect<TurnState, CodexError.CodexError> {
    return Effect.suspend(() => {
      if (this.failure !== undefined) return Effect.fail(this.failure)
      const start = this.starts.get(threadId)
      if (start === undefined) return Effect.die(new Error("Router.awaitUnclaimed outside beginStart/endStart"))
      const buffered = start.buffer[0]
      if (buffered !== undefined) return Effect.succeed(this.claim(threadId, buffered.turnId))
      return Effect.callback<TurnState, CodexError.CodexError>((resume) => {
        const watcher = (outcome: { readonly turnId: string } | { readonly error: CodexError.CodexError }) =>
          resume("error" in outcome ? Effect.fail(outcome.error) : Effect.sync(() => this.claim(threadId, outcome.turnId)))
        start.watchers.push(watcher)
        return Effect.sync(() => {
          const index = start.watchers.indexOf(watcher)
          if (index >= 0) start.watchers.splice(index, 1)
        })
      })
    })
  }

  /**
   * The ids of the claimed turns of `threadId` that have not ended. A turn
   * that ended is released when its end is routed, before its waiters wake;
   * the filter is for turns failed with the connection.
   */
  openOn(threadId: string): ReadonlyArray<string> {
    const ids: Array<string> = []
    for (const turn of this.turns.values()) if (turn.threadId === threadId && !turn.ended) ids.push(turn.turnId)
    return ids
  }

  /** The turn with this id, if it is still running. */
  active(turnId: string): TurnState | undefined {
    return this.turns.get(turnId)
  }

  /** The connection ended: every open turn fails with its reason. */
  failAll(error: CodexError.CodexError): void {
    this.failure ??= error
    // what the last batch routed is seen before the failure
    this.endBatch()
    for (const turn of this.turns.values()) turn.fail(error)
    this.turns.clear()
    this.last = undefined
    this.requestTurns.clear()
    for (const start of this.starts.values()) {
      for (const watcher of start.watchers.splice(0)) watcher({ error })
    }
  }
}
