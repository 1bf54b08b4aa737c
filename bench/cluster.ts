/**
 * Section `cluster`: what a turn costs through Effect Cluster (`effect-codex/cluster`) against the
 * same turn on `Codex` directly. Four variants, one workload:
 * - direct: `Codex.layer` over one `AppServer.layer` in this process, a thread per key;
 * - embedded: `CodexCluster.layerEmbedded` over the same kind of app-server, in this process (no
 *   database: the cluster's routing, persistence in memory and serialization, no network);
 * - cluster-1, cluster-3: one and three runner processes (test/support/clusterRunner.ts, each with its
 *   own CODEX_HOME and one app-server) on loopback, PostgreSQL as the cluster's database, this process
 *   as a client-only member (`CodexCluster.layerClient`, binary serialization); `Run` is persisted.
 *
 * Every variant talks to one LocalModel in this process that answers "ok" at once, so codex's and
 * the cluster's own work are what is measured. A round: `keys` keys concurrently, `turns` turns one
 * after another on each key, timed; each key's thread is started by one untimed turn first. Reported:
 * median turns/s over rounds and the p50 / p90 turn latency over every timed turn. PostgreSQL comes
 * from `EFFECT_CODEX_PG_URL`, else a private server (scripts/postgres.ts); without either the cluster
 * rows are skipped.
 */
import { NodeServices } from "@effect/platform-node"
import { PgClient } from "@effect/sql-pg"
import { Effect, Layer, ManagedRuntime, Redacted } from "effect"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { CodexCluster, CodexThread } from "../src/cluster.ts"
import * as AppServer from "../src/layers/AppServer.ts"
import * as LocalModel from "../src/layers/testing/LocalModel.ts"
import * as Codex from "../src/services/Codex.ts"
import type * as Thread from "../src/services/Thread.ts"
import * as Postgres from "../scripts/postgres.ts"
import * as Cluster from "../test/support/Cluster.ts"
import { codexBinary, fmt, type Section, settle, table } from "./harness.ts"
import { median, round, summarize, type Summary } from "./stats.ts"

const KEYS = 12
const TURNS = 4
const QUICK_KEYS = 6
const QUICK_TURNS = 2

type VariantId = "direct" | "embedded" | "cluster-1" | "cluster-3"

interface VariantResult {
  readonly id: VariantId
  readonly runners: number
  readonly turnsPerSecond: number
  readonly latency: Summary
  readonly rounds: ReadonlyArray<number>
}

/** How a variant runs one turn on a key. */
type RunTurn = (key: string, prompt: string) => Promise<void>

interface Workload {
  readonly keys: number
  readonly turns: number
  readonly rounds: number
}

let roundNo = 0

const measure = async (run: RunTurn, workload: Workload): Promise<{ perSecond: number; latencies: Array<number> }> => {
  const prefix = `r${++roundNo}`
  const keys = Array.from({ length: workload.keys }, (_, i) => `${prefix}-key-${i}`)
  // the thread of each key is started by an untimed first turn
  await Promise.all(keys.map((key) => run(key, "start")))
  await settle()
  const latencies: Array<number> = []
  const started = performance.now()
  await Promise.all(keys.map(async (key) => {
    for (let i = 0; i < workload.turns; i++) {
      const t0 = performance.now()
      await run(key, `turn ${i}`)
      latencies.push(performance.now() - t0)
    }
  }))
  const seconds = (performance.now() - started) / 1000
  return { perSecond: (workload.keys * workload.turns) / seconds, latencies }
}

const runVariant = async (id: VariantId, runners: number, run: RunTurn, workload: Workload): Promise<VariantResult> => {
  await measure(run, { ...workload, turns: 1 }) // warm-up
  const rounds: Array<number> = []
  const latencies: Array<number> = []
  for (let r = 0; r < workload.rounds; r++) {
    const round_ = await measure(run, workload)
    rounds.push(round_.perSecond)
    latencies.push(...round_.latencies)
  }
  return { id, runners, turnsPerSecond: round(median(rounds), 1), latency: summarize(latencies), rounds: rounds.map((x) => round(x, 1)) }
}

/** Runs an Effect program that needs a layer, and gives back a Promise-based turn runner and a close. */
const withRuntime = async <R>(
  layer: Layer.Layer<R, unknown>,
  turn: (key: string, prompt: string) => Effect.Effect<void, unknown, R>
): Promise<{ run: RunTurn; close: () => Promise<void> }> => {
  const runtime = ManagedRuntime.make(layer)
  await runtime.runPromise(Effect.void)
  return { run: (key, prompt) => runtime.runPromise(turn(key, prompt)), close: () => runtime.dispose() }
}

