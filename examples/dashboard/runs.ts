/**
 * The dashboard's runs: every turn it starts, each in a fiber of its own (so a page that reloads or
 * closes does not stop it), with the events the page shows kept for replay.
 *
 * - `fix(ticketId)` starts a thread for a ticket (named after it) and its first turn.
 * - `followUp(threadId, prompt)` resumes a thread (`Codex.resumeThread`) and runs the next turn.
 * - `events(turnId, after)` is a turn's page events from the one after `after`: all of them, then
 *   the live ones until the turn ends (a reconnecting EventSource sends the last id it saw). For a
 *   run whose events were dropped: its summary (`turn`, `events-dropped`, `done`).
 * - `kept` is what is kept: the runs, how many events each holds, what was dropped (`GET /api/runs`).
 * - `answer` settles an approval left to `Approvals.manual`; `interrupt` stops a turn.
 * - `threads` lists the workspace's stored threads (`Codex.listThreads`, so threads of an earlier
 *   run of the server are listed too when `CODEX_HOME` is kept) with what this process saw of them.
 *
 * Closing the layer's Scope (the server stops) interrupts every running turn.
 *
 * Memory is bounded by two limits, whatever the uptime: the last `keepRuns` runs are remembered
 * (older finished ones are forgotten; their threads stay listed, from codex), and of those only the
 * last `keepRunEvents` finished runs keep their events for replay; the others keep their summary
 * (status, final answer, usage, duration), which is what the thread list and a replay then show.
 * A running turn keeps everything until it ends. codex keeps every thread's history on disk anyway:
 * this is a view of the recent past, not an archive.
 */
import { Cause, Context, Data, Deferred, Effect, Exit, FiberSet, Layer, PubSub, Stream } from "effect"
import type * as Take from "effect/Take"
import { Approvals, Codex, type CodexError, type JsonRpc, type Thread, TurnEvent } from "effect-codex"
import * as Tickets from "./tickets.ts"

// =============================================================================
// Page events
// =============================================================================

/** One Server-Sent Event for the page: its name and JSON data. */
export interface PageEvent {
  readonly event: string
  readonly data: Readonly<Record<string, unknown>>
}

type Item = Extract<TurnEvent.TurnEvent, { readonly _tag: "ItemStarted" }>["item"]

// An item as the page draws it; `undefined` for items it shows through their deltas only.
const itemEvent = (item: Item, completed: boolean): PageEvent | undefined => {
  switch (item.type) {
    case "commandExecution":
      return {
        event: "command",
        data: {
          itemId: item.id,
          command: Approvals.unwrapShell(item.command),
          cwd: item.cwd,
          status: item.status,
          exitCode: item.exitCode ?? null,
          // the first chunk of output may come only here, never as a delta
          output: completed ? item.aggregatedOutput ?? "" : null
        }
      }
    case "fileChange":
      return {
        event: "file-change",
        data: {
          itemId: item.id,
          status: item.status,
          changes: item.changes.map((change) => ({ path: change.path, kind: change.kind.type, diff: change.diff }))
        }
      }
    case "agentMessage":
      return completed ? { event: "message", data: { itemId: item.id, text: item.text, phase: item.phase ?? null } } : undefined
    case "reasoning": // its deltas are the reasoning step
      return undefined
    default: {
      const line = completed ? undefined : TurnEvent.describe({ _tag: "ItemStarted", item } as TurnEvent.TurnEvent)
      return line === undefined ? undefined : { event: "progress", data: { line } }
    }
  }
}

