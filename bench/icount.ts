/**
 * Section: instruction counts (callgrind). The fixed workloads of bench/icount/workload.ts (requests
 * `model/list` and `thread/loaded/list`, a stdio flood of deltas from a real child process, a
 * real codex turn against LocalModel), SDK and raw, as instructions per request / per event
 * (bench/icount/callgrind.ts: the difference of two phase sizes, start-up excluded). Unlike the
 * wall-clock sections these numbers do not move with the machine's load.
 */
import { fmt, type Section, table, type TargetCheck, verdict } from "./harness.ts"
import { buildDist, measure, NODE_FLAGS, SIZES, TIERING_FLAGS, valgrindAvailable, valgrindHwcaps } from "./icount/callgrind.ts"
import { WORKLOADS, type Workload } from "./icount/plan.ts"

/** The targets: SDK / raw instructions per item. */
export const ICOUNT_TARGETS: Record<Workload, { readonly label: string; readonly max: number }> = {
  "model/list": { label: "instructions per `model/list` request", max: 1.5 },
  "thread/loaded/list": { label: "instructions per `thread/loaded/list` request", max: 1.5 },
  flood: { label: "instructions per notification, stdio flood of deltas", max: 1.5 },
  turn: { label: "instructions per notification, real codex turn of deltas", max: 1.1 }
}

export interface IcountRow {
  readonly workload: Workload
  readonly raw: number
  readonly sdk: number
  readonly ratio: number
  readonly sizes: { readonly small: number; readonly large: number }
}

export const icount: Section = {
  id: "icount",
  title: "Instruction counts (callgrind)",
  run: async (ctx) => {
    if (!valgrindAvailable()) {
      ctx.log("  icount: /usr/bin/valgrind missing, section skipped")
      return { markdown: "_skipped: /usr/bin/valgrind is not installed (Debian: `apt-get install -y valgrind`)_", data: { skipped: true }, targets: [] }
    }
    buildDist()
    const sizes = ctx.config.quick ? SIZES.check : SIZES.full
    const workloads = WORKLOADS.filter((w) => sizes[w] !== undefined)
    const hwcaps = valgrindHwcaps()
    const { rows, seconds } = await measure(workloads, sizes, ctx.log)
    const byWorkload: Array<IcountRow> = workloads.map((workload) => {
      const raw = rows.find((r) => r.workload === workload && r.side === "raw")!.perItem
      const sdk = rows.find((r) => r.workload === workload && r.side === "sdk")!.perItem
      return { workload, raw: Math.round(raw), sdk: Math.round(sdk), ratio: Math.round((sdk / raw) * 1000) / 1000, sizes: sizes[workload]! }
    })
    const targets: Array<TargetCheck> = byWorkload.map((r) => ({
      name: `${ICOUNT_TARGETS[r.workload].label}: SDK / raw`,
      value: r.ratio,
      target: `<= ${ICOUNT_TARGETS[r.workload].max}`,
      pass: r.ratio <= ICOUNT_TARGETS[r.workload].max
    }))
    const markdown = [
      `Instructions of the client's Node process (\`valgrind --tool=callgrind --trace-children=no\`; codex, the fake server and LocalModel run natively beside it), one process per side for the request workloads and one per other workload, all with \`${TIERING_FLAGS.join(" ")}\` added, a warm-up and a re-warm after each marker's GC (see bench/README.md), each workload in two phases of different sizes between markers: (instructions(large) - instructions(small)) / (items(large) - items(small)), so start-up, warm-up and per-turn costs cancel. Node flags \`${NODE_FLAGS.join(" ")}\`; the CPU as valgrind presents it: \`${hwcaps}\`. Callgrind wall time: raw ${seconds.raw} s, SDK ${seconds.sdk} s.`,
      "",
      table(
        ["workload", "phases (items)", "raw instr/item", "SDK instr/item", "SDK / raw", "target", "result"],
        byWorkload.map((r) => [
          ICOUNT_TARGETS[r.workload].label,
          `${r.sizes.small} / ${r.sizes.large}`,
          fmt(r.raw / 1000, 1) + "k",
          fmt(r.sdk / 1000, 1) + "k",
          `**${fmt(r.ratio, 2)}**`,
          `<= ${ICOUNT_TARGETS[r.workload].max}`,
          verdict(r.ratio <= ICOUNT_TARGETS[r.workload].max)
        ])
      )
    ].join("\n")
    return { markdown, data: { nodeFlags: NODE_FLAGS, requestFlags: TIERING_FLAGS, hwcaps, rows: byWorkload, phases: rows, seconds }, targets }
  }
}
