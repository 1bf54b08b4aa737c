import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Schema, Stream } from "effect"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import * as LocalModel from "../../src/layers/testing/LocalModel.ts"
import * as Approvals from "../../src/services/Approvals.ts"
import * as Codex from "../../src/services/Codex.ts"
import * as CodexTool from "../../src/services/CodexTool.ts"
import type * as TurnEvent from "../../src/streams/TurnEvent.ts"
import * as Real from "../support/Real.ts"

const onRequest = { approvalPolicy: "on-request" } as const

/** A scratch directory inside the LocalModel's CODEX_HOME (removed with it). */
const workspace = LocalModel.LocalModel.use((model) => Effect.sync(() => {
  const dir = NodePath.join(model.codexHome, "ws")
  NodeFs.mkdirSync(dir, { recursive: true })
  return dir
}))

const commandItem = (items: ReadonlyArray<{ readonly type: string }>) =>
  items.find((item) => item.type === "commandExecution") as
    | { readonly status: string; readonly aggregatedOutput?: string | null }
    | undefined

const touch = (file: string) =>
  LocalModel.shell(`touch ${file} && echo made-${file}`, { escalate: true, justification: `Create ${file}?` })

describe("Approvals (real binary + LocalModel)", () => {
  it.live("an accepted command runs and its output reaches the next model request", () =>
    Effect.gen(function*() {
      const cwd = yield* workspace
      const thread = yield* Codex.startThread({ cwd })
      const result = yield* thread.run("make a marker")
      const item = commandItem(result.items)
      assert.strictEqual(item?.status, "completed")
      assert.isTrue(NodeFs.existsSync(NodePath.join(cwd, "marker.txt")))
      const requests = yield* LocalModel.requests
      assert.match(JSON.stringify(LocalModel.toolOutputs(requests[1]!)), /made-marker\.txt/)
      assert.strictEqual(result.finalResponse, "done")
    }).pipe(Effect.provide(Real.layer([touch("marker.txt"), LocalModel.text("done")], {
      model: onRequest,
      approvals: Approvals.layer({ commandExecution: () => Effect.succeed("accept") })
    }))))

  it.live("without an Approvals layer commands are declined (the safe default)", () =>
    Effect.gen(function*() {
      const cwd = yield* workspace
      const thread = yield* Codex.startThread({ cwd })
      const result = yield* thread.run("make a marker")
      assert.strictEqual(commandItem(result.items)?.status, "declined")
      assert.isFalse(NodeFs.existsSync(NodePath.join(cwd, "marker.txt")))
    }).pipe(Effect.provide(Real.layer([touch("marker.txt"), LocalModel.text("ok")], { model: onRequest }))))

  it.live("an explicit decline: the item is declined and the model hears it", () =>
    Effect.gen(function*() {
      const cwd = yield* workspace
      const thread = yield* Codex.startThread({ cwd })
      const turn = yield* thread.turn("make a marker")
      const events = yield* Stream.runCollect(turn.events)
      const result = yield* turn.result
      assert.strictEqual(commandItem(result.items)?.status, "declined")
      const requested = events.filter((event): event is TurnEvent.ApprovalRequested =>
        event._tag === "ApprovalRequested"
      )
      assert.strictEqual(requested.length, 1)
      assert.strictEqual(requested[0]!.method, "item/commandExecution/requestApproval")
      const requests = yield* LocalModel.requests
      assert.match(JSON.stringify(LocalModel.toolOutputs(requests[1]!)), /rejected/i)
    }).pipe(
      Effect.scoped,
      Effect.provide(Real.layer([touch("marker.txt"), LocalModel.text("ok")], {
        model: onRequest,
        approvals: Approvals.layer({ commandExecution: () => Effect.succeed("decline") })
      }))
    ))

  it.live("an accepted file change is written and the diff arrives; a declined one writes nothing", () =>
    Effect.gen(function*() {
      const cwd = yield* workspace
      const thread = yield* Codex.startThread({ cwd })
      const turn = yield* thread.turn("add hello.txt")
      const events = yield* Stream.runCollect(turn.events)
      assert.isTrue(events.some((event) => event._tag === "DiffUpdated"))
      const result = yield* turn.result
      const change = result.items.find((item) => item.type === "fileChange") as { status: string } | undefined
      assert.strictEqual(change?.status, "completed")
      assert.strictEqual(NodeFs.readFileSync(NodePath.join(cwd, "hello.txt"), "utf8"), "hello\n")

      const second = yield* thread.run("add bye.txt")
      const declined = second.items.find((item) => item.type === "fileChange") as { status: string } | undefined
      assert.strictEqual(declined?.status, "declined")
      assert.isFalse(NodeFs.existsSync(NodePath.join(cwd, "bye.txt")))
    }).pipe(
      Effect.scoped,
      Effect.provide(Real.layer([
        LocalModel.applyPatch("*** Begin Patch\n*** Add File: hello.txt\n+hello\n*** End Patch\n"),
        LocalModel.text("added"),
        LocalModel.applyPatch("*** Begin Patch\n*** Add File: bye.txt\n+bye\n*** End Patch\n"),
        LocalModel.text("not added")
      ], {
        model: onRequest,
        // the params name the item, not the path: accept the first change, decline the second
        approvals: Approvals.layer({
          fileChange: (() => {
            let seen = 0
            return () => Effect.succeed(seen++ === 0 ? "accept" as const : "decline" as const)
          })()
        })
      }))
    ))

  it.live("a handler that never answers is declined after the timeout; a failing handler is declined", () =>
    Effect.gen(function*() {
      const cwd = yield* workspace
      const thread = yield* Codex.startThread({ cwd })
      const started = Date.now()
      const first = yield* thread.run("one")
      assert.strictEqual(commandItem(first.items)?.status, "declined")
      assert.isAtLeast(Date.now() - started, 300)
      const second = yield* thread.run("two")
      assert.strictEqual(commandItem(second.items)?.status, "declined")
      assert.isFalse(NodeFs.existsSync(NodePath.join(cwd, "b.txt")))
    }).pipe(
      Effect.provide(Real.layer([touch("a.txt"), LocalModel.text("1"), touch("b.txt"), LocalModel.text("2")], {
        model: onRequest,
        approvals: Approvals.layer({
          commandExecution: (params) =>
            params.command?.includes("a.txt") ? Effect.never : Effect.die(new Error("handler bug")),
          timeout: "400 millis"
        })
      }))
    ))

  it.live("ten approvals pending at once across threads, answered in reverse order, each reach their turn", () =>
    Effect.gen(function*() {
      const cwd = yield* workspace
      const count = 10
      const threads = yield* Effect.forEach(Array.from({ length: count }, (_, i) => i), () => Codex.startThread({ cwd }))
      const fibers = yield* Effect.forEach(threads, (thread, i) => Effect.forkChild(thread.run(`task ${i}`)))
      // wait until every request is pending
      let pending: ReadonlyArray<Approvals.PendingRequest> = []
      while (pending.length < count) {
        yield* Effect.sleep("20 millis")
        pending = yield* Approvals.pending
      }
      const byThread = new Map(pending.map((request) => [(request.params as { threadId: string }).threadId, request]))
      for (const thread of threads.slice().reverse()) {
        const request = byThread.get(thread.id)!
        const index = threads.indexOf(thread)
        const accepted = yield* Approvals.respond(request.requestId, {
          decision: index % 2 === 0 ? "accept" : "decline"
        })
        assert.isTrue(accepted)
      }
      const results = yield* Effect.forEach(fibers, Fiber.join)
      results.forEach((result, i) => {
        assert.strictEqual(result.threadId, threads[i]!.id)
        assert.strictEqual(commandItem(result.items)?.status, i % 2 === 0 ? "completed" : "declined")
        assert.strictEqual(NodeFs.existsSync(NodePath.join(cwd, `f${i}.txt`)), i % 2 === 0)
      })
    }).pipe(Effect.provide(manualLayer)))
})

