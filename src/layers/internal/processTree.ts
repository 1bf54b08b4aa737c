/**
 * The processes a child started, so teardown can end them too.
 *
 * codex starts some helpers in sessions of their own (the login shell that
 * snapshots the user's environment for every new thread), so signalling
 * codex's process group does not reach them and they outlive the layer.
 * Linux only (it reads /proc); elsewhere nothing is found.
 *
 * @internal
 */
import * as Fs from "node:fs"

/** A process, identified by pid and start time (so a reused pid is never signalled). */
export interface ProcessRef {
  readonly pid: number
  readonly pgid: number
  readonly start: string
}

const stat = (pid: number): { readonly ppid: number; readonly pgid: number; readonly start: string } | undefined => {
  try {
    const text = Fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    // the command name (field 2) may hold spaces and parentheses: split after its last ")"
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ")
    return { ppid: Number(fields[1]), pgid: Number(fields[2]), start: fields[19]! }
  } catch {
    return undefined
  }
}

/** Every live descendant of `root` (not `root` itself). */
export const descendants = (root: number): ReadonlyArray<ProcessRef> => {
  if (process.platform !== "linux") return []
  let entries: Array<string>
  try {
    entries = Fs.readdirSync("/proc")
  } catch {
    return []
  }
  const children = new Map<number, Array<ProcessRef>>()
  for (const entry of entries) {
    if (entry.charCodeAt(0) < 48 || entry.charCodeAt(0) > 57) continue
    const pid = Number(entry)
    const info = stat(pid)
    if (info === undefined) continue
    const list = children.get(info.ppid)
    const ref = { pid, pgid: info.pgid, start: info.start }
    if (list === undefined) children.set(info.ppid, [ref])
    else list.push(ref)
  }
  const found: Array<ProcessRef> = []
  const queue = [root]
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      found.push(child)
      queue.push(child.pid)
    }
  }
  return found
}

/**
 * SIGKILLs the process groups of the given processes (a helper's group holds
 * what it started since, even after the helper itself exited), and the
 * processes themselves where they still run. Returns how many signals landed.
 */
export const kill = (processes: ReadonlyArray<ProcessRef>, except?: number): number => {
  let killed = 0
  const signal = (target: number) => {
    try {
      process.kill(target, "SIGKILL")
      killed++
    } catch {
      // already gone
    }
  }
  for (const pgid of new Set(processes.map((ref) => ref.pgid))) {
    if (pgid > 1 && pgid !== except && pgid !== process.pid) signal(-pgid)
  }
  for (const ref of processes) {
    const now = stat(ref.pid)
    if (now !== undefined && now.start === ref.start) signal(ref.pid)
  }
  return killed
}

/**
 * Pids of the processes whose environment holds `name=value` (processes of
 * other users are skipped). Linux only.
 */
export const withEnv = (name: string, value: string): ReadonlyArray<ProcessRef> => {
  if (process.platform !== "linux") return []
  const needle = `${name}=${value}\0`
  let entries: Array<string>
  try {
    entries = Fs.readdirSync("/proc")
  } catch {
    return []
  }
  const found: Array<ProcessRef> = []
  for (const entry of entries) {
    if (entry.charCodeAt(0) < 48 || entry.charCodeAt(0) > 57) continue
    const pid = Number(entry)
    if (pid === process.pid) continue
    try {
      const env = Fs.readFileSync(`/proc/${pid}/environ`, "latin1")
      if (!env.startsWith(needle) && !env.includes(`\0${needle}`)) continue
    } catch {
      continue
    }
    const info = stat(pid)
    if (info !== undefined) found.push({ pid, pgid: info.pgid, start: info.start })
  }
  return found
}
