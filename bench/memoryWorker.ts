/**
 * The workload of the memory section, in a fresh process per side: one connection (one
 * `codex app-server`, pinned binary) against a LocalModel in another process
 * (bench/icount/modelServer.ts, one short answer per model request), `THREADS` threads started,
 * then `TURNS` rounds of one turn on every thread at once. The threads stay referenced to the end
 * (SDK: the `Thread` handles; raw: their ids). Prints one JSON line: RSS and heap after two forced
 * GCs, and the peak RSS of the process.
 *
 * The `sdk` side imports effect and the platform by module (`effect/Effect`, `effect/Layer`,
 * `@effect/platform-node/NodeServices`), so its process holds what the SDK needs; `sdk-barrels`
 * imports the barrels (`effect`, `@effect/platform-node`) as an application may, which load every
 * module they re-export (~40 MB more RSS on their own, measured beside the SDK's).
 *
 * With the totals, `detail` says where the RSS is (see {@link attribution}): V8's heap by space
 * (committed and used), code and source text, what is resident outside the heap (the node binary's
 * pages, malloc, other anonymous memory), the RSS at the phases of the run (imported/connected,
 * threads started, first round done) and the young-generation allocation of the turn rounds
 * (per turn, and how many scavenges it took): V8 grows the young generation when objects survive
 * scavenges and gives it back only when allocation is slow, so that rate decides a large part of
 * the RSS.
 *
 * Usage: node --expose-gc bench/memoryWorker.ts <sdk|sdk-barrels|raw> [threads] [turns]
 * (the parent passes the codex binary and env as ICOUNT_CODEX_BIN / ICOUNT_CODEX_ENV; the SDK
 * side loads the built dist/index.js). Diagnostics, off by default: MEMORY_HEAPSNAPSHOT=<file>
 * writes a heap snapshot at the measured point, MEMORY_ALLOC_PROFILE=<file> a sampling heap
 * profile of the turn rounds (garbage included), MEMORY_IDLE_MS=<ms> idles that long before
 * measuring.
 */
import { spawn } from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import * as NodeReadline from "node:readline"
import { pathToFileURL } from "node:url"
import * as v8 from "node:v8"
import { spawnRawClientOf } from "./rawClientCore.ts"

const [side, threadsArg, turnsArg] = process.argv.slice(2)
const THREADS = Number(threadsArg ?? 50)
const TURNS = Number(turnsArg ?? 10)
const OFFLINE_ARGS = ["-c", "features.plugins=false", "-c", "analytics.enabled=false"]
const OFFLINE_CONFIG = { features: { plugins: false }, analytics: { enabled: false } }
const bin = process.env.ICOUNT_CODEX_BIN ?? ""
const env = JSON.parse(process.env.ICOUNT_CODEX_ENV ?? "{}") as Record<string, string>
const gc = (globalThis as { gc?: () => void }).gc

const startModel = async (answers: number) => {
  const child = spawn(process.execPath, [NodePath.join(import.meta.dirname, "icount", "modelServer.ts"), ...Array.from({ length: answers }, () => "1")], {
    stdio: ["pipe", "pipe", "inherit"]
  })
  const line = await new Promise<string>((resolve, reject) => {
    NodeReadline.createInterface({ input: child.stdout }).once("line", resolve)
    child.once("exit", (code) => reject(new Error(`modelServer exited (${code})`)))
  })
  return { codexHome: (JSON.parse(line) as { codexHome: string }).codexHome, stop: () => child.stdin.end() }
}

const mb = (bytes: number) => Math.round((bytes / 2 ** 20) * 100) / 100
const phases: Record<string, { readonly rssMb: number; readonly newSpaceMb: number; readonly heapUsedMb: number }> = {}
const newSpaceCommitted = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === "new_space")?.physical_space_size ?? 0
/** RSS at a point of the run (no GC: what the process holds then), and how much of it the young generation has committed. */
const phase = (name: string) => {
  const m = process.memoryUsage()
  phases[name] = { rssMb: mb(m.rss), newSpaceMb: mb(newSpaceCommitted()), heapUsedMb: mb(m.heapUsed) }
}

/**
 * Where the RSS is, after the forced GCs: V8's heap spaces (committed = what the OS sees, used = live
 * objects), code and source text, and what is outside the JS heap (external, array buffers).
 */
