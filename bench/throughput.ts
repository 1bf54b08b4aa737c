/**
 * Section 2: throughput with 64 requests in flight. `total` requests of one method:
 * - raw: a 64-wide pool of async workers;
 * - SDK: `Effect.forEach(..., { concurrency: 64 })`;
 * - SDK unbounded: `Effect.forEach(..., { concurrency: "unbounded" })`, relying on the client's
 *   window (`maxInFlight`, default 64) to bound what is on the wire.
 * Each round runs every variant once (order rotated per round, forced GC before each run);
 * reported req/s is the median over rounds.
 */
import { median, round } from "./stats.ts"
import {
  type BenchMethod,
  cpuSince,
  cpuSnapshot,
  type Concurrency,
  fmt,
  type Section,
  settle,
  type Side,
  startRawSide,
  startSdkSide,
  table,
  type TargetCheck,
  verdict
} from "./harness.ts"

const TARGET_RATIO = 0.9
const IN_FLIGHT = 64
const METHODS: ReadonlyArray<BenchMethod> = ["thread/loaded/list", "model/list"]

interface Variant {
  readonly id: "raw-64" | "sdk-64" | "sdk-unbounded"
  readonly label: string
  readonly side: Side
  readonly concurrency: Concurrency
}

export interface ThroughputVariantResult {
  readonly variant: Variant["id"]
  readonly reqPerSec: { readonly median: number; readonly min: number; readonly max: number }
  readonly wallMs: ReadonlyArray<number>
  /** Median CPU µs per request: main thread, and whole process (incl. GC helper threads). */
  readonly cpuMicrosPerRequest: { readonly main: number; readonly process: number }
  /** Median req/s of this variant / median req/s of raw-64. */
  readonly vsRaw: number
}

export const throughput: Section = {
  id: "throughput",
  title: `Throughput (${IN_FLIGHT} in flight)`,
  run: async (ctx) => {
    const total = ctx.config.quick ? 500 : 2000
    const rounds = ctx.config.rounds
    const [raw, sdk] = await Promise.all([startRawSide(ctx.makeHome("raw")), startSdkSide(ctx.makeHome("sdk"))])
    const variants: ReadonlyArray<Variant> = [
      { id: "raw-64", label: `raw, ${IN_FLIGHT}-wide pool`, side: raw, concurrency: IN_FLIGHT },
      { id: "sdk-64", label: `SDK, forEach concurrency ${IN_FLIGHT}`, side: sdk, concurrency: IN_FLIGHT },
      { id: "sdk-unbounded", label: "SDK, forEach unbounded (window 64)", side: sdk, concurrency: "unbounded" }
    ]
    const byMethod: Array<{ readonly method: BenchMethod; readonly variants: ReadonlyArray<ThroughputVariantResult> }> =
      []
    try {
      for (const method of METHODS) {
        // Warm-up round (not recorded).
        for (const v of variants) await v.side.pool(method, Math.ceil(total / 2), v.concurrency)
        const walls = new Map<Variant["id"], Array<number>>(variants.map((v) => [v.id, []]))
        const cpuMain = new Map<Variant["id"], Array<number>>(variants.map((v) => [v.id, []]))
        const cpuProcess = new Map<Variant["id"], Array<number>>(variants.map((v) => [v.id, []]))
        for (let r = 0; r < rounds; r++) {
          for (let i = 0; i < variants.length; i++) {
            const v = variants[(i + r) % variants.length]!
            await settle()
            const cpu0 = cpuSnapshot()
            walls.get(v.id)!.push(await v.side.pool(method, total, v.concurrency))
            const cpu = cpuSince(cpu0)
            cpuMain.get(v.id)!.push((cpu.main ?? Number.NaN) / total)
            cpuProcess.get(v.id)!.push(cpu.process / total)
          }
        }
        const rps = (id: Variant["id"]) => walls.get(id)!.map((ms) => (total / ms) * 1000)
        const rawMedian = median(rps("raw-64"))
        const results = variants.map((v): ThroughputVariantResult => {
          const xs = rps(v.id)
          return {
            variant: v.id,
            reqPerSec: { median: round(median(xs), 0), min: round(Math.min(...xs), 0), max: round(Math.max(...xs), 0) },
            wallMs: walls.get(v.id)!.map((ms) => round(ms, 1)),
            cpuMicrosPerRequest: {
              main: round(median(cpuMain.get(v.id)!), 1),
              process: round(median(cpuProcess.get(v.id)!), 1)
            },
            vsRaw: round(median(xs) / rawMedian)
          }
        })
        byMethod.push({ method, variants: results })
        ctx.log(`  ${method}: ${results.map((r) => `${r.variant} ${r.reqPerSec.median} req/s`).join(", ")}`)
      }
    } finally {
      await Promise.all([raw.close(), sdk.close()])
    }

    const targets: Array<TargetCheck> = byMethod.flatMap(({ method, variants: vs }) =>
      vs.filter((v) => v.variant !== "raw-64").map((v) => ({
        name: `throughput ${method} ${v.variant}: SDK / raw req/s`,
        value: v.vsRaw,
        target: `>= ${TARGET_RATIO}`,
        pass: v.vsRaw >= TARGET_RATIO
      }))
    )
    const label = (id: Variant["id"]) => variants.find((v) => v.id === id)!.label
    const rows = byMethod.flatMap(({ method, variants: vs }) =>
      vs.map((v) => [
        method,
        label(v.variant),
        total,
        `**${v.reqPerSec.median}**`,
        `${v.reqPerSec.min}–${v.reqPerSec.max}`,
        `${fmt(v.cpuMicrosPerRequest.main, 0)} / ${fmt(v.cpuMicrosPerRequest.process, 0)}`,
        v.variant === "raw-64" ? "1.00" : `**${fmt(v.vsRaw, 2)}**`,
        v.variant === "raw-64" ? "" : verdict(v.vsRaw >= TARGET_RATIO)
      ])
    )
    const markdown = [
      `${total} requests per run, ${rounds} rounds (after a warm-up round), variant order rotated per round. Target SDK >= ${TARGET_RATIO}x raw. Client CPU as in the previous section (median over rounds).`,
      "",
      table(["method", "variant", "requests", "req/s (median)", "req/s min–max", "client CPU µs/req (main / process)", "vs raw", "target"], rows)
    ].join("\n")
    return { markdown, data: { total, rounds, inFlight: IN_FLIGHT, methods: byMethod }, targets }
  }
}
