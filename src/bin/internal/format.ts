/**
 * What the `effect-codex` command line prints, as pure functions of the protocol's values: usage lines,
 * command and file-change lines, thread and model tables, a thread's transcript, approval questions,
 * durations. No I/O here, so every line the tool prints is unit-tested (test/unit/Cli.test.ts).
 *
 * @internal
 */
import { Duration, Option } from "../../schema/internal/effect.ts"
import type * as Protocol from "../../schema/generated/Protocol.gen.ts"
import { unwrapShell } from "../../schema/internal/shell.ts"

/**
 * `1234567` as `1,234,567`.
 *
 * @internal
 */
export const count = (n: number): string => Math.round(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",")

/**
 * A duration for people: `12 ms`, `3.4 s`, `2 min 5 s`, `1 h 3 min`.
 *
 * @internal
 */
export const duration = (ms: number): string => {
  if (!Number.isFinite(ms) || ms < 0) return "?"
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`
  const totalSeconds = Math.round(ms / 1000)
  if (totalSeconds < 3600) return `${Math.floor(totalSeconds / 60)} min ${totalSeconds % 60} s`
  const minutes = Math.round(totalSeconds / 60)
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`
}

const UNITS: Record<string, Duration.Unit> = {
  ms: "millis",
  s: "seconds",
  sec: "seconds",
  m: "minutes",
  min: "minutes",
  h: "hours"
}

/**
 * Reads a `--timeout`: `90` (seconds), `500ms`, `30s`, `5m`, `1h`, or Effect's own `"30 seconds"`.
 * `undefined` when it is none of these or not positive.
 *
 * @internal
 */
export const parseDuration = (text: string): Duration.Duration | undefined => {
  const trimmed = text.trim()
  const short = /^(\d+(?:\.\d+)?)\s*(ms|s|sec|m|min|h)?$/.exec(trimmed)
  const parsed = short !== null
    ? Option.some(Duration.fromInputUnsafe(`${Number(short[1])} ${UNITS[short[2] ?? "s"]!}` as Duration.Input))
    : Duration.fromInput(trimmed as Duration.Input)
  if (Option.isNone(parsed)) return undefined
  const millis = Duration.toMillis(parsed.value)
  return millis > 0 && Number.isFinite(millis) ? parsed.value : undefined
}

/**
 * The last line of a turn: its token usage and duration.
 * `1,234 tokens (1,000 in, 200 cached, 234 out) · 3.2 s`; `no token usage reported · 3.2 s` without usage.
 *
 * @internal
 */
export const usageLine = (usage: Protocol.ThreadTokenUsage | undefined, durationMs: number): string => {
  if (usage === undefined) return `no token usage reported · ${duration(durationMs)}`
  const last = usage.last
  const parts = [`${count(last.inputTokens)} in`]
  if (last.cachedInputTokens > 0) parts.push(`${count(last.cachedInputTokens)} cached`)
  parts.push(`${count(last.outputTokens)} out`)
  if (last.reasoningOutputTokens > 0) parts.push(`${count(last.reasoningOutputTokens)} reasoning`)
  return `${count(last.totalTokens)} tokens (${parts.join(", ")}) · ${duration(durationMs)}`
}

/** One line of text, at most `max` characters (an ellipsis marks the cut). */
export const oneLine = (text: string, max: number): string => {
  const flat = text.replace(/\s+/g, " ").trim()
  return flat.length <= max ? flat : `${flat.slice(0, Math.max(0, max - 1))}…`
}

/**
 * The line for a finished command: `$ ls -la · exit 0 · 12 ms`, `$ rm -rf x · declined`.
 *
 * @internal
 */
export const commandLine = (item: Extract<Protocol.ThreadItem, { readonly type: "commandExecution" }>): string => {
  const command = `$ ${oneLine(unwrapShell(item.command), 200)}`
  switch (item.status) {
    case "declined":
      return `${command} · declined`
    case "inProgress":
      return `${command} · still running`
    default: {
      const parts = [command]
      if (item.exitCode !== undefined && item.exitCode !== null) parts.push(`exit ${item.exitCode}`)
      else if (item.status === "failed") parts.push("failed")
      if (item.durationMs !== undefined && item.durationMs !== null) parts.push(duration(item.durationMs))
      return parts.join(" · ")
    }
  }
}

const changeMark = (kind: Protocol.PatchChangeKind): string =>
  kind.type === "add" ? "+" : kind.type === "delete" ? "-" : "~"

/**
 * A path as shown: relative to `cwd` when it is inside it (codex reports absolute paths).
 *
 * @internal
 */