const attribution = () => {
  const m = process.memoryUsage()
  const spaces = Object.fromEntries(
    v8.getHeapSpaceStatistics().map((s) => [s.space_name, { committedMb: mb(s.physical_space_size), usedMb: mb(s.space_used_size) }])
  )
  const code = v8.getHeapCodeStatistics()
  const heap = v8.getHeapStatistics()
  return {
    heapTotalMb: mb(m.heapTotal),
    heapCommittedMb: mb(heap.total_physical_size),
    externalMb: mb(m.external),
    arrayBuffersMb: mb(m.arrayBuffers),
    mallocedMb: mb(heap.malloced_memory),
    peakMallocedMb: mb(heap.peak_malloced_memory),
    bytecodeMb: mb(code.bytecode_and_metadata_size),
    sourceTextMb: mb(code.external_script_source_size),
    codeMb: mb(code.code_and_metadata_size),
    residentMb: residentByKind(),
    spaces,
    phases,
    rounds: youngRounds
  }
}

/**
 * The process's resident memory by kind (Linux: /proc/self/smaps): the node binary's pages, other
 * files (shared libraries), the malloc heap (`[heap]`) and anonymous mappings (V8's heap pages,
 * malloc arenas, thread stacks). Empty where /proc is not there.
 */
const residentByKind = (): Record<string, number> => {
  let text: string
  try {
    text = NodeFs.readFileSync("/proc/self/smaps", "utf8")
  } catch {
    return {}
  }
  const kb: Record<string, number> = {}
  let kind = "anon"
  for (const line of text.split("\n")) {
    const header = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line)
    if (header !== null) {
      const name = header[1]!
      kind = name === "" ? "anon" : name === "[heap]" ? "brk" : name.startsWith("[") ? "other" : name === process.execPath ? "node" : "files"
    } else if (line.startsWith("Rss:")) kb[kind] = (kb[kind] ?? 0) + Number(line.split(/\s+/)[1])
  }
  return Object.fromEntries(Object.entries(kb).map(([k, v]) => [k, Math.round(v / 102.4) / 10]))
}

/**
 * The young generation's allocation over the turn rounds, from V8's per-GC statistics: what new
 * space held before each GC beyond what the previous one left, plus what it holds at the end.
 */
const youngAllocation = (() => {
  const profiler = new v8.GCProfiler()
  const used = (spaces: ReadonlyArray<v8.HeapSpaceStatistics>) => spaces.find((x) => x.spaceName === "new_space")?.spaceUsedSize ?? 0
  const usedNow = () => v8.getHeapSpaceStatistics().find((x) => x.space_name === "new_space")?.space_used_size ?? 0
  let startUsed = 0
  return {
    start: () => {
      startUsed = usedNow()
      profiler.start()
    },
    stop: (turns: number) => {
      const { statistics } = profiler.stop()
      let allocated = 0
      let previous = startUsed
      for (const gc of statistics) {
        allocated += Math.max(0, used(gc.beforeGC.heapSpaceStatistics) - previous)
        previous = used(gc.afterGC.heapSpaceStatistics)
      }
      allocated += Math.max(0, usedNow() - previous)
      youngRounds = {
        allocatedPerTurnKb: Math.round(allocated / turns / 102.4) / 10,
        scavenges: statistics.filter((gc) => gc.gcType === "Scavenge").length,
        markCompacts: statistics.filter((gc) => gc.gcType === "MarkSweepCompact").length
      }
    }
  }
})()
let youngRounds: { readonly allocatedPerTurnKb: number; readonly scavenges: number; readonly markCompacts: number } | undefined

/**
 * MEMORY_ALLOC_PROFILE=<file>: V8's sampling heap profiler over the turn rounds, garbage included
 * (what makes the young generation busy), written as a .heapprofile at the end.
 */
const allocationProfile = (() => {
  const file = process.env.MEMORY_ALLOC_PROFILE
  if (file === undefined || file === "") return { start: async () => {}, stop: async () => {} }
  let session: import("node:inspector/promises").Session | undefined
  return {
    start: async () => {
      const { Session } = await import("node:inspector/promises")
      session = new Session()
      session.connect()
      await session.post("HeapProfiler.startSampling", {
        samplingInterval: 1024,
        includeObjectsCollectedByMajorGC: true,
        includeObjectsCollectedByMinorGC: true
      })
    },
    stop: async () => {
      const { profile } = await session!.post("HeapProfiler.stopSampling")
      NodeFs.writeFileSync(file, JSON.stringify(profile))
      session!.disconnect()
    }
  }
})()

