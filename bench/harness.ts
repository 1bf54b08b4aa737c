/**
 * Shared machinery of `npm run bench`: the section contract (the extension point), the two
 * "sides" under test (SDK and raw client, each driving its own `codex app-server`), temp
 * CODEX_HOMEs, forced GC, machine info and Markdown helpers.
 *
 * Fairness rules every section follows:
 * - both sides spawn the SAME native binary with the SAME arguments (`-c features.plugins=false`)
 *   and the SAME environment (the one the SDK computes: `CODEX_MANAGED_BY_NPM`, bundled `PATH`);
 *   only the client differs;
 * - each side talks to its own process with its own CODEX_HOME;
 * - measurements alternate between the sides in small blocks (order flipped every block), with a
 *   forced full GC before each block, so drift, JIT state and one side's garbage do not bias the
 *   other side.
 */
import { NodeServices } from "@effect/platform-node"
import { Context, Effect, Exit, Layer, Scope } from "effect"
import { execFileSync } from "node:child_process"
import * as NodeFs from "node:fs"
import { createRequire } from "node:module"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import * as v8 from "node:v8"
import * as vm from "node:vm"
import * as AppServer from "../src/layers/AppServer.ts"
import { AppServerClient } from "../src/services/AppServerClient.ts"
import type { ClientRequestParamsByMethod } from "../src/schema/generated/Methods.gen.ts"
import { type RawClient, resolveCodexBinary, spawnRawClient } from "./rawClient.ts"

// ---------------------------------------------------------------------------------------------
// Sections (the extension point)
// ---------------------------------------------------------------------------------------------

/** Knobs shared by all sections (set from the command line in run.ts). */
export interface BenchConfig {
  /** Fewer samples, for a smoke run of the harness itself. */
  readonly quick: boolean
  /** Sequential samples per method and side. */
  readonly samples: number
  /** Throughput rounds per variant. */
  readonly rounds: number
  /** Startup samples per variant (after one excluded warm-up round). */
  readonly startupSamples: number
}

/** What a section gets. */
export interface BenchContext {
  readonly config: BenchConfig
  /** A fresh temp CODEX_HOME, removed at the end of the run. */
  readonly makeHome: (label: string) => string
  /** Progress output (stderr, so stdout stays the Markdown report). */
  readonly log: (line: string) => void
}

/** A target from DESIGN.md "Performance targets", checked by a section. */
export interface TargetCheck {
  readonly name: string
  readonly value: number
  readonly target: string
  readonly pass: boolean
}

/** What a section returns: a Markdown body, JSON data and the targets it checked. */
export interface SectionResult {
  readonly markdown: string
  readonly data: unknown
  readonly targets: ReadonlyArray<TargetCheck>
}

/**
 * One part of the benchmark. To add one (event pipeline through `turn.events`, sequential turns
 * against `LocalModel`, ...): write `bench/<name>.ts` exporting a `Section` and list it in
 * `SECTIONS` in bench/run.ts. A section owns its processes and must close them before it returns.
 */
export interface Section {
  readonly id: string
  readonly title: string
  readonly run: (ctx: BenchContext) => Promise<SectionResult>
}

// ---------------------------------------------------------------------------------------------
// Environment
// ---------------------------------------------------------------------------------------------

/** Keeps codex off the network (no plugin sync); passed to every process. */
export const OFFLINE_CONFIG = { features: { plugins: false }, analytics: { enabled: false } } as const
export const OFFLINE_ARGS: ReadonlyArray<string> = ["-c", "features.plugins=false", "-c", "analytics.enabled=false"]

/** The native binary and the environment the SDK would give it; the raw sides use the same. */
export const codexBinary = (): { readonly bin: string; readonly env: Record<string, string> } => {
  const sdk = AppServer.resolveCodexBinary()
  const raw = resolveCodexBinary()
  if (sdk.command !== raw) throw new Error(`SDK and raw client resolve different binaries: ${sdk.command} vs ${raw}`)
  const PATH = [...sdk.pathDirs, ...(process.env.PATH === undefined ? [] : [process.env.PATH])].join(
    NodePath.delimiter
  )
  return { bin: raw, env: { ...sdk.env, PATH } }
}

