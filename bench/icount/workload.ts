/**
 * The fixed workloads of the instruction-count mode, all in one process per side (under callgrind
 * by bench/icount/callgrind.ts, or plainly to try it). Each workload runs two phases of different
 * sizes between markers; callgrind dumps its counts at every marker, so Node start, module loading,
 * spawn, `initialize` and warm-up land outside the phases, and the difference of the two phases
 * divided by the difference of their items is the cost of one more request or event (what a phase
 * costs regardless of its size, e.g. starting a turn, cancels out).
 *
 * Usage: node bench/icount/workload.ts <sdk|raw> <workload>:<small>:<large>[,...]
 * (workloads: model/list, thread/loaded/list, flood, turn). For each workload in order: set up
 * and warm up, `mark()`, a phase of `small` items, `mark()`, a phase of `large` items, `mark()`,
 * tear down. Prints one JSON line `{ "items": [[smallItems, largeItems], ...] }` on stdout
 * (requests answered / delta events received per phase).
 * The parent passes the codex binary and the environment the SDK gives it (`ICOUNT_CODEX_BIN`,
 * `ICOUNT_CODEX_ENV`, JSON), so the raw side loads only bench/rawClientCore.ts; the SDK side loads
 * the built `dist/index.js` (what a user's program loads; `npm run build` first).
 *
 * - requests: the `WARMUP` requests, then `n` sequential requests of the method against the pinned
 *   `codex app-server` (SDK `client.request` inside one Effect loop / raw `await client.request`);
 * - flood: a real child process (bench/icount/floodServer.ts, a fake app-server) writes the
 *   `WARMUP` turns, the `REWARM` turns and one turn per phase of `n` deltas to its stdout; the SDK
 *   reads them through its stdio transport and `turn.events`, the raw client in its `data` handler;
 * - turn: the pinned codex against a LocalModel in another process (bench/icount/modelServer.ts)
 *   that answers every turn of that sequence with its number of deltas (`turnsOf`);
 *   SDK `thread.turn` + `turn.events` / raw `turn/start` until `turn/completed`.
 * Every marker's forced GC is followed by the `REWARM` runs, inside the marker.
 */
import { spawn } from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import * as NodeReadline from "node:readline"
import { pathToFileURL } from "node:url"
import { type RawClient, spawnRawClientOf } from "../rawClientCore.ts"
import { floodExecutable as fakeFloodExecutable } from "./fakeCodex.ts"
import { parsePlan, type Step, type Workload, WORKLOADS } from "./plan.ts"

/** `rounds` runs of a phase of `n` items: `n` sequential requests, or one turn of `n` deltas per round. */
interface Runs {
  readonly rounds: number
  readonly n: number
}

/**
 * The warm-up, before the first marker. Long enough that every function the client calls per
 * item, per read batch (a 64 KiB pipe read carries ~400 flood deltas) or per turn has been
 * optimized and has settled (a turn's first and last messages deoptimize code that the deltas
 * in between optimized, and feedback generalizes over the first turns): ten flood turns of
 * 5,000, where one turn left the large phase still compiling what reached its threshold there.
 */
const WARMUP: Record<Workload, Runs> = {
  "model/list": { rounds: 1, n: 200 },
  "thread/loaded/list": { rounds: 1, n: 200 },
  flood: { rounds: 10, n: 5000 },
  turn: { rounds: 10, n: 1000 }
}

/** What bench/harness.ts OFFLINE_ARGS / OFFLINE_CONFIG say (not imported: that module loads the SDK). */
const OFFLINE_ARGS = ["-c", "features.plugins=false", "-c", "analytics.enabled=false"]
const OFFLINE_CONFIG = { features: { plugins: false }, analytics: { enabled: false } }
const codexBin = process.env.ICOUNT_CODEX_BIN ?? ""
const codexEnv = JSON.parse(process.env.ICOUNT_CODEX_ENV ?? "{}") as Record<string, string>

/**
 * The phase marker: callgrind runs with `--dump-before=*GetHostname*`, so each `os.hostname()`
 * writes the counts since the previous one to a new part file (nothing else in the workload asks
 * for the host name; the driver checks the number of parts). Between two dumps, a full GC: every
 * phase starts from the same heap state, so when the next major GC falls does not depend on what
 * ran before, and the forced GC's own work (which varies with the garbage left) is a part of its
 * own, outside the phases (`--expose-gc` is set by the driver).
 */
