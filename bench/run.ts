/**
 * `npm run bench`: the SDK against a minimal raw JSON-RPC client, same codex binary, offline.
 *
 * Usage: node bench/run.ts [--quick] [--only=overhead,throughput,startup,events,notify,turns,pool,import,memory,icount]
 *                          [--samples=N] [--rounds=N] [--startup-samples=N] [--out=DIR]
 *
 * Prints a Markdown report on stdout (progress goes to stderr) and writes
 * `<out>/latest.md` and `<out>/latest.json` (default out: bench/results).
 * See bench/README.md for what is measured and how fairness is handled.
 */
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { parseArgs } from "node:util"
import { events } from "./events.ts"
import { type BenchConfig, type BenchContext, homeFactory, machineInfo, type Section, type SectionResult, table } from "./harness.ts"
import { icount } from "./icount.ts"
import { importCost } from "./importCost.ts"
import { memory } from "./memory.ts"
import { notifications } from "./notifications.ts"
import { overhead } from "./overhead.ts"
import { cluster } from "./cluster.ts"
import { pool } from "./pool.ts"
import { startup } from "./startup.ts"
import { issueRows, issueTable } from "./targets.ts"
import { throughput } from "./throughput.ts"
import { turns } from "./turns.ts"

/**
 * The sections, in run order: request overhead, throughput at 64 in flight, startup, the event
 * pipeline (`events`), CPU per notification on real pipes (`notify`: stdio flood, real codex turn), turn latency (`turns`), concurrent turns over `CodexPool` (`pool`), cold
 * import (`import`), memory of one connection (`memory`) and instruction counts under callgrind
 * (`icount`, a few minutes; skipped without valgrind). Each is a `Section` (bench/harness.ts) in
 * its own bench/<name>.ts; add new ones here.
 */
const SECTIONS: ReadonlyArray<Section> = [
  overhead,
  throughput,
  startup,
  events,
  notifications,
  turns,
  pool,
  cluster,
  importCost,
  memory,
  icount
]

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    only: { type: "string" },
    samples: { type: "string" },
    rounds: { type: "string" },
    "startup-samples": { type: "string" },
    out: { type: "string" }
  }
})

const int = (value: string | undefined, fallback: number): number => {
  if (value === undefined) return fallback
  const n = Number.parseInt(value, 10)
  if (!Number.isFinite(n) || n < 1) throw new Error(`expected a positive integer, got ${value}`)
  return n
}

const quick = values.quick ?? false
const config: BenchConfig = {
  quick,
  samples: int(values.samples, quick ? 100 : 500),
  rounds: int(values.rounds, quick ? 2 : 5),
  startupSamples: int(values["startup-samples"], quick ? 3 : 10)
}
const only = values.only?.split(",").map((s) => s.trim()).filter((s) => s.length > 0)
const unknown = only?.filter((id) => !SECTIONS.some((s) => s.id === id)) ?? []
if (unknown.length > 0) throw new Error(`unknown section(s): ${unknown.join(", ")}; known: ${SECTIONS.map((s) => s.id).join(", ")}`)
const selected = SECTIONS.filter((s) => only === undefined || only.includes(s.id))
const outDir = NodePath.resolve(values.out ?? NodePath.join(import.meta.dirname, "results"))

const log = (line: string) => process.stderr.write(line + "\n")
const homes = homeFactory()
const ctx: BenchContext = { config, makeHome: homes.makeHome, log }

const main = async () => {
  const machine = machineInfo()
  log(`effect-codex bench: ${machine.codex}, Node ${machine.node}, ${machine.cpus} cpus (${machine.cpuModel})`)
  const started = performance.now()
  const results: Array<{ readonly section: Section; readonly result: SectionResult; readonly seconds: number }> = []
  try {
    for (const section of selected) {
      log(`[${section.id}] ${section.title}`)
      const t0 = performance.now()
      // A failing section is reported as such; the others' results are still written.
      const result: SectionResult = await section.run(ctx).catch((error: unknown) => {
        log(`[${section.id}] failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}`)
        return {
          markdown: `_failed: ${String(error instanceof Error ? error.message : error).split("\n")[0]}_`,
          data: { error: String(error) },
          targets: [{ name: `${section.id}: section ran`, value: Number.NaN, target: "ran", pass: false }]
        }
      })
      results.push({ section, result, seconds: Math.round((performance.now() - t0) / 100) / 10 })
    }
  } finally {
    homes.cleanup()
  }
  const totalSeconds = Math.round((performance.now() - started) / 100) / 10
  const targets = results.flatMap((r) => r.result.targets)
  const sectionData = Object.fromEntries(results.map(({ section, result, seconds }) => [section.id, { seconds, ...(result.data as object) }]))
  const issue = issueRows(sectionData)

  const markdown = [
    "# effect-codex benchmark",
    "",
    `${machine.date} · ${machine.codex} (native binary) · Node ${machine.node} · effect ${machine.effect} · ${machine.cpus} cpus (${machine.cpuModel}), ${machine.totalMemGiB} GiB · ${machine.os} · load average at start ${machine.loadAvgAtStart.join(" / ")}`,
    "",
    `Both clients run in this one Node process, each against its own \`codex app-server\` (own CODEX_HOME, same binary, args and env); measurements alternate between them${machine.gcBetweenBlocks ? " with a forced GC before each block" : ""}. Total ${totalSeconds} s${config.quick ? " (--quick)" : ""}.`,
    "",
    "## Targets of issue 11",
    "",
    issueTable(issue),
    "",
    "## Targets",
    "",
    table(["check", "value", "target", "result"], targets.map((t) => [t.name, t.value, t.target, t.pass ? "PASS" : "**MISS**"])),
    ...results.flatMap(({ section, result, seconds }) => ["", `## ${section.title}`, "", result.markdown, "", `_${seconds} s_`]),
    ""
  ].join("\n")

  const json = {
    machine,
    config,
    totalSeconds,
    targets,
    issueTargets: issue,
    sections: sectionData
  }
  NodeFs.mkdirSync(outDir, { recursive: true })
  NodeFs.writeFileSync(NodePath.join(outDir, "latest.md"), markdown)
  NodeFs.writeFileSync(NodePath.join(outDir, "latest.json"), JSON.stringify(json, null, 2) + "\n")
  process.stdout.write(markdown)
  log(`wrote ${NodePath.relative(process.cwd(), NodePath.join(outDir, "latest.md"))} and latest.json`)
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error)
    process.exit(1)
  }
)
