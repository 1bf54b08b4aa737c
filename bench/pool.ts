/**
 * Section `pool`: what `CodexPool` buys on this machine. Concurrent turns on many threads, through
 * one `Codex` service, four ways:
 * - direct: `Codex.layer` over one `AppServer.layer` (no pool);
 * - pool-1, pool-2, pool-4: `CodexPool.layer({ size })` with 1, 2 and 4 app-server processes.
 * Every variant has its own CODEX_HOME and the same native binary and config, and all of them talk
 * to one `LocalModel` running in a child process (bench/localModelProcess.ts), so this process's CPU
 * is the client's alone. Two workloads: `instant` (the model answers "ok" at once: codex's own
 * work per turn is the bottleneck) and `streamed` (20 deltas, 5 ms apart: ~100 ms of model time per
 * turn, so turns overlap waiting on the model).
 *
 * A round of one variant: start `threads` fresh threads (not timed), then run `turns` turns on each
 * thread, the threads concurrently and each thread's turns one after another, and time the whole;
 * then archive the threads (codex unloads them), so every round starts from the same load. One
 * excluded warm-up round per variant and workload, then `rounds` rounds with the variant order
 * rotated, a forced GC before each. Reported: median turns/s over rounds, turn latency over all
 * turns, and CPU per turn: this process (main thread / whole process), the codex processes of the
 * variant (summed, from /proc/<pid>/stat), and the model process.
 */
import { NodeServices } from "@effect/platform-node"
import { Context, Effect, Exit, Layer, Scope } from "effect"
import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import * as AppServer from "../src/layers/AppServer.ts"
import * as CodexPool from "../src/layers/CodexPool.ts"
import * as Codex from "../src/services/Codex.ts"
import type * as Thread from "../src/services/Thread.ts"
import { cpuSince, cpuSnapshot, fmt, type Section, settle, table, type TargetCheck } from "./harness.ts"
import { median, round, summarize, type Summary } from "./stats.ts"

const THREADS = 16
const TURNS = 4
const QUICK_THREADS = 8
const QUICK_TURNS = 2
const SERVER_VAR = "EFFECT_CODEX_BENCH_SERVER"

interface VariantSpec {
  readonly id: "direct" | "pool-1" | "pool-2" | "pool-4"
  readonly servers: number
  readonly label: string
}

const VARIANTS: ReadonlyArray<VariantSpec> = [
  { id: "direct", servers: 1, label: "`Codex.layer` over one `AppServer.layer`" },
  { id: "pool-1", servers: 1, label: "`CodexPool.layer({ size: 1 })`" },
  { id: "pool-2", servers: 2, label: "`CodexPool.layer({ size: 2 })`" },
  { id: "pool-4", servers: 4, label: "`CodexPool.layer({ size: 4 })`" }
]

interface Workload {
  readonly id: "instant" | "streamed"
  readonly prompt: string
  readonly label: string
}

const WORKLOADS: ReadonlyArray<Workload> = [
  { id: "instant", prompt: "turn", label: "instant model (answers \"ok\" at once)" },
  { id: "streamed", prompt: "[stream] turn", label: "streamed model (20 deltas, 5 ms apart)" }
]

// ---------------------------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------------------------

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100
  } catch {
    return 100
  }
})()