const gc = (globalThis as { gc?: () => void }).gc
const mark = (between?: () => void) => {
  NodeOs.hostname()
  between?.()
  gc?.()
  NodeOs.hostname()
}

/**
 * Timers stand still during the phases. A timer that fires every T ms of wall time (the
 * client's request-deadline sweeper wakes every 100 ms) costs instructions in proportion to how
 * long a phase takes, and under callgrind, on a loaded machine, a phase takes 50-200 times as long
 * as natively: the count would follow the machine's load. The SDK side's Clock is this one:
 * times are the default clock's, and sleeps are real timers except between `pause()` and
 * `resume()` (called inside the markers, outside the phases), when no timer is armed; a sleep
 * due in that time ends at `resume()`. The raw client arms no timers.
 */
const pausable = {
  paused: false,
  pending: new Set<{ at: number; wake: () => void; timer: ReturnType<typeof setTimeout> | undefined }>(),
  pause() {
    this.paused = true
    for (const entry of this.pending) {
      clearTimeout(entry.timer)
      entry.timer = undefined
    }
  },
  resume() {
    this.paused = false
    for (const entry of this.pending) entry.timer = setTimeout(entry.wake, Math.max(0, entry.at - Date.now()))
  }
}

/**
 * The client's children (codex, the fake server, the model server) get a high priority. A request
 * that codex answers in microseconds (`thread/loaded/list`) races the client's own work after the
 * write: when codex answers before the client is idle, the answer is read in the same loop turn;
 * when codex is descheduled by other load, the client first goes idle and wakes again, which costs
 * instructions (one loop turn and scheduler round more per request). With codex at nice -10 it
 * wins the race on a loaded machine as it does on an idle one. Needs root (CI is); elsewhere the
 * priority stays and the row may move with the load.
 */
const prioritizeChildren = () => {
  for (const task of NodeFs.readdirSync("/proc/self/task")) {
    let children: Array<string> = []
    try {
      children = NodeFs.readFileSync(`/proc/self/task/${task}/children`, "utf8").trim().split(/\s+/).filter((x) => x !== "")
    } catch {
      continue
    }
    for (const child of children) {
      try {
        NodeOs.setPriority(Number(child), -10)
      } catch {
        // not permitted (not root): leave it
      }
    }
  }
}

const tmp = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "effect-codex-icount-"))
const cleanup = () => NodeFs.rmSync(tmp, { recursive: true, force: true })

/** An executable that runs the fake app-server (bench/icount/fakeCodex.ts). */
const floodExecutable = (): string => fakeFloodExecutable(tmp)

/** Starts modelServer.ts (one model request per turn: warm-up, then the phases); resolves with the options pointing codex at it, and a stopper. */
const startModel = async (deltas: ReadonlyArray<number>) => {
  // A deep stack: LocalModel writes an undelayed SSE answer by recursion, two calls per frame, and
  // 5,000 frames can overflow the default 984 KB (the main thread has 8 MB).
  const child = spawn(process.execPath, ["--stack-size=7000", NodePath.join(import.meta.dirname, "modelServer.ts"), ...deltas.map(String)], {
    stdio: ["pipe", "pipe", "inherit"]
  })
  const line = await new Promise<string>((resolve, reject) => {
    NodeReadline.createInterface({ input: child.stdout }).once("line", resolve)
    child.once("exit", (code) => reject(new Error(`modelServer exited (${code})`)))
  })
  const options = JSON.parse(line) as { codexHome: string; config: Record<string, unknown> }
  return { options, stop: () => child.stdin.end() }
}

/** `turn/start` params for a text input. */
const turnInput = (text: string) => [{ type: "text" as const, text, text_elements: [] }]

/** The turn input of a turn of `n` deltas (the fake flood server reads `n` from it). */
const turnText = (workload: Workload, n: number) => workload === "flood" ? `flood ${n}` : `turn ${n}`

/** `runs` in order. */
const runAll = async (runs: Runs, runPhase: (n: number) => Promise<number>): Promise<void> => {
  for (let i = 0; i < runs.rounds; i++) await runPhase(runs.n)
}

/**
 * The deltas of every turn of a `turn` step in the order they run (warm-up, re-warm, small phase,
 * re-warm, large phase): the model server answers the k-th model request with the k-th.
 */
