/**
 * Section 4: the event pipeline. A fake app-server (in memory, no process) floods N
 * `item/agentMessage/delta` notifications into one turn; the SDK side runs
 * `thread.turn(...)` and consumes `turn.events` to `TurnCompleted` (every line is parsed,
 * decoded with the generated schema, published, routed to the turn and streamed). The raw side is
 * a `JSON.parse` loop over the same lines. Both sides get the same pre-serialized lines; the fake
 * server's cost of handing them over is inside the SDK number.
 *
 * Memory: heap after a forced GC before the turn, while the turn's events are held, and after
 * the turn and its handle are gone (flat = the pipeline keeps nothing once a turn is dropped).
 */
import { Effect, Layer, Stream } from "effect"
import * as AppServer from "../src/layers/AppServer.ts"
import type { InMemoryServer } from "../src/layers/Transport.ts"
import * as P from "../src/layers/testing/internal/codexTestPayloads.ts"
import * as Codex from "../src/services/Codex.ts"
import { fmt, forceGc, type Section, table, type TargetCheck } from "./harness.ts"

const THREAD_ID = P.uuid("8", 1)
const TURN_ID = P.uuid("9", 1)

const threadState = P.idleThread(THREAD_ID)

const floodLines = (n: number): ReadonlyArray<string> => {
  const lines: Array<string> = [
    JSON.stringify({ method: "turn/started", params: { threadId: THREAD_ID, turn: P.turnInProgress(TURN_ID, 0) } })
  ]
  for (let i = 0; i < n; i++) {
    lines.push(JSON.stringify({
      method: "item/agentMessage/delta",
      params: { threadId: THREAD_ID, turnId: TURN_ID, itemId: "msg_1", delta: `token ${i} ` }
    }))
  }
  lines.push(JSON.stringify({
    method: "turn/completed",
    params: {
      threadId: THREAD_ID,
      turn: { ...P.turnInProgress(TURN_ID, 0), status: "completed", completedAt: 1, durationMs: 1 }
    }
  }))
  return lines
}

/** The fake app-server: answers what the SDK asks, then floods the turn. */
const serve = (lines: ReadonlyArray<string>, started: { at: number }) => (server: InMemoryServer) =>
  server.received.pipe(
    Stream.runForEach((line) => {
      const message = JSON.parse(line) as { id?: number; method?: string }
      const reply = (result: unknown) => server.send(JSON.stringify({ id: message.id, result }))
      switch (message.method) {
        case "initialize":
          return reply({ userAgent: "bench/0.169.0", codexHome: "/tmp", platformFamily: "unix", platformOs: "linux" })
        case "thread/start":
          return reply({
            thread: P.threadRecord(threadState, { codexHome: "/tmp", originator: "bench", withTurns: false }),
            ...P.threadSettings(threadState)
          })
        case "turn/start":
          return reply({ turn: P.turnInProgress(TURN_ID, 0) }).pipe(
            Effect.andThen(Effect.sync(() => started.at = performance.now())),
            Effect.andThen(Effect.forEach(lines, (l) => server.send(l), { discard: true }))
          )
        default:
          return Effect.void
      }
    })
  )

const heapMb = () => {
  forceGc()
  forceGc()
  return process.memoryUsage().heapUsed / 1024 / 1024
}

const runSdk = (lines: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const started = { at: 0 }
    const layer = Codex.layer.pipe(Layer.provideMerge(AppServer.layerInMemory(serve(lines, started))))
    const before = heapMb()
    const { count, ms, held } = yield* Effect.scoped(Effect.gen(function*() {
      const thread = yield* Codex.startThread()
      const turn = yield* thread.turn("flood")
      let count = 0
      yield* turn.events.pipe(Stream.runForEachArray((chunk) => Effect.sync(() => void (count += chunk.length))))
      const ms = performance.now() - started.at
      return { count, ms, held: heapMb() }
    })).pipe(Effect.provide(layer))
    const after = heapMb()
    return { count, ms, before, held, after }
  })

const runRaw = (lines: ReadonlyArray<string>) => {
  const start = performance.now()
  let deltas = 0
  for (const line of lines) {
    const message = JSON.parse(line) as { method: string }
    if (message.method === "item/agentMessage/delta") deltas++
  }
  return { count: deltas, ms: performance.now() - start }
}

/** The event-pipeline section. */
export const events: Section = {
  id: "events",
  title: "Event pipeline (one turn flooded with deltas)",
  run: async (ctx) => {
    const n = ctx.config.quick ? 50_000 : 200_000
    const lines = floodLines(n)
    // warm-up on a smaller flood, then the measured runs
    await Effect.runPromise(runSdk(floodLines(5_000)))
    runRaw(lines)
    const sdk = await Effect.runPromise(runSdk(lines))
    const raw = runRaw(lines)
    const sdkRate = sdk.count / (sdk.ms / 1000)
    // What a kept turn holds per event: heap while the ended turn is still in scope, over the heap before it.
    const heldBytesPerEvent = Math.round(((sdk.held - sdk.before) * 1024 * 1024) / sdk.count)
    const rawRate = raw.count / (raw.ms / 1000)
    ctx.log(`events: SDK ${fmt(sdkRate, 0)} events/s, raw JSON.parse ${fmt(rawRate, 0)} lines/s`)
    const targets: Array<TargetCheck> = [
      {
        name: "event pipeline: every event of the turn arrives",
        value: sdk.count,
        target: `= ${n + 2}`,
        pass: sdk.count === n + 2
      },
      {
        name: "heap held per event of a kept turn (bytes)",
        value: heldBytesPerEvent,
        target: "<= 120",
        pass: heldBytesPerEvent <= 120
      },
      {
        name: "event pipeline: heap after the turn is dropped - heap before (MB)",
        value: Math.round((sdk.after - sdk.before) * 10) / 10,
        target: "< 5 (flat)",
        pass: sdk.after - sdk.before < 5
      }
    ]
    const markdown = [
      `${n} \`item/agentMessage/delta\` notifications (plus \`turn/started\` and \`turn/completed\`) into one turn, over the in-memory transport.`,
      "",
      table(
        ["side", "events", "ms", "events/s", "vs raw"],
        [
          ["raw JSON.parse loop", String(raw.count), fmt(raw.ms, 1), fmt(rawRate, 0), "1.00"],
          ["SDK turn.events", String(sdk.count), fmt(sdk.ms, 1), fmt(sdkRate, 0), fmt(sdkRate / rawRate, 3)]
        ]
      ),
      "",
      table(
        ["heap (MB, after GC)", "value"],
        [
          ["before the turn", fmt(sdk.before, 1)],
          ["turn ended, its events still held", fmt(sdk.held, 1)],
          ["turn and handle dropped", fmt(sdk.after, 1)],
          ["held per event while the turn is kept (bytes)", String(heldBytesPerEvent)]
        ]
      )
    ].join("\n")
    return { markdown, data: { n, sdk, raw, sdkRate, rawRate, heldBytesPerEvent }, targets }
  }
}