/** What the page shows of one turn event (nothing for most of codex's bookkeeping). */
export const pageEvent = (event: TurnEvent.TurnEvent): PageEvent | undefined => {
  switch (event._tag) {
    case "ReasoningDelta":
      return { event: "reasoning", data: { itemId: event.itemId, text: event.delta } }
    case "AgentMessageDelta":
      return { event: "delta", data: { itemId: event.itemId, text: event.delta } }
    case "CommandOutputDelta":
      return { event: "output", data: { itemId: event.itemId, text: event.delta } }
    case "DiffUpdated":
      return { event: "diff", data: { diff: event.diff } }
    case "ItemStarted":
      return itemEvent(event.item, false)
    case "ItemCompleted":
      return itemEvent(event.item, true)
    case "TokenUsageUpdated":
      return { event: "usage", data: { total: event.tokenUsage.total.totalTokens } }
    case "Error":
      return { event: "progress", data: { line: TurnEvent.describe(event) ?? event.error.message } }
    case "ApprovalRequested":
      switch (event.method) {
        case "item/commandExecution/requestApproval":
          return {
            event: "approval",
            data: {
              requestId: event.requestId,
              kind: "command",
              itemId: event.params.itemId,
              command: Approvals.unwrapShell(event.params.command ?? ""),
              cwd: event.params.cwd ?? null,
              reason: event.params.reason ?? null
            }
          }
        case "item/fileChange/requestApproval":
          return {
            event: "approval",
            data: { requestId: event.requestId, kind: "fileChange", itemId: event.params.itemId, reason: event.params.reason ?? null }
          }
        default: // answered by the Approvals layer's defaults; shown as a line
          return { event: "progress", data: { line: TurnEvent.describe(event) } }
      }
    case "Other":
      // codex settled a request (answered, or the turn ended): its buttons go away
      return event.method === "serverRequest/resolved"
        ? { event: "approval-resolved", data: { requestId: (event.params as { readonly requestId: JsonRpc.RequestId }).requestId } }
        : undefined
    default:
      return undefined
  }
}

// =============================================================================
// Service
// =============================================================================

/** A request the dashboard refuses, with the HTTP status it answers. */
export class Refused extends Data.TaggedError("Refused")<{ readonly status: number; readonly message: string }> {}

/** How a turn ended, or that it still runs. */
export type Status = "running" | "completed" | "interrupted" | "failed"

/** One turn as the thread list shows it. */
export interface TurnView {
  readonly turnId: string
  readonly prompt: string
  status: Status
  finalResponse: string | null
  /** Whether its events are still kept (false: only this summary is). */
  events: boolean
}

/** One thread of the list. */
export interface ThreadView {
  readonly threadId: string
  readonly name: string
  readonly preview: string
  readonly updatedAt: number
  readonly running: boolean
  /** The turns this process ran and still remembers (none for a thread of an earlier run). */
  readonly turns: ReadonlyArray<TurnView>
  /** Earlier turns of this thread that were forgotten (beyond `keepRuns`). */
  readonly droppedTurns: number
}

/** A turn that was started: where its events are. */
export interface Started {
  readonly threadId: string
  readonly turnId: string
}

/** What the dashboard keeps in memory, and what it dropped. */
export interface Kept {
  readonly limits: { readonly runs: number; readonly runEvents: number }
  /** The runs remembered, oldest first; `events`: how many page events it holds (null: summary only). */
  readonly runs: ReadonlyArray<{ readonly turnId: string; readonly threadId: string; readonly status: Status; readonly events: number | null }>
  /** Page events held, over every run. */
  readonly events: number
  /** Runs forgotten since the server started. */
  readonly droppedRuns: number
  /** Runs whose events were dropped (their summary kept) since the server started, forgotten ones included. */
  readonly droppedRunEvents: number
}

/** The runs service. */
export interface Service {
  readonly tickets: ReadonlyArray<Tickets.Ticket>
  readonly fix: (ticketId: string) => Effect.Effect<Started, Refused>
  readonly followUp: (threadId: string, prompt: string) => Effect.Effect<Started, Refused>
  readonly events: (turnId: string, after: number) => Effect.Effect<Stream.Stream<[PageEvent, number]>, Refused>
  readonly answer: (turnId: string, requestId: JsonRpc.RequestId, decision: "accept" | "decline") => Effect.Effect<void, Refused>
  readonly interrupt: (turnId: string) => Effect.Effect<void, Refused>
  readonly threads: Effect.Effect<ReadonlyArray<ThreadView>, Refused>
  readonly kept: Effect.Effect<Kept>
}

