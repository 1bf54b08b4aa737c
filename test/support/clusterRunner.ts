/**
 * A cluster runner process for the cluster tests and bench:
 *
 *   node --import ./scripts/source-hooks.ts test/support/clusterRunner.ts '<json RunnerProcessOptions>'
 *
 * It joins the cluster in the given PostgreSQL database at 127.0.0.1:port, hosts `CodexThread` on a pool
 * of app-servers in its own CODEX_HOME (pointed at a LocalModel by `config`), prints `ready <port>` once
 * it has joined, and runs until SIGTERM (which closes its app-servers) or SIGKILL.
 */
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { PgClient } from "@effect/sql-pg"
import { Console, Effect, Layer, Redacted } from "effect"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { CodexCluster } from "effect-codex/cluster"
import * as CodexBinary from "./CodexBinary.ts"
import { clusterTimings, type RunnerProcessOptions } from "./Cluster.ts"

const options = JSON.parse(process.argv[2] ?? "{}") as RunnerProcessOptions

Fs.mkdirSync(options.codexHome, { recursive: true })
Fs.writeFileSync(Path.join(options.codexHome, "config.toml"), options.configToml)

const runner = CodexCluster.layerRunner({
  host: "127.0.0.1",
  port: options.port,
  serialization: options.serialization,
  shardingConfig: clusterTimings,
  pool: {
    size: options.servers ?? 1,
    server: { codexPath: CodexBinary.codexPath, codexHome: options.codexHome, config: options.config }
  }
}).pipe(
  Layer.provide(PgClient.layer({ url: Redacted.make(options.databaseUrl) })),
  Layer.provide(NodeServices.layer)
)

Effect.gen(function*() {
  yield* Console.log(`ready ${options.port}`)
  return yield* Effect.never
}).pipe(Effect.provide(runner), NodeRuntime.runMain)
