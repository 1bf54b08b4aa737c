/**
 * Approvals answered from elsewhere (a web UI, a chat message, a CLI prompt).
 *
 * With `Approvals.manual` a request is left waiting: it shows up in the turn's
 * events as `ApprovalRequested` (with its `requestId`), is listed by
 * `Approvals.pending`, and is answered, from any fiber, with
 * `Approvals.respond(requestId, { decision: "accept" })`. Unanswered requests
 * get the safe default (decline) after `timeout`.
 *
 * Here the turn's events feed an "inbox" queue, and a separate "UI" fiber
 * takes each request, shows it, and accepts it a moment later.
 *
 *   node --import ./scripts/source-hooks.ts examples/approvals-ui.ts
 */
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Console, Effect, Layer, Queue, Stream } from "effect"
import { Approvals, Codex, type TurnEvent } from "effect-codex"
import { LocalModel } from "effect-codex/testing"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Backend from "./internal/backend.ts"

// The "UI": shows each request, then the user clicks "accept".
const ui = (inbox: Queue.Queue<TurnEvent.ApprovalRequested>) =>
  Effect.forever(Effect.gen(function*() {
    const request = yield* Queue.take(inbox)
    yield* Console.log(`[ui] showing ${request.method} #${request.requestId}`)
    yield* Effect.sleep("300 millis") // the user reads it...
    const waiting = yield* Approvals.pending
    yield* Console.log(`[ui] ${waiting.length} request(s) waiting for an answer`)
    // `respond` is false when nothing waits on that id any more (answered, timed out, or resolved by codex)
    const answered = yield* Approvals.respond(request.requestId, { decision: "accept" })
    yield* Console.log(`[ui] accepted #${request.requestId}: ${answered}`)
  }))

const program = Effect.scoped(Effect.gen(function*() {
  const dir = yield* Effect.acquireRelease(
    Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "codex-approvals-ui-"))),
    (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
  )
  const inbox = yield* Queue.unbounded<TurnEvent.ApprovalRequested>()
  yield* Effect.forkScoped(ui(inbox))

  const thread = yield* Codex.startThread({ cwd: dir, approvalPolicy: "on-request" })
  const turn = yield* thread.turn("Create approved.txt.")
  yield* turn.events.pipe(
    Stream.runForEach((event) => {
      if (event._tag !== "ApprovalRequested") return Effect.void
      if (event.method === "item/commandExecution/requestApproval") {
        return Console.log(`[turn] codex asks to run: ${Approvals.unwrapShell(event.params.command ?? "?")}`).pipe(
          Effect.andThen(Queue.offer(inbox, event))
        )
      }
      return Console.log(`[turn] ${event.method} (answered by the layer's other handlers)`)
    })
  )
  const result = yield* turn.result
  yield* Console.log(`answer: ${result.finalResponse}`)
  yield* Console.log(`approved.txt exists: ${Fs.existsSync(Path.join(dir, "approved.txt"))}`)
}))

// Commands wait for `Approvals.respond`; the same service is used by Codex and by the program.
const approvals = Approvals.layer({ commandExecution: Approvals.manual, timeout: "2 minutes" })

const script = [
  LocalModel.shell("touch approved.txt", { escalate: true, justification: "Create approved.txt?" }),
  LocalModel.text("Created approved.txt.")
]

program.pipe(
  Effect.provide(Codex.layer.pipe(Layer.provideMerge(approvals))),
  Effect.provide(Backend.layer(script, { local: { approvalPolicy: "on-request" } })),
  Effect.provide(NodeServices.layer),
  NodeRuntime.runMain
)
