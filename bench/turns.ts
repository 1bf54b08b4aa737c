/**
 * Section 5: turn latency. 20 sequential turns on one thread against `LocalModel` (a scripted
 * Responses-API server on 127.0.0.1 that answers every model request at once with "ok"), with the
 * real binary, three ways:
 * - SDK: `AppServer.layer` + `Codex.layer`, one thread, `thread.run("turn i")` per turn;
 * - raw: `bench/rawClient.ts` against `codex app-server`: `thread/start`, then per turn
 *   `turn/start` and wait for that turn's `turn/completed` notification;
 * - codex-sdk: `@openai/codex-sdk` (pinned), one `Thread`, `thread.run("turn i")` per turn, which
 *   spawns `codex exec --experimental-json` (`exec resume <id>` after the first) per turn.
 * All three run the same native binary (`codexBinary()`), each with its own LocalModel (own
 * CODEX_HOME + config.toml pointing at it, `features.plugins=false`, `features.shell_snapshot=false`,
 * `analytics.enabled=false`: without it every `codex exec` resolves ab.chatgpt.com to export OTLP
 * metrics) and the same empty working directory. Each side gets 2 excluded warm-up turns, then the measured
 * turns alternate between the sides (one turn per side per round, order rotated every round), so
 * drift on a shared machine hits all sides alike. Wall time per turn: from the call until the result
 * (SDK: `thread.run` returns; raw: `turn/completed` for that turn arrived; codex-sdk: `run` resolves,
 * i.e. the exec process has printed `turn.completed` and exited).
 */
import { NodeServices } from "@effect/platform-node"
import { Codex as CodexSdk } from "@openai/codex-sdk"
import { Context, Effect, Exit, Layer, Scope } from "effect"
import { execFileSync } from "node:child_process"
import * as AppServer from "../src/layers/AppServer.ts"
import * as LocalModel from "../src/layers/testing/LocalModel.ts"
import * as Codex from "../src/services/Codex.ts"
import { codexBinary, cpuSince, cpuSnapshot, fmt, OFFLINE_ARGS, OFFLINE_CONFIG, type Section, settle, table, type TargetCheck } from "./harness.ts"
import { spawnRawClient } from "./rawClient.ts"
import { round, summarize, type Summary } from "./stats.ts"

const TURNS = 20
const QUICK_TURNS = 5
const WARMUP = 2
const USAGE: LocalModel.Usage = { input: 100, output: 1 }
/** Settings every side's CODEX_HOME gets: no login-shell snapshot per thread (only costs CPU), and no
 * metrics export (`codex exec` would otherwise look up ab.chatgpt.com: off loopback). */
const MODEL_OPTIONS: LocalModel.Options = {
  config: { features: { shell_snapshot: false }, analytics: { enabled: false } }
}

interface TurnSide {
  readonly id: "sdk" | "raw" | "codex-sdk"
  readonly label: string
  /** Runs turn `i` to its end; resolves with its wall time in ms. */
  readonly turn: (i: number) => Promise<number>
  /** Model requests received so far (to report requests per turn). */
  readonly requests: () => Promise<number>
  readonly close: () => Promise<void>
}

export interface TurnSideResult {
  readonly side: string
  readonly label: string
  readonly turns: Summary
  readonly samples: ReadonlyArray<number>
  readonly warmup: ReadonlyArray<number>
  readonly modelRequests: number
  /** Main-thread CPU ms per measured turn in this Node process (the client, plus this side's LocalModel). */
  readonly cpuMainMs: number | undefined
  /** Whole-process CPU ms per measured turn (also V8's GC/compiler threads). */
  readonly cpuProcessMs: number
}

/** A LocalModel in `scope` with enough "ok" answers for every turn (unused ones cost nothing). */
const startModel = (scope: Scope.Scope, steps: number) =>
  Effect.runPromise(
    LocalModel.make(Array.from({ length: steps }, () => LocalModel.text("ok", { usage: USAGE })), MODEL_OPTIONS).pipe(
      Scope.provide(scope)
    )
  )

const requestCount = (model: LocalModel.Service) => () =>
  Effect.runPromise(Effect.map(model.requests, (r) => r.length))

const sdkSide = async (scope: Scope.Scope, steps: number, cwd: string): Promise<TurnSide> => {
  const model = await startModel(scope, steps)
  const layer = Codex.layer.pipe(
    Layer.provideMerge(AppServer.layer({ codexHome: model.codexHome, config: model.appServerOptions.config })),
    Layer.provide(NodeServices.layer)
  )
  const inner = await Effect.runPromise(Scope.fork(scope))
  const context = await Effect.runPromise(Layer.buildWithScope(layer, inner))
  const codex = Context.get(context, Codex.Codex)
  const thread = await Effect.runPromise(codex.startThread({ cwd }))
  return {
    id: "sdk",
    label: "SDK (`thread.run`, app-server)",
    turn: (i) =>
      Effect.runPromise(Effect.gen(function*() {
        const t0 = performance.now()
        yield* thread.run(`turn ${i}`)
        return performance.now() - t0
      })),
    requests: requestCount(model),
    close: () => Effect.runPromise(Scope.close(inner, Exit.void))
  }
}