const turnsOf = (step: Step): Array<number> => {
  const repeat = (runs: Runs) => Array.from({ length: runs.rounds }, () => runs.n)
  return [...repeat(WARMUP.turn), ...repeat(REWARM.turn), step.small, ...repeat(REWARM.turn), step.large]
}

/** One workload on one side: set up, warm up, then the two marked phases; returns their items. */
type RunStep = (step: Step) => Promise<[number, number]>

/**
 * What runs again after each forced GC, before a phase, outside it. A full GC at a quiet moment
 * (nothing of the previous phase is alive) clears the maps that only optimized code still refers
 * to (weakly), and V8 then throws that code away ("marking dependent code for deoptimization,
 * reason: weak objects"); feedback that named those maps is cleared too. Without the re-warm the
 * phase after a marker paid for deoptimizing and recompiling the hot path (TurboFan ran inside
 * the phases: up to half of a `thread/loaded/list` request's count, 2.2k of a flood event's), and
 * how much of it fell into which phase differed, which made rows multimodal (`thread/loaded/list`
 * read 237k-403k on the same code) or inflated them. After the re-warm the code is optimized again
 * and the phase measures the steady state. A flood or real turn re-warms with three turns: the
 * first turns after the GC still deoptimize at their first and last messages (a turn's end
 * generalizes field types that a fresh map starts with as constants), and the third leaves the
 * phase that follows with nothing left to compile; one turn left the small phase recompiling the
 * router.
 */
const REWARM: Record<Workload, Runs> = {
  "model/list": { rounds: 1, n: 1000 },
  "thread/loaded/list": { rounds: 1, n: 1000 },
  flood: { rounds: 3, n: 5000 },
  turn: { rounds: 3, n: 1000 }
}

const phases = async (step: Step, runPhase: (n: number) => Promise<number>): Promise<[number, number]> => {
  // a marker, then the re-warm inside it (its own part, outside the phases)
  const settled = async (between?: () => void) => {
    NodeOs.hostname()
    between?.()
    gc?.()
    await runAll(REWARM[step.workload], runPhase)
    NodeOs.hostname()
  }
  await settled(() => pausable.pause())
  const small = await runPhase(step.small)
  await settled()
  const large = await runPhase(step.large)
  mark(() => pausable.resume())
  return [small, large]
}

const rawStep: RunStep = async (step) => {
  const bin = codexBin
  const env = codexEnv
  if (bin === "") throw new Error("ICOUNT_CODEX_BIN is not set")
  const { workload } = step
  let model: Awaited<ReturnType<typeof startModel>> | undefined
  let client: RawClient
  if (workload === "flood") {
    client = spawnRawClientOf(floodExecutable(), { args: ["app-server", ...OFFLINE_ARGS], env: { ...env, CODEX_HOME: tmp } })
  } else if (workload === "turn") {
    model = await startModel(turnsOf(step))
    client = spawnRawClientOf(bin, { args: ["app-server", ...OFFLINE_ARGS], env: { ...env, CODEX_HOME: model.options.codexHome } })
  } else {
    client = spawnRawClientOf(bin, { args: ["app-server", ...OFFLINE_ARGS], env: { ...env, CODEX_HOME: tmp } })
  }
  try {
    await client.initialize()
    if (workload === "model/list" || workload === "thread/loaded/list") {
      const requests = async (n: number) => {
        for (let i = 0; i < n; i++) await client.request(workload, {})
        return n
      }
      prioritizeChildren()
      await runAll(WARMUP[workload], requests)
      return await phases(step, requests)
    }
    const { thread } = await client.request<{ thread: { id: string } }>("thread/start", { cwd: tmp })
    let deltas = 0
    let done: (() => void) | undefined
    client.onMessage((msg) => {
      if (msg.method === "item/agentMessage/delta") deltas++
      else if (msg.method === "turn/completed") done?.()
    })
    const runTurn = async (n: number) => {
      deltas = 0
      const completed = new Promise<void>((resolve) => (done = resolve))
      await client.request("turn/start", { threadId: thread.id, input: turnInput(turnText(workload, n)) })
      await completed
      return deltas
    }
    prioritizeChildren()
    await runAll(WARMUP[workload], runTurn)
    return await phases(step, runTurn)
  } finally {
    await client.close()
    model?.stop()
  }
}

