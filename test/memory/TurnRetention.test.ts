/**
 * A turn that ended, whose handle and connection are gone, must be collectable: nothing module-level may keep
 * it. The trace-context cache of the request path (src/services/internal/telemetry.ts) once kept the last span
 * a request ran under, and through its parents' exits the `Turn` handle with every event of the turn (20 MB
 * after a 200k-delta turn in the events bench).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Stream } from "effect"
import * as NodeV8 from "node:v8"
import * as NodeVm from "node:vm"
import * as AppServer from "../../src/layers/AppServer.ts"
import type { InMemoryServer } from "../../src/layers/Transport.ts"
import * as P from "../../src/layers/testing/internal/codexTestPayloads.ts"
import * as Codex from "../../src/services/Codex.ts"

NodeV8.setFlagsFromString("--expose-gc")
const gc = NodeVm.runInNewContext("gc") as () => void

const THREAD_ID = P.uuid("8", 1)
const TURN_ID = P.uuid("9", 1)
const state = P.idleThread(THREAD_ID)

const serve = (server: InMemoryServer) =>
  server.received.pipe(
    Stream.runForEach((line) => {
      const message = JSON.parse(line) as { id?: number; method?: string }
      const reply = (result: unknown) => server.send(JSON.stringify({ id: message.id, result }))
      const notify = (method: string, params: unknown) => server.send(JSON.stringify({ method, params }))
      switch (message.method) {
        case "initialize":
          return reply({ userAgent: "test/0.171.0", codexHome: "/tmp", platformFamily: "unix", platformOs: "linux" })
        case "thread/start":
          return reply({
            thread: P.threadRecord(state, { codexHome: "/tmp", originator: "test", withTurns: false }),
            ...P.threadSettings(state)
          })
        case "turn/start":
          return reply({ turn: P.turnInProgress(TURN_ID, 0) }).pipe(
            Effect.andThen(notify("turn/started", { threadId: THREAD_ID, turn: P.turnInProgress(TURN_ID, 0) })),
            Effect.andThen(notify("item/agentMessage/delta", { threadId: THREAD_ID, turnId: TURN_ID, itemId: "m", delta: "hi" })),
            Effect.andThen(notify("turn/completed", {
              threadId: THREAD_ID,
              turn: { ...P.turnInProgress(TURN_ID, 0), status: "completed", completedAt: 1, durationMs: 1 }
            }))
          )
        default:
          return Effect.void
      }
    })
  )

describe("a dropped turn", () => {
  it.effect("is collected once its handle and connection are gone (the trace-context cache keeps no span)", () =>
    Effect.gen(function*() {
      const layer = Codex.layer.pipe(Layer.provideMerge(AppServer.layerInMemory(serve)))
      const ref = yield* Effect.scoped(Effect.gen(function*() {
        const thread = yield* Codex.startThread()
        const turn = yield* thread.turn("hello")
        const events = yield* Stream.runCollect(turn.events)
        assert.isAbove(events.length, 2)
        return new WeakRef(turn)
      })).pipe(Effect.provide(layer))
      // a WeakRef's target lives to the end of the job that made it
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 10)))
      gc()
      gc()
      assert.isUndefined(ref.deref())
    }).pipe(Effect.withSpan("test")))
})
