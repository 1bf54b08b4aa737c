/**
 * Section 3: startup to ready: from "spawn" until the `initialize` response has arrived (and
 * `initialized` is sent).
 * - SDK: `Layer.buildWithScope(AppServer.layer(...) + NodeServices.layer)` (native binary);
 * - raw native: the raw client spawning the same native binary;
 * - raw via the npm wrapper: `node node_modules/@openai/codex/bin/codex.js app-server` with this
 *   Node (on Node >= 22.15 the wrapper `execve`s into the native binary, so only Node's own
 *   startup is added); plus, if a different `node` is on PATH (outside node_modules), the same
 *   with that Node (older Nodes keep the wrapper alive and spawn codex as its child).
 * All variants share one reused CODEX_HOME and the same `-c features.plugins=false`. One warm-up
 * round (the first one sees a fresh CODEX_HOME) is excluded, then variants rotate each round.
 * Every process is fully shut down (and its shutdown timed) before the next sample.
 */
import { execFileSync } from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { round, summarize, type Summary } from "./stats.ts"
import {
  buildSdkClient,
  codexBinary,
  fmt,
  OFFLINE_ARGS,
  type Section,
  table,
  type TargetCheck,
  wrapperScript
} from "./harness.ts"
import { spawnRawClient } from "./rawClient.ts"

interface Variant {
  readonly id: string
  readonly label: string
  /** Starts and initializes; resolves with the time to ready (ms) and a closer. */
  readonly start: (home: string) => Promise<{ readonly readyMs: number; readonly close: () => Promise<void> }>
}

export interface StartupVariantResult {
  readonly variant: string
  readonly label: string
  readonly ready: Summary
  readonly close: Summary
  readonly samples: ReadonlyArray<number>
  readonly excludedFirst: number
}

/** A `node` on PATH (skipping node_modules/.bin) whose version differs from this one. */
const otherNode = (): { readonly path: string; readonly version: string } | undefined => {
  for (const dir of (process.env.PATH ?? "").split(NodePath.delimiter)) {
    if (dir === "" || dir.includes("node_modules")) continue
    const candidate = NodePath.join(dir, process.platform === "win32" ? "node.exe" : "node")
    if (!NodeFs.existsSync(candidate)) continue
    try {
      const version = execFileSync(candidate, ["--version"], { encoding: "utf8" }).trim()
      return version === process.version ? undefined : { path: candidate, version }
    } catch {
      continue
    }
  }
  return undefined
}

const rawVariant = (
  id: string,
  label: string,
  spawnOptions: (home: string) => Parameters<typeof spawnRawClient>[0]
): Variant => ({
  id,
  label,
  start: async (home) => {
    const t0 = performance.now()
    const client = spawnRawClient(spawnOptions(home))
    await client.initialize()
    return { readyMs: performance.now() - t0, close: () => client.close() }
  }
})

export const startup: Section = {
  id: "startup",
  title: "Startup to ready (spawn + initialize)",
  run: async (ctx) => {
    const { bin, env } = codexBinary()
    const wrapper = wrapperScript()
    const other = otherNode()
    const variants: Array<Variant> = [
      {
        id: "sdk",
        label: "SDK layer build (native binary)",
        start: async (home) => {
          const t0 = performance.now()
          const { close } = await buildSdkClient(home)
          return { readyMs: performance.now() - t0, close }
        }
      },
      rawVariant("raw-native", "raw client, native binary", (home) => ({
        bin,
        args: ["app-server", ...OFFLINE_ARGS],
        env: { ...env, CODEX_HOME: home }
      })),
      rawVariant("raw-wrapper", `raw client, npm wrapper bin/codex.js (Node ${process.version})`, (home) => ({
        bin: process.execPath,
        args: [wrapper, "app-server", ...OFFLINE_ARGS],
        env: { CODEX_HOME: home }
      }))
    ]
    if (other !== undefined) {
      variants.push(
        rawVariant("raw-wrapper-other-node", `raw client, npm wrapper bin/codex.js (Node ${other.version})`, (home) => ({
          bin: other.path,
          args: [wrapper, "app-server", ...OFFLINE_ARGS],
          env: { CODEX_HOME: home }
        }))
      )
    }

    const home = ctx.makeHome("startup")
    const ready = new Map<string, Array<number>>(variants.map((v) => [v.id, []]))
    const closing = new Map<string, Array<number>>(variants.map((v) => [v.id, []]))
    const excluded = new Map<string, number>()
    const rounds = ctx.config.startupSamples + 1
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < variants.length; i++) {
        const v = variants[(i + r) % variants.length]!
        const { readyMs, close } = await v.start(home)
        const t1 = performance.now()
        await close()
        const closeMs = performance.now() - t1
        if (r === 0) {
          excluded.set(v.id, round(readyMs, 1))
        } else {
          ready.get(v.id)!.push(readyMs)
          closing.get(v.id)!.push(closeMs)
        }
      }
    }

    const results = variants.map((v): StartupVariantResult => ({
      variant: v.id,
      label: v.label,
      ready: summarize(ready.get(v.id)!),
      close: summarize(closing.get(v.id)!),
      samples: ready.get(v.id)!.map((x) => round(x, 1)),
      excludedFirst: excluded.get(v.id)!
    }))
    for (const r of results) ctx.log(`  ${r.variant}: ready p50 ${r.ready.p50} ms`)
    const byId = (id: string) => results.find((r) => r.variant === id)
    const sdk = byId("sdk")!
    const native = byId("raw-native")!
    const wrapped = byId("raw-wrapper")!
    const targets: Array<TargetCheck> = [
      {
        name: "startup: SDK p50 - raw native p50 (ms)",
        value: round(sdk.ready.p50 - native.ready.p50, 1),
        target: "informational",
        pass: true
      },
      {
        name: "startup: raw npm wrapper p50 - SDK p50 (ms saved by the native binary)",
        value: round(wrapped.ready.p50 - sdk.ready.p50, 1),
        target: "> 0",
        pass: wrapped.ready.p50 > sdk.ready.p50
      }
    ]
    const rows = results.map((r) => [
      r.label,
      r.ready.n,
      `**${fmt(r.ready.p50, 1)}**`,
      fmt(r.ready.p90, 1),
      fmt(r.ready.min, 1),
      fmt(r.ready.max, 1),
      r.variant === "raw-native" ? "" : `${r.ready.p50 >= native.ready.p50 ? "+" : ""}${fmt(r.ready.p50 - native.ready.p50, 1)}`,
      fmt(r.excludedFirst, 1),
      fmt(r.close.p50, 1)
    ])
    const markdown = [
      `ms from spawn to the initialize response, reused CODEX_HOME, ${ctx.config.startupSamples} samples per variant after one excluded warm-up round (its value shown), variants rotated per round.`,
      "",
      table(["variant", "n", "p50", "p90", "min", "max", "vs raw native p50", "excluded 1st", "shutdown p50"], rows)
    ].join("\n")
    return { markdown, data: { variants: results }, targets }
  }
}
