/**
 * A "Fix this bug" button's backend: an HTTP API that runs a Codex task and
 * streams its progress to the browser as Server-Sent Events.
 *
 *   POST /api/codex/task   {"prompt": "..."}   ->   text/event-stream
 *
 *   event: started    {"threadId", "turnId"}
 *   event: progress   {"line"}             (TurnEvent.describe: "running: npm test", ...)
 *   event: delta      {"text"}             (the answer as it is written)
 *   event: item       {"type", "id"}       (each completed item)
 *   event: done       {"threadId", "turnId", "status", "finalResponse", "usage"}
 *   event: error      {"reason", "message"}
 *
 * One app-server process serves every request (`Codex.layer` is provided to
 * the routes once); each request starts a thread. A client that disconnects
 * interrupts its turn (the turn's Scope closes with the response stream).
 * It listens on 127.0.0.1:$PORT (default 8787); with `--once` it serves a
 * single task and exits.
 *
 *   node --conditions=source examples/dashboard-api.ts
 *   curl -N -X POST localhost:8787/api/codex/task -H 'content-type: application/json' -d '{"prompt":"Fix the bug"}'
 */
import { NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { Config, Console, Deferred, Effect, Layer, Result, Schema, Stream } from "effect"
import { Sse } from "effect/encoding"
import { HttpRouter, HttpServer, HttpServerRequest, HttpServerResponse } from "effect/http"
import { Codex, type CodexError, TurnEvent } from "effect-codex"
import { LocalModel } from "effect-codex/testing"
import { createServer } from "node:http"
import * as Backend from "./internal/backend.ts"

const TaskRequest = Schema.Struct({ prompt: Schema.NonEmptyString })

const sse = (event: string, data: unknown) =>
  Sse.encoder.write({ _tag: "Event", event, id: undefined, data: JSON.stringify(data) })

// The SSE lines of one turn event (none for the events a dashboard does not show).
const toSse = (event: TurnEvent.TurnEvent): Result.Result<string, void> => {
  if (event._tag === "AgentMessageDelta") return Result.succeed(sse("delta", { text: event.delta }))
  if (event._tag === "ItemCompleted") return Result.succeed(sse("item", { type: event.item.type, id: event.item.id }))
  const line = TurnEvent.describe(event)
  return line === undefined ? Result.failVoid : Result.succeed(sse("progress", { line }))
}

// Runs a task; the stream owns the turn's Scope, so the turn lives as long as the response.
const runTask = (codex: Codex.Service, prompt: string): Stream.Stream<string> =>
  Stream.unwrap(Effect.gen(function*() {
    const thread = yield* codex.startThread()
    const turn = yield* thread.turn(prompt)
    const done = Effect.map(turn.result, (result) =>
      sse("done", {
        threadId: result.threadId,
        turnId: result.turnId,
        status: result.status,
        finalResponse: result.finalResponse,
        usage: result.usage?.total
      }))
    return Stream.make(sse("started", { threadId: turn.threadId, turnId: turn.id })).pipe(
      Stream.concat(Stream.filterMap(turn.events, toSse)),
      Stream.concat(Stream.fromEffect(done))
    )
  })).pipe(
    Stream.catch((error: CodexError.CodexError) =>
      Stream.make(sse("error", { reason: error.reason._tag, message: error.message })))
  )

// The route; `finished` is completed when a task's response has been sent (for `--once`).
const taskRoute = (finished: Deferred.Deferred<void>) =>
  HttpRouter.use(Effect.fnUntraced(function*(router) {
    const codex = yield* Codex.Codex
    yield* router.add(
      "POST",
      "/api/codex/task",
      HttpServerRequest.schemaBodyJson(TaskRequest).pipe(
        Effect.map(({ prompt }) =>
          HttpServerResponse.stream(
            runTask(codex, prompt).pipe(Stream.ensuring(Deferred.succeed(finished, undefined)), Stream.encodeText),
            { contentType: "text/event-stream", headers: { "cache-control": "no-cache" } }
          )
        ),
        Effect.catchTag("SchemaError", (error) => HttpServerResponse.json({ error: error.message }, { status: 400 })),
        Effect.catchTag("HttpServerError", () => HttpServerResponse.json({ error: "bad request" }, { status: 400 }))
      )
    )
  }))

const program = Effect.gen(function*() {
  const port = yield* Config.Int("PORT").pipe(Config.withDefault(8787))
  const once = process.argv.includes("--once")
  const finished = yield* Deferred.make<void>()

  const server = HttpRouter.serve(taskRoute(finished), { disableListenLog: true, disableLogger: true }).pipe(
    Layer.provide(Codex.layer), // one app-server process for all requests
    Layer.provideMerge(NodeHttpServer.layer(createServer, { port, host: "127.0.0.1" }))
  )
  yield* Effect.gen(function*() {
    yield* HttpServer.addressFormattedWith((address) => Console.log(`listening on ${address}`))
    yield* once ? Deferred.await(finished) : Effect.never
  }).pipe(Effect.provide(server))
  yield* Console.log("served one task; exiting")
})

// The embedded model (no API key): a command, then a streamed answer.
const answer = "The bug is an off-by-one in the parser; the fix is in src/parser.ts."
const script = [
  LocalModel.response([LocalModel.reasoning("Look at the failing test first."), LocalModel.shell("ls")]),
  LocalModel.slow(LocalModel.text(answer, { deltas: 8, usage: { input: 2400, output: 30 } }), {
    chunkDelay: "20 millis"
  })
]

program.pipe(
  Effect.provide(Backend.layer(script)),
  Effect.provide(NodeHttpServer.layerHttpServices),
  NodeRuntime.runMain
)