const snapshot = async () => {
  // MEMORY_IDLE_MS=<ms>: wait that long idle first (V8's memory reducer shrinks an idle heap after ~8 s).
  const idle = Number(process.env.MEMORY_IDLE_MS ?? 0)
  if (idle > 0) await new Promise((resolve) => setTimeout(resolve, idle))
  gc?.()
  gc?.()
  const m = process.memoryUsage()
  const result = {
    rssMb: m.rss / 2 ** 20,
    heapUsedMb: m.heapUsed / 2 ** 20,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    detail: attribution()
  }
  // MEMORY_HEAPSNAPSHOT=<file>: a heap snapshot at the measured point, to group what is retained.
  const file = process.env.MEMORY_HEAPSNAPSHOT
  if (file !== undefined && file !== "") v8.writeHeapSnapshot(file)
  return result
}

const raw = async (codexHome: string, cwd: string) => {
  const client = spawnRawClientOf(bin, { args: ["app-server", ...OFFLINE_ARGS], env: { ...env, CODEX_HOME: codexHome } })
  await client.initialize()
  phase("connected")
  const waiting = new Map<string, () => void>()
  const early = new Set<string>()
  client.onMessage((msg) => {
    if (msg.method !== "turn/completed") return
    const id: string = msg.params.turn.id
    const done = waiting.get(id)
    if (done === undefined) early.add(id)
    else {
      waiting.delete(id)
      done()
    }
  })
  const threads: Array<string> = []
  for (let i = 0; i < THREADS; i++) threads.push((await client.request<{ thread: { id: string } }>("thread/start", { cwd })).thread.id)
  phase("threads")
  await allocationProfile.start()
  youngAllocation.start()
  for (let r = 0; r < TURNS; r++) {
    await Promise.all(threads.map(async (threadId) => {
      const { turn } = await client.request<{ turn: { id: string } }>("turn/start", {
        threadId,
        input: [{ type: "text", text: `turn ${r}`, text_elements: [] }]
      })
      if (!early.delete(turn.id)) await new Promise<void>((resolve) => waiting.set(turn.id, resolve))
    }))
    if (r === 0) phase("round1")
  }
  youngAllocation.stop(THREADS * TURNS)
  await allocationProfile.stop()
  const result = { threads: threads.length, ...(await snapshot()) }
  await client.close()
  return result
}

const sdk = async (codexHome: string, cwd: string, barrels: boolean) => {
  const { NodeServices } = barrels
    ? await import("@effect/platform-node")
    : { NodeServices: await import("@effect/platform-node/NodeServices") }
  const { Effect, Layer } = barrels
    ? await import("effect")
    : { Effect: await import("effect/Effect"), Layer: await import("effect/Layer") }
  // A variable specifier: type-checking must not need the build; the types are the source's.
  const dist = pathToFileURL(NodePath.join(import.meta.dirname, "..", "dist", "index.js")).href
  const { AppServer, Codex } = (await import(dist)) as typeof import("../src/index.ts")
  phase("imported")
  const layer = Codex.layer.pipe(
    Layer.provideMerge(AppServer.layer({ codexHome, config: OFFLINE_CONFIG })),
    Layer.provide(NodeServices.layer)
  )
  return await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const threads = yield* Effect.forEach(Array.from({ length: THREADS }), () => Codex.startThread({ cwd }))
    phase("threads")
    yield* Effect.promise(allocationProfile.start)
    youngAllocation.start()
    for (let r = 0; r < TURNS; r++) {
      yield* Effect.forEach(threads, (thread) => thread.run(`turn ${r}`), { concurrency: "unbounded", discard: true })
      if (r === 0) phase("round1")
    }
    youngAllocation.stop(THREADS * TURNS)
    yield* Effect.promise(allocationProfile.stop)
    return { threads: threads.length, ...(yield* Effect.promise(snapshot)) }
  })).pipe(Effect.provide(layer)))
}

const main = async () => {
  if (bin === "" || (side !== "sdk" && side !== "sdk-barrels" && side !== "raw")) {
    throw new Error("usage: memoryWorker.ts <sdk|sdk-barrels|raw> [threads] [turns], with ICOUNT_CODEX_BIN set")
  }
  phase("start")
  // Enough answers for every turn even if codex sent a few extra model requests.
  const model = await startModel(THREADS * TURNS * 2)
  try {
    return side === "raw"
      ? await raw(model.codexHome, model.codexHome)
      : await sdk(model.codexHome, model.codexHome, side === "sdk-barrels")
  } finally {
    model.stop()
  }
}

main().then((result) => {
  process.stdout.write(JSON.stringify(result) + "\n")
  process.exit(0)
}, (error) => {
  console.error(error)
  process.exit(1)
})
