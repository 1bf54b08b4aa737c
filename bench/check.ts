/**
 * `npm run bench:check`: the CI guard of the instruction-count rows. Builds `dist`, counts the
 * instructions per request (`model/list`, `thread/loaded/list`) and per event (stdio flood) of
 * the SDK and of the raw client under callgrind at the check's sizes (bench/icount/callgrind.ts
 * SIZES.check), and compares them with bench/baseline.json.
 *
 * What is compared, per row: the SDK's instructions per item now against the baseline's, with the
 * allowance scaled by the raw client measured in the same run:
 *
 *     fail  iff  sdk / sdk(baseline)  >  1.2 * max(1, raw / raw(baseline))
 *
 * i.e. the SDK may grow 20%, plus as much as the raw client grew. The raw client does only what
 * any client must (JSON.parse of what codex sends, one write per request), so when a codex
 * upgrade makes `model/list` answers longer, or a Node upgrade makes everything cheaper or
 * dearer, the raw row moves and the SDK's bound moves with it; when only the SDK grows, it fails.
 * A raw row that shrinks does not tighten the bound (the SDK is not asked to follow a faster
 * JSON.parse). Only growth fails: a row that drops more than 20% prints a note to refresh the
 * baseline with `--update`, so the gain is kept.
 *
 * Usage: node bench/check.ts [--repeat=N] [--update] [--skip-build] [--only=flood,turn]
 *   --skip-build  use dist/ as it is (.ci/run has just built it)
 *   --only=W,...  only these rows (to iterate on one; not with --update, which writes every row)
 *   --repeat=N  measure N times, compare the median, print the spread ((max - min) / median)
 *   --update    write the measured values as the new baseline (commit it with the change that
 *               moved them, and say why in the commit message)
 *
 * The baseline records the Node and codex versions, the Node flags and the CPU valgrind presents
 * (`valgrindHwcaps`); if they differ from the running ones the check still compares, and says so.
 */
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { parseArgs } from "node:util"
import { machineInfo, table } from "./harness.ts"
import { buildDist, measure, NODE_FLAGS, SIZES, TIERING_FLAGS, valgrindAvailable, valgrindHwcaps } from "./icount/callgrind.ts"
import type { Workload } from "./icount/plan.ts"
import { median } from "./stats.ts"

/** An SDK row may grow this much over the baseline (times the raw row's growth) before the check fails. */
export const TOLERANCE = 1.2
/** A row that drops below this fraction of the baseline gets a note to refresh the baseline. */
export const DROP_NOTE = 0.8
const CHECKED: ReadonlyArray<Workload> = ["model/list", "thread/loaded/list", "flood"]
const BASELINE = NodePath.join(import.meta.dirname, "baseline.json")

export interface Baseline {
  readonly node: string
  readonly codex: string
  readonly date: string
  readonly nodeFlags: ReadonlyArray<string>
  /** Added to `nodeFlags` for every workload (callgrind.ts `TIERING_FLAGS`, `flagsFor`; before 2026-12-01 evening: the request workloads only). */
  readonly requestFlags?: ReadonlyArray<string>
  /** `valgrindHwcaps()` where the baseline was taken. */
  readonly hwcaps?: string
  readonly sizes: unknown
  /** Instructions per request / per event, per workload and side. */
  readonly rows: Record<string, { readonly sdk: number; readonly raw: number }>
}

const { values } = parseArgs({
  options: {
    repeat: { type: "string", default: "1" },
    update: { type: "boolean", default: false },
    "skip-build": { type: "boolean", default: false },
    only: { type: "string" }
  }
})
const repeat = Math.max(1, Number.parseInt(values.repeat ?? "1", 10))
const only = values.only?.split(",").map((w) => w.trim())
const unknown = only?.filter((w) => !CHECKED.includes(w as Workload)) ?? []
if (unknown.length > 0) throw new Error(`--only: not a checked row: ${unknown.join(", ")} (rows: ${CHECKED.join(", ")})`)
if (only !== undefined && values.update) throw new Error("--only with --update would write a baseline without the other rows")
const WORKLOADS: ReadonlyArray<Workload> = only === undefined ? CHECKED : CHECKED.filter((w) => only.includes(w))
const log = (line: string) => process.stderr.write(line + "\n")

const pct = (x: number) => `${x >= 1 ? "+" : ""}${((x - 1) * 100).toFixed(1)}%`

