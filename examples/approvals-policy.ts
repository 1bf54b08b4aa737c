/**
 * An approval policy as code: accept commands that only read, decline the rest.
 *
 * With `approvalPolicy: "on-request"` codex asks before running a command
 * outside the sandbox. `Approvals.layer` answers those requests with Effects:
 * here `Approvals.acceptCommandsMatching(Approvals.isReadOnlyCommand)` accepts
 * `ls`, `cat`, `git status`... and declines everything else. A handler that
 * fails or does not answer within `timeout` gets the safe default (decline).
 * Without any Approvals layer, every command and file change is declined.
 *
 * The LocalModel asks to run `ls -la` (accepted), then `touch marker.txt`
 * (declined), then answers.
 *
 *   node --import ./scripts/source-hooks.ts examples/approvals-policy.ts
 */
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Console, Effect, Layer, Stream } from "effect"
import { Approvals, Codex, TurnEvent } from "effect-codex"
import { LocalModel } from "effect-codex/testing"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Backend from "./internal/backend.ts"

const readOnly = Approvals.acceptCommandsMatching(Approvals.isReadOnlyCommand)

const approvals = Approvals.layer({
  // The policy, plus a line per decision.
  commandExecution: (params, request) =>
    readOnly(params, request).pipe(
      Effect.tap((decision) =>
        Console.log(`approval: ${Approvals.unwrapShell(params.command ?? "?")} -> ${JSON.stringify(decision)}`)
      )
    ),
  timeout: "30 seconds"
})

const program = Effect.scoped(Effect.gen(function*() {
  const dir = yield* Effect.acquireRelease(
    Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "codex-approvals-"))),
    (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
  )
  const thread = yield* Codex.startThread({ cwd: dir, approvalPolicy: "on-request", sandbox: "read-only" })
  const turn = yield* thread.turn("List the files here, then create marker.txt.")

  // What the commands became: accepted ones ran, declined ones did not.
  yield* turn.events.pipe(
    TurnEvent.completedItems,
    Stream.runForEach((item) =>
      item.type === "commandExecution"
        ? Console.log(`command ${Approvals.unwrapShell(item.command)}: ${item.status}, exit ${item.exitCode ?? "-"}`)
        : Effect.void
    )
  )
  const result = yield* turn.result
  yield* Console.log(`answer: ${result.finalResponse}`)
  yield* Console.log(`marker.txt exists: ${Fs.existsSync(Path.join(dir, "marker.txt"))}`)
}))

const script = [
  LocalModel.shell("ls -la", { escalate: true, justification: "List the files?" }),
  LocalModel.shell("touch marker.txt", { escalate: true, justification: "Create marker.txt?" }),
  LocalModel.text("I listed the files; creating marker.txt was declined.")
]

program.pipe(
  // Approvals are read when Codex.layer is built: provide them to it.
  Effect.provide(Codex.layer.pipe(Layer.provide(approvals))),
  Effect.provide(Backend.layer(script, { local: { approvalPolicy: "on-request" } })),
  Effect.provide(NodeServices.layer),
  NodeRuntime.runMain
)
