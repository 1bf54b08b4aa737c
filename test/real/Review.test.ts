/**
 * Code review (`review/start`) on the real binary + LocalModel: the review of uncommitted changes in a
 * git repository as a turn handle (its events from `enteredReviewMode` to `exitedReviewMode`, its result
 * the review codex wrote from the model's JSON answer), a review by custom instructions, a review
 * interrupted by closing its Scope, and the delivery codex refuses.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import { execFileSync } from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import * as LocalModel from "../../src/layers/testing/LocalModel.ts"
import * as Codex from "../../src/services/Codex.ts"
import type * as TurnEvent from "../../src/streams/TurnEvent.ts"
import { exitReason, itemOf } from "../support/Errors.ts"
import { tempDir } from "../support/Home.ts"
import * as Real from "../support/Real.ts"

/** What codex's review prompt asks the model for (codex formats it into the review text). */
const reviewAnswer = {
  findings: [{
    title: "Off-by-one in the loop",
    body: "The loop stops one short of the end.",
    confidence_score: 0.9,
    priority: 1,
    code_location: { absolute_file_path: "/repo/count.sh", line_range: { start: 2, end: 2 } }
  }],
  overall_correctness: "patch is incorrect",
  overall_explanation: "One bug in the new loop.",
  overall_confidence_score: 0.8
}

/** A git repository with a committed file and an uncommitted change to it. */
const repository = Effect.gen(function*() {
  const dir = yield* tempDir("effect-codex-review-")
  const git = (...args: ReadonlyArray<string>) =>
    execFileSync("git", ["-C", dir, "-c", "user.email=t@example.com", "-c", "user.name=t", ...args], { stdio: "ignore" })
  git("init", "-q")
  NodeFs.writeFileSync(NodePath.join(dir, "count.sh"), "#!/bin/sh\nfor i in 1 2 3; do echo $i; done\n")
  git("add", ".")
  git("commit", "-qm", "init")
  NodeFs.writeFileSync(NodePath.join(dir, "count.sh"), "#!/bin/sh\nfor i in 1 2; do echo $i; done\n")
  return dir
})

const tagsOf = (events: ReadonlyArray<TurnEvent.TurnEvent>) => events.map((event) => event._tag)

describe("Review (real binary + LocalModel)", () => {
  it.live("uncommitted changes: a turn handle whose events and result are the review's", () =>
    Effect.gen(function*() {
      const cwd = yield* repository
      const thread = yield* Codex.startThread({ cwd })
      const turn = yield* thread.review({ type: "uncommittedChanges" })
      assert.strictEqual(turn.threadId, thread.id)
      const events = Array.from(yield* Stream.runCollect(turn.events))
      const result = yield* turn.result
      assert.strictEqual(result.turnId, turn.id)
      assert.strictEqual(result.status, "completed")
      Real.assertInOrder(tagsOf(events), ["ItemCompleted", "TurnStarted", "ItemCompleted", "TurnCompleted"])
      // the turn/started of a review names an inner turn whose root is the review
      const started = events.find((event) => event._tag === "TurnStarted")
      assert.strictEqual(started?._tag === "TurnStarted" ? started.turn.rootTurnId : undefined, turn.id)
      assert.strictEqual(itemOf(result.items, "enteredReviewMode")?.review, "current changes")
      const exited = itemOf(result.items, "exitedReviewMode")
      assert.include(exited?.review, "One bug in the new loop.")
      assert.include(exited?.review, "Off-by-one in the loop")
      assert.strictEqual(result.finalResponse, exited?.review)

      // the model got codex's review prompt, in a context of its own
      const request = yield* LocalModel.awaitRequest(0)
      const messages = LocalModel.messages(request)
      assert.isTrue(messages.some((m) => m.startsWith("developer: # Review guidelines")), messages.join("\n"))
      assert.include(messages.at(-1), "Review the current code changes")
      // the review is a turn of the thread
      const read = yield* thread.read({ includeTurns: true })
      assert.isAtLeast(read.thread.turns.length, 1)
    }).pipe(Effect.scoped, Effect.provide(Real.layer([LocalModel.json(reviewAnswer)], Real.fast))))

  it.live("custom instructions, then a normal turn on the same thread", () =>
    Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      const result = yield* Effect.scoped(
        Effect.flatMap(thread.review({ type: "custom", instructions: "Look for typos" }), (turn) => turn.result)
      )
      assert.strictEqual(itemOf(result.items, "enteredReviewMode")?.review, "Look for typos")
      const next = yield* thread.run("Thanks")
      assert.strictEqual(next.finalResponse, "You're welcome.")
      assert.strictEqual(LocalModel.messages(yield* LocalModel.awaitRequest(0)).at(-1), "user: Look for typos")
    }).pipe(Effect.provide(Real.layer([LocalModel.json(reviewAnswer), LocalModel.text("You're welcome.")], Real.fast))))

  it.live("closing the Scope interrupts the review (codex takes the inner turn's id); the thread stays usable", () =>
    Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      const turn = yield* Effect.scoped(Effect.gen(function*() {
        const turn = yield* thread.review({ type: "custom", instructions: "Take your time" })
        yield* LocalModel.awaitRequest(0)
        return turn
      }))
      const result = yield* turn.result
      assert.strictEqual(result.status, "interrupted")
      assert.strictEqual(itemOf(result.items, "exitedReviewMode")?.review, "Reviewer failed to output a response.")
      assert.strictEqual((yield* thread.run("Still there?")).finalResponse, "Yes.")
    }).pipe(Effect.provide(Real.layer([LocalModel.hang(), LocalModel.text("Yes.")], Real.fast))))

  it.live("a delivery codex does not know is its RpcError (0.169 and 0.171 review inline only)", () =>
    Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      const exit = yield* Effect.exit(Effect.scoped(thread.review({ type: "uncommittedChanges" }, { delivery: "detached" })))
      const reason = exitReason(exit)
      assert.strictEqual(reason?._tag, "RpcError")
      if (reason?._tag === "RpcError") assert.include(reason.message, "unknown variant `detached`")
    }).pipe(Effect.provide(Real.layer([], Real.fast))))
})
