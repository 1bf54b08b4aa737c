/**
 * The instruction-count mode: runs bench/icount/workload.ts under
 * `valgrind --tool=callgrind --trace-children=no` (only the client's Node process is counted;
 * codex, the fake server and the LocalModel process run natively beside it), one process per side,
 * each workload in two phases of different sizes, and reports
 * (instructions(large) - instructions(small)) / (items(large) - items(small)): the cost of one more
 * request or event, with Node start, module loading, spawn, warm-up and shutdown cancelled out. Counts do
 * not depend on how busy the machine is, so a regression shows as a number, not as noise.
 *
 * Determinism: V8 compiles and collects garbage on helper threads whose progress depends on
 * timing, and schedules GCs and sizes its heap from allocation rates measured in wall time (a
 * major GC landed in one phase or the other and moved a row by up to 100%). The client therefore
 * runs with `--single-threaded` (jobs run on the main thread at deterministic points),
 * `--predictable-gc-schedule` (heap growth and GC start independent of time), fixed heap sizes
 * and fixed hash and random seeds (NODE_FLAGS), and a full GC at every marker, counted apart
 * (each phase starts from the same heap state). A forced GC inside the phases made the request
 * rows vary by 20%: its cost depends on the garbage left, and it is large next to 100 requests. What is left is I/O batching (how many lines one
 * read returns), which the workloads keep stable: requests are sequential, and a flood is written
 * in one go, so the reader sees full pipe buffers.
 */
import { execFile, execFileSync, spawnSync } from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { codexBinary } from "../harness.ts"
import type { Workload } from "./plan.ts"

/**
 * V8 may emit these instruction-set extensions when the CPU has them; all off, so the JIT emits
 * the x86-64 baseline (SSE2) on every machine and the code measured does not depend on the CPU.
 */
export const CPU_FLAGS: ReadonlyArray<string> = [
  "--no-enable-sse3",
  "--no-enable-ssse3",
  "--no-enable-sse4-1",
  "--no-enable-sse4-2",
  "--no-enable-sahf",
  "--no-enable-avx",
  "--no-enable-avx2",
  "--no-enable-fma3",
  "--no-enable-bmi1",
  "--no-enable-bmi2",
  "--no-enable-lzcnt",
  "--no-enable-popcnt"
]

/**
 * V8 optimizes a function with TurboFan after ~3000 invocations (and 500 more after any change of
 * its type feedback); a function the client calls once per request was still being compiled after
 * thousands of requests, on the main thread (`--single-threaded`), inside the phases: up to half of
 * a `thread/loaded/list` request's count was TurboFan, and how much fell into which phase differed
 * per process (the row read 237k-403k on the same code). With these thresholds the hot path is
 * optimized within the warm-up (and again within the re-warm after each marker's forced GC, see
 * workload.ts), so the phases measure optimized code, which is what a long-running client runs.
 * For every workload (flagsFor), both sides.
 * No code-space compaction at the forced GCs (what `--perf-basic-prof` implies): with it the
 * large phase recompiled more of the hot path (see bench/README.md, "The phases run optimized code").
 */
export const TIERING_FLAGS: ReadonlyArray<string> = [
  "--invocation-count-for-turbofan=100",
  "--minimum-invocations-after-ic-update=20",
  "--no-compact-code-space"
]

/** Node flags of the measured process; see the module comment. */
export const NODE_FLAGS: ReadonlyArray<string> = [
  "--single-threaded",
  "--predictable-gc-schedule",
  "--expose-gc",
  "--max-old-space-size=512",
  "--max-semi-space-size=16",
  "--min-semi-space-size=16",
  "--hash-seed=1",
  "--random-seed=1",
  ...CPU_FLAGS
]

/**
 * The request workloads share a process per side; `flood` and `turn` get one each, so a row does
 * not depend on what ran before it in the same process (code the request path optimized, or
 * feedback it left on shared code: with the steady-state warm-up the flood SDK row reads 12.6k
 * per event alone and 15.2k after the request workloads in one process, whose Effect runtime code
 * had seen many more shapes). It costs a start-up per process (the SDK's flood process: 9.5 G
 * instructions, 6-7 G of them start-up and compiling at the low thresholds).
 */
export const REQUEST_WORKLOADS: ReadonlySet<Workload> = new Set(["model/list", "thread/loaded/list"])

/**
 * Node flags of the process that measures `workload`: the same for every workload (and for both
 * sides), NODE_FLAGS plus TIERING_FLAGS. With V8's default thresholds a flood's per-batch and
 * per-turn code (a pipe read, a turn's start and end) reached TurboFan only inside the phases,
 * and after each marker's GC the hot path recompiled there: 2.2k of a 15.0k flood event was
 * V8's compiler (bench/icount/profile.ts).
 */
export const flagsFor = (_workload: Workload): ReadonlyArray<string> => [...NODE_FLAGS, ...TIERING_FLAGS]

