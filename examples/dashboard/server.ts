/**
 * The dashboard: a page that lists tickets, fixes them with Codex, and shows each turn as it runs.
 * An `effect/http` server and one static page (public/: plain HTML, CSS and a script; no build step).
 *
 *   npm run dashboard            # then open http://127.0.0.1:8788
 *
 * The page:
 * - lists the tickets of `$TICKETS` (default: tickets.json here), each with a "Fix this bug" button
 *   that starts a thread named after the ticket and runs a turn on it;
 * - shows the turn live over Server-Sent Events: reasoning, commands running and their output, file
 *   changes, the answer as it is written, then the final answer and the turn's diff;
 * - asks before a command leaves the sandbox (or a change leaves the workspace): Accept / Decline
 *   buttons, answered through `Approvals.manual` + `Approvals.respond`;
 * - has an Interrupt button (`turn.interrupt`);
 * - lists the workspace's threads (`Codex.listThreads`), each resumable with a follow-up prompt
 *   (`Codex.resumeThread`);
 * - says what it no longer keeps: it remembers the last `KEEP_RUNS` runs, and the events of the last
 *   `KEEP_RUN_EVENTS` finished ones (the others show their summary: status, answer, usage).
 *
 * The API behind it:
 *
 *   GET  /api/info                              {"backend", "workspace"}
 *   GET  /api/tickets                           [{"id", "title", "body", "labels"}]
 *   POST /api/tickets/:ticketId/fix             -> {"threadId", "turnId"}
 *   GET  /api/threads                           [{"threadId", "name", "preview", "updatedAt", "running", "turns", "droppedTurns"}]
 *   GET  /api/runs                              {"limits", "runs", "events", "droppedRuns", "droppedRunEvents"}: what is kept
 *   POST /api/threads/:threadId/turns           {"prompt"} -> {"threadId", "turnId"}
 *   GET  /api/turns/:turnId/events              text/event-stream, from the start (or after Last-Event-ID)
 *   POST /api/turns/:turnId/approvals           {"requestId", "decision": "accept" | "decline"}
 *   POST /api/turns/:turnId/interrupt
 *
 * A turn's events (runs.ts `pageEvent`): turn, reasoning, progress, command, output, file-change,
 * approval, approval-resolved, delta, message, diff, usage, and last done
 * {"status", "finalResponse", "diff", "usage", "durationMs" | "error"}. A run whose events were dropped
 * replays as turn, events-dropped {"events", "keepRunEvents"}, done (with "diff": null).
 *
 * One app-server process serves every turn. Turns run in their own fibers: a page that reloads picks
 * its turn up again, and stopping the server (Ctrl-C, SIGTERM) interrupts them all.
 *
 * Settings: `PORT` (default 8788, on 127.0.0.1), `WORKSPACE` (where threads run; default: a fresh
 * temporary copy of sample/, the project the tickets are about, removed at exit), `TICKETS`,
 * `KEEP_RUNS` (default 100) and `KEEP_RUN_EVENTS` (default 20).
 * With `CODEX_API_KEY` or `OPENAI_API_KEY` set, the real model works on the tickets; without, the
 * embedded `LocalModel.assistant()` answers (no key, no network): it asks to run `ls`, writes
 * LOCALMODEL_NOTES.md in the workspace, then says what happened.
 */
import { NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { Config, Console, Effect, Layer, Option, Schema, Stream } from "effect"
import { Sse } from "effect/encoding"
import {
  type HttpBody,
  HttpRouter,
  HttpServer,
  type HttpServerError,
  HttpServerRequest,
  HttpServerResponse
} from "effect/http"
import { Approvals, Codex } from "effect-codex"
import { LocalModel } from "effect-codex/testing"
import * as Fs from "node:fs"
import { createServer } from "node:http"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Backend from "../internal/backend.ts"
import * as Runs from "./runs.ts"
import * as Tickets from "./tickets.ts"

const HERE = import.meta.dirname
const PUBLIC = Path.join(HERE, "public")

// =============================================================================
// Routes
// =============================================================================

const Prompt = Schema.Struct({ prompt: Schema.NonEmptyString })
const Answer = Schema.Struct({
  requestId: Schema.Union([Schema.String, Schema.Number]),
  decision: Schema.Literals(["accept", "decline"])
})

// Every refusal is JSON `{ error }` with its status; a body that does not decode is a 400.
const handle = <R>(
  effect: Effect.Effect<
    HttpServerResponse.HttpServerResponse,
    Runs.Refused | Schema.SchemaError | HttpServerError.HttpServerError | HttpBody.HttpBodyError,
    R
  >
) =>
  effect.pipe(
    Effect.catchTag("Refused", (refused) => HttpServerResponse.json({ error: refused.message }, { status: refused.status })),
    Effect.catchTag("SchemaError", (error) => HttpServerResponse.json({ error: error.message }, { status: 400 })),
    Effect.catchTag("HttpServerError", () => HttpServerResponse.json({ error: "bad request" }, { status: 400 }))
  )

const param = (name: string) =>
  Effect.map(HttpRouter.params, (params) => params[name] ?? "")

const sse = (event: Runs.PageEvent, index: number) =>
  Sse.encoder.write({ _tag: "Event", event: event.event, id: String(index), data: JSON.stringify(event.data) })

// A comment line now and then keeps proxies from closing a stream that waits (for an approval, say).
const keepAlive = Stream.tick("15 seconds").pipe(Stream.map(() => ": keep-alive\n\n"))

const staticFile = (file: string, contentType: string) =>
  HttpServerResponse.file(Path.join(PUBLIC, file), { contentType, headers: { "cache-control": "no-cache" } })

const routes = (info: { readonly backend: string; readonly workspace: string }) =>
  HttpRouter.use(Effect.fnUntraced(function*(router) {
    const runs = yield* Runs.Runs
    yield* router.add("GET", "/", staticFile("index.html", "text/html; charset=utf-8"))
    yield* router.add("GET", "/app.js", staticFile("app.js", "text/javascript; charset=utf-8"))
    yield* router.add("GET", "/style.css", staticFile("style.css", "text/css; charset=utf-8"))

    yield* router.add("GET", "/api/info", HttpServerResponse.json(info))
    yield* router.add("GET", "/api/tickets", HttpServerResponse.json(runs.tickets))
    yield* router.add("GET", "/api/threads", handle(Effect.flatMap(runs.threads, (threads) => HttpServerResponse.json(threads))))
    yield* router.add("GET", "/api/runs", handle(Effect.flatMap(runs.kept, (kept) => HttpServerResponse.json(kept))))

    yield* router.add(
      "POST",
      "/api/tickets/:ticketId/fix",
      handle(param("ticketId").pipe(Effect.flatMap(runs.fix), Effect.flatMap((started) => HttpServerResponse.json(started))))
    )
    yield* router.add(
      "POST",
      "/api/threads/:threadId/turns",
      handle(Effect.gen(function*() {
        const threadId = yield* param("threadId")
        const { prompt } = yield* HttpServerRequest.schemaBodyJson(Prompt)
        return yield* HttpServerResponse.json(yield* runs.followUp(threadId, prompt))
      }))
    )
    yield* router.add(
      "GET",
      "/api/turns/:turnId/events",
      handle(Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        const lastId = Number(request.headers["last-event-id"] ?? -1) // an EventSource reconnecting
        const events = yield* runs.events(yield* param("turnId"), Number.isInteger(lastId) ? lastId : -1)
        const body = events.pipe(
          Stream.map(([event, index]) => sse(event, index)),
          Stream.merge(keepAlive, { haltStrategy: "left" }),
          Stream.encodeText
        )
        return HttpServerResponse.stream(body, { contentType: "text/event-stream", headers: { "cache-control": "no-cache" } })
      }))
    )
    yield* router.add(
      "POST",
      "/api/turns/:turnId/approvals",
      handle(Effect.gen(function*() {
        const turnId = yield* param("turnId")
        const { decision, requestId } = yield* HttpServerRequest.schemaBodyJson(Answer)
        yield* runs.answer(turnId, requestId, decision)
        return HttpServerResponse.empty({ status: 204 })
      }))
    )
    yield* router.add(
      "POST",
      "/api/turns/:turnId/interrupt",
      handle(Effect.gen(function*() {
        yield* runs.interrupt(yield* param("turnId"))
        return HttpServerResponse.empty({ status: 204 })
      }))
    )
  }))

// =============================================================================
// Main
// =============================================================================

// Without WORKSPACE: a scratch copy of sample/, so the tickets' code is there to fix.
const scratchWorkspace = Effect.acquireRelease(
  Effect.sync(() => {
    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "codex-dashboard-"))
    Fs.cpSync(Path.join(HERE, "sample"), dir, { recursive: true })
    return dir
  }),
  (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
)

// Every command that asks to leave the sandbox, and every file change that asks, waits for the page.
const approvals = Approvals.layer({ commandExecution: Approvals.manual, fileChange: Approvals.manual, timeout: "30 minutes" })

const program = Effect.gen(function*() {
  const port = yield* Config.Int("PORT").pipe(Config.withDefault(8788))
  const given = yield* Config.String("WORKSPACE").pipe(Config.option)
  const workspace = Option.isSome(given) ? Path.resolve(given.value) : yield* scratchWorkspace
  const ticketsFile = yield* Config.String("TICKETS").pipe(Config.withDefault(Path.join(HERE, "tickets.json")))
  const tickets = yield* Tickets.load(ticketsFile)
  const keepRuns = yield* Config.Int("KEEP_RUNS").pipe(Config.withDefault(Runs.KEEP_RUNS))
  const keepRunEvents = yield* Config.Int("KEEP_RUN_EVENTS").pipe(Config.withDefault(Runs.KEEP_RUN_EVENTS))
  if (keepRuns < 1 || keepRunEvents < 0) {
    return yield* Effect.fail(new Error(`KEEP_RUNS must be 1 or more and KEEP_RUN_EVENTS 0 or more (got ${keepRuns}, ${keepRunEvents})`))
  }
  const backend = yield* Backend.Backend
  const info = { backend: backend.real ? "real model" : "embedded LocalModel (no API key)", workspace }

  const server = HttpRouter.serve(routes(info), { disableListenLog: true, disableLogger: true }).pipe(
    Layer.provide(Runs.layer({ workspace, tickets, keepRuns, keepRunEvents })),
    Layer.provide(Codex.layer.pipe(Layer.provideMerge(approvals))), // one app-server process for every turn
    // Open event streams would hold a graceful shutdown for its default 20 s; the turns end with the server anyway.
    Layer.provideMerge(NodeHttpServer.layer(createServer, { port, host: "127.0.0.1", gracefulShutdownTimeout: "1 second" }))
  )
  yield* Effect.gen(function*() {
    yield* Console.log(`workspace: ${workspace}`)
    yield* HttpServer.addressFormattedWith((address) => Console.log(`listening on ${address}`))
    yield* Effect.never
  }).pipe(Effect.provide(server))
})

// The embedded model (no API key): no script, the built-in responder answers every turn, a word at a time.
const local = { fallback: LocalModel.assistant({ chunkDelay: "15 millis" }) }

program.pipe(
  Effect.scoped,
  Effect.provide(Backend.layer([], { local })),
  Effect.provide(NodeHttpServer.layerHttpServices),
  NodeRuntime.runMain
)
