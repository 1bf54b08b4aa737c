/**
 * Section: memory of one connection. bench/memoryWorker.ts in a fresh process per side (so neither
 * side's heap or loaded modules count for the other): 50 threads x 10 turns on one
 * `codex app-server` against a LocalModel in another process; RSS and heap after forced GCs with
 * the threads still referenced, and the peak RSS. The SDK side loads the built dist/index.js, with
 * effect and the platform imported by module (the target row); a second SDK run imports their barrels,
 * as an application may, to show what those cost on their own. Two more runs (raw and SDK) take the
 * worker stripped to JavaScript, without Node's TypeScript stripper in the process; and a table
 * splits the RSS of the raw and SDK rows by where it is (V8's spaces, the node binary, the rest).
 */
import { execFile } from "node:child_process"
import * as NodeFs from "node:fs"
import { stripTypeScriptTypes } from "node:module"
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
  /** Where the RSS is (bench/memoryWorker.ts `attribution`). */
  readonly detail?: MemoryDetail
}

/** The attribution part of a worker's result (MB unless named otherwise). */
export interface MemoryDetail {
  readonly heapCommittedMb: number
  readonly spaces: Record<string, { readonly committedMb: number; readonly usedMb: number }>
  readonly residentMb: Record<string, number>
  readonly bytecodeMb: number
  readonly sourceTextMb: number
  readonly rounds?: { readonly allocatedPerTurnKb: number; readonly scavenges: number; readonly markCompacts: number }
}

/**
 * The RSS split by where it is: the node binary's resident pages, V8's young generation (committed),
 * the rest of V8's heap (old, large objects, code; committed), everything else (malloc, other
 * anonymous memory, other files); then the live heap and the young allocation of the turn rounds.
 */
const attributionRows = (detail: MemoryDetail | undefined, rssMb: number, heapUsedMb: number) => {
  if (detail === undefined) return undefined
  const young = detail.spaces.new_space?.committedMb ?? 0
  const node = detail.residentMb.node ?? 0
  return [
    rssMb,
    node,
    young,
    detail.heapCommittedMb - young,
    rssMb - node - detail.heapCommittedMb,
    heapUsedMb,
    detail.rounds?.allocatedPerTurnKb ?? Number.NaN,
    detail.rounds?.scavenges ?? Number.NaN
  ]
}

const ATTRIBUTION_LABELS = [
  "RSS",
  "node binary, resident",
  "V8 young generation, committed",
  "V8 old generation + large objects + code, committed",
  "everything else (malloc, other anonymous memory, files)",
  "heap used (live, after GC)",
  "young allocation per turn, KB (turn rounds)",
  "scavenges during the turn rounds"
]

const attributionTable = (raw: MemoryResult, sdk: MemoryResult): string | undefined => {
  const r = attributionRows(raw.detail, raw.rssMb, raw.heapUsedMb)
  const s = attributionRows(sdk.detail, sdk.rssMb, sdk.heapUsedMb)
  if (r === undefined || s === undefined) return undefined
  return table(
    ["MB", "raw", "SDK", "SDK - raw"],
    ATTRIBUTION_LABELS.map((label, i) => [label, fmt(r[i]!, 1), fmt(s[i]!, 1), fmt(s[i]! - r[i]!, 1)])
  )
}

/**
 * The worker as plain JavaScript, in a directory under bench/results (so its bare imports resolve from
 * the repository): a `.ts` entry makes Node load its TypeScript stripper, ~18 MB of RSS in both sides
 * that a program running built JavaScript does not have. Returns the entry and a cleanup.
 */
const plainJsWorker = (): { readonly entry: string; readonly remove: () => void } => {
  // *.tmp there is ignored by git, should a run die before removing it
  const dir = NodePath.join(import.meta.dirname, "results", `memory-worker-${process.pid}.tmp`)
  NodeFs.mkdirSync(dir, { recursive: true })
  for (const name of ["memoryWorker", "rawClientCore"]) {
    const source = NodeFs.readFileSync(NodePath.join(import.meta.dirname, `${name}.ts`), "utf8")
    const js = stripTypeScriptTypes(source)
      .replaceAll("./rawClientCore.ts", "./rawClientCore.mjs")
      .replaceAll("import.meta.dirname", JSON.stringify(import.meta.dirname))
    NodeFs.writeFileSync(NodePath.join(dir, `${name}.mjs`), js)
  }
  return { entry: NodePath.join(dir, "memoryWorker.mjs"), remove: () => NodeFs.rmSync(dir, { recursive: true, force: true }) }
}