/** The key of the runs service. */
export class Runs extends Context.Service<Runs, Service>()("examples/dashboard/Runs") {}

/** How a run ended, as a replay of a run without its events shows it (the `done` event's data). */
type Summary = Readonly<Record<string, unknown>>

interface Live {
  readonly view: TurnView
  readonly threadId: string
  readonly name: string
  readonly interrupt: Effect.Effect<void, CodexError.CodexError>
  /** Its page events, replayed to every page that opens it; dropped (undefined) once it is old enough. */
  events: PubSub.PubSub<Take.Take<PageEvent>> | undefined
  /** How many page events it published (and holds, while `events` is kept). */
  eventCount: number
  summary: Summary | undefined
}

interface ThreadRecord {
  readonly name: string
  readonly turns: Array<TurnView>
  droppedTurns: number
}

const fromCodex = (error: CodexError.CodexError) => new Refused({ status: 502, message: error.message })

/** Options of {@link layer}. */
export interface Options {
  /** Where every thread runs (its `cwd`; the sandbox lets codex write there). */
  readonly workspace: string
  readonly tickets: ReadonlyArray<Tickets.Ticket>
  /** How many runs to remember (running ones always are); older finished ones are forgotten. Default 100. */
  readonly keepRuns?: number | undefined
  /** How many finished runs keep their events for replay; older ones keep their summary. Default 20. */
  readonly keepRunEvents?: number | undefined
}

/** The default of `keepRuns`. */
export const KEEP_RUNS = 100
/** The default of `keepRunEvents`. */
export const KEEP_RUN_EVENTS = 20