const rawSide = async (scope: Scope.Scope, steps: number, cwd: string): Promise<TurnSide> => {
  const model = await startModel(scope, steps)
  const { bin, env } = codexBinary()
  const client = spawnRawClient({ bin, args: ["app-server", ...OFFLINE_ARGS], env: { ...env, CODEX_HOME: model.codexHome } })
  try {
    await client.initialize()
    const { thread } = await client.request<{ thread: { id: string } }>("thread/start", { cwd })
    // turn id -> its waiter; ids whose `turn/completed` came before the `turn/start` response.
    const waiting = new Map<string, () => void>()
    const early = new Set<string>()
    client.onMessage((msg) => {
      if (msg.method !== "turn/completed" || msg.params?.threadId !== thread.id) return
      const id: string = msg.params.turn.id
      const done = waiting.get(id)
      if (done === undefined) early.add(id)
      else {
        waiting.delete(id)
        done()
      }
    })
    return {
      id: "raw",
      label: "raw JSON-RPC (`turn/start` → `turn/completed`, app-server)",
      turn: async (i) => {
        const t0 = performance.now()
        const { turn } = await client.request<{ turn: { id: string } }>("turn/start", {
          threadId: thread.id,
          input: [{ type: "text", text: `turn ${i}`, text_elements: [] }]
        })
        if (early.delete(turn.id)) return performance.now() - t0
        await new Promise<void>((resolve, reject) => {
          waiting.set(turn.id, resolve)
          client.exited.then(() => reject(new Error("codex exited mid-turn")))
        })
        return performance.now() - t0
      },
      requests: requestCount(model),
      close: () => client.close()
    }
  } catch (e) {
    await client.close()
    throw e
  }
}

const codexSdkSide = async (scope: Scope.Scope, steps: number, cwd: string): Promise<TurnSide> => {
  const model = await startModel(scope, steps)
  const { bin, env } = codexBinary()
  // `env` replaces process.env entirely; no API key: the "mock" provider needs none and only
  // talks to 127.0.0.1 (config.toml in CODEX_HOME selects it).
  const codex = new CodexSdk({
    codexPathOverride: bin,
    env: { ...env, CODEX_HOME: model.codexHome },
    config: OFFLINE_CONFIG
  })
  const thread = codex.startThread({ workingDirectory: cwd, skipGitRepoCheck: true })
  return {
    id: "codex-sdk",
    label: "`@openai/codex-sdk` 0.163.0 (`thread.run`, `codex exec` per turn)",
    turn: async (i) => {
      const t0 = performance.now()
      const result = await thread.run(`turn ${i}`)
      const ms = performance.now() - t0
      if (result.finalResponse !== "ok") throw new Error(`codex-sdk: unexpected answer ${JSON.stringify(result.finalResponse)}`)
      return ms
    },
    requests: requestCount(model),
    close: async () => {} // every `run` waits for its exec process to exit
  }
}

/** Child processes of this Node process still alive (should be none once every side is closed). */
const liveChildren = (): Array<string> => {
  try {
    return execFileSync("ps", ["-o", "pid=,args=", "--ppid", String(process.pid)], { encoding: "utf8" })
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l.length > 0 && !/\bps -o\b/.test(l))
  } catch {
    return [] // ps exits 1 when nothing matches
  }
}