const sdkStep = async (): Promise<RunStep> => {
  const { NodeServices } = await import("@effect/platform-node")
  const { Clock, Context, Duration, Effect, Exit, Layer, Scope, Stream } = await import("effect")
  const base = Clock.Clock.defaultValue()
  const clock: import("effect").Clock.Clock = {
    currentTimeMillisUnsafe: () => base.currentTimeMillisUnsafe(),
    currentTimeMillis: base.currentTimeMillis,
    currentTimeNanosUnsafe: () => base.currentTimeNanosUnsafe(),
    currentTimeNanos: base.currentTimeNanos,
    monotonicTimeNanosUnsafe: () => base.monotonicTimeNanosUnsafe(),
    monotonicTimeNanos: base.monotonicTimeNanos,
    sleep: (duration) => {
      const millis = Duration.toMillis(duration)
      if (millis <= 0 || !Number.isFinite(millis)) return base.sleep(duration)
      return Effect.callback<void>((resume) => {
        const entry = {
          at: Date.now() + millis,
          wake: () => {
            pausable.pending.delete(entry)
            resume(Effect.void)
          },
          timer: undefined as ReturnType<typeof setTimeout> | undefined
        }
        pausable.pending.add(entry)
        if (!pausable.paused) entry.timer = setTimeout(entry.wake, millis)
        return Effect.sync(() => {
          clearTimeout(entry.timer)
          pausable.pending.delete(entry)
        })
      })
    }
  }
  const run = <A, E>(effect: import("effect").Effect.Effect<A, E>) => Effect.runPromise(Effect.provideService(effect, Clock.Clock, clock))
  // A variable specifier: type-checking must not need the build; the types are the source's.
  const dist = pathToFileURL(NodePath.join(import.meta.dirname, "..", "..", "dist", "index.js")).href
  const { AppServer, AppServerClient: { AppServerClient }, Codex } = (await import(dist)) as typeof import("../../src/index.ts")
  return async (step) => {
    const { workload } = step
    let model: Awaited<ReturnType<typeof startModel>> | undefined
    let options: import("../../src/layers/AppServer.ts").Options
    if (workload === "flood") options = { codexPath: floodExecutable(), codexHome: tmp, config: OFFLINE_CONFIG }
    else if (workload === "turn") {
      model = await startModel(turnsOf(step))
      options = { codexHome: model.options.codexHome, config: OFFLINE_CONFIG }
    } else options = { codexHome: tmp, config: OFFLINE_CONFIG }
    const layer = Codex.layer.pipe(
      Layer.provideMerge(AppServer.layer(options)),
      Layer.provide(NodeServices.layer),
      Layer.provide(Layer.succeed(Clock.Clock, clock))
    )
    const scope = Effect.runSync(Scope.make())
    try {
      const context = await run(Layer.buildWithScope(layer, scope))
      if (workload === "model/list" || workload === "thread/loaded/list") {
        const client = Context.get(context, AppServerClient)
        const requests = (n: number) =>
          run(Effect.gen(function*() {
            for (let i = 0; i < n; i++) yield* client.request(workload, {})
            return n
          }))
        prioritizeChildren()
      await runAll(WARMUP[workload], requests)
        return await phases(step, requests)
      }
      const codex = Context.get(context, Codex.Codex)
      const thread = await run(codex.startThread({ cwd: tmp }))
      const runTurn = (n: number) =>
        run(Effect.scoped(Effect.gen(function*() {
          const turn = yield* thread.turn(turnText(workload, n))
          let deltas = 0
          yield* turn.events.pipe(Stream.runForEach((event) =>
            Effect.sync(() => {
              if (event._tag === "AgentMessageDelta") deltas++
            })
          ))
          return deltas
        })))
      prioritizeChildren()
    await runAll(WARMUP[workload], runTurn)
      return await phases(step, runTurn)
    } finally {
      await run(Scope.close(scope, Exit.void))
      model?.stop()
    }
  }
}

const main = async () => {
  const [side, plan] = process.argv.slice(2)
  if ((side !== "sdk" && side !== "raw") || plan === undefined) {
    throw new Error(`usage: workload.ts <sdk|raw> <workload>:<small>:<large>[,...] (workloads: ${WORKLOADS.join(", ")})`)
  }
  const run = side === "sdk" ? await sdkStep() : rawStep
  const items: Array<[number, number]> = []
  for (const step of parsePlan(plan)) items.push(await run(step))
  return items
}

main().then(
  (items) => {
    cleanup()
    process.stdout.write(JSON.stringify({ items }) + "\n")
    process.exit(0)
  },
  (error) => {
    cleanup()
    console.error(error)
    process.exit(1)
  }
)