const main = async (): Promise<number> => {
  if (!valgrindAvailable()) {
    log("bench:check needs /usr/bin/valgrind (Debian: apt-get install -y valgrind)")
    return 1
  }
  const t0 = performance.now()
  if (values["skip-build"]) log("== dist/ as built (--skip-build)")
  else {
    log("== build (the SDK side loads dist/index.js)")
    buildDist()
  }
  const machine = machineInfo()
  const hwcaps = valgrindHwcaps()
  const samples = new Map<string, Array<number>>()
  for (let r = 0; r < repeat; r++) {
    log(`== callgrind run ${r + 1}/${repeat}`)
    const { rows } = await measure(WORKLOADS, SIZES.check, log)
    for (const row of rows) {
      const key = `${row.workload} ${row.side}`
      samples.set(key, [...(samples.get(key) ?? []), row.perItem])
    }
    log(`  run ${r + 1}: ${rows.map((row) => `${row.workload} ${row.side} ${Math.round(row.perItem)}`).join(", ")}`)
  }
  const value = (workload: Workload, side: "sdk" | "raw") => median(samples.get(`${workload} ${side}`)!)
  const spread = (workload: Workload, side: "sdk" | "raw") => {
    const xs = samples.get(`${workload} ${side}`)!
    return (Math.max(...xs) - Math.min(...xs)) / median(xs)
  }
  const measured: Baseline = {
    node: machine.node,
    codex: machine.codex,
    date: machine.date,
    nodeFlags: NODE_FLAGS,
    requestFlags: TIERING_FLAGS,
    hwcaps,
    sizes: SIZES.check,
    rows: Object.fromEntries(WORKLOADS.map((w) => [w, { sdk: Math.round(value(w, "sdk")), raw: Math.round(value(w, "raw")) }]))
  }
  if (values.update) {
    NodeFs.writeFileSync(BASELINE, JSON.stringify(measured, null, 2) + "\n")
    log(`wrote ${NodePath.relative(process.cwd(), BASELINE)}`)
  }
  const baseline = JSON.parse(NodeFs.readFileSync(BASELINE, "utf8")) as Baseline
  const notes: Array<string> = []
  if (baseline.node !== machine.node) notes.push(`NOTE: baseline taken with Node ${baseline.node}, running ${machine.node}; compared anyway`)
  if (baseline.codex !== machine.codex) notes.push(`NOTE: baseline taken with ${baseline.codex}, running ${machine.codex}; compared anyway`)
  if (
    JSON.stringify(baseline.nodeFlags) !== JSON.stringify(NODE_FLAGS) ||
    JSON.stringify(baseline.requestFlags ?? []) !== JSON.stringify(TIERING_FLAGS)
  ) notes.push("NOTE: baseline taken with other Node flags; compared anyway")
  if (baseline.hwcaps !== undefined && baseline.hwcaps !== hwcaps) {
    notes.push(`NOTE: baseline taken where valgrind presented the CPU as ${baseline.hwcaps}, here ${hwcaps}; compared anyway`)
  }
  if (JSON.stringify(baseline.sizes) !== JSON.stringify(SIZES.check)) notes.push("NOTE: baseline taken with other workload sizes; compared anyway")
  let failed = false
  const rows = WORKLOADS.map((w) => {
    const base = baseline.rows[w]
    const sdk = value(w, "sdk")
    const raw = value(w, "raw")
    if (base === undefined) {
      notes.push(`NOTE: ${w} has no baseline; run with --update`)
      return [w, "n/a", `${Math.round(sdk)} / ${Math.round(raw)}`, "", "", "", "", "", "n/a"]
    }
    const sdkGrowth = sdk / base.sdk
    const rawGrowth = raw / base.raw
    const bound = TOLERANCE * Math.max(1, rawGrowth)
    const pass = sdkGrowth <= bound
    if (!pass) failed = true
    if (sdkGrowth < DROP_NOTE) {
      notes.push(`NOTE: ${w}: the SDK row dropped ${pct(sdkGrowth)} below the baseline; keep the gain: npm run bench:check -- --repeat=3 --update, and commit bench/baseline.json`)
    }
    if (rawGrowth < DROP_NOTE || rawGrowth > TOLERANCE) {
      notes.push(`NOTE: ${w}: the raw row moved ${pct(rawGrowth)} (Node, codex or valgrind changed, not the SDK); the SDK's bound follows growth; refresh the baseline with --update`)
    }
    return [
      `${w} (${w === "flood" ? "per event" : "per request"})`,
      `${base.sdk} / ${base.raw}`,
      `${Math.round(sdk)} / ${Math.round(raw)}`,
      pct(sdkGrowth),
      pct(rawGrowth),
      `${(base.sdk / base.raw).toFixed(2)}x -> ${(sdk / raw).toFixed(2)}x`,
      `<= ${pct(bound)}`,
      repeat > 1 ? `${(spread(w, "sdk") * 100).toFixed(2)}% / ${(spread(w, "raw") * 100).toFixed(2)}%` : "",
      pass ? "PASS" : "**FAIL**"
    ]
  })
  process.stdout.write(
    [
      `instructions per item (callgrind, Node ${machine.node}, ${machine.codex}, valgrind CPU ${hwcaps}), ${repeat} run(s), median, against the baseline of ${baseline.date}.`,
      `Fails when SDK / SDK(baseline) > ${TOLERANCE} x max(1, raw / raw(baseline)): the SDK may grow 20% more than the raw client measured in the same run.`,
      "",
      table(["row", "baseline SDK / raw", "now SDK / raw", "SDK change", "raw change", "SDK / raw", "SDK bound", "spread SDK / raw", "check"], rows),
      "",
      ...notes,
      `bench:check ${failed ? "FAILED" : "passed"} in ${Math.round((performance.now() - t0) / 1000)} s`,
      ""
    ].join("\n")
  )
  return failed ? 1 : 0
}

main().then((code) => process.exit(code), (error) => {
  console.error(error)
  process.exit(1)
})
