/**
 * Section: CPU per notification, the two rows of issue 11 that time the event path on real pipes.
 *
 * - `flood`: a real child process (bench/icount/floodServer.ts, a fake app-server behind
 *   bench/icount/fakeCodex.ts) answers `turn/start` and writes `turn/started`, N
 *   `item/agentMessage/delta` and `turn/completed` to its stdout in one go. SDK: `AppServer.layer`
 *   with `codexPath` pointing at it + `Codex.layer`, `thread.turn` and `turn.events` consumed to
 *   its end; raw: bench/rawClient.ts counting deltas in its `onMessage` listener until
 *   `turn/completed`. The client is the bottleneck (the pipe stays full), so this is the stdio
 *   path's own cost per notification; events/s through `turn.events` is taken from the first
 *   delta to the last event (the fake server's time to build the flood is not in it).
 * - `turn`: the pinned codex against a LocalModel in another process (bench/icount/modelServer.ts)
 *   that answers every model request with one assistant message of 20,000 `output_text.delta`
 *   chunks, so codex emits 20,000 `item/agentMessage/delta` notifications per turn, at its own pace
 *   (small reads: this is what a real stream costs). SDK `thread.turn` + `turn.events`; raw
 *   `turn/start` until `turn/completed`.
 *
 * Both sides in this process, each with its own server process; one excluded warm-up turn per side,
 * then rounds of one turn per side, order flipped every round, `settle()` (forced GC) before each.
 * CPU is this process's main thread (/proc/thread-self/schedstat, what issue 11 measured with
 * perf) and the whole process (`process.cpuUsage`, also V8's GC and compiler threads), from the
 * turn's start until its last event, divided by the deltas received. Reported: medians over rounds.
 */
import { NodeServices } from "@effect/platform-node"
import { Context, Effect, Exit, Layer, Scope, Stream } from "effect"
import { spawn } from "node:child_process"
import * as NodePath from "node:path"
import * as NodeReadline from "node:readline"
import * as AppServer from "../src/layers/AppServer.ts"
import * as Codex from "../src/services/Codex.ts"
import { codexBinary, cpuSince, cpuSnapshot, fmt, OFFLINE_ARGS, OFFLINE_CONFIG, type Section, settle, table, type TargetCheck, verdict } from "./harness.ts"
import { floodExecutable } from "./icount/fakeCodex.ts"
import { spawnRawClient } from "./rawClient.ts"
import { median } from "./stats.ts"

/** Issue 11's targets. */
export const NOTIFY_TARGETS = {
  floodCpuRatio: 1.5,
  floodEventsPerSec: 600_000,
  turnCpuRatio: 1.1
} as const

type Kind = "flood" | "turn"

/** One turn's measurement on one side. */
interface TurnSample {
  readonly deltas: number
  /** µs per delta: main thread / whole process. */
  readonly cpuMain: number
  readonly cpuProcess: number
  /** Deltas per second from the first delta to the last event. */
  readonly eventsPerSec: number
}

interface NotifySide {
  readonly turn: (n: number) => Promise<TurnSample>
  readonly close: () => Promise<void>
}

const sample = (deltas: number, cpu: ReturnType<typeof cpuSince>, first: number, last: number): TurnSample => ({
  deltas,
  cpuMain: (cpu.main ?? Number.NaN) / deltas,
  cpuProcess: cpu.process / deltas,
  eventsPerSec: (deltas - 1) / ((last - first) / 1000)
})

/** A modelServer.ts process answering the k-th model request with `counts[k]` deltas (the last again after). */
const startModel = async (counts: ReadonlyArray<number>) => {
  // A deep stack: LocalModel writes the frames of an undelayed SSE answer by recursion, two calls per
  // frame, and 20,000 frames overflow the default 984 KB (the main thread has 8 MB).
  const child = spawn(process.execPath, ["--stack-size=7000", NodePath.join(import.meta.dirname, "icount", "modelServer.ts"), ...counts.map(String)], {
    stdio: ["pipe", "pipe", "inherit"]
  })
  const line = await new Promise<string>((resolve, reject) => {
    NodeReadline.createInterface({ input: child.stdout }).once("line", resolve)
    child.once("exit", (code) => reject(new Error(`modelServer exited (${code})`)))
  })
  const options = JSON.parse(line) as { codexHome: string; config: Record<string, unknown> }
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
  return { options, stop: () => (child.stdin.end(), exited) }
}

const text = (kind: Kind, n: number) => kind === "flood" ? `flood ${n}` : `turn ${n}`

