/**
 * Runner processes for the cluster tests and bench: each is test/support/clusterRunner.ts in a child
 * process with its own CODEX_HOME (a copy of a LocalModel's config), on a loopback port from the OS.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import type * as LocalModel from "../../src/layers/testing/LocalModel.ts"
import * as Postgres from "../../scripts/postgres.ts"

/** What a runner process is told (as JSON on its command line). */
export interface RunnerProcessOptions {
  readonly databaseUrl: string
  readonly port: number
  readonly serialization: "binary" | "ndjson"
  readonly codexHome: string
  readonly configToml: string
  readonly config: Record<string, unknown>
  readonly servers?: number | undefined
}

/**
 * Cluster timings for loopback tests: a dead runner's keys move and its persisted messages are picked
 * up again within a few seconds (the defaults take up to a minute).
 */
export const clusterTimings = {
  entityMessagePollInterval: "300 millis",
  refreshAssignmentsInterval: "300 millis",
  // Every lock operation of a runner (refresh, acquire, the check before a reply is stored) times out
  // after min(refresh interval, expiration / 3): a runner whose lock refresh takes longer calls its lock
  // storage unhealthy and interrupts every entity it runs (their messages are delivered again). At 1 s,
  // a loaded 2-core CI machine crossed that now and then (PostgreSQL answering late); 3 s does not. With
  // PostgreSQL's advisory locks a dead runner's locks go with its connection, so this costs no failover
  // time: a dead runner is found by the health check's pings.
  shardLockRefreshInterval: "3 seconds",
  shardLockExpiration: "9 seconds",
  runnerHealthCheckInterval: "1 second",
  // fewer shards: less work per assignment on a 2-core machine
  shardsPerGroup: 60
} as const

const repoRoot = Path.resolve(import.meta.dirname, "../..")

/** A free TCP port on 127.0.0.1 (bound, read, released). */
export const freePort = Postgres.freePort

/** A running runner process. */
export interface RunnerProcess {
  readonly port: number
  readonly address: string
  readonly child: ChildProcess
  readonly codexHome: string
  /** Everything it wrote, stdout and stderr. */
  readonly output: () => string
  readonly exited: Promise<void>
}

/** Starts a runner and resolves once it has joined the cluster (it printed `ready`). */
export const startRunner = async (options: {
  readonly databaseUrl: string
  readonly serialization: "binary" | "ndjson"
  readonly model: LocalModel.Service
  readonly servers?: number | undefined
}): Promise<RunnerProcess> => {
  const port = await freePort()
  const codexHome = Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-codex-runner-"))
  const config = {
    ...options.model.appServerOptions.config,
    features: { ...(options.model.appServerOptions.config.features as object), shell_snapshot: false }
  }
  const processOptions: RunnerProcessOptions = {
    databaseUrl: options.databaseUrl,
    port,
    serialization: options.serialization,
    codexHome,
    configToml: Fs.readFileSync(Path.join(options.model.codexHome, "config.toml"), "utf8"),
    config,
    servers: options.servers
  }
  const child = spawn(
    process.execPath,
    ["--import", "./scripts/source-hooks.ts", "test/support/clusterRunner.ts", JSON.stringify(processOptions)],
    { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NODE_OPTIONS: "" } }
  )
  let output = ""
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`runner on ${port} did not start:\n${output}`)), 60_000)
    const onData = (chunk: Buffer) => {
      output += chunk.toString("utf8")
      if (output.includes(`ready ${port}`)) {
        clearTimeout(timer)
        resolve()
      }
    }
    child.stdout!.on("data", onData)
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")))
    child.once("exit", (code, signal) => {
      clearTimeout(timer)
      reject(new Error(`runner on ${port} exited (${code ?? signal}) before it was ready:\n${output}`))
    })
  })
  return { port, address: `127.0.0.1:${port}`, child, codexHome, output: () => output, exited }
}

/** The ids of every living descendant of a process (its app-servers, their children), from /proc. */
export const descendants = (pid: number): Array<number> => {
  const parents = new Map<number, number>()
  for (const entry of Fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = Fs.readFileSync(`/proc/${entry}/stat`, "utf8")
      // the command may hold spaces and parentheses: the fields after the last ")" are fixed
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
      parents.set(Number(entry), Number(fields[1]))
    } catch {
      // gone meanwhile
    }
  }
  const out: Array<number> = []
  const walk = (parent: number) => {
    for (const [child, ppid] of parents) {
      if (ppid === parent) {
        out.push(child)
        walk(child)
      }
    }
  }
  walk(pid)
  return out
}

/** Whether a process is alive (not a zombie). */
export const isAlive = (pid: number): boolean => {
  try {
    const stat = Fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z"
  } catch {
    return false
  }
}

/** Waits until `check` holds, polling every 100 ms, at most `ms`. */
export const until = async (check: () => boolean, ms: number, what: string): Promise<void> => {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

/** Stops a runner with SIGTERM (its finalizers close its app-servers) and removes its CODEX_HOME. */
export const stopRunner = async (runner: RunnerProcess): Promise<void> => {
  if (runner.child.exitCode === null && runner.child.signalCode === null) {
    runner.child.kill("SIGTERM")
    const timer = setTimeout(() => runner.child.kill("SIGKILL"), 15_000)
    await runner.exited
    clearTimeout(timer)
  }
  Fs.rmSync(runner.codexHome, { recursive: true, force: true, maxRetries: 3 })
}
