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
 *   event: diff       {"diff"}             (the turn's unified diff, after a file change)
 *   event: done       {"threadId", "turnId", "status", "finalResponse", "usage"}
 *   event: error      {"reason", "message"}
 *
 * One app-server process serves every request (`Codex.layer` is provided to
 * the routes once); each request starts a thread in $WORKSPACE (default: the
 * current directory) with codex's `workspace-write` sandbox and `on-request`
 * approvals: file changes inside the workspace are applied, and a command
 * that asks to run outside the sandbox is accepted when it only reads
 * (`Approvals.isReadOnlyCommand`), else declined. A client that disconnects
 * interrupts its turn (the turn's Scope closes with the response stream).
 * It listens on 127.0.0.1:$PORT (default 8787); with `--once` it serves a
 * single task and exits.
 *
 * Without an API key the model is the embedded `LocalModel.assistant()`, which
 * answers any number of tasks: "run" in the prompt makes it ask to run `ls`
 * (an approval, accepted), "fix" makes it write LOCALMODEL_NOTES.md in the
 * workspace (a diff), then it says what happened.
 *
 *   node --import ./scripts/source-hooks.ts examples/dashboard-api.ts
 *   curl -N -X POST localhost:8787/api/codex/task -H 'content-type: application/json' -d '{"prompt":"Run the tests and fix the bug"}'
 */
import { NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { Config, Console, Deferred, Effect, Layer, Result, Schema, Stream } from "effect"
import { Sse } from "effect/encoding"
import { HttpRouter, HttpServer, HttpServerRequest, HttpServerResponse } from "effect/http"
import { Approvals, Codex, type CodexError, TurnEvent } from "effect-codex"
import { LocalModel } from "effect-codex/testing"
import { createServer } from "node:http"
import * as Path from "node:path"
import * as Backend from "./internal/backend.ts"

const TaskRequest = Schema.Struct({ prompt: Schema.NonEmptyString })

const sse = (event: string, data: unknown) =>
  Sse.encoder.write({ _tag: "Event", event, id: undefined, data: JSON.stringify(data) })

// The SSE lines of one turn event (none for the events a dashboard does not show).
const toSse = (event: TurnEvent.TurnEvent): Result.Result<string, void> => {
  if (event._tag === "AgentMessageDelta") return Result.succeed(sse("delta", { text: event.delta }))
  if (event._tag === "ItemCompleted") return Result.succeed(sse("item", { type: event.item.type, id: event.item.id }))
  if (event._tag === "DiffUpdated") return Result.succeed(sse("diff", { diff: event.diff }))
  const line = TurnEvent.describe(event)
  return line === undefined ? Result.failVoid : Result.succeed(sse("progress", { line }))
}

// Commands that ask to leave the sandbox: accepted when they only read; file changes outside the
// workspace (which ask too) get the safe default, decline.
const approvals = Approvals.layer({ commandExecution: Approvals.acceptCommandsMatching(Approvals.isReadOnlyCommand) })

// Runs a task; the stream owns the turn's Scope, so the turn lives as long as the response.
const runTask = (codex: Codex.Service, workspace: string, prompt: string): Stream.Stream<string> =>
  Stream.unwrap(Effect.gen(function*() {
    const thread = yield* codex.startThread({ cwd: workspace, sandbox: "workspace-write", approvalPolicy: "on-request" })
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
const taskRoute = (workspace: string, finished: Deferred.Deferred<void>) =>
  HttpRouter.use(Effect.fnUntraced(function*(router) {
    const codex = yield* Codex.Codex
    yield* router.add(
      "POST",
      "/api/codex/task",
      HttpServerRequest.schemaBodyJson(TaskRequest).pipe(
        Effect.map(({ prompt }) =>
          HttpServerResponse.stream(
            runTask(codex, workspace, prompt).pipe(Stream.ensuring(Deferred.succeed(finished, undefined)), Stream.encodeText),
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
  const workspace = Path.resolve(yield* Config.String("WORKSPACE").pipe(Config.withDefault(".")))
  const once = process.argv.includes("--once")
  const finished = yield* Deferred.make<void>()

  const server = HttpRouter.serve(taskRoute(workspace, finished), { disableListenLog: true, disableLogger: true }).pipe(
    Layer.provide(Codex.layer.pipe(Layer.provide(approvals))), // one app-server process for all requests
    Layer.provideMerge(NodeHttpServer.layer(createServer, { port, host: "127.0.0.1" }))
  )
  yield* Effect.gen(function*() {
    yield* HttpServer.addressFormattedWith((address) => Console.log(`listening on ${address}`))
    yield* once ? Deferred.await(finished) : Effect.never
  }).pipe(Effect.provide(server))
  yield* Console.log("served one task; exiting")
})

// The embedded model (no API key): no script, the built-in responder answers every task.
const local = { fallback: LocalModel.assistant({ chunkDelay: "10 millis" }) }

program.pipe(
  Effect.provide(Backend.layer([], { local })),
  Effect.provide(NodeHttpServer.layerHttpServices),
  NodeRuntime.runMain
)
