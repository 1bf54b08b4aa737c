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
 * Usage: node --expose-gc bench/memoryWorker.ts <sdk|sdk-barrels|raw> [threads] [turns]
 * (the parent passes the codex binary and env as ICOUNT_CODEX_BIN / ICOUNT_CODEX_ENV; the SDK
 * side loads the built dist/index.js).
 */
import { spawn } from "node:child_process"
import * as NodePath from "node:path"
import * as NodeReadline from "node:readline"
import { pathToFileURL } from "node:url"
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

const snapshot = () => {
  gc?.()
  gc?.()
  const m = process.memoryUsage()
  return { rssMb: m.rss / 2 ** 20, heapUsedMb: m.heapUsed / 2 ** 20, peakRssMb: process.resourceUsage().maxRSS / 1024 }
}

const raw = async (codexHome: string, cwd: string) => {
  const client = spawnRawClientOf(bin, { args: ["app-server", ...OFFLINE_ARGS], env: { ...env, CODEX_HOME: codexHome } })
  await client.initialize()
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
  for (let r = 0; r < TURNS; r++) {
    await Promise.all(threads.map(async (threadId) => {
      const { turn } = await client.request<{ turn: { id: string } }>("turn/start", {
        threadId,
        input: [{ type: "text", text: `turn ${r}`, text_elements: [] }]
      })
      if (!early.delete(turn.id)) await new Promise<void>((resolve) => waiting.set(turn.id, resolve))
    }))
  }
  const result = { threads: threads.length, ...snapshot() }
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
  const layer = Codex.layer.pipe(
    Layer.provideMerge(AppServer.layer({ codexHome, config: OFFLINE_CONFIG })),
    Layer.provide(NodeServices.layer)
  )
  return await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const threads = yield* Effect.forEach(Array.from({ length: THREADS }), () => Codex.startThread({ cwd }))
    for (let r = 0; r < TURNS; r++) {
      yield* Effect.forEach(threads, (thread) => thread.run(`turn ${r}`), { concurrency: "unbounded", discard: true })
    }
    return { threads: threads.length, ...snapshot() }
  })).pipe(Effect.provide(layer)))
}

const main = async () => {
  if (bin === "" || (side !== "sdk" && side !== "sdk-barrels" && side !== "raw")) {
    throw new Error("usage: memoryWorker.ts <sdk|sdk-barrels|raw> [threads] [turns], with ICOUNT_CODEX_BIN set")
  }
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
