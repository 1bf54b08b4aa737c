/**
 * The data path of `Transport.stdio` without Effect streams in between:
 * stdout chunks are decoded and split into lines by plain code and handed to
 * the one consumer of `incoming` as whole batches, and offered messages are
 * coalesced into one `write` per microtask.
 *
 * An {@link Inbox} is fed by whoever reads stdout (a Node `data` listener, or
 * a fiber over an Effect stream) and is pulled by `incoming`, or hands its
 * lines to the handler given to `consume` from inside `push`; an
 * {@link Outbox} writes to whatever takes text (Node's stdin, or a queue in
 * front of an Effect sink). Neither knows about processes.
 *
 * @internal
 */
import { Cause, Effect } from "../../schema/internal/effect.ts"
import type * as NodeChildProcess from "node:child_process"
import * as DiagnosticsChannel from "node:diagnostics_channel"
import { StringDecoder } from "node:string_decoder"

const LF = 10

/**
 * What {@link Inbox.consume} hands lines to: `undefined` once it is done with
 * them, or an effect that must run before any later line is handed over.
 */
export type Handler = (lines: readonly [string, ...Array<string>]) => Effect.Effect<void> | undefined

/**
 * Lines read from a byte (or text) stream, waiting for one consumer.
 *
 * Lines end at `\n`, `\r\n` or a lone `\r` (as `Stream.splitLines` does, a
 * `\r\n` split between two chunks included); a last line without its end
 * is delivered when the stream ends.
 */
export interface Inbox<E> {
  /** Adds a chunk of stdout: what completes lines is delivered at once. */
  readonly push: (chunk: Uint8Array | string) => void
  /** stdout ended: the unterminated rest becomes the last line. */
  readonly end: () => void
  /** No more lines: `pull` fails with `error` once the lines before it are taken. */
  readonly fail: (error: E) => void
  /** Nobody listens any more: lines are dropped from now on and reading never pauses. */
  readonly shutdown: () => void
  /**
   * Every complete line not taken yet, as one chunk; waits when there is
   * none. Meant for one consumer at a time.
   */
  readonly pull: Effect.Effect<readonly [string, ...Array<string>], E | Cause.Done>
  /**
   * Hands every line, in order, to `handler` until the inbox ends, and ends
   * as `pull` does (fails with the error given to `fail`, is interrupted by
   * `shutdown`). While the consumer waits, lines go to `handler` straight
   * from `push`: no fiber is resumed unless `handler` returns an effect,
   * which then runs on the consumer's fiber before the next line is handed
   * over (lines meanwhile wait, and pause the source, as for `pull`). A
   * `handler` that throws ends the consumer with that defect, never the
   * caller of `push`. One consumer at a time, instead of `pull`.
   */
  readonly consume: (handler: Handler) => Effect.Effect<never, E>
}

/** Options of {@link makeInbox}. */
export interface InboxOptions {
  /** How many lines may wait for the consumer before the source is paused. */
  readonly highWaterMark: number
  /** Stops the source (it may still deliver what it has in hand). */
  readonly pause: () => void
  /** Lets a paused source go on. */
  readonly resume: () => void
}

/**
 * An {@link Inbox}. A consumer waiting in `pull` is resumed from inside
 * `push` (in Node's `data` callback): no scheduler turn, no queue between
 * the read and the one who handles it.
 */
