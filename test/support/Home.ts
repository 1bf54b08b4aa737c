import { Effect } from "effect"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"

/** A fresh CODEX_HOME for one test, removed when the test's Scope closes. */
export const tempCodexHome = Effect.acquireRelease(
  Effect.sync(() => NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "effect-codex-test-"))),
  (dir) => Effect.sync(() => NodeFs.rmSync(dir, { recursive: true, force: true }))
)

/** Config that keeps codex off the network: no plugin sync, no metrics export, no model provider but loopback. */
export const offlineConfig = { features: { plugins: false }, analytics: { enabled: false } } as const

/** Whether a pid is alive. */
export const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Pids of every running process whose command line contains `needle`. */
export const pidsMatching = (needle: string): ReadonlyArray<number> =>
  NodeFs.readdirSync("/proc").flatMap((entry) => {
    if (!/^\d+$/.test(entry)) return []
    try {
      const cmd = NodeFs.readFileSync(`/proc/${entry}/cmdline`, "utf8")
      return cmd.includes(needle) ? [Number(entry)] : []
    } catch {
      return []
    }
  })

/**
 * Pids of every running process whose environment holds exactly `name=value`.
 * codex gets its CODEX_HOME through the environment (not the command line), and
 * so does everything it or a wrapper script starts, so
 * `pidsWithEnv("CODEX_HOME", home)` finds every process a test left behind.
 * Zombies (dead, waiting to be reaped by init) are not counted.
 */
export const pidsWithEnv = (name: string, value: string): ReadonlyArray<number> => {
  const needle = `${name}=${value}`
  return NodeFs.readdirSync("/proc").flatMap((entry) => {
    if (!/^\d+$/.test(entry)) return []
    try {
      if (!NodeFs.readFileSync(`/proc/${entry}/environ`, "utf8").split("\0").includes(needle)) return []
      const stat = NodeFs.readFileSync(`/proc/${entry}/stat`, "utf8")
      return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z") ? [] : [Number(entry)]
    } catch {
      return []
    }
  })
}

/**
 * Polls until no process has `name=value` in its environment, for at most
 * `timeoutMs`; returns the pids still there at the end (empty when all are gone).
 */
export const awaitNoPidsWithEnv = (name: string, value: string, timeoutMs = 0): Effect.Effect<ReadonlyArray<number>> =>
  Effect.gen(function*() {
    const deadline = Date.now() + timeoutMs
    while (true) {
      const pids = pidsWithEnv(name, value)
      if (pids.length === 0 || Date.now() >= deadline) return pids
      yield* Effect.sleep("10 millis")
    }
  })

/** A temp directory removed when the Scope closes. */
export const tempDir = (prefix = "effect-codex-tmp-") =>
  Effect.acquireRelease(
    Effect.sync(() => NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), prefix))),
    (dir) => Effect.sync(() => NodeFs.rmSync(dir, { recursive: true, force: true }))
  )

/** Writes an executable `#!/bin/sh` script named `name` into `dir` and returns its path. */
export const writeScript = (dir: string, name: string, body: string): string => {
  const file = NodePath.join(dir, name)
  NodeFs.writeFileSync(file, `#!/bin/sh\n${body}\n`, { mode: 0o755 })
  return file
}
