/**
 * Where a row's instructions go, per function: runs one side of one workload under callgrind as
 * `npm run bench:check` does (same flags, same environment, same phases), plus `--perf-basic-prof`,
 * so V8 writes `/tmp/perf-<pid>.map` (the address range of every piece of JIT code). Callgrind
 * names JIT code by address; the map turns those into JS functions (`JS:*name file:line`, `*` for
 * TurboFan, `^` for Sparkplug code). Prints self instructions per item (large phase minus small
 * phase, as the row) of the top functions and a split by kind: JIT code, V8 builtins (`IC`: the
 * inline caches that unoptimized code goes through), V8's compiler, GC, the rest of C++.
 *
 * `--perf-basic-prof` turns off code-space compaction (as TIERING_FLAGS do) and may change more
 * (the large `thread/loaded/list` phase read as the small one under it): compare rows from this script
 * with each other, not with the baseline.
 *
 * Usage: node bench/icount/profile.ts <sdk|raw> <workload>:<small>:<large> [top=50]
 * (`npm run build` first: the SDK side loads dist/).
 */
import * as NodeFs from "node:fs"
import { flagsFor, runSide } from "./callgrind.ts"
import { parsePlan } from "./plan.ts"

/** Self cost per function name of one callgrind part (`fn=` blocks; `calls=` lines are inclusive costs, skipped). */
const selfCosts = (file: string): Map<string, number> => {
  const names = new Map<string, string>()
  const self = new Map<string, number>()
  let fn = "?"
  let skip = false
  const resolve = (spec: string) => {
    const match = /^\((\d+)\)(?: (.*))?$/.exec(spec)
    if (match === null) return spec
    if (match[2] !== undefined) names.set(match[1]!, match[2])
    return names.get(match[1]!) ?? spec
  }
  for (const line of NodeFs.readFileSync(file, "utf8").split("\n")) {
    if (line.startsWith("fn=")) fn = resolve(line.slice(3))
    else if (line.startsWith("cfn=")) resolve(line.slice(4))
    else if (line.startsWith("calls=")) skip = true
    else if (/^[+\-*0-9]/.test(line)) {
      if (skip) {
        skip = false
        continue
      }
      self.set(fn, (self.get(fn) ?? 0) + Number(line.trim().split(/\s+/)[1] ?? 0))
    }
  }
  return self
}

/**
 * A perf map: [start, size, name, line] sorted by start. V8 appends a line per piece of code it
 * makes, and code space is reused: an address may lie in several entries, of which the last
 * written (the highest `line`) is the code that ran there last.
 */
const readMap = (file: string): Array<[number, number, string, number]> =>
  NodeFs.readFileSync(file, "utf8").split("\n").filter((l) => l !== "").map((l, line) => {
    const [start, size, ...name] = l.split(" ")
    return [Number.parseInt(start!, 16), Number.parseInt(size!, 16), name.join(" "), line] as [number, number, string, number]
  }).sort((a, b) => a[0] - b[0])

/**
 * The name of the code at `fn`'s address: the newest entry that covers it (the oldest one named
 * the flood's router `parseSource`, a function of Node's start-up that once lay there). Code freed
 * and replaced inside a phase is still named by its successor.
 */
const nameIn = (map: Array<[number, number, string, number]>, fn: string): string => {
  const match = /^0x([0-9a-f]+)/.exec(fn)
  if (match === null) return fn
  const address = Number.parseInt(match[1]!, 16)
  let lo = 0
  let hi = map.length - 1
  while (lo <= hi) {
    const mid = (lo + hi) >> 1
    if (map[mid]![0] <= address) lo = mid + 1
    else hi = mid - 1
  }
  // every entry starting at or below the address, newest covering one wins (entries are < 1 MB)
  let best: [number, number, string, number] | undefined
  for (let i = hi; i >= 0 && address - map[i]![0] < 1 << 20; i--) {
    const entry = map[i]!
    if (address < entry[0] + entry[1] && (best === undefined || entry[3] > best[3])) best = entry
  }
  return best !== undefined ? best[2].replace(/file:\/\/\S*?\/(node_modules\/|dist\/|bench\/)/, "$1") : fn
}

const kindOf = (name: string): string =>
  name.startsWith("JS:") ? "JIT code"
  : name.startsWith("Builtins_") ? (/IC/.test(name) ? "builtins (IC)" : "builtins")
  : /compiler::|turboshaft|maglev|Maglev|Compiler|Deoptimiz/.test(name) ? "V8 compiler"
  : /Heap|Scaveng|MarkCompact|Sweep|Evacuat|Marking/.test(name) ? "GC"
  : "other C++ / libc"

const main = async () => {
  const [side, plan, top = "50"] = process.argv.slice(2)
  if ((side !== "sdk" && side !== "raw") || plan === undefined) throw new Error("usage: profile.ts <sdk|raw> <workload>:<small>:<large> [top]")
  const steps = parsePlan(plan)
  if (steps.length !== 1) throw new Error("one workload at a time")
  let rows: Array<[string, number]> = []
  const result = await runSide(side, steps, [...flagsFor(steps[0]!.workload), "--perf-basic-prof"], (out) => {
    const pid = /^==(\d+)==/m.exec(NodeFs.readFileSync(out.replace(/callgrind\.out$/, "valgrind.log"), "utf8"))?.[1]
    const mapFile = `/tmp/perf-${pid}.map`
    const map = readMap(mapFile)
    const by = (part: string) => {
      const named = new Map<string, number>()
      for (const [fn, cost] of selfCosts(part)) {
        const name = nameIn(map, fn)
        named.set(name, (named.get(name) ?? 0) + cost)
      }
      return named
    }
    const small = by(`${out}.3`)
    const large = by(`${out}.5`)
    rows = [...new Set([...small.keys(), ...large.keys()])].map((name) => [name, (large.get(name) ?? 0) - (small.get(name) ?? 0)])
    NodeFs.rmSync(mapFile, { force: true })
  })
  const [small, large] = result.phases[0]!
  const items = large.items - small.items
  const perItem = (large.instructions - small.instructions) / items
  const kinds = new Map<string, number>()
  for (const [name, cost] of rows) kinds.set(kindOf(name), (kinds.get(kindOf(name)) ?? 0) + cost / items)
  process.stdout.write(
    [
      `${side} ${plan}: ${Math.round(perItem)} instructions per item (small phase ${Math.round(small.instructions / small.items)}, large ${Math.round(large.instructions / large.items)} per item)`,
      ...[...kinds].sort((a, b) => b[1] - a[1]).map(([kind, cost]) => `  ${kind}: ${Math.round(cost)}`),
      "",
      ...rows.sort((a, b) => b[1] - a[1]).slice(0, Number(top)).map(([name, cost]) => `${String(Math.round(cost / items)).padStart(8)}  ${name}`),
      ""
    ].join("\n")
  )
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