/** Path of the npm wrapper script (`bin/codex.js` of `@openai/codex`). */
export const wrapperScript = (): string =>
  NodePath.join(NodePath.dirname(createRequire(import.meta.url).resolve("@openai/codex/package.json")), "bin", "codex.js")

const gcFn: (() => void) | undefined = (() => {
  try {
    v8.setFlagsFromString("--expose-gc")
    return vm.runInNewContext("gc") as () => void
  } catch {
    return undefined
  }
})()

/** A forced full GC (no-op if it cannot be exposed). */
export const forceGc = (): void => gcFn?.()

/**
 * Called before every measured block: a full GC, then a short pause so V8's concurrent sweeping
 * (on helper threads, counted by `process.cpuUsage`) is done before the block starts.
 */
export const settle = async (): Promise<void> => {
  forceGc()
  await new Promise((resolve) => setTimeout(resolve, 15))
}
export const gcAvailable = gcFn !== undefined

/** CPU time used so far, in µs: `main` = this (main) thread, from /proc/thread-self/schedstat (ns
 * precision, Linux; `undefined` elsewhere); `process` = all threads incl. V8's GC/compiler helpers. */
export interface CpuSnapshot {
  readonly main: number | undefined
  readonly process: number
}

const readThreadCpu = (): number | undefined => {
  try {
    return Number(NodeFs.readFileSync("/proc/thread-self/schedstat", "utf8").split(" ")[0]) / 1000
  } catch {
    return undefined
  }
}

export const cpuSnapshot = (): CpuSnapshot => {
  const usage = process.cpuUsage()
  return { main: readThreadCpu(), process: usage.user + usage.system }
}

/** CPU µs spent since `start`. */
export const cpuSince = (start: CpuSnapshot): CpuSnapshot => {
  const now = cpuSnapshot()
  return {
    main: now.main === undefined || start.main === undefined ? undefined : now.main - start.main,
    process: now.process - start.process
  }
}

export const homeFactory = () => {
  const dirs: Array<string> = []
  return {
    makeHome: (label: string) => {
      const dir = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), `effect-codex-bench-${label}-`))
      dirs.push(dir)
      return dir
    },
    cleanup: () => {
      for (const dir of dirs) NodeFs.rmSync(dir, { recursive: true, force: true })
    }
  }
}

export interface MachineInfo {
  readonly date: string
  readonly cpus: number
  readonly cpuModel: string
  readonly totalMemGiB: number
  readonly os: string
  readonly node: string
  readonly codex: string
  readonly codexBinary: string
  readonly effect: string
  readonly gcBetweenBlocks: boolean
  /** 1/5/15-minute load averages when the run started (other work on the machine skews wall times). */
  readonly loadAvgAtStart: ReadonlyArray<number>
}

const readVersion = (pkg: string): string => {
  try {
    const root = NodePath.join(import.meta.dirname, "..", "node_modules", pkg, "package.json")
    return (JSON.parse(NodeFs.readFileSync(root, "utf8")) as { version: string }).version
  } catch {
    return "unknown"
  }
}

export const machineInfo = (): MachineInfo => {
  const { bin } = codexBinary()
  let codex = "unknown"
  try {
    codex = execFileSync(bin, ["--version"], { encoding: "utf8" }).trim()
  } catch {
    // keep "unknown"
  }
  const cpus = NodeOs.cpus()
  return {
    date: new Date().toISOString(),
    cpus: NodeOs.availableParallelism(),
    cpuModel: cpus[0]?.model ?? "unknown",
    totalMemGiB: Math.round((NodeOs.totalmem() / 2 ** 30) * 10) / 10,
    os: `${NodeOs.type()} ${NodeOs.release()} ${process.arch}`,
    node: process.version,
    codex,
    codexBinary: bin,
    effect: readVersion("effect"),
    gcBetweenBlocks: gcAvailable,
    loadAvgAtStart: NodeOs.loadavg().map((x) => Math.round(x * 100) / 100)
  }
}

// ---------------------------------------------------------------------------------------------
// Sides: the SDK and the raw client behind one interface
// ---------------------------------------------------------------------------------------------