const runWorker = (
  side: "sdk" | "sdk-barrels" | "raw",
  threads: number,
  turns: number,
  entry = NodePath.join(import.meta.dirname, "memoryWorker.ts")
): Promise<MemoryResult> => {
  const { bin, env } = codexBinary()
  return new Promise((resolve, reject) =>
    execFile(
      process.execPath,
      ["--expose-gc", entry, side, String(threads), String(turns)],
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
    const js = plainJsWorker()
    let rawJs: MemoryResult
    let sdkJs: MemoryResult
    try {
      rawJs = await runWorker("raw", threads, turns, js.entry)
      sdkJs = await runWorker("sdk", threads, turns, js.entry)
    } finally {
      js.remove()
    }
    ctx.log(`  memory, worker as plain JavaScript: raw RSS ${fmt(rawJs.rssMb, 1)} MB, sdk RSS ${fmt(sdkJs.rssMb, 1)} MB`)
    const targets: Array<TargetCheck> = [{
      name: `RSS, one connection, ${threads} threads x ${turns} turns (MB, SDK)`,
      value: Math.round(sdk.rssMb * 10) / 10,
      target: `<= ${RSS_TARGET_MB}`,
      pass: sdk.rssMb <= RSS_TARGET_MB
    }]
    const row = (label: string, r: MemoryResult) => [label, fmt(r.rssMb, 1), fmt(r.peakRssMb, 1), fmt(r.heapUsedMb, 1)]
    const attribution = attributionTable(raw, sdk)
    const markdown = [
      `One \`codex app-server\`, ${threads} threads, ${turns} rounds of one turn on every thread at once (LocalModel answers "t0 " in another process); each side in a fresh Node process; MB after two forced GCs with the threads still referenced.`,
      "",
      table(["side", "RSS", "peak RSS", "heap used"], [
        row("raw", raw),
        row("SDK", sdk),
        row("SDK, `effect` and `@effect/platform-node` barrels imported", barrels),
        row("raw, worker as plain JavaScript", rawJs),
        row("SDK, worker as plain JavaScript", sdkJs)
      ]),
      "",
      "The SDK row imports effect and the platform by module (`effect/Effect`, `effect/Layer`, `@effect/platform-node/NodeServices`): what the SDK needs. The barrels load every module they re-export, whatever the application uses; that row shows that cost. The first three rows run the worker as TypeScript, so Node's type stripper is in both processes (~18 MB of RSS); the last two run the same worker stripped to JavaScript beforehand, as a program running built JavaScript would (the target row is the SDK row).",
      "",
      ...(attribution === undefined ? [] : [
        "Where the RSS is, at the same point (Linux smaps and V8's heap statistics):",
        "",
        attribution,
        "",
        "V8 grows the young generation (up to 2 x 16 MB) when objects survive scavenges (loading modules, starting threads) and gives it back after a GC only while the process allocates less than about 1 MB/s: the raw client's allocation rate stays under that, the SDK's (the young allocation per turn times the turn rate) does not, so its young generation is usually still at its largest when measured; a run where a GC saw the rate dip under the threshold (a slow round, a loaded machine) gives it back, so the SDK's RSS comes out in two modes about 25 MB apart. The live heap is mostly effect's and the platform's modules (code and source text).",
        ""
      ]),
      `SDK RSS target <= ${RSS_TARGET_MB} MB: ${verdict(sdk.rssMb <= RSS_TARGET_MB)}`
    ].join("\n")
    return { markdown, data: { threads, turns, raw, sdk, sdkBarrels: barrels, rawPlainJs: rawJs, sdkPlainJs: sdkJs }, targets }
  }
}