export const turns: Section = {
  id: "turns",
  title: `Turn latency: ${TURNS} sequential turns`,
  run: async (ctx) => {
    const n = ctx.config.quick ? QUICK_TURNS : TURNS
    // Enough answers for every turn even if codex sent a few extra model requests per turn.
    const steps = (n + WARMUP) * 4
    const cwd = ctx.makeHome("turns-cwd")
    const scope = await Effect.runPromise(Scope.make())
    const sides: Array<TurnSide> = []
    const skipped: Array<string> = []
    const samples = new Map<string, Array<number>>()
    const warmups = new Map<string, Array<number>>()
    const cpu = new Map<string, { main: number | undefined; process: number }>()
    try {
      sides.push(await sdkSide(scope, steps, cwd))
      sides.push(await rawSide(scope, steps, cwd))
      try {
        const side = await codexSdkSide(scope, steps, cwd)
        await side.turn(-1) // smoke test: leave the side out if it cannot run a turn here
        sides.push(side)
      } catch (e) {
        skipped.push(`codex-sdk left out: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`)
        ctx.log(`  ${skipped.at(-1)}`)
      }
      for (const s of sides) {
        samples.set(s.id, [])
        warmups.set(s.id, [])
        cpu.set(s.id, { main: 0, process: 0 })
      }
      for (let w = 0; w < WARMUP; w++) {
        for (const s of sides) warmups.get(s.id)!.push(await s.turn(w))
      }
      for (let r = 0; r < n; r++) {
        await settle()
        for (let k = 0; k < sides.length; k++) {
          const s = sides[(k + r) % sides.length]!
          const c0 = cpuSnapshot()
          samples.get(s.id)!.push(await s.turn(WARMUP + r))
          const used = cpuSince(c0)
          const acc = cpu.get(s.id)!
          acc.main = acc.main === undefined || used.main === undefined ? undefined : acc.main + used.main
          acc.process += used.process
        }
      }
    } finally {
      for (const s of sides) await s.close().catch(() => {})
      await Effect.runPromise(Scope.close(scope, Exit.void))
    }
    const orphans = liveChildren()
    if (orphans.length > 0) ctx.log(`  WARNING: child processes still alive after the section: ${orphans.join("; ")}`)

    const results: Array<TurnSideResult> = []
    for (const s of sides) {
      const xs = samples.get(s.id)!
      results.push({
        side: s.id,
        label: s.label,
        turns: summarize(xs),
        samples: xs.map((x) => round(x, 1)),
        warmup: warmups.get(s.id)!.map((x) => round(x, 1)),
        modelRequests: await s.requests(),
        cpuMainMs: ((m) => m === undefined ? undefined : round(m / 1000 / Math.max(1, xs.length)))(cpu.get(s.id)!.main),
        cpuProcessMs: round(cpu.get(s.id)!.process / 1000 / Math.max(1, xs.length))
      })
    }
    for (const r of results) ctx.log(`  ${r.side}: p50 ${fmt(r.turns.p50, 1)} ms, mean ${fmt(r.turns.mean, 1)} ms`)
    const byId = (id: string) => results.find((r) => r.side === id)
    const raw = byId("raw")!
    const sdk = byId("sdk")!
    const exec = byId("codex-sdk")
    const turnsRun = n + WARMUP
    const rows = results.map((r) => [
      r.label,
      r.turns.n,
      `**${fmt(r.turns.p50, 1)}**`,
      fmt(r.turns.p90, 1),
      fmt(r.turns.mean, 1),
      fmt(r.turns.min, 1),
      fmt(r.turns.max, 1),
      r.side === "raw" ? "1.000" : fmt(r.turns.p50 / raw.turns.p50),
      r.side === "raw" ? "1.000" : fmt(r.turns.mean / raw.turns.mean),
      `${r.cpuMainMs === undefined ? "n/a" : fmt(r.cpuMainMs, 2)} / ${fmt(r.cpuProcessMs, 2)}`,
      r.warmup.map((x) => fmt(x, 0)).join(", "),
      fmt((r.modelRequests) / (turnsRun + (r.side === "codex-sdk" ? 1 : 0)), 2)
    ])
    const sdkRatio = round(sdk.turns.p50 / raw.turns.p50)
    const targets: Array<TargetCheck> = [
      { name: "turn latency: SDK p50 / raw p50", value: sdkRatio, target: "<= 1.15 (informational)", pass: sdkRatio <= 1.15 }
    ]
    if (exec !== undefined) {
      targets.push({
        name: "turn latency: codex-sdk p50 / SDK p50",
        value: round(exec.turns.p50 / sdk.turns.p50),
        target: "informational",
        pass: true
      })
    }
    const markdown = [
      `ms per turn (call → result), ${n} measured turns per side on one thread after ${WARMUP} excluded warm-up turns (values shown), sides alternating one turn each per round (order rotated), each against its own \`LocalModel\` that answers every request at once with "ok". Same native binary, \`features.plugins=false\`, \`features.shell_snapshot=false\`, \`analytics.enabled=false\`.`,
      "",
      table(
        [
          "side",
          "n",
          "p50",
          "p90",
          "mean",
          "min",
          "max",
          "p50 / raw",
          "mean / raw",
          "Node CPU ms/turn main / process",
          "warm-up",
          "model req/turn"
        ],
        rows
      ),
      ...(exec === undefined
        ? []
        : [
          "",
          `SDK vs \`@openai/codex-sdk\`: p50 ${fmt(sdk.turns.p50, 1)} vs ${fmt(exec.turns.p50, 1)} ms (the exec-per-turn SDK pays process start, config load and session resume on every turn: ${fmt(exec.turns.p50 / sdk.turns.p50, 1)}x).`
        ]),
      "",
      "\"Node CPU ms/turn\": CPU time of this Node process during that side's measured turns (main thread / whole process), i.e. the client plus that side's LocalModel (same for all sides); codex's own CPU is not included.",
      ...skipped.map((s) => `\n_${s}_`),
      ...(orphans.length === 0 ? [] : [`\n**child processes still alive afterwards:** ${orphans.join("; ")}`])
    ].join("\n")
    return { markdown, data: { turns: n, warmup: WARMUP, sides: results, skipped, orphans }, targets }
  }
}
