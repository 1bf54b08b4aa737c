/**
 * Turn parameters: settings for a whole thread (`Codex.startThread`) and
 * overrides for one turn (`thread.run(input, options)`): model, reasoning
 * effort and summary, sandbox, working directory, instructions, personality.
 *
 * The options are the protocol's own `thread/start` and `turn/start` fields
 * (camelCase), typed by the schemas generated from the pinned codex. Turn-level
 * overrides apply to that turn and the ones after it.
 *
 * With the LocalModel the example prints what reached the model.
 *
 *   node --import ./scripts/source-hooks.ts examples/turn-parameters.ts
 */
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Console, Effect } from "effect"
import { Codex } from "effect-codex"
import { LocalModel } from "effect-codex/testing"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Backend from "./internal/backend.ts"

const MODEL = "gpt-5.4"

const workspace = Effect.acquireRelease(
  Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "codex-params-"))),
  (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
)

const program = Effect.gen(function*() {
  const dir = yield* workspace

  // Thread-wide settings.
  const thread = yield* Codex.startThread({
    model: MODEL,
    cwd: dir, // where commands run and files are edited
    sandbox: "read-only", // "read-only" | "workspace-write" | "danger-full-access"
    approvalPolicy: "never",
    developerInstructions: "Answer in one short sentence.",
    personality: "pragmatic" // deprecated by codex 0.169: accepted, no longer changes the style
  })
  yield* Console.log(`thread on ${thread.info.model ?? MODEL}, cwd ${thread.info.cwd}`)

  const quick = yield* thread.run("Name a sorting algorithm.", { effort: "low" })
  yield* Console.log(`low effort: ${quick.finalResponse}`)

  // Per-turn overrides: more reasoning, a summary of it, and a writable sandbox
  // limited to the workspace.
  const careful = yield* thread.run("Which one is stable?", {
    model: MODEL,
    effort: "medium",
    summary: "concise",
    cwd: dir,
    sandboxPolicy: { type: "workspaceWrite", writableRoots: [dir], networkAccess: false }
  })
  yield* Console.log(`medium effort: ${careful.finalResponse}`)

  // LocalModel only: what the two model requests carried.
  for (const request of yield* Backend.recordedRequests) {
    const instructions = JSON.stringify(request.body.input).includes("Answer in one short sentence.")
    yield* Console.log(
      `request ${request.index}: model=${request.body.model} reasoning=${JSON.stringify(request.body.reasoning)} ` +
        `developer instructions=${instructions}`
    )
  }
})

program.pipe(
  Effect.scoped,
  Effect.provide(Codex.layer),
  Effect.provide(Backend.layer(
    [LocalModel.text("Merge sort."), LocalModel.text("Merge sort is stable; quicksort is not.")],
    { local: { model: MODEL } } // the LocalModel offers a model of the same name
  )),
  Effect.provide(NodeServices.layer),
  NodeRuntime.runMain
)