const sdkSide = async (kind: Kind, home: string, cwd: string, modelCounts: ReadonlyArray<number>): Promise<NotifySide> => {
  const model = kind === "turn" ? await startModel(modelCounts) : undefined
  const options: AppServer.Options = kind === "flood"
    ? { codexPath: floodExecutable(home), codexHome: home, config: OFFLINE_CONFIG }
    : { codexHome: model!.options.codexHome, config: model!.options.config as AppServer.Options["config"] }
  const layer = Codex.layer.pipe(Layer.provideMerge(AppServer.layer(options)), Layer.provide(NodeServices.layer))
  const scope = Effect.runSync(Scope.make())
  const context = await Effect.runPromise(Layer.buildWithScope(layer, scope))
  const codex = Context.get(context, Codex.Codex)
  const thread = await Effect.runPromise(codex.startThread({ cwd }))
  return {
    turn: (n) =>
      Effect.runPromise(Effect.scoped(Effect.gen(function*() {
        const cpu0 = cpuSnapshot()
        const turn = yield* thread.turn(text(kind, n))
        let deltas = 0
        let first = 0
        yield* turn.events.pipe(Stream.runForEach((event) =>
          Effect.sync(() => {
            if (event._tag === "AgentMessageDelta" && deltas++ === 0) first = performance.now()
          })
        ))
        const last = performance.now()
        return sample(deltas, cpuSince(cpu0), first, last)
      }))),
    close: async () => {
      await Effect.runPromise(Scope.close(scope, Exit.void))
      await model?.stop()
    }
  }
}

const rawSide = async (kind: Kind, home: string, cwd: string, modelCounts: ReadonlyArray<number>): Promise<NotifySide> => {
  const model = kind === "turn" ? await startModel(modelCounts) : undefined
  const { bin, env } = codexBinary()
  const client = kind === "flood"
    ? spawnRawClient({ bin: floodExecutable(home), args: ["app-server", ...OFFLINE_ARGS], env: { ...env, CODEX_HOME: home } })
    : spawnRawClient({ bin, args: ["app-server", ...OFFLINE_ARGS], env: { ...env, CODEX_HOME: model!.options.codexHome } })
  await client.initialize()
  const { thread } = await client.request<{ thread: { id: string } }>("thread/start", { cwd })
  let deltas = 0
  let first = 0
  let done: (() => void) | undefined
  client.onMessage((msg) => {
    if (msg.method === "item/agentMessage/delta") {
      if (deltas++ === 0) first = performance.now()
    } else if (msg.method === "turn/completed") done?.()
  })
  return {
    turn: async (n) => {
      deltas = 0
      first = 0
      const completed = new Promise<void>((resolve) => (done = resolve))
      const cpu0 = cpuSnapshot()
      await client.request("turn/start", {
        threadId: thread.id,
        input: [{ type: "text", text: text(kind, n), text_elements: [] }]
      })
      await completed
      const last = performance.now()
      return sample(deltas, cpuSince(cpu0), first, last)
    },
    close: async () => {
      await client.close()
      await model?.stop()
    }
  }
}

interface KindResult {
  readonly kind: Kind
  readonly n: number
  readonly rounds: number
  readonly raw: { readonly cpuMain: number; readonly cpuProcess: number; readonly eventsPerSec: number; readonly samples: ReadonlyArray<TurnSample> }
  readonly sdk: { readonly cpuMain: number; readonly cpuProcess: number; readonly eventsPerSec: number; readonly samples: ReadonlyArray<TurnSample> }
  /** SDK / raw, main-thread CPU per notification. */
  readonly ratioMain: number
  readonly ratioProcess: number
}

const runKind = async (kind: Kind, n: number, warmupN: number, rounds: number, ctx: Parameters<Section["run"]>[0]): Promise<KindResult> => {
  // Model requests: the warm-up turn, then one per round (modelServer repeats the last count after).
  const modelCounts = [warmupN, ...Array.from({ length: rounds }, () => n)]
  const cwd = ctx.makeHome(`notify-${kind}-cwd`)
  const sides = {
    raw: await rawSide(kind, ctx.makeHome(`notify-${kind}-raw`), cwd, modelCounts),
    sdk: await sdkSide(kind, ctx.makeHome(`notify-${kind}-sdk`), cwd, modelCounts)
  }
  const samples: { raw: Array<TurnSample>; sdk: Array<TurnSample> } = { raw: [], sdk: [] }
  try {
    for (const id of ["raw", "sdk"] as const) {
      await settle()
      await sides[id].turn(warmupN)
    }
    for (let r = 0; r < rounds; r++) {
      const order: ReadonlyArray<"raw" | "sdk"> = r % 2 === 0 ? ["raw", "sdk"] : ["sdk", "raw"]
      for (const id of order) {
        await settle()
        const s = await sides[id].turn(n)
        if (s.deltas !== n) throw new Error(`${kind} ${id}: ${s.deltas} deltas received, expected ${n}`)
        samples[id].push(s)
      }
    }
  } finally {
    await sides.raw.close()
    await sides.sdk.close()
  }
  const sum = (xs: ReadonlyArray<TurnSample>) => ({
    cpuMain: median(xs.map((s) => s.cpuMain)),
    cpuProcess: median(xs.map((s) => s.cpuProcess)),
    eventsPerSec: median(xs.map((s) => s.eventsPerSec)),
    samples: xs
  })
  const raw = sum(samples.raw)
  const sdk = sum(samples.sdk)
  ctx.log(`  ${kind}: CPU µs/notification main raw ${fmt(raw.cpuMain, 2)} SDK ${fmt(sdk.cpuMain, 2)}; SDK ${fmt(sdk.eventsPerSec, 0)} events/s`)
  return { kind, n, rounds, raw, sdk, ratioMain: sdk.cpuMain / raw.cpuMain, ratioProcess: sdk.cpuProcess / raw.cpuProcess }
}

