/**
 * The raw JSON-RPC client of bench/rawClient.ts without the SDK import that resolves the codex
 * binary: plain Node + Promises, no Effect. bench/icount/workload.ts loads only this module on the
 * raw side, so the raw process does not load (and, under callgrind, pay for) the SDK's modules.
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process"

/** A JSON-RPC error reply, as the promise of {@link RawClient.request} rejects with it. */
export class RawRpcError extends Error {
  readonly method: string
  readonly code: number
  readonly data: unknown
  constructor(method: string, error: { code: number; message: string; data?: unknown }) {
    super(`${method}: ${error.message} (${error.code})`)
    this.method = method
    this.code = error.code
    this.data = error.data
  }
}

/** A message from the server that is not a response: a notification (no `id`) or a server request. */
export interface RawIncoming {
  readonly method: string
  readonly id?: number | string
  readonly params?: any
}

/** Options of {@link spawnRawClient}. */
export interface RawClientOptions {
  /** Used by `spawnRawClient` of bench/rawClient.ts (default there: the pinned native binary); ignored by `spawnRawClientOf`. */
  readonly bin?: string
  /** Default: `["app-server"]`. */
  readonly args?: ReadonlyArray<string>
  /** Merged over `process.env`. */
  readonly env?: Record<string, string>
  readonly cwd?: string
  /** Called with each stderr chunk (default: dropped). */
  readonly onStderr?: (chunk: string) => void
}

/** The client returned by {@link spawnRawClient}. */
export interface RawClient {
  readonly child: ChildProcessWithoutNullStreams
  /** Sends a request; resolves with `result`, rejects with {@link RawRpcError} or when the process exits. */
  request<A = any>(method: string, params?: unknown): Promise<A>
  notify(method: string, params?: unknown): void
  /** Subscribes to notifications and server requests; returns an unsubscribe function. */
  onMessage(cb: (msg: RawIncoming) => void): () => void
  /** Answers a server request. */
  respond(id: number | string, result: unknown): void
  /** Answers a server request with a JSON-RPC error. */
  respondError(id: number | string, error: { code: number; message: string; data?: unknown }): void
  /** `initialize` (clientInfo + `experimentalApi: true`) then `initialized`; resolves with the initialize result. */
  initialize(clientInfo?: { name: string; title?: string | null; version: string }): Promise<any>
  /** Stdin EOF, wait up to 2 s for exit, then SIGKILL. Resolves when the process is gone. */
  close(): Promise<void>
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>
}

/**
 * Spawns `bin` (`codex app-server` by default arguments) and wires up newline-delimited JSON-RPC
 * over its stdio. `bin` is explicit here so this module needs nothing from the SDK.
 */
export const spawnRawClientOf = (bin: string, options: RawClientOptions = {}): RawClient => {
  const child = spawn(bin, [...(options.args ?? ["app-server"])], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ["pipe", "pipe", "pipe"]
  })
  const pending = new Map<number, { method: string; resolve: (a: any) => void; reject: (e: unknown) => void }>()
  // Copy-on-write: a listener added while a message is dispatched does not see that message.
  let listeners: ReadonlyArray<(msg: RawIncoming) => void> = []
  let nextId = 1
  let buffer = ""
  let exitCode: number | null | undefined

  let onExit!: (code: number | null) => void
  const exited = new Promise<number | null>((resolve) => (onExit = resolve))
  const finish = (code: number | null, reason: unknown) => {
    if (exitCode !== undefined) return
    exitCode = code
    for (const p of pending.values()) p.reject(reason)
    pending.clear()
    onExit(code)
  }
  child.once("exit", (code) => finish(code, new Error(`codex exited (${code})`)))
  // A failed spawn (ENOENT, EACCES) emits "error" and no "exit".
  child.once("error", (err) => finish(null, err))
  child.stdin.on("error", () => {}) // EPIPE after the child died is reported through `exit`.
  if (options.onStderr) child.stderr.setEncoding("utf8").on("data", options.onStderr)
  else child.stderr.resume()

  const dispatch = (line: string) => {
    if (line.length === 0) return
    let msg: any
    try {
      msg = JSON.parse(line)
    } catch {
      return
    }
    if (msg.method === undefined) {
      const p = pending.get(msg.id)
      if (p === undefined) return
      pending.delete(msg.id)
      if (msg.error !== undefined) p.reject(new RawRpcError(p.method, msg.error))
      else p.resolve(msg.result)
      return
    }
    for (const cb of listeners) cb(msg)
  }
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    buffer += chunk
    let start = 0
    let nl: number
    while ((nl = buffer.indexOf("\n", start)) !== -1) {
      dispatch(buffer.slice(start, nl))
      start = nl + 1
    }
    buffer = buffer.slice(start)
  })

  const write = (msg: unknown) => child.stdin.write(JSON.stringify(msg) + "\n")

  const request = <A>(method: string, params?: unknown): Promise<A> => {
    if (exitCode !== undefined) return Promise.reject(new Error(`codex exited (${exitCode}); cannot send ${method}`))
    const id = nextId++
    return new Promise<A>((resolve, reject) => {
      pending.set(id, { method, resolve, reject })
      write({ id, method, params: params ?? {} })
    })
  }

  return {
    child,
    exited,
    request,
    notify: (method, params) => write(params === undefined ? { method } : { method, params }),
    onMessage: (cb) => {
      listeners = [...listeners, cb]
      return () => {
        listeners = listeners.filter((l) => l !== cb)
      }
    },
    respond: (id, result) => write({ id, result }),
    respondError: (id, error) => write({ id, error }),
    initialize: async (clientInfo = { name: "raw-client", title: null, version: "0.0.0" }) => {
      const result = await request("initialize", { clientInfo, capabilities: { experimentalApi: true } })
      write({ method: "initialized" })
      return result
    },
    close: async () => {
      if (exitCode !== undefined) return
      child.stdin.end()
      let timer: NodeJS.Timeout | undefined
      const timedOut = await Promise.race([
        exited.then(() => false),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), 2000)))
      ])
      clearTimeout(timer)
      if (timedOut) {
        child.kill("SIGKILL")
        await exited
      }
    }
  }
}