const databaseUrl = async (log: (line: string) => void): Promise<{ url: string; stop: () => void } | undefined> => {
  const given = process.env.EFFECT_CODEX_PG_URL
  if (given !== undefined) {
    return { url: Postgres.createDatabase(given, `bench_cluster_${process.pid}_${Date.now()}`), stop: () => {} }
  }
  if (!Postgres.installed()) {
    log("  no PostgreSQL (EFFECT_CODEX_PG_URL unset, none installed): cluster rows skipped")
    return undefined
  }
  const dir = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "effect-codex-bench-pg-"))
  const server = await Postgres.start(dir)
  return {
    url: Postgres.createDatabase(server, `bench_cluster_${process.pid}`),
    stop: () => {
      Postgres.stop(dir)
      NodeFs.rmSync(dir, { recursive: true, force: true })
    }
  }
}

export const cluster: Section = {
  id: "cluster",
  title: "turns through the cluster client vs direct Codex (LocalModel, 1 and 3 runners)",
  run: async (ctx) => {
    const workload: Workload = ctx.config.quick
      ? { keys: QUICK_KEYS, turns: QUICK_TURNS, rounds: 1 }
      : { keys: KEYS, turns: TURNS, rounds: Math.min(ctx.config.rounds, 3) }
    const { bin } = codexBinary()
    const results: Array<VariantResult> = []

    await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const model = yield* LocalModel.make([], { fallback: LocalModel.text("ok") })
      const config = {
        ...model.appServerOptions.config,
        features: { ...(model.appServerOptions.config.features as object), shell_snapshot: false }
      }
      const codexLayer = Codex.layer.pipe(
        Layer.provide(AppServer.layer({ codexPath: bin, codexHome: model.codexHome, config })),
        Layer.provide(NodeServices.layer)
      )

      yield* Effect.promise(async () => {
        // direct: a thread per key, kept in a Map
        {
          ctx.log("  direct")
          const threads = new Map<string, Thread.Thread>()
          const { close, run } = await withRuntime(codexLayer, (key, prompt) =>
            Effect.gen(function*() {
              let thread = threads.get(key)
              if (thread === undefined) {
                thread = yield* Codex.startThread()
                threads.set(key, thread)
              }
              yield* thread.run(prompt)
            }))
          results.push(await runVariant("direct", 1, run, workload))
          await close()
        }
        // embedded: the cluster's API in this process
        {
          ctx.log("  embedded")
          const { close, run } = await withRuntime(
            CodexCluster.layerEmbedded().pipe(Layer.provideMerge(codexLayer)),
            (key, prompt) => Effect.flatMap(CodexThread.client, (threads) => Effect.asVoid(threads(key).run(prompt)))
          )
          results.push(await runVariant("embedded", 1, run, workload))
          await close()
        }
        const database = await databaseUrl(ctx.log)
        if (database === undefined) return
        try {
          for (const runners of [1, 3]) {
            ctx.log(`  cluster-${runners}`)
            const url = Postgres.createDatabase(database.url, `bench_cluster_${runners}_${process.pid}`)
            const processes = await Promise.all(
              Array.from({ length: runners }, () => Cluster.startRunner({ databaseUrl: url, serialization: "binary", model }))
            )
            try {
              const client = CodexCluster.layerClient({ shardingConfig: Cluster.clusterTimings }).pipe(
                Layer.provide(PgClient.layer({ url: Redacted.make(url) }))
              )
              const { close, run } = await withRuntime(
                client,
                (key, prompt) => Effect.flatMap(CodexThread.client, (threads) => Effect.asVoid(threads(key).run(prompt)))
              )
              results.push(await runVariant(runners === 1 ? "cluster-1" : "cluster-3", runners, run, workload))
              await close()
            } finally {
              await Promise.all(processes.map(Cluster.stopRunner))
            }
          }
        } finally {
          database.stop()
        }
      })
    })))

    const direct = results.find((r) => r.id === "direct")
    const rows = results.map((r) => [
      r.id,
      r.runners,
      fmt(r.turnsPerSecond, 1),
      direct === undefined ? "n/a" : `${fmt(r.turnsPerSecond / direct.turnsPerSecond, 2)}x`,
      fmt(r.latency.p50, 0),
      fmt(r.latency.p90, 0),
      r.rounds.join(" / ")
    ])
    const markdown = [
      `${workload.keys} keys at once, ${workload.turns} turns one after another on each, ${workload.rounds} round(s); model answers "ok" at once.`,
      "",
      table(["variant", "runners", "turns/s", "vs direct", "turn p50 ms", "turn p90 ms", "turns/s per round"], rows)
    ].join("\n")
    return { markdown, data: { workload, results }, targets: [] }
  }
}