/** The section: `notify`. */
export const notifications: Section = {
  id: "notify",
  title: "CPU per notification (stdio flood, real codex turn of 20k deltas)",
  run: async (ctx) => {
    const quick = ctx.config.quick
    const flood = await runKind("flood", quick ? 20_000 : 100_000, 5_000, quick ? 2 : 5, ctx)
    const turn = await runKind("turn", 20_000, 500, quick ? 2 : 5, ctx)
    const targets: Array<TargetCheck> = [
      {
        name: "CPU per notification, stdio flood (main thread): SDK / raw",
        value: Math.round(flood.ratioMain * 1000) / 1000,
        target: `<= ${NOTIFY_TARGETS.floodCpuRatio}`,
        pass: flood.ratioMain <= NOTIFY_TARGETS.floodCpuRatio
      },
      {
        name: "events/s through `turn.events`, stdio flood",
        value: Math.round(flood.sdk.eventsPerSec),
        target: `>= ${NOTIFY_TARGETS.floodEventsPerSec}`,
        pass: flood.sdk.eventsPerSec >= NOTIFY_TARGETS.floodEventsPerSec
      },
      {
        name: "CPU per notification, real codex turn of 20k deltas (main thread): SDK / raw",
        value: Math.round(turn.ratioMain * 1000) / 1000,
        target: `<= ${NOTIFY_TARGETS.turnCpuRatio}`,
        pass: turn.ratioMain <= NOTIFY_TARGETS.turnCpuRatio
      }
    ]
    const row = (r: KindResult, label: string, max: number) => [
      label,
      String(r.n),
      `${fmt(r.raw.cpuMain, 2)} / ${fmt(r.raw.cpuProcess, 2)}`,
      `${fmt(r.sdk.cpuMain, 2)} / ${fmt(r.sdk.cpuProcess, 2)}`,
      `**${fmt(r.ratioMain, 2)}** / ${fmt(r.ratioProcess, 2)}`,
      `${fmt(r.raw.eventsPerSec / 1000, 0)}k / ${fmt(r.sdk.eventsPerSec / 1000, 0)}k`,
      `<= ${max}`,
      verdict(r.ratioMain <= max)
    ]
    const markdown = [
      `Client CPU per \`item/agentMessage/delta\` notification, µs, main thread / whole process, from the turn's start to its last event, median of ${flood.rounds} rounds (one turn per side per round, order flipped, forced GC before each; one excluded warm-up turn per side). \`flood\`: a fake app-server child process writes the whole turn to its stdout at once. \`turn\`: the pinned codex against a LocalModel in another process that streams 20,000 \`output_text.delta\` chunks; codex forwards each as a notification. Events/s: deltas from the first delta to the last event.`,
      "",
      table(
        ["workload", "deltas per turn", "raw CPU µs", "SDK CPU µs", "SDK / raw", "events/s raw / SDK", "target", "result"],
        [
          row(flood, "stdio flood (fake app-server)", NOTIFY_TARGETS.floodCpuRatio),
          row(turn, "real codex turn (LocalModel)", NOTIFY_TARGETS.turnCpuRatio)
        ]
      ),
      "",
      `Events/s through \`turn.events\` in the stdio flood: ${fmt(flood.sdk.eventsPerSec, 0)} (target >= ${NOTIFY_TARGETS.floodEventsPerSec}): ${
        verdict(flood.sdk.eventsPerSec >= NOTIFY_TARGETS.floodEventsPerSec)
      }`
    ].join("\n")
    return { markdown, data: { flood, turn }, targets }
  }
}
