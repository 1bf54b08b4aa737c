/**
 * Section 1: request overhead. Sequential round trips (one request in flight) of cheap read-only
 * methods, SDK `client.request` (params encoded, response decoded) vs the raw client, each against
 * its own `codex app-server` process. Samples are taken in alternating blocks (raw/sdk, then
 * sdk/raw, ...) with a forced GC before each block; percentiles pool all blocks of a side.
 */
import { median, round, summarize, type Summary } from "./stats.ts"
import {
  BENCH_METHODS,
  cpuSince,
  cpuSnapshot,
  type BenchMethod,
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

const TARGET_RATIO = 1.15
const BLOCK = 100
const WARMUP = 150

export interface OverheadMethodResult {
  readonly method: BenchMethod
  readonly raw: Summary
  readonly sdk: Summary
  /** SDK p50 / raw p50. */
  readonly ratioP50: number
  /** SDK p50 - raw p50, in ms: the absolute per-request cost of the SDK. */
  readonly deltaP50Ms: number
  /** CPU µs per request while the side ran: main thread, and whole process (incl. GC helper threads). */
  readonly cpuMicrosPerRequest: {
    readonly raw: { readonly main: number; readonly process: number }
    readonly sdk: { readonly main: number; readonly process: number }
  }
  /** Median of each block, in order, to show drift. */
  readonly blockMedians: { readonly raw: ReadonlyArray<number>; readonly sdk: ReadonlyArray<number> }
}

const cpuCell = (cpu: { readonly main: number; readonly process: number }) =>
  `${fmt(cpu.main, 0)} / ${fmt(cpu.process, 0)}`

export const overhead: Section = {
  id: "overhead",
  title: "Request overhead (sequential round trip)",
  run: async (ctx) => {
    const samples = ctx.config.samples
    const blocks = Math.max(2, Math.ceil(samples / BLOCK))
    const perBlock = Math.ceil(samples / blocks)
    const [raw, sdk] = await Promise.all([startRawSide(ctx.makeHome("raw")), startSdkSide(ctx.makeHome("sdk"))])
    const results: Array<OverheadMethodResult> = []
    try {
      // Warm-up: JIT of both clients, and codex's own caches, for every method.
      for (const method of BENCH_METHODS) {
        for (let i = 0; i < 3; i++) {
          await raw.sequential(method, Math.ceil(WARMUP / 3))
          await sdk.sequential(method, Math.ceil(WARMUP / 3))
        }
      }
      for (const method of BENCH_METHODS) {
        const pooled = { raw: [] as Array<number>, sdk: [] as Array<number> }
        const blockMedians = { raw: [] as Array<number>, sdk: [] as Array<number> }
        const cpuMain = { raw: 0, sdk: 0 }
        const cpuProcess = { raw: 0, sdk: 0 }
        for (let b = 0; b < blocks; b++) {
          const order: ReadonlyArray<Side> = b % 2 === 0 ? [raw, sdk] : [sdk, raw]
          for (const side of order) {
            await settle()
            const cpu0 = cpuSnapshot()
            const xs = await side.sequential(method, perBlock)
            const cpu = cpuSince(cpu0)
            cpuMain[side.name] += cpu.main ?? Number.NaN
            cpuProcess[side.name] += cpu.process
            pooled[side.name].push(...xs)
            blockMedians[side.name].push(round(median(xs)))
          }
        }
        const r = summarize(pooled.raw)
        const s = summarize(pooled.sdk)
        results.push({
          method,
          raw: r,
          sdk: s,
          ratioP50: round(s.p50 / r.p50),
          deltaP50Ms: round(s.p50 - r.p50),
          cpuMicrosPerRequest: {
            raw: { main: round(cpuMain.raw / r.n, 1), process: round(cpuProcess.raw / r.n, 1) },
            sdk: { main: round(cpuMain.sdk / s.n, 1), process: round(cpuProcess.sdk / s.n, 1) }
          },
          blockMedians
        })
        ctx.log(`  ${method}: raw p50 ${r.p50} ms, sdk p50 ${s.p50} ms, ratio ${round(s.p50 / r.p50)}`)
      }
    } finally {
      await Promise.all([raw.close(), sdk.close()])
    }

    const targets: Array<TargetCheck> = results.map((r) => ({
      name: `request overhead ${r.method}: SDK p50 / raw p50`,
      value: r.ratioP50,
      target: `<= ${TARGET_RATIO}`,
      pass: r.ratioP50 <= TARGET_RATIO
    }))
    const rows = results.flatMap((r) => [
      [r.method, "raw", r.raw.n, fmt(r.raw.p50), fmt(r.raw.p90), fmt(r.raw.p99), fmt(r.raw.mean), cpuCell(r.cpuMicrosPerRequest.raw), "", ""],
      [
        r.method,
        "SDK",
        r.sdk.n,
        fmt(r.sdk.p50),
        fmt(r.sdk.p90),
        fmt(r.sdk.p99),
        fmt(r.sdk.mean),
        cpuCell(r.cpuMicrosPerRequest.sdk),
        `**${fmt(r.ratioP50, 2)}** (+${fmt(r.deltaP50Ms)} ms)`,
        verdict(r.ratioP50 <= TARGET_RATIO)
      ]
    ])
    const markdown = [
      `Sequential, one request in flight, ms. ${blocks} alternating blocks of ${perBlock} per side after ${WARMUP} warm-up requests per method and side. Target SDK/raw p50 <= ${TARGET_RATIO}. "client CPU" = CPU time per request while that side ran: the Node main thread / the whole Node process (V8 GC and compiler helper threads included).`,
      "",
      table(["method", "client", "n", "p50", "p90", "p99", "mean", "client CPU µs/req (main / process)", "SDK/raw p50", "target"], rows)
    ].join("\n")
    return { markdown, data: { blocks, perBlock, warmup: WARMUP, methods: results }, targets }
  }
}