/** Builds the service; needs `Codex` and the `Approvals` service that `Codex` uses. */
export const make = (options: Options) =>
  Effect.gen(function*() {
    const codex = yield* Codex.Codex
    const approvals = yield* Approvals.Approvals
    const fibers = yield* FiberSet.make()
    const limits = { runs: options.keepRuns ?? KEEP_RUNS, runEvents: options.keepRunEvents ?? KEEP_RUN_EVENTS }
    if (!Number.isInteger(limits.runs) || limits.runs < 1 || !Number.isInteger(limits.runEvents) || limits.runEvents < 0) {
      return yield* Effect.die(new Error(`keepRuns must be a whole number >= 1 and keepRunEvents >= 0: ${JSON.stringify(limits)}`))
    }
    // Only threads with runs remembered have a record; the others are listed from codex alone.
    const threads = new Map<string, ThreadRecord>()
    // Every run remembered, in the order they started (a Map keeps insertion order).
    const runs = new Map<string, Live>()
    let droppedRuns = 0
    let droppedRunEvents = 0
    // Commands asking to leave the sandbox, and file changes outside the workspace, ask the page.
    const threadOptions = { cwd: options.workspace, sandbox: "workspace-write", approvalPolicy: "on-request" } as const

    const runningOn = (threadId: string) =>
      [...runs.values()].some((live) => live.threadId === threadId && live.view.status === "running")

    // After a run starts or ends: forget the oldest finished runs beyond `keepRuns`, then drop the
    // events of the oldest finished runs beyond `keepRunEvents`. A page replaying a run whose events
    // are dropped keeps its subscription to the end; a later replay gets the summary.
    const prune = () => {
      const finished = [...runs.values()].filter((live) => live.view.status !== "running")
      let forget = runs.size - limits.runs
      for (const live of finished) {
        if (forget <= 0) break
        forget--
        runs.delete(live.view.turnId)
        droppedRuns++
        if (live.events !== undefined) droppedRunEvents++
        const record = threads.get(live.threadId)
        if (record !== undefined) {
          const index = record.turns.indexOf(live.view)
          if (index >= 0) record.turns.splice(index, 1)
          record.droppedTurns++
          if (record.turns.length === 0) threads.delete(live.threadId)
        }
      }
      const withEvents = finished.filter((live) => runs.has(live.view.turnId) && live.events !== undefined)
      for (const live of withEvents.slice(0, Math.max(0, withEvents.length - limits.runEvents))) {
        live.events = undefined
        live.view.events = false
        droppedRunEvents++
      }
    }

    // Starts a turn in a fiber of its own; succeeds once codex accepted it.
    const begin = (thread: Thread.Thread, record: ThreadRecord, prompt: string) =>
      Effect.gen(function*() {
        const accepted = yield* Deferred.make<Started, Refused>()
        const run = Effect.gen(function*() {
          const turn = yield* thread.turn(prompt)
          const events = yield* PubSub.unbounded<Take.Take<PageEvent>>({ replay: Infinity })
          const view: TurnView = { turnId: turn.id, prompt, status: "running", finalResponse: null, events: true }
          const live: Live = {
            view,
            threadId: thread.id,
            name: record.name,
            interrupt: turn.interrupt,
            events,
            eventCount: 0,
            summary: undefined
          }
          runs.set(turn.id, live)
          // the record may have been dropped (all its runs forgotten) since this thread was picked up
          threads.set(thread.id, record)
          record.turns.push(view)
          prune()
          const publish = (event: PageEvent) => {
            live.eventCount++
            return PubSub.publish(events, [event])
          }
          yield* publish({ event: "turn", data: { threadId: thread.id, turnId: turn.id, name: record.name, prompt } })
          yield* Deferred.succeed(accepted, { threadId: thread.id, turnId: turn.id })

          let diff = ""
          const outcome = yield* turn.events.pipe(
            Stream.runForEach((event) => {
              if (event._tag === "DiffUpdated") diff = event.diff
              const page = pageEvent(event)
              return page === undefined ? Effect.void : publish(page)
            }),
            Effect.andThen(turn.result),
            Effect.exit
          )
          // codex keeps a thread loaded while a connection is subscribed to it: let it go (a follow-up resumes
          // it). Before the status leaves "running", so no follow-up resumes it in between.
          yield* Effect.ignore(thread.unsubscribe)
          if (Exit.isSuccess(outcome)) {
            view.status = outcome.value.status
            view.finalResponse = outcome.value.finalResponse ?? null
          } else {
            view.status = "failed"
          }
          const summary = Exit.isSuccess(outcome)
            ? {
              status: outcome.value.status,
              finalResponse: outcome.value.finalResponse ?? null,
              usage: outcome.value.usage?.total.totalTokens ?? null,
              durationMs: outcome.value.durationMs
            }
            : { status: "failed", finalResponse: null, error: errorMessage(outcome.cause) }
          live.summary = summary
          yield* publish({ event: "done", data: { ...summary, diff } })
          yield* PubSub.publish(events, Exit.void)
          prune()
        }).pipe(
          Effect.scoped, // the turn's Scope: open while the turn runs
          Effect.catch((error: CodexError.CodexError) => Deferred.fail(accepted, fromCodex(error))),
          // a no-op once accepted; otherwise the request that started it gets an answer
          Effect.onExit(() => Deferred.fail(accepted, new Refused({ status: 500, message: "the turn did not start" })))
        )
        yield* FiberSet.run(fibers, run)
        return yield* Deferred.await(accepted)
      })

    const fix = (ticketId: string) =>
      Effect.gen(function*() {
        const ticket = options.tickets.find((t) => t.id === ticketId)
        if (ticket === undefined) return yield* new Refused({ status: 404, message: `no ticket ${ticketId}` })
        const thread = yield* codex.startThread(threadOptions).pipe(Effect.mapError(fromCodex))
        const name = `${ticket.id}: ${ticket.title}`
        yield* thread.setName(name).pipe(Effect.mapError(fromCodex))
        return yield* begin(thread, { name, turns: [], droppedTurns: 0 }, Tickets.fixPrompt(ticket))
      })

    const followUp = (threadId: string, prompt: string) =>
      Effect.gen(function*() {
        // codex would steer the running turn instead; the page waits for the end of a turn
        if (runningOn(threadId)) return yield* new Refused({ status: 409, message: "a turn is running on this thread" })
        const thread = yield* codex.resumeThread(threadId, threadOptions).pipe(Effect.mapError(fromCodex))
        const record = threads.get(threadId) ?? { name: thread.info.name ?? thread.info.preview, turns: [], droppedTurns: 0 }
        return yield* begin(thread, record, prompt)
      })

    const liveTurn = (turnId: string) =>
      Effect.suspend(() => {
        const live = runs.get(turnId)
        return live === undefined
          ? Effect.fail(new Refused({ status: 404, message: `no turn ${turnId} (the dashboard remembers the last ${limits.runs} runs)` }))
          : Effect.succeed(live)
      })

    // A run without its events: what it was and how it ended, with ids as a replay's would start.
    const summaryOf = (live: Live): ReadonlyArray<PageEvent> => [
      { event: "turn", data: { threadId: live.threadId, turnId: live.view.turnId, name: live.name, prompt: live.view.prompt } },
      { event: "events-dropped", data: { events: live.eventCount, keepRunEvents: limits.runEvents } },
      { event: "done", data: { ...live.summary, diff: null } }
    ]

    const events = (turnId: string, after: number) =>
      Effect.map(liveTurn(turnId), (live) => {
        const source = live.events === undefined
          ? Stream.fromIterable(summaryOf(live))
          : Stream.fromPubSubTake(live.events)
        return source.pipe(
          Stream.zipWithIndex,
          Stream.filter(([, index]) => index > after)
        )
      })

    const answer = (turnId: string, requestId: JsonRpc.RequestId, decision: "accept" | "decline") =>
      Effect.gen(function*() {
        const live = yield* liveTurn(turnId)
        const answered = yield* approvals.respond(requestId, { decision })
        if (!answered) return yield* new Refused({ status: 404, message: `nothing waits for an answer to request ${requestId}` })
        if (live.events !== undefined) {
          live.eventCount++
          yield* PubSub.publish(live.events, [{ event: "approval-resolved", data: { requestId, decision } }])
        }
      })

    const interrupt = (turnId: string) =>
      Effect.gen(function*() {
        const live = yield* liveTurn(turnId)
        if (live.view.status !== "running") return yield* new Refused({ status: 409, message: `turn ${turnId} has ended` })
        yield* live.interrupt.pipe(Effect.mapError(fromCodex))
      })

    const list = Effect.gen(function*() {
      const stored = yield* codex.listThreads({ cwd: options.workspace, sortKey: "updated_at", limit: 50 }).pipe(
        Effect.mapError(fromCodex)
      )
      return stored.data.map((thread): ThreadView => {
        const record = threads.get(thread.id)
        return {
          threadId: thread.id,
          name: thread.name ?? record?.name ?? thread.preview,
          preview: thread.preview,
          updatedAt: thread.updatedAt,
          running: runningOn(thread.id),
          turns: record?.turns ?? [],
          droppedTurns: record?.droppedTurns ?? 0
        }
      })
    })

    const kept = Effect.sync((): Kept => {
      const list = [...runs.values()].map((live) => ({
        turnId: live.view.turnId,
        threadId: live.threadId,
        status: live.view.status,
        events: live.events === undefined ? null : live.eventCount
      }))
      return {
        limits,
        runs: list,
        events: list.reduce((sum, run) => sum + (run.events ?? 0), 0),
        droppedRuns,
        droppedRunEvents
      }
    })

    return Runs.of({ tickets: options.tickets, fix, followUp, events, answer, interrupt, threads: list, kept })
  })

const errorMessage = (cause: Cause.Cause<unknown>): string => {
  const error = Cause.squash(cause)
  return error instanceof Error ? error.message : String(error)
}

/** The runs service, for the life of the layer. */
export const layer = (options: Options): Layer.Layer<Runs, never, Codex.Codex | Approvals.Approvals> =>
  Layer.effect(Runs, make(options))
