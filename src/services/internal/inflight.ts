/**
 * The requests of one connection: a window of at most `max` in flight (the
 * rest wait in FIFO order), the pending map that responses complete, and
 * deadlines.
 *
 * This is the hot path of every request, so it is plain mutable state driven
 * by callbacks: a request costs one `Effect.callback`, no fiber, no timer of
 * its own (one sweeper checks every deadline on the `Clock`, so `TestClock`
 * drives timeouts in tests; it waits on {@link InFlight.busy} while nothing is
 * pending, so an idle connection wakes nobody).
 *
 * A deadline counts from the call, not from the send: a request that waits
 * for a window slot behind a silent server still fails within its timeout.
 *
 * @internal
 */
import { Effect, Exit } from "../../schema/internal/effect.ts"
import type * as CodexError from "../../schema/CodexError.ts"
import type { ErrorObject } from "../../schema/JsonRpc.ts"

type Resume = (effect: Effect.Effect<unknown, CodexError.CodexError>) => void

/** What the caller's effect resumes with once the answer is in (the decoded result, or a failure). */
export type Settle = (result: unknown) => Effect.Effect<unknown, CodexError.CodexError>

/** One request, as the connection's hooks see it. */
export interface Request {
  readonly method: string
  readonly params: unknown
  /** The caller's W3C trace context, read when the call started (`undefined`: none). */
  readonly trace: unknown
  readonly timeoutMs: number
  /** Turns the answer's `result` into what the caller gets (decoding happens on the reader, no Effect in between). */
  readonly settle: Settle
  /** Whether a `-32001` answer starts the overload retry (`false` for the retry's own attempts). */
  readonly retry: boolean
}

// One class: every entry has the same shape, so the hot path's property accesses stay monomorphic.
class Entry implements Request {
  id = 0
  // queued -> sent -> done; cancelled entries stay in the queue until skipped
  state: "queued" | "sent" | "done" = "queued"
  readonly method: string
  readonly params: unknown
  readonly trace: unknown
  readonly timeoutMs: number
  readonly settle: Settle
  readonly retry: boolean
  readonly resume: Resume
  // fixed at the call; Infinity for no limit
  readonly deadline: number
  constructor(
    method: string,
    params: unknown,
    trace: unknown,
    timeoutMs: number,
    settle: Settle,
    retry: boolean,
    resume: Resume,
    deadline: number
  ) {
    this.method = method
    this.params = params
    this.trace = trace
    this.timeoutMs = timeoutMs
    this.settle = settle
    this.retry = retry
    this.resume = resume
    this.deadline = deadline
  }
}

/** What happens to a response, seen from the caller. */
export type Outcome = Exit.Exit<unknown, CodexError.CodexError>

/** Options of {@link InFlight}. */
export interface Options {
  readonly max: number
  /** Hands one serialized message to the transport; `false` when it is closed. */
  readonly offer: (line: string) => boolean
  /** Serializes a request with its id. */
  readonly encode: (id: number, request: Request) => string
  /** The caller's trace context, read inside the call (on the caller's fiber). */
  readonly trace: () => unknown
  /** What an error answer resumes the caller with (the overload retry, or the error). */
  readonly onError: (request: Request, error: ErrorObject) => Effect.Effect<unknown, CodexError.CodexError>
  readonly now: () => number
  readonly onTimeout: (method: string) => CodexError.CodexError
  readonly onClosed: () => CodexError.CodexError
  /** What a request whose params `encode` cannot serialize (a BigInt, a cycle) fails with, alone. */
  readonly onUnencodable: (method: string, cause: unknown) => CodexError.CodexError
}

export class InFlight {
  private readonly sent = new Map<number, Entry>()
  private readonly queue: Array<Entry> = []
  private head = 0
  private count = 0
  private nextId = 1
  private failure: CodexError.CodexError | undefined = undefined
  private onBusy: (() => void) | undefined = undefined
  private readonly max: number
  private readonly options: Options

  constructor(options: Options) {
    this.max = Math.max(1, options.max)
    this.options = options
  }

  /**
   * Sends a request (now, or when the window has room) and waits for its
   * outcome: one `Effect.callback`, nothing else on the caller's fiber.
   */
  call(
    method: string,
    params: unknown,
    timeoutMs: number,
    settle: Settle,
    retry = true
  ): Effect.Effect<unknown, CodexError.CodexError> {
    return Effect.callback<unknown, CodexError.CodexError>((resume) => {
      if (this.failure !== undefined) return resume(Effect.fail(this.failure))
      const options = this.options
      const entry = new Entry(method, params, options.trace(), timeoutMs, settle, retry, resume, options.now() + timeoutMs)
      if (this.count < this.max) this.start(entry)
      else this.queue.push(entry)
      if (this.onBusy !== undefined) {
        const wake = this.onBusy
        this.onBusy = undefined
        wake()
      }
      return Effect.sync(() => this.cancel(entry))
    })
  }