/**
 * The whole environment of the measured process (nothing is inherited: NODE_OPTIONS, a long PATH
 * or locale variables of the machine running the check would change what Node does or how long
 * its `getenv` scans are). The libraries that pick a SIMD implementation at run time (glibc's
 * string functions, simdutf and simdjson inside Node) are pinned to their baseline ones, like V8
 * by CPU_FLAGS. `home` is a fresh temp dir (same length on every run).
 */
export const measuredEnv = (home: string, extra: Record<string, string>): Record<string, string> => ({
  PATH: "/usr/local/bin:/usr/bin:/bin",
  HOME: home,
  TMPDIR: "/tmp",
  SIMDUTF_FORCE_IMPLEMENTATION: "fallback",
  SIMDJSON_FORCE_IMPLEMENTATION: "fallback",
  GLIBC_TUNABLES: "glibc.cpu.hwcaps=-AVX512F,-AVX512VL,-AVX512BW,-AVX512DQ,-AVX2,-AVX,-FMA,-BMI1,-BMI2,-LZCNT,-MOVBE,-POPCNT,-SSE4_2,-SSE4_1,-SSSE3,-ERMS,-FSRM,-RTM,-XSAVE,-XSAVEC",
  ...extra
})

export const VALGRIND = "/usr/bin/valgrind"

/** Two sizes per workload: the difference of their counts is what is reported. */
export interface Sizes {
  readonly small: number
  readonly large: number
}

/** Sizes of `npm run bench` (full) and of `npm run bench:check` (small, for CI). */
// `thread/loaded/list` is a cheap request (~40k instructions): with a difference of only 200 of them, one
// scavenge (~1.5M) more or less in the large phase moved the row by ~7k (47.2k at 50/250, 39.0k at
// 100/1100 on the same code); over 1000 it moves it by ~1.5k at most.
export const SIZES: Record<"full" | "check", Partial<Record<Workload, Sizes>>> = {
  full: {
    "model/list": { small: 100, large: 500 },
    "thread/loaded/list": { small: 100, large: 1_100 },
    flood: { small: 10_000, large: 50_000 },
    turn: { small: 1_000, large: 5_000 }
  },
  check: {
    "model/list": { small: 50, large: 250 },
    "thread/loaded/list": { small: 100, large: 1_100 },
    flood: { small: 5_000, large: 20_000 }
  }
}

/** One phase of one workload: its instructions and the items (requests or events) it handled. */
export interface Phase {
  readonly n: number
  readonly instructions: number
  readonly items: number
}

export interface PerItem {
  readonly workload: Workload
  readonly side: "sdk" | "raw"
  readonly small: Phase
  readonly large: Phase
  /** Instructions per request / per event: (large - small) / (items large - items small). */
  readonly perItem: number
}

/** Whether callgrind can run here (`/usr/bin/valgrind` from Debian's valgrind package). */
export const valgrindAvailable = (): boolean => NodeFs.existsSync(VALGRIND)

/**
 * What the measured process sees of the CPU: valgrind does not pass the host's CPUID through but
 * presents one of a few fixed models chosen by the host's capabilities (this line, e.g.
 * `amd64-cx16-lzcnt-rdtscp-sse3-ssse3-avx-avx2-bmi-f16c-rdrand-rdseed` on any AVX2 host; it
 * never shows AVX-512). Recorded in the baseline; with CPU_FLAGS and measuredEnv's pins the
 * counts should not depend on it, and the check says when it differs.
 */
export const valgrindHwcaps = (): string => {
  const log = spawnSync(VALGRIND, ["-v", "--tool=none", "/bin/true"], { encoding: "utf8" }).stderr
  return /Arch and hwcaps: (.*)$/m.exec(log)?.[1]?.trim() ?? "unknown"
}

/** The instruction total of a callgrind output file (its `totals:` or `summary:` line). */
export const parseTotal = (text: string): number => {
  const match = /^(?:totals|summary):\s+(\d+)/m.exec(text)
  if (match === null) throw new Error("no totals/summary line in the callgrind output")
  return Number(match[1])
}

const WORKLOAD_SCRIPT = NodePath.join(import.meta.dirname, "workload.ts")

/**
 * One side's workloads in one Node process under callgrind. `--dump-before=*GetHostname*` makes
 * each `os.hostname()` write the counts since the previous one to `<out>.<k>`; a marker is two of
 * them around a forced GC, three markers per workload, so part 6j+3 is workload j's small phase
 * and part 6j+5 its large phase.
 */
