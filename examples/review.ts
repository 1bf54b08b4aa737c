/**
 * A code review: `thread.review` runs codex's reviewer on the uncommitted
 * changes of a git repository and returns a turn handle, like `thread.turn`:
 * its events as a Stream, its result (`finalResponse` is the review codex
 * wrote). Other targets: `{ type: "baseBranch", branch }`, `{ type: "commit",
 * sha }`, `{ type: "custom", instructions }`.
 *
 *   node --import ./scripts/source-hooks.ts examples/review.ts
 */
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Console, Effect, Stream } from "effect"
import { Codex } from "effect-codex"
import { LocalModel } from "effect-codex/testing"
import { execFileSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Backend from "./internal/backend.ts"

// A repository with one commit and an uncommitted change, removed at the end.
const repository = Effect.acquireRelease(
  Effect.sync(() => {
    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "codex-review-"))
    const git = (...args: Array<string>) =>
      execFileSync("git", ["-C", dir, "-c", "user.email=me@example.com", "-c", "user.name=me", ...args], { stdio: "ignore" })
    git("init", "-q")
    Fs.writeFileSync(Path.join(dir, "count.sh"), "for i in 1 2 3; do echo $i; done\n")
    git("add", ".")
    git("commit", "-qm", "count to three")
    Fs.writeFileSync(Path.join(dir, "count.sh"), "for i in 1 2; do echo $i; done\n")
    return dir
  }),
  (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
)

const program = Effect.gen(function*() {
  const thread = yield* Codex.startThread({ cwd: yield* repository })
  const review = yield* thread.review({ type: "uncommittedChanges" })
  yield* review.events.pipe(
    Stream.runForEach((event) =>
      event._tag === "ItemCompleted" && event.item.type === "enteredReviewMode"
        ? Console.log(`reviewing: ${event.item.review}`)
        : Effect.void
    )
  )
  const result = yield* review.result
  yield* Console.log(`review (${result.status}):\n${result.finalResponse}`)
})

// What codex's review prompt asks the model for; codex turns it into the review text.
const findings = {
  findings: [{
    title: "The loop stops at 2",
    body: "The change drops the last number: `1 2` instead of `1 2 3`.",
    confidence_score: 0.9,
    priority: 1,
    code_location: { absolute_file_path: "count.sh", line_range: { start: 1, end: 1 } }
  }],
  overall_correctness: "patch is incorrect",
  overall_explanation: "The change breaks the count.",
  overall_confidence_score: 0.9
}

program.pipe(
  Effect.scoped,
  Effect.provide(Codex.layer),
  Effect.provide(Backend.layer([LocalModel.json(findings)])),
  Effect.provide(NodeServices.layer),
  NodeRuntime.runMain
)
