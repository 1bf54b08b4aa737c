/**
 * Managing stored threads: list, read, name, fork, archive and unarchive.
 *
 * `Codex.listThreads` returns one page of the protocol's thread records
 * (`data`, `nextCursor`); `Codex.threads` is a `Stream` over all pages.
 * Archived threads leave the default listing and come back with
 * `Codex.unarchiveThread`.
 *
 *   node --import ./scripts/source-hooks.ts examples/thread-lifecycle.ts
 */
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Console, Effect, Option, Stream } from "effect"
import { Codex } from "effect-codex"
import { LocalModel } from "effect-codex/testing"
import * as Backend from "./internal/backend.ts"

const program = Effect.gen(function*() {
  // A thread is stored once it has a turn.
  const thread = yield* Codex.startThread()
  yield* thread.run("Plan a small refactoring of the parser.")
  yield* thread.setName("parser refactoring")

  const page = yield* Codex.listThreads({ limit: 5 })
  yield* Console.log(`recent threads: ${page.data.map((t) => `${t.name ?? t.preview} (${t.id})`).join(", ")}`)

  const { thread: info } = yield* thread.read({ includeTurns: true })
  yield* Console.log(`read: "${info.name}", ${info.turns.length} turn(s), preview "${info.preview}"`)

  // A fork is a new thread with the same history; the original is untouched.
  const fork = yield* thread.fork()
  yield* Console.log(`forked ${thread.id} -> ${fork.id} (forkedFromId ${fork.info.forkedFromId})`)

  yield* thread.archive
  // `Codex.threads()` is a Stream over every page of the listing.
  const listed = (id: string) =>
    Codex.threads().pipe(Stream.filter((t) => t.id === id), Stream.runHead, Effect.map(Option.isSome))
  const archived = yield* Codex.listThreads({ archived: true })
  const inArchived = archived.data.some((t) => t.id === thread.id)
  yield* Console.log(`archived: in the listing ${yield* listed(thread.id)}, among archived ${inArchived}`)

  const restored = yield* Codex.unarchiveThread(thread.id)
  yield* Console.log(`unarchived ${restored.id}: in the listing ${yield* listed(thread.id)}`)
})

program.pipe(
  Effect.provide(Codex.layer),
  Effect.provide(Backend.layer([LocalModel.text("1. Split the tokenizer out. 2. Add tests.")])),
  Effect.provide(NodeServices.layer),
  NodeRuntime.runMain
)
