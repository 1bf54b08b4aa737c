/**
 * Section: memory of one connection. bench/memoryWorker.ts in a fresh process per side (so neither
 * side's heap or loaded modules count for the other): 50 threads x 10 turns on one
 * `codex app-server` against a LocalModel in another process; RSS and heap after forced GCs with
 * the threads still referenced, and the peak RSS. The SDK side loads the built dist/index.js, with
 * effect and the platform imported by module (the target row); a second SDK run imports their barrels,
 * as an application may, to show what those cost on their own.
 */
import { execFile } from "node:child_process"
import * as NodePath from "node:path"
import { codexBinary, fmt, type Section, table, type TargetCheck, verdict } from "./harness.ts"
import { buildDist } from "./icount/callgrind.ts"

/** The target: RSS of the SDK's process, 50 threads x 10 turns. */
export const RSS_TARGET_MB = 100

export interface MemoryResult {
  readonly threads: number
  readonly rssMb: number
  readonly heapUsedMb: number
  readonly peakRssMb: number
}

const runWorker = (side: "sdk" | "sdk-barrels" | "raw", threads: number, turns: number): Promise<MemoryResult> => {
  const { bin, env } = codexBinary()
  return new Promise((resolve, reject) =>
    execFile(
      process.execPath,
      ["--expose-gc", NodePath.join(import.meta.dirname, "memoryWorker.ts"), side, String(threads), String(turns)],
      { env: { ...process.env, ICOUNT_CODEX_BIN: bin, ICOUNT_CODEX_ENV: JSON.stringify(env) }, timeout: 600_000 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`memoryWorker ${side}: ${error.message}\n${stderr.slice(-2000)}`))
        else resolve(JSON.parse(stdout.trim().split("\n").at(-1)!) as MemoryResult)
      }
    )
  )
}

export const memory: Section = {
  id: "memory",
  title: "Memory of one connection (50 threads x 10 turns)",
  run: async (ctx) => {
    buildDist()
    const threads = 50
    const turns = ctx.config.quick ? 2 : 10
    // One side at a time: both at once would make codex's and LocalModel's CPU the bottleneck of both.
    const raw = await runWorker("raw", threads, turns)
    ctx.log(`  memory raw: RSS ${fmt(raw.rssMb, 1)} MB`)
    const sdk = await runWorker("sdk", threads, turns)
    ctx.log(`  memory sdk: RSS ${fmt(sdk.rssMb, 1)} MB`)
    const barrels = await runWorker("sdk-barrels", threads, turns)
    ctx.log(`  memory sdk, barrel imports: RSS ${fmt(barrels.rssMb, 1)} MB`)
    const targets: Array<TargetCheck> = [{
      name: `RSS, one connection, ${threads} threads x ${turns} turns (MB, SDK)`,
      value: Math.round(sdk.rssMb * 10) / 10,
      target: `<= ${RSS_TARGET_MB}`,
      pass: sdk.rssMb <= RSS_TARGET_MB
    }]
    const row = (label: string, r: MemoryResult) => [label, fmt(r.rssMb, 1), fmt(r.peakRssMb, 1), fmt(r.heapUsedMb, 1)]
    const markdown = [
      `One \`codex app-server\`, ${threads} threads, ${turns} rounds of one turn on every thread at once (LocalModel answers "t0 " in another process); each side in a fresh Node process; MB after two forced GCs with the threads still referenced.`,
      "",
      table(["side", "RSS", "peak RSS", "heap used"], [
        row("raw", raw),
        row("SDK", sdk),
        row("SDK, `effect` and `@effect/platform-node` barrels imported", barrels)
      ]),
      "",
      "The SDK row imports effect and the platform by module (`effect/Effect`, `effect/Layer`, `@effect/platform-node/NodeServices`): what the SDK needs. The barrels load every module they re-export, whatever the application uses; the last row shows that cost.",
      "",
      `SDK RSS target <= ${RSS_TARGET_MB} MB: ${verdict(sdk.rssMb <= RSS_TARGET_MB)}`
    ].join("\n")
    return { markdown, data: { threads, turns, raw, sdk, sdkBarrels: barrels }, targets }
  }
}
