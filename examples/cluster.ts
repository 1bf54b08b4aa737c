/**
 * Codex threads keyed by ticket on Effect Cluster, embedded: the cluster's
 * API (`CodexThread.client`: one thread per key, turns persisted, events
 * streamed) in this one process, with no database (`CodexCluster.layerEmbedded`),
 * on a pool of two app-servers.
 *
 * The same program runs against a real cluster by providing
 * `CodexCluster.layerClient()` (and a `PgClient.layer`) instead, with runner
 * processes started from `CodexCluster.layerRunner` (docs/scaling.md).
 *
 *   node --import ./scripts/source-hooks.ts examples/cluster.ts
 */
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Console, Effect, Layer, Stream } from "effect"
import { CodexPool, TurnEvent } from "effect-codex"
import { CodexCluster, CodexThread } from "effect-codex/cluster"
import { LocalModel } from "effect-codex/testing"
import * as Backend from "./internal/backend.ts"

const tickets = ["BUG-101", "BUG-102", "BUG-103"]

const program = Effect.gen(function*() {
  const threads = yield* CodexThread.client

  // One thread per ticket, the three turns at once (each key runs its own turns one at a time).
  const first = yield* Effect.forEach(
    tickets,
    (ticket) => threads(ticket).run(`Look into ${ticket}: what would you check first?`),
    { concurrency: "unbounded" }
  )
  for (const result of first) {
    yield* Console.log(`[${result.key}] turn ${result.attempt === 1 ? "ran once" : `ran ${result.attempt} times`}: ${result.finalResponse}`)
  }

  // A follow-up on one ticket, streamed: the key's thread has its earlier turn.
  yield* Console.log(`[BUG-102] follow-up, streamed:`)
  yield* threads("BUG-102").stream("And what did I ask you before?").pipe(
    TurnEvent.textDeltas,
    Stream.runForEach((text) => Effect.sync(() => process.stdout.write(text)))
  )
  yield* Console.log("")

  // A turn named by `turnKey` runs once, however often it is sent (a retried HTTP request, a replayed job).
  const once = yield* threads("BUG-103").run("Write the summary for the changelog.", { turnKey: "changelog" })
  const again = yield* threads("BUG-103").run("Write the summary for the changelog.", { turnKey: "changelog" })
  yield* Console.log(`[BUG-103] changelog turn sent twice: replayed the second time: ${again.replayed}, same turn: ${again.turnId === once.turnId}`)

  const described = yield* threads("BUG-101").describe
  yield* Console.log(`[BUG-101] lives on runner ${described.runner}, thread ${described.threadId}`)
  const requests = yield* Backend.recordedRequests
  if (requests.length > 0) yield* Console.log(`the model got ${requests.length} requests`)
})

// Two app-servers behind one Codex, on the example backend (the real model with an API key, else the LocalModel).
const pool = Layer.unwrap(
  Backend.Backend.use((backend) => Effect.succeed(CodexPool.layer({ size: 2, server: backend.appServerOptions })))
)

program.pipe(
  Effect.provide(CodexCluster.layerEmbedded({ thread: () => ({ sandbox: "read-only" }) })),
  Effect.provide(pool),
  Effect.provide(Backend.layerBackend([], { local: { fallback: LocalModel.assistant() } })),
  Effect.provide(NodeServices.layer),
  NodeRuntime.runMain
)