/** The read-only requests measured here; `{}` params are valid for all of them. */
export type BenchMethod = "model/list" | "thread/list" | "thread/loaded/list"
export const BENCH_METHODS: ReadonlyArray<BenchMethod> = ["model/list", "thread/list", "thread/loaded/list"]

/** "unbounded" = fire everything at once and let the client's window (maxInFlight) bound it. */
export type Concurrency = number | "unbounded"

export interface Side {
  readonly name: "sdk" | "raw"
  /** `n` sequential round trips; returns each one's duration in ms. */
  readonly sequential: (method: BenchMethod, n: number) => Promise<Array<number>>
  /** `total` requests with `concurrency` in flight; returns the wall time in ms. */
  readonly pool: (method: BenchMethod, total: number, concurrency: Concurrency) => Promise<number>
  readonly close: () => Promise<void>
}

const paramsOf = (_method: BenchMethod): ClientRequestParamsByMethod[BenchMethod] => ({})

/** The raw client against its own process: plain async/await loops. */
export const startRawSide = async (home: string): Promise<Side> => {
  const { bin, env } = codexBinary()
  const client: RawClient = spawnRawClient({ bin, args: ["app-server", ...OFFLINE_ARGS], env: { ...env, CODEX_HOME: home } })
  await client.initialize()
  return {
    name: "raw",
    sequential: async (method, n) => {
      const params = paramsOf(method)
      const out = new Array<number>(n)
      for (let i = 0; i < n; i++) {
        const t0 = performance.now()
        await client.request(method, params)
        out[i] = performance.now() - t0
      }
      return out
    },
    pool: async (method, total, concurrency) => {
      const params = paramsOf(method)
      const width = concurrency === "unbounded" ? total : concurrency
      let issued = 0
      const worker = async () => {
        while (issued < total) {
          issued++
          await client.request(method, params)
        }
      }
      const t0 = performance.now()
      await Promise.all(Array.from({ length: width }, worker))
      return performance.now() - t0
    },
    close: () => client.close()
  }
}

/** Builds `AppServer.layer` (+ `NodeServices.layer`) into a fresh Scope; returns the client and a closer. */
export const buildSdkClient = async (
  home: string,
  options: Omit<AppServer.Options, "codexHome" | "config"> = {}
): Promise<{ readonly client: AppServerClient["Service"]; readonly close: () => Promise<void> }> => {
  const layer = AppServer.layer({ ...options, codexHome: home, config: OFFLINE_CONFIG }).pipe(
    Layer.provide(NodeServices.layer)
  )
  const scope = Effect.runSync(Scope.make())
  const context = await Effect.runPromise(Layer.buildWithScope(layer, scope))
  return {
    client: Context.get(context, AppServerClient),
    close: () => Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

/**
 * The SDK against its own process. The measured loops run inside Effect (as an Effect program
 * would call `client.request`), one `runPromise` per block, so per-sample times do not include
 * the cost of entering the runtime.
 */
export const startSdkSide = async (home: string): Promise<Side> => {
  const { client, close } = await buildSdkClient(home)
  return {
    name: "sdk",
    sequential: (method, n) =>
      Effect.runPromise(Effect.gen(function*() {
        const params = paramsOf(method)
        const out = new Array<number>(n)
        for (let i = 0; i < n; i++) {
          const t0 = performance.now()
          yield* client.request(method, params)
          out[i] = performance.now() - t0
        }
        return out
      })),
    pool: (method, total, concurrency) =>
      Effect.runPromise(Effect.gen(function*() {
        const params = paramsOf(method)
        const t0 = performance.now()
        yield* Effect.forEach(
          Array.from({ length: total }),
          () => client.request(method, params),
          { concurrency, discard: true }
        )
        return performance.now() - t0
      })),
    close
  }
}

// ---------------------------------------------------------------------------------------------
// Markdown
// ---------------------------------------------------------------------------------------------

export const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string | number>>): string =>
  [
    `| ${header.join(" | ")} |`,
    `|${header.map(() => "---").join("|")}|`,
    ...rows.map((row) => `| ${row.join(" | ")} |`)
  ].join("\n")

export const fmt = (x: number, digits = 3): string => Number.isFinite(x) ? x.toFixed(digits) : "n/a"
export const verdict = (pass: boolean): string => pass ? "PASS" : "**MISS**"