export const displayPath = (path: string, cwd: string | undefined): string => {
  if (cwd === undefined || cwd === "") return path
  const base = cwd.endsWith("/") ? cwd : `${cwd}/`
  return path.startsWith(base) && path.length > base.length ? path.slice(base.length) : path
}

const changePath = (change: Protocol.FileUpdateChange, cwd: string | undefined): string =>
  change.kind.type === "update" && change.kind.move_path !== undefined && change.kind.move_path !== null
    ? `${displayPath(change.path, cwd)} → ${displayPath(change.kind.move_path, cwd)}`
    : displayPath(change.path, cwd)

/**
 * One line per file of a file change: `+ added.md`, `~ changed.ts`, `- removed.txt`, `~ a.ts → b.ts`,
 * each followed by ` · declined` / ` · failed` when the change was not applied. Paths inside `cwd` are
 * shown relative to it.
 *
 * @internal
 */
export const fileChangeLines = (
  item: Extract<Protocol.ThreadItem, { readonly type: "fileChange" }>,
  cwd?: string
): Array<string> => {
  const suffix = item.status === "declined" ? " · declined" : item.status === "failed" ? " · failed" : ""
  if (item.changes.length === 0) return [`~ (no files)${suffix}`]
  return item.changes.map((change) => `${changeMark(change.kind)} ${changePath(change, cwd)}${suffix}`)
}

/**
 * The line for another finished item worth showing (tool calls, web searches), else `undefined`.
 *
 * @internal
 */
export const itemLine = (item: Protocol.ThreadItem): string | undefined => {
  switch (item.type) {
    case "mcpToolCall":
      return `⚙ ${item.server}/${item.tool} · ${item.status}`
    case "dynamicToolCall":
      return `⚙ ${item.tool}`
    case "webSearch":
      return `⌕ ${oneLine(item.query, 120)}`
    default:
      return undefined
  }
}

/**
 * When something happened, relative to `nowMs`: `just now`, `5 min ago`, `3 h ago`, `2 days ago`, then
 * the date (`2026-11-02`). `unixSeconds` is the protocol's timestamp (whole seconds).
 *
 * @internal
 */