// Each thread asks for `touch f<i>.txt` once, then answers "done" after hearing the tool output.
const perTask = (request: LocalModel.RecordedRequest): LocalModel.Step => {
  const i = Number(/task (\d+)/.exec(LocalModel.lastUserText(request) ?? "")?.[1])
  return LocalModel.toolOutputs(request).length > 0 || Number.isNaN(i) ? LocalModel.text("done") : touch(`f${i}.txt`)
}
const manualApprovals = Approvals.layer({ commandExecution: Approvals.manual, timeout: "30 seconds" })
const manualLayer = Layer.merge(
  Real.layer(Array.from({ length: 20 }, () => perTask), { model: onRequest, approvals: manualApprovals }),
  manualApprovals
)

describe("CodexTool (real binary + LocalModel)", () => {
  const lookup = CodexTool.make("lookup", {
    description: "Looks up a city's population",
    parameters: Schema.Struct({ city: Schema.String, year: Schema.optional(Schema.Number) }),
    run: ({ city, year }) =>
      city === "Atlantis"
        ? Effect.fail({ message: "no such city" })
        : Effect.succeed(`${city}: 2.1M${year === undefined ? "" : ` in ${year}`}`)
  })

  it.live("round trip with typed arguments, undecodable arguments, and a failing tool", () =>
    Effect.gen(function*() {
      const thread = yield* Codex.startThread({ tools: [lookup] })
      const ok = yield* thread.run("population of Paris?")
      const call = ok.items.find((item) => item.type === "dynamicToolCall") as any
      assert.strictEqual(call.success, true)
      assert.deepStrictEqual(call.contentItems, [{ type: "inputText", text: "Paris: 2.1M in 2020" }])
      const requests = yield* LocalModel.requests
      assert.match(JSON.stringify(LocalModel.toolOutputs(requests[1]!)), /Paris: 2\.1M in 2020/)
      assert.deepStrictEqual(LocalModel.toolNames(requests[0]!).includes("lookup"), true)

      const bad = yield* thread.run("bad args")
      const badCall = bad.items.find((item) => item.type === "dynamicToolCall") as any
      assert.strictEqual(badCall.success, false)
      assert.match(badCall.contentItems[0].text, /Invalid arguments for lookup/)

      const failing = yield* thread.run("atlantis")
      const failedCall = failing.items.find((item) => item.type === "dynamicToolCall") as any
      assert.strictEqual(failedCall.success, false)
      assert.strictEqual(failedCall.contentItems[0].text, "no such city")
    }).pipe(Effect.provide(Real.layer([
      LocalModel.toolCall("lookup", { city: "Paris", year: 2020 }),
      LocalModel.text("Paris has 2.1M"),
      LocalModel.toolCall("lookup", { town: 1 }),
      LocalModel.text("sorry"),
      LocalModel.toolCall("lookup", { city: "Atlantis", year: null }),
      LocalModel.text("unknown")
    ]))))
})