export const runSide = async (
  side: "sdk" | "raw",
  steps: ReadonlyArray<{ readonly workload: Workload } & Sizes>,
  nodeFlags: ReadonlyArray<string> = NODE_FLAGS,
  /** Called with the callgrind output path (parts `<out>.<k>`, valgrind's log beside it) before they are removed. */
  inspect?: (out: string) => void
): Promise<{
  readonly phases: Array<[Phase, Phase]>
  readonly instructions: number
  /** Per step: instructions outside its two phases (start-up or the previous step's teardown, setup, warm-up, forced GCs). */
  readonly outside: Array<number>
  readonly seconds: number
}> => {
  const { bin, env } = codexBinary()
  const dir = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "effect-codex-callgrind-"))
  const out = NodePath.join(dir, "callgrind.out")
  const plan = steps.map((s) => `${s.workload}:${s.small}:${s.large}`).join(",")
  const t0 = performance.now()
  try {
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(
        VALGRIND,
        [
          "--tool=callgrind",
          `--callgrind-out-file=${out}`,
          "--trace-children=no",
          "--dump-before=*GetHostname*",
          `--log-file=${NodePath.join(dir, "valgrind.log")}`,
          process.execPath,
          ...nodeFlags,
          WORKLOAD_SCRIPT,
          side,
          plan
        ],
        {
          env: measuredEnv(dir, { ICOUNT_CODEX_BIN: bin, ICOUNT_CODEX_ENV: JSON.stringify(env) }),
          maxBuffer: 16 * 1024 * 1024
        },
        (error, stdout, stderr) => {
          if (error) reject(new Error(`callgrind ${side} ${plan}: ${error.message}\n${stderr.slice(-2000)}`))
          else resolve(stdout)
        }
      )
    })
    const items = (JSON.parse(stdout.trim().split("\n").at(-1)!) as { items: Array<[number, number]> }).items
    const parts = NodeFs.readdirSync(dir).filter((f) => /^callgrind\.out\.\d+$/.test(f))
    if (parts.length !== 6 * steps.length) {
      throw new Error(`callgrind ${side}: ${parts.length} dumps, expected ${6 * steps.length} (a marker call is missing or extra)`)
    }
    const part = (k: number) => parseTotal(NodeFs.readFileSync(`${out}.${k}`, "utf8"))
    const total = parts.reduce((acc, f) => acc + parseTotal(NodeFs.readFileSync(NodePath.join(dir, f), "utf8")), 0) +
      parseTotal(NodeFs.readFileSync(out, "utf8"))
    const last = parseTotal(NodeFs.readFileSync(out, "utf8"))
    inspect?.(out)
    return {
      outside: steps.map((_, j) =>
        part(6 * j + 1) + part(6 * j + 2) + part(6 * j + 4) + part(6 * j + 6) + (j === steps.length - 1 ? last : 0)
      ),
      phases: steps.map((s, j) => [
        { n: s.small, instructions: part(6 * j + 3), items: items[j]![0] },
        { n: s.large, instructions: part(6 * j + 5), items: items[j]![1] }
      ]),
      instructions: total,
      seconds: Math.round((performance.now() - t0) / 100) / 10
    }
  } finally {
    NodeFs.rmSync(dir, { recursive: true, force: true })
  }
}

/** Instructions per item of each workload, SDK and raw (the two sides run at the same time). */
export const measure = async (
  workloads: ReadonlyArray<Workload>,
  sizes: Partial<Record<Workload, Sizes>>,
  log: (line: string) => void
): Promise<{ readonly rows: Array<PerItem>; readonly seconds: { readonly sdk: number; readonly raw: number } }> => {
  const steps = workloads.map((workload) => ({ workload, ...sizes[workload]! }))
  // one process for the request workloads, one for each other workload (REQUEST_WORKLOADS), one after the other
  const groups = [
    steps.filter((s) => REQUEST_WORKLOADS.has(s.workload)),
    ...steps.filter((s) => !REQUEST_WORKLOADS.has(s.workload)).map((s) => [s])
  ].filter((group) => group.length > 0)
  const [raw, sdk] = await Promise.all((["raw", "sdk"] as const).map(async (side) => {
    const phases = new Map<Workload, [Phase, Phase]>()
    let seconds = 0
    for (const group of groups) {
      const result = await runSide(side, group, flagsFor(group[0]!.workload))
      group.forEach((s, j) => phases.set(s.workload, result.phases[j]!))
      seconds += result.seconds
      log(`  callgrind ${side}: ${(result.instructions / 1e9).toFixed(2)} G instructions in all, ${result.seconds} s; outside the phases: ${
        group.map((s, j) => `${s.workload} ${(result.outside[j]! / 1e9).toFixed(2)} G`).join(", ")
      }`)
    }
    return { phases: steps.map((s) => phases.get(s.workload)!), seconds: Math.round(seconds * 10) / 10 }
  }))
  const rows = (["raw", "sdk"] as const).flatMap((side) =>
    steps.map(({ workload }, j): PerItem => {
      const [small, large] = (side === "raw" ? raw : sdk)!.phases[j]!
      if (large.items <= small.items) {
        throw new Error(`${workload} ${side}: ${large.items} items at n=${large.n} vs ${small.items} at n=${small.n}`)
      }
      return { workload, side, small, large, perItem: (large.instructions - small.instructions) / (large.items - small.items) }
    })
  )
  return { rows, seconds: { sdk: sdk!.seconds, raw: raw!.seconds } }
}

/** Builds `dist` (the SDK side of the workloads and the import measurement load the built package). */
export const buildDist = (): void => {
  const root = NodePath.join(import.meta.dirname, "..", "..")
  execFileSync(process.execPath, [NodePath.join(root, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.build.json"], {
    cwd: root,
    stdio: ["ignore", "inherit", "inherit"]
  })
}
