import { Effect } from "effect"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"

/** A fresh CODEX_HOME for one test, removed when the test's Scope closes. */
export const tempCodexHome = Effect.acquireRelease(
  Effect.sync(() => NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "effect-codex-test-"))),
  (dir) => Effect.sync(() => NodeFs.rmSync(dir, { recursive: true, force: true }))
)

/** Config that keeps codex off the network: no plugin sync, no model provider but loopback. */
export const offlineConfig = { features: { plugins: false } } as const

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