export const relativeTime = (unixSeconds: number, nowMs: number): string => {
  const seconds = Math.max(0, Math.round(nowMs / 1000 - unixSeconds))
  if (seconds < 60) return "just now"
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h ago`
  if (seconds < 7 * 86_400) {
    const days = Math.floor(seconds / 86_400)
    return days === 1 ? "1 day ago" : `${days} days ago`
  }
  return new Date(unixSeconds * 1000).toISOString().slice(0, 10)
}

/**
 * A thread's title: its name, else the first line of its preview (the first prompt), else `(empty)`.
 *
 * @internal
 */
export const threadTitle = (thread: Protocol.Thread): string => {
  if (thread.name !== undefined && thread.name !== null && thread.name.trim() !== "") return oneLine(thread.name, 80)
  const preview = thread.preview.split("\n").find((line) => line.trim() !== "")
  return preview === undefined ? "(empty)" : oneLine(preview, 80)
}

/**
 * The `threads` table: one row per thread (`id  updated  title`), under a header. `(no threads)` when empty.
 *
 * @internal
 */
export const threadTable = (threads: ReadonlyArray<Protocol.Thread>, nowMs: number): Array<string> => {
  if (threads.length === 0) return ["(no threads)"]
  const rows = threads.map((thread) => [thread.id, relativeTime(thread.updatedAt, nowMs), threadTitle(thread)] as const)
  const idWidth = Math.max(2, ...rows.map((row) => row[0].length))
  const whenWidth = Math.max(7, ...rows.map((row) => row[1].length))
  const line = (id: string, when: string, title: string) => `${id.padEnd(idWidth)}  ${when.padEnd(whenWidth)}  ${title}`
  return [line("ID", "UPDATED", "NAME / FIRST PROMPT"), ...rows.map((row) => line(...row))]
}

/**
 * The `models` table: one row per model (`model  efforts  description`), the default one marked `*`.
 *
 * @internal
 */
export const modelTable = (models: ReadonlyArray<Protocol.Model>): Array<string> => {
  if (models.length === 0) return ["(no models)"]
  const rows = models.map((model) => {
    const efforts = model.supportedReasoningEfforts.map((option) =>
      option.reasoningEffort === model.defaultReasoningEffort ? `${option.reasoningEffort}*` : option.reasoningEffort
    )
    return [
      `${model.isDefault ? "* " : "  "}${model.model}`,
      efforts.length === 0 ? "-" : efforts.join(","),
      oneLine(model.displayName === model.model ? model.description : `${model.displayName}: ${model.description}`, 80)
    ] as const
  })
  const modelWidth = Math.max(7, ...rows.map((row) => row[0].length))
  const effortWidth = Math.max(7, ...rows.map((row) => row[1].length))
  const line = (model: string, efforts: string, description: string) =>
    `${model.padEnd(modelWidth)}  ${efforts.padEnd(effortWidth)}  ${description}`.trimEnd()
  return [line("  MODEL", "EFFORTS", "DESCRIPTION"), ...rows.map((row) => line(...row))]
}

const inputText = (content: ReadonlyArray<Protocol.UserInput>): string =>
  content.map((input) =>
    input.type === "text" ? input.text : input.type === "image" ? "[image]" : input.type === "localImage" ? `[image ${input.path}]` : `[${input.type}]`
  ).join(" ")

const indent = (text: string, prefix: string): Array<string> => text.split("\n").map((line) => `${prefix}${line}`.trimEnd())

/**
 * The lines of one item in a transcript (`read`): the prompt (`> ...`), the answer, the commands
 * and file changes; nothing for reasoning and bookkeeping items.
 *
 * @internal
 */
export const transcriptItem = (item: Protocol.ThreadItem, cwd?: string): Array<string> => {
  switch (item.type) {
    case "userMessage":
      return indent(inputText(item.content), "> ")
    case "agentMessage":
      return item.text === "" ? [] : item.text.split("\n")
    case "commandExecution":
      return [commandLine(item)]
    case "fileChange":
      return fileChangeLines(item, cwd)
    default: {
      const line = itemLine(item)
      return line === undefined ? [] : [line]
    }
  }
}

/**
 * A thread read back (`read <thread>`): a header (title, id, cwd, model, dates) and each turn's items,
 * turns separated by a blank line.
 *
 * @internal
 */
export const transcript = (thread: Protocol.Thread, nowMs: number): Array<string> => {
  const header = [
    threadTitle(thread),
    `id ${thread.id} · ${thread.cwd}${thread.model !== undefined && thread.model !== null ? ` · ${thread.model}` : ""}`,
    `created ${relativeTime(thread.createdAt, nowMs)} · updated ${relativeTime(thread.updatedAt, nowMs)} · ${thread.turns.length} turn(s)`
  ]
  const turns = thread.turns.map((turn) => {
    const lines = turn.items.flatMap((item) => transcriptItem(item, thread.cwd))
    if (turn.status === "failed") lines.push(`! failed: ${turn.error?.message ?? "unknown error"}`)
    else if (turn.status === "interrupted") lines.push("! interrupted")
    return lines
  })
  return [...header, ...turns.flatMap((lines) => ["", ...lines])]
}

/**
 * What an approval prompt shows: the question, and the details above it (indented, so they do not
 * read as the line of a command that ran).
 *
 * @internal
 */
export interface ApprovalQuestion {
  readonly question: string
  readonly details: ReadonlyArray<string>
}

/**
 * The approval prompt for a command: `Run this command?` with the command, its directory and codex's reason.
 *
 * @internal
 */
export const commandApproval = (params: Protocol.CommandExecutionRequestApprovalParams): ApprovalQuestion => {
  const details: Array<string> = []
  if (params.command !== undefined && params.command !== null) details.push(`  $ ${unwrapShell(params.command)}`)
  if (params.cwd !== undefined && params.cwd !== null) details.push(`    in ${params.cwd}`)
  if (params.reason !== undefined && params.reason !== null && params.reason !== "") details.push(`    reason: ${params.reason}`)
  return { question: "Run this command?", details }
}

/**
 * The approval prompt for a file change: `Apply these changes?` with the files (from the item codex
 * started, when known; relative to `cwd`) and codex's reason.
 *
 * @internal
 */
export const fileChangeApproval = (
  params: Protocol.FileChangeRequestApprovalParams,
  item: Protocol.ThreadItem | undefined,
  cwd?: string
): ApprovalQuestion => {
  const details = item !== undefined && item.type === "fileChange"
    ? fileChangeLines(item, cwd).map((line) => `  ${line}`)
    : []
  if (params.grantRoot !== undefined && params.grantRoot !== null) details.push(`    write access to ${params.grantRoot}`)
  if (params.reason !== undefined && params.reason !== null && params.reason !== "") details.push(`    reason: ${params.reason}`)
  return { question: "Apply these changes?", details }
}

/**
 * A line of `--json` output: the event as JSON (its `_tag` and the notification's fields).
 *
 * @internal
 */
export const jsonLine = (value: unknown): string => JSON.stringify(value)