export const makeInbox = <E>(options: InboxOptions): Inbox<E> => {
  const decoder = new StringDecoder("utf8")
  let lines: Array<string> = []
  /** The unterminated end of what came so far. */
  let rest = ""
  /** The last chunk ended in `\r`: a `\n` opening the next one belongs to it. */
  let midCRLF = false
  let paused = false
  let shut = false
  let failure: Effect.Effect<never, E> | undefined
  let waiter: ((effect: Effect.Effect<readonly [string, ...Array<string>], E | Cause.Done>) => void) | undefined
  /** A `consume` waiting for lines: `push` hands them to `receiver`, and resumes `parked` only for an effect or the end. */
  let receiver: Handler | undefined
  let parked: ((effect: Effect.Effect<never, E>) => void) | undefined
  /** The parked consumer's loop, to go on with after the effect a handler returned. */
  let parkedStep: Effect.Effect<never, E> | undefined
  /** `receiver` is running inside `push`: the end (`fail`, `shutdown`) is told by `handOver` once it returns. */
  let handing = false

  /** Every line waiting (at least one), and the source resumed if they had paused it. */
  const take = (): readonly [string, ...Array<string>] => {
    const batch = lines as unknown as readonly [string, ...Array<string>]
    lines = []
    if (paused) {
      paused = false
      options.resume()
    }
    return batch
  }

  /** Ends the parked consumer's wait with `effect` (it no longer receives lines from `push`). */
  const unpark = (effect: Effect.Effect<never, E>) => {
    const resume = parked!
    receiver = undefined
    parked = undefined
    resume(effect)
  }

  const line = (text: string) => {
    if (rest === "") {
      lines.push(text)
    } else {
      lines.push(rest + text)
      rest = ""
    }
  }

  const split = (text: string) => {
    let from = 0
    if (midCRLF) {
      midCRLF = false
      if (text.charCodeAt(0) === LF) from = 1
    }
    let cr = text.indexOf("\r", from)
    let lf = text.indexOf("\n", from)
    // codex ends lines with \n only: the loop without \r is the hot one
    while (cr === -1 && lf !== -1) {
      line(text.substring(from, lf))
      from = lf + 1
      lf = text.indexOf("\n", from)
    }
    while (cr !== -1 || lf !== -1) {
      if (cr === -1 || (lf !== -1 && lf < cr)) {
        line(text.substring(from, lf))
        from = lf + 1
        lf = text.indexOf("\n", from)
      } else {
        line(text.substring(from, cr))
        if (cr + 1 === text.length) {
          midCRLF = true
          from = text.length
        } else {
          from = text.charCodeAt(cr + 1) === LF ? cr + 2 : cr + 1
          if (lf === cr + 1) lf = text.indexOf("\n", from)
        }
        cr = text.indexOf("\r", from)
      }
    }
    // only the new text is searched: a long line costs its length, not its square
    if (from < text.length) rest = rest === "" ? (from === 0 ? text : text.substring(from)) : rest + text.substring(from)
  }

  const deliver = () => {
    if (lines.length === 0) return
    if (receiver !== undefined) {
      // a line pushed from inside the receiver is taken by the handOver loop under way
      if (!handing) handOver()
    } else if (waiter !== undefined) {
      const resume = waiter
      waiter = undefined
      resume(Effect.succeed(take()))
    } else if (!paused && lines.length >= options.highWaterMark) {
      paused = true
      options.pause()
    }
  }

  const push = (chunk: Uint8Array | string) => {
    if (shut || failure !== undefined) return
    const text = typeof chunk === "string" ? chunk : decoder.write(chunk)
    if (text.length === 0) return
    split(text)
    deliver()
  }

  const end = () => {
    if (shut || failure !== undefined) return
    const text = decoder.end()
    if (text.length > 0) split(text)
    if (rest !== "") {
      lines.push(rest)
      rest = ""
    }
    deliver()
  }

  // Lines to the waiting consumer's handler, in this call stack (Node's `data`
  // callback): the consumer's fiber is resumed only for an effect the handler
  // returned, for a defect, or for the end that came meanwhile.
  const handOver = () => {
    const handler = receiver!
    const resume = parked!
    const step = parkedStep!
    let next: Effect.Effect<void> | undefined
    handing = true
    try {
      // `parked === resume`: the consumer was not interrupted by what the handler did
      while (next === undefined && lines.length > 0 && parked === resume) {
        const batch = take()
        try {
          next = handler(batch)
        } catch (error) {
          next = Effect.die(error)
        }
      }
    } finally {
      handing = false
    }
    if (parked !== resume) return
    if (next !== undefined) unpark(Effect.andThen(next, step))
    else if (failure !== undefined || shut) unpark(failure ?? Effect.interrupt)
  }

  const consumeWith = (handler: Handler): Effect.Effect<never, E> => {
    const wait = Effect.callback<never, E>((resume) => {
      receiver = handler
      parked = resume
      parkedStep = step
      return Effect.sync(() => {
        if (parked === resume) {
          receiver = undefined
          parked = undefined
        }
      })
    })
    const step: Effect.Effect<never, E> = Effect.suspend(() => {
      // what came while nobody waited (or while an effect ran) is handled on the consumer's fiber
      while (lines.length > 0) {
        const next = handler(take())
        if (next !== undefined) return Effect.andThen(next, step)
      }
      if (failure !== undefined) return failure
      if (shut) return Effect.interrupt
      return wait
    })
    return step
  }

  const fail = (error: E) => {
    if (failure !== undefined) return
    failure = Effect.fail(error)
    if (parked !== undefined && !handing) {
      // a parked consumer has no lines waiting: push handed them over
      unpark(failure)
    } else if (waiter !== undefined && lines.length === 0) {
      const resume = waiter
      waiter = undefined
      resume(failure)
    }
  }

  const shutdown = () => {
    shut = true
    lines = []
    rest = ""
    if (paused) {
      paused = false
      options.resume()
    }
    if (parked !== undefined && !handing) unpark(Effect.interrupt)
    if (waiter !== undefined) {
      const resume = waiter
      waiter = undefined
      resume(Effect.interrupt)
    }
  }

  const wait = Effect.callback<readonly [string, ...Array<string>], E | Cause.Done>((resume) => {
    waiter = resume
    return Effect.sync(() => {
      if (waiter === resume) waiter = undefined
    })
  })

  const pull = Effect.suspend((): Effect.Effect<readonly [string, ...Array<string>], E | Cause.Done> => {
    if (lines.length > 0) return Effect.succeed(take())
    if (failure !== undefined) return failure
    if (shut) return Effect.interrupt
    return wait
  })

  return { push, end, fail, shutdown, pull, consume: consumeWith }
}

