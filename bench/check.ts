/**
 * `npm run bench:check`: the CI guard of the instruction-count rows. Builds `dist`, counts the
 * instructions per request (`model/list`, `thread/loaded/list`) and per event (stdio flood) of
 * the SDK and of the raw client under callgrind at small sizes, and fails if an SDK row grows
 * more than 20% over bench/baseline.json. The raw rows are printed beside it: when they moved as
 * much, Node or codex changed, not the SDK.
 *
 * Usage: node bench/check.ts [--repeat=N] [--update]
 *   --repeat=N  measure N times, compare the median, print the spread ((max - min) / median)
 *   --update    write the measured values as the new baseline (commit it with the change that
 *               moved them, and say why in the commit message)
 *
 * The baseline records the Node and codex versions it was taken with; if they differ from the
 * running ones the check still compares, and says so.
 */
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { parseArgs } from "node:util"
import { machineInfo, table } from "./harness.ts"
import { buildDist, measure, NODE_FLAGS, SIZES, valgrindAvailable } from "./icount/callgrind.ts"
import type { Workload } from "./icount/plan.ts"
import { median } from "./stats.ts"

/** A row may grow this much over the baseline before the check fails. */
export const TOLERANCE = 1.2
const WORKLOADS: ReadonlyArray<Workload> = ["model/list", "thread/loaded/list", "flood"]
const BASELINE = NodePath.join(import.meta.dirname, "baseline.json")

export interface Baseline {
  readonly node: string
  readonly codex: string
  readonly date: string
  readonly nodeFlags: ReadonlyArray<string>
  readonly sizes: unknown
  /** Instructions per request / per event, per workload and side. */
  readonly rows: Record<string, { readonly sdk: number; readonly raw: number }>
}

const { values } = parseArgs({ options: { repeat: { type: "string", default: "1" }, update: { type: "boolean", default: false } } })
const repeat = Math.max(1, Number.parseInt(values.repeat ?? "1", 10))
const log = (line: string) => process.stderr.write(line + "\n")

const main = async (): Promise<number> => {
  if (!valgrindAvailable()) {
    log("bench:check needs /usr/bin/valgrind (Debian: apt-get install -y valgrind)")
    return 1
  }
  log("== build (the SDK side loads dist/index.js)")
  buildDist()
  const machine = machineInfo()
  const samples = new Map<string, Array<number>>()
  for (let r = 0; r < repeat; r++) {
    log(`== callgrind run ${r + 1}/${repeat}`)
    const { rows } = await measure(WORKLOADS, SIZES.check, log)
    for (const row of rows) {
      const key = `${row.workload} ${row.side}`
      samples.set(key, [...(samples.get(key) ?? []), row.perItem])
    }
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
    sizes: SIZES.check,
    rows: Object.fromEntries(WORKLOADS.map((w) => [w, { sdk: Math.round(value(w, "sdk")), raw: Math.round(value(w, "raw")) }]))
  }
  if (values.update) {
    NodeFs.writeFileSync(BASELINE, JSON.stringify(measured, null, 2) + "\n")
    log(`wrote ${NodePath.relative(process.cwd(), BASELINE)}`)
  }
  const baseline = JSON.parse(NodeFs.readFileSync(BASELINE, "utf8")) as Baseline
  const notes: Array<string> = []
  if (baseline.node !== machine.node) notes.push(`baseline taken with Node ${baseline.node}, running ${machine.node}`)
  if (baseline.codex !== machine.codex) notes.push(`baseline taken with ${baseline.codex}, running ${machine.codex}`)
  if (JSON.stringify(baseline.nodeFlags) !== JSON.stringify(NODE_FLAGS)) notes.push("baseline taken with other Node flags")
  let failed = false
  const rows = WORKLOADS.flatMap((w) =>
    (["sdk", "raw"] as const).map((side) => {
      const base = baseline.rows[w]?.[side]
      const now = value(w, side)
      const ratio = base === undefined ? Number.NaN : now / base
      const gate = side === "sdk"
      const pass = !gate || (Number.isFinite(ratio) && ratio <= TOLERANCE)
      if (!pass) failed = true
      return [
        `${w} (${w === "flood" ? "per event" : "per request"})`,
        side,
        base === undefined ? "n/a" : String(base),
        String(Math.round(now)),
        Number.isFinite(ratio) ? ratio.toFixed(3) : "n/a",
        repeat > 1 ? `${(spread(w, side) * 100).toFixed(2)}%` : "",
        gate ? (pass ? "PASS" : "**FAIL**") : "(reference)"
      ]
    })
  )
  process.stdout.write(
    [
      `instructions per item (callgrind, Node ${machine.node}, ${machine.codex}), ${repeat} run(s), median; fails above ${TOLERANCE}x the baseline of ${baseline.date}`,
      ...notes.map((n) => `NOTE: ${n}; compared anyway`),
      "",
      table(["row", "side", "baseline", "now", "now / baseline", "spread", "check"], rows),
      ""
    ].join("\n")
  )
  return failed ? 1 : 0
}

main().then((code) => process.exit(code), (error) => {
  console.error(error)
  process.exit(1)
})
