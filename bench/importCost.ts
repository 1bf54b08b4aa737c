/**
 * Section: cold `import("effect-codex")`. Builds `dist`, then imports `dist/index.js` in fresh Node
 * processes (nothing else loaded, no compile cache) and reports the CPU time (user + system of the
 * process, from `process.cpuUsage`, which the machine's load barely moves) and the wall time of
 * the `import()`. `@openai/codex-sdk` (a devDependency) is imported the same way for reference.
 */
import { execFileSync } from "node:child_process"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { pathToFileURL } from "node:url"
import { fmt, type Section, table, type TargetCheck, verdict } from "./harness.ts"
import { buildDist } from "./icount/callgrind.ts"
import { median, round } from "./stats.ts"

/** The target for the cold import, in ms of CPU. */
export const IMPORT_TARGET_MS = 150

const ROOT = NodePath.join(import.meta.dirname, "..")

/** One fresh process importing `specifier`: CPU and wall ms of the import. */
const importOnce = (specifier: string): { readonly cpuMs: number; readonly wallMs: number } => {
  const script = `const c = process.cpuUsage(); const t = performance.now(); await import(${JSON.stringify(specifier)}); ` +
    `const u = process.cpuUsage(c); console.log(JSON.stringify({ cpuMs: (u.user + u.system) / 1000, wallMs: performance.now() - t }))`
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, NODE_COMPILE_CACHE: "" }
  })
  return JSON.parse(out.trim()) as { cpuMs: number; wallMs: number }
}

export const importCost: Section = {
  id: "import",
  title: "Cold import",
  run: async (ctx) => {
    buildDist()
    const samples = ctx.config.quick ? 3 : 10
    // CPU time moves less with the machine's load than wall time, but not nothing (shared caches, frequency)
    const loadBefore = NodeOs.loadavg()[0]!
    const targets = [
      { id: "effect-codex", label: "`effect-codex` (dist/index.js)", specifier: pathToFileURL(NodePath.join(ROOT, "dist", "index.js")).href },
      { id: "codex-sdk", label: "`@openai/codex-sdk` (reference)", specifier: "@openai/codex-sdk" }
    ]
    const results = targets.map((t) => {
      importOnce(t.specifier) // warms the OS file cache, not V8: every sample is a new process
      const xs = Array.from({ length: samples }, () => importOnce(t.specifier))
      const r = {
        id: t.id,
        label: t.label,
        cpuMs: round(median(xs.map((x) => x.cpuMs)), 1),
        wallMs: round(median(xs.map((x) => x.wallMs)), 1),
        samples: xs.map((x) => ({ cpuMs: round(x.cpuMs, 1), wallMs: round(x.wallMs, 1) }))
      }
      ctx.log(`  import ${t.id}: ${r.cpuMs} ms CPU, ${r.wallMs} ms wall (median of ${samples})`)
      return r
    })
    const sdk = results[0]!
    const loadAfter = NodeOs.loadavg()[0]!
    ctx.log(`  load average (1 min): ${fmt(loadBefore, 2)} before, ${fmt(loadAfter, 2)} after`)
    const checks: Array<TargetCheck> = [{
      name: "cold import(\"effect-codex\"): CPU ms",
      value: sdk.cpuMs,
      target: `<= ${IMPORT_TARGET_MS}`,
      pass: sdk.cpuMs <= IMPORT_TARGET_MS
    }]
    const markdown = [
      `\`await import(...)\` in a fresh \`node --input-type=module\` process, no compile cache, median of ${samples} processes. CPU = user + system of the process during the import. Load average (1 min): ${fmt(loadBefore, 2)} before, ${fmt(loadAfter, 2)} after.`,
      "",
      table(
        ["module", "CPU ms", "wall ms", "target", "result"],
        results.map((r) => [
          r.label,
          `**${fmt(r.cpuMs, 1)}**`,
          fmt(r.wallMs, 1),
          r.id === "effect-codex" ? `<= ${IMPORT_TARGET_MS} (CPU)` : "",
          r.id === "effect-codex" ? verdict(r.cpuMs <= IMPORT_TARGET_MS) : ""
        ])
      )
    ].join("\n")
    return { markdown, data: { samples, loadAverage: { before: loadBefore, after: loadAfter }, modules: results }, targets: checks }
  }
}