/** CPU ms a process has used (user + system), from /proc/<pid>/stat; 0 once it is gone. */
const processCpuMs = (pid: number): number => {
  try {
    const stat = NodeFs.readFileSync(`/proc/${pid}/stat`, "utf8")
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return ((Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS) * 1000
  } catch {
    return 0
  }
}

/** Pids of the processes whose environment holds `name=value`. */
const pidsWithEnv = (name: string, value: string): Array<number> =>
  NodeFs.readdirSync("/proc").flatMap((entry) => {
    if (!/^\d+$/.test(entry)) return []
    try {
      return NodeFs.readFileSync(`/proc/${entry}/environ`, "utf8").split("\0").includes(`${name}=${value}`)
        ? [Number(entry)]
        : []
    } catch {
      return []
    }
  })

interface ModelProcess {
  readonly pid: number
  readonly codexHome: string
  readonly config: Record<string, unknown>
  readonly close: () => Promise<void>
}

const startModelProcess = async (): Promise<ModelProcess> => {
  const script = NodePath.join(import.meta.dirname, "localModelProcess.ts")
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, [script], { stdio: ["pipe", "pipe", "pipe"] })
  let stderr = ""
  child.stderr.on("data", (chunk: Buffer) => stderr += chunk.toString("utf8"))
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
  const line = await new Promise<string>((resolve, reject) => {
    let buffer = ""
    child.stdout.on("data", (chunk: Buffer) => {
      buffer += chunk.toString("utf8")
      const end = buffer.indexOf("\n")
      if (end >= 0) resolve(buffer.slice(0, end))
    })
    child.once("exit", (code) => reject(new Error(`the LocalModel process exited (${code}): ${stderr}`)))
  })
  const { codexHome, config } = JSON.parse(line) as { codexHome: string; config: Record<string, unknown> }
  return {
    pid: child.pid!,
    codexHome,
    config,
    close: async () => {
      child.stdin.end()
      await exited
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Variants
// ---------------------------------------------------------------------------------------------

interface Variant {
  readonly spec: VariantSpec
  readonly codex: Codex.Service
  /** The pids of its codex processes. */
  readonly pids: () => ReadonlyArray<number>
  readonly close: () => Promise<void>
}

const startVariant = async (spec: VariantSpec, home: string, model: ModelProcess): Promise<Variant> => {
  const server = (index: number): AppServer.Options => ({
    codexHome: home,
    config: model.config,
    env: { [SERVER_VAR]: `${spec.id}:${index}` }
  })
  const layer = spec.id === "direct"
    ? Codex.layer.pipe(Layer.provide(AppServer.layer(server(0))))
    : CodexPool.layer({ size: spec.servers, server })
  const scope = await Effect.runPromise(Scope.make())
  const context = await Effect.runPromise(Layer.buildWithScope(layer.pipe(Layer.provide(NodeServices.layer)), scope))
  const pids = () =>
    Array.from({ length: spec.servers }, (_, index) => pidsWithEnv(SERVER_VAR, `${spec.id}:${index}`)).flat()
  const found = pids()
  if (found.length !== spec.servers) throw new Error(`${spec.id}: expected ${spec.servers} codex processes, found ${found.length}`)
  return {
    spec,
    codex: Context.get(context, Codex.Codex),
    pids: () => found,
    close: () => Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

interface RoundResult {
  readonly wallMs: number
  readonly latencies: ReadonlyArray<number>
  readonly cpuMainMs: number | undefined
  readonly cpuProcessMs: number
  readonly codexCpuMs: number
  readonly modelCpuMs: number
}

const runRound = async (
  variant: Variant,
  workload: Workload,
  model: ModelProcess,
  threads: number,
  turns: number
): Promise<RoundResult> => {
  const started = await Effect.runPromise(
    Effect.forEach(Array.from({ length: threads }), () => variant.codex.startThread(), { concurrency: "unbounded" })
  )
  await settle()
  const pids = variant.pids()
  const codex0 = pids.reduce((sum, pid) => sum + processCpuMs(pid), 0)
  const model0 = processCpuMs(model.pid)
  const cpu0 = cpuSnapshot()
  const latencies: Array<number> = []
  const t0 = performance.now()
  await Effect.runPromise(
    Effect.forEach(started, (thread: Thread.Thread, i) =>
      Effect.gen(function*() {
        for (let k = 0; k < turns; k++) {
          const s = performance.now()
          const result = yield* thread.run(`${workload.prompt} ${i}.${k}`)
          latencies.push(performance.now() - s)
          if (result.finalResponse === undefined) throw new Error("a turn without an answer")
        }
      }), { concurrency: "unbounded", discard: true })
  )
  const wallMs = performance.now() - t0
  const cpu = cpuSince(cpu0)
  const codexCpuMs = pids.reduce((sum, pid) => sum + processCpuMs(pid), 0) - codex0
  const modelCpuMs = processCpuMs(model.pid) - model0
  // codex unloads archived threads: the next round starts from the same load
  await Effect.runPromise(Effect.forEach(started, (thread) => thread.archive, { concurrency: "unbounded", discard: true }))
  return {
    wallMs,
    latencies,
    cpuMainMs: cpu.main === undefined ? undefined : cpu.main / 1000,
    cpuProcessMs: cpu.process / 1000,
    codexCpuMs,
    modelCpuMs
  }
}

// ---------------------------------------------------------------------------------------------
// Section
// ---------------------------------------------------------------------------------------------

export interface PoolVariantResult {
  readonly variant: VariantSpec["id"]
  readonly servers: number
  readonly turnsPerSec: { readonly median: number; readonly min: number; readonly max: number }
  /** Median turns/s of this variant / median turns/s of `direct`. */
  readonly vsDirect: number
  readonly latency: Summary
  /** Median over rounds of CPU ms per turn. */
  readonly cpuPerTurnMs: {
    readonly clientMain: number | undefined
    readonly clientProcess: number
    readonly codex: number
    readonly model: number
  }
  readonly wallMs: ReadonlyArray<number>
}

export const pool: Section = {
  id: "pool",
  title: "CodexPool: concurrent turns at 1, 2 and 4 app-servers",
  run: async (ctx) => {
    const threads = ctx.config.quick ? QUICK_THREADS : THREADS
    const turns = ctx.config.quick ? QUICK_TURNS : TURNS
    const rounds = ctx.config.quick ? 2 : Math.max(3, ctx.config.rounds)
    const model = await startModelProcess()
    const variants: Array<Variant> = []
    const results: Array<{ readonly workload: Workload; readonly variants: ReadonlyArray<PoolVariantResult> }> = []
    try {
      for (const spec of VARIANTS) variants.push(await startVariant(spec, ctx.makeHome(`pool-${spec.id}`), model))
      for (const workload of WORKLOADS) {
        ctx.log(`  ${workload.id}: warm-up`)
        for (const variant of variants) await runRound(variant, workload, model, threads, turns)
        const byVariant = new Map<VariantSpec["id"], Array<RoundResult>>(variants.map((v) => [v.spec.id, []]))
        for (let r = 0; r < rounds; r++) {
          for (let i = 0; i < variants.length; i++) {
            const variant = variants[(i + r) % variants.length]!
            byVariant.get(variant.spec.id)!.push(await runRound(variant, workload, model, threads, turns))
          }
        }
        const total = threads * turns
        const summaries = variants.map((variant): Omit<PoolVariantResult, "vsDirect"> => {
          const list = byVariant.get(variant.spec.id)!
          const tps = list.map((r) => (total / r.wallMs) * 1000)
          const perTurn = (pick: (r: RoundResult) => number) => round(median(list.map((r) => pick(r) / total)), 3)
          const mains = list.map((r) => r.cpuMainMs)
          return {
            variant: variant.spec.id,
            servers: variant.spec.servers,
            turnsPerSec: { median: round(median(tps), 1), min: round(Math.min(...tps), 1), max: round(Math.max(...tps), 1) },
            latency: summarize(list.flatMap((r) => r.latencies)),
            cpuPerTurnMs: {
              clientMain: mains.some((m) => m === undefined) ? undefined : perTurn((r) => r.cpuMainMs!),
              clientProcess: perTurn((r) => r.cpuProcessMs),
              codex: perTurn((r) => r.codexCpuMs),
              model: perTurn((r) => r.modelCpuMs)
            },
            wallMs: list.map((r) => round(r.wallMs, 1))
          }
        })
        const direct = summaries.find((s) => s.variant === "direct")!
        const withRatio = summaries.map((s) => ({ ...s, vsDirect: round(s.turnsPerSec.median / direct.turnsPerSec.median) }))
        for (const s of withRatio) {
          ctx.log(`  ${workload.id} ${s.variant}: ${fmt(s.turnsPerSec.median, 1)} turns/s, p50 ${fmt(s.latency.p50, 1)} ms`)
        }
        results.push({ workload, variants: withRatio })
      }
    } finally {
      for (const variant of variants) await variant.close().catch(() => {})
      await model.close()
    }
    const left = VARIANTS.flatMap((spec) =>
      Array.from({ length: spec.servers }, (_, index) => pidsWithEnv(SERVER_VAR, `${spec.id}:${index}`)).flat()
    )
    if (left.length > 0) ctx.log(`  WARNING: codex processes still alive after the section: ${left.join(", ")}`)

    const targets: Array<TargetCheck> = []
    for (const { variants: list, workload } of results) {
      const pool1 = list.find((v) => v.variant === "pool-1")!
      targets.push({
        name: `pool ${workload.id}: pool-1 / direct turns/s (the pool's own cost)`,
        value: pool1.vsDirect,
        target: ">= 0.9 (informational)",
        pass: pool1.vsDirect >= 0.9
      })
      for (const id of ["pool-2", "pool-4"] as const) {
        const v = list.find((x) => x.variant === id)!
        targets.push({
          name: `pool ${workload.id}: ${id} / direct turns/s`,
          value: v.vsDirect,
          target: "informational",
          pass: true
        })
      }
    }
    const markdown = [
      `${threads} threads at once, ${turns} turns each (one after another on a thread), ${rounds} rounds per variant after one excluded warm-up round, variant order rotated; every variant has its own CODEX_HOME, all talk to one \`LocalModel\` in a child process. turns/s: median over rounds (min–max). CPU per turn: median over rounds of CPU ms / turns; "client" is this Node process (main thread / whole process), "codex" the variant's app-server processes summed, "model" the LocalModel process.`,
      ...results.flatMap(({ variants: list, workload }) => [
        "",
        `### ${workload.label}`,
        "",
        table(
          ["variant", "servers", "turns/s", "vs direct", "turn p50 ms", "turn p90 ms", "client CPU ms/turn main / process", "codex CPU ms/turn", "model CPU ms/turn"],
          list.map((v) => [
            `${v.variant}: ${VARIANTS.find((s) => s.id === v.variant)!.label}`,
            v.servers,
            `**${fmt(v.turnsPerSec.median, 1)}** (${fmt(v.turnsPerSec.min, 1)}–${fmt(v.turnsPerSec.max, 1)})`,
            fmt(v.vsDirect),
            fmt(v.latency.p50, 1),
            fmt(v.latency.p90, 1),
            `${v.cpuPerTurnMs.clientMain === undefined ? "n/a" : fmt(v.cpuPerTurnMs.clientMain, 2)} / ${fmt(v.cpuPerTurnMs.clientProcess, 2)}`,
            fmt(v.cpuPerTurnMs.codex, 2),
            fmt(v.cpuPerTurnMs.model, 2)
          ])
        )
      ]),
      ...(left.length === 0 ? [] : [`\n**codex processes still alive afterwards:** ${left.join(", ")}`])
    ].join("\n")
    return {
      markdown,
      data: { threads, turns, rounds, workloads: results.map(({ variants: list, workload }) => ({ workload: workload.id, variants: list })), left },
      targets
    }
  }
}