  /** Completes the request with this id with its answer's `result`. `false` when no request waits on that id. */
  complete(id: number, result: unknown): boolean {
    const entry = this.sent.get(id)
    if (entry === undefined) return false
    this.sent.delete(id)
    this.finish(entry, entry.settle(result))
    return true
  }

  /** Completes the request with this id with an error answer. `false` when no request waits on that id. */
  completeError(id: number, error: ErrorObject): boolean {
    const entry = this.sent.get(id)
    if (entry === undefined) return false
    this.sent.delete(id)
    this.finish(entry, this.options.onError(entry, error))
    return true
  }

  /** Whether `id` is one this connection used (a late answer to a cancelled or timed out request). */
  issued(id: unknown): boolean {
    return typeof id === "number" && id > 0 && id < this.nextId
  }

  /** Fails every request, sent or queued, whose deadline has passed. */
  sweep(): void {
    if (this.sent.size === 0 && this.head === this.queue.length) return
    const now = this.options.now()
    for (const [id, entry] of this.sent) {
      if (now >= entry.deadline) {
        this.sent.delete(id)
        this.finish(entry, Effect.fail(this.options.onTimeout(entry.method)))
      }
    }
    // Queued entries are skipped by `release` once done, so they can be failed in place.
    for (let i = this.head; i < this.queue.length; i++) {
      const entry = this.queue[i]!
      if (entry.state === "queued" && now >= entry.deadline) {
        this.finish(entry, Effect.fail(this.options.onTimeout(entry.method)))
      }
    }
  }

  /** The connection ended: every request, queued or sent, fails with `error`; so do later ones. */
  fail(error: CodexError.CodexError): void {
    if (this.failure !== undefined) return
    this.failure = error
    const waiting = [...this.sent.values(), ...this.queue.slice(this.head)]
    this.sent.clear()
    this.queue.length = 0
    this.head = 0
    for (const entry of waiting) {
      if (entry.state === "done") continue
      entry.state = "done"
      entry.resume(Effect.fail(error))
    }
  }

  /** Nothing sent and unanswered, nothing queued: no deadline to watch. */
  get idle(): boolean {
    return this.count === 0 && this.head === this.queue.length
  }

  /** Waits until a request is pending (at once if one is; never once the connection ended). */
  readonly busy: Effect.Effect<void> = Effect.callback<void>((resume) => {
    if (!this.idle && this.failure === undefined) return resume(Effect.void)
    this.onBusy = () => resume(Effect.void)
    return Effect.sync(() => {
      this.onBusy = undefined
    })
  })

  /** How many requests are sent and not answered. */
  get size(): number {
    return this.sent.size
  }

  // Never throws: it also runs inside `finish` (a queued request started by another's answer), where a
  // throw would leave the answered caller waiting.
  private start(entry: Entry): void {
    const id = this.nextId++
    entry.id = id
    entry.state = "sent"
    this.count++
    this.sent.set(id, entry)
    let line: string
    try {
      line = this.options.encode(id, entry)
    } catch (cause) {
      this.sent.delete(id)
      return this.finish(entry, Effect.fail(this.options.onUnencodable(entry.method, cause)))
    }
    if (!this.options.offer(line)) {
      this.sent.delete(id)
      this.finish(entry, Effect.fail(this.failure ?? this.options.onClosed()))
    }
  }

  private finish(entry: Entry, outcome: Effect.Effect<unknown, CodexError.CodexError>): void {
    if (entry.state === "done") return
    const wasSent = entry.state === "sent"
    entry.state = "done"
    if (wasSent) this.release()
    entry.resume(outcome)
  }

  private cancel(entry: Entry): void {
    if (entry.state === "sent") {
      // the answer, if it comes, is dropped as a late answer
      this.sent.delete(entry.id)
      entry.state = "done"
      this.release()
    } else {
      entry.state = "done"
    }
  }

  private release(): void {
    this.count--
    while (this.count < this.max && this.head < this.queue.length) {
      const next = this.queue[this.head++]!
      if (next.state === "queued") this.start(next)
    }
    // compact the queue once its consumed prefix dominates
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head)
      this.head = 0
    }
  }
}
