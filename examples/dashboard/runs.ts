/**
 * The dashboard's runs: every turn it starts, each in a fiber of its own (so a page that reloads or
 * closes does not stop it), with the events the page shows kept for replay.
 *
 * - `fix(ticketId)` starts a thread for a ticket (named after it) and its first turn.
 * - `followUp(threadId, prompt)` resumes a thread (`Codex.resumeThread`) and runs the next turn.
 * - `events(turnId, after)` is a turn's page events from the one after `after`: all of them, then
 *   the live ones until the turn ends (a reconnecting EventSource sends the last id it saw).
 * - `answer` settles an approval left to `Approvals.manual`; `interrupt` stops a turn.
 * - `threads` lists the workspace's stored threads (`Codex.listThreads`, so threads of an earlier
 *   run of the server are listed too when `CODEX_HOME` is kept) with what this process saw of them.
 *
 * Closing the layer's Scope (the server stops) interrupts every running turn. What this process saw of
 * its turns stays in memory for its lifetime (a few kilobytes a turn): enough for a dashboard, not an archive.
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
}

/** One thread of the list. */
export interface ThreadView {
  readonly threadId: string
  readonly name: string
  readonly preview: string
  readonly updatedAt: number
  readonly running: boolean
  /** The turns this process ran (none for a thread of an earlier run). */
  readonly turns: ReadonlyArray<TurnView>
}

/** A turn that was started: where its events are. */
export interface Started {
  readonly threadId: string
  readonly turnId: string
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
}

/** The key of the runs service. */
export class Runs extends Context.Service<Runs, Service>()("examples/dashboard/Runs") {}

interface Live {
  readonly view: TurnView
  readonly threadId: string
  readonly interrupt: Effect.Effect<void, CodexError.CodexError>
  readonly events: PubSub.PubSub<Take.Take<PageEvent>>
}

interface ThreadRecord {
  readonly name: string
  readonly turns: Array<TurnView>
}

const fromCodex = (error: CodexError.CodexError) => new Refused({ status: 502, message: error.message })

/** Options of {@link layer}. */
export interface Options {
  /** Where every thread runs (its `cwd`; the sandbox lets codex write there). */
  readonly workspace: string
  readonly tickets: ReadonlyArray<Tickets.Ticket>
}

/** Builds the service; needs `Codex` and the `Approvals` service that `Codex` uses. */
export const make = (options: Options) =>
  Effect.gen(function*() {
    const codex = yield* Codex.Codex
    const approvals = yield* Approvals.Approvals
    const fibers = yield* FiberSet.make()
    const threads = new Map<string, ThreadRecord>()
    const turns = new Map<string, Live>()
    // Commands asking to leave the sandbox, and file changes outside the workspace, ask the page.
    const threadOptions = { cwd: options.workspace, sandbox: "workspace-write", approvalPolicy: "on-request" } as const

    const runningOn = (threadId: string) =>
      [...turns.values()].some((live) => live.threadId === threadId && live.view.status === "running")

    // Starts a turn in a fiber of its own; succeeds once codex accepted it.
    const begin = (thread: Thread.Thread, record: ThreadRecord, prompt: string) =>
      Effect.gen(function*() {
        const accepted = yield* Deferred.make<Started, Refused>()
        const run = Effect.gen(function*() {
          const turn = yield* thread.turn(prompt)
          const events = yield* PubSub.unbounded<Take.Take<PageEvent>>({ replay: Infinity })
          const view: TurnView = { turnId: turn.id, prompt, status: "running", finalResponse: null }
          turns.set(turn.id, { view, threadId: thread.id, interrupt: turn.interrupt, events })
          record.turns.push(view)
          const publish = (event: PageEvent) => PubSub.publish(events, [event])
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
          if (Exit.isSuccess(outcome)) {
            view.status = outcome.value.status
            view.finalResponse = outcome.value.finalResponse ?? null
          } else {
            view.status = "failed"
          }
          yield* publish({
            event: "done",
            data: Exit.isSuccess(outcome)
              ? {
                status: outcome.value.status,
                finalResponse: outcome.value.finalResponse ?? null,
                diff,
                usage: outcome.value.usage?.total.totalTokens ?? null,
                durationMs: outcome.value.durationMs
              }
              : { status: "failed", finalResponse: null, diff, error: errorMessage(outcome.cause) }
          })
          yield* PubSub.publish(events, Exit.void)
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
        const record: ThreadRecord = { name, turns: [] }
        threads.set(thread.id, record)
        return yield* begin(thread, record, Tickets.fixPrompt(ticket))
      })

    const followUp = (threadId: string, prompt: string) =>
      Effect.gen(function*() {
        // codex would steer the running turn instead; the page waits for the end of a turn
        if (runningOn(threadId)) return yield* new Refused({ status: 409, message: "a turn is running on this thread" })
        const thread = yield* codex.resumeThread(threadId, threadOptions).pipe(Effect.mapError(fromCodex))
        let record = threads.get(threadId)
        if (record === undefined) {
          record = { name: thread.info.name ?? thread.info.preview, turns: [] }
          threads.set(threadId, record)
        }
        return yield* begin(thread, record, prompt)
      })

    const liveTurn = (turnId: string) =>
      Effect.suspend(() => {
        const live = turns.get(turnId)
        return live === undefined ? Effect.fail(new Refused({ status: 404, message: `no turn ${turnId}` })) : Effect.succeed(live)
      })

    const events = (turnId: string, after: number) =>
      Effect.map(liveTurn(turnId), (live) =>
        Stream.fromPubSubTake(live.events).pipe(
          Stream.zipWithIndex,
          Stream.filter(([, index]) => index > after)
        ))

    const answer = (turnId: string, requestId: JsonRpc.RequestId, decision: "accept" | "decline") =>
      Effect.gen(function*() {
        const live = yield* liveTurn(turnId)
        const answered = yield* approvals.respond(requestId, { decision })
        if (!answered) return yield* new Refused({ status: 404, message: `nothing waits for an answer to request ${requestId}` })
        yield* PubSub.publish(live.events, [{ event: "approval-resolved", data: { requestId, decision } }])
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
          turns: record?.turns ?? []
        }
      })
    })

    return Runs.of({ tickets: options.tickets, fix, followUp, events, answer, interrupt, threads: list })
  })

const errorMessage = (cause: Cause.Cause<unknown>): string => {
  const error = Cause.squash(cause)
  return error instanceof Error ? error.message : String(error)
}

/** The runs service, for the life of the layer. */
export const layer = (options: Options): Layer.Layer<Runs, never, Codex.Codex | Approvals.Approvals> =>
  Layer.effect(Runs, make(options))
