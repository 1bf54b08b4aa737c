/**
 * The targets table of issue 11 ("Close to the physical limit"), one row per measure, filled from
 * the data of the sections that measure it (a row whose section did not run says so). Each row
 * gives raw, SDK, their ratio where there is one, the target and PASS/MISS.
 */
import { fmt, table } from "./harness.ts"

export interface IssueRow {
  readonly measure: string
  readonly raw: string
  readonly sdk: string
  readonly target: string
  /** `undefined`: not measured in this run. */
  readonly pass: boolean | undefined
  readonly section: string
}

type Data = Record<string, any>

const ratio = (sdk: number, raw: number) => `${fmt(sdk / raw, 2)}x`

/** The rows, from `sections` (section id -> its `data`). */
export const issueRows = (sections: Data): Array<IssueRow> => {
  const rows: Array<IssueRow> = []
  const missing = (measure: string, target: string, section: string) =>
    rows.push({ measure, raw: "", sdk: "", target, pass: undefined, section })

  const ic = sections.icount?.rows as Array<{ workload: string; raw: number; sdk: number; ratio: number }> | undefined
  const icRow = (workload: string, measure: string, max: number) => {
    const r = ic?.find((x) => x.workload === workload)
    if (r === undefined) return missing(measure, `<= ${max}x`, "icount")
    rows.push({
      measure,
      raw: `${fmt(r.raw / 1000, 1)}k`,
      sdk: `${fmt(r.sdk / 1000, 1)}k (${ratio(r.sdk, r.raw)})`,
      target: `<= ${max}x`,
      pass: r.ratio <= max,
      section: "icount"
    })
  }
  icRow("model/list", "instructions per `model/list` request", 1.5)
  icRow("thread/loaded/list", "instructions per `thread/loaded/list` request", 1.5)

  const ov = sections.overhead?.methods as Array<{ method: string; ratioP50: number; raw: { p50: number }; sdk: { p50: number } }> | undefined
  if (ov === undefined) missing("request p50 (SDK / raw)", "<= 1.10", "overhead")
  else {
    rows.push({
      measure: `request p50 (${ov.map((m) => m.method).join(", ")})`,
      raw: ov.map((m) => `${fmt(m.raw.p50)} ms`).join(" / "),
      sdk: ov.map((m) => `${fmt(m.sdk.p50)} ms (${fmt(m.ratioP50, 2)}x)`).join(" / "),
      target: "<= 1.10",
      pass: ov.every((m) => m.ratioP50 <= 1.1),
      section: "overhead"
    })
  }

  const tp = sections.throughput?.methods as Array<{ method: string; variants: Array<{ variant: string; reqPerSec: { median: number }; vsRaw: number }> }> | undefined
  if (tp === undefined) missing("throughput, 64 in flight (SDK / raw)", ">= 0.95", "throughput")
  else {
    const v = (m: (typeof tp)[number], id: string) => m.variants.find((x) => x.variant === id)!
    rows.push({
      measure: `throughput, 64 in flight (${tp.map((m) => m.method).join(", ")})`,
      raw: tp.map((m) => `${v(m, "raw-64").reqPerSec.median} req/s`).join(" / "),
      sdk: tp.map((m) => `${v(m, "sdk-64").reqPerSec.median} req/s (${fmt(v(m, "sdk-64").vsRaw, 2)}x)`).join(" / "),
      target: ">= 0.95",
      pass: tp.every((m) => v(m, "sdk-64").vsRaw >= 0.95),
      section: "throughput"
    })
  }

  // The flood row of the issue: CPU per notification (<= 1.5x raw) and events/s through
  // `turn.events` (>= 600k/s), both on a real pipe (`notify`); the instruction count of the same
  // workload (`icount`) and the in-memory pipeline (`events`) beside them.
  type NotifyKind = { n: number; ratioMain: number; raw: { cpuMain: number; cpuProcess: number; eventsPerSec: number }; sdk: { cpuMain: number; cpuProcess: number; eventsPerSec: number } }
  const nt = sections.notify as { flood: NotifyKind; turn: NotifyKind } | undefined
  const cpuRow = (kind: "flood" | "turn", measure: string, max: number) => {
    const k = nt?.[kind]
    if (k === undefined) return missing(measure, `<= ${max}x`, "notify")
    rows.push({
      measure,
      raw: `${fmt(k.raw.cpuMain, 2)} µs (process ${fmt(k.raw.cpuProcess, 2)})`,
      sdk: `${fmt(k.sdk.cpuMain, 2)} µs (${ratio(k.sdk.cpuMain, k.raw.cpuMain)}; process ${fmt(k.sdk.cpuProcess, 2)})`,
      target: `<= ${max}x`,
      pass: k.ratioMain <= max,
      section: "notify"
    })
  }
  cpuRow("flood", "CPU per notification, stdio flood of deltas (main thread)", 1.5)
  icRow("flood", "instructions per notification, stdio flood of deltas", 1.5)
  if (nt === undefined) missing("events/s through `turn.events`, stdio flood", ">= 600k/s", "notify")
  else {
    rows.push({
      measure: "events/s through `turn.events`, stdio flood (first delta to last event)",
      raw: `${fmt(nt.flood.raw.eventsPerSec / 1000, 0)}k/s (\`onMessage\`)`,
      sdk: `${fmt(nt.flood.sdk.eventsPerSec / 1000, 0)}k/s`,
      target: ">= 600k/s",
      pass: nt.flood.sdk.eventsPerSec >= 600_000,
      section: "notify"
    })
  }
  const ev = sections.events as { sdkRate: number; rawRate: number; heldBytesPerEvent: number } | undefined
  if (ev === undefined) missing("events/s through `turn.events`, in-memory transport", ">= 600k/s", "events")
  else {
    rows.push({
      measure: "events/s through `turn.events`, in-memory transport (no pipe; raw = `JSON.parse` loop)",
      raw: `${fmt(ev.rawRate / 1000, 0)}k/s`,
      sdk: `${fmt(ev.sdkRate / 1000, 0)}k/s`,
      target: ">= 600k/s",
      pass: ev.sdkRate >= 600_000,
      section: "events"
    })
  }
  cpuRow("turn", "CPU per notification, real codex turn of 20k deltas, LocalModel (main thread)", 1.1)
  icRow("turn", "instructions per notification, real codex turn of deltas", 1.1)

  const im = sections.import?.modules as Array<{ id: string; cpuMs: number; wallMs: number }> | undefined
  const sdkImport = im?.find((m) => m.id === "effect-codex")
  if (sdkImport === undefined) missing("cold `import(\"effect-codex\")`", "<= 150 ms", "import")
  else {
    const ref = im!.find((m) => m.id === "codex-sdk")
    rows.push({
      measure: "cold `import(\"effect-codex\")` (CPU; wall in brackets)",
      raw: ref === undefined ? "—" : `\`@openai/codex-sdk\`: ${fmt(ref.cpuMs, 0)} ms (${fmt(ref.wallMs, 0)})`,
      sdk: `${fmt(sdkImport.cpuMs, 0)} ms (${fmt(sdkImport.wallMs, 0)})`,
      target: "<= 150 ms",
      pass: sdkImport.cpuMs <= 150,
      section: "import"
    })
  }

  if (ev === undefined) missing("heap held per event of a kept turn", "<= 120 bytes", "events")
  else {
    rows.push({
      measure: "heap held per event of a kept turn",
      raw: "—",
      sdk: `${ev.heldBytesPerEvent} bytes`,
      target: "<= 120 bytes",
      pass: ev.heldBytesPerEvent <= 120,
      section: "events"
    })
  }

  const mem = sections.memory as { threads: number; turns: number; raw: { rssMb: number }; sdk: { rssMb: number } } | undefined
  if (mem === undefined) missing("RSS, one connection, 50 threads x 10 turns", "<= 100 MB", "memory")
  else {
    rows.push({
      measure: `RSS, one connection, ${mem.threads} threads x ${mem.turns} turns`,
      raw: `${fmt(mem.raw.rssMb, 0)} MB`,
      sdk: `${fmt(mem.sdk.rssMb, 0)} MB`,
      target: "<= 100 MB",
      pass: mem.sdk.rssMb <= 100,
      section: "memory"
    })
  }
  return rows
}

/** The rows as a Markdown table. */
export const issueTable = (rows: ReadonlyArray<IssueRow>): string =>
  table(
    ["measure", "raw Node client", "effect-codex", "target", "result", "section"],
    rows.map((r) => [
      r.measure,
      r.raw,
      r.sdk,
      r.target,
      r.pass === undefined ? "_not run_" : r.pass ? "PASS" : "**MISS**",
      `\`${r.section}\``
    ])
  )