/** Where an {@link Outbox} writes. */
export interface OutboxTarget {
  /** Writes text; `false` when the target wants no more until `onDrain` calls back. */
  readonly write: (text: string) => boolean
  /** Calls `callback` once the target takes writes again. */
  readonly onDrain: (callback: () => void) => void
  /** Writes the last text (if any) and ends the target. */
  readonly end: (text: string | undefined) => void
}

/** Messages on their way out. */
export interface Outbox {
  /** Queues one message (a newline is added); `false` once closed. */
  readonly offer: (message: string) => boolean
  /** Writes what is queued and ends the target; later offers are refused. */
  readonly close: () => void
}

/** Where an {@link Outbox}'s flushes are chained (one promise reaction each). */
const resolved = Promise.resolve()

/**
 * An {@link Outbox}: the messages offered in one synchronous burst go out as
 * one `write` on a microtask (not on a scheduled task, which every request
 * would pay as an event-loop turn on its way out).
 *
 * Backpressure: `offer` cannot suspend (the client's hot path), so when the
 * target refuses more (a full pipe: codex is not reading), further messages
 * are held here as one string and written in one go on `drain`. What is held
 * is bounded by what the client has in flight (its request window), and is
 * what Node's own buffer would otherwise hold, one write request per tick.
 */
export const makeOutbox = (target: OutboxTarget): Outbox => {
  let pending = ""
  let scheduled = false
  let blocked = false
  let closed = false

  const flush = () => {
    scheduled = false
    if (closed || blocked || pending === "") return
    const text = pending
    pending = ""
    if (!target.write(text)) {
      blocked = true
      target.onDrain(drained)
    }
  }
  const drained = () => {
    blocked = false
    flush()
  }

  const offer = (message: string): boolean => {
    if (closed) return false
    pending = pending === "" ? message + "\n" : pending + message + "\n"
    if (!scheduled && !blocked) {
      scheduled = true
      // a promise reaction, not queueMicrotask: Node wraps each of those in an AsyncResource
      resolved.then(flush)
    }
    return true
  }

  const close = () => {
    if (closed) return
    closed = true
    const text = pending
    pending = ""
    target.end(text === "" ? undefined : text)
  }

  return { offer, close }
}

/**
 * Runs `spawn` and returns, with its result, the Node `ChildProcess`es that
 * were created in this process meanwhile, through the `child_process`
 * diagnostics channel (Node's documented hook that hands out each new
 * `ChildProcess`). Other code may spawn at the same time: the caller picks
 * its own by pid.
 */
export const withSpawnedChildren = <A, E, R>(
  spawn: Effect.Effect<A, E, R>
): Effect.Effect<readonly [A, ReadonlyArray<NodeChildProcess.ChildProcess>], E, R> =>
  Effect.suspend(() => {
    const seen: Array<NodeChildProcess.ChildProcess> = []
    const onChild = (message: unknown) => {
      const child = (message as { readonly process?: NodeChildProcess.ChildProcess } | null)?.process
      if (child !== undefined) seen.push(child)
    }
    DiagnosticsChannel.subscribe("child_process", onChild)
    return spawn.pipe(
      Effect.map((result) => [result, seen] as const),
      Effect.ensuring(Effect.sync(() => DiagnosticsChannel.unsubscribe("child_process", onChild)))
    )
  })

/** The child's stdin and stdout, when they can be used directly. */
export interface NodePipes {
  readonly stdin: NonNullable<NodeChildProcess.ChildProcess["stdin"]>
  readonly stdout: NonNullable<NodeChildProcess.ChildProcess["stdout"]>
}

/**
 * The pipes of the child with `pid` among `children`, taken over from the
 * Node spawner: its stdout is unpiped from the spawner's own reader (the
 * handle's `stdout` stream, which is then never read). Only while nothing
 * has been read from stdout yet: what was read went to that reader, and the
 * caller must then read the handle's streams.
 */
export const takeOverPipes = (
  children: ReadonlyArray<NodeChildProcess.ChildProcess>,
  pid: number
): NodePipes | undefined => {
  const child = children.find((candidate) => candidate.pid === pid)
  const stdin = child?.stdin
  const stdout = child?.stdout
  if (stdin == null || stdout == null) return undefined
  const read = (stdout as { readonly bytesRead?: unknown }).bytesRead
  if (read !== 0 || stdout.readableLength !== 0 || stdout.destroyed) return undefined
  stdout.unpipe()
  return { stdin, stdout }
}
